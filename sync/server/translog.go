package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/transparency"
)

// The transparency log (package transparency), the server's side: every
// revision and statement it stores and every audit head a device reports
// is appended, in the transaction that stores it (push.go, roster.go), to
// an append-only Merkle tree; the server signs checkpoints of the tree
// (GET /v1/log/checkpoint), proves entries in it and trees consistent with
// each other, and keeps supervisors' devices' cosignatures of its
// checkpoints (witnesses). Devices check what it signs against the log key
// they pinned at enrolment, so a server that forks its log, rolls it back
// or drops an entry is caught by the next device that compares.

// appendLog appends e to the log in tx. It is a variable only so that a
// benchmark can measure a push without it (export_test.go); nothing else
// sets it.
var appendLog = func(tx Tx, e transparency.Entry, at time.Time) (int64, error) {
	return tx.AppendLog(e, at)
}

// maxCosignatures bounds the witnesses' cosignatures handed on with a
// checkpoint: a note may carry at most 100 signatures (sumdb/note), one of
// them the log's.
const maxCosignatures = 64

// checkpointCache is how many signed checkpoints a server keeps: devices
// ask for the newest, which changes with every push.
const checkpointCache = 16

var errNoLogKey = errf(http.StatusServiceUnavailable, protocol.CodeUnavailable,
	"this server's store has no log key (opened read-only in an old format?): restart it on a writable store")

// logSigner is the log's key and the checkpoints signed with it.
type logSigner struct {
	mu     sync.Mutex
	key    *transparency.LogKey
	origin string
	signed map[int64]signedCheckpoint
	order  []int64 // sizes in signed, oldest first
}

type signedCheckpoint struct {
	cp     transparency.Checkpoint
	signed transparency.Signed
}

// logKey is the log's key, read from tx's store once.
func (s *Server) logKey(tx Tx) (*transparency.LogKey, string, error) {
	s.tlog.mu.Lock()
	defer s.tlog.mu.Unlock()
	if s.tlog.key != nil {
		return s.tlog.key, s.tlog.origin, nil
	}
	m, err := tx.Meta()
	if err != nil {
		return nil, "", err
	}
	if m.LogSKey == "" {
		return nil, "", errNoLogKey
	}
	k, err := transparency.NewLogKey(m.LogSKey, m.LogVKey)
	if err != nil {
		return nil, "", fmt.Errorf("loading the log key: %w", err)
	}
	s.tlog.key, s.tlog.origin = k, LogOrigin(m.ServerID)
	return k, s.tlog.origin, nil
}

// checkpoint is the log's checkpoint of size, signed. A tree of a size
// never changes (the log is append-only), so signed checkpoints are kept:
// signing is cheap, but the tree hash takes O(log n) stored hashes.
func (s *Server) checkpoint(tx Tx, size int64) (signedCheckpoint, error) {
	key, origin, err := s.logKey(tx)
	if err != nil {
		return signedCheckpoint{}, err
	}
	s.tlog.mu.Lock()
	c, ok := s.tlog.signed[size]
	s.tlog.mu.Unlock()
	if ok {
		return c, nil
	}
	root, err := tlog.TreeHash(size, tx)
	if err != nil {
		return signedCheckpoint{}, fmt.Errorf("the log's tree hash at %d: %w", size, err)
	}
	c.cp = transparency.Checkpoint{Origin: origin, Size: size, Root: root}
	if c.signed, err = key.Sign(c.cp); err != nil {
		return signedCheckpoint{}, fmt.Errorf("signing a checkpoint: %w", err)
	}
	s.tlog.mu.Lock()
	defer s.tlog.mu.Unlock()
	if _, ok := s.tlog.signed[size]; !ok {
		if s.tlog.signed == nil {
			s.tlog.signed = map[int64]signedCheckpoint{}
		}
		s.tlog.signed[size] = c
		s.tlog.order = append(s.tlog.order, size)
		if len(s.tlog.order) > checkpointCache {
			delete(s.tlog.signed, s.tlog.order[0])
			s.tlog.order = s.tlog.order[1:]
		}
	}
	return c, nil
}

// cosigned is a signed checkpoint with the witnesses' cosignatures the
// store holds for its size (at most maxCosignatures, by witness name).
func cosigned(tx Tx, c signedCheckpoint) (transparency.Signed, error) {
	cs, err := tx.Cosignatures(c.cp.Size)
	if err != nil || len(cs) == 0 {
		return c.signed, err
	}
	out, n := slices.Clone([]byte(c.signed)), 0
	for _, w := range cs {
		if n == maxCosignatures {
			break
		}
		if validWitnessLine(w) {
			out = append(out, "— "+w.Name+" "+w.Sig+"\n"...)
			n++
		}
	}
	return out, nil
}

// handleLog answers the log's newest checkpoint, signed and cosigned, and
// with ?from=N (the size of the last checkpoint the device kept, 0 < N ≤
// size) the proof that this tree extends that one. A from beyond the size
// gets the checkpoint alone: it is the device's signed evidence that the
// log shrank.
func (s *Server) handleLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badRequest("malformed query string: %v", err)
	}
	var from int64
	if v := vals.Get("from"); v != "" {
		if from, err = strconv.ParseInt(v, 10, 64); err != nil || from < 0 {
			return badRequest("from must be a tree size: a whole number, 0 or more")
		}
	}
	var resp protocol.LogResponse
	err = s.store.View(r.Context(), func(tx Tx) error {
		size, err := tx.LogSize()
		if err != nil {
			return err
		}
		c, err := s.checkpoint(tx, size)
		if err != nil {
			return err
		}
		if resp.Checkpoint, err = cosigned(tx, c); err != nil {
			return err
		}
		if from > 0 && from < size {
			p, err := tlog.ProveTree(size, from, tx)
			if err != nil {
				return fmt.Errorf("proving the tree of %d extends that of %d: %w", size, from, err)
			}
			resp.Consistency = transparency.Proof(p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// handleProofs answers inclusion proofs of log entries in a tree the log
// had (at most protocol.MaxProofs at a time), with each entry's leaf data.
//
// Only entries the device could have seen are proved: statements (every
// device gets the whole roster), entries written by a device of its own
// user, and entries of cases its user may read now. An entry of another
// case names the case, the device that wrote to it, its sequence number
// and, by its place in the log, when: the metadata the access rules
// (access.go) withhold from everyone outside the case. A device never
// needs such a proof: it asks for the indexes of what it pulled
// (PullHeader.Indexes), of what it pushed (receipts, AuditIndexes) and of
// the roster's statements. The log stays checkable as a whole all the same:
// checkpoints and consistency proofs cover every entry, and the court
// bundle is cut from the server's own store (fieldcased log).
func (s *Server) handleProofs(w http.ResponseWriter, r *http.Request, sess *session) error {
	var req protocol.ProofsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Indexes) > protocol.MaxProofs {
		return badRequest("at most %d proofs per request, not %d", protocol.MaxProofs, len(req.Indexes))
	}
	resp := protocol.ProofsResponse{Entries: [][]byte{}, Proofs: []transparency.Proof{}}
	err := s.store.View(r.Context(), func(tx Tx) error {
		size, err := tx.LogSize()
		if err != nil {
			return err
		}
		if req.TreeSize < 1 || req.TreeSize > size {
			return badRequest("tree size %d: the log has had trees of 1 to %d entries", req.TreeSize, size)
		}
		for _, x := range req.Indexes {
			if x < 0 || x >= req.TreeSize {
				return badRequest("entry %d is not in a tree of %d", x, req.TreeSize)
			}
		}
		if len(req.Indexes) == 0 {
			return nil
		}
		leaves, err := tx.LogEntriesAt(req.Indexes)
		if err != nil {
			return err
		}
		v := visibility{tx: tx, sess: sess, cases: map[string]bool{}, devices: map[string]bool{sess.device.ID: true}}
		for _, l := range leaves {
			ok, err := v.sees(l)
			if err != nil {
				return err
			}
			if !ok {
				return forbidden("entry %d is of a case this user may not read", l.Index)
			}
			resp.Entries = append(resp.Entries, l.Data)
		}
		resp.Proofs, err = proveRecords(tx, req.TreeSize, req.Indexes)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// handleEntries answers the log's entries [start, end), at most
// protocol.MaxEntries of them (fewer when the answer grows large): devices
// read the whole log and hash it themselves. An entry the device may see
// (as for proofs: statements, its user's devices' entries, cases its user
// reads now) comes in full; any other as its leaf, which names the case by
// tag only and hides who wrote what.
func (s *Server) handleEntries(w http.ResponseWriter, r *http.Request, sess *session) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badRequest("malformed query string: %v", err)
	}
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end <= start {
		return badRequest("start and end must be entry numbers with 0 <= start < end")
	}
	end = min(end, start+protocol.MaxEntries)
	resp := protocol.EntriesResponse{Entries: []protocol.LogEntry{}}
	err = s.store.View(r.Context(), func(tx Tx) error {
		size, err := tx.LogSize()
		if err != nil {
			return err
		}
		if end > size {
			return badRequest("the log has %d entries; asked up to %d", size, end)
		}
		leaves, err := tx.LogEntries(start, int(end-start))
		if err != nil {
			return err
		}
		v := visibility{tx: tx, sess: sess, cases: map[string]bool{}, devices: map[string]bool{sess.device.ID: true}}
		sent := 0
		for i, l := range leaves {
			if l.Index != start+int64(i) {
				return fmt.Errorf("log entry %d missing (read %d)", start+int64(i), l.Index)
			}
			if sent > entriesBudget {
				break
			}
			ok, err := v.sees(l)
			if err != nil {
				return err
			}
			if ok {
				resp.Entries = append(resp.Entries, protocol.LogEntry{Entry: l.Data})
				sent += len(l.Data)
				continue
			}
			e, err := transparency.UnmarshalEntry(l.Data)
			if err != nil {
				return fmt.Errorf("log entry %d: %w", l.Index, err)
			}
			resp.Entries = append(resp.Entries, protocol.LogEntry{Leaf: e.Leaf()})
			sent += 100
		}
		if len(resp.Entries) == 0 {
			return fmt.Errorf("the log's entries from %d could not be read", start)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// entriesBudget bounds an entries answer's leaf data (its JSON is about
// a third larger).
const entriesBudget = 2 << 20

// visibility decides which log entries a device may have proved (see
// handleProofs), remembering what it looked up.
type visibility struct {
	tx      Tx
	sess    *session
	cases   map[string]bool // case id → readable
	devices map[string]bool // device id → of the session's user
}

func (v *visibility) sees(l LogLeaf) (bool, error) {
	e, err := transparency.UnmarshalEntry(l.Data)
	if err != nil {
		return false, fmt.Errorf("log entry %d: %w", l.Index, err)
	}
	if e.Kind == transparency.KindStatement {
		return true, nil
	}
	own, ok := v.devices[e.Device]
	if !ok {
		d, err := v.tx.Device(e.Device)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
		own = err == nil && d.UserID == v.sess.user.ID
		v.devices[e.Device] = own
	}
	if own {
		return true, nil
	}
	read, ok := v.cases[e.CaseID]
	if !ok {
		c, err := v.tx.Case(e.CaseID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
		if err == nil {
			read, _ = caseAccess(v.sess.user, c)
		}
		v.cases[e.CaseID] = read
	}
	return read, nil
}

// proveRecords proves each of indexes in the tree of size t, reading every
// stored hash the proofs need in one ReadHashes call: tlog asks for each
// proof's hashes in one call, so a first pass with a reader that only
// notes what is asked learns them all.
func proveRecords(r tlog.HashReader, t int64, indexes []int64) ([]transparency.Proof, error) {
	need := map[int64]tlog.Hash{}
	note := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		for _, x := range idx {
			need[x] = tlog.Hash{}
		}
		return make([]tlog.Hash, len(idx)), nil
	})
	for _, n := range indexes {
		if _, err := tlog.ProveRecord(t, n, note); err != nil {
			return nil, fmt.Errorf("proving entry %d in the tree of %d: %w", n, t, err)
		}
	}
	idx := make([]int64, 0, len(need))
	for x := range need {
		idx = append(idx, x)
	}
	slices.Sort(idx)
	if len(idx) > 0 {
		hs, err := r.ReadHashes(idx)
		if err != nil {
			return nil, fmt.Errorf("reading the log's hashes: %w", err)
		}
		for i, x := range idx {
			need[x] = hs[i]
		}
	}
	read := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = need[x]
		}
		return out, nil
	})
	proofs := make([]transparency.Proof, len(indexes))
	for i, n := range indexes {
		p, err := tlog.ProveRecord(t, n, read)
		if err != nil {
			return nil, fmt.Errorf("proving entry %d in the tree of %d: %w", n, t, err)
		}
		proofs[i] = transparency.Proof(p)
	}
	return proofs, nil
}

// handleWitness keeps a supervisor's device's cosignature of one of the
// log's checkpoints and answers the checkpoint as the server now hands it
// on. The note must carry a valid cosignature by the device's signing key
// (transparency.WitnessSigner), and its text must be the log's own
// checkpoint of that size: a device cannot have the server pass on a
// cosignature of another tree.
func (s *Server) handleWitness(w http.ResponseWriter, r *http.Request, sess *session) error {
	if sess.user.Role != protocol.RoleSupervisor {
		return forbidden("only a supervisor's device witnesses the log, not a %s's", sess.user.Role)
	}
	var req protocol.WitnessRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	wv, err := transparency.WitnessVerifier(sess.device.ID, sess.device.SigningKey)
	if err != nil {
		return fmt.Errorf("witness key of device %s: %w", sess.device.ID, err)
	}
	n, err := note.Open(req.Checkpoint, note.VerifierList(wv))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		return badRequest("the checkpoint is not cosigned by this device (as %s)", wv.Name())
	case errors.As(err, &invalid):
		return badRequest("this device's cosignature of the checkpoint does not verify")
	case err != nil:
		return badRequest("not a signed checkpoint: %v", err)
	}
	var sig string
	for _, ns := range n.Sigs {
		if ns.Name == wv.Name() && ns.Hash == wv.KeyHash() {
			sig = ns.Base64
		}
	}
	cp, err := transparency.ParseCheckpoint(n.Text)
	if err != nil {
		return badRequest("%v", err)
	}
	notOurs := errf(http.StatusConflict, protocol.CodeConflict, "the checkpoint is not one this log signed: another log, or another tree of %d entries", cp.Size)
	var resp protocol.LogResponse
	now := s.now().UTC()
	err = s.store.Update(r.Context(), func(tx Tx) error {
		d, err := tx.Device(sess.device.ID)
		if err != nil {
			return err
		}
		if !d.Revoked.IsZero() {
			return errRevoked
		}
		if !slices.Equal(d.SigningKey, sess.device.SigningKey) {
			return badRequest("this device's signing key changed while the request was on its way: cosign again")
		}
		size, err := tx.LogSize()
		if err != nil {
			return err
		}
		if cp.Size < 1 || cp.Size > size {
			return notOurs
		}
		own, err := s.checkpoint(tx, cp.Size)
		if err != nil {
			return err
		}
		if own.cp.Text() != n.Text {
			return notOurs
		}
		if err := tx.AddCosignature(Cosignature{Size: cp.Size, Name: wv.Name(), Sig: sig, Time: now}); err != nil {
			return err
		}
		resp.Checkpoint, err = cosigned(tx, own)
		return err
	})
	if err != nil {
		return err
	}
	s.log.Info("log checkpoint witnessed", "device", sess.device.ID, "user", sess.user.Name, "size", cp.Size)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// validWitnessLine reports whether a stored cosignature can go on a note
// line as it is.
func validWitnessLine(c Cosignature) bool {
	return c.Name != "" && c.Sig != "" && !strings.ContainsAny(c.Name+c.Sig, " \n")
}
