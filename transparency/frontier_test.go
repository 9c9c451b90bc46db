package transparency

import (
	"crypto/sha256"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// hashStore is an in-memory tlog.HashReader: tlog's own reference for the
// tree hash the frontier must agree with.
type hashStore []tlog.Hash

func (s hashStore) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = s[x]
	}
	return out, nil
}

func TestFrontierAgreesWithTlog(t *testing.T) {
	var f Frontier
	var stored hashStore
	for n := int64(0); n < 300; n++ {
		root, err := f.Root()
		if err != nil {
			t.Fatal(err)
		}
		want, err := tlog.TreeHash(n, stored)
		if err != nil {
			t.Fatal(err)
		}
		if root != want {
			t.Fatalf("size %d: frontier root %x, tlog %x", n, root, want)
		}
		// round trip through storage at every size
		b, _ := f.MarshalBinary()
		var g Frontier
		if err := g.UnmarshalBinary(b); err != nil || g.Size != f.Size {
			t.Fatalf("size %d: round trip: %v", n, err)
		}
		leaf := sha256.Sum256([]byte{byte(n), byte(n >> 8)})
		h := tlog.RecordHash(leaf[:])
		hs, err := tlog.StoredHashes(n, leaf[:], stored)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		g.Append(h)
		f = g
	}
	if err := f.Matches(Checkpoint{Size: f.Size, Root: mustRoot(t, &f)}); err != nil {
		t.Fatal(err)
	}
	if err := f.Matches(Checkpoint{Size: f.Size}); !errors.Is(err, ErrProof) {
		t.Fatalf("a wrong root matched: %v", err)
	}
	if err := f.Matches(Checkpoint{Size: f.Size + 1}); !errors.Is(err, ErrProof) {
		t.Fatalf("a wrong size matched: %v", err)
	}
}

func TestFrontierRefusesBadStorage(t *testing.T) {
	var f Frontier
	for _, b := range [][]byte{nil, {0}, make([]byte, 8+31), append([]byte{0, 0, 0, 0, 0, 0, 0, 3}, make([]byte, 32)...)} {
		if err := f.UnmarshalBinary(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: %v", b, err)
		}
	}
}

func mustRoot(t *testing.T, f *Frontier) tlog.Hash {
	t.Helper()
	r, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
