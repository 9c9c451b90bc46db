package server

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// caseFor loads a case for a blob request and checks u's access to it:
// 404 for an unknown case, 403 without access.
func caseFor(tx Tx, u User, caseID string, write bool) error {
	c, err := tx.Case(caseID)
	if errors.Is(err, ErrNotFound) {
		return errf(http.StatusNotFound, protocol.CodeNotFound, "no case %s on the server: push its revisions first", caseID)
	}
	if err != nil {
		return err
	}
	read, w := caseAccess(u, c)
	if (write && !w) || !read {
		return forbidden("no access to case %s", caseID)
	}
	return nil
}

func (s *Server) handleBlobsMissing(w http.ResponseWriter, r *http.Request, sess *session) error {
	if !readsCases(sess.user) {
		return forbidden("an admin account does not sync case data")
	}
	var req protocol.BlobsMissingRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := record.ValidID(req.CaseID); err != nil {
		return badRequest("case id: %v", err)
	}
	if len(req.IDs) > protocol.MaxDiffRevs {
		return badRequest("at most %d blob ids per request, not %d", protocol.MaxDiffRevs, len(req.IDs))
	}
	resp := protocol.BlobsMissingResponse{Missing: []record.RevID{}}
	err := s.store.View(r.Context(), func(tx Tx) error {
		if err := caseFor(tx, sess.user, req.CaseID, true); err != nil {
			return err
		}
		for _, id := range req.IDs {
			has, err := tx.HasBlob(req.CaseID, id)
			if err != nil {
				return err
			}
			if !has {
				resp.Missing = append(resp.Missing, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) handleBlobsUpload(w http.ResponseWriter, r *http.Request, sess *session) error {
	if !readsCases(sess.user) {
		return forbidden("an admin account does not sync case data")
	}
	caseID := r.Header.Get(protocol.HeaderCase)
	if err := record.ValidID(caseID); err != nil {
		return badRequest("%s header: %v", protocol.HeaderCase, err)
	}
	body, err := readBody(w, r, protocol.MaxBatchBytes)
	if err != nil {
		return err
	}
	blobs, err := protocol.DecodeBlobs(body)
	if err != nil {
		return badRequest("%v", err)
	}
	var resp protocol.BlobsResponse
	err = s.store.Update(r.Context(), func(tx Tx) error {
		if err := caseFor(tx, sess.user, caseID, true); err != nil {
			return err
		}
		resp.Results = make([]protocol.BlobResult, len(blobs))
		for i, b := range blobs {
			res := protocol.BlobResult{ID: b.ID}
			if sha256.Sum256(b.Data) != b.ID {
				res.Status, res.Reason = protocol.StatusRejected, "content does not match its SHA-256 id (damaged in transit?)"
			} else if has, err := tx.HasBlob(caseID, b.ID); err != nil {
				return err
			} else if has {
				res.Status = protocol.StatusPresent
			} else {
				if err := tx.InsertBlob(caseID, b.ID, b.Data); err != nil {
					return err
				}
				res.Status = protocol.StatusStored
			}
			resp.Results[i] = res
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, res := range resp.Results {
		s.metrics.blobs.WithLabelValues(string(res.Status)).Inc()
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) handleBlobGet(w http.ResponseWriter, r *http.Request, sess *session) error {
	if !readsCases(sess.user) {
		return forbidden("an admin account does not sync case data")
	}
	caseID := r.PathValue("case")
	if err := record.ValidID(caseID); err != nil {
		return badRequest("case id: %v", err)
	}
	id, err := record.ParseRevID(r.PathValue("id"))
	if err != nil {
		return badRequest("blob id: %v", err)
	}
	var data []byte
	err = s.store.View(r.Context(), func(tx Tx) error {
		if err := caseFor(tx, sess.user, caseID, false); err != nil {
			return err
		}
		data, err = tx.Blob(caseID, id)
		if errors.Is(err, ErrNotFound) {
			return errf(http.StatusNotFound, protocol.CodeNotFound, "no blob %s in case %s", id.Short(), caseID)
		}
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
	return nil
}

// handleBlobsFetch answers a batch of a case's blobs at once, so a device
// downloading a recording does not make one round trip per second of audio.
// Blobs the server lacks are left out; the batch stops at the size limits.
func (s *Server) handleBlobsFetch(w http.ResponseWriter, r *http.Request, sess *session) error {
	if !readsCases(sess.user) {
		return forbidden("an admin account does not sync case data")
	}
	var req protocol.BlobsFetchRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := record.ValidID(req.CaseID); err != nil {
		return badRequest("case id: %v", err)
	}
	if len(req.IDs) > protocol.MaxBlobsPerBatch {
		return badRequest("at most %d blobs per request, not %d", protocol.MaxBlobsPerBatch, len(req.IDs))
	}
	var out []protocol.Blob
	err := s.store.View(r.Context(), func(tx Tx) error {
		if err := caseFor(tx, sess.user, req.CaseID, false); err != nil {
			return err
		}
		size := 0
		for _, id := range req.IDs {
			data, err := tx.Blob(req.CaseID, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if size += len(data) + 64; size > protocol.MaxBatchBytes-1024 && len(out) > 0 {
				break
			}
			out = append(out, protocol.Blob{ID: id, Data: data})
		}
		return nil
	})
	if err != nil {
		return err
	}
	body := protocol.EncodeBlobs(out)
	w.Header().Set("Content-Type", protocol.MediaBatch)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}
