package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// Store errors. Backends return them (wrapped or not) so the server can tell
// a rule from a failure.
var (
	// ErrNotFound means the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means an insert met an existing key (a taken name or id).
	ErrExists = errors.New("already exists")
	// ErrLocked means another process holds the store (bbolt's file lock).
	ErrLocked = errors.New("store is in use by another process")
)

// Store is the server's storage: the agency's public key and the signed
// statements it vouches for, a directory of teams, users and devices derived
// from them, cases and their revisions, a commit-ordered change log,
// per-device acknowledgement state, rotations owed, blobs, the transparency
// log and a little metadata. The server only ever holds sealed bodies and metadata.
//
// Every read and write goes through a transaction closure, as with bbolt:
// fn's error rolls the transaction back; a nil error commits it durably
// before Update returns. A backend may run fn more than once (a SQL backend
// retrying a serialization failure), so fn must have no effect outside its
// Tx.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	// Backup writes a consistent snapshot of the store to a new file at path
	// (never overwriting one). The copy has a fresh server epoch, so a server
	// restored from it answers cursors handed out before with 410 Gone. It
	// keeps the server id, the transparency log and the log's key.
	Backup(ctx context.Context, path string) error
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	Close() error
}

// PushPrefetcher is an optional capability of a Tx: learn in one go which
// of a push's revisions (and their parents) and records the store holds, so
// that the per-revision checks that follow (HasRevision, Record) need no
// round trip each. A backend where those checks are cheap (bbolt) need not
// implement it.
type PushPrefetcher interface {
	PrefetchPush(revs []record.RevID, records []string) error
}

// Tx is one transaction. Methods return ErrNotFound for a missing key and
// ErrExists for an insert that meets an existing one; a View transaction's
// writes fail. Returned values never alias storage.
type Tx interface {
	MetaTx
	StatementTx
	DirectoryTx
	CaseTx
	LogTx
	TransparencyTx
	RotationTx
	BlobTx
}

// Meta is the server's own state.
type Meta struct {
	ServerID string // stable for the life of the server, backups included
	// Epoch names this copy of the change log; it is new in every backup,
	// so cursors from before a restore are recognisably stale.
	Epoch   string
	Created time.Time
	// Recovery is the agency recovery recipient the stored statements
	// prove; "" until a signed one is stored.
	Recovery      string
	RosterVersion uint64 // bumped whenever the roster may have changed
	// Agency is the public half of the agency's signing identity: every
	// statement the server accepts chains to it. nil until installed
	// (fieldcased agency init or set-key).
	Agency ed25519.PublicKey
	// LogSKey and LogVKey are the transparency log's signing key and its
	// public half (sumdb/note formats, named "fieldcase-log.<server id>":
	// transparency.GenerateLogKey). A backend makes them when it creates a
	// store, and for a store made before the log on its first writable
	// open; they stay for the life of the server, backups included.
	LogSKey, LogVKey string
}

// LogKeyName is the name of a server's log key (its note signer name).
func LogKeyName(serverID string) string { return "fieldcase-log." + serverID }

// LogOrigin is the origin line of a server's checkpoints.
func LogOrigin(serverID string) string { return "fieldcase/" + serverID }

// MetaTx reads and writes the server's metadata.
type MetaTx interface {
	Meta() (Meta, error)
	SetRecovery(recipient string) error
	// SetAgency installs the agency's public key (replacing any).
	SetAgency(pub ed25519.PublicKey) error
	// BumpRosterVersion increments Meta.RosterVersion and returns it.
	BumpRosterVersion() (uint64, error)
}

// StatementTx holds the signed statements (trust.Signed) the server has
// accepted: it serves them all to devices, which evaluate them themselves.
type StatementTx interface {
	// InsertStatement stores s once: storing a statement with the same
	// ID() again changes nothing and reports false.
	InsertStatement(s trust.Signed) (inserted bool, err error)
	// Statements lists every stored statement in the order stored.
	Statements() ([]trust.Signed, error)
}

// Team is a group of users whose supervisors see all its cases.
type Team struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Policy is the team's caseload-weighting policy as an older server
	// kept it unsigned; no longer set nor served (the policy is a signed
	// statement, trust.KindPolicy). (record.Policy as
	// JSON): agency configuration, not case data, so kept in the clear.
	// PolicyVersion counts its edits, so two supervisors' edits cannot
	// silently overwrite each other.
	Policy        []byte `json:"policy,omitempty"`
	PolicyVersion int    `json:"policy_version,omitempty"`
}

// User is a person; devices belong to users.
type User struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"` // unique
	Role    trust.Role `json:"role"` // one of protocol.Roles
	TeamID  string     `json:"team_id"`
	Created time.Time  `json:"created"`
}

// Device is an enrolled laptop. Only the SHA-256 of its token is kept.
type Device struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Name       string    `json:"name"`
	Recipient  string    `json:"recipient"`
	SigningKey []byte    `json:"signing_key"`
	TokenHash  [32]byte  `json:"token_hash"`
	Enrolled   time.Time `json:"enrolled"`
	LastSeen   time.Time `json:"last_seen"`
	LastSync   time.Time `json:"last_sync"`
	Revoked    time.Time `json:"revoked"` // zero while the device is in use
	// Grant is the enrolment grant the device enrolled under (its device
	// statement names it); "" for a device enrolled by protocol 1, which
	// must enrol again.
	Grant string `json:"grant,omitempty"`
}

// DirectoryTx holds who is who: teams, users and devices. Teams and users
// are derived from the agency's signed statements, devices from their
// enrolment; access control reads these rows.
type DirectoryTx interface {
	InsertTeam(Team) error // ErrExists if the id or name is taken
	Team(id string) (Team, error)
	TeamByName(name string) (Team, error)
	Teams() ([]Team, error)
	// SetTeamPolicy replaces a team's weighting policy and its version.
	SetTeamPolicy(teamID string, policy []byte, version int) error

	InsertUser(User) error // ErrExists if the id or name is taken
	// ReplaceUser replaces an existing user's row (a newer user statement):
	// ErrNotFound if there is none, ErrExists if the new name is another's.
	ReplaceUser(User) error
	User(id string) (User, error)
	UserByName(name string) (User, error)
	Users() ([]User, error)

	InsertDevice(Device) error // ErrExists if the id or token hash is taken
	// ReplaceDevice replaces every field of an existing device's row, its
	// token too (a device enrolling again under an id whose old enrolment
	// is no longer trusted): ErrNotFound if there is none, ErrExists if the
	// token hash is another device's.
	ReplaceDevice(Device) error
	Device(id string) (Device, error)
	DeviceByToken(hash [32]byte) (Device, error)
	Devices() ([]Device, error)
	// RevokeDevice marks a device revoked at t (keeping an earlier time).
	RevokeDevice(id string, t time.Time) error
	// ReplaceDeviceToken gives a device a new token (hash), invalidating the
	// old one.
	ReplaceDeviceToken(id string, hash [32]byte) error
	// TouchDevice raises LastSeen and LastSync to seen and synced (a zero
	// time leaves the field), touching nothing else: a concurrent revocation
	// is never undone.
	TouchDevice(id string, seen, synced time.Time) error
}

// Case is what the server knows of a case: its team and members, never its
// content.
type Case struct {
	ID      string    `json:"id"`
	TeamID  string    `json:"team_id"`
	Members []string  `json:"members"` // user ids
	Created time.Time `json:"created"`
	// Transcription is set while a dictation of the case waits for typing:
	// the team's typists may then read the case and add transcripts.
	Transcription bool `json:"transcription,omitempty"`
	// KeyEpoch is the highest key epoch of the case's keyrings stored
	// (record.KeyringID), 0 before the first.
	KeyEpoch uint32 `json:"key_epoch,omitempty"`
}

// RecordInfo ties a record to its case and kind, which never change.
type RecordInfo struct {
	ID     string
	CaseID string
	Kind   record.Kind
}

// CaseTx holds cases, records and revisions.
type CaseTx interface {
	Case(id string) (Case, error)
	PutCase(Case) error // insert or replace
	// TeamCases lists a team's cases by id ("" lists every case).
	TeamCases(teamID string) ([]Case, error)

	Record(id string) (RecordInfo, error)
	InsertRecord(RecordInfo) error

	// HasRevision reports whether rev is stored.
	HasRevision(rev record.RevID) (bool, error)
	Revision(rev record.RevID) (*record.Revision, error)
	// InsertRevision stores a validated revision (ErrExists if present). It
	// does not touch the change log (see LogTx.AppendChange). A keyring
	// revision of a higher epoch than a rotation owed for its case
	// (KeyringEpoch) clears that rotation.
	InsertRevision(*record.Revision) error
	// CaseRevisions lists the revisions of a case in the order stored.
	CaseRevisions(caseID string) ([]record.RevID, error)
	// RevisionCount is how many revisions are stored.
	RevisionCount() (int64, error)
	// DeviceRevisions lists at most limit revisions a device wrote with a
	// sequence number above afterSeq, by sequence number (and id, should
	// a device have used one number twice).
	DeviceRevisions(deviceID string, afterSeq uint64, limit int) ([]*record.Revision, error)
}

// Change is one entry of the change log: a revision becoming visible. Target
// is "" for everyone allowed to read the case, or one user id: entries for one
// user re-announce a case's history when that user is given access to it.
type Change struct {
	Seq    uint64
	Rev    record.RevID
	CaseID string
	Target string
}

// LogTx is the change log and each device's acknowledgement state.
//
// Sequence numbers increase in commit order: a backend must never let Changes
// show an entry while an entry with a smaller Seq can still appear (a SQL
// backend assigning numbers from a sequence must serialise appends or hide
// entries above the oldest uncommitted one). Gaps are allowed.
type LogTx interface {
	// AppendChange adds c (its Seq ignored) and returns its sequence number.
	AppendChange(c Change) (uint64, error)
	// Changes returns at most limit entries with Seq > after, in order.
	Changes(after uint64, limit int) ([]Change, error)
	// LastChangeSeq is the highest sequence number in the log (0 if empty).
	LastChangeSeq() (uint64, error)

	// AckedSeq is the device's contiguous acknowledgement: every one of its
	// sequence numbers 1..AckedSeq is stored or permanently rejected.
	AckedSeq(deviceID string) (uint64, error)
	SetAckedSeq(deviceID string, seq uint64) error
	// AddPendingSeq remembers a done sequence number above AckedSeq.
	AddPendingSeq(deviceID string, seq uint64) error
	// TakePendingSeq removes seq from the pending set, reporting whether it
	// was there.
	TakePendingSeq(deviceID string, seq uint64) (bool, error)
	// DeviceMaxSeq is the highest sequence number of the device the server
	// holds: the greatest of AckedSeq, its pending numbers and its stored
	// revisions' (0 for a device that never pushed).
	DeviceMaxSeq(deviceID string) (uint64, error)
}

// LogLeaf is one entry of the transparency log as stored: its index, its
// leaf data (transparency.Entry's encoding) and when it was appended.
type LogLeaf struct {
	Index int64
	Data  []byte
	Time  time.Time // UTC, milliseconds
}

// Cosignature is a witness's signature of the log's checkpoint of a size:
// a supervisor's device that checked the tree (transparency.Cosign).
type Cosignature struct {
	Size int64
	// Name and Sig are the note signature line's signer name
	// (transparency.WitnessName) and base64 (key hash ‖ signature).
	Name string
	Sig  string
	Time time.Time // when the server received it
}

// TransparencyTx is the transparency log (package transparency): an
// append-only Merkle tree (RFC 6962, as golang.org/x/mod/sumdb/tlog builds
// it) of every revision and statement the server stores and every audit
// head a device reports, and the witnesses' cosignatures of its
// checkpoints.
//
// Leaves are numbered 0, 1, 2, … without gaps, in commit order: a backend
// must serialise appends so that an index is never taken by a transaction
// that commits after a later index's (a tree has no holes, and a reader
// must never see index n+1 without n). An entry is appended in the same
// transaction as what it records, so a commit never holds a revision
// without its entry, or the reverse; the server sees to that (it appends
// after InsertRevision and InsertStatement, a push's entries at the end of
// its transaction, so that a backend serialising appends from the first to
// commit holds its lock briefly).
type TransparencyTx interface {
	// AppendLog appends e's encoding as the next leaf, with tlog's stored
	// hashes for it (tlog.StoredHashesForRecordHash), at time at, and
	// returns its index. A revision entry's index and time are kept with
	// the revision (RevisionLog). A View transaction's append fails.
	AppendLog(e transparency.Entry, at time.Time) (int64, error)
	// LogSize is the number of leaves.
	LogSize() (int64, error)
	// LogEntries returns the leaves from index from on, at most n of them
	// (fewer at the end of the log).
	LogEntries(from int64, n int) ([]LogLeaf, error)
	// LogEntriesAt returns the leaves at indexes, in their order
	// (ErrNotFound if one is not in the log).
	LogEntriesAt(indexes []int64) ([]LogLeaf, error)
	// ReadHashes reads stored hashes by their tlog index, in one round trip
	// (ErrNotFound if one is not stored): the Tx is a tlog.HashReader.
	ReadHashes(indexes []int64) ([]tlog.Hash, error)
	// RevisionLog returns where each revision was logged: its index, and
	// the leaf's time (Data is nil); Index is -1 for one without an entry
	// (a store damaged or written behind the server's back).
	RevisionLog(revs []record.RevID) ([]LogLeaf, error)
	// AddCosignature keeps a witness's cosignature of the checkpoint of
	// c.Size, replacing the same witness's one of that size.
	AddCosignature(c Cosignature) error
	// Cosignatures lists the cosignatures of the checkpoint of size, by
	// witness name.
	Cosignatures(size int64) ([]Cosignature, error)
	// LastCosignatures lists each witness's cosignature of the largest
	// size it cosigned, by witness name.
	LastCosignatures() ([]Cosignature, error)
}

var _ tlog.HashReader = Tx(nil)

// Rotation is a case whose key is owed a new epoch: a device that could
// hold the key at Epoch was revoked. The next member or supervisor device
// to sync starts one; storing a keyring of a higher epoch clears it.
type Rotation struct {
	CaseID string `json:"case_id"`
	Epoch  uint32 `json:"epoch"`
}

// RotationTx holds the rotations owed.
type RotationTx interface {
	// SetRotationOwed flags a case as owing a rotation past epoch, keeping
	// the higher epoch when one is owed already.
	SetRotationOwed(caseID string, epoch uint32) error
	// RotationsOwed lists the rotations owed, by case id.
	RotationsOwed() ([]Rotation, error)
}

// KeyringEpoch reports the key epoch of a keyring revision: the epoch its
// body names (sealed.DecodeKeyring), when its record id is that epoch's
// (record.KeyringID). ok is false for any other revision, and for a
// keyring tombstone.
func KeyringEpoch(r *record.Revision) (epoch uint32, ok bool) {
	if r.Kind != record.KindKeyring || r.Deleted {
		return 0, false
	}
	k, err := sealed.DecodeKeyring(r.Body)
	if err != nil || k.Epoch == 0 || record.KeyringID(r.CaseID, k.Epoch) != r.RecordID {
		return 0, false
	}
	return k.Epoch, true
}

// BlobTx holds sealed blobs (audio chunks), by case and SHA-256.
type BlobTx interface {
	HasBlob(caseID string, id record.RevID) (bool, error)
	Blob(caseID string, id record.RevID) ([]byte, error)
	// InsertBlob stores data, whose hash the caller has checked (ErrExists
	// if present).
	InsertBlob(caseID string, id record.RevID, data []byte) error
}
