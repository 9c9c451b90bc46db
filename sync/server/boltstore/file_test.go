package boltstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// A store file read with FileReader and written again with FileWriter is
// the same file, bucket by bucket and byte by byte, but for its new epoch;
// the writer refuses to replace a file and leaves none when it fails.
func TestFileCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src", boltstore.FileName)
	st, err := boltstore.Open(src, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	err = st.Update(context.Background(), func(tx server.Tx) error {
		s := trust.Signed{Body: []byte(`{"kind":"team"}`), Signer: trust.SignerAgency, Sig: bytes.Repeat([]byte{1}, 64)}
		if _, err := tx.InsertStatement(s); err != nil {
			return err
		}
		if err := tx.SetAgency(bytes.Repeat([]byte{5}, 32)); err != nil {
			return err
		}
		// Every meta value set: the writer writes each (as PostgreSQL
		// backups always did), where a new store has none yet.
		if err := tx.SetRecovery("age1recovery"); err != nil {
			return err
		}
		if _, err := tx.BumpRosterVersion(); err != nil {
			return err
		}
		if err := tx.InsertTeam(server.Team{ID: "T1", Name: "North", Created: ts}); err != nil {
			return err
		}
		if err := tx.InsertUser(server.User{ID: "U1", Name: "Ada", Role: "caseworker", TeamID: "T1", Created: ts}); err != nil {
			return err
		}
		if err := tx.InsertDevice(server.Device{ID: "D1", UserID: "U1", TokenHash: sha256.Sum256([]byte("t")), Enrolled: ts}); err != nil {
			return err
		}
		if err := tx.SetRotationOwed("C1", 2); err != nil {
			return err
		}
		for c := range 2 {
			caseID := fmt.Sprintf("C%d", c)
			if err := tx.PutCase(server.Case{ID: caseID, TeamID: "T1", Members: []string{"U1"}, Created: ts}); err != nil {
				return err
			}
			if err := tx.InsertRecord(server.RecordInfo{ID: "R" + caseID, CaseID: caseID, Kind: record.KindNote}); err != nil {
				return err
			}
			for i := range 2 {
				r := &record.Revision{RecordID: "R" + caseID, Kind: record.KindNote, CaseID: caseID, Generation: uint64(i + 1),
					Device: "D1", Seq: uint64(c*2 + i + 1), Body: []byte(fmt.Sprintf("sealed %d %d", c, i))}
				r.Seal()
				if err := tx.InsertRevision(r); err != nil {
					return err
				}
				if _, err := tx.AppendLog(transparency.RevisionEntry(r), ts); err != nil {
					return err
				}
				if _, err := tx.AppendChange(server.Change{Rev: r.Rev, CaseID: caseID, Target: "U1"}); err != nil {
					return err
				}
			}
			data := []byte("chunk " + caseID)
			if err := tx.InsertBlob(caseID, sha256.Sum256(data), data); err != nil {
				return err
			}
		}
		if err := tx.SetAckedSeq("D1", 3); err != nil {
			return err
		}
		if err := tx.AddPendingSeq("D1", 5); err != nil {
			return err
		}
		for _, size := range []int64{4, 2} {
			if err := tx.AddCosignature(server.Cosignature{Size: size, Name: "w", Sig: "AAAA", Time: ts}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.OpenFile(src); !errors.Is(err, server.ErrLocked) {
		t.Errorf("OpenFile of a store in use = %v, want ErrLocked", err)
	}
	st.Close()

	dst := filepath.Join(dir, "copy.db")
	if err := boltstore.WriteFile(dst, func(w *boltstore.FileWriter) error { return copyFile(src, w) }); err != nil {
		t.Fatalf("copying: %v", err)
	}
	want, got := buckets(t, src), buckets(t, dst)
	if len(want) != len(boltstore.Layout.All()) || len(got) != len(want) {
		t.Fatalf("the copy has %d buckets, the source %d, the layout %d", len(got), len(want), len(boltstore.Layout.All()))
	}
	for name, w := range want {
		g := got[name]
		if name == string(boltstore.Layout.Meta) {
			w, g = dropKey(w, boltstore.MetaKeys.Epoch), dropKey(g, boltstore.MetaKeys.Epoch)
		}
		if len(w) == 0 {
			t.Errorf("bucket %s is empty in the source: the test fills every bucket", name)
		}
		if !slices.EqualFunc(w, g, func(a, b [2][]byte) bool { return bytes.Equal(a[0], b[0]) && bytes.Equal(a[1], b[1]) }) {
			t.Errorf("bucket %s:\n got %q\nwant %q", name, g, w)
		}
	}
	if e1, e2 := epoch(t, src), epoch(t, dst); e1 == e2 || e2 == "" {
		t.Errorf("the copy's epoch %q, the source's %q: want a new one", e2, e1)
	}
	// The copy opens as a store.
	cp, err := boltstore.Open(dst, boltstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("opening the copy: %v", err)
	}
	cp.Close()

	if err := boltstore.WriteFile(dst, func(*boltstore.FileWriter) error { return nil }); !errors.Is(err, server.ErrExists) {
		t.Errorf("WriteFile over a file = %v, want ErrExists", err)
	}
	failed := filepath.Join(dir, "failed.db")
	boom := errors.New("boom")
	if err := boltstore.WriteFile(failed, func(*boltstore.FileWriter) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("WriteFile whose writer fails = %v, want its error", err)
	}
	if _, err := os.Stat(failed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed WriteFile left %s: %v", failed, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("the directory holds %d entries after the copies, want src and copy.db", len(ents))
	}
	err = boltstore.WriteFile(filepath.Join(dir, "gap.db"), func(w *boltstore.FileWriter) error {
		return w.PutLogLeaf(server.LogLeaf{Index: 1, Data: transparency.Entry{Kind: transparency.KindStatement, Statement: "x"}.Marshal()}, nil)
	})
	if err == nil {
		t.Error("a log leaf out of order was written")
	}

	notStore := filepath.Join(dir, "other.db")
	if err := os.WriteFile(notStore, []byte("not a bbolt file at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.OpenFile(notStore); !errors.Is(err, boltstore.ErrNotStore) {
		t.Errorf("OpenFile of another file = %v, want ErrNotStore", err)
	}
	if _, err := boltstore.OpenFile(filepath.Join(dir, "nope.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenFile of a missing file = %v, want ErrNotExist", err)
	}
}

// copyFile copies the store file at path into w, everything in the order
// the reader gives it.
func copyFile(path string, w *boltstore.FileWriter) error {
	f, err := boltstore.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := f.Meta()
	if err != nil {
		return err
	}
	return errors.Join(
		w.PutMeta(m),
		f.Statements(w.PutStatement),
		f.Teams(w.PutTeam),
		f.Users(w.PutUser),
		f.Devices(w.PutDevice),
		f.Cases(w.PutCase),
		f.Records(w.PutRecord),
		f.Revisions(func(_ *record.Revision, data []byte) error { return w.PutRevision(data) }),
		f.Changes(w.PutChange),
		f.Acks(w.PutAck),
		f.PendingAcks(w.PutPendingAck),
		f.Rotations(w.PutRotation),
		f.Blobs(w.PutBlob),
		f.LogLeaves(func(l server.LogLeaf, _ transparency.Entry, hs []byte) error { return w.PutLogLeaf(l, hs) }),
		f.Cosignatures(w.PutCosignature),
	)
}

func buckets(t *testing.T, path string) map[string][][2][]byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][][2][]byte{}
	err = db.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			kvs := [][2][]byte{}
			out[string(name)] = kvs
			return b.ForEach(func(k, v []byte) error {
				out[string(name)] = append(out[string(name)], [2][]byte{bytes.Clone(k), bytes.Clone(v)})
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dropKey(kvs [][2][]byte, key []byte) [][2][]byte {
	return slices.DeleteFunc(slices.Clone(kvs), func(kv [2][]byte) bool { return bytes.Equal(kv[0], key) })
}

func epoch(t *testing.T, path string) string {
	t.Helper()
	f, err := boltstore.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := f.Meta()
	if err != nil {
		t.Fatal(err)
	}
	return m.Epoch
}
