package scrub_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/internal/scrub"
)

// Values deleted from a bbolt file stay in its free pages until FreePages
// zeroes them; live values, small and overflowing a page, stay whole.
func TestFreePagesLeavesNoDeletedBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	gone, kept := map[string][]byte{}, map[string][]byte{}
	for i := range 200 {
		size := 300
		if i%20 == 0 {
			size = 20000 // several pages
		}
		gone[fmt.Sprintf("gone/%03d", i)] = random(size)
		kept[fmt.Sprintf("kept/%03d", i)] = random(size)
	}
	put := func(m map[string][]byte) {
		t.Helper()
		if err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			for k, v := range m {
				if err := b.Put([]byte(k), v); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(gone)
	put(kept)
	if err := db.Update(func(tx *bolt.Tx) error {
		for k := range gone {
			if err := tx.Bucket([]byte("b")).Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Another transaction, so that the deletion's pages are released.
	put(map[string][]byte{"other": []byte("x")})
	found := func() int {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range gone {
			if bytes.Contains(raw, v[len(v)/2:len(v)/2+32]) {
				n++
			}
		}
		return n
	}
	if n := found(); n == 0 {
		t.Fatal("the deleted values are not in the file before scrubbing: this test would prove nothing")
	}
	marked := false
	pages, err := scrub.FreePages(db, false, func(tx *bolt.Tx) error {
		marked = true
		return tx.Bucket([]byte("b")).Delete([]byte("other"))
	})
	if err != nil || pages == 0 || !marked {
		t.Fatalf("FreePages: %d pages, then ran %v, %v", pages, marked, err)
	}
	if n := found(); n != 0 {
		t.Errorf("%d of %d deleted values still in the file after FreePages", n, len(gone))
	}
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		b := tx.Bucket([]byte("b"))
		for k, v := range kept {
			if got := b.Get([]byte(k)); !bytes.Equal(got, v) {
				return fmt.Errorf("%s: %d bytes, want %d unchanged", k, len(got), len(v))
			}
		}
		if b.Get([]byte("other")) != nil {
			return fmt.Errorf("then's write was not committed")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
