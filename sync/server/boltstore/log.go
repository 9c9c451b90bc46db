package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/transparency"
)

// The transparency log (format 3). bbolt has one writer at a time, so
// indexes are taken and committed in the same order: the log is dense and
// in commit order without more.

// errNoLog means a store opened read-only in an older format has no log.
var errNoLog = errors.New("transparency log: store opened read-only in an old format")

func (t *tx) LogSize() (int64, error) {
	if t.log != nil {
		return t.log.Size(), nil
	}
	return int64(getU64(t.b(Layout.Meta), MetaKeys.LogSize)), nil
}

func (t *tx) AppendLog(e transparency.Entry, at time.Time) (int64, error) {
	if !t.btx.Writable() {
		return 0, fmt.Errorf("appending to the log: %w", bolt.ErrTxNotWritable)
	}
	leaves := t.b(Layout.LogLeaves)
	if leaves == nil {
		return 0, errNoLog
	}
	if t.log == nil {
		size, _ := t.LogSize()
		a, err := server.NewLogAppender(size, t)
		if err != nil {
			return 0, fmt.Errorf("appending to the log: %w", err)
		}
		t.log = a
	}
	leaf := e.Marshal()
	n, hashes, err := t.log.Append(e.Hash())
	if err != nil {
		return 0, fmt.Errorf("appending to the log: %w", err)
	}
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(leaf)), uint64(at.UnixMilli()))
	if err := leaves.Put(u64(uint64(n)), append(v, leaf...)); err != nil {
		return 0, err
	}
	hb := t.b(Layout.LogHashes)
	first := tlog.StoredHashIndex(0, n)
	for i, h := range hashes {
		if err := hb.Put(u64(uint64(first+int64(i))), bytes.Clone(h[:])); err != nil {
			return 0, err
		}
	}
	if e.Kind == transparency.KindRevision {
		if t.revIndex != nil {
			t.revIndex = append(t.revIndex, [2][]byte{bytes.Clone(e.Rev[:]), u64(uint64(n))})
		} else if err := t.b(Layout.LogRevs).Put(bytes.Clone(e.Rev[:]), u64(uint64(n))); err != nil {
			return 0, err
		}
	}
	return n, t.b(Layout.Meta).Put(MetaKeys.LogSize, u64(uint64(n+1)))
}

// leaf decodes a log_leaves value.
func leaf(index int64, v []byte) (server.LogLeaf, error) {
	if len(v) < 8 {
		return server.LogLeaf{}, fmt.Errorf("log entry %d: damaged", index)
	}
	return server.LogLeaf{Index: index, Time: time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC(), Data: bytes.Clone(v[8:])}, nil
}

func (t *tx) LogEntries(from int64, n int) ([]server.LogLeaf, error) {
	b := t.b(Layout.LogLeaves)
	if b == nil || from < 0 || n <= 0 {
		return nil, nil
	}
	var out []server.LogLeaf
	c := b.Cursor()
	for k, v := c.Seek(u64(uint64(from))); k != nil && len(out) < n; k, v = c.Next() {
		l, err := leaf(int64(binary.BigEndian.Uint64(k)), v)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func (t *tx) LogEntriesAt(indexes []int64) ([]server.LogLeaf, error) {
	b := t.b(Layout.LogLeaves)
	out := make([]server.LogLeaf, len(indexes))
	for i, x := range indexes {
		var v []byte
		if b != nil && x >= 0 {
			v = b.Get(u64(uint64(x)))
		}
		if v == nil {
			return nil, fmt.Errorf("log entry %d: %w", x, server.ErrNotFound)
		}
		l, err := leaf(x, v)
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}

func (t *tx) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	b := t.b(Layout.LogHashes)
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		var v []byte
		if b != nil && x >= 0 {
			v = b.Get(u64(uint64(x)))
		}
		if len(v) != tlog.HashSize {
			return nil, fmt.Errorf("stored hash %d: %w", x, server.ErrNotFound)
		}
		copy(out[i][:], v)
	}
	return out, nil
}

func (t *tx) RevisionLog(revs []record.RevID) ([]server.LogLeaf, error) {
	idx, leaves := t.b(Layout.LogRevs), t.b(Layout.LogLeaves)
	out := make([]server.LogLeaf, len(revs))
	for i, r := range revs {
		var k, v []byte
		if idx != nil {
			k = idx.Get(r[:])
		}
		if len(k) == 8 {
			v = leaves.Get(k)
		}
		if len(v) < 8 {
			out[i] = server.LogLeaf{Index: -1}
			continue
		}
		out[i] = server.LogLeaf{Index: int64(binary.BigEndian.Uint64(k)), Time: time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC()}
	}
	return out, nil
}

func cosigKey(size int64, name string) []byte { return append(u64(uint64(size)), name...) }

func (t *tx) AddCosignature(c server.Cosignature) error {
	b := t.b(Layout.LogCosigs)
	if b == nil {
		return errNoLog
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(c.Time.UnixMilli()))
	if err := b.Put(cosigKey(c.Size, c.Name), append(v, c.Sig...)); err != nil {
		return err
	}
	w := t.b(Layout.LogWitnesses)
	if last := w.Get([]byte(c.Name)); len(last) == 8 && int64(binary.BigEndian.Uint64(last)) > c.Size {
		return nil
	}
	return w.Put([]byte(c.Name), u64(uint64(c.Size)))
}

func cosig(k, v []byte) (server.Cosignature, error) {
	if len(k) < 8 || len(v) < 8 {
		return server.Cosignature{}, fmt.Errorf("cosignature %x: damaged", k)
	}
	return server.Cosignature{Size: int64(binary.BigEndian.Uint64(k)), Name: string(k[8:]),
		Time: time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC(), Sig: string(v[8:])}, nil
}

func (t *tx) Cosignatures(size int64) ([]server.Cosignature, error) {
	b := t.b(Layout.LogCosigs)
	if b == nil {
		return nil, nil
	}
	prefix := u64(uint64(size))
	var out []server.Cosignature
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		cs, err := cosig(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, cs)
	}
	return out, nil
}

func (t *tx) LastCosignatures() ([]server.Cosignature, error) {
	w := t.b(Layout.LogWitnesses)
	if w == nil {
		return nil, nil
	}
	var out []server.Cosignature
	err := w.ForEach(func(name, size []byte) error {
		if len(size) != 8 {
			return fmt.Errorf("witness %q: damaged", name)
		}
		k := cosigKey(int64(binary.BigEndian.Uint64(size)), string(name))
		v := t.b(Layout.LogCosigs).Get(k)
		if v == nil {
			return fmt.Errorf("witness %q: its last cosignature is missing", name)
		}
		cs, err := cosig(k, v)
		out = append(out, cs)
		return err
	})
	return out, err
}
