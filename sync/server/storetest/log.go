package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/transparency"
)

// RefLog is a transparency log kept in memory the way tlog stores one
// (every stored hash, in order): the reference a backend's log must equal.
type RefLog struct {
	Leaves [][]byte
	Hashes []tlog.Hash
}

// ReadHashes implements tlog.HashReader.
func (l *RefLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(l.Hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = l.Hashes[x]
	}
	return out, nil
}

// Append adds a leaf.
func (l *RefLog) Append(leaf []byte) error {
	h, err := transparency.LeafHash(leaf)
	if err != nil {
		return err
	}
	hs, err := tlog.StoredHashesForRecordHash(int64(len(l.Leaves)), h, l)
	if err != nil {
		return err
	}
	l.Leaves, l.Hashes = append(l.Leaves, leaf), append(l.Hashes, hs...)
	return nil
}

// logEntry is the i'th entry of a test log: revisions, statements and
// audit heads in turn.
func logEntry(i int) transparency.Entry {
	switch i % 3 {
	case 0:
		r := rev(fmt.Sprintf("C%d", i%5), fmt.Sprintf("R%d", i), uint64(i+1), fmt.Sprintf("body %d", i))
		return transparency.RevisionEntry(r)
	case 1:
		return transparency.Entry{Kind: transparency.KindStatement, Statement: fmt.Sprintf("statement-%d", i)}
	}
	return transparency.Entry{Kind: transparency.KindAuditHead, CaseID: "C1", Device: "D1", Seq: uint64(i),
		Head: [32]byte{byte(i), byte(i >> 8)}, Sig: bytes.Repeat([]byte{byte(i)}, 64)}
}

// checkLog compares st's log with ref: size, every leaf, every stored hash,
// and the tree hash of every size up to it.
func checkLog(t *testing.T, st server.Store, ref *RefLog) {
	t.Helper()
	view(t, st, func(tx server.Tx) error {
		size, err := tx.LogSize()
		if err != nil || size != int64(len(ref.Leaves)) {
			t.Fatalf("LogSize = %d, %v; want %d", size, err, len(ref.Leaves))
		}
		leaves, err := tx.LogEntries(0, len(ref.Leaves)+10)
		if err != nil || len(leaves) != len(ref.Leaves) {
			t.Fatalf("LogEntries(0) = %d leaves, %v; want %d", len(leaves), err, len(ref.Leaves))
		}
		for i, l := range leaves {
			if l.Index != int64(i) || !bytes.Equal(l.Data, ref.Leaves[i]) {
				t.Fatalf("leaf %d = index %d, %x; want %x", i, l.Index, l.Data, ref.Leaves[i])
			}
		}
		idx := make([]int64, len(ref.Hashes))
		for i := range idx {
			idx[i] = int64(i)
		}
		hs, err := tx.ReadHashes(idx)
		if err != nil || !slices.Equal(hs, ref.Hashes) {
			t.Fatalf("stored hashes differ from the reference tree's (%v)", err)
		}
		for n := int64(0); n <= size; n++ {
			got, err := tlog.TreeHash(n, tx)
			want, _ := tlog.TreeHash(n, ref)
			if err != nil || got != want {
				t.Fatalf("TreeHash(%d) = %v, %v; want %v", n, got, err, want)
			}
		}
		return nil
	})
}

// testLog: leaves appended over many transactions of many sizes read back
// as appended, and the stored hashes are the reference tree's.
func testLog(t *testing.T, st server.Store) {
	ref := &RefLog{}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	i := 0
	var revs []record.RevID
	var revIdx []int64
	for _, batch := range []int{1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 1, 7, 64, 1} {
		update(t, st, func(tx server.Tx) error {
			for range batch {
				e := logEntry(i)
				n, err := tx.AppendLog(e, at.Add(time.Duration(i)*time.Millisecond))
				if err != nil {
					return err
				}
				if n != int64(i) {
					t.Fatalf("AppendLog #%d = index %d", i, n)
				}
				if e.Kind == transparency.KindRevision {
					revs, revIdx = append(revs, e.Rev), append(revIdx, n)
				}
				if size, _ := tx.LogSize(); size != n+1 {
					t.Errorf("LogSize after appending %d = %d", n, size)
				}
				i++
			}
			return nil
		})
		for j := len(ref.Leaves); j < i; j++ {
			if err := ref.Append(logEntry(j).Marshal()); err != nil {
				t.Fatal(err)
			}
		}
		checkLog(t, st, ref)
	}
	view(t, st, func(tx server.Tx) error {
		got, err := tx.RevisionLog(revs)
		if err != nil || len(got) != len(revs) {
			t.Fatalf("RevisionLog = %v, %v", got, err)
		}
		for k, l := range got {
			if l.Index != revIdx[k] || !l.Time.Equal(at.Add(time.Duration(l.Index)*time.Millisecond)) {
				t.Errorf("RevisionLog(%s) = %d at %v; want %d at %v", revs[k].Short(), l.Index, l.Time, revIdx[k], at.Add(time.Duration(revIdx[k])*time.Millisecond))
			}
		}
		var unknown record.RevID
		unknown[0] = 0xff
		if got, err := tx.RevisionLog([]record.RevID{unknown, revs[1]}); err != nil || len(got) != 2 || got[0].Index != -1 || got[1].Index != revIdx[1] {
			t.Errorf("RevisionLog(unlogged, logged) = %+v, %v; want index -1, then %d", got, err, revIdx[1])
		}
		at7, err := tx.LogEntriesAt([]int64{7, 0, 7, 100})
		if err != nil || len(at7) != 4 || at7[0].Index != 7 || at7[1].Index != 0 || !bytes.Equal(at7[3].Data, ref.Leaves[100]) ||
			!at7[0].Time.Equal(at.Add(7*time.Millisecond)) {
			t.Errorf("LogEntriesAt(7, 0, 7, 100) = %v, %v", at7, err)
		}
		if _, err := tx.LogEntriesAt([]int64{1, int64(len(ref.Leaves))}); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("LogEntriesAt(past the end) = %v, want ErrNotFound", err)
		}
		if _, err := tx.LogEntriesAt([]int64{-1}); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("LogEntriesAt(-1) = %v, want ErrNotFound", err)
		}
		if _, err := tx.ReadHashes([]int64{0, int64(len(ref.Hashes))}); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("ReadHashes(past the end) = %v, want ErrNotFound", err)
		}
		if page, err := tx.LogEntries(int64(len(ref.Leaves))-2, 10); err != nil || len(page) != 2 {
			t.Errorf("LogEntries at the end = %d, %v; want 2", len(page), err)
		}
		if _, err := tx.AppendLog(logEntry(0), at); err == nil {
			t.Error("AppendLog in a View succeeded")
		}
		return nil
	})
	// A rolled-back append leaves nothing, and its index is taken again.
	err := st.Update(context.Background(), func(tx server.Tx) error {
		if _, err := tx.AppendLog(logEntry(999), at); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update = %v", err)
	}
	checkLog(t, st, ref)
	update(t, st, func(tx server.Tx) error {
		n, err := tx.AppendLog(logEntry(i), at)
		if err == nil && n != int64(i) {
			t.Errorf("append after a rollback: index %d, want %d", n, i)
		}
		return err
	})
	ref.Append(logEntry(i).Marshal())
	checkLog(t, st, ref)
}

// testLogKey: a store has a log key from the start, named after its server.
func testLogKey(t *testing.T, st server.Store) {
	var m server.Meta
	view(t, st, func(tx server.Tx) (err error) { m, err = tx.Meta(); return })
	k, err := transparency.NewLogKey(m.LogSKey, m.LogVKey)
	if err != nil {
		t.Fatalf("log key of a new store: %v", err)
	}
	cp := transparency.Checkpoint{Origin: server.LogOrigin(m.ServerID), Size: 0}
	signed, err := k.Sign(cp)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := transparency.Open(signed, m.LogVKey); err != nil {
		t.Errorf("a checkpoint signed with the store's key does not open: %v", err)
	}
	if want := server.LogKeyName(m.ServerID) + "+"; !bytes.HasPrefix([]byte(m.LogVKey), []byte(want)) {
		t.Errorf("log key %q: want it named %q", m.LogVKey, want)
	}
}

// testCosignatures: kept per tree size and witness, the newest per witness
// listed apart.
func testCosignatures(t *testing.T, st server.Store) {
	update(t, st, func(tx server.Tx) error {
		for _, c := range []server.Cosignature{
			{Size: 5, Name: "fieldcase-witness.B", Sig: "b5", Time: ts(1)},
			{Size: 5, Name: "fieldcase-witness.A", Sig: "a5", Time: ts(2)},
			{Size: 9, Name: "fieldcase-witness.A", Sig: "a9", Time: ts(3)},
			{Size: 3, Name: "fieldcase-witness.A", Sig: "a3", Time: ts(4)},  // an older tree, cosigned later
			{Size: 5, Name: "fieldcase-witness.B", Sig: "b5'", Time: ts(5)}, // replaces b5
		} {
			if err := tx.AddCosignature(c); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, st, func(tx server.Tx) error {
		got, err := tx.Cosignatures(5)
		want := []server.Cosignature{{Size: 5, Name: "fieldcase-witness.A", Sig: "a5", Time: ts(2).Truncate(time.Millisecond)},
			{Size: 5, Name: "fieldcase-witness.B", Sig: "b5'", Time: ts(5).Truncate(time.Millisecond)}}
		if err != nil || !slices.EqualFunc(got, want, eqCosig) {
			t.Errorf("Cosignatures(5) = %+v, %v; want %+v", got, err, want)
		}
		if got, err := tx.Cosignatures(4); err != nil || len(got) != 0 {
			t.Errorf("Cosignatures(4) = %+v, %v; want none", got, err)
		}
		got, err = tx.LastCosignatures()
		want = []server.Cosignature{{Size: 9, Name: "fieldcase-witness.A", Sig: "a9", Time: ts(3).Truncate(time.Millisecond)},
			{Size: 5, Name: "fieldcase-witness.B", Sig: "b5'", Time: ts(5).Truncate(time.Millisecond)}}
		if err != nil || !slices.EqualFunc(got, want, eqCosig) {
			t.Errorf("LastCosignatures = %+v, %v; want %+v", got, err, want)
		}
		return nil
	})
}

func eqCosig(a, b server.Cosignature) bool {
	return a.Size == b.Size && a.Name == b.Name && a.Sig == b.Sig && a.Time.Equal(b.Time)
}

// testRevisionCount counts stored revisions.
func testRevisionCount(t *testing.T, st server.Store) {
	update(t, st, func(tx server.Tx) error {
		for i := range 3 {
			if err := tx.InsertRevision(rev("C1", fmt.Sprintf("R%d", i), uint64(i+1), "x")); err != nil {
				return err
			}
		}
		if n, err := tx.RevisionCount(); err != nil || n != 3 {
			t.Errorf("RevisionCount in the transaction = %d, %v; want 3", n, err)
		}
		return nil
	})
	view(t, st, func(tx server.Tx) error {
		if n, err := tx.RevisionCount(); err != nil || n != 3 {
			t.Errorf("RevisionCount = %d, %v; want 3", n, err)
		}
		return nil
	})
}

func testConcurrentLog(t *testing.T, st server.Store) { ConcurrentLogAppends(t, st, st) }

// ConcurrentLogAppends has writers append to the log through each of
// stores (handles of one store: for a shared database, one per server
// instance) while a reader checks every snapshot it sees: leaves 0 … size-1
// all there and a tree hash for the size. In the end the log is dense,
// holds every entry once, and its hashes are the reference tree's of its
// leaves in their order.
func ConcurrentLogAppends(t *testing.T, stores ...server.Store) {
	const writersPer, perWriter = 3, 20
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writersPer*len(stores))
	for s, st := range stores {
		for w := range writersPer {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					err := st.Update(ctx, func(tx server.Tx) error {
						// Two entries a transaction: indexes must stay
						// adjacent.
						for j := range 2 {
							e := transparency.Entry{Kind: transparency.KindStatement, Statement: fmt.Sprintf("s%d-w%d-%d-%d", s, w, i, j)}
							if _, err := tx.AppendLog(e, time.Now()); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		view(t, stores[0], func(tx server.Tx) error {
			size, err := tx.LogSize()
			if err != nil {
				return err
			}
			leaves, err := tx.LogEntries(0, int(size)+1)
			if err != nil {
				return err
			}
			if int64(len(leaves)) != size {
				t.Fatalf("a snapshot of a log of %d has %d leaves", size, len(leaves))
			}
			for i, l := range leaves {
				if l.Index != int64(i) {
					t.Fatalf("leaf %d has index %d: the log has a hole", i, l.Index)
				}
			}
			if _, err := tlog.TreeHash(size, tx); err != nil {
				t.Fatalf("a snapshot of a log of %d has no tree hash: %v", size, err)
			}
			return nil
		})
	}
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	ref := &RefLog{}
	seen := map[string]bool{}
	view(t, stores[len(stores)-1], func(tx server.Tx) error {
		leaves, err := tx.LogEntries(0, 1<<20)
		if err != nil {
			return err
		}
		for i, l := range leaves {
			e, err := transparency.UnmarshalEntry(l.Data)
			if err != nil || seen[e.Statement] {
				t.Fatalf("leaf %d: %+v, %v (seen before: %v)", i, e, err, seen[e.Statement])
			}
			seen[e.Statement] = true
			if e.Statement[len(e.Statement)-1] == '1' && (i == 0 || !bytes.Equal(leaves[i-1].Data[:len(leaves[i-1].Data)-1], l.Data[:len(l.Data)-1])) {
				t.Fatalf("leaf %d (%s) does not follow its transaction's first entry", i, e.Statement)
			}
			ref.Append(l.Data)
		}
		return nil
	})
	if want := len(stores) * writersPer * perWriter * 2; len(seen) != want {
		t.Fatalf("log holds %d entries, want %d", len(seen), want)
	}
	checkLog(t, stores[len(stores)-1], ref)
}
