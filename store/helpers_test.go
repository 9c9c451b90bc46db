package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/fieldcase/fieldcase/record"
)

const testPass = "correct horse battery staple"

// testOpts keeps scrypt cheap in unit tests; the binary's tests use the real
// work factor.
var testOpts = Options{WorkFactor: 10, LockWait: 200e6}

// MustCreate makes an unlocked vault in a temporary directory, closed at the
// end of the test.
func MustCreate(t testing.TB) *Vault {
	t.Helper()
	v, err := Create(filepath.Join(t.TempDir(), "vault.db"), testPass, Profile{Name: "Test Worker"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeChecked(t, v) })
	return v
}

// unchecked are the vaults a test damaged on purpose: closeChecked does
// not check them.
var unchecked sync.Map // *Vault → true

// skipCheck says v is damaged on purpose (a tamper test).
func skipCheck(v *Vault) { unchecked.Store(v, true) }

// closeChecked checks that v's indexes agree with its revisions (Check),
// as bbolt's tests check every database they close, and closes it. A vault
// the test closed itself is not checked again.
func closeChecked(t testing.TB, v *Vault) {
	t.Helper()
	if _, skip := unchecked.Load(v); !skip {
		if err := v.Check(); err != nil && !errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
			t.Errorf("the vault's consistency check at close: %v", err)
		}
	}
	v.Close()
}

// reopen closes v and opens and unlocks its file again, loading everything.
func reopen(t testing.TB, v *Vault) *Vault {
	t.Helper()
	path := v.Path()
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	v2, err := Open(path, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeChecked(t, v2) })
	if err := v2.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := v2.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return v2
}

// reopenLocked reopens v and unlocks it without loading notes.
func reopenLocked(t testing.TB, v *Vault) *Vault {
	t.Helper()
	path := v.Path()
	v.Close()
	v2, err := Open(path, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeChecked(t, v2) })
	if err := v2.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	return v2
}

func mustCase(t testing.TB, v *Vault, ref, subject string) string {
	t.Helper()
	id, err := v.CreateCase(record.Case{Ref: ref, Subject: subject, Address: "1 Test Row, Ashbury"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustNote(t testing.TB, v *Vault, caseID, text string) string {
	t.Helper()
	id, err := v.AddNote(caseID, record.Note{Kind: "visit", Date: "2026-11-02", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fillNotes adds n notes to a case in one transaction.
func fillNotes(t testing.TB, v *Vault, caseID string, n int, text string) {
	t.Helper()
	err := v.Update(func(tx *Tx) error {
		for i := 0; i < n; i++ {
			if _, err := tx.AddNote(caseID, record.Note{Kind: "visit", Date: "2026-11-02", Text: text}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
