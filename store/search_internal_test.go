package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

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
	for _, q := range queries {
		got := ix.query(q)
		slices.Sort(got)
		if want := scan(q); !slices.Equal(got, want) {
			t.Errorf("query %q: got %d notes %v, want %d %v", q, len(got), got, len(want), want)
		}
	}
}
