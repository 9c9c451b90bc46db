package protocol

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// Version is the protocol version this build speaks. Version 2: signed
// revisions, a roster of signed statements, enrolment by grant.
const Version = 2

// HTTP headers and media types.
const (
	HeaderVersion     = "Fieldcase-Protocol"
	HeaderIdempotency = "Idempotency-Key"
	HeaderCase        = "Fieldcase-Case"
	MediaBatch        = "application/vnd.fieldcase.batch"
	MediaJSON         = "application/json"
)

// Endpoints.
const (
	PathEnroll    = "/v1/enroll"
	PathPush      = "/v1/sync/push"
	PathPull      = "/v1/sync/pull"
	PathRevsDiff  = "/v1/sync/revs-diff"
	PathRoster    = "/v1/roster"
	PathGrants    = "/v1/grants"           // POST: a device's pairing grant for its own user
	PathRevoke    = "/v1/revocations"      // POST: a device-signed revocation
	PathDueRules  = "/v1/due-rules"        // POST: a supervisor device's due rules for its team
	PathPolicy    = "/v1/weighting-policy" // POST: a supervisor device's weighting policy for its team
	PathOwn       = "/v1/sync/own"         // POST: this device's own revisions back (a vault restored from a backup)
	PathLog       = "/v1/log/checkpoint"   // GET ?from=N: the log's signed checkpoint and its consistency with size N
	PathProofs    = "/v1/log/proofs"       // POST: inclusion proofs of log entries in a tree
	PathWitness   = "/v1/log/witness"      // POST: a supervisor device's cosignature of a checkpoint
	PathEntries   = "/v1/log/entries"      // GET ?start=N&end=M: the log's entries [N, M), at most MaxEntries
	PathBlobsMiss = "/v1/blobs/missing"
	PathBlobs     = "/v1/blobs" // POST a blob batch; GET /v1/blobs/{case}/{id}
	PathBlobsGet  = "/v1/blobs/fetch"
	PathHealth    = "/healthz"
	PathReady     = "/readyz"
	PathMetrics   = "/metrics"
)

// Limits a server enforces and a client respects.
const (
	MaxPushRevisions = 1000
	MaxBatchBytes    = 8 << 20
	DefaultPullLimit = 500
	MaxPullLimit     = 2000
	MaxJSONBytes     = 1 << 20
	MaxBlobSize      = 1 << 20
	MaxBlobsPerBatch = 256
	MaxDiffRevs      = 5000
	MaxProofs        = 2000
	MaxEntries       = 4000
)

// Status is a push outcome for one revision.
type Status string

const (
	StatusStored        Status = "stored"         // new, now durable
	StatusPresent       Status = "present"        // the server already had it
	StatusMissingParent Status = "missing_parent" // push the parent first, then this again
	StatusMissingBlob   Status = "missing_blob"   // upload the manifest's chunks first
	StatusRejected      Status = "rejected"       // see Permanent and Reason
)

// PushResult is the server's answer about one pushed revision.
type PushResult struct {
	Rev       record.RevID `json:"rev"`
	Status    Status       `json:"status"`
	Reason    string       `json:"reason,omitempty"`
	Permanent bool         `json:"permanent,omitempty"` // never retry: acknowledged, shown to the user
	// Receipt, for a revision stored (now or before), is the server's
	// signed word that it holds it at a log index since a time.
	Receipt *transparency.Receipt `json:"receipt,omitempty"`
}

// Acknowledged reports whether the device may drop the revision from its
// outbox: the server holds it, or will never take it.
func (r PushResult) Acknowledged() bool {
	return r.Status == StatusStored || r.Status == StatusPresent || (r.Status == StatusRejected && r.Permanent)
}

// PushResponse answers a push, item by item, in request order.
type PushResponse struct {
	Results []PushResult `json:"results"`
	// AckedSeq is the highest device sequence number up to which the server
	// holds every revision of this device (or has permanently rejected it).
	AckedSeq uint64 `json:"acked_seq"`
	// SeqReused lists sequence numbers this push used that the device had
	// used before for other revisions: its vault was restored from a
	// backup. It then takes its own revisions back (PathOwn).
	SeqReused []uint64 `json:"seq_reused,omitempty"`
	// AuditIndexes are the log indexes of the push header's AuditHeads, in
	// order: what the device asks inclusion proofs for. -1 for a head not
	// logged: its case is not on the server (its revisions were refused or
	// wait for a parent) or its user may not read it; send it again later.
	AuditIndexes []int64 `json:"audit_indexes,omitempty"`
}

// PullHeader heads a pull response batch.
type PullHeader struct {
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
	AckedSeq   uint64 `json:"acked_seq"` // as in PushResponse: clears an outbox whose push answer was lost
	// RosterVersion changes whenever the roster may have: a device fetches
	// the roster (to rewrap case keys) only when it differs from the last seen.
	RosterVersion uint64 `json:"roster_version,omitempty"`
	// DeviceMaxSeq is the highest sequence number of this device the server
	// holds (acknowledged or not). A vault whose own counter is lower was
	// restored from a backup: it fetches its own revisions back (PathOwn)
	// and never reuses a number.
	DeviceMaxSeq uint64 `json:"device_max_seq,omitempty"`
	// Rotations lists the cases this user writes whose key is owed a new
	// epoch (a device that held it was revoked); the next member or
	// supervisor device to sync starts it.
	Rotations []string `json:"rotations,omitempty"`
	// Indexes are the log indexes of the page's revisions, in order: what
	// the device asks inclusion proofs for.
	Indexes []int64 `json:"indexes,omitempty"`
}

// LogResponse answers PathLog: the log's newest checkpoint, signed (with
// witnesses' cosignatures the server holds), and, when the device named the
// size of the last checkpoint it kept, the proof that this one extends it.
type LogResponse struct {
	Checkpoint  []byte             `json:"checkpoint"` // transparency.Signed
	Consistency transparency.Proof `json:"consistency,omitempty"`
}

// ProofsRequest asks for inclusion proofs of log entries in the tree of
// TreeSize (at most MaxProofs at a time).
type ProofsRequest struct {
	TreeSize int64   `json:"tree_size"`
	Indexes  []int64 `json:"indexes"`
}

// ProofsResponse answers a ProofsRequest, in its order: each entry's leaf
// data (transparency.Entry's encoding) and its inclusion proof.
type ProofsResponse struct {
	Entries [][]byte             `json:"entries"`
	Proofs  []transparency.Proof `json:"proofs"`
}

// EntriesResponse answers PathEntries: entries start, start+1, ... Devices
// follow the whole log this way and hash it themselves
// (transparency.Frontier), so the server cannot show them a log other than
// the one it signed, and they see every entry of the cases they read,
// whether or not the server hands the revision over. The server may answer
// with fewer entries than asked (never none): ask again from where it
// stopped.
type EntriesResponse struct {
	Entries []LogEntry `json:"entries"`
}

// LogEntry is one entry of the log: in full (Entry: transparency.Entry's
// encoding) to a device that may read its case, and statements to all;
// otherwise only its leaf (Leaf: transparency.Leaf's data), which names
// the case by tag and hides the rest.
type LogEntry struct {
	Entry []byte `json:"entry,omitempty"`
	Leaf  []byte `json:"leaf,omitempty"`
}

// WitnessRequest carries a checkpoint a supervisor's device checked and
// cosigned (transparency.Cosign): the server keeps the cosignature and
// hands it on with the checkpoint.
type WitnessRequest struct {
	Checkpoint []byte `json:"checkpoint"`
}

// AuditHead is the head of this device's audit chain in a case, as it
// pushes it: the log keeps it, so a chain that later lost its tail shows.
// Sig is the device's signature (AuditHeadMessage).
type AuditHead struct {
	CaseID string   `json:"case_id"`
	Seq    uint64   `json:"seq"`
	Hash   [32]byte `json:"hash"`
	Sig    []byte   `json:"sig"`
}

// OwnRequest asks for this device's own revisions with a sequence number
// above AfterSeq; the answer is a batch (header OwnHeader), at most
// MaxPullLimit revisions: ask again from the last one for more.
type OwnRequest struct {
	AfterSeq uint64 `json:"after_seq"`
}

// OwnHeader heads the answer to an OwnRequest.
type OwnHeader struct {
	HasMore bool `json:"has_more"`
}

// GrantRequest carries a pairing grant a device signed for its own user: a
// code for the user's further laptop.
type GrantRequest struct {
	Grant trust.Signed `json:"grant"`
}

// RevokeRequest carries a revocation a device signed (its own user's
// device, or as a supervisor, a device of its team).
type RevokeRequest struct {
	Revocation trust.Signed `json:"revocation"`
}

// DueRulesRequest carries due rules a supervisor's device signed for its
// team (trust.KindDueRules).
type DueRulesRequest struct {
	Rules trust.Signed `json:"rules"`
}

// PolicyRequest carries a weighting policy a supervisor's device signed for
// its team (trust.KindPolicy).
type PolicyRequest struct {
	Policy trust.Signed `json:"policy"`
}

// RevsDiffRequest asks which revisions the server lacks (after a 410).
type RevsDiffRequest struct {
	Revs []record.RevID `json:"revs"`
}

// RevsDiffResponse lists the revisions the server lacks.
type RevsDiffResponse struct {
	Missing []record.RevID `json:"missing"`
}

// EnrollRequest registers a device under an enrolment grant. The device's
// id, name and public keys are in Device, a statement signed with the key
// derived from the code (trust.SignWithCode): the server, which never sees
// the code, checks it against the grant's public key.
type EnrollRequest struct {
	Grant    string       `json:"grant"` // the grant id, derived from the code
	Device   trust.Signed `json:"device"`
	Protocol int          `json:"protocol"`
}

// EnrollResponse tells an enrolled device who it is and gives it its token.
// Nothing in it is trusted but what the roster's signatures prove: the
// device checks Roster.Agency against the fingerprint in its code.
type EnrollResponse struct {
	ServerID string `json:"server_id"`
	Token    string `json:"token"` // bearer token; the server keeps only its hash
	UserID   string `json:"user_id"`
	UserName string `json:"user_name"`
	Role     Role   `json:"role"`
	Team     string `json:"team"`
	Roster   Roster `json:"roster"`
	// LogKey is the log's public key (note verifier format): the laptop
	// pins it, and checks every checkpoint against it.
	LogKey string `json:"log_key"`
}

// Roster is every signed statement the server holds, under the agency key
// it presents. Devices evaluate it themselves (trust.Evaluate) and keep what
// they have seen, so a server can withhold a statement but never take back
// one a device already holds.
type Roster struct {
	Agency     string         `json:"agency"` // trust.FormatAgencyKey; "" while the server has none
	Statements []trust.Signed `json:"statements"`
	Version    uint64         `json:"version"` // changes whenever the roster does
}

// Role is a user's role (trust.Role).
type Role = trust.Role

// Roles.
const (
	RoleCaseworker = trust.RoleCaseworker
	RoleSupervisor = trust.RoleSupervisor
	RoleTypist     = trust.RoleTypist
	RoleAdmin      = trust.RoleAdmin
)

// Roles lists every role.
var Roles = []Role{RoleCaseworker, RoleSupervisor, RoleTypist, RoleAdmin}

// PushHeader is the optional header of a push batch.
type PushHeader struct {
	// Blobs declares, per manifest revision, the blobs (audio chunks) it
	// names. Such a revision is answered missing_blob until all of them are
	// stored in its case: a manifest never arrives before its audio.
	Blobs map[record.RevID][]record.RevID `json:"blobs,omitempty"`
	// AuditHeads are this device's audit-chain heads that moved since its
	// last push: anchored in the log.
	AuditHeads []AuditHead `json:"audit_heads,omitempty"`
}

// BlobsFetchRequest asks for blobs of one case; the answer is a blob batch
// of those the server holds (at most MaxBlobsPerBatch and MaxBatchBytes:
// ask again for the rest).
type BlobsFetchRequest struct {
	CaseID string         `json:"case_id"`
	IDs    []record.RevID `json:"ids"`
}

// BlobsMissingRequest asks which blobs of a case the server lacks.
type BlobsMissingRequest struct {
	CaseID string         `json:"case_id"`
	IDs    []record.RevID `json:"ids"` // SHA-256 of each blob's ciphertext
}

// BlobsMissingResponse lists the blobs to upload.
type BlobsMissingResponse struct {
	Missing []record.RevID `json:"missing"`
}

// BlobResult is the server's answer about one uploaded blob.
type BlobResult struct {
	ID     record.RevID `json:"id"`
	Status Status       `json:"status"` // stored, present or rejected
	Reason string       `json:"reason,omitempty"`
}

// BlobsResponse answers a blob upload.
type BlobsResponse struct {
	Results []BlobResult `json:"results"`
}

// Error is the body of every 4xx and 5xx answer.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// Error codes.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeRevoked      = "device_revoked"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeGone         = "gone" // the cursor's server epoch is over: pull again from zero
	CodeVersion      = "protocol_version"
	CodeTooLarge     = "too_large"
	CodeRateLimited  = "rate_limited"
	CodeBadCode      = "bad_enroll_code"
	CodeDeviceExists = "device_exists"
	CodeInternal     = "internal"
	CodeUnavailable  = "unavailable"
)

// Cursor is a position in a server's change log: the server epoch (which
// changes when a server is restored from backup) and a commit-ordered
// sequence number. Clients treat it as opaque.
type Cursor struct {
	Epoch string
	Seq   uint64
}

// String encodes the cursor ("" is the start).
func (c Cursor) String() string {
	if c.Epoch == "" && c.Seq == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c.Epoch + "." + strconv.FormatUint(c.Seq, 10)))
}

// ErrBadCursor means a cursor string did not decode.
var ErrBadCursor = errors.New("malformed cursor")

// ParseCursor decodes a cursor; "" is the start.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if len(s) > 200 {
		return Cursor{}, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	epoch, seq, ok := strings.Cut(string(b), ".")
	if !ok || record.ValidID(epoch) != nil {
		return Cursor{}, ErrBadCursor
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != seq {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{Epoch: epoch, Seq: n}, nil
}

// A batch is how revisions travel, in a push request body and a pull
// response body:
//
//	"FCB1" ‖ header length (uvarint) ‖ header JSON ‖ count (uvarint) ‖ count × (length (uvarint) ‖ revision)
//
// Revisions are in record.Revision's canonical binary encoding. A batch is a
// few bytes per revision beyond the revisions themselves; base64 in JSON would
// add a third to every sealed body.
const batchMagic = "FCB1"

// ErrBadBatch means batch bytes did not decode.
var ErrBadBatch = errors.New("malformed batch")

// EncodeBatch writes header (marshalled as JSON; nil for none) and revs.
func EncodeBatch(header any, revs []*record.Revision) ([]byte, error) {
	hdr := []byte("{}")
	if header != nil {
		var err error
		if hdr, err = json.Marshal(header); err != nil {
			return nil, err
		}
	}
	size := len(batchMagic) + 20 + len(hdr)
	for _, r := range revs {
		size += 140 + len(r.Body)
	}
	b := make([]byte, 0, size)
	b = append(b, batchMagic...)
	b = binary.AppendUvarint(b, uint64(len(hdr)))
	b = append(b, hdr...)
	b = binary.AppendUvarint(b, uint64(len(revs)))
	for _, r := range revs {
		enc, err := r.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	return b, nil
}

// DecodeBatch reads a batch: the header into header (nil to skip it) and at
// most maxRevs revisions, each validated (its id matches its content). The
// revisions' bodies alias b.
func DecodeBatch(b []byte, header any, maxRevs int) ([]*record.Revision, error) {
	if len(b) > MaxBatchBytes {
		return nil, fmt.Errorf("%w: %d bytes is over the %d limit", ErrBadBatch, len(b), MaxBatchBytes)
	}
	if len(b) < len(batchMagic) || string(b[:len(batchMagic)]) != batchMagic {
		return nil, fmt.Errorf("%w: not a fieldcase batch", ErrBadBatch)
	}
	b = b[len(batchMagic):]
	hl, w := binary.Uvarint(b)
	if w <= 0 || hl > MaxJSONBytes || hl > uint64(len(b)-w) {
		return nil, fmt.Errorf("%w: header length", ErrBadBatch)
	}
	hdr := b[w : w+int(hl)]
	b = b[w+int(hl):]
	if header != nil {
		if err := json.Unmarshal(hdr, header); err != nil {
			return nil, fmt.Errorf("%w: header: %v", ErrBadBatch, err)
		}
	}
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(maxRevs) || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: %d revisions (at most %d)", ErrBadBatch, n, maxRevs)
	}
	b = b[w:]
	revs := make([]*record.Revision, 0, n)
	for i := uint64(0); i < n; i++ {
		l, w := binary.Uvarint(b)
		if w <= 0 || l > uint64(len(b)-w) {
			return nil, fmt.Errorf("%w: revision %d length", ErrBadBatch, i)
		}
		r, rest, err := record.UnmarshalRevision(b[w : w+int(l)])
		if err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("%w: revision %d: %v", ErrBadBatch, i, err)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("%w: revision %d: %v", ErrBadBatch, i, err)
		}
		revs = append(revs, r)
		b = b[w+int(l):]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadBatch, len(b))
	}
	return revs, nil
}

// A blob batch uploads audio chunks: "FCO1" ‖ count ‖ count × (id(32) ‖ length ‖ bytes).
const blobMagic = "FCO1"

// Blob is one sealed blob and its id (SHA-256 of the bytes).
type Blob struct {
	ID   record.RevID
	Data []byte
}

// EncodeBlobs writes a blob batch.
func EncodeBlobs(blobs []Blob) []byte {
	size := len(blobMagic) + 10
	for _, bl := range blobs {
		size += 32 + 10 + len(bl.Data)
	}
	b := make([]byte, 0, size)
	b = append(b, blobMagic...)
	b = binary.AppendUvarint(b, uint64(len(blobs)))
	for _, bl := range blobs {
		b = append(b, bl.ID[:]...)
		b = binary.AppendUvarint(b, uint64(len(bl.Data)))
		b = append(b, bl.Data...)
	}
	return b
}

// DecodeBlobs reads a blob batch. It checks sizes, not hashes: the server
// verifies each blob's hash before storing it and answers per blob.
func DecodeBlobs(b []byte) ([]Blob, error) {
	if len(b) > MaxBatchBytes {
		return nil, fmt.Errorf("%w: blob batch too large", ErrBadBatch)
	}
	if len(b) < len(blobMagic) || string(b[:len(blobMagic)]) != blobMagic {
		return nil, fmt.Errorf("%w: not a blob batch", ErrBadBatch)
	}
	b = b[len(blobMagic):]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > MaxBlobsPerBatch {
		return nil, fmt.Errorf("%w: blob count", ErrBadBatch)
	}
	b = b[w:]
	out := make([]Blob, 0, n)
	for i := uint64(0); i < n; i++ {
		if len(b) < 32 {
			return nil, fmt.Errorf("%w: blob %d id", ErrBadBatch, i)
		}
		var bl Blob
		copy(bl.ID[:], b[:32])
		b = b[32:]
		l, w := binary.Uvarint(b)
		if w <= 0 || l > MaxBlobSize || l > uint64(len(b)-w) {
			return nil, fmt.Errorf("%w: blob %d length", ErrBadBatch, i)
		}
		bl.Data = b[w : w+int(l)]
		b = b[w+int(l):]
		out = append(out, bl)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes", ErrBadBatch)
	}
	return out, nil
}

// Team administration by supervisors.
const (
	PathTeam          = "/v1/team"                       // GET: the supervisor's team view
	PathMembers       = "/v1/cases/{case}/members"       // POST: add and remove case members
	PathTranscription = "/v1/cases/{case}/transcription" // POST: open or close a case to the team's typists
	CodeConflict      = "conflict"                       // a policy edit based on a stale version
)

// TeamView is what a supervisor's device knows of the team besides case
// content: people, their devices' last sync, who holds which case, and the
// weighting policy.
type TeamView struct {
	Team  string     `json:"team"`
	Users []TeamUser `json:"users"`
	Cases []TeamCase `json:"cases"`
	// Policy and PolicyVersion are the weighting policy in force for the
	// team as the device's verified roster proves it (trust.KindPolicy),
	// filled in by the device (client.VerifiedPolicy); the server sends
	// none, and what it sends is ignored.
	Policy        json.RawMessage `json:"policy,omitempty"`
	PolicyVersion int             `json:"policy_version"`
}

// TeamUser is a member of the team and their devices.
type TeamUser struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Role    Role         `json:"role"`
	Devices []TeamDevice `json:"devices"`
}

// TeamDevice is one enrolled device and when it last synced.
type TeamDevice struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Recipient string    `json:"recipient"`
	Enrolled  time.Time `json:"enrolled"`
	LastSync  time.Time `json:"last_sync,omitzero"`
	Revoked   bool      `json:"revoked,omitempty"`
}

// TeamCase is a case's membership (never its content).
type TeamCase struct {
	ID            string   `json:"id"`
	Members       []string `json:"members"` // user ids
	Transcription bool     `json:"transcription,omitempty"`
}

// MembersUpdate adds and removes case members, by user name.
type MembersUpdate struct {
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// TranscriptionUpdate opens a case to the team's typists, or closes it.
type TranscriptionUpdate struct {
	Open bool `json:"open"`
}
