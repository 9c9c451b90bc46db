package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

// TestIndexMatchesScan checks the index (packed short words, long words,
// uvarint postings, frozen and live segments, replaced and removed notes)
// against reading every note's words, for random notes and queries.
func TestIndexMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Short and long words, shared prefixes, a word of exactly 8 and 9
	// bytes, and letters outside ASCII (two bytes each in UTF-8).
	vocab := []string{"ab", "abc", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "zz", "zzz9", "école", "écoles",
		"straße", "strasse", "12", "123456789012", "visit", "visitor", "visits", "a1", "ünïcödé-wörd"}
	text := func() string {
		n := 1 + rng.IntN(30)
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[rng.IntN(len(vocab))]
			if rng.IntN(4) == 0 {
				ws[i] = strings.ToUpper(ws[i])
			}
		}
		return strings.Join(ws, " ")
	}
	ix := newSearchIndex()
	texts := map[string]string{}
	// Two segments built as LoadNotes builds them, then frozen.
	for s := 0; s < 2; s++ {
		seg := newSegment()
		var buf []byte
		for i := 0; i < 200; i++ {
			id := fmt.Sprintf("n%d-%03d", s, i)
			texts[id] = text()
			buf = seg.add(id, &record.Note{Kind: "visit", Text: texts[id]}, buf)
			ix.adopt(seg, uint32(len(seg.docs)-1), record.RevID{})
		}
		seg.freeze()
		ix.addSegment(seg)
	}
	// Later edits and deletions go to the live segment.
	for i := 0; i < 100; i++ {
		id := fmt.Sprintf("n%d-%03d", rng.IntN(2), rng.IntN(200))
		if rng.IntN(5) == 0 {
			ix.remove(id)
			delete(texts, id)
			continue
		}
		texts[id] = text()
		ix.put(id, record.RevID{}, &record.Note{Kind: "visit", Text: texts[id]})
	}
	scan := func(q string) []string {
		qw := words(q)
		var out []string
		for id, txt := range texts {
			nw := words(txt + " visit")
			ok := true
			for i, w := range qw {
				if i == len(qw)-1 {
					ok = ok && slices.ContainsFunc(nw, func(x string) bool { return strings.HasPrefix(x, w) })
				} else {
					ok = ok && slices.Contains(nw, w)
				}
			}
			if ok {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	queries := []string{"ab", "abcdefgh", "abcdefghi", "abcdefghij", "ÉCOLE", "éc", "stra", "strasse", "12",
		"1234567890", "zz ab", "abc zzz", "visit", "visito", "nothing", "abcdefghi zz", "ünïcödé wörd"}
	for i := 0; i < 30; i++ {
		queries = append(queries, vocab[rng.IntN(len(vocab))]+" "+vocab[rng.IntN(len(vocab))][:2])
	}
	check := func(name string, ix *searchIndex) {
		t.Helper()
		for _, q := range queries {
			got := ix.query(q)
			slices.Sort(got)
			if want := scan(q); !slices.Equal(got, want) {
				t.Errorf("%s index, query %q: got %d notes %v, want %d %v", name, q, len(got), got, len(want), want)
			}
		}
	}
	check("built", ix)
	// The same index as a checkpoint stores it (merged, encoded, sealed
	// in a vault's bucket) and an unlock loads it, and the index a
	// checkpoint leaves in memory (the merged segment, then more edits).
	loaded := newSearchIndex()
	loaded.addSegment(roundTrip(t, ix))
	for _, s := range loaded.segs {
		for d, id := range s.docs {
			if id != "" {
				loaded.adopt(s, uint32(d), record.RevID{})
			}
		}
	}
	check("loaded", loaded)
	compacted := ix
	c := &indexCapture{whole: true}
	compacted.live.freeze()
	for _, s := range compacted.segs {
		c.segs = append(c.segs, s)
		for d, id := range s.docs {
			if r, ok := compacted.byID[id]; ok && r.seg == s && r.doc == uint32(d) {
				c.docs = append(c.docs, liveDoc{s, uint32(d), id})
			}
		}
	}
	compacted.live = newSegment()
	compacted.segs = append(compacted.segs, compacted.live)
	compacted.replaceSegments(c, mergeSegments(c.segs, c.docs))
	if len(compacted.segs) != 2 {
		t.Fatalf("after compaction %d segments, want the merged one and a live one", len(compacted.segs))
	}
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("n%d-%03d", rng.IntN(2), rng.IntN(200))
		texts[id] = text()
		compacted.put(id, record.RevID{}, &record.Note{Kind: "visit", Text: texts[id]})
	}
	check("compacted", compacted)
}

// roundTrip stores ix's live docs as a checkpoint does, in a real vault's
// bucket, and reads them back as an unlock does.
func roundTrip(t *testing.T, ix *searchIndex) *segment {
	t.Helper()
	var keep []liveDoc
	var entries []snapEntry
	for _, s := range ix.segs {
		for d, id := range s.docs {
			if r, ok := ix.byID[id]; ok && r.seg == s && r.doc == uint32(d) {
				keep = append(keep, liveDoc{s, uint32(d), id})
				entries = append(entries, snapEntry{id: id, rev: record.RevID{byte(len(keep))}, note: &record.Note{Kind: "visit"},
					doc: int32(len(keep) - 1)})
			}
		}
	}
	plain := encodeSnapshot(entries, mergeSegments(ix.segs, keep))
	v := MustCreate(t)
	var got []byte
	err := v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		if err := v.update(func(btx *bolt.Tx) error { return putSnapshot(btx, vk, v.vaultID, plain) }); err != nil {
			return err
		}
		return v.view(func(btx *bolt.Tx) error {
			var err error
			got, err = readSnapshot(btx, vk, v.vaultID)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := decodeSnapshot(got, func(b []byte) string { return string(b) })
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.entries) != len(entries) {
		t.Fatalf("%d entries back, want %d", len(snap.entries), len(entries))
	}
	return snap.seg
}
