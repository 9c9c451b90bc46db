package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// PushHeader is the optional header of a push batch (see sync/protocol).
type PushHeader = protocol.PushHeader

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 200

func (s *Server) handlePush(w http.ResponseWriter, r *http.Request, sess *session) error {
	if !readsCases(sess.user) {
		return forbidden("an admin account does not sync case data")
	}
	key := r.Header.Get(protocol.HeaderIdempotency)
	if len(key) > maxIdempotencyKey || !printableASCII(key) {
		return badRequest("%s must be at most %d printable ASCII characters", protocol.HeaderIdempotency, maxIdempotencyKey)
	}
	body, err := readBody(w, r, protocol.MaxBatchBytes)
	if err != nil {
		return err
	}
	var hdr PushHeader
	revs, err := protocol.DecodeBatch(body, &hdr, protocol.MaxPushRevisions)
	if err != nil {
		return badRequest("%v", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	// Signatures are checked before the transaction, on every core: they
	// are most of a push's cost, and need only the session's device key
	// (checked against the stored one inside the transaction).
	sessKey := sess.device.SigningKey
	sigOK := record.VerifySigs(revs, func(*record.Revision) ed25519.PublicKey { return sessKey })
	heads, err := auditHeads(hdr.AuditHeads, sess.device.ID, sessKey)
	if err != nil {
		return err
	}
	var (
		resp   protocol.PushResponse
		logged []LogLeaf
	)
	err = s.store.Update(r.Context(), func(tx Tx) error {
		// Check again inside the transaction: a device revoked while its
		// push was on the way stores nothing.
		d, err := tx.Device(sess.device.ID)
		if err != nil {
			return err
		}
		if !d.Revoked.IsZero() {
			return errRevoked
		}
		if pf, ok := tx.(PushPrefetcher); ok {
			if err := pf.PrefetchPush(pushIDs(revs)); err != nil {
				return err
			}
		}
		p := pusher{tx: tx, user: sess.user, device: d.ID, key: d.SigningKey, now: now, cases: map[string]*Case{}}
		if bytes.Equal(d.SigningKey, sessKey) {
			p.sigOK = map[*record.Revision]bool{}
			for i, rev := range revs {
				p.sigOK[rev] = sigOK[i]
			}
		}
		if p.acked, err = tx.AckedSeq(d.ID); err != nil {
			return err
		}
		p.ackedBefore = p.acked
		resp = protocol.PushResponse{Results: make([]protocol.PushResult, len(revs))}
		for i, rev := range revs {
			if resp.Results[i], err = p.push(rev, hdr.Blobs[rev.Rev]); err != nil {
				return fmt.Errorf("revision %d (%s): %w", i, rev.Rev.Short(), err)
			}
		}
		// Logged in the same transaction, at its end: a revision is stored
		// with its log entry or not at all, and a backend that serialises
		// appends (PostgreSQL) holds them up only from here to the commit.
		if err := p.logRevisions(revs, resp.Results); err != nil {
			return err
		}
		if resp.AuditIndexes, err = p.logAuditHeads(heads, bytes.Equal(d.SigningKey, sessKey)); err != nil {
			return err
		}
		resp.AckedSeq = p.acked
		resp.SeqReused = p.reused
		logged = p.logged
		return tx.TouchDevice(d.ID, now, now)
	})
	if err != nil {
		return err
	}
	// Receipts are signed once the push is durable: each says the server
	// holds the revision at its log index, since the time it was logged.
	if err := s.receipts(r.Context(), resp.Results, logged); err != nil {
		return err
	}
	s.metrics.batches.WithLabelValues("push").Inc()
	for _, res := range resp.Results {
		s.metrics.pushResults.WithLabelValues(string(res.Status)).Inc()
		if res.Status == protocol.StatusStored {
			s.metrics.revisions.Inc()
		}
	}
	s.log.Debug("push", "device", sess.device.ID, "revisions", len(revs), "acked_seq", resp.AckedSeq, "idempotency_key", key)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// pushIDs lists the revisions a push names (its own and their parents) and
// the records it writes, each once.
func pushIDs(revs []*record.Revision) ([]record.RevID, []string) {
	seenRev, seenRec := map[record.RevID]bool{}, map[string]bool{}
	var ids []record.RevID
	var recs []string
	for _, r := range revs {
		for _, id := range append([]record.RevID{r.Rev}, r.Parents...) {
			if !seenRev[id] {
				seenRev[id] = true
				ids = append(ids, id)
			}
		}
		if !seenRec[r.RecordID] {
			seenRec[r.RecordID] = true
			recs = append(recs, r.RecordID)
		}
	}
	return ids, recs
}

// auditHeads checks the audit-chain heads a push reports, before its
// transaction: each must be signed by the pushing device's key.
func auditHeads(heads []protocol.AuditHead, device string, key ed25519.PublicKey) ([]transparency.Entry, error) {
	if len(heads) > protocol.MaxPushRevisions {
		return nil, badRequest("at most %d audit heads per push, not %d", protocol.MaxPushRevisions, len(heads))
	}
	out := make([]transparency.Entry, len(heads))
	for i, h := range heads {
		if err := record.ValidID(h.CaseID); err != nil {
			return nil, badRequest("audit head %d: case id: %v", i, err)
		}
		e := transparency.Entry{Kind: transparency.KindAuditHead, CaseID: h.CaseID, Device: device, Seq: h.Seq, Head: h.Hash, Sig: h.Sig}
		if !e.VerifyAuditHead(key) {
			return nil, badRequest("audit head %d (case %s): not signed by this device", i, h.CaseID)
		}
		out[i] = e
	}
	return out, nil
}

// logAuditHeads appends the push's audit heads to the log, after its
// revisions (so a case the push made is there), and returns their
// indexes. A head is logged only in a case the user may read (a device
// keeps an audit chain only where it works): one of a case not on the
// server (its revisions were refused or wait for a parent) or out of reach
// gets index -1, not logged, and the push goes on, so that it never blocks
// the device's outbox; the device sends it again later. sameKey says the
// device's key is the one the heads were checked against; otherwise they are
// checked again.
func (p *pusher) logAuditHeads(heads []transparency.Entry, sameKey bool) ([]int64, error) {
	var out []int64
	for i, e := range heads {
		if !sameKey && !e.VerifyAuditHead(p.key) {
			return nil, badRequest("audit head %d (case %s): not signed by this device", i, e.CaseID)
		}
		c, err := p.caseOf(e.CaseID)
		if err != nil {
			return nil, err
		}
		if c == nil {
			out = append(out, -1)
			continue
		}
		if read, _ := caseAccess(p.user, *c); !read {
			out = append(out, -1)
			continue
		}
		n, err := appendLog(p.tx, e, p.now)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// receipts signs a receipt for each result the log holds, on every core
// (a push may store a thousand revisions).
func (s *Server) receipts(ctx context.Context, results []protocol.PushResult, logged []LogLeaf) error {
	key, err := s.receiptKey(ctx)
	if err != nil {
		return err
	}
	for i, l := range logged {
		if l.Index < 0 && results[i].Status == protocol.StatusPresent {
			s.log.Error("a revision the server holds has no transparency log entry: no receipt (run fieldcased log verify)", "rev", results[i].Rev.String())
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(results))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(results)/64))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(results); i += workers {
				l := logged[i]
				if l.Index < 0 {
					continue
				}
				rc, err := key.SignReceipt(results[i].Rev, l.Index, l.Time)
				results[i].Receipt, errs[i] = &rc, err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// receiptKey is the log's key (read from the store the first time).
func (s *Server) receiptKey(ctx context.Context) (*transparency.LogKey, error) {
	s.tlog.mu.Lock()
	k := s.tlog.key
	s.tlog.mu.Unlock()
	if k != nil {
		return k, nil
	}
	err := s.store.View(ctx, func(tx Tx) (err error) {
		k, _, err = s.logKey(tx)
		return err
	})
	return k, err
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// pusher decides and applies one push batch's revisions in one transaction.
type pusher struct {
	tx      Tx
	user    User
	device  string
	key     ed25519.PublicKey // the device's signing key
	now     time.Time
	acked   uint64
	cases   map[string]*Case          // nil value: no such case (yet)
	typists map[string][]string       // team → its typists, read once
	sigOK   map[*record.Revision]bool // signatures checked before the transaction
	// ackedBefore is the device's contiguous acknowledgement as the push
	// began; reused lists the numbers at or below it the push used again.
	ackedBefore uint64
	reused      []uint64
	// logged is, per pushed revision the server holds, where it is in the
	// transparency log (Index -1 for the others).
	logged []LogLeaf
	// destroyed are the cases the roster proves destroyed, read when a
	// push first names a case the store lacks (lifecycle.go).
	destroyed map[string]bool
}

// writer is the pushing device as the trust rules see it.
func (p *pusher) writer() trust.Writer {
	u := p.user
	return trust.Writer{
		User:   trust.User{ID: u.ID, Name: u.Name, Role: u.Role, Team: u.TeamID},
		Device: trust.Device{ID: p.device, User: u.ID, SigningKey: p.key},
	}
}

// membership is the server's view of who is in case c, as the trust rules
// take it: its team, its members, and the team's typists while the case is
// open for transcription. A case not yet on the server will have its
// creator as its only member.
func (p *pusher) membership(c *Case) (trust.Membership, error) {
	if c == nil {
		return trust.Membership{Team: p.user.TeamID, Members: []string{p.user.ID}}, nil
	}
	m := trust.Membership{Team: c.TeamID, Members: c.Members}
	if !c.Transcription {
		return m, nil
	}
	if p.typists == nil {
		users, err := p.tx.Users()
		if err != nil {
			return m, err
		}
		p.typists = map[string][]string{}
		for _, u := range users {
			if u.Role == protocol.RoleTypist && u.TeamID != "" {
				p.typists[u.TeamID] = append(p.typists[u.TeamID], u.ID)
			}
		}
	}
	m.Typists = p.typists[c.TeamID]
	return m, nil
}

func (p *pusher) rejected(rev *record.Revision, reason string) (protocol.PushResult, error) {
	res := protocol.PushResult{Rev: rev.Rev, Status: protocol.StatusRejected, Reason: reason, Permanent: true}
	if rev.Device != p.device {
		return res, nil
	}
	return res, p.done(rev.Seq)
}

// logRevisions appends the revisions the push stored to the log, in push
// order, and looks up in one go where those it found present were logged
// (one the log lacks, in a store damaged or written behind the server's
// back, gets no receipt): p.logged says, per result.
func (p *pusher) logRevisions(revs []*record.Revision, results []protocol.PushResult) error {
	p.logged = make([]LogLeaf, len(revs))
	var ids []record.RevID
	var at []int
	for i, res := range results {
		p.logged[i] = LogLeaf{Index: -1}
		switch res.Status {
		case protocol.StatusStored:
			n, err := appendLog(p.tx, transparency.RevisionEntry(revs[i]), p.now)
			if err != nil {
				return err
			}
			p.logged[i] = LogLeaf{Index: n, Time: p.now}
		case protocol.StatusPresent:
			ids, at = append(ids, revs[i].Rev), append(at, i)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	found, err := p.tx.RevisionLog(ids)
	if err != nil {
		return fmt.Errorf("finding the log entries of revisions stored before: %w", err)
	}
	for k, i := range at {
		p.logged[i] = found[k]
	}
	return nil
}

// push decides one revision: present, rejected, missing_parent,
// missing_blob, or stored.
func (p *pusher) push(rev *record.Revision, blobs []record.RevID) (protocol.PushResult, error) {
	res := protocol.PushResult{Rev: rev.Rev}
	if has, err := p.tx.HasRevision(rev.Rev); err != nil {
		return res, err
	} else if has {
		res.Status = protocol.StatusPresent
		if rev.Device == p.device {
			return res, p.done(rev.Seq)
		}
		return res, nil
	}
	if rev.Device != p.device {
		return p.rejected(rev, fmt.Sprintf("revision was written by device %q, not by this one", rev.Device))
	}
	if rev.Seq > math.MaxInt64 {
		// Refused without recording the number: no store keeps it in order.
		return protocol.PushResult{Rev: rev.Rev, Status: protocol.StatusRejected, Reason: "sequence number out of range", Permanent: true}, nil
	}
	if ok, checked := p.sigOK[rev]; !ok && (checked || !rev.VerifySig(p.key)) {
		return p.rejected(rev, "revision is not signed by this device")
	}
	c, err := p.caseOf(rev.CaseID)
	if err != nil {
		return res, err
	}
	if c == nil {
		if !mayCreateCase(p.user) {
			return p.rejected(rev, fmt.Sprintf("a %s may not create cases", p.user.Role))
		}
		if gone, err := p.destroyedCase(rev.CaseID); err != nil {
			return res, err
		} else if gone {
			return p.rejected(rev, "case "+rev.CaseID+" was destroyed under the retention policy")
		}
	} else if _, write := caseAccess(p.user, *c); !write {
		return p.rejected(rev, "no write access to case "+rev.CaseID)
	}
	epoch, isKeyring := KeyringEpoch(rev)
	if rev.Kind == record.KindKeyring {
		// Keyrings carry case keys: only those who hold them for others
		// write them, never as a deletion. Who may change the members is
		// in the sealed membership, which devices check (MayWriteKeyring).
		switch {
		case p.user.Role != protocol.RoleCaseworker && p.user.Role != protocol.RoleSupervisor:
			return p.rejected(rev, fmt.Sprintf("a %s does not write keyrings", p.user.Role))
		case rev.Deleted:
			return p.rejected(rev, "keyrings are never deleted")
		case !isKeyring:
			return p.rejected(rev, "keyring body does not decode, or its epoch is not its record id's")
		}
	} else {
		m, err := p.membership(c)
		if err != nil {
			return res, err
		}
		if err := trust.MayWrite(p.writer(), trust.WriteOf(rev), m); err != nil {
			return p.rejected(rev, err.Error())
		}
	}
	info, err := p.tx.Record(rev.RecordID)
	known := err == nil
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return res, err
	case info.CaseID != rev.CaseID:
		return p.rejected(rev, fmt.Sprintf("record %s belongs to another case", rev.RecordID))
	case info.Kind != rev.Kind:
		return p.rejected(rev, fmt.Sprintf("record %s is a %s, not a %s", rev.RecordID, info.Kind, rev.Kind))
	case rev.Generation == 1 && rev.Kind != record.KindKeyring:
		// A first version of a record that exists is a second root: it
		// would stand beside the record's history as a concurrent head
		// (a typist's "new note" that edits someone's note). Only a key
		// epoch may have several first versions (concurrent rotations).
		return p.rejected(rev, fmt.Sprintf("record %s exists: a first version of it cannot be written again", rev.RecordID))
	}
	for _, parent := range rev.Parents {
		has, err := p.tx.HasRevision(parent)
		if err != nil {
			return res, err
		}
		if !has {
			res.Status, res.Reason = protocol.StatusMissingParent, "parent "+parent.Short()+" is not on the server: push it first"
			return res, nil
		}
	}
	for _, b := range blobs {
		has, err := p.tx.HasBlob(rev.CaseID, b)
		if err != nil {
			return res, err
		}
		if !has {
			res.Status, res.Reason = protocol.StatusMissingBlob, "blob "+b.Short()+" is not on the server: upload it first"
			return res, nil
		}
	}
	if c == nil {
		c = &Case{ID: rev.CaseID, TeamID: p.user.TeamID, Members: []string{p.user.ID}, Created: p.now}
		if err := p.tx.PutCase(*c); err != nil {
			return res, err
		}
		p.cases[c.ID] = c
	}
	if !known {
		if err := p.tx.InsertRecord(RecordInfo{ID: rev.RecordID, CaseID: rev.CaseID, Kind: rev.Kind}); err != nil {
			return res, err
		}
	}
	if err := p.tx.InsertRevision(rev); err != nil {
		return res, err
	}
	if isKeyring && epoch > c.KeyEpoch {
		c.KeyEpoch = epoch
		if err := p.tx.PutCase(*c); err != nil {
			return res, err
		}
	}
	if _, err := p.tx.AppendChange(Change{Rev: rev.Rev, CaseID: rev.CaseID}); err != nil {
		return res, err
	}
	if isKeyring {
		if err := p.announceCut(rev); err != nil {
			return res, err
		}
	}
	res.Status = protocol.StatusStored
	if rev.Seq <= p.ackedBefore {
		// A new revision under a number this device had used already: its
		// vault was restored from a backup. Stored all the same (it is
		// signed, and the user's work); the device is told.
		p.reused = append(p.reused, rev.Seq)
	}
	return res, p.done(rev.Seq)
}

func (p *pusher) caseOf(id string) (*Case, error) {
	if c, ok := p.cases[id]; ok {
		return c, nil
	}
	c, err := p.tx.Case(id)
	if errors.Is(err, ErrNotFound) {
		p.cases[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p.cases[id] = &c
	return &c, nil
}

// done records that the device's sequence number seq is acknowledged and
// advances the contiguous AckedSeq over any pending numbers it joins.
func (p *pusher) done(seq uint64) error {
	switch {
	case seq <= p.acked:
		return nil
	case seq > p.acked+1:
		return p.tx.AddPendingSeq(p.device, seq)
	}
	p.acked = seq
	for {
		more, err := p.tx.TakePendingSeq(p.device, p.acked+1)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		p.acked++
	}
	return p.tx.SetAckedSeq(p.device, p.acked)
}

// announceCut addresses a keyring that cuts devices off a case to their
// users too: they read the case no longer, but their devices follow the
// log, see the key change logged, and are owed the keyring that tells them
// they were taken off (a device not told would take the silence for a
// server withholding the case from it).
func (p *pusher) announceCut(rev *record.Revision) error {
	k, err := sealed.DecodeKeyring(rev.Body)
	if err != nil || len(k.Membership.Cutoffs) == 0 {
		return nil
	}
	users := map[string]bool{}
	for id := range k.Membership.Cutoffs {
		d, err := p.tx.Device(id)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		users[d.UserID] = true
	}
	for _, u := range slices.Sorted(maps.Keys(users)) {
		if _, err := p.tx.AppendChange(Change{Rev: rev.Rev, CaseID: rev.CaseID, Target: cutTarget + u}); err != nil {
			return err
		}
	}
	return nil
}
