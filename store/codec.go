package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

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

var kindCodes = map[record.Kind]byte{}
var kindByCode = map[byte]record.Kind{}

func init() {
	for i, k := range []record.Kind{record.KindCase, record.KindNote, record.KindConsent, record.KindTask,
		record.KindRecording, record.KindKeyring, record.KindAudit, record.KindPolicy} {
		kindCodes[k] = byte(i + 1)
		kindByCode[byte(i+1)] = k
	}
}

// sealBody encodes v as the body of a record of kind k and seals it.
func sealBody(key *crypto.CaseKey, caseID, recordID string, k record.Kind, v any) ([]byte, error) {
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
	return crypto.Seal(key, crypto.Place{CaseID: caseID, RecordID: recordID, Purpose: crypto.PurposeRecord}, plain), nil
}

// openBody opens a sealed body and returns its JSON.
func openBody(key *crypto.CaseKey, caseID, recordID string, k record.Kind, sealed []byte) ([]byte, error) {
	plain, err := crypto.Open(key, crypto.Place{CaseID: caseID, RecordID: recordID, Purpose: crypto.PurposeRecord}, sealed)
	if err != nil {
		return nil, err
	}
	return decodePlain(plain, k)
}

func decodePlain(plain []byte, k record.Kind) ([]byte, error) {
	if len(plain) < 2 {
		return nil, fmt.Errorf("%w: body too short", ErrCorrupt)
	}
	if kindByCode[plain[1]] != k {
		return nil, fmt.Errorf("%w: body is a %q, revision says %q", ErrCorrupt, kindByCode[plain[1]], k)
	}
	switch plain[0] {
	case bodyRaw:
		return plain[2:], nil
	case bodyZstd:
		_, dec := zstdCodecs()
		out, err := dec.DecodeAll(plain[2:], nil)
		if err != nil {
			return nil, fmt.Errorf("%w: body: %v", ErrCorrupt, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: body format %d", ErrCorrupt, plain[0])
}

// decodeValue turns body JSON into the typed value of its kind.
func decodeValue(k record.Kind, js []byte) (any, error) {
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
	default:
		m := json.RawMessage(append([]byte(nil), js...))
		return &m, nil
	}
	if err := json.Unmarshal(js, v); err != nil {
		return nil, fmt.Errorf("%w: %s body: %v", ErrCorrupt, k, err)
	}
	return v, nil
}

// head is one head of a record as kept in the heads bucket.
type head struct {
	Rev     record.RevID
	Gen     uint64
	HLC     record.HLC
	Deleted bool
}

// headsEntry is a record's kind and its heads, the value in the heads bucket.
type headsEntry struct {
	Kind  record.Kind
	Heads []head
}

func (e headsEntry) marshal() []byte {
	b := []byte{1, kindCodes[e.Kind]}
	b = binary.AppendUvarint(b, uint64(len(e.Heads)))
	for _, h := range e.Heads {
		b = append(b, h.Rev[:]...)
		b = binary.AppendUvarint(b, h.Gen)
		b = binary.AppendUvarint(b, uint64(h.HLC))
		flags := byte(0)
		if h.Deleted {
			flags = 1
		}
		b = append(b, flags)
	}
	return b
}

const maxHeads = 1024

// decodeHeads decodes a heads entry straight into working-set heads. A
// record with one head (nearly all) takes it from arena when arena has room;
// the slice's capacity is capped, so appending to it later copies.
func decodeHeads(b []byte, arena *[]Head) (record.Kind, []Head, error) {
	var hs []Head
	k, err := parseHeads(b, func(n int) {
		if a := *arena; n == 1 && len(a) < cap(a) {
			hs = a[len(a) : len(a) : len(a)+1]
			*arena = a[:len(a)+1]
			return
		}
		hs = make([]Head, 0, n)
	}, func(h head) {
		hs = append(hs, Head{Rev: h.Rev, Gen: h.Gen, HLC: h.HLC, Deleted: h.Deleted})
	})
	return k, hs, err
}

func unmarshalHeads(b []byte) (headsEntry, error) {
	var e headsEntry
	k, err := parseHeads(b, func(n int) { e.Heads = make([]head, 0, n) }, func(h head) { e.Heads = append(e.Heads, h) })
	e.Kind = k
	return e, err
}

// parseHeads decodes a heads entry: count is called with the number of
// heads, then each is passed to add.
func parseHeads(b []byte, count func(int), add func(head)) (record.Kind, error) {
	bad := fmt.Errorf("%w: heads entry", ErrCorrupt)
	if len(b) < 3 || b[0] != 1 {
		return "", bad
	}
	k, ok := kindByCode[b[1]]
	if !ok {
		return "", bad
	}
	b = b[2:]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > maxHeads {
		return "", bad
	}
	b = b[w:]
	count(int(n))
	for i := uint64(0); i < n; i++ {
		if len(b) < 32 {
			return "", bad
		}
		var h head
		copy(h.Rev[:], b[:32])
		b = b[32:]
		if h.Gen, w = binary.Uvarint(b); w <= 0 {
			return "", bad
		}
		b = b[w:]
		hlc, w := binary.Uvarint(b)
		if w <= 0 || len(b) < w+1 {
			return "", bad
		}
		h.HLC = record.HLC(hlc)
		if b[w] > 1 {
			return "", bad
		}
		h.Deleted = b[w] == 1
		b = b[w+1:]
		add(h)
	}
	if len(b) != 0 {
		return "", bad
	}
	return k, nil
}

// Keys: revs are caseID/recordID/rev, heads are caseID/recordID.
func recordKey(caseID, recordID string) []byte {
	k := make([]byte, 0, len(caseID)+len(recordID)+1)
	k = append(k, caseID...)
	k = append(k, '/')
	return append(k, recordID...)
}

func revKey(caseID, recordID string, rev record.RevID) []byte {
	k := recordKey(caseID, recordID)
	k = append(k, '/')
	return append(k, rev[:]...)
}

// splitRecordKey splits caseID/recordID.
func splitRecordKey(k []byte) (caseID, recordID string, ok bool) {
	for i, c := range k {
		if c == '/' {
			return string(k[:i]), string(k[i+1:]), true
		}
	}
	return "", "", false
}
