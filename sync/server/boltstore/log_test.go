package boltstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// logOf is a store's whole log: leaves, stored hashes, key.
type logOf struct {
	leaves []server.LogLeaf
	hashes []tlog.Hash
	skey   string
	vkey   string
	cosigs []server.Cosignature
}

func readLog(t *testing.T, st server.Store) logOf {
	t.Helper()
	var l logOf
	err := st.View(context.Background(), func(tx server.Tx) (err error) {
		m, err := tx.Meta()
		if err != nil {
			return err
		}
		l.skey, l.vkey = m.LogSKey, m.LogVKey
		if l.leaves, err = tx.LogEntries(0, 1<<20); err != nil {
			return err
		}
		idx := make([]int64, tlog.StoredHashCount(int64(len(l.leaves))))
		for i := range idx {
			idx[i] = int64(i)
		}
		if l.hashes, err = tx.ReadHashes(idx); err != nil {
			return err
		}
		l.cosigs, err = tx.LastCosignatures()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func verify(t *testing.T, st server.Store) server.LogReport {
	t.Helper()
	var rep server.LogReport
	if err := st.View(context.Background(), func(tx server.Tx) (err error) { rep, err = server.VerifyLog(tx); return }); err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Errorf("VerifyLog: %q", rep.Problems)
	}
	return rep
}

// fillLogged stores statements and revisions, each with its log entry, as
// the server does.
func fillLogged(t *testing.T, st server.Store) {
	t.Helper()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	err := st.Update(context.Background(), func(tx server.Tx) error {
		for i := range 3 {
			s := trust.Signed{Body: []byte(fmt.Sprintf("statement %d", i)), Signer: trust.SignerAgency, Sig: bytes.Repeat([]byte{byte(i)}, 64)}
			if _, err := tx.InsertStatement(s); err != nil {
				return err
			}
			if _, err := tx.AppendLog(transparency.Entry{Kind: transparency.KindStatement, Statement: s.ID()}, at); err != nil {
				return err
			}
		}
		for i := range 5 {
			r := &record.Revision{RecordID: fmt.Sprintf("R%d", i), Kind: record.KindNote, CaseID: "C1", Generation: 1, Device: "D1", Seq: uint64(i + 1), Body: []byte{byte(i)}}
			r.Seal()
			if err := tx.InsertRevision(r); err != nil {
				return err
			}
			if _, err := tx.AppendLog(transparency.RevisionEntry(r), at.Add(time.Duration(i)*time.Second)); err != nil {
				return err
			}
			if _, err := tx.AppendChange(server.Change{Rev: r.Rev, CaseID: "C1"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The log, its hashes and its key survive closing and reopening the store,
// a backup and a restore (which gives a new epoch, never a new log).
func TestLogKeptByReopenBackupRestore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live", boltstore.FileName)
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fillLogged(t, st)
	verify(t, st)
	if err := st.Update(context.Background(), func(tx server.Tx) error {
		return tx.AddCosignature(server.Cosignature{Size: 8, Name: "fieldcase-witness.X", Sig: "AAAA", Time: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	want := readLog(t, st)
	if len(want.leaves) != 8 || want.vkey == "" || len(want.cosigs) != 1 {
		t.Fatalf("log of %d leaves, key %q, %d cosignatures", len(want.leaves), want.vkey, len(want.cosigs))
	}
	st.Close()
	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := readLog(t, st); !reflect.DeepEqual(got, want) {
		t.Errorf("log after reopening differs:\n got %+v\nwant %+v", got, want)
	}
	bk := filepath.Join(dir, "backup.db")
	if err := st.Backup(context.Background(), bk); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(dir, "restored", boltstore.FileName)
	if err := boltstore.Restore(bk, restored); err != nil {
		t.Fatal(err)
	}
	rs, err := boltstore.Open(restored, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if got := readLog(t, rs); !reflect.DeepEqual(got, want) {
		t.Errorf("restored log differs:\n got %+v\nwant %+v", got, want)
	}
	if meta(t, rs).Epoch == meta(t, st).Epoch {
		t.Error("the restored store kept the epoch")
	}
	// Appends continue where the restored log ends.
	if err := rs.Update(context.Background(), func(tx server.Tx) error {
		n, err := tx.AppendLog(transparency.Entry{Kind: transparency.KindStatement, Statement: "next"}, time.Now())
		if err == nil && n != 8 {
			t.Errorf("next index %d, want 8", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// toFormat2 takes a store back to format 2: no log, no log key.
func toFormat2(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(btx *bolt.Tx) error {
		for _, b := range boltstore.Layout.Log() {
			if err := btx.DeleteBucket(b); err != nil {
				return err
			}
		}
		m := btx.Bucket(boltstore.Layout.Meta)
		for _, k := range [][]byte{boltstore.MetaKeys.LogSize, boltstore.MetaKeys.LogSKey, boltstore.MetaKeys.LogVKey} {
			if err := m.Delete(k); err != nil {
				return err
			}
		}
		return m.Put(boltstore.MetaKeys.Format, binary.BigEndian.AppendUint64(nil, 2))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A format 2 store (before the log) reads read-only as having an empty log
// and no key; opened for writing it gets a key named after its server and
// a log of what it holds: statements in the order stored, then revisions
// in the change log's order.
func TestUpgradeFormat2(t *testing.T) {
	path := filepath.Join(t.TempDir(), boltstore.FileName)
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fillLogged(t, st)
	before := readLog(t, st)
	serverID := meta(t, st).ServerID
	st.Close()
	toFormat2(t, path)

	ro, err := boltstore.Open(path, boltstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of format 2: %v", err)
	}
	if l := readLog(t, ro); len(l.leaves) != 0 || l.vkey != "" {
		t.Errorf("format 2 read-only: %d leaves, key %q", len(l.leaves), l.vkey)
	}
	ro.Close()

	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("upgrading: %v", err)
	}
	defer st.Close()
	after := readLog(t, st)
	if len(after.leaves) != len(before.leaves) {
		t.Fatalf("upgraded log has %d leaves, want %d", len(after.leaves), len(before.leaves))
	}
	for i := range after.leaves {
		if !bytes.Equal(after.leaves[i].Data, before.leaves[i].Data) {
			t.Errorf("leaf %d = %x, want %x (statements first, then revisions in change order)", i, after.leaves[i].Data, before.leaves[i].Data)
		}
	}
	if _, err := transparency.NewLogKey(after.skey, after.vkey); err != nil || !bytes.HasPrefix([]byte(after.vkey), []byte(server.LogKeyName(serverID)+"+")) {
		t.Errorf("log key %q after the upgrade: %v", after.vkey, err)
	}
	if rep := verify(t, st); rep.Revisions != 5 || rep.Statements != 3 {
		t.Errorf("VerifyLog = %+v", rep)
	}
}

// VerifyLog finds what is wrong with a log: a stored hash changed, a leaf
// changed, a revision stored without its entry.
func TestVerifyLogFindsDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(btx *bolt.Tx) error
	}{
		{"a stored hash", func(btx *bolt.Tx) error {
			return btx.Bucket(boltstore.Layout.LogHashes).Put(binary.BigEndian.AppendUint64(nil, 3), make([]byte, 32))
		}},
		{"a leaf", func(btx *bolt.Tx) error {
			b := btx.Bucket(boltstore.Layout.LogLeaves)
			k := binary.BigEndian.AppendUint64(nil, 4)
			v := bytes.Clone(b.Get(k))
			v[len(v)-1] ^= 1
			return b.Put(k, v)
		}},
		{"a leaf gone", func(btx *bolt.Tx) error {
			return btx.Bucket(boltstore.Layout.LogLeaves).Delete(binary.BigEndian.AppendUint64(nil, 2))
		}},
		{"a revision without its entry", func(btx *bolt.Tx) error {
			r := &record.Revision{RecordID: "X", Kind: record.KindNote, CaseID: "C1", Generation: 1, Device: "D9", Seq: 1, Body: []byte{9}}
			r.Seal()
			enc, _ := r.MarshalBinary()
			return btx.Bucket(boltstore.Layout.Revs).Put(r.Rev[:], enc)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), boltstore.FileName)
			st, err := boltstore.Open(path, boltstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fillLogged(t, st)
			st.Close()
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tc.damage); err != nil {
				t.Fatal(err)
			}
			db.Close()
			st, err = boltstore.Open(path, boltstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var rep server.LogReport
			if err := st.View(context.Background(), func(tx server.Tx) (err error) { rep, err = server.VerifyLog(tx); return }); err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) == 0 {
				t.Errorf("VerifyLog found nothing wrong with a changed %s", tc.name)
			}
			t.Logf("problems: %q", rep.Problems)
		})
	}
}
