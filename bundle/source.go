package bundle

import (
	"context"
	"crypto/ed25519"
	"io"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// Source is what a bundle is made from: one case as its producer (a
// member's laptop, or the agency's recovery export) reads it, decrypted,
// with the signed revisions it came from and the evidence that checks them.
type Source struct {
	CaseID string
	Ref    string // the case's reference, for people
	// Agency is the agency's public key the producer trusts.
	Agency ed25519.PublicKey
	// Statements are the signed statements the producer holds; Write
	// keeps those that prove the devices the bundle names.
	Statements []trust.Signed
	// Records are the case's current records: the head revision of each,
	// and each version of a record in conflict. Write keeps those in the
	// range From–To (the case record always).
	Records []Record
	// Deletions are the case's tombstones, signed like any revision.
	Deletions []*record.Revision
	// Audio writes a recording's Ogg Opus file; nil when the producer has
	// no audio.
	Audio AudioFunc
	// Evidence is what the server's transparency log says of the
	// revisions; nil when the producer kept none.
	Evidence *Evidence
	// Producer says who made the bundle, for people ("fieldcase on Ada
	// Lovelace's laptop", "fieldcased recovery export").
	Producer string
	// From and To bound the records by their own date (a note's, a
	// consent's, a task's due date, a recording's start, an event's time);
	// "" leaves that end open.
	From, To record.Date
	// Now is when the bundle is made.
	Now time.Time
}

// Record is one version of a record: the signed revision, and its
// decrypted value, one of *record.Case, *record.Note, *record.Consent,
// *record.Task, *record.Recording or *record.AuditEvent.
type Record struct {
	Rev   *record.Revision
	Value any
	// Versions is how many versions of the record stand side by side (a
	// conflict of two offline edits): 1 normally.
	Versions int
}

// AudioFunc writes the Ogg Opus file of a recording's version to w: its
// packets as recorded, copied (audio/track.WriteOgg), as 'fieldcase
// recording export' writes them. It returns ErrNoAudio when the recording
// has no audio to write.
type AudioFunc func(ctx context.Context, r Record, w io.Writer) error

// Evidence is the server's transparency log as it bears on a case's
// revisions: one signed checkpoint, and for each revision it holds, the
// revision's index, an inclusion proof against that checkpoint, and the
// server's signed receipt. A device collects it as it syncs; the recovery
// export reads it from the server's own log.
type Evidence struct {
	// LogKey is the log's public key (note verifier format), as the
	// device pinned it at enrolment.
	LogKey string
	// Checkpoint is a signed checkpoint (with any witnesses'
	// cosignatures): every proof is against its tree.
	Checkpoint transparency.Signed
	// Entries are, by revision, where the log holds it.
	Entries map[record.RevID]LogEntry
}

// LogEntry is a revision's place in the log.
type LogEntry struct {
	Index int64
	// Proof is the inclusion proof of the revision's entry
	// (transparency.RevisionEntry) at Index in the checkpoint's tree.
	Proof transparency.Proof
	// Receipt is the server's receipt for the revision; nil when none
	// was kept.
	Receipt *transparency.Receipt
}
