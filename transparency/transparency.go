package transparency

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/internal/sigbatch"
	"github.com/fieldcase/fieldcase/internal/wire"
	"github.com/fieldcase/fieldcase/record"
)

var (
	// ErrMalformed means bytes that should hold an entry, a checkpoint, a
	// proof or a receipt do not.
	ErrMalformed = errors.New("malformed log data")
	// ErrProof means a proof does not prove what it should: the log was
	// forked, rolled back, or is missing an entry.
	ErrProof = errors.New("the log's proof does not hold")
	// ErrSignature means a checkpoint or receipt is not signed by the key
	// it should be.
	ErrSignature = errors.New("the log's signature does not hold")
)

// Kind is what a log entry records.
type Kind byte

// Entry kinds. Part of the format: never renumber.
const (
	// KindRevision: a revision, as the server stored it.
	KindRevision Kind = 1
	// KindStatement: a signed statement (roster and membership facts,
	// recovery keys, revocations), by its ID.
	KindStatement Kind = 2
	// KindAuditHead: the head of a device's audit chain in a case, as the
	// device reported it at a sync: truncating the chain's tail later shows.
	KindAuditHead Kind = 3
)

// Entry is one leaf of the log.
type Entry struct {
	Kind      Kind
	Rev       record.RevID // revision
	CaseID    string       // revision, audit head
	RecordID  string       // revision
	RecKind   record.Kind  // revision: the record's kind
	Epoch     uint32       // revision: the case key epoch its body is sealed (or, a keyring, wrapped) under
	Device    string       // revision, audit head
	Seq       uint64       // revision: the device's sequence number; audit head: the chain's last event
	Statement string       // statement: trust.Signed.ID
	Head      [32]byte     // audit head: the hash of the chain's last event
	Sig       []byte       // audit head: the device's signature (AuditHeadMessage)
}

// AuditHeadMessage is what a device signs of an audit head: the server
// cannot anchor a head the device did not report.
func AuditHeadMessage(device, caseID string, seq uint64, head [32]byte) []byte {
	b := []byte("fieldcase audit head v1\x00")
	b = wire.AppendString(b, device)
	b = wire.AppendString(b, caseID)
	b = wire.AppendUvarint(b, seq)
	return append(b, head[:]...)
}

// VerifyAuditHead checks an audit-head entry's signature against the
// device's signing key.
func (e Entry) VerifyAuditHead(pub ed25519.PublicKey) bool {
	return e.Kind == KindAuditHead && len(pub) == ed25519.PublicKeySize && len(e.Sig) == ed25519.SignatureSize &&
		ed25519.Verify(pub, AuditHeadMessage(e.Device, e.CaseID, e.Seq, e.Head), e.Sig)
}

const entryLabel = "fieldcase log entry v1\x00"

// Marshal is the entry's canonical encoding: the leaf data the tree hashes.
func (e Entry) Marshal() []byte {
	b := append([]byte(entryLabel), byte(e.Kind))
	switch e.Kind {
	case KindRevision:
		b = append(b, e.Rev[:]...)
		b = wire.AppendString(b, e.CaseID)
		b = wire.AppendString(b, e.RecordID)
		b = wire.AppendString(b, string(e.RecKind))
		b = wire.AppendUvarint(b, uint64(e.Epoch))
		b = wire.AppendString(b, e.Device)
		b = wire.AppendUvarint(b, e.Seq)
	case KindStatement:
		b = wire.AppendString(b, e.Statement)
	case KindAuditHead:
		b = wire.AppendString(b, e.CaseID)
		b = wire.AppendString(b, e.Device)
		b = wire.AppendUvarint(b, e.Seq)
		b = append(b, e.Head[:]...)
		b = wire.AppendBytes(b, e.Sig)
	}
	return b
}

// UnmarshalEntry decodes an entry; only the canonical encoding is accepted.
func UnmarshalEntry(b []byte) (Entry, error) {
	var e Entry
	if !bytes.HasPrefix(b, []byte(entryLabel)) {
		return e, fmt.Errorf("%w: not a log entry", ErrMalformed)
	}
	d := wire.Decoder{B: b[len(entryLabel):]}
	e.Kind = Kind(d.Byte())
	switch e.Kind {
	case KindRevision:
		copy(e.Rev[:], d.Fixed(32))
		e.CaseID = d.String(record.MaxIDLen)
		e.RecordID = d.String(record.MaxIDLen)
		e.RecKind = record.Kind(d.String(record.MaxIDLen))
		epoch := d.Uvarint()
		e.Epoch = uint32(epoch)
		if uint64(e.Epoch) != epoch || !e.RecKind.Valid() {
			d.Fail()
		}
		e.Device = d.String(record.MaxIDLen)
		e.Seq = d.Uvarint()
	case KindStatement:
		e.Statement = d.String(128)
	case KindAuditHead:
		e.CaseID = d.String(record.MaxIDLen)
		e.Device = d.String(record.MaxIDLen)
		e.Seq = d.Uvarint()
		copy(e.Head[:], d.Fixed(32))
		e.Sig = d.Bytes(ed25519.SignatureSize)
		if len(e.Sig) != ed25519.SignatureSize {
			d.Fail()
		}
	default:
		return e, fmt.Errorf("%w: entry kind %d", ErrMalformed, byte(e.Kind))
	}
	d.End()
	if d.Failed() {
		return e, fmt.Errorf("%w: truncated or malformed entry", ErrMalformed)
	}
	return e, nil
}

// RevisionEntry is the entry logging a revision. Beside the ids it names
// the record's kind and the key epoch of its body (both visible to the
// server already): a member's device learns from the log alone which of a
// case's revisions it must be handed (those of epochs it holds the key of)
// and where a rotation that left it out took effect.
func RevisionEntry(r *record.Revision) Entry {
	return Entry{Kind: KindRevision, Rev: r.Rev, CaseID: r.CaseID, RecordID: r.RecordID, RecKind: r.Kind,
		Epoch: RevisionEpoch(r), Device: r.Device, Seq: r.Seq}
}

// RevisionEpoch is the case key epoch a revision's body names: a keyring's
// epoch, or the one in a sealed body's header; 0 when the body names none.
func RevisionEpoch(r *record.Revision) uint32 {
	if r.Kind == record.KindKeyring {
		if k, err := sealed.DecodeKeyring(r.Body); err == nil {
			return k.Epoch
		}
		return 0
	}
	if e, err := crypto.SealedEpoch(r.Body); err == nil {
		return e
	}
	return 0
}

// SameRevision reports whether two revision entries log the same revision
// alike.
func (e Entry) SameRevision(o Entry) bool {
	return e.Kind == KindRevision && o.Kind == KindRevision && e.Rev == o.Rev && e.CaseID == o.CaseID &&
		e.RecordID == o.RecordID && e.RecKind == o.RecKind && e.Epoch == o.Epoch && e.Device == o.Device && e.Seq == o.Seq
}

// Hash is the entry's leaf hash: tlog's record hash of its Leaf.
func (e Entry) Hash() tlog.Hash { return tlog.RecordHash(e.Leaf()) }

// The tree does not hash an entry's full encoding but its leaf: for a
// revision or an audit head, the case's tag and a hash of the encoding;
// for a statement, the encoding itself (every device gets every
// statement). So the log can be followed whole by every device while the
// details of a case's entries (which device wrote, its number, the record,
// its kind and key epoch) go only to those who may read the case: the
// others get the leaf, enough to hash the tree, to see that an entry of
// some case sits there, and, for a case they read, to notice a server that
// keeps its details from them.
const leafLabel = "fieldcase log leaf v1\x00"

// CaseTag is a case's tag in the log's leaves: it names the case to those
// who know its id, and to nobody else.
func CaseTag(caseID string) [32]byte {
	return sha256.Sum256(append([]byte("fieldcase log case tag v1\x00"), caseID...))
}

// Leaf is the entry's leaf data, what the tree hashes.
func (e Entry) Leaf() []byte {
	full := e.Marshal()
	if e.Kind == KindStatement {
		return append([]byte(leafLabel), full...)
	}
	b := append([]byte(leafLabel), byte(e.Kind))
	tag := CaseTag(e.CaseID)
	b = append(b, tag[:]...)
	h := sha256.Sum256(full)
	return append(b, h[:]...)
}

// LeafHash is the leaf hash of an entry's full encoding (Marshal), as the
// server stores it.
func LeafHash(full []byte) (tlog.Hash, error) {
	e, err := UnmarshalEntry(full)
	if err != nil {
		return tlog.Hash{}, err
	}
	return e.Hash(), nil
}

// Leaf is a leaf as a device outside the case gets it: what it logs
// (Kind), of which case (Tag), and the hash of the details it is not
// shown (Details). A statement's leaf carries the statement itself (Entry).
type Leaf struct {
	Kind    Kind
	Tag     [32]byte
	Details [32]byte
	Entry   *Entry // statements only
}

// ParseLeaf decodes a leaf's data.
func ParseLeaf(b []byte) (Leaf, error) {
	var l Leaf
	if !bytes.HasPrefix(b, []byte(leafLabel)) {
		return l, fmt.Errorf("%w: not a log leaf", ErrMalformed)
	}
	b = b[len(leafLabel):]
	if bytes.HasPrefix(b, []byte(entryLabel)) {
		e, err := UnmarshalEntry(b)
		if err != nil {
			return l, err
		}
		if e.Kind != KindStatement {
			return l, fmt.Errorf("%w: a %d entry in full in a leaf", ErrMalformed, e.Kind)
		}
		l.Kind, l.Entry = e.Kind, &e
		return l, nil
	}
	if len(b) != 1+32+32 || (Kind(b[0]) != KindRevision && Kind(b[0]) != KindAuditHead) {
		return l, fmt.Errorf("%w: log leaf", ErrMalformed)
	}
	l.Kind = Kind(b[0])
	copy(l.Tag[:], b[1:33])
	copy(l.Details[:], b[33:])
	return l, nil
}

// Data is the leaf's data again (what ParseLeaf read).
func (l Leaf) Data() []byte {
	if l.Entry != nil {
		return l.Entry.Leaf()
	}
	b := append([]byte(leafLabel), byte(l.Kind))
	b = append(b, l.Tag[:]...)
	return append(b, l.Details[:]...)
}

// Checkpoint is a signed statement of the log's size and root.
type Checkpoint struct {
	Origin string // names the log: "fieldcase/<server id>"
	Size   int64
	Root   tlog.Hash
}

// Text is the checkpoint's note text (C2SP tlog-checkpoint).
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

// ParseCheckpoint reads a checkpoint's note text (further lines, which the
// format allows for extensions, are refused: this log has none).
func ParseCheckpoint(text string) (Checkpoint, error) {
	var c Checkpoint
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" || lines[0] == "" {
		return c, fmt.Errorf("%w: checkpoint text", ErrMalformed)
	}
	c.Origin = lines[0]
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return c, fmt.Errorf("%w: checkpoint size", ErrMalformed)
	}
	c.Size = n
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return c, fmt.Errorf("%w: checkpoint root", ErrMalformed)
	}
	copy(c.Root[:], root)
	return c, nil
}

// Signed is a checkpoint as a signed note: the log's signature and any
// witnesses' cosignatures.
type Signed []byte

// LogKey is the log's signing key, in note's private key format.
type LogKey struct {
	signer note.Signer
	vkey   string
}

// GenerateLogKey makes a log key named name (e.g. "fieldcase-log.<server>").
func GenerateLogKey(name string) (skey, vkey string, err error) {
	return note.GenerateKey(nil, name)
}

// NewLogKey loads a private log key (note format).
func NewLogKey(skey, vkey string) (*LogKey, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("%w: log key: %v", ErrMalformed, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil || v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		return nil, fmt.Errorf("%w: log key does not match its public key", ErrMalformed)
	}
	return &LogKey{signer: s, vkey: vkey}, nil
}

// Public is the log's public key (note verifier format).
func (k *LogKey) Public() string { return k.vkey }

// Sign signs a checkpoint.
func (k *LogKey) Sign(c Checkpoint) (Signed, error) {
	return note.Sign(&note.Note{Text: c.Text()}, k.signer)
}

// Cosign adds a witness's signature to a signed checkpoint (keeping the
// others as they are).
func Cosign(s Signed, w note.Signer) (Signed, error) {
	n, err := note.Open(s, note.VerifierList())
	var unv *note.UnverifiedNoteError
	if errors.As(err, &unv) {
		n = unv.Note
	} else if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	keep := &note.Note{Text: n.Text, Sigs: n.UnverifiedSigs}
	return note.Sign(keep, w)
}

// Open checks a signed checkpoint against the log's public key and returns
// it, with the names of the witnesses (among known) whose cosignatures
// verify. A cosignature by an unknown key is ignored; one that does not
// verify is an error.
func Open(s Signed, logKey string, witnesses ...note.Verifier) (Checkpoint, []string, error) {
	lv, err := note.NewVerifier(logKey)
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("%w: log key: %v", ErrMalformed, err)
	}
	n, err := note.Open(s, note.VerifierList(append([]note.Verifier{lv}, witnesses...)...))
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("%w: checkpoint: %v", ErrSignature, err)
	}
	logSigned := false
	var by []string
	for _, sig := range n.Sigs {
		if sig.Name == lv.Name() && sig.Hash == lv.KeyHash() {
			logSigned = true
		} else {
			by = append(by, sig.Name)
		}
	}
	if !logSigned {
		return Checkpoint{}, nil, fmt.Errorf("%w: checkpoint not signed by the log", ErrSignature)
	}
	c, err := ParseCheckpoint(n.Text)
	return c, by, err
}

// WitnessSigner makes a note signer from a device's signing key: name is
// "fieldcase-witness.<device id>", sign the device's signing function.
func WitnessSigner(deviceID string, pub ed25519.PublicKey, sign func([]byte) []byte) (note.Signer, error) {
	name := WitnessName(deviceID)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return witnessSigner{name: name, hash: v.KeyHash(), sign: sign}, nil
}

// WitnessVerifier checks a device's cosignatures.
func WitnessVerifier(deviceID string, pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := note.NewEd25519VerifierKey(WitnessName(deviceID), pub)
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(vkey)
}

// WitnessName is the note name a device cosigns under.
func WitnessName(deviceID string) string { return "fieldcase-witness." + deviceID }

type witnessSigner struct {
	name string
	hash uint32
	sign func([]byte) []byte
}

func (w witnessSigner) Name() string                    { return w.name }
func (w witnessSigner) KeyHash() uint32                 { return w.hash }
func (w witnessSigner) Sign(msg []byte) ([]byte, error) { return w.sign(msg), nil }

// Proof is a list of hashes (tlog's inclusion or consistency proof).
type Proof []tlog.Hash

// CheckInclusion checks that e is the entry at index in the tree c.
func CheckInclusion(c Checkpoint, index int64, e Entry, p Proof) error {
	if index < 0 || index >= c.Size {
		return fmt.Errorf("%w: entry %d is beyond a tree of %d", ErrProof, index, c.Size)
	}
	if err := tlog.CheckRecord(tlog.RecordProof(p), c.Size, c.Root, index, e.Hash()); err != nil {
		return fmt.Errorf("%w: entry %d is not in the tree of %d: %v", ErrProof, index, c.Size, err)
	}
	return nil
}

// CheckConsistency checks that the tree newer extends the tree older: no
// entry of older was changed or dropped (no fork, no rollback).
func CheckConsistency(older, newer Checkpoint, p Proof) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("%w: checkpoints of two logs (%q, %q)", ErrProof, older.Origin, newer.Origin)
	}
	if newer.Size < older.Size {
		return fmt.Errorf("%w: the log shrank from %d to %d entries", ErrProof, older.Size, newer.Size)
	}
	if newer.Size == older.Size {
		if newer.Root != older.Root {
			return fmt.Errorf("%w: two different trees of %d entries", ErrProof, newer.Size)
		}
		return nil
	}
	if older.Size == 0 {
		return nil
	}
	if err := tlog.CheckTree(tlog.TreeProof(p), newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("%w: the tree of %d does not extend the tree of %d: %v", ErrProof, newer.Size, older.Size, err)
	}
	return nil
}

// Receipt is the server's signed word that it stored a revision at a log
// index at a time: with the log, it proves delivery.
type Receipt struct {
	Rev   record.RevID `json:"rev"`
	Index int64        `json:"index"`
	Time  time.Time    `json:"time"` // UTC, milliseconds
	Sig   []byte       `json:"sig"`
}

func (r Receipt) message() []byte {
	b := []byte("fieldcase receipt v1\x00")
	b = append(b, r.Rev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Index))
	return binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixMilli()))
}

// SignReceipt signs a receipt with the log key.
func (k *LogKey) SignReceipt(rev record.RevID, index int64, t time.Time) (Receipt, error) {
	r := Receipt{Rev: rev, Index: index, Time: t.UTC().Truncate(time.Millisecond)}
	sig, err := k.signer.Sign(r.message())
	if err != nil {
		return r, err
	}
	r.Sig = sig
	return r, nil
}

// Verify checks a receipt against the log's public key.
func (r Receipt) Verify(logKey string) error {
	pub, err := LogPublicKey(logKey)
	if err != nil {
		return err
	}
	if !sigbatch.One(pub, r.message(), r.Sig) {
		return fmt.Errorf("%w: receipt for %s", ErrSignature, r.Rev.Short())
	}
	return nil
}

// VerifyReceipts checks many receipts against the log's public key at once
// (a push answers up to a thousand): ok[i] for rs[i].
func VerifyReceipts(logKey string, rs []Receipt) ([]bool, error) {
	pub, err := LogPublicKey(logKey)
	if err != nil {
		return nil, err
	}
	return sigbatch.Verify(len(rs), func(i int) (ed25519.PublicKey, []byte, []byte) {
		return pub, rs[i].message(), rs[i].Sig
	}), nil
}

// LogPublicKey is the Ed25519 key of a log key in note's verifier format
// (name+hash+base64(algorithm 1 ‖ key)), checked as note checks it.
func LogPublicKey(logKey string) (ed25519.PublicKey, error) {
	if _, err := note.NewVerifier(logKey); err != nil {
		return nil, fmt.Errorf("%w: log key: %v", ErrMalformed, err)
	}
	_, rest, _ := strings.Cut(logKey, "+")
	_, b64, _ := strings.Cut(rest, "+")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 1 {
		return nil, fmt.Errorf("%w: log key is not an Ed25519 key", ErrMalformed)
	}
	return ed25519.PublicKey(raw[1:]), nil
}
