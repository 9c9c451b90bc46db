package client

import (
	"crypto/ed25519"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// The syncer consumes the device vault through small interfaces, one per
// part of a round, as bbolt's callers consume a Tx: each function takes
// only the part it uses. Vault is their composition; *store.Vault has it.

// outbox is what pushing consumes: this device's revisions waiting for the
// server, the server's answers to them, and this device's sequence numbers
// (restored from the server after a rollback, rollback.go).
type outbox interface {
	DeviceID() string
	Outbox(limit int) ([]*record.Revision, error)
	OutboxLen() int
	Acknowledge(upTo uint64, seqs ...uint64) error
	Reject(rs []store.Rejection, seqs []uint64) error
	LastSeq() uint64
	RaiseSeq(n uint64) error
	ApplyOwn(revs []*record.Revision) (int, error)
	DeviceRevisions() ([]*record.Revision, error)
}

// puller is what pulling consumes: the cursor, and pages applied with it.
type puller interface {
	Cursor() (string, error)
	ApplyPage(revs []*record.Revision, cursor string, ackedSeq uint64) (store.PageResult, error)
	ResetCursor() error
}

// blobStore is what moving recordings' audio consumes (blobs.go).
type blobStore interface {
	PendingBlobs(limit int) ([]store.Blob, error)
	BlobsUploaded(ids []record.RevID) error
	RecordingBlobs(caseID, recordingID string) ([]record.RevID, error)
	MissingChunks(limit int) ([]store.MissingChunk, error)
	PutSealedChunk(caseID, recordingID string, ref record.ChunkRef, sealed []byte) error
	RequeueRecordingBlobs(caseID, recordingID string) error
}

// keyStore is what sharing case keys consumes: keyrings extended to the
// roster, shared, rotated; the cases this device holds keys of; and the
// copies of cases taken away from this laptop's user, removed.
type keyStore interface {
	ShareCase(caseID string, members, typists []string) (int, error)
	RotateCaseKey(caseID string, removed []string) (uint32, error)
	ExtendKeyrings() (int, error)
	CasesWrappedTo(fingerprints []string) ([]string, error)
	HeldCases() []string
	RemoveReassigned() ([]store.Reassignment, error)
}

// rosterVault is the verified roster and this device's place in it.
type rosterVault interface {
	Roster() *trust.Roster
	DeviceID() string
}

// trustStore is what the roster step consumes: the pinned agency key, the
// statements the vault holds and the roster they prove, the roster version
// last fetched, and the quarantined revisions that more statements may
// release.
type trustStore interface {
	rosterVault
	Agency() ed25519.PublicKey
	AddStatements(ss []trust.Signed) (store.TrustChanges, error)
	Statements() ([]trust.Signed, error)
	RosterVersion() uint64
	SetRosterVersion(n uint64) error
	RecheckQuarantine() (applied, left int, err error)
}

// signer signs statements as this device and keeps them: trustStore and
// the identity that signs (devices.go, retention.go).
type signer interface {
	rosterVault
	Agency() ed25519.PublicKey
	AddStatements(ss []trust.Signed) (store.TrustChanges, error)
	Statements() ([]trust.Signed, error)
	Identity() (*crypto.Identity, error)
}

// localState is the vault's device-local keys (never synced): notices for
// the user, what the team step opened, when the last round ended.
type localState interface {
	PutLocal(key string, value []byte) error
	Locals(prefix string) (map[string][]byte, error)
	DeleteLocal(key string) error
	SetLastSync(t time.Time) error
}

// logStore is what checking the transparency log consumes (logaudit.go):
// the pinned log key, the last checkpoint checked, revisions' places and
// receipts, the statements the log holds, and audit heads to anchor.
type logStore interface {
	LogKey() string
	Checkpoint() (transparency.Signed, error)
	SetCheckpoint(transparency.Signed) error
	PutLogged([]store.Logged) error
	Follow() (store.Follow, bool, error)
	StartFollow(transparency.Frontier) error
	AddFollowed([]store.Followed, transparency.Frontier) error
	LeavesAt([]store.Place) ([]tlog.Hash, []bool)
	LogFindings() ([]store.Withheld, error)
	MissingStatements() ([]store.Withheld, error)
	StatementIDs() ([]string, error)
	UnloggedStatements(ids []string) ([]string, error)
	ResetFollow() error
	AuditTailFindings() ([]store.Withheld, error)
	AuditHeadsToAnchor() ([]store.AuditHead, error)
	MarkAnchored([]store.AuditHead) error
}

// evidenceVault is what Evidence reads to prove a case's revisions.
type evidenceVault interface {
	LogIndex(rev record.RevID) (int64, bool)
	Receipts(caseID string) ([]store.Receipt, error)
	AllRevisions(fn func(*record.Revision) error) error
}

// preKeyVault is what pre-keys consume (prekeys.go).
type preKeyVault interface {
	RotatePreKey(every time.Duration) (trust.Signed, bool, error)
	ExpirePreKeys(retain time.Duration) (int, error)
	UnopenableKeyrings() ([]store.UnopenableKeyring, error)
}

// lifecycleVault is what destruction consumes (retention.go).
type lifecycleVault interface {
	DestroyApproved() ([]store.Destroyed, error)
	Destructions() ([]store.Destroyed, error)
	NoteServerCheck(caseID string, held int, at time.Time) error
}

// escrowVault is what the escrow step consumes beyond the statements
// (escrow.go).
type escrowVault interface {
	EscrowDeposits() ([]store.EscrowDeposit, error)
	EscrowDeposited(caseID string) error
}

// Vault is everything a round consumes of the device vault.
type Vault interface {
	outbox
	puller
	blobStore
	keyStore
	trustStore
	localState
	logStore
	evidenceVault
	preKeyVault
	lifecycleVault
	escrowVault
	Identity() (*crypto.Identity, error)
	Audit(caseID, action, detail string) error
	caseload.RecordingReader // the recordings waiting for typing (team.go)
}

var _ Vault = (*store.Vault)(nil)
