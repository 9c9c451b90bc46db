package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

var errGone = errf(http.StatusGone, protocol.CodeGone, "this cursor is from another copy of the server's change log (restored from a backup?): pull again from the start and push what the server lacks")

// pullBudget is what a pull page's revisions may take, leaving room for the
// batch header and framing within protocol.MaxBatchBytes.
const pullBudget = protocol.MaxBatchBytes - 64<<10

// pullQuery is a parsed pull request.
type pullQuery struct {
	cursor protocol.Cursor
	limit  int
}

func parsePullQuery(cursor, limit string) (pullQuery, error) {
	q := pullQuery{limit: protocol.DefaultPullLimit}
	c, err := protocol.ParseCursor(cursor)
	if err != nil {
		return q, badRequest("malformed cursor: pull from the cursor the server last gave, or from the start")
	}
	q.cursor = c
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 {
			return q, badRequest("limit must be a whole number from 1 to %d", protocol.MaxPullLimit)
		}
		q.limit = min(n, protocol.MaxPullLimit)
	}
	return q, nil
}

func (s *Server) handlePull(w http.ResponseWriter, r *http.Request, sess *session) error {
	if !readsCases(sess.user) {
		return forbidden("an admin account does not sync case data")
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badRequest("malformed query string: %v", err)
	}
	q, err := parsePullQuery(vals.Get("cursor"), vals.Get("limit"))
	if err != nil {
		return err
	}
	var (
		hdr  protocol.PullHeader
		revs []*record.Revision
	)
	err = s.store.View(r.Context(), func(tx Tx) error {
		m, err := tx.Meta()
		if err != nil {
			return err
		}
		last, err := tx.LastChangeSeq()
		if err != nil {
			return err
		}
		// A cursor of another epoch, or past the end of this log (a server
		// rolled back without a new epoch), cannot be continued.
		if (q.cursor.Epoch != "" && q.cursor.Epoch != m.Epoch) || q.cursor.Seq > last {
			return errGone
		}
		pos := q.cursor.Seq
		revs, pos, err = collect(tx, sess.user, sess.device.ID, pos, q.limit)
		if err != nil {
			return err
		}
		acked, err := tx.AckedSeq(sess.device.ID)
		if err != nil {
			return err
		}
		maxSeq, err := tx.DeviceMaxSeq(sess.device.ID)
		if err != nil {
			return err
		}
		rotations, err := owedTo(tx, sess.user)
		if err != nil {
			return err
		}
		indexes, err := s.logIndexes(tx, revs)
		if err != nil {
			return err
		}
		hdr = protocol.PullHeader{
			NextCursor:    protocol.Cursor{Epoch: m.Epoch, Seq: pos}.String(),
			HasMore:       pos < last,
			AckedSeq:      acked,
			RosterVersion: m.RosterVersion,
			DeviceMaxSeq:  maxSeq,
			Rotations:     rotations,
			Indexes:       indexes,
		}
		return nil
	})
	if err != nil {
		return err
	}
	body, err := protocol.EncodeBatch(hdr, revs)
	if err != nil {
		return err
	}
	s.metrics.batches.WithLabelValues("pull").Inc()
	s.metrics.pulled.Add(float64(len(revs)))
	if now := s.now(); now.Sub(sess.device.LastSync) > touchEvery {
		s.touch(r.Context(), sess.device.ID, now, now)
	}
	w.Header().Set("Content-Type", protocol.MediaBatch)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// collect reads the change log after pos and returns the revisions u may
// see, at most limit of them and pullBudget bytes, and the position of the
// last entry it consumed (seen or skipped). Revisions written by the pulling
// device itself are skipped: it has them, and sending them back doubled
// the traffic of every push.
func collect(tx Tx, u User, device string, pos uint64, limit int) ([]*record.Revision, uint64, error) {
	var (
		revs    []*record.Revision
		size    int
		scanned int
		cases   = map[string]*Case{}
	)
	for len(revs) < limit && scanned < maxPullScan {
		chunk, err := tx.Changes(pos, min(256, maxPullScan-scanned))
		if err != nil {
			return nil, 0, err
		}
		if len(chunk) == 0 {
			break
		}
		for _, ch := range chunk {
			c, ok := cases[ch.CaseID]
			if !ok {
				cc, err := tx.Case(ch.CaseID)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return nil, 0, err
				}
				if err == nil {
					c = &cc
				}
				cases[ch.CaseID] = c
			}
			if c != nil && seesChange(u, ch, *c) {
				rev, err := tx.Revision(ch.Rev)
				if err != nil {
					return nil, 0, err
				}
				if rev.Device == device {
					pos = ch.Seq
					scanned++
					continue
				}
				n := len(rev.Body) + 256
				if len(revs) > 0 && size+n > pullBudget {
					return revs, pos, nil
				}
				revs, size = append(revs, rev), size+n
			}
			pos = ch.Seq
			scanned++
			if len(revs) == limit {
				break
			}
		}
	}
	return revs, pos, nil
}

// logIndexes lists where revs are in the transparency log, in order: -1
// for a revision the log lacks (a store damaged or written behind the
// server's back). It is served all the same, and the device, which finds
// no proof of it, can tell; refusing the pull would stop its sync.
func (s *Server) logIndexes(tx Tx, revs []*record.Revision) ([]int64, error) {
	if len(revs) == 0 {
		return nil, nil
	}
	ids := make([]record.RevID, len(revs))
	for i, r := range revs {
		ids[i] = r.Rev
	}
	logged, err := tx.RevisionLog(ids)
	if err != nil {
		return nil, fmt.Errorf("finding the pulled revisions' log entries: %w", err)
	}
	out := make([]int64, len(logged))
	for i, l := range logged {
		out[i] = l.Index
		if l.Index < 0 {
			s.log.Error("serving a revision the transparency log lacks (run fieldcased log verify)", "rev", revs[i].Rev.String())
		}
	}
	return out, nil
}

// owedTo lists the cases owing a key rotation whose keyrings u may write:
// a member caseworker's, or any of the team's for a supervisor.
func owedTo(tx Tx, u User) ([]string, error) {
	if u.Role != protocol.RoleCaseworker && u.Role != protocol.RoleSupervisor {
		return nil, nil
	}
	owed, err := tx.RotationsOwed()
	if err != nil || len(owed) == 0 {
		return nil, err
	}
	var out []string
	for _, o := range owed {
		c, err := tx.Case(o.CaseID)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if _, write := caseAccess(u, c); write {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

// handleOwn answers a device's own revisions above a sequence number, in
// sequence order: a vault restored from a backup takes back what it wrote
// since, and never reuses a number.
func (s *Server) handleOwn(w http.ResponseWriter, r *http.Request, sess *session) error {
	if !readsCases(sess.user) {
		return forbidden("an admin account does not sync case data")
	}
	var req protocol.OwnRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var (
		hdr  protocol.OwnHeader
		revs []*record.Revision
	)
	err := s.store.View(r.Context(), func(tx Tx) error {
		all, err := tx.DeviceRevisions(sess.device.ID, req.AfterSeq, protocol.MaxPullLimit+1)
		if err != nil {
			return err
		}
		size := 0
		for i, rev := range all {
			n := len(rev.Body) + 256
			if i == protocol.MaxPullLimit || (len(revs) > 0 && size+n > pullBudget) {
				hdr.HasMore = true
				break
			}
			revs, size = append(revs, rev), size+n
		}
		return nil
	})
	if err != nil {
		return err
	}
	body, err := protocol.EncodeBatch(hdr, revs)
	if err != nil {
		return err
	}
	s.metrics.batches.WithLabelValues("own").Inc()
	w.Header().Set("Content-Type", protocol.MediaBatch)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

func (s *Server) handleRevsDiff(w http.ResponseWriter, r *http.Request, sess *session) error {
	if !readsCases(sess.user) {
		return forbidden("an admin account does not sync case data")
	}
	var req protocol.RevsDiffRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Revs) > protocol.MaxDiffRevs {
		return badRequest("at most %d revisions per request, not %d", protocol.MaxDiffRevs, len(req.Revs))
	}
	resp := protocol.RevsDiffResponse{Missing: []record.RevID{}}
	err := s.store.View(r.Context(), func(tx Tx) error {
		for _, rev := range req.Revs {
			has, err := tx.HasRevision(rev)
			if err != nil {
				return err
			}
			if !has {
				resp.Missing = append(resp.Missing, rev)
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
