package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
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
}

// ComputeRev hashes the revision's content.
func (r *Revision) ComputeRev() RevID {
	h := sha256.New()
	var b []byte
	b = append(b, "fieldcase rev v1\x00"...)
	b = appendString(b, r.RecordID)
	b = appendString(b, string(r.Kind))
	b = appendString(b, r.CaseID)
	b = binary.AppendUvarint(b, uint64(len(r.Parents)))
	for _, p := range r.Parents {
		b = append(b, p[:]...)
	}
	b = binary.AppendUvarint(b, r.Generation)
	b = binary.BigEndian.AppendUint64(b, uint64(r.HLC))
	b = appendString(b, r.Device)
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

const codecVersion = 1

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
	b = append(b, codecVersion)
	b = append(b, r.Rev[:]...)
	b = appendString(b, r.RecordID)
	b = append(b, kc)
	b = appendString(b, r.CaseID)
	b = binary.AppendUvarint(b, uint64(len(r.Parents)))
	for _, p := range r.Parents {
		b = append(b, p[:]...)
	}
	b = binary.AppendUvarint(b, r.Generation)
	b = binary.AppendUvarint(b, uint64(r.HLC))
	b = appendString(b, r.Device)
	b = binary.AppendUvarint(b, r.Seq)
	if r.Deleted {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Body)))
	return append(b, r.Body...), nil
}

// UnmarshalRevision decodes one revision from the front of b and returns the
// rest. It checks the encoding, not the content: call Validate for that.
// The returned Body aliases b.
func UnmarshalRevision(b []byte) (*Revision, []byte, error) {
	d := decoder{b: b}
	if d.byte() != codecVersion {
		return nil, nil, fmt.Errorf("%w: unknown revision encoding", ErrInvalid)
	}
	r := &Revision{}
	copy(r.Rev[:], d.bytes(32))
	r.RecordID = d.string()
	kc := d.byte()
	if int(kc) >= len(kinds) || kc == 0 {
		d.fail()
	} else {
		r.Kind = kinds[kc]
	}
	r.CaseID = d.string()
	n := d.uvarint()
	if n > MaxParents {
		d.fail()
	} else if n > 0 {
		r.Parents = make([]RevID, n)
		for i := range r.Parents {
			copy(r.Parents[i][:], d.bytes(32))
		}
	}
	r.Generation = d.uvarint()
	r.HLC = HLC(d.uvarint())
	r.Device = d.string()
	r.Seq = d.uvarint()
	switch d.byte() {
	case 0:
	case 1:
		r.Deleted = true
	default:
		d.fail()
	}
	bl := d.uvarint()
	if bl > MaxBodySize {
		d.fail()
	}
	r.Body = d.bytes(int(bl))
	if d.err {
		return nil, nil, fmt.Errorf("%w: truncated or malformed revision", ErrInvalid)
	}
	return r, d.b, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads from b and latches the first error: callers check err once.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) fail() { d.err = true; d.b = nil }

func (d *decoder) byte() byte {
	if d.err || len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes(n int) []byte {
	if d.err || n < 0 || len(d.b) < n {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	// Only the minimal encoding is accepted, so every revision has exactly
	// one encoding.
	if n <= 0 || n != uvarintLen(v) {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > MaxIDLen {
		d.fail()
		return ""
	}
	return string(d.bytes(int(n)))
}
