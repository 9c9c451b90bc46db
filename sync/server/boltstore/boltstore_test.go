package boltstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/storetest"
)

func open(t *testing.T) server.Store {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), boltstore.FileName), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) { storetest.RunTests(t, open) }

func meta(t *testing.T, st server.Store) server.Meta {
	t.Helper()
	var m server.Meta
	if err := st.View(context.Background(), func(tx server.Tx) (err error) { m, err = tx.Meta(); return }); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReopenKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), boltstore.FileName)
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := meta(t, st)
	if err := st.Update(context.Background(), func(tx server.Tx) error {
		return tx.InsertTeam(server.Team{ID: "T1", Name: "North"})
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if after := meta(t, st); !reflect.DeepEqual(after, before) {
		t.Errorf("meta after reopen = %+v, want %+v", after, before)
	}
	if err := st.View(context.Background(), func(tx server.Tx) error { _, err := tx.TeamByName("North"); return err }); err != nil {
		t.Errorf("team after reopen: %v", err)
	}
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), boltstore.FileName)
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = boltstore.Open(path, boltstore.Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, server.ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
}

func TestNotAStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(path, []byte("this is not a bbolt file, just some text that is long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.Open(path, boltstore.Options{}); err == nil {
		t.Error("Open of a text file succeeded")
	}
}

// A backup restored is the same data under a new epoch (and the same server
// id); restoring it again gives yet another epoch.
func TestBackupRestoreNewEpoch(t *testing.T) {
	dir := t.TempDir()
	st := open(t)
	defer st.Close()
	if err := st.Update(context.Background(), func(tx server.Tx) error {
		return tx.InsertTeam(server.Team{ID: "T1", Name: "North"})
	}); err != nil {
		t.Fatal(err)
	}
	orig := meta(t, st)
	bk := filepath.Join(dir, "backup.db")
	if err := st.Backup(context.Background(), bk); err != nil {
		t.Fatal(err)
	}
	var epochs = map[string]bool{orig.Epoch: true}
	for i, dest := range []string{"a", "b"} {
		path := filepath.Join(dir, dest, boltstore.FileName)
		if err := boltstore.Restore(bk, path); err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
		rs, err := boltstore.Open(path, boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := meta(t, rs)
		if m.ServerID != orig.ServerID || epochs[m.Epoch] {
			t.Errorf("restored meta %+v: want server id %s and a new epoch", m, orig.ServerID)
		}
		epochs[m.Epoch] = true
		if err := rs.View(context.Background(), func(tx server.Tx) error { _, err := tx.TeamByName("North"); return err }); err != nil {
			t.Errorf("team in restored store: %v", err)
		}
		rs.Close()
	}
	if err := boltstore.Restore(bk, filepath.Join(dir, "a", boltstore.FileName)); !errors.Is(err, server.ErrExists) {
		t.Errorf("restore over a store = %v, want ErrExists", err)
	}
	if err := boltstore.Restore(filepath.Join(dir, "nope"), filepath.Join(dir, "c", boltstore.FileName)); err == nil {
		t.Error("restore of a missing file succeeded")
	}
	// The backup file itself also has an epoch of its own.
	bs, err := boltstore.Open(bk, boltstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	if m := meta(t, bs); epochs[m.Epoch] {
		t.Errorf("backup epoch %s reused", m.Epoch)
	}
}

// A format 1 store (protocol 1, before signed statements) opens read-only
// as it is and is upgraded when opened for writing: enrolment codes go,
// revisions are indexed by device, cases learn their key epoch.
func TestUpgradeFormat1(t *testing.T) {
	path := filepath.Join(t.TempDir(), boltstore.FileName)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	revs := []*record.Revision{
		{RecordID: "C1.k1", Kind: record.KindKeyring, CaseID: "C1", Generation: 1, Device: "D1", Seq: 1, Body: sealed.Keyring{Epoch: 1}.Marshal()},
		{RecordID: "C1.k2", Kind: record.KindKeyring, CaseID: "C1", Generation: 1, Device: "D1", Seq: 2, Body: sealed.Keyring{Epoch: 2}.Marshal()},
		{RecordID: "N1", Kind: record.KindNote, CaseID: "C1", Generation: 1, Device: "D2", Seq: 1, Body: []byte("sealed")},
	}
	err = db.Update(func(btx *bolt.Tx) error {
		for _, name := range append(boltstore.Layout.Format1(), []byte("enroll_codes")) {
			if _, err := btx.CreateBucket(name); err != nil {
				return err
			}
		}
		m := btx.Bucket(boltstore.Layout.Meta)
		created, _ := time.Now().UTC().MarshalText()
		for k, v := range map[string][]byte{"format": binary.BigEndian.AppendUint64(nil, 1), "server_id": []byte("01SERVER"), "epoch": []byte("01EPOCH"), "created": created, "recovery": []byte("age1pq1unsigned")} {
			if err := m.Put([]byte(k), v); err != nil {
				return err
			}
		}
		if err := btx.Bucket([]byte("enroll_codes")).Put([]byte("hash"), []byte(`{}`)); err != nil {
			return err
		}
		if err := btx.Bucket(boltstore.Layout.Cases).Put([]byte("C1"), []byte(`{"id":"C1","team_id":"T1","members":["U1"]}`)); err != nil {
			return err
		}
		for _, r := range revs {
			r.Seal()
			enc, _ := r.MarshalBinary()
			if err := btx.Bucket(boltstore.Layout.Revs).Put(r.Rev[:], enc); err != nil {
				return err
			}
			if err := btx.Bucket(boltstore.Layout.Records).Put([]byte(r.RecordID), append([]byte(string(r.Kind)+"\x00"), r.CaseID...)); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	ro, err := boltstore.Open(path, boltstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of format 1: %v", err)
	}
	if err := ro.View(context.Background(), func(tx server.Tx) error {
		st, err := tx.Statements()
		if err != nil || len(st) != 0 {
			t.Errorf("format 1 statements = %v, %v", st, err)
		}
		owed, err := tx.RotationsOwed()
		if err != nil || len(owed) != 0 {
			t.Errorf("format 1 rotations = %v, %v", owed, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ro.Close()

	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("upgrading: %v", err)
	}
	defer st.Close()
	if err := st.View(context.Background(), func(tx server.Tx) error {
		got, err := tx.DeviceRevisions("D1", 0, 10)
		if err != nil || len(got) != 2 || got[0].Rev != revs[0].Rev || got[1].Rev != revs[1].Rev {
			t.Errorf("D1's revisions after the upgrade = %d, %v", len(got), err)
		}
		if n, _ := tx.DeviceMaxSeq("D2"); n != 1 {
			t.Errorf("D2's max seq = %d, want 1", n)
		}
		c, err := tx.Case("C1")
		if err != nil || c.KeyEpoch != 2 {
			t.Errorf("case after the upgrade = %+v, %v; want key epoch 2", c, err)
		}
		if m, _ := tx.Meta(); m.Recovery != "" || m.ServerID != "01SERVER" {
			t.Errorf("meta after the upgrade = %+v: want the server id kept and the unsigned recovery recipient gone", m)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, st); rep.Revisions != 3 {
		t.Errorf("log after the upgrade from format 1: %+v, want its 3 revisions", rep)
	}
	st.Close()
	db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(btx *bolt.Tx) error {
		if btx.Bucket([]byte("enroll_codes")) != nil {
			t.Error("enroll_codes survived the upgrade")
		}
		if v := btx.Bucket(boltstore.Layout.Meta).Get(boltstore.MetaKeys.Format); binary.BigEndian.Uint64(v) != boltstore.FormatVersion {
			t.Errorf("format after the upgrade = %x", v)
		}
		return nil
	})
}

// Issue 15: after a destruction and Reclaim, the store's file — and so a
// backup taken from it, which copies free pages too — holds none of the
// destroyed ciphertext, though bbolt does not clear the pages it frees.
// Reclaim survives a restart: a mark left by a destruction whose reclaim
// never ran is acted on by the next one.
func TestDestroyedCiphertextReclaimed(t *testing.T) {
	path := filepath.Join(t.TempDir(), boltstore.FileName)
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bodies, kept := storetest.Destroyed(t, st, 60)
	found := func() int {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, b := range bodies {
			if bytes.Contains(raw, b[len(b)/2:len(b)/2+32]) {
				n++
			}
		}
		return n
	}
	if n := found(); n == 0 {
		t.Fatal("no destroyed body in the file before Reclaim: this test would prove nothing")
	}
	// A restart in between: the mark is in the file.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = boltstore.Open(path, boltstore.Options{}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Reclaim(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := found(); n != 0 {
		t.Errorf("%d of %d destroyed bodies still in the file after Reclaim", n, len(bodies))
	}
	if err := st.View(context.Background(), func(tx server.Tx) error {
		if has, err := tx.HasRevision(kept); !has || err != nil {
			t.Errorf("the other case's revision: %v, %v", has, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
