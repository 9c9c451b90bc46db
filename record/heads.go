package record

import (
	"bytes"
	"slices"
)

// Head is what the head rule and the winner rule need of a revision that is
// a head of its record: a version nothing stored supersedes.
type Head struct {
	Rev     RevID
	Gen     uint64 // the revision's Generation
	HLC     HLC
	Deleted bool
}

// HeadOf is r as a head.
func HeadOf(r *Revision) Head {
	return Head{Rev: r.Rev, Gen: r.Generation, HLC: r.HLC, Deleted: r.Deleted}
}

// Supersede is the head rule, as one revision of a record arrives: the
// record's heads after r is stored, given heads, its heads before. Every
// head r names as a parent stops being a head (an edit supersedes what it
// edited; a merge or a tombstone supersedes every version). r becomes a
// head unless hasChild: a stored revision already names r as its parent,
// so r arrived after a child and is history, not a version. A revision
// already among heads is not added twice.
//
// Revisions arrive in any order (pulls are reordered, retried, rewound);
// whatever the order, once a set of revisions is stored the heads are
// Heads of that set. heads is modified in place, as slices.DeleteFunc does,
// and the result returned.
func Supersede(heads []Head, r *Revision, hasChild bool) []Head {
	heads = slices.DeleteFunc(heads, func(h Head) bool { return slices.Contains(r.Parents, h.Rev) })
	if !hasChild && !slices.ContainsFunc(heads, func(h Head) bool { return h.Rev == r.Rev }) {
		heads = append(heads, HeadOf(r))
	}
	return heads
}

// Heads is the head rule over a whole set of revisions of one record: those
// that no revision of the set names as a parent, in the order given.
func Heads(revs []*Revision) []*Revision {
	parent := make(map[RevID]bool, len(revs))
	for _, r := range revs {
		for _, p := range r.Parents {
			parent[p] = true
		}
	}
	var out []*Revision
	for _, r := range revs {
		if !parent[r.Rev] {
			out = append(out, r)
		}
	}
	return out
}

// CompareHeads is the winner rule, as a sort order: negative when a wins
// over b. Of two heads of a record (a conflict) the one with the newer
// clock reading wins, then the one with the larger revision id, so every
// device shows the same winner whatever order it learned them in. A
// tombstone wins or loses like any version.
func CompareHeads(a, b Head) int {
	if a.HLC != b.HLC {
		if a.HLC > b.HLC {
			return -1
		}
		return 1
	}
	return -bytes.Compare(a.Rev[:], b.Rev[:])
}

// SortHeads puts the winner first, then the other heads in the order they
// would win.
func SortHeads(hs []Head) { slices.SortFunc(hs, CompareHeads) }

// Winner is the head that wins; false when there are none.
func Winner(hs []Head) (Head, bool) {
	if len(hs) == 0 {
		return Head{}, false
	}
	return slices.MinFunc(hs, CompareHeads), true
}
