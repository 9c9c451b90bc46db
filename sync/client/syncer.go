package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// Vault is what the syncer needs of the device vault; *store.Vault has it.
type Vault interface {
	DeviceID() string
	Outbox(limit int) ([]*record.Revision, error)
	Acknowledge(upTo uint64, seqs ...uint64) error
	Reject(rs []store.Rejection, seqs []uint64) error
	Cursor() (string, error)
	ApplyPage(revs []*record.Revision, cursor string, ackedSeq uint64) (store.PageResult, error)
	ResetCursor() error
	DeviceRevisions() ([]*record.Revision, error)
	ExtendKeyrings(recipients []string) (int, error)
	PutLocal(key string, value []byte) error
	SetLastSync(t time.Time) error
	RosterVersion() uint64
	SetRosterVersion(n uint64) error
	OutboxLen() int
	PendingBlobs(limit int) ([]store.Blob, error)
	BlobsUploaded(ids []record.RevID) error
	RecordingBlobs(caseID, recordingID string) ([]record.RevID, error)
	MissingChunks(limit int) ([]store.MissingChunk, error)
	PutSealedChunk(caseID, recordingID string, ref record.ChunkRef, sealed []byte) error
	RequeueRecordingBlobs(caseID, recordingID string) error
	Locals(prefix string) (map[string][]byte, error)
	DeleteLocal(key string) error
	ShareCaseKeys(caseID string, recipients []string) (int, error)
	RotateCaseKey(caseID string, members []string) (uint32, error)
	Audit(caseID, action, detail string) error
	CasesWaitingTranscription() ([]string, error)
}

var _ Vault = (*store.Vault)(nil)

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
	Duration                                     time.Duration
}

// Syncer runs sync rounds for one vault against one server.
type Syncer struct {
	c        *Client
	v        Vault
	self     string // this device's recipient, for the keyring set
	userID   string
	role     string // the enrolled user's role ("" when unknown)
	pushSize int
	pullSize int
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
	// Push, then the audio, then the manifests that waited for it: a case
	// must exist on the server before its chunks, and a manifest goes up
	// only after all its chunks (the server answers missing_blob till then).
	err := s.push(ctx, &sum, progress)
	if errors.Is(err, ErrGone) {
		err = s.repair(ctx, &sum, progress)
	}
	if err == nil {
		err = s.uploadBlobs(ctx, &sum, progress)
	}
	if err == nil && s.v.OutboxLen() > 0 {
		err = s.push(ctx, &sum, progress)
	}
	if err != nil {
		return sum, err
	}
	rosterVersion, err := s.pull(ctx, &sum, progress)
	if errors.Is(err, ErrGone) {
		if err = s.repair(ctx, &sum, progress); err == nil {
			rosterVersion, err = s.pull(ctx, &sum, progress)
		}
	}
	if err != nil {
		return sum, err
	}
	// A server without roster versions (0) gets the roster every round.
	if rosterVersion == 0 || rosterVersion != s.v.RosterVersion() {
		if err := s.roster(ctx, &sum); err != nil {
			return sum, err
		}
		if s.v.OutboxLen() > 0 {
			if err := s.push(ctx, &sum, progress); err != nil {
				return sum, err
			}
		}
		if err := s.v.SetRosterVersion(rosterVersion); err != nil {
			return sum, err
		}
	}
	if err := s.downloadBlobs(ctx, &sum, progress); err != nil {
		return sum, err
	}
	if err := s.transcriptions(ctx); err != nil {
		return sum, err
	}
	if s.role == protocol.RoleSupervisor {
		if err := s.completeRotations(ctx); err != nil {
			return sum, err
		}
	}
	if s.v.OutboxLen() > 0 { // keyrings shared with typists or rotated
		if err := s.push(ctx, &sum, progress); err != nil {
			return sum, err
		}
	}
	sum.Duration = time.Since(start)
	return sum, s.v.SetLastSync(time.Now())
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
		blobs, err := s.blobsFor(revs)
		if err != nil {
			return err
		}
		resp, err := s.c.Push(ctx, revs, blobs)
		if err != nil {
			return err
		}
		var acked []uint64
		var rejected []store.Rejection
		var rejectedSeqs []uint64
		missingParent, missingBlob := false, false
		for i, r := range resp.Results {
			switch {
			case r.Status == protocol.StatusRejected && r.Permanent:
				rejected = append(rejected, store.Rejection{Rev: r.Rev, RecordID: revs[i].RecordID, CaseID: revs[i].CaseID,
					Kind: revs[i].Kind, Reason: r.Reason, At: time.Now().UTC()})
				rejectedSeqs = append(rejectedSeqs, revs[i].Seq)
			case r.Acknowledged():
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
		if err := s.v.Acknowledge(resp.AckedSeq, acked...); err != nil {
			return err
		}
		sum.Pushed += len(acked)
		progress(Progress{Phase: "push", Done: sum.Pushed + sum.Rejected, Total: total})
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
// its cursor in one transaction. It returns the server's roster version.
func (s *Syncer) pull(ctx context.Context, sum *Summary, progress func(Progress)) (uint64, error) {
	cursor, err := s.v.Cursor()
	if err != nil {
		return 0, err
	}
	for {
		hdr, revs, err := s.c.Pull(ctx, cursor, s.pullSize)
		if err != nil {
			return 0, err
		}
		res, err := s.v.ApplyPage(revs, hdr.NextCursor, hdr.AckedSeq)
		if err != nil {
			return 0, err
		}
		sum.Pulled += res.New
		sum.Skipped += res.Skipped
		progress(Progress{Phase: "pull", Done: sum.Pulled})
		cursor = hdr.NextCursor
		if !hdr.HasMore {
			return hdr.RosterVersion, nil
		}
	}
}

// repair runs after the server's history was reset (410): pull again from
// the beginning, and push back every revision of this device the server
// lacks, though it had acknowledged them before. The outbox is kept.
func (s *Syncer) repair(ctx context.Context, sum *Summary, progress func(Progress)) error {
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
	if err := s.uploadBlobs(ctx, sum, progress); err != nil {
		return err
	}
	for chunk := range slices.Chunk(missing, s.pushSize) {
		blobs, err := s.blobsFor(chunk)
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

// roster brings case keyrings up to date with the team roster: every case
// key this device holds is wrapped to the user's other devices, the team's
// supervisors and the agency recovery recipient.
func (s *Syncer) roster(ctx context.Context, sum *Summary) error {
	r, err := s.c.Roster(ctx)
	if err != nil {
		return err
	}
	// Kept for what needs the team's public keys offline (audit signatures).
	if js, err := json.Marshal(r); err == nil {
		if err := s.v.PutLocal(RosterKey, js); err != nil {
			return err
		}
	}
	n, err := s.v.ExtendKeyrings(RosterRecipients(r, s.userID, s.self))
	sum.Keyrings += n
	return err
}

// RosterKey is where the last roster is kept in the vault's local state.
const RosterKey = "roster"

// StoredRoster returns the roster saved by the last sync, if any.
func StoredRoster(v interface {
	Locals(prefix string) (map[string][]byte, error)
}) (*protocol.Roster, error) {
	m, err := v.Locals(RosterKey)
	if err != nil || m[RosterKey] == nil {
		return nil, err
	}
	var r protocol.Roster
	if err := json.Unmarshal(m[RosterKey], &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RosterRecipients is who, besides this device, case keys are wrapped to:
// the user's other devices, the team's supervisors' devices and the agency
// recovery recipient.
func RosterRecipients(r *protocol.Roster, userID, self string) []string {
	var out []string
	for _, m := range r.Members {
		if m.UserID != userID && m.Role != protocol.RoleSupervisor {
			continue
		}
		for _, d := range m.Devices {
			if d.Recipient != self {
				out = append(out, d.Recipient)
			}
		}
	}
	if r.Recovery != "" {
		out = append(out, r.Recovery)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
