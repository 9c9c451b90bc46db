package record

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/fieldcase/fieldcase/internal/sigbatch"
	"github.com/fieldcase/fieldcase/internal/wire"
)

// RevID is a revision's content address.
type RevID [32]byte

// String is the lowercase hex form.
func (r RevID) String() string { return hex.EncodeToString(r[:]) }

// Short is the first 12 hex digits, for people.
func (r RevID) Short() string { return r.String()[:12] }

// ParseRevID parses the hex form.
func ParseRevID(s string) (RevID, error) {
	var r RevID
	if len(s) != 64 {
		return r, fmt.Errorf("%w: revision id length %d", ErrInvalid, len(s))
	}
	if _, err := hex.Decode(r[:], []byte(s)); err != nil {
		return r, fmt.Errorf("%w: revision id: %v", ErrInvalid, err)
	}
	return r, nil
}

// MarshalText makes RevID a hex string in JSON.
func (r RevID) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses the hex form.
func (r *RevID) UnmarshalText(b []byte) error {
	v, err := ParseRevID(string(b))
	*r = v
	return err
}

// Limits on revisions; a server refuses anything larger.
const (
	MaxParents  = 16
	MaxBodySize = 4 << 20
)

// Revision is one immutable change to a record. Rev is the hash of every
// other field (Body through its own hash), computed by ComputeRev.
//
// A DESIGN.md note: the design hashes record id, parents, generation and
// body; we hash all metadata too (kind, case, clock, device, sequence,
// deletion), so a server cannot flip a revision into a tombstone, move it to
// another case or reattribute it without changing its id.
type Revision struct {
	Rev        RevID
	RecordID   string
	Kind       Kind
	CaseID     string
	Parents    []RevID // sorted, no duplicates
	Generation uint64  // 1 + the highest parent generation
	HLC        HLC
	Device     string // the device that wrote it
	Seq        uint64 // that device's sequence number: 1, 2, 3, …
	Deleted    bool   // a tombstone
	Body       []byte // sealed
	// Sig is the writing device's Ed25519 signature of Rev (SignedMessage),
	// so nobody without that device's key — the server included — can write
	// or alter a revision in its name. It is not part of Rev: the content
	// address stays what both ends compute.
	Sig []byte
}

// SigSize is the size of a revision signature.
const SigSize = 64

// SignedMessage is what a revision's signature covers: its id, which hashes
// every other field.
func (r *Revision) SignedMessage() []byte {
	return append([]byte("fieldcase rev sig v1\x00"), r.Rev[:]...)
}

// Sign sets Sig; sign is the device's signing function
// (crypto.Identity.Sign), so the private key never leaves its package.
// Call it after Seal.
func (r *Revision) Sign(sign func(msg []byte) []byte) { r.Sig = sign(r.SignedMessage()) }

// VerifySig reports whether Sig is pub's signature of the revision
// (ZIP-215's rules, as in batches: internal/sigbatch).
func (r *Revision) VerifySig(pub ed25519.PublicKey) bool {
	return sigbatch.One(pub, r.SignedMessage(), r.Sig)
}

// ComputeRev hashes the revision's content.
func (r *Revision) ComputeRev() RevID {
	h := sha256.New()
	var b []byte
	b = append(b, "fieldcase rev v1\x00"...)
	b = wire.AppendString(b, r.RecordID)
	b = wire.AppendString(b, string(r.Kind))
	b = wire.AppendString(b, r.CaseID)
	b = binary.AppendUvarint(b, uint64(len(r.Parents)))
	for _, p := range r.Parents {
		b = append(b, p[:]...)
	}
	b = binary.AppendUvarint(b, r.Generation)
	b = binary.BigEndian.AppendUint64(b, uint64(r.HLC))
	b = wire.AppendString(b, r.Device)
	b = binary.AppendUvarint(b, r.Seq)
	if r.Deleted {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	body := sha256.Sum256(r.Body)
	b = append(b, body[:]...)
	h.Write(b)
	var id RevID
	h.Sum(id[:0])
	return id
}

// Seal sorts the parents and sets Rev. Call it once every field is final.
func (r *Revision) Seal() {
	SortRevs(r.Parents)
	r.Parents = slices.Compact(r.Parents)
	r.Rev = r.ComputeRev()
}

// Validate checks the revision's fields and that Rev matches its content.
func (r *Revision) Validate() error {
	if err := ValidID(r.RecordID); err != nil {
		return fmt.Errorf("record id: %w", err)
	}
	if err := ValidID(r.CaseID); err != nil {
		return fmt.Errorf("case id: %w", err)
	}
	if err := ValidID(r.Device); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	if !r.Kind.Valid() {
		return fmt.Errorf("%w: kind %q", ErrInvalid, r.Kind)
	}
	if r.Kind == KindCase && r.RecordID != r.CaseID {
		return fmt.Errorf("%w: a case record's id must be its case id", ErrInvalid)
	}
	if len(r.Parents) > MaxParents {
		return fmt.Errorf("%w: %d parents", ErrInvalid, len(r.Parents))
	}
	for i := 1; i < len(r.Parents); i++ {
		if bytes.Compare(r.Parents[i-1][:], r.Parents[i][:]) >= 0 {
			return fmt.Errorf("%w: parents not sorted and unique", ErrInvalid)
		}
	}
	if r.Generation == 0 || (len(r.Parents) == 0) != (r.Generation == 1) {
		return fmt.Errorf("%w: generation %d with %d parents", ErrInvalid, r.Generation, len(r.Parents))
	}
	if r.Seq == 0 {
		return fmt.Errorf("%w: device sequence 0", ErrInvalid)
	}
	if len(r.Body) > MaxBodySize {
		return fmt.Errorf("%w: body of %d bytes", ErrInvalid, len(r.Body))
	}
	if r.ComputeRev() != r.Rev {
		return fmt.Errorf("%w: revision id does not match its content", ErrInvalid)
	}
	return nil
}

// SortRevs sorts revision ids bytewise.
func SortRevs(rs []RevID) {
	slices.SortFunc(rs, func(a, b RevID) int { return bytes.Compare(a[:], b[:]) })
}

// Encoding versions: 1 has no signature; 2 appends Sig (64 bytes). An
// unsigned revision is written as 1 and a signed one as 2, so one revision
// has exactly one encoding.
const (
	codecV1      = 1
	codecVersion = 2
)

// MarshalBinary encodes the revision compactly (uvarints, length-prefixed
// strings). The encoding is the same on disk and on the wire.
func (r *Revision) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, 128+len(r.Body)))
}

// AppendBinary appends the encoding of r to b.
func (r *Revision) AppendBinary(b []byte) ([]byte, error) {
	kc, ok := r.Kind.code()
	if !ok {
		return nil, fmt.Errorf("%w: kind %q", ErrInvalid, r.Kind)
	}
	switch len(r.Sig) {
	case 0:
		b = append(b, codecV1)
	case SigSize:
		b = append(b, codecVersion)
	default:
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrInvalid, len(r.Sig))
	}
	b = append(b, r.Rev[:]...)
	b = wire.AppendString(b, r.RecordID)
	b = append(b, kc)
	b = wire.AppendString(b, r.CaseID)
	b = binary.AppendUvarint(b, uint64(len(r.Parents)))
	for _, p := range r.Parents {
		b = append(b, p[:]...)
	}
	b = binary.AppendUvarint(b, r.Generation)
	b = binary.AppendUvarint(b, uint64(r.HLC))
	b = wire.AppendString(b, r.Device)
	b = binary.AppendUvarint(b, r.Seq)
	if r.Deleted {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Body)))
	b = append(b, r.Body...)
	if len(r.Sig) == 0 {
		return b, nil
	}
	return wire.AppendBytes(b, r.Sig), nil
}

// UnmarshalRevision decodes one revision from the front of b and returns the
// rest. It checks the encoding, not the content: call Validate for that.
// The returned Body aliases b.
func UnmarshalRevision(b []byte) (*Revision, []byte, error) {
	d := wire.Decoder{B: b}
	version := d.Byte()
	if version != codecV1 && version != codecVersion {
		return nil, nil, fmt.Errorf("%w: unknown revision encoding", ErrInvalid)
	}
	r := &Revision{}
	copy(r.Rev[:], d.Fixed(32))
	r.RecordID = d.String(MaxIDLen)
	kc := d.Byte()
	if int(kc) >= len(kinds) || kc == 0 {
		d.Fail()
	} else {
		r.Kind = kinds[kc]
	}
	r.CaseID = d.String(MaxIDLen)
	n := d.Uvarint()
	if n > MaxParents {
		d.Fail()
	} else if n > 0 {
		r.Parents = make([]RevID, n)
		for i := range r.Parents {
			copy(r.Parents[i][:], d.Fixed(32))
		}
	}
	r.Generation = d.Uvarint()
	r.HLC = HLC(d.Uvarint())
	r.Device = d.String(MaxIDLen)
	r.Seq = d.Uvarint()
	r.Deleted = d.Bool()
	r.Body = d.Bytes(MaxBodySize)
	if version == codecVersion {
		r.Sig = d.Bytes(SigSize)
		if len(r.Sig) != SigSize {
			d.Fail()
		}
	}
	if d.Failed() {
		return nil, nil, fmt.Errorf("%w: truncated or malformed revision", ErrInvalid)
	}
	return r, d.B, nil
}

// VerifySigs checks many revisions' signatures at once (a pulled page or a
// pushed batch holds up to a few thousand): in batches (Ed25519 batch
// verification, about three times the speed of one at a time when all are
// good; a batch with a bad one is checked one by one), spread over the
// machine's cores. key gives each revision's signing key (nil: not valid).
func VerifySigs(revs []*Revision, key func(*Revision) ed25519.PublicKey) []bool {
	return sigbatch.Verify(len(revs), func(i int) (ed25519.PublicKey, []byte, []byte) {
		return key(revs[i]), revs[i].SignedMessage(), revs[i].Sig
	})
}
