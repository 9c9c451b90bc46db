// Package sealed is the format of a record body: how its plaintext is
// encoded and sealed under a case key, and how a keyring body carries a
// wrapped case key. The device vault and the agency's recovery export read
// and write the same bytes, so the format lives once, here.
package sealed

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
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
//	format(1) ‖ kind(1 byte, record kind code) ‖ JSON, zstd-compressed when format is 2
//
// The kind inside the sealed part means a server that relabels a revision's
// kind gets a body that refuses to decode.
const (
	bodyRaw  = 1
	bodyZstd = 2
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

// Seal encodes v as the body of a record of kind k and seals it.
func Seal(key *crypto.CaseKey, caseID, recordID string, k record.Kind, v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", k, err)
	}
	plain := make([]byte, 2, 2+len(js))
	plain[0], plain[1] = bodyRaw, kindCodes[k]
	if len(js) >= compressMin {
		enc, _ := zstdCodecs()
		plain[0] = bodyZstd
		plain = enc.EncodeAll(js, plain)
	} else {
		plain = append(plain, js...)
	}
	defer clear(plain)
	return crypto.Seal(key, Place(caseID, recordID), plain), nil
}

// Open opens a sealed body and returns its JSON.
func Open(key *crypto.CaseKey, caseID, recordID string, k record.Kind, body []byte) ([]byte, error) {
	plain, err := crypto.Open(key, Place(caseID, recordID), body)
	if err != nil {
		return nil, err
	}
	return DecodePlain(plain, k)
}

// DecodePlain decodes a body's opened plaintext into its JSON.
func DecodePlain(plain []byte, k record.Kind) ([]byte, error) {
	if len(plain) < 2 {
		return nil, fmt.Errorf("%w: too short", ErrBody)
	}
	if kindByCode[plain[1]] != k {
		return nil, fmt.Errorf("%w: body is a %q, revision says %q", ErrBody, kindByCode[plain[1]], k)
	}
	switch plain[0] {
	case bodyRaw:
		return plain[2:], nil
	case bodyZstd:
		_, dec := zstdCodecs()
		out, err := dec.DecodeAll(plain[2:], nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBody, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: format %d", ErrBody, plain[0])
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
		v = new(record.Note)
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

// Marshal encodes a keyring body.
func (k Keyring) Marshal() []byte {
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
