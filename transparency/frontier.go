package transparency

import (
	"crypto/sha256"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Frontier is the right edge of a Merkle tree grown from its first entry:
// the roots of its complete subtrees, largest first (one per set bit of the
// size). It is all a device needs to follow the whole log, entry by entry,
// and check that the entries the server handed it are exactly the tree the
// server signed: no consistency proof to trust, and no entry can be left
// out of what the device reads.
type Frontier struct {
	Size  int64
	Nodes []tlog.Hash
}

// Append adds an entry's leaf hash.
func (f *Frontier) Append(h tlog.Hash) {
	f.Nodes = append(f.Nodes, h)
	// Each trailing one bit of the old size is a complete subtree the new
	// leaf now pairs with.
	for n := f.Size; n&1 == 1; n >>= 1 {
		k := len(f.Nodes)
		f.Nodes = append(f.Nodes[:k-2], tlog.NodeHash(f.Nodes[k-2], f.Nodes[k-1]))
	}
	f.Size++
}

// Root is the tree's root hash (RFC 6962), the one a checkpoint of Size
// entries must carry.
func (f *Frontier) Root() (tlog.Hash, error) {
	if err := f.check(); err != nil {
		return tlog.Hash{}, err
	}
	if len(f.Nodes) == 0 {
		return tlog.Hash(sha256.Sum256(nil)), nil // RFC 6962: the empty tree's hash
	}
	h := f.Nodes[len(f.Nodes)-1]
	for i := len(f.Nodes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.Nodes[i], h)
	}
	return h, nil
}

// check: a frontier read back from storage has one node per set bit.
func (f *Frontier) check() error {
	if f.Size < 0 || bits.OnesCount64(uint64(f.Size)) != len(f.Nodes) {
		return fmt.Errorf("%w: a frontier of %d entries with %d nodes", ErrMalformed, f.Size, len(f.Nodes))
	}
	return nil
}

// Matches checks that the frontier's tree is the checkpoint's.
func (f *Frontier) Matches(c Checkpoint) error {
	if f.Size != c.Size {
		return fmt.Errorf("%w: followed %d entries of a tree of %d", ErrProof, f.Size, c.Size)
	}
	root, err := f.Root()
	if err != nil {
		return err
	}
	if root != c.Root {
		return fmt.Errorf("%w: the %d entries the server handed out are not the tree it signed", ErrProof, c.Size)
	}
	return nil
}

// MarshalBinary: size (8 bytes, big endian) then the nodes.
func (f *Frontier) MarshalBinary() ([]byte, error) {
	b := make([]byte, 8, 8+len(f.Nodes)*tlog.HashSize)
	for i := 0; i < 8; i++ {
		b[i] = byte(uint64(f.Size) >> (56 - 8*i))
	}
	for _, n := range f.Nodes {
		b = append(b, n[:]...)
	}
	return b, nil
}

// UnmarshalBinary reads MarshalBinary's form.
func (f *Frontier) UnmarshalBinary(b []byte) error {
	if len(b) < 8 || (len(b)-8)%tlog.HashSize != 0 {
		return fmt.Errorf("%w: frontier", ErrMalformed)
	}
	var size uint64
	for i := 0; i < 8; i++ {
		size = size<<8 | uint64(b[i])
	}
	g := Frontier{Size: int64(size)}
	for p := b[8:]; len(p) > 0; p = p[tlog.HashSize:] {
		var h tlog.Hash
		copy(h[:], p)
		g.Nodes = append(g.Nodes, h)
	}
	if err := g.check(); err != nil {
		return err
	}
	*f = g
	return nil
}
