package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
)

// testDestroyCase: destroying a case removes its revisions, records,
// change-log entries, blobs and row, and nothing of another case.
func testDestroyCase(t *testing.T, st server.Store) {
	keep := rev("C2", "R9", 9, "other case")
	r1 := rev("C1", "R1", 1, "sealed one")
	r2 := rev("C1", "R1", 2, "sealed two", r1.Rev)
	r3 := rev("C1", "R2", 3, "sealed three")
	chunk := []byte("sealed chunk")
	blob := record.RevID(sha256.Sum256(chunk))
	update(t, st, func(tx server.Tx) error {
		for _, c := range []string{"C1", "C2"} {
			if err := tx.PutCase(server.Case{ID: c, TeamID: "T1", Members: []string{"U1"}, Created: time.Unix(1_800_000_000, 0).UTC()}); err != nil {
				return err
			}
		}
		for _, r := range []*record.Revision{r1, r2, r3, keep} {
			if r.Generation == 1 {
				if err := tx.InsertRecord(server.RecordInfo{ID: r.RecordID, CaseID: r.CaseID, Kind: r.Kind}); err != nil {
					return err
				}
			}
			if err := tx.InsertRevision(r); err != nil {
				return err
			}
			if _, err := tx.AppendChange(server.Change{Rev: r.Rev, CaseID: r.CaseID}); err != nil {
				return err
			}
		}
		for _, c := range []string{"C1", "C2"} {
			if err := tx.InsertBlob(c, blob, chunk); err != nil {
				return err
			}
		}
		return nil
	})
	var got server.DestroyedCase
	update(t, st, func(tx server.Tx) error {
		d, ok := tx.(server.CaseDestroyer)
		if !ok {
			t.Fatal("the store cannot destroy a case")
		}
		var err error
		got, err = d.DestroyCase("C1")
		return err
	})
	if got.Revisions != 3 || got.Blobs != 1 {
		t.Errorf("destroyed %+v, want 3 revisions and 1 blob", got)
	}
	view(t, st, func(tx server.Tx) error {
		for _, r := range []*record.Revision{r1, r2, r3} {
			if has, err := tx.HasRevision(r.Rev); has || err != nil {
				t.Errorf("revision %s of the destroyed case: %v %v", r.Rev.Short(), has, err)
			}
		}
		for _, id := range []string{"R1", "R2"} {
			if _, err := tx.Record(id); !errors.Is(err, server.ErrNotFound) {
				t.Errorf("record %s of the destroyed case: %v", id, err)
			}
		}
		if _, err := tx.Case("C1"); !errors.Is(err, server.ErrNotFound) {
			t.Errorf("case row: %v", err)
		}
		if has, _ := tx.HasBlob("C1", blob); has {
			t.Error("blob of the destroyed case kept")
		}
		if revs, _ := tx.CaseRevisions("C1"); len(revs) != 0 {
			t.Errorf("CaseRevisions = %v", revs)
		}
		if own, _ := tx.DeviceRevisions("D1", 0, 100); len(own) != 1 || own[0].Rev != keep.Rev {
			t.Errorf("DeviceRevisions after destruction = %d revisions, want only the other case's", len(own))
		}
		chs, err := tx.Changes(0, 100)
		if err != nil {
			return err
		}
		if len(chs) != 1 || chs[0].CaseID != "C2" {
			t.Errorf("change log after destruction: %+v", chs)
		}
		if has, _ := tx.HasRevision(keep.Rev); !has {
			t.Error("another case's revision went too")
		}
		if has, _ := tx.HasBlob("C2", blob); !has {
			t.Error("another case's blob went too")
		}
		if _, err := tx.Case("C2"); err != nil {
			t.Errorf("another case's row: %v", err)
		}
		return nil
	})
}

// Destroyed stores a case (C9) of n revisions and a blob, each with a body
// of random bytes (as ciphertext is), destroys it, and returns the bodies:
// a backend's own test then checks that what its engine keeps of deleted
// data is cleared (server.Reclaimer). Another case (C8) stays: kept is its
// revision.
func Destroyed(t *testing.T, st server.Store, n int) (bodies [][]byte, kept record.RevID) {
	t.Helper()
	body := func(size int) []byte {
		b := make([]byte, size)
		rand.Read(b)
		bodies = append(bodies, b)
		return b
	}
	update(t, st, func(tx server.Tx) error {
		for _, c := range []string{"C8", "C9"} {
			if err := tx.PutCase(server.Case{ID: c, TeamID: "T1", Members: []string{"U1"}, Created: time.Unix(1_800_000_000, 0).UTC()}); err != nil {
				return err
			}
		}
		for i := range n {
			r := rev("C9", fmt.Sprintf("R%03d", i), uint64(100+i), string(body(500+i*97%3000)))
			if err := tx.InsertRecord(server.RecordInfo{ID: r.RecordID, CaseID: r.CaseID, Kind: r.Kind}); err != nil {
				return err
			}
			if err := tx.InsertRevision(r); err != nil {
				return err
			}
			if _, err := tx.AppendChange(server.Change{Rev: r.Rev, CaseID: r.CaseID}); err != nil {
				return err
			}
		}
		keep := rev("C8", "K1", 99, "kept")
		kept = keep.Rev
		if err := tx.InsertRecord(server.RecordInfo{ID: keep.RecordID, CaseID: keep.CaseID, Kind: keep.Kind}); err != nil {
			return err
		}
		if err := tx.InsertRevision(keep); err != nil {
			return err
		}
		chunk := body(4000)
		return tx.InsertBlob("C9", record.RevID(sha256.Sum256(chunk)), chunk)
	})
	update(t, st, func(tx server.Tx) error {
		d, ok := tx.(server.CaseDestroyer)
		if !ok {
			t.Fatal("the store cannot destroy a case")
		}
		got, err := d.DestroyCase("C9")
		if err == nil && (got.Revisions != n || got.Blobs != 1) {
			t.Errorf("destroyed %+v, want %d revisions and a blob", got, n)
		}
		return err
	})
	return bodies, kept
}
