// Package storetest gives other packages' tests device vaults that are
// checked when the test ends: Vault.Check (the vault's indexes against its
// revisions, as bbolt's tests run tx.Check on every database they close)
// runs before the vault is closed, and a finding fails the test. store's
// own tests do the same with their internal helpers (store cannot import
// this package).
package storetest

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/fieldcase/fieldcase/store"
)

// WorkFactor is a cheap scrypt work factor for test vaults' passphrases.
const WorkFactor = 10

// Create makes a vault with store.Create (a zero work factor becomes
// WorkFactor), fails t if it cannot, and checks and closes the vault when
// the test ends (Checked).
func Create(t testing.TB, path, passphrase string, profile store.Profile, opts store.Options) *store.Vault {
	t.Helper()
	if opts.WorkFactor == 0 {
		opts.WorkFactor = WorkFactor
	}
	v, err := store.Create(path, passphrase, profile, opts)
	if err != nil {
		t.Fatalf("creating vault: %v", err)
	}
	Checked(t, v)
	return v
}

// Open opens a vault with store.Open, fails t if it cannot, and checks and
// closes it when the test ends (Checked).
func Open(t testing.TB, path string, opts store.Options) *store.Vault {
	t.Helper()
	v, err := store.Open(path, opts)
	if err != nil {
		t.Fatalf("opening vault: %v", err)
	}
	Checked(t, v)
	return v
}

// checked are the files checked at the end of a test: a file opened more
// than once in a test is checked once closed.
var checked sync.Map // fileOf → true

type fileOf struct {
	t    testing.TB
	path string
}

// Checked registers a cleanup that runs v.Check and then closes v, failing
// t on a finding. A vault the test closed itself is opened again read-only
// and checked without its key (the indexes, not their tags), unless the
// same file was checked at the end of this test already; one whose file is
// gone is not checked. Cleanups run last registered first, so whatever the
// test started after the vault (a sync runner, a program, a later opening
// of the same file) has ended by then.
func Checked(t testing.TB, v *store.Vault) {
	t.Helper()
	path := v.Path()
	key := fileOf{t, path}
	if _, seen := checked.LoadOrStore(key, false); !seen {
		// Registered before the checks of this file, so run after them.
		t.Cleanup(func() { checked.Delete(key) })
	}
	t.Cleanup(func() {
		err := v.Check()
		if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
			if done, _ := checked.Load(key); done == true {
				return
			}
			err = checkFile(path)
		}
		checked.Store(key, true)
		if err != nil {
			t.Errorf("the vault's consistency check at the end of the test (%s): %v", path, err)
		}
		v.Close()
	})
}

// CheckedFile checks the vault file at path (read-only, without its key:
// the indexes, not their tags) when the test ends, once however often it is
// registered: for vaults only another process opened, such as the binary's.
func CheckedFile(t testing.TB, path string) {
	t.Helper()
	key := fileOf{t, path}
	if _, seen := checked.LoadOrStore(key, false); seen {
		return
	}
	t.Cleanup(func() {
		defer checked.Delete(key)
		if err := checkFile(path); err != nil {
			t.Errorf("the vault's consistency check at the end of the test (%s): %v", path, err)
		}
	})
}

// checkFile opens a closed vault's file read-only and checks it.
func checkFile(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	v, err := store.Open(path, store.Options{ReadOnly: true, LockWait: 5 * time.Second})
	if err != nil {
		return err
	}
	defer v.Close()
	return v.Check()
}
