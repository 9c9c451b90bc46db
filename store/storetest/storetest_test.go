package storetest_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
)

// recorder stands in for a test's testing.TB so that a failing check can
// be seen without failing this test.
type recorder struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (r *recorder) Cleanup(fn func()) { r.cleanups = append(r.cleanups, fn) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// A sound vault passes at the end of a test, open or closed by the test;
// one whose indexes disagree with its revisions fails it, open (checked
// with its key) or closed (opened again read-only).
func TestChecked(t *testing.T) {
	for _, closeFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("closed by the test %v", closeFirst), func(t *testing.T) {
			for _, damage := range []bool{false, true} {
				r := &recorder{TB: t}
				path := filepath.Join(t.TempDir(), "v.db")
				v := storetest.Create(r, path, "storetest passphrase", store.Profile{Name: "Test"}, store.Options{})
				caseID, err := v.CreateCase(record.Case{Ref: "R1", Subject: "A Subject"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := v.AddNote(caseID, record.Note{Kind: "visit", Date: "2026-11-02", Text: "seen at home"}); err != nil {
					t.Fatal(err)
				}
				if damage || closeFirst {
					v.Close()
				}
				if damage {
					dropHeads(t, path)
				}
				if damage && !closeFirst {
					v = storetest.Open(r, path, store.Options{})
					if err := v.Unlock("storetest passphrase"); err != nil {
						t.Fatal(err)
					}
				}
				r.end()
				if got := len(r.errors) > 0; got != damage {
					t.Errorf("damaged %v: the check at the end reported %q", damage, r.errors)
				}
				if damage && !strings.Contains(strings.Join(r.errors, "\n"), "no heads entry") {
					t.Errorf("the check reported %q, want the record without a heads entry", r.errors)
				}
			}
		})
	}
}

// dropHeads deletes every heads entry of the vault file at path: its
// records have revisions and no heads.
func dropHeads(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(btx *bolt.Tx) error {
		if err := btx.DeleteBucket([]byte("heads")); err != nil {
			return err
		}
		_, err := btx.CreateBucket([]byte("heads"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
