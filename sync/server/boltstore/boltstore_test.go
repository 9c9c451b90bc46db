package boltstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	if after := meta(t, st); after != before {
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
