package store

import (
	"encoding/binary"
	"fmt"

	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
)

// head is one head of a record as kept in the heads bucket.
type head = record.Head

// headsEntry is a record's kind and its heads, the value in the heads bucket.
type headsEntry struct {
	Kind  record.Kind
	Heads []head
}

// A heads entry is
//
//	version ‖ kind code ‖ count ‖ count × (rev(32) ‖ generation ‖ hlc ‖ flags) ‖ tag
//
// Version 1 (format-1 vaults) has no tag. Version 2 ends with a MAC under
// the vault key of the record key and everything before the tag (see
// headsTag), so a flipped flag, a swapped rev or an entry moved to another
// record does not verify.
const (
	headsV1 = 1
	headsV2 = 2
)

// marshal encodes the entry without its tag, at version ver.
func (e headsEntry) marshal(ver byte) []byte {
	b := make([]byte, 0, 3+len(e.Heads)*48+macSize)
	b = append(b, ver, sealed.KindCode(e.Kind))
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

// decodeHeads decodes a heads entry body (its tag already checked and cut
// off) straight into working-set heads. A record with one head (nearly all)
// takes it from arena when arena has room; the slice's capacity is capped,
// so appending to it later copies.
func decodeHeads(b []byte, ver byte, arena *[]Head) (record.Kind, []Head, error) {
	var hs []Head
	k, err := parseHeads(b, ver, func(n int) {
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

func unmarshalHeads(b []byte, ver byte) (headsEntry, error) {
	var e headsEntry
	k, err := parseHeads(b, ver, func(n int) { e.Heads = make([]head, 0, n) }, func(h head) { e.Heads = append(e.Heads, h) })
	e.Kind = k
	return e, err
}

var errBadHeads = fmt.Errorf("%w: heads entry", ErrCorrupt)

// parseHeads decodes a heads entry body of version ver: count is called
// with the number of heads, then each is passed to add.
func parseHeads(b []byte, ver byte, count func(int), add func(head)) (record.Kind, error) {
	bad := errBadHeads // not built per call: unlock parses one an entry
	if len(b) < 3 || b[0] != ver {
		return "", bad
	}
	k, ok := sealed.KindOf(b[1])
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
