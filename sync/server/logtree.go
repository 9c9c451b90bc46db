package server

import (
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// LogAppender computes what appending to the transparency log stores: each
// new leaf's index and tlog's stored hashes for it. It needs only the
// tree's right edge (the hashes of its largest complete subtrees, one per
// set bit of the size, which tlog.TreeHash reads too), read once when it is
// made and kept up to date by each append, so a transaction appending
// thousands of leaves reads the store once. Backends use it to append;
// migrations and tests use it to build a log in memory.
type LogAppender struct {
	size int64
	edge map[int64]tlog.Hash // by stored hash index
}

// edgeIndexes lists the stored hash indexes of the right edge of a tree of
// n leaves: for each set bit L of n, from the highest, the subtree of 2^L
// leaves ending at the bits above L.
func edgeIndexes(n int64) []int64 {
	var idx []int64
	for l := 62; l >= 0; l-- {
		if n&(1<<l) != 0 {
			idx = append(idx, tlog.StoredHashIndex(l, n>>l-1))
		}
	}
	return idx
}

// NewLogAppender starts appending to a log of size leaves whose stored
// hashes r reads (r is not used for an empty log).
func NewLogAppender(size int64, r tlog.HashReader) (*LogAppender, error) {
	if size < 0 {
		return nil, fmt.Errorf("log of %d entries", size)
	}
	a := &LogAppender{size: size, edge: map[int64]tlog.Hash{}}
	if idx := edgeIndexes(size); len(idx) > 0 {
		hs, err := r.ReadHashes(idx)
		if err != nil {
			return nil, fmt.Errorf("reading the log's right edge: %w", err)
		}
		if len(hs) != len(idx) {
			return nil, fmt.Errorf("reading the log's right edge: %d hashes for %d indexes", len(hs), len(idx))
		}
		for i, x := range idx {
			a.edge[x] = hs[i]
		}
	}
	return a, nil
}

// Size is the log's size after the appends so far.
func (a *LogAppender) Size() int64 { return a.size }

func (a *LogAppender) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := a.edge[x]
		if !ok {
			return nil, fmt.Errorf("stored hash %d is not on the log's right edge: %w", x, ErrNotFound)
		}
		out[i] = h
	}
	return out, nil
}

// Append appends a leaf whose record hash is h (transparency.Entry.Hash):
// it returns the leaf's index and the hashes to store from
// tlog.StoredHashIndex(0, index) on.
func (a *LogAppender) Append(h tlog.Hash) (int64, []tlog.Hash, error) {
	n := a.size
	hashes, err := tlog.StoredHashesForRecordHash(n, h, a)
	if err != nil {
		return 0, nil, err
	}
	// The leaf completes the subtrees of its trailing one bits: they leave
	// the edge, and the one they make up joins it.
	m := bits.TrailingZeros64(uint64(n + 1))
	for i := 0; i < m; i++ {
		delete(a.edge, tlog.StoredHashIndex(i, n>>i-1))
	}
	a.edge[tlog.StoredHashIndex(m, n>>m)] = hashes[m]
	a.size++
	return n, hashes, nil
}

// Root is the tree hash of the log so far.
func (a *LogAppender) Root() (tlog.Hash, error) { return tlog.TreeHash(a.size, a) }
