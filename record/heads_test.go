package record_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/quick"

	"github.com/fieldcase/fieldcase/record"
)

func rid(b byte) record.RevID { return record.RevID{b} }

func rev(id byte, hlc uint64, parents ...byte) *record.Revision {
	r := &record.Revision{Rev: rid(id), HLC: record.HLC(hlc), Generation: 1}
	for _, p := range parents {
		r.Parents = append(r.Parents, rid(p))
	}
	if len(parents) > 0 {
		r.Generation = 2
	}
	return r
}

func revIDs(hs []record.Head) []byte {
	var out []byte
	for _, h := range hs {
		out = append(out, h.Rev[0])
	}
	return out
}

func TestSupersede(t *testing.T) {
	for _, tc := range []struct {
		name     string
		heads    []byte
		rev      *record.Revision
		hasChild bool
		want     []byte
	}{
		{"a new record", nil, rev(1, 10), false, []byte{1}},
		{"an edit supersedes what it edited", []byte{1}, rev(2, 11, 1), false, []byte{2}},
		{"a concurrent edit is a conflict", []byte{2}, rev(3, 11, 1), false, []byte{2, 3}},
		{"a merge supersedes every version", []byte{2, 3}, rev(4, 12, 2, 3), false, []byte{4}},
		{"an edit of one version keeps the other", []byte{2, 3}, rev(5, 12, 3), false, []byte{2, 5}},
		{"a parent arriving after its child is history", []byte{2}, rev(1, 10), true, []byte{2}},
		{"a child arriving first, its parent not yet here", nil, rev(2, 11, 1), false, []byte{2}},
		{"a revision already a head is not added twice", []byte{2}, rev(2, 11, 1), false, []byte{2}},
		{"a parent that is no head changes nothing else", []byte{7}, rev(8, 13, 1), false, []byte{7, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var heads []record.Head
			for _, b := range tc.heads {
				heads = append(heads, record.Head{Rev: rid(b)})
			}
			got := revIDs(record.Supersede(heads, tc.rev, tc.hasChild))
			if !slices.Equal(got, tc.want) {
				t.Errorf("heads %v after %d: got %v, want %v", tc.heads, tc.rev.Rev[0], got, tc.want)
			}
		})
	}
	h := record.Supersede(nil, &record.Revision{Rev: rid(9), Generation: 4, HLC: 77, Deleted: true}, false)
	if want := (record.Head{Rev: rid(9), Gen: 4, HLC: 77, Deleted: true}); len(h) != 1 || h[0] != want {
		t.Errorf("a tombstone's head: got %+v, want %+v", h, want)
	}
}

func TestCompareHeads(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b record.Head
		want int // sign
	}{
		{"the newer clock wins", record.Head{Rev: rid(1), HLC: 20}, record.Head{Rev: rid(2), HLC: 10}, -1},
		{"the newer clock wins over a larger id", record.Head{Rev: rid(1), HLC: 20}, record.Head{Rev: rid(9), HLC: 19}, -1},
		{"the older clock loses", record.Head{Rev: rid(9), HLC: 10}, record.Head{Rev: rid(1), HLC: 11}, 1},
		{"on one clock, the larger id wins", record.Head{Rev: rid(9), HLC: 10}, record.Head{Rev: rid(1), HLC: 10}, -1},
		{"on one clock, the smaller id loses", record.Head{Rev: rid(1), HLC: 10}, record.Head{Rev: rid(9), HLC: 10}, 1},
		{"a tombstone wins like any version", record.Head{Rev: rid(1), HLC: 30, Deleted: true}, record.Head{Rev: rid(2), HLC: 10}, -1},
		{"the generation does not count", record.Head{Rev: rid(1), Gen: 1, HLC: 30}, record.Head{Rev: rid(2), Gen: 9, HLC: 10}, -1},
		{"a head against itself", record.Head{Rev: rid(3), HLC: 10}, record.Head{Rev: rid(3), HLC: 10}, 0},
	} {
		got := record.CompareHeads(tc.a, tc.b)
		if sign(got) != tc.want {
			t.Errorf("%s: CompareHeads = %d, want sign %d", tc.name, got, tc.want)
		}
	}
	if _, ok := record.Winner(nil); ok {
		t.Errorf("Winner of no heads: reported one")
	}
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// TestCompareHeadsIsAnOrder checks that the winner rule is a strict total
// order on distinct revisions: antisymmetric, transitive, and zero only for
// the same revision. HLCs are drawn from a small range so ties are common.
func TestCompareHeadsIsAnOrder(t *testing.T) {
	small := func(h record.Head) record.Head { h.HLC %= 4; h.Rev[1] %= 2; return h }
	anti := func(a, b record.Head) bool {
		a, b = small(a), small(b)
		c := record.CompareHeads(a, b)
		return sign(c) == -sign(record.CompareHeads(b, a)) && (c == 0) == (a.Rev == b.Rev && a.HLC == b.HLC)
	}
	trans := func(a, b, c record.Head) bool {
		a, b, c = small(a), small(b), small(c)
		if record.CompareHeads(a, b) < 0 && record.CompareHeads(b, c) < 0 {
			return record.CompareHeads(a, c) < 0
		}
		return true
	}
	cfg := &quick.Config{MaxCount: 300}
	if err := quick.Check(anti, cfg); err != nil {
		t.Error("antisymmetry:", err)
	}
	if err := quick.Check(trans, cfg); err != nil {
		t.Error("transitivity:", err)
	}
}

// history is a random history of one record: n revisions, each naming 0–3
// earlier ones as parents (0 only for the first few: concurrent roots, as
// two devices that made the same record id cannot, but a pull can start
// mid-history), with clocks drawn so that ties happen.
func history(r *rand.Rand, n int) []*record.Revision {
	var revs []*record.Revision
	for i := range n {
		var v record.Revision
		for j := range v.Rev {
			v.Rev[j] = byte(r.IntN(256))
		}
		v.HLC = record.HLC(r.IntN(8))
		v.Deleted = r.IntN(5) == 0
		if i > 0 && (i > 2 || r.IntN(2) == 0) {
			for range 1 + r.IntN(3) {
				p := revs[r.IntN(i)].Rev
				if !slices.Contains(v.Parents, p) {
					v.Parents = append(v.Parents, p)
				}
			}
		}
		v.Generation = 1
		for _, p := range v.Parents {
			for _, q := range revs {
				if q.Rev == p {
					v.Generation = max(v.Generation, q.Generation+1)
				}
			}
		}
		revs = append(revs, &v)
	}
	return revs
}

// apply stores revs one by one in the given order, as a vault does: a
// revision has a child when a revision stored before it names it.
func apply(revs []*record.Revision) []record.Head {
	var heads []record.Head
	stored := map[record.RevID]bool{}
	for _, r := range revs {
		if stored[r.Rev] {
			continue // applying a revision twice is harmless: the vault does not store it again
		}
		hasChild := false
		for _, q := range revs {
			if stored[q.Rev] && slices.Contains(q.Parents, r.Rev) {
				hasChild = true
			}
		}
		heads = record.Supersede(heads, r, hasChild)
		stored[r.Rev] = true
	}
	return heads
}

func headSet(hs []record.Head) []record.RevID {
	out := make([]record.RevID, 0, len(hs))
	for _, h := range hs {
		out = append(out, h.Rev)
	}
	record.SortRevs(out)
	return out
}

// TestHeadRuleProperties checks, over random histories applied in random
// orders (with repeats): the heads do not depend on the order, they are
// exactly the revisions no stored revision names as a parent (Heads), the
// winner does not depend on the order and is always a head, and every head
// is a stored revision.
func TestHeadRuleProperties(t *testing.T) {
	const seed = 20261207
	r := rand.New(rand.NewPCG(seed, 0))
	for iter := range 300 {
		revs := history(r, 1+r.IntN(12))
		want := make([]record.Head, 0)
		for _, h := range record.Heads(revs) {
			want = append(want, record.HeadOf(h))
		}
		wantWinner, _ := record.Winner(want)
		for perm := range 6 {
			order := slices.Clone(revs)
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			if perm%2 == 1 { // a rewound pull: some revisions arrive twice
				order = append(order, order[:r.IntN(len(order))+1]...)
			}
			got := apply(order)
			ctx := fmt.Sprintf("seed %d, history %d, order %d", seed, iter, perm)
			if !slices.Equal(headSet(got), headSet(want)) {
				t.Fatalf("%s: heads %v, want Heads of the set %v", ctx, headSet(got), headSet(want))
			}
			w, ok := record.Winner(got)
			if !ok || w != wantWinner {
				t.Fatalf("%s: winner %v, want %v", ctx, w.Rev, wantWinner.Rev)
			}
			if !slices.Contains(got, w) {
				t.Fatalf("%s: the winner %v is not a head", ctx, w.Rev)
			}
			sorted := slices.Clone(got)
			record.SortHeads(sorted)
			if sorted[0] != w {
				t.Fatalf("%s: SortHeads puts %v first, Winner says %v", ctx, sorted[0].Rev, w.Rev)
			}
		}
	}
}
