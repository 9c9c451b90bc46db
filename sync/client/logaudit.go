package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// Log fetches the log's newest signed checkpoint and, when from > 0, the
// proof that it extends the tree of from entries.
func (c *Client) Log(ctx context.Context, from int64) (*protocol.LogResponse, error) {
	q := url.Values{}
	if from > 0 {
		q.Set("from", strconv.FormatInt(from, 10))
	}
	var out protocol.LogResponse
	if err := c.do(ctx, http.MethodGet, protocol.PathLog, q, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Proofs fetches inclusion proofs of log entries in the tree of size.
func (c *Client) Proofs(ctx context.Context, size int64, indexes []int64) (*protocol.ProofsResponse, error) {
	body, err := json.Marshal(protocol.ProofsRequest{TreeSize: size, Indexes: indexes})
	if err != nil {
		return nil, err
	}
	var out protocol.ProofsResponse
	if err := c.do(ctx, http.MethodPost, protocol.PathProofs, nil, protocol.MediaJSON, body, &out); err != nil {
		return nil, err
	}
	if len(out.Entries) != len(indexes) || len(out.Proofs) != len(indexes) {
		return nil, fmt.Errorf("%w: %d proofs for %d entries", ErrOffline, len(out.Proofs), len(indexes))
	}
	return &out, nil
}

// Entries fetches the log's entries from start on, up to end (exclusive);
// the server may answer fewer (never none).
func (c *Client) Entries(ctx context.Context, start, end int64) ([]protocol.LogEntry, error) {
	q := url.Values{"start": {strconv.FormatInt(start, 10)}, "end": {strconv.FormatInt(end, 10)}}
	var out protocol.EntriesResponse
	if err := c.do(ctx, http.MethodGet, protocol.PathEntries, q, "", nil, &out); err != nil {
		return nil, err
	}
	if len(out.Entries) == 0 || int64(len(out.Entries)) > end-start {
		return nil, fmt.Errorf("%w: %d log entries for [%d, %d)", ErrOffline, len(out.Entries), start, end)
	}
	return out.Entries, nil
}

// Witness sends this device's cosignature of a checkpoint.
func (c *Client) Witness(ctx context.Context, cosigned transparency.Signed) error {
	body, err := json.Marshal(protocol.WitnessRequest{Checkpoint: cosigned})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, protocol.PathWitness, nil, protocol.MediaJSON, body, nil)
}

// logKey is the pinned log key, or "" when there is none (or a benchmark
// measures a round without the log's work: noLog).
func (s *Syncer) logKey() string {
	if s.noLog {
		return ""
	}
	return s.v.LogKey()
}

// LogAlarmKey is where the vault keeps what it found wrong with the
// server's log, for the user (status bar, 'fieldcase doctor'): a fork, a
// rollback, a missing entry, a receipt or checkpoint that does not verify.
const LogAlarmKey = "log-alarm"

// LogAlarm is a finding against the server's log, with the evidence.
type LogAlarm struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
	// Kept and Offered are the checkpoint this device had checked and the
	// one the server offered that does not extend it: together, signed by
	// the same log key, proof that the server showed two histories.
	Kept    []byte `json:"kept,omitempty"`
	Offered []byte `json:"offered,omitempty"`
}

// ErrLogAlarm means the server's log failed a check; the alarm is kept
// (LogAlarmKey) and shown. Nothing was accepted from the failing answer.
var ErrLogAlarm = errors.New("the server's log does not hold together")

// logged is what a round learned of revisions' places in the log.
type logged struct {
	rev     *record.Revision
	index   int64
	receipt *transparency.Receipt
}

// soft takes a log step's error: an alarm is kept for the end of the round
// (the round goes on: what it moves is checked on its own merits, and the
// user is told), any other error stops the round.
func (s *Syncer) soft(err error) error {
	if errors.Is(err, ErrLogAlarm) {
		if s.alarmed == nil {
			s.alarmed = err
		}
		return nil
	}
	return err
}

// alarm keeps a finding against the log and returns it as an error.
// The latest alarm (LogAlarmKey) is cleared by a round that finds
// nothing; proof of two histories (LogForkKey) is kept until the user
// clears it ('fieldcase doctor --clear-log-fork'), once IT has it.
func (s *Syncer) alarm(a LogAlarm) error {
	a.At = time.Now().UTC()
	js, _ := json.Marshal(a)
	if err := s.v.PutLocal(LogAlarmKey, js); err != nil {
		return err
	}
	if len(a.Kept) > 0 && len(a.Offered) > 0 {
		if m, err := s.v.Locals(LogForkKey); err != nil {
			return err
		} else if m[LogForkKey] == nil { // the first proof is kept
			if err := s.v.PutLocal(LogForkKey, js); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("%w: %s", ErrLogAlarm, a.What)
}

// LogForkKey keeps the first proof that the server showed this laptop two
// histories of its log (or rolled it back, as a restore from a backup
// does): a LogAlarm with both signed checkpoints.
const LogForkKey = "log-fork"

// auditLog checks the server's log after a round:
//
//   - the new checkpoint is signed by the pinned log key and extends the
//     last one this device kept (no fork, no rollback);
//   - the device reads every entry logged since its last round and hashes
//     them into its frontier, which must come to the checkpoint's root: the
//     entries it read are the tree the log signed, with nothing left out;
//   - everything this round pushed and pulled sits in the log where the
//     server said (checked against the entries read, or, for what was
//     logged before this device began following, by inclusion proofs);
//   - nothing is logged in this device's name that it did not write;
//   - whatever the log held a round ago for this device (a revision or key
//     change of a case it reads, a roster statement) has reached it.
//
// Revisions whose acceptance depends on their place in the log (a revoked
// device's) wait in quarantine until that place is checked, and are
// reconsidered here. A supervisor's device then cosigns the checkpoint as a
// witness. Findings are kept (LogAlarmKey) and shown loudly; nothing
// accepted from a failing answer.
func (s *Syncer) auditLog(ctx context.Context, sum *Summary) error {
	lr, err := s.readLog(ctx, sum)
	if lr == nil || (err != nil && !errors.Is(err, ErrLogAlarm)) {
		return err
	}
	if err := s.soft(err); err != nil {
		return err
	}
	if err := s.checkLogged(ctx, lr.start, lr.cp, lr.signed, sum); err != nil {
		return err
	}
	if released, _, err := s.v.RecheckQuarantine(); err != nil {
		return err
	} else {
		sum.Released += released
	}
	found, err := s.v.LogFindings()
	if err != nil {
		return err
	}
	tails, err := s.v.AuditTailFindings()
	if err != nil {
		return err
	}
	found = append(found, tails...)
	if len(found) > 0 && s.destroyedSince(ctx, found, sum) {
		// A case destroyed since this laptop's last roster: its entries
		// are owed to nobody. Judged again on the roster just fetched.
		if found, err = s.v.LogFindings(); err != nil {
			return err
		}
		found = append(found, tails...)
	}
	// Every statement this laptop held when the round began must be in
	// the log: one that is not was never logged, as a hold or revocation
	// this laptop signed that the server answered "stored" and threw away
	// (no other laptop will ever see it), or one handed over unlogged.
	unlogged, err := s.v.UnloggedStatements(s.held)
	if err != nil {
		return err
	}
	resent, err := s.resendUnlogged(ctx, unlogged)
	if err != nil {
		return err
	}
	sum.Resent += len(resent)
	for _, id := range unlogged {
		why := "a signed statement this laptop holds (signed here, or handed to it) that the server's log does not hold: no other laptop can see it"
		if resent[id] {
			why += "; sent again (a server restored from a backup takes it back, and this clears next round)"
		}
		found = append(found, store.Withheld{Index: -1, Entry: transparency.Entry{Kind: transparency.KindStatement, Statement: id}, Reason: why})
	}
	if len(found) > 0 {
		// What was withheld may have slipped past the pull cursor: the
		// next round pulls from the start (what is here is skipped), so a
		// server that hands it over after all is taken at its word.
		for _, w := range found {
			if w.Entry.Kind == transparency.KindRevision {
				if err := s.v.ResetCursor(); err != nil {
					return err
				}
				break
			}
		}
		return s.alarm(LogAlarm{What: describeFindings(found), Offered: lr.signed})
	}
	if s.role == protocol.RoleSupervisor {
		return s.witness(ctx, lr.signed)
	}
	return nil
}

// logRound is the log as readLog left it.
type logRound struct {
	cp     transparency.Checkpoint
	signed transparency.Signed
	start  int64 // where this device began following
}

// readLog brings this device's copy of the log up to the server's newest
// checkpoint: signed by the pinned log key, extending the last one kept
// (no fork, no rollback), its entries read and hashed to its root, none in
// this device's name that it did not write. A round does this first (so
// the roster it then fetches can be held against every statement logged)
// and again last (to place what the round moved). nil without a log key.
func (s *Syncer) readLog(ctx context.Context, sum *Summary) (*logRound, error) {
	return s.readLogAt(ctx, sum, 0)
}

func (s *Syncer) readLogAt(ctx context.Context, sum *Summary, depth int) (*logRound, error) {
	logKey := s.logKey()
	if logKey == "" {
		return nil, nil // enrolled before the server kept a log: nothing pinned to check against
	}
	kept, err := s.v.Checkpoint()
	if err != nil {
		return nil, err
	}
	var prev transparency.Checkpoint
	if kept != nil {
		if prev, _, err = transparency.Open(kept, logKey); err != nil {
			return nil, s.alarm(LogAlarm{What: "the checkpoint this laptop kept no longer verifies: " + err.Error()})
		}
	}
	follow, following, err := s.v.Follow()
	if err != nil {
		return nil, err
	}
	resp, err := s.c.Log(ctx, prev.Size)
	if err != nil {
		return nil, err
	}
	cp, witnesses, err := transparency.Open(resp.Checkpoint, logKey, s.witnessVerifiers()...)
	if err != nil {
		return nil, s.alarm(LogAlarm{What: "the server's checkpoint is not signed by its log key: " + err.Error(), Offered: resp.Checkpoint})
	}
	if kept != nil {
		if err := transparency.CheckConsistency(prev, cp, resp.Consistency); err != nil {
			if depth > 0 {
				return nil, s.alarm(LogAlarm{What: "the server's log changed history again while this laptop read it: " + err.Error(), Kept: kept, Offered: resp.Checkpoint})
			}
			// Proof of the server's two histories (or of a restore from a
			// backup, which looks the same): kept, and shown until someone
			// looks into it. The device then follows the log it is shown,
			// from its first entry, so that what comes next is checked.
			alarm := s.alarm(LogAlarm{What: "the server's log does not extend what this laptop saw before (a fork, a rollback, or the server restored from a backup): " + err.Error(),
				Kept: kept, Offered: resp.Checkpoint})
			if err := s.v.ResetFollow(); err != nil {
				return nil, err
			}
			if err := s.logForked(); err != nil { // it may have lost what it acknowledged (rollback.go)
				return nil, err
			}
			lr, err := s.readLogAt(ctx, sum, depth+1)
			if err != nil && !errors.Is(err, ErrLogAlarm) {
				return lr, err
			}
			return lr, alarm // the root cause; anything the new log showed wrong is kept too
		}
	}
	if !following {
		// From the first entry: a laptop enrolled today must see the
		// statements (a revocation above all) and the history of the
		// cases it may be given, as much as one enrolled on day one.
		if err := s.v.StartFollow(transparency.Frontier{}); err != nil {
			return nil, err
		}
		if follow, _, err = s.v.Follow(); err != nil {
			return nil, err
		}
	}
	sum.LogSize, sum.Witnesses = cp.Size, len(witnesses)
	entries, next, err := s.follow(ctx, follow.Frontier, cp)
	if err != nil {
		return nil, err
	}
	if err := s.v.AddFollowed(entries, next); err != nil {
		return nil, err
	}
	if err := s.v.SetCheckpoint(resp.Checkpoint); err != nil {
		return nil, err
	}
	return &logRound{cp: cp, signed: resp.Checkpoint, start: follow.Start}, nil
}

// follow reads the log's entries from the frontier's size to the
// checkpoint's and checks that they hash to its root.
func (s *Syncer) follow(ctx context.Context, fr transparency.Frontier, cp transparency.Checkpoint) ([]store.Followed, transparency.Frontier, error) {
	if cp.Size < fr.Size {
		return nil, fr, s.alarm(LogAlarm{What: fmt.Sprintf("the server's log shrank from the %d entries this laptop read to %d", fr.Size, cp.Size)})
	}
	if cp.Size == fr.Size {
		return nil, fr, nil
	}
	next := transparency.Frontier{Size: fr.Size, Nodes: slices.Clone(fr.Nodes)}
	var out []store.Followed
	for next.Size < cp.Size {
		got, err := s.c.Entries(ctx, next.Size, min(cp.Size, next.Size+protocol.MaxEntries))
		if err != nil {
			return nil, fr, err
		}
		for _, w := range got {
			var f store.Followed
			switch {
			case w.Entry != nil:
				e, err := transparency.UnmarshalEntry(w.Entry)
				if err != nil {
					return nil, fr, s.alarm(LogAlarm{What: fmt.Sprintf("the log's entry %d does not decode: %v", next.Size, err)})
				}
				f.Entry = &e
			default:
				l, err := transparency.ParseLeaf(w.Leaf)
				if err != nil {
					return nil, fr, s.alarm(LogAlarm{What: fmt.Sprintf("the log's leaf %d does not decode: %v", next.Size, err)})
				}
				if l.Entry != nil {
					f.Entry = l.Entry
				} else {
					// A leaf of a case this laptop reads is the server's
					// word that it no longer may (a supervisor took it off
					// the case, the signed key change on its way): its
					// revision is owed all the same until that change
					// comes (store.LogFindings).
					f.Leaf = &l
				}
			}
			next.Append(f.Hash())
			out = append(out, f)
		}
	}
	if err := next.Matches(cp); err != nil {
		return nil, fr, s.alarm(LogAlarm{What: "the entries the server handed out are not the log it signed: " + err.Error()})
	}
	return out, next, nil
}

// checkLogged checks that what this round pushed and pulled is in the log
// where the server said, and keeps the places (and receipts) so checked.
func (s *Syncer) checkLogged(ctx context.Context, start int64, cp transparency.Checkpoint, signed transparency.Signed, sum *Summary) error {
	var proofs []logged
	places := make([]store.Place, len(s.logged))
	for i, l := range s.logged {
		places[i] = store.Place{CaseID: l.rev.CaseID, Index: l.index}
	}
	leaves, found := s.v.LeavesAt(places)
	for i, l := range s.logged {
		want := transparency.RevisionEntry(l.rev)
		switch {
		case l.index >= cp.Size || l.index < 0:
			return s.alarm(LogAlarm{What: fmt.Sprintf("the server placed revision %s at entry %d of a log of %d", l.rev.Rev.Short(), l.index, cp.Size), Offered: signed})
		case l.index >= start:
			if !found[i] || leaves[i] != want.Hash() {
				return s.alarm(LogAlarm{What: fmt.Sprintf("the log's entry %d is not revision %s, as the server said", l.index, l.rev.Rev.Short()), Offered: signed})
			}
			sum.Proved++
		default:
			proofs = append(proofs, l)
		}
	}
	for start := 0; start < len(proofs); start += protocol.MaxProofs {
		batch := proofs[start:min(start+protocol.MaxProofs, len(proofs))]
		idx := make([]int64, len(batch))
		for i, l := range batch {
			idx[i] = l.index
		}
		pr, err := s.c.Proofs(ctx, cp.Size, idx)
		if err != nil {
			return err
		}
		for i, l := range batch {
			want := transparency.RevisionEntry(l.rev)
			got, err := transparency.UnmarshalEntry(pr.Entries[i])
			if err != nil || !got.SameRevision(want) {
				return s.alarm(LogAlarm{What: fmt.Sprintf("the log's entry %d is not revision %s, as the server said", l.index, l.rev.Rev.Short()), Offered: signed})
			}
			if err := transparency.CheckInclusion(cp, l.index, want, pr.Proofs[i]); err != nil {
				return s.alarm(LogAlarm{What: fmt.Sprintf("revision %s is not in the log the server signed: %v", l.rev.Rev.Short(), err), Offered: signed})
			}
		}
		sum.Proved += len(batch)
	}
	ls := make([]store.Logged, len(s.logged))
	for i, l := range s.logged {
		ls[i] = store.Logged{CaseID: l.rev.CaseID, RecordID: l.rev.RecordID, Rev: l.rev.Rev, Index: l.index, Receipt: l.receipt}
	}
	if err := s.v.PutLogged(ls); err != nil {
		return err
	}
	s.logged = nil
	return nil
}

// describeFindings words what the log shows the server withheld or forged.
func describeFindings(ws []store.Withheld) string {
	var b strings.Builder
	fmt.Fprintf(&b, "the server's log and what it handed this laptop differ in %d place%s:", len(ws), map[bool]string{true: "", false: "s"}[len(ws) == 1])
	for i, w := range ws {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(ws)-5)
			break
		}
		switch w.Entry.Kind {
		case transparency.KindStatement:
			if w.Index < 0 { // not in the log at all
				fmt.Fprintf(&b, " statement %.12s: %s;", w.Entry.Statement, w.Reason)
				break
			}
			fmt.Fprintf(&b, " entry %d, statement %.12s: %s;", w.Index, w.Entry.Statement, w.Reason)
		case transparency.KindAuditHead:
			fmt.Fprintf(&b, " entry %d: %s;", w.Index, w.Reason)
		default:
			fmt.Fprintf(&b, " entry %d, %s %s of case %s by device %s: %s;", w.Index, w.Entry.RecKind, w.Entry.Rev.Short(), w.Entry.CaseID, w.Entry.Device, w.Reason)
		}
	}
	return strings.TrimSuffix(b.String(), ";")
}

// witness cosigns a checkpoint this device checked and sends it: with two
// honest witnesses' signatures on different trees of one size, the server's
// lie is proven.
func (s *Syncer) witness(ctx context.Context, cp transparency.Signed) error {
	id, err := s.v.Identity()
	if err != nil {
		return err
	}
	w, err := transparency.WitnessSigner(s.v.DeviceID(), id.SigningPublicKey(), id.Sign)
	if err != nil {
		return err
	}
	cosigned, err := transparency.Cosign(cp, w)
	if err != nil {
		return err
	}
	return s.c.Witness(ctx, cosigned)
}

// witnessVerifiers are the supervisors' devices the roster vouches for.
func (s *Syncer) witnessVerifiers() []note.Verifier {
	r := s.v.Roster()
	if r == nil {
		return nil
	}
	var out []note.Verifier
	for _, d := range r.Devices {
		if u, ok := r.Users[d.User]; ok && u.Role == trust.RoleSupervisor && !d.Revoked {
			if v, err := transparency.WitnessVerifier(d.ID, d.SigningKey); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// checkReceipts checks a push answer's receipts for the revisions it
// acknowledged (all at once: a batch of signatures) and notes each
// revision's place in the log. It reports, per revision, whether its
// receipt holds: one without (a server with a log that takes a revision
// without a receipt could say it stored what it dropped) stays in the
// outbox, and the user is told.
func (s *Syncer) checkReceipts(revs []*record.Revision, rs []*transparency.Receipt) ([]bool, error) {
	ok := make([]bool, len(revs))
	logKey := s.logKey()
	if logKey == "" {
		for i := range ok {
			ok[i] = true
		}
		return ok, nil
	}
	var batch []transparency.Receipt
	var at []int
	var finding error
	for i, r := range rs {
		switch {
		case r == nil:
			finding = cmp.Or(finding, s.alarm(LogAlarm{What: fmt.Sprintf("the server acknowledged revision %s without a signed receipt", revs[i].Rev.Short())}))
		case r.Rev != revs[i].Rev:
			finding = cmp.Or(finding, s.alarm(LogAlarm{What: fmt.Sprintf("the server's receipt for %s names revision %s", revs[i].Rev.Short(), r.Rev.Short())}))
		default:
			batch, at = append(batch, *r), append(at, i)
		}
	}
	valid, err := transparency.VerifyReceipts(logKey, batch)
	if err != nil {
		return nil, err
	}
	for k, i := range at {
		if !valid[k] {
			finding = cmp.Or(finding, s.alarm(LogAlarm{What: fmt.Sprintf("the server's receipt for %s does not verify", revs[i].Rev.Short())}))
			continue
		}
		ok[i] = true
		s.logged = append(s.logged, logged{rev: revs[i], index: rs[i].Index, receipt: rs[i]})
	}
	return ok, s.soft(finding)
}

// heads are audit heads to anchor, as the vault and the wire have them.
type heads struct {
	local []store.AuditHead
	wire  []protocol.AuditHead
}

// auditHeads signs this device's audit heads that moved since they were
// last anchored.
func (s *Syncer) auditHeads() (heads, error) {
	var h heads
	if s.logKey() == "" {
		return h, nil
	}
	hs, err := s.v.AuditHeadsToAnchor()
	if err != nil || len(hs) == 0 {
		return h, err
	}
	id, err := s.v.Identity()
	if err != nil {
		return h, err
	}
	for _, a := range hs {
		h.local = append(h.local, a)
		h.wire = append(h.wire, protocol.AuditHead{CaseID: a.CaseID, Seq: a.Seq, Hash: a.Hash,
			Sig: id.Sign(transparency.AuditHeadMessage(s.v.DeviceID(), a.CaseID, a.Seq, a.Hash))})
	}
	return h, nil
}

// ProvedEntry is a revision's place in the log, proved.
type ProvedEntry struct {
	Index   int64
	Proof   transparency.Proof    // inclusion of the revision's entry in the checkpoint's tree
	Receipt *transparency.Receipt // the server's receipt, when this device pushed it
}

// LogEvidence is what the server's log proves of a case's revisions, for a
// court bundle: one checkpoint this device audited, and against it each
// revision's place and inclusion proof.
type LogEvidence struct {
	LogKey     string
	Checkpoint transparency.Signed
	Entries    map[record.RevID]ProvedEntry
}

// Evidence syncs a round (so that the checkpoint is fresh and audited, and
// every place in the log checked), then proves each of revs whose place is
// known against that checkpoint. A revision the log does not hold (written
// before the server kept one) is left out. Any proof that fails is a log
// alarm, as in a round.
func (s *Syncer) Evidence(ctx context.Context, caseID string, revs []record.RevID) (*LogEvidence, error) {
	var ev evidenceVault = s.v
	logKey := s.logKey()
	if logKey == "" {
		return nil, nil
	}
	if _, err := s.Sync(ctx, nil); err != nil {
		return nil, err
	}
	signed, err := s.v.Checkpoint()
	if err != nil || signed == nil {
		return nil, err
	}
	cp, _, err := transparency.Open(signed, logKey)
	if err != nil {
		return nil, s.alarm(LogAlarm{What: "the checkpoint this laptop kept no longer verifies: " + err.Error()})
	}
	want := map[record.RevID]bool{}
	for _, r := range revs {
		want[r] = true
	}
	byRev := map[record.RevID]*record.Revision{}
	if err := ev.AllRevisions(func(r *record.Revision) error {
		if r.CaseID == caseID && want[r.Rev] {
			c := *r
			byRev[r.Rev] = &c
		}
		return nil
	}); err != nil {
		return nil, err
	}
	receipts := map[record.RevID]*transparency.Receipt{}
	rs, err := ev.Receipts(caseID)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		receipts[rs[i].Rev] = &rs[i].Receipt
	}
	out := &LogEvidence{LogKey: logKey, Checkpoint: signed, Entries: map[record.RevID]ProvedEntry{}}
	var todo []*record.Revision
	var idx []int64
	for _, r := range revs {
		rev, ok := byRev[r]
		if !ok {
			continue
		}
		if i, ok := ev.LogIndex(r); ok && i < cp.Size {
			todo, idx = append(todo, rev), append(idx, i)
		}
	}
	for start := 0; start < len(todo); start += protocol.MaxProofs {
		end := min(start+protocol.MaxProofs, len(todo))
		pr, err := s.c.Proofs(ctx, cp.Size, idx[start:end])
		if err != nil {
			return nil, err
		}
		for i, rev := range todo[start:end] {
			e := transparency.RevisionEntry(rev)
			if err := transparency.CheckInclusion(cp, idx[start+i], e, pr.Proofs[i]); err != nil {
				return nil, s.alarm(LogAlarm{What: fmt.Sprintf("revision %s is not in the log the server signed: %v", rev.Rev.Short(), err), Offered: signed})
			}
			out.Entries[rev.Rev] = ProvedEntry{Index: idx[start+i], Proof: pr.Proofs[i], Receipt: receipts[rev.Rev]}
		}
	}
	return out, nil
}

// resendUnlogged sends the server again the statements among unlogged
// that this laptop signed and sends itself (holds, releases, approvals,
// revocations), and returns those it took. A server restored from a backup
// lost them honestly and takes them back, so the next round finds them
// logged; the round that finds them missing is an alarm all the same, as
// the laptop cannot tell a restore from a server that threw them away (and
// one that throws them away again stays an alarm).
func (s *Syncer) resendUnlogged(ctx context.Context, unlogged []string) (map[string]bool, error) {
	if len(unlogged) == 0 {
		return nil, nil
	}
	ss, err := s.v.Statements()
	if err != nil {
		return nil, err
	}
	byID := make(map[string]trust.Signed, len(ss))
	for _, sg := range ss {
		byID[sg.ID()] = sg
	}
	me := trust.SignerDevice(s.v.DeviceID())
	out := map[string]bool{}
	for _, id := range unlogged {
		sg, ok := byID[id]
		if !ok || sg.Signer != me {
			continue // another's: its signer sends it
		}
		st, err := sg.Open()
		if err != nil {
			continue
		}
		switch st.Kind {
		case trust.KindHold, trust.KindRelease, trust.KindDestroy:
			_, err = s.c.Lifecycle(ctx, sg)
		case trust.KindRevoke:
			err = s.c.Revoke(ctx, sg)
		default:
			continue
		}
		switch {
		case err == nil:
			out[id] = true
		case ctx.Err() != nil:
			return out, ctx.Err()
		}
		// Refused or failed: the alarm stands and says what the log
		// lacks (a server cannot hide it by failing the resend).
	}
	return out, nil
}
