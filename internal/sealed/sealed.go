// Package sealed is the format of a record body: how its plaintext is
// encoded and sealed under a case key, and how a keyring body carries a
// wrapped case key. The device vault and the agency's recovery export read
// and write the same bytes, so the format lives once, here.
package sealed

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// ErrBody means a body's plaintext does not decode.
var ErrBody = errors.New("malformed record body")

// A body's plaintext, before sealing, is
//
//	format(1) ‖ kind(1 byte, record kind code) ‖ content
//
// where content is, by format:
//
//	1 raw     JSON
//	2 zstd    JSON, zstd-compressed
//	3 padded  inner format(1: raw or 2: zstd) ‖ length(uvarint) ‖ content of
//	          the inner format ‖ zero bytes, up to a Padmé length (see padme)
//
// Seal writes format 3 only; formats 1 and 2 are still read (vaults and
// servers hold them). The kind inside the sealed part means a server that
// relabels a revision's kind gets a body that refuses to decode.
const (
	bodyRaw    = 1
	bodyZstd   = 2
	bodyPadded = 3
	// compressMin is the size below which compressing costs more than it saves.
	compressMin = 200
	// maxPlain bounds a decompressed body, against decompression bombs.
	maxPlain = 16 << 20
)

var (
	zenc     *zstd.Encoder
	zdec     *zstd.Decoder
	zenvOnce sync.Once
)

func zstdCodecs() (*zstd.Encoder, *zstd.Decoder) {
	zenvOnce.Do(func() {
		var err error
		zenc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(err)
		}
		zdec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxPlain))
		if err != nil {
			panic(err)
		}
	})
	return zenc, zdec
}

// Kind codes inside a body; part of the format: never renumber.
var kindCodes = map[record.Kind]byte{}
var kindByCode = map[byte]record.Kind{}

func init() {
	for i, k := range []record.Kind{record.KindCase, record.KindNote, record.KindConsent, record.KindTask,
		record.KindRecording, record.KindKeyring, record.KindAudit, record.KindPolicy} {
		kindCodes[k] = byte(i + 1)
		kindByCode[byte(i+1)] = k
	}
}

// KindCode is the one-byte code of k in the vault's formats (bodies and
// heads entries), or 0 for an unknown kind.
func KindCode(k record.Kind) byte { return kindCodes[k] }

// KindOf is the kind whose code is c.
func KindOf(c byte) (record.Kind, bool) {
	k, ok := kindByCode[c]
	return k, ok
}

// Place is where a record body belongs.
func Place(caseID, recordID string) crypto.Place {
	return crypto.Place{CaseID: caseID, RecordID: recordID, Purpose: crypto.PurposeRecord}
}

// ChunkPlace is where an audio chunk belongs: take and index of a recording
// of a case, and whether it is the take's last chunk. Chunks are sealed
// under the case key's audio subkey.
func ChunkPlace(caseID, recordingID string, take, index uint32, last bool) crypto.Place {
	return crypto.Place{CaseID: caseID, RecordID: recordingID + ".t" + strconv.FormatUint(uint64(take), 10),
		Purpose: crypto.PurposeAudio, Chunk: index, Last: last}
}

// Seal encodes v as the body of a record of kind k and seals it. The
// plaintext is compressed (above compressMin bytes of JSON), then padded to
// a Padmé length, so the sealed size tells the server the size class of a
// note, not its length.
func Seal(key *crypto.CaseKey, caseID, recordID string, k record.Kind, v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", k, err)
	}
	inner, content := byte(bodyRaw), js
	if len(js) >= compressMin {
		enc, _ := zstdCodecs()
		inner, content = bodyZstd, enc.EncodeAll(js, make([]byte, 0, len(js)))
		defer clear(content)
	}
	plain := pad(kindCodes[k], inner, content)
	defer clear(plain)
	return crypto.Seal(key, Place(caseID, recordID), plain), nil
}

// pad lays out a format-3 plaintext: the header, the content, then zeros up
// to padme of the unpadded length — but never past what a revision may
// carry, so a body that fits unpadded still fits.
func pad(kind, inner byte, content []byte) []byte {
	n := 3 + uvarintLen(uint64(len(content))) + len(content)
	size := padme(n)
	if limit := record.MaxBodySize - crypto.SealOverhead; size > limit {
		size = max(n, limit)
	}
	plain := make([]byte, 0, size)
	plain = append(plain, bodyPadded, kind, inner)
	plain = binary.AppendUvarint(plain, uint64(len(content)))
	plain = append(plain, content...)
	return plain[:cap(plain)] // make zeroed the whole capacity: the tail is the padding
}

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// padme is the Padmé padding of a length L (Nikitin, Barman, Lueks,
// Underwood, Hubaux, Ford: "Reducing Metadata Leakage from Encrypted Files
// and Communication with PURBs", PoPETs 2019(4), Algorithm 1): L rounded up
// so that its lowest E−S bits are zero, where E = ⌊log2 L⌋ and
// S = ⌊log2 E⌋ + 1. The padded length reveals O(log log L) bits of L; the
// overhead is at most 11.7% (at L = 129), and shrinks as L grows (3.1% at
// 64 KiB).
func padme(l int) int {
	if l < 2 {
		return l
	}
	e := bits.Len(uint(l)) - 1 // ⌊log2 L⌋
	s := bits.Len(uint(e))     // ⌊log2 E⌋ + 1
	mask := 1<<(e-s) - 1
	return (l + mask) &^ mask
}

// Open opens a sealed body and returns its JSON.
func Open(key *crypto.CaseKey, caseID, recordID string, k record.Kind, body []byte) ([]byte, error) {
	plain, err := crypto.Open(key, Place(caseID, recordID), body)
	if err != nil {
		return nil, err
	}
	return DecodePlain(plain, k)
}

// Scratch holds the buffers Scratch.Open reuses: one per goroutine.
type Scratch struct{ plain, js []byte }

// Open is Open with s's buffers: the JSON it returns is valid until s is
// used again (Value copies what it keeps).
func (s *Scratch) Open(key *crypto.CaseKey, caseID, recordID string, k record.Kind, body []byte) ([]byte, error) {
	plain, err := crypto.OpenTo(s.plain, key, Place(caseID, recordID), body)
	if err != nil {
		return nil, err
	}
	s.plain = plain
	js, inDst, err := decodePlain(s.js, plain, k)
	if inDst {
		s.js = js // raw content is a slice of plain instead: never kept as s.js
	}
	return js, err
}

// DecodePlain decodes a body's opened plaintext into its JSON. It reads
// every format Seal ever wrote.
func DecodePlain(plain []byte, k record.Kind) ([]byte, error) {
	js, _, err := decodePlain(nil, plain, k)
	return js, err
}

// decodePlain is DecodePlain decompressing into dst's memory; inDst says
// the JSON was written there (else it is a slice of plain).
func decodePlain(dst, plain []byte, k record.Kind) (js []byte, inDst bool, err error) {
	if len(plain) < 2 {
		return nil, false, fmt.Errorf("%w: too short", ErrBody)
	}
	if kindByCode[plain[1]] != k {
		return nil, false, fmt.Errorf("%w: body is a %q, revision says %q", ErrBody, kindByCode[plain[1]], k)
	}
	format, content := plain[0], plain[2:]
	if format == bodyPadded {
		if format, content, err = unpad(content); err != nil {
			return nil, false, err
		}
	}
	switch format {
	case bodyRaw:
		return content, false, nil
	case bodyZstd:
		_, dec := zstdCodecs()
		out, err := dec.DecodeAll(content, dst[:0])
		if err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrBody, err)
		}
		return out, true, nil
	}
	return nil, false, fmt.Errorf("%w: format %d", ErrBody, plain[0])
}

// unpad reads a format-3 body after its format and kind bytes: the inner
// format (raw or zstd, never padded again) and the content. The padding must
// be zeros, so one body has one encoding.
func unpad(b []byte) (byte, []byte, error) {
	if len(b) < 2 || (b[0] != bodyRaw && b[0] != bodyZstd) {
		return 0, nil, fmt.Errorf("%w: padded body header", ErrBody)
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || n > uint64(len(b)-1-w) {
		return 0, nil, fmt.Errorf("%w: padded body length", ErrBody)
	}
	content, rest := b[1+w:1+w+int(n)], b[1+w+int(n):]
	for _, c := range rest {
		if c != 0 {
			return 0, nil, fmt.Errorf("%w: padding is not zero", ErrBody)
		}
	}
	return b[0], content, nil
}

// Value turns body JSON into the typed value of its kind: *record.Case,
// *record.Note, *record.Consent, *record.Task, *record.Recording,
// *record.AuditEvent, or *json.RawMessage for other kinds.
func Value(k record.Kind, js []byte) (any, error) {
	var v any
	switch k {
	case record.KindCase:
		v = new(record.Case)
	case record.KindNote:
		n := new(record.Note)
		if decodeNote(js, n) {
			return n, nil
		}
		*n = record.Note{} // what the fast path left; json.Unmarshal decides
		v = n
	case record.KindConsent:
		v = new(record.Consent)
	case record.KindTask:
		v = new(record.Task)
	case record.KindRecording:
		v = new(record.Recording)
	case record.KindAudit:
		v = new(record.AuditEvent)
	default:
		m := json.RawMessage(append([]byte(nil), js...))
		return &m, nil
	}
	if err := json.Unmarshal(js, v); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBody, k, err)
	}
	return v, nil
}

// Keyring is the body of a keyring record: a case key at one epoch, wrapped
// in an age file to every member, and who the case's members are at that
// epoch. It is not sealed under a case key (it is how the case key
// travels); a server stores it as opaque bytes, and the revision carrying it
// is signed by the device that wrote it, so the membership is that device's
// word (trust.MayWriteKeyring decides whether it counts).
type Keyring struct {
	Epoch      uint32
	Wrapped    []byte
	Membership trust.Membership
}

// Keyring body versions: 1 had no membership; 2 carries it as JSON.
const (
	keyringV1 = 1
	keyringV2 = 2
)

// Marshal encodes a keyring body: version 1 when it names no membership,
// 2 when it does, so one body has one encoding.
func (k Keyring) Marshal() []byte {
	if k.Membership.IsZero() {
		b := []byte{keyringV1}
		b = binary.BigEndian.AppendUint32(b, k.Epoch)
		return append(b, k.Wrapped...)
	}
	m, _ := json.Marshal(k.Membership)
	b := []byte{keyringV2}
	b = binary.BigEndian.AppendUint32(b, k.Epoch)
	b = binary.AppendUvarint(b, uint64(len(m)))
	b = append(b, m...)
	return append(b, k.Wrapped...)
}

// maxMembership bounds a keyring's membership JSON.
const maxMembership = 1 << 20

// DecodeKeyring decodes a keyring body. A version 1 body has an empty
// membership.
func DecodeKeyring(b []byte) (Keyring, error) {
	bad := fmt.Errorf("%w: keyring body", ErrBody)
	if len(b) < 6 || (b[0] != keyringV1 && b[0] != keyringV2) {
		return Keyring{}, bad
	}
	version := b[0]
	k := Keyring{Epoch: binary.BigEndian.Uint32(b[1:5])}
	b = b[5:]
	if version == keyringV2 {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > maxMembership || n > uint64(len(b)-w) {
			return Keyring{}, bad
		}
		m := b[w : w+int(n)]
		if err := json.Unmarshal(m, &k.Membership); err != nil {
			return Keyring{}, fmt.Errorf("%w: keyring membership: %v", ErrBody, err)
		}
		// Only the canonical encoding: the bytes are signed as they are.
		if again, _ := json.Marshal(k.Membership); k.Membership.IsZero() || !bytes.Equal(again, m) {
			return Keyring{}, fmt.Errorf("%w: keyring membership is not in its canonical form", ErrBody)
		}
		b = b[w+int(n):]
	}
	if len(b) == 0 {
		return Keyring{}, bad
	}
	k.Wrapped = b
	return k, nil
}

// Unwrap opens a keyring body with id: the case key at its epoch.
func (k Keyring) Unwrap(id *crypto.Identity, caseID string) (*crypto.CaseKey, error) {
	return crypto.UnwrapKey(k.Wrapped, id, caseID, k.Epoch)
}
