package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
)

// bbolt → PostgreSQL → bbolt backup keeps every bucket's bytes: the
// backup file is the source file but for what a copy changes on purpose —
// a new epoch, meta's created time at PostgreSQL's microseconds, and
// case_revs' counters (renumbered case by case; each case's order kept).
func TestBucketsRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src", boltstore.FileName)
	bs, err := boltstore.Open(src, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, bs)
	bs.Close()

	pg := open(t)
	if _, err := pgstore.ImportBolt(ctx, src, pg); err != nil {
		t.Fatalf("ImportBolt: %v", err)
	}
	bk := filepath.Join(dir, "backup.db")
	if err := pg.Backup(ctx, bk); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	want, got := dumpBuckets(t, src), dumpBuckets(t, bk)
	if !slices.Equal(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got))) {
		t.Fatalf("buckets %q, want %q", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if len(want[string(boltstore.Layout.Revs)]) != 12 || len(want[string(boltstore.Layout.LogLeaves)]) != 16 {
		t.Fatalf("the source holds %d revisions and %d log leaves, want 12 and 16",
			len(want[string(boltstore.Layout.Revs)]), len(want[string(boltstore.Layout.LogLeaves)]))
	}
	for name, w := range want {
		g := got[name]
		if name == string(boltstore.Layout.Meta) {
			w, g = normaliseMeta(t, w), normaliseMeta(t, g)
		}
		if name == string(boltstore.Layout.CaseRevs) {
			w, g = caseOrder(w), caseOrder(g)
		}
		if len(w) == 0 && name != string(boltstore.Layout.Meta) {
			t.Errorf("bucket %s is empty in the source: the test fills every bucket", name)
		}
		if !slices.EqualFunc(w, g, func(a, b [2][]byte) bool { return bytes.Equal(a[0], b[0]) && bytes.Equal(a[1], b[1]) }) {
			t.Errorf("bucket %s:\n got %q\nwant %q", name, g, w)
		}
	}
}

// dumpBuckets reads every bucket of a bbolt file as key/value pairs in key
// order.
func dumpBuckets(t *testing.T, path string) map[string][][2][]byte {
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
			err := b.ForEach(func(k, v []byte) error {
				kvs = append(kvs, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
				return nil
			})
			out[string(name)] = kvs
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// normaliseMeta drops the epoch (new in every copy) and reads created at
// microseconds (PostgreSQL's precision).
func normaliseMeta(t *testing.T, kvs [][2][]byte) [][2][]byte {
	t.Helper()
	var out [][2][]byte
	for _, kv := range kvs {
		switch string(kv[0]) {
		case string(boltstore.MetaKeys.Epoch):
			if len(kv[1]) == 0 {
				t.Error("meta: no epoch")
			}
			continue
		case string(boltstore.MetaKeys.Created):
			var c time.Time
			if err := c.UnmarshalText(kv[1]); err != nil {
				t.Errorf("meta: created: %v", err)
			}
			kv[1] = []byte(c.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano))
		}
		out = append(out, kv)
	}
	return out
}

// caseOrder drops case_revs' counters: case id ‖ 0 ‖ counter → rev becomes
// case id → rev, in the order listed.
func caseOrder(kvs [][2][]byte) [][2][]byte {
	var out [][2][]byte
	for _, kv := range kvs {
		k := kv[0]
		if len(k) < 9 {
			out = append(out, [2][]byte{[]byte(fmt.Sprintf("damaged %x", k)), kv[1]})
			continue
		}
		out = append(out, [2][]byte{k[:len(k)-9], kv[1]})
	}
	return out
}
