package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// Progress reports a long transfer.
type Progress struct {
	Phase string // "push", "pull" or "repair"
	Done  int    // revisions so far in this phase
	Total int    // known total (push), or 0 when unknown (pull)
}

// Summary is what one sync round did.
type Summary struct {
	Pushed, Pulled, Rejected, Keyrings, Repaired int
	BlobsUp, BlobsDown                           int // audio chunks uploaded and downloaded
	Skipped                                      int // pulled revisions this vault refused as invalid
	Quarantined                                  int // pulled revisions refused: signature or right to write
	Released                                     int // quarantined revisions that passed once more was known
	Rotated                                      int // cases given a new key epoch (a device was revoked)
	// Restored counts this device's own revisions taken back from the
	// server: the vault was behind it (restored from a backup).
	Restored int
	// Pre-keys (prekeys.go): whether this round published one, why the
	// server refused it, how many expired, and keyrings sent to this
	// laptop that only an expired one opened.
	PreKeyPublished bool
	PreKeyRefused   string
	PreKeysExpired  int
	Unopenable      []store.UnopenableKeyring
	// Removed lists the cases taken away from this laptop's user (signed
	// keyrings said so) whose local copy this round removed: everything of
	// them was on the server, receipted.
	Removed []store.Reassignment
	// Destroyed lists the cases this round destroyed here (retention.go).
	Destroyed []store.Destroyed
	// Resent counts statements this laptop signed (holds, releases,
	// approvals, revocations) that the server's log lacked and that it sent
	// again: after an honest restore from a backup the server takes them
	// back; a server that throws them away again stays an alarm.
	Resent int
	// Escrow is what the round did with the escrow service (escrow.go).
	Escrow EscrowStatus
	// Trust is what new signed statements changed: who receives case keys.
	Trust store.TrustChanges
	// The log: its size at the checkpoint this round checked, how many
	// witnesses had cosigned it, how many of the round's revisions were
	// proven in it.
	LogSize   int64
	Witnesses int
	Proved    int
	Duration  time.Duration
}

// Syncer runs sync rounds for one vault against one server.
type Syncer struct {
	c        *Client
	v        Vault
	self     string // this device's recipient, for the keyring set
	userID   string
	role     protocol.Role // the enrolled user's role ("" when unknown)
	pushSize int
	pullSize int
	rollback bool            // this round found the vault behind the server
	reused   bool            // … and that it gave numbers the server held again
	rotated  map[string]bool // cases given a new key epoch this round
	logged   []logged        // revisions this round pushed or pulled, with their log places
	alarmed  error           // the round's first finding against the log (ErrLogAlarm), told at its end
	held     []string        // the statements the vault held when the round began: the log must hold each by its end
	noLog    bool            // skip the log's checks (set only by benchmarks, for a baseline)

	// Pre-key periods (prekeys.go); zero: the defaults.
	preKeyRotate, backupRetention time.Duration

	// The server going back on what it acknowledged (rollback.go).
	serverAcked      uint64 // the highest acked_seq it gave (the mark)
	serverLost       bool   // this round found it below the mark, or its log forked
	didRepair        bool   // this round ran repair
	lostFrom, lostTo uint64 // the mark and what the server said
}

// NewSyncer makes a syncer. self is this device's age recipient; userID is
// the enrolled user (their other devices get the keys too).
func NewSyncer(c *Client, v Vault, self, userID string) *Syncer {
	return &Syncer{c: c, v: v, self: self, userID: userID, pushSize: protocol.MaxPushRevisions, pullSize: protocol.MaxPullLimit}
}

// Sync runs one round: push the outbox, pull every change, and, when the
// roster changed, rewrap case keys for it and push those keyrings too.
// progress may be nil.
func (s *Syncer) Sync(ctx context.Context, progress func(Progress)) (Summary, error) {
	start := time.Now()
	var sum Summary
	if progress == nil {
		progress = func(Progress) {}
	}
	s.rollback, s.reused, s.rotated, s.logged, s.alarmed = false, false, nil, nil, nil
	if err := s.beginAckWatch(); err != nil {
		return sum, err
	}
	s.held = nil
	if s.logKey() != "" {
		var err error
		if s.held, err = s.v.StatementIDs(); err != nil {
			return sum, err
		}
	}
	// The log first: the roster fetched below is held against every
	// statement it holds (a revocation the server would rather keep from a
	// new laptop shows there).
	if _, err := s.readLog(ctx, &sum); s.soft(err) != nil {
		return sum, err
	}
	// A vault that never fetched the roster gets it first, so that what it
	// pulls can be checked against it at once.
	if s.v.RosterVersion() == 0 {
		if err := s.soft(s.roster(ctx, &sum)); err != nil {
			return sum, err
		}
	}
	// Push, then the audio, then the manifests that waited for it: a case
	// must exist on the server before its chunks, and a manifest goes up
	// only after all its chunks (the server answers missing_blob till then).
	err := s.push(ctx, &sum, progress)
	if errors.Is(err, ErrGone) {
		err = s.repair(ctx, &sum, progress)
	}
	if err == nil {
		err = uploadBlobs(ctx, s.c, s.v, &sum, progress)
	}
	if err == nil && s.v.OutboxLen() > 0 {
		err = s.push(ctx, &sum, progress)
	}
	if err != nil {
		return sum, err
	}
	hdr, err := s.pull(ctx, &sum, progress)
	if errors.Is(err, ErrGone) {
		if err = s.repair(ctx, &sum, progress); err == nil {
			hdr, err = s.pull(ctx, &sum, progress)
		}
	}
	if err == nil {
		err = s.repairIfLost(ctx, &sum, progress, &hdr)
	}
	if err != nil {
		return sum, err
	}
	if s.reused || hdr.DeviceMaxSeq > s.v.LastSeq() {
		if err := s.restoreOwn(ctx, &sum, hdr.DeviceMaxSeq); err != nil {
			return sum, err
		}
	}
	// A server without roster versions (0) gets the roster every round.
	if hdr.RosterVersion == 0 || hdr.RosterVersion != s.v.RosterVersion() {
		rerr := s.roster(ctx, &sum)
		if err := s.soft(rerr); err != nil {
			return sum, err
		}
		if s.v.OutboxLen() > 0 {
			if err := s.push(ctx, &sum, progress); err != nil {
				return sum, err
			}
		}
		if rerr == nil { // a roster missing a logged statement is asked for again next round
			if err := s.v.SetRosterVersion(hdr.RosterVersion); err != nil {
				return sum, err
			}
		}
	}
	// While the roster lacks a statement the log holds (a revocation kept
	// from this laptop, say), it wraps no case key to anyone: not for a
	// rotation, not for a typist, not for a completed reassignment.
	missing, err := s.v.MissingStatements()
	if err != nil {
		return sum, err
	}
	wraps := len(missing) == 0
	if !wraps {
		s.soft(s.alarm(LogAlarm{What: describeFindings(missing)}))
	}
	if released, _, err := s.v.RecheckQuarantine(); err != nil {
		return sum, err
	} else {
		sum.Released += released
	}
	if wraps {
		if err := s.rotatePreKey(ctx, &sum); err != nil {
			return sum, err
		}
		if err := s.rotations(hdr.Rotations, &sum); err != nil {
			return sum, err
		}
	}
	if err := downloadBlobs(ctx, s.c, s.v, &sum, progress); err != nil {
		return sum, err
	}
	if wraps {
		if err := s.transcriptions(ctx); err != nil {
			return sum, err
		}
		if s.role == protocol.RoleSupervisor {
			if err := s.completeRotations(ctx); err != nil {
				return sum, err
			}
		}
	}
	if s.v.OutboxLen() > 0 { // keyrings shared with typists or rotated
		if err := s.push(ctx, &sum, progress); err != nil {
			return sum, err
		}
	}
	if err := s.soft(s.auditLog(ctx, &sum)); err != nil {
		return sum, err
	}
	// Only after a round the log found nothing wrong with: a copy is
	// removed on signed keyrings and the log's receipts, never on a round
	// in which the server was caught out.
	if s.alarmed == nil {
		removed, err := s.v.RemoveReassigned()
		if err != nil {
			return sum, err
		}
		sum.Removed = removed
	}
	if err := s.destroy(ctx, &sum); err != nil {
		return sum, err
	}
	if err := s.escrow(ctx, &sum); err != nil {
		return sum, err
	}
	// Pre-keys expire only after a round that found nothing wrong and
	// holds every statement the log does (prekeys.go).
	if err := s.expirePreKeys(&sum, s.alarmed == nil && wraps && s.logKey() != ""); err != nil {
		return sum, err
	}
	sum.Duration = time.Since(start)
	if err := s.v.SetLastSync(time.Now()); err != nil {
		return sum, err
	}
	// The round moved what it could; what the log showed wrong is told. A
	// round that found nothing clears the last alarm (the proof of a fork
	// stays: LogForkKey).
	if s.alarmed == nil && s.logKey() != "" {
		if err := s.v.DeleteLocal(LogAlarmKey); err != nil {
			return sum, err
		}
	}
	if s.alarmed == nil && len(sum.Unopenable) > 0 {
		return sum, unopenableError(sum.Unopenable)
	}
	return sum, s.alarmed
}

// push sends the outbox in batches, oldest first. An entry leaves the outbox
// only when the server acknowledges it (stored, present, or refused for
// good); a permanent refusal is kept for the user and never blocks the rest.
func (s *Syncer) push(ctx context.Context, sum *Summary, progress func(Progress)) error {
	total := -1
	for stalled := 0; ; {
		revs, err := s.v.Outbox(s.pushSize)
		if err != nil {
			return err
		}
		if len(revs) == 0 {
			return nil
		}
		if total < 0 {
			all, err := s.v.Outbox(0)
			if err != nil {
				return err
			}
			total = len(all)
		}
		blobs, err := blobsFor(s.v, revs)
		if err != nil {
			return err
		}
		hdr := protocol.PushHeader{Blobs: blobs}
		heads, err := s.auditHeads()
		if err != nil {
			return err
		}
		hdr.AuditHeads = heads.wire
		resp, err := s.c.PushWith(ctx, revs, hdr)
		if err != nil {
			return err
		}
		if err := s.v.MarkAnchored(heads.local); err != nil {
			return err
		}
		var acked []uint64
		var rejected []store.Rejection
		var rejectedSeqs []uint64
		missingParent, missingBlob, receiptless := false, false, false
		noReceipt := uint64(math.MaxUint64) // the lowest number acknowledged without a receipt
		var ackRevs []*record.Revision
		var ackReceipts []*transparency.Receipt
		for i, r := range resp.Results {
			if r.Acknowledged() && !(r.Status == protocol.StatusRejected && r.Permanent) {
				ackRevs, ackReceipts = append(ackRevs, revs[i]), append(ackReceipts, r.Receipt)
			}
		}
		receipted, err := s.checkReceipts(ackRevs, ackReceipts)
		if err != nil {
			return err
		}
		nAck := 0
		for i, r := range resp.Results {
			switch {
			case r.Status == protocol.StatusRejected && r.Permanent:
				rejected = append(rejected, store.Rejection{Rev: r.Rev, RecordID: revs[i].RecordID, CaseID: revs[i].CaseID,
					Kind: revs[i].Kind, Reason: r.Reason, At: time.Now().UTC()})
				rejectedSeqs = append(rejectedSeqs, revs[i].Seq)
			case r.Acknowledged():
				// Without a receipt that verifies, the revision stays in
				// the outbox (the server may have dropped it) and the
				// user is told (checkReceipts).
				ok := receipted[nAck]
				nAck++
				if !ok {
					receiptless = true
					noReceipt = min(noReceipt, revs[i].Seq)
					continue
				}
				acked = append(acked, revs[i].Seq)
			case r.Status == protocol.StatusMissingParent:
				missingParent = true
			case r.Status == protocol.StatusMissingBlob:
				missingBlob = true // its audio goes up next; then it is pushed again
			}
		}
		if len(rejected) > 0 {
			if err := s.v.Reject(rejected, rejectedSeqs); err != nil {
				return err
			}
			sum.Rejected += len(rejected)
		}
		if len(resp.SeqReused) > 0 {
			s.rollback, s.reused = true, true
		}
		if err := s.noteAcked(resp.AckedSeq); err != nil {
			return err
		}
		upTo := s.safeAck(resp.AckedSeq)
		if receiptless && upTo >= noReceipt {
			upTo = noReceipt - 1 // the server's contiguous word does not clear what it gave no receipt for
		}
		if err := s.v.Acknowledge(upTo, acked...); err != nil {
			return err
		}
		sum.Pushed += len(acked)
		progress(Progress{Phase: "push", Done: sum.Pushed + sum.Rejected, Total: total})
		if receiptless {
			return nil // the rest waits for a server that gives receipts; the alarm is told
		}
		if len(acked)+len(rejected) == 0 {
			if missingBlob && !missingParent {
				return nil // manifests waiting for their audio
			}
			// Nothing moved: a parent the server lost (restored from a
			// backup) or a transient refusal. Repair once, then give up
			// for this round rather than spin.
			if stalled++; stalled > 1 || !missingParent {
				return fmt.Errorf("push made no progress: %d revisions waiting", len(revs))
			}
			if err := s.repair(ctx, sum, progress); err != nil {
				return err
			}
		}
	}
}

// pull fetches pages until the server has no more; each page is applied with
// its cursor in one transaction. It returns the last page's header.
func (s *Syncer) pull(ctx context.Context, sum *Summary, progress func(Progress)) (protocol.PullHeader, error) {
	cursor, err := s.v.Cursor()
	if err != nil {
		return protocol.PullHeader{}, err
	}
	for {
		hdr, revs, err := s.c.Pull(ctx, cursor, s.pullSize)
		if err != nil {
			return hdr, err
		}
		if hdr.DeviceMaxSeq > s.v.LastSeq() {
			s.rollback = true
		}
		if err := s.noteAcked(hdr.AckedSeq); err != nil {
			return hdr, err
		}
		// A server with a log says where each revision is in it; the
		// round's audit checks that it is (auditLog). One that does not
		// say hands over what nobody could later prove it held.
		if s.logKey() != "" && len(hdr.Indexes) != len(revs) {
			// Taken on their own merits (a revision whose standing
			// depends on its place waits in quarantine), and told.
			s.soft(s.alarm(LogAlarm{What: fmt.Sprintf("the server handed over %d revisions without saying where its log holds them (%d places)", len(revs), len(hdr.Indexes))}))
		}
		res, err := s.v.ApplyPage(revs, hdr.NextCursor, s.safeAck(hdr.AckedSeq))
		if err != nil {
			return hdr, err
		}
		if len(hdr.Indexes) == len(revs) {
			for i, r := range revs {
				s.logged = append(s.logged, logged{rev: r, index: hdr.Indexes[i]})
			}
		}
		sum.Pulled += res.New
		sum.Skipped += res.Skipped
		sum.Quarantined += res.Quarantined
		if res.Destroyed > 0 {
			s.soft(s.alarm(LogAlarm{What: fmt.Sprintf("the server still serves %d revisions of cases destroyed under the retention policy", res.Destroyed)}))
		}
		progress(Progress{Phase: "pull", Done: sum.Pulled})
		cursor = hdr.NextCursor
		if !hdr.HasMore {
			return hdr, nil
		}
	}
}

// safeAck is the server's contiguous acknowledgement as far as it may clear
// the outbox. A server acknowledging numbers this vault never gave out
// means the vault was restored from a backup and may have given those
// numbers again to new revisions: then only per-item answers count, until
// the vault has caught up (restoreOwn).
func (s *Syncer) safeAck(acked uint64) uint64 {
	if s.rollback || acked > s.v.LastSeq() {
		s.rollback = true
		return 0
	}
	return acked
}

// restoreOwn takes back this device's own revisions that its vault lost
// (it is behind what the server holds from it: a restored backup), checks
// each carries this device's signature, raises the sequence counter past
// every number the server holds, pushes whatever the vault wrote since
// with its own answers, and remembers that this happened, to tell the user.
func (s *Syncer) restoreOwn(ctx context.Context, sum *Summary, serverMax uint64) error {
	from := s.v.LastSeq()
	// A vault that gave numbers again (it wrote after the restore, before
	// this sync) cannot tell which of its numbers the server holds other
	// revisions under: it takes back all of its own.
	after := from
	if s.reused {
		after = 0
	}
	var produced uint64
	for {
		revs, more, err := s.c.Own(ctx, after)
		if err != nil {
			return err
		}
		n, err := s.v.ApplyOwn(revs) // each must carry this device's signature
		if err != nil {
			return err
		}
		sum.Restored += n
		for _, r := range revs {
			after = max(after, r.Seq)
			produced = max(produced, r.Seq)
		}
		if !more || len(revs) == 0 {
			break
		}
	}
	// The counter goes past what the server showed, signed by this device:
	// a server claiming more than it can show does not push it further.
	if err := s.v.RaiseSeq(produced); err != nil {
		return err
	}
	note, _ := json.Marshal(RollbackNote{At: time.Now().UTC(), VaultSeq: from, ServerSeq: serverMax, Shown: produced, Restored: sum.Restored})
	if err := s.v.PutLocal(RollbackKey, note); err != nil {
		return err
	}
	var again Summary
	return s.push(ctx, &again, func(Progress) {})
}

// RollbackKey is where the vault remembers that it was found behind the
// server (restored from a backup), for the user to see.
const RollbackKey = "rollback"

// RollbackNote says when a vault was found behind the server, and what was
// done about it.
type RollbackNote struct {
	At        time.Time `json:"at"`
	VaultSeq  uint64    `json:"vault_seq"`  // the vault's own counter then
	ServerSeq uint64    `json:"server_seq"` // the highest of this device's numbers the server said it held
	Shown     uint64    `json:"shown"`      // the highest it showed, signed by this device
	Restored  int       `json:"restored"`   // own revisions taken back
}

// repair runs after the server's history was reset (410): pull again from
// the beginning, and push back every revision of this device the server
// lacks, though it had acknowledged them before. The outbox is kept.
func (s *Syncer) repair(ctx context.Context, sum *Summary, progress func(Progress)) error {
	s.didRepair = true
	if err := s.v.ResetCursor(); err != nil {
		return err
	}
	mine, err := s.v.DeviceRevisions() // in sequence order: parents first
	if err != nil {
		return err
	}
	byRev := make(map[record.RevID]*record.Revision, len(mine))
	for _, r := range mine {
		byRev[r.Rev] = r
	}
	var missing []*record.Revision
	for chunk := range slices.Chunk(mine, protocol.MaxDiffRevs) {
		ids := make([]record.RevID, len(chunk))
		for i, r := range chunk {
			ids[i] = r.Rev
		}
		lacks, err := s.c.RevsDiff(ctx, ids)
		if err != nil {
			return err
		}
		for _, id := range lacks {
			if r := byRev[id]; r != nil {
				missing = append(missing, r)
			}
		}
	}
	// Parents before children: this device's sequence order.
	slices.SortFunc(missing, func(a, b *record.Revision) int { return cmp.Compare(a.Seq, b.Seq) })
	// The restored server may have lost the audio of recordings it lost.
	for _, r := range missing {
		if r.Kind == record.KindRecording {
			if err := s.v.RequeueRecordingBlobs(r.CaseID, r.RecordID); err != nil {
				return err
			}
		}
	}
	if err := uploadBlobs(ctx, s.c, s.v, sum, progress); err != nil {
		return err
	}
	for chunk := range slices.Chunk(missing, s.pushSize) {
		blobs, err := blobsFor(s.v, chunk)
		if err != nil {
			return err
		}
		if _, err := s.c.Push(ctx, chunk, blobs); err != nil {
			return err
		}
		sum.Repaired += len(chunk)
		progress(Progress{Phase: "repair", Done: sum.Repaired, Total: len(missing)})
	}
	return nil
}

// roster fetches the server's signed statements and keeps those the vault
// has not seen (a server can withhold a statement but never take back one
// the vault holds); the roster they prove decides who case keys are wrapped
// to from now on. What changed is kept for the user. A server presenting
// another agency key than the pinned one is refused loudly.
func (s *Syncer) roster(ctx context.Context, sum *Summary) error {
	r, err := s.c.Roster(ctx)
	if err != nil {
		return err
	}
	agency, err := trust.ParseAgencyKey(r.Agency)
	if err != nil || !agency.Equal(s.v.Agency()) {
		return store.ErrAgencyMismatch
	}
	changes, err := s.v.AddStatements(r.Statements)
	if err != nil {
		return err
	}
	sum.Trust = mergeChanges(sum.Trust, changes)
	// Every statement the log holds must be on the roster: one kept from
	// this laptop (a revocation, say) would have it trust a device it
	// should not, and wrap case keys to it. Nothing is wrapped until it
	// comes.
	if missing, err := s.v.MissingStatements(); err != nil {
		return err
	} else if len(missing) > 0 {
		return s.alarm(LogAlarm{What: describeFindings(missing)})
	}
	// A laptop revoked since: the keys this device wrapped to it (perhaps
	// while the revocation was on its way) get a new epoch now, whatever
	// the server's list of rotations owed says.
	if len(changes.Revoked) > 0 {
		var fps []string
		for _, d := range changes.Revoked {
			fps = append(fps, d.Fingerprint)
		}
		cases, err := s.v.CasesWrappedTo(fps)
		if err != nil {
			return err
		}
		if err := s.rotations(cases, sum); err != nil {
			return err
		}
	}
	if !changes.Empty() {
		js, _ := json.Marshal(TrustNotice{At: time.Now().UTC(), Changes: changes})
		if err := s.v.PutLocal(TrustNoticeKey, js); err != nil {
			return err
		}
	}
	n, err := s.v.ExtendKeyrings()
	sum.Keyrings += n
	return err
}

func mergeChanges(a, b store.TrustChanges) store.TrustChanges {
	a.NewDevices = append(a.NewDevices, b.NewDevices...)
	a.Revoked = append(a.Revoked, b.Revoked...)
	if b.NewRecovery != "" {
		a.NewRecovery = b.NewRecovery
	}
	a.Problems = append(a.Problems, b.Problems...)
	return a
}

// TrustNoticeKey is where the last change of who receives case keys is kept,
// for the user to see until they have.
const TrustNoticeKey = "trust-notice"

// TrustNotice is the last change of who receives case keys.
type TrustNotice struct {
	At      time.Time          `json:"at"`
	Changes store.TrustChanges `json:"changes"`
}

// rotations starts a new key epoch for each case the server says is owed
// one (a device that held its key was revoked) where this device holds the
// newest key and may start an epoch; the new keyring leaves out every
// revoked device, as the roster proves them. The server's list only says
// where to look: what is wrapped to whom is decided here.
func (s *Syncer) rotations(owed []string, sum *Summary) error {
	if len(owed) == 0 {
		return nil
	}
	held := s.v.HeldCases()
	for _, caseID := range owed {
		if !slices.Contains(held, caseID) || s.rotated[caseID] {
			continue // not ours, or rotated already this round
		}
		if _, err := s.v.RotateCaseKey(caseID, nil); err != nil {
			if errors.Is(err, trust.ErrNotAllowed) || errors.Is(err, store.ErrNotAllowed) {
				continue // not ours to rotate
			}
			return err
		}
		if err := s.v.Audit(caseID, record.AuditKeyRotate, "new case key after a device was revoked"); err != nil {
			return err
		}
		if s.rotated == nil {
			s.rotated = map[string]bool{}
		}
		s.rotated[caseID] = true
		sum.Rotated++
	}
	return nil
}
