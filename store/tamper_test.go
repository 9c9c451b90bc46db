package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// An attacker holds the vault file but not the passphrase (issue 11). Each
// test edits the file the way such an attacker could, then unlocks it: the
// vault opens, the record touched is named in Damaged and left out, every
// other note is listed and found, nothing panics.

// tampered is a small vault built once per test, closed, for editing.
type tampered struct {
	path     string
	c1, c2   string
	words    map[string]string // live note id → the one word only its text holds
	first    string            // the first note of c1
	deleted  string            // a deleted note of c1
	edited   string            // a note of c2 with two revisions
	oldRev   record.RevID      // the edited note's first revision
	task     string            // a task of c1
	deviceID string
}

func buildTampered(t *testing.T) *tampered {
	t.Helper()
	v := MustCreate(t)
	tv := &tampered{path: v.Path(), words: map[string]string{}, deviceID: v.DeviceID()}
	tv.c1 = mustCase(t, v, "R-1", "Amelia Testcase")
	tv.c2 = mustCase(t, v, "R-2", "Ben Fictional")
	for i, c := range []string{tv.c1, tv.c1, tv.c1, tv.c2, tv.c2} {
		w := fmt.Sprintf("zanzibar%c", 'a'+i)
		id := mustNote(t, v, c, "visit notes "+w+" "+strings.Repeat("filler ", i*40))
		tv.words[id] = w
		if i == 0 {
			tv.first = id
		}
	}
	tv.deleted = mustNote(t, v, tv.c1, "a note about ghostword, deleted")
	if err := v.Delete(tv.c1, tv.deleted); err != nil {
		t.Fatal(err)
	}
	tv.edited = mustNote(t, v, tv.c2, "first text oldword")
	it, _ := v.Note(tv.edited)
	tv.oldRev = it.Rev
	if err := v.EditNote(tv.edited, it.Parents(), record.Note{Kind: "visit", Date: "2026-11-03", Text: "second text newword"}); err != nil {
		t.Fatal(err)
	}
	tv.words[tv.edited] = "newword"
	var err error
	if tv.task, err = v.AddTask(tv.c1, record.Task{Title: "Call school", Kind: "task", Due: "2026-12-01"}); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	return tv
}

// copyFile gives each test case its own copy of the vault.
func (tv *tampered) copyFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(tv.path)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "vault.db")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// edit changes the file with bbolt directly, as an attacker would.
func edit(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustOpenUnlock(t *testing.T, path string) *Vault {
	t.Helper()
	v, err := Open(path, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	if err := v.Unlock(testPass); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatalf("LoadAll: %v", err)
	}
	return v
}

// checkDamaged asserts that exactly the records in want are damaged (named,
// with their case) and that every other live note is listed with its text
// and found by search, and the case list is whole.
func (tv *tampered) checkDamaged(t *testing.T, v *Vault, want ...string) {
	t.Helper()
	ds, err := v.Damaged()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		t.Logf("damaged: %v", d)
		if d.RecordID == "" {
			continue
		}
		got = append(got, d.RecordID)
		if d.CaseID != tv.c1 && d.CaseID != tv.c2 {
			t.Errorf("damage %v names case %q", d, d.CaseID)
		}
		if d.Problem == "" {
			t.Errorf("damage %v says nothing of what is wrong", d)
		}
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Damaged() = %v, want records %v", ds, want)
	}
	cases, err := v.Cases()
	if err != nil || len(cases) != 2 {
		t.Errorf("Cases() = %d cases, %v; want 2", len(cases), err)
	}
	listed := map[string]string{}
	for _, c := range []string{tv.c1, tv.c2} {
		notes, err := v.Notes(c)
		if err != nil {
			t.Fatalf("Notes(%s): %v", c, err)
		}
		for _, n := range notes {
			if n.Loading || n.Sealed {
				t.Errorf("note %s listed loading=%v sealed=%v", n.ID, n.Loading, n.Sealed)
			}
			listed[n.ID] = n.Value.Text
		}
	}
	for id, w := range tv.words {
		hits, err := v.Search(w, 0)
		if err != nil {
			t.Fatalf("Search(%s): %v", w, err)
		}
		if slices.Contains(want, id) {
			if _, ok := listed[id]; ok {
				t.Errorf("damaged note %s still listed", id)
			}
			if len(hits) != 0 {
				t.Errorf("damaged note %s still found", id)
			}
			continue
		}
		if !strings.Contains(listed[id], w) {
			t.Errorf("note %s (%s) not listed with its text: %.30q", id, w, listed[id])
		}
		if len(hits) != 1 || hits[0].NoteID != id {
			t.Errorf("Search(%s) = %v, want note %s", w, hits, id)
		}
	}
	if _, ok := listed[tv.deleted]; ok && !slices.Contains(want, tv.deleted) {
		t.Errorf("deleted note %s listed", tv.deleted)
	}
	if _, err := v.Stats(); err != nil {
		t.Error(err)
	}
}

// headsKey and the position of a heads entry's last flag byte.
func headsKey(caseID, id string) []byte { return recordKey(caseID, id) }

func TestTamperedHeadsAreQuarantined(t *testing.T) {
	tv := buildTampered(t)
	note := tv.first // a live note of c1
	caseOf := func(id string) string {
		if id == tv.edited {
			return tv.c2
		}
		return tv.c1
	}
	other := tv.edited
	tests := []struct {
		name string
		edit func(t *testing.T, tx *bolt.Tx)
		want []string
	}{
		{"deleted flag set on a live note", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketHeads)
			k := headsKey(tv.c1, note)
			v := bytes.Clone(b.Get(k))
			v[len(v)-macSize-1] = 1
			b.Put(k, v)
		}, []string{note}},
		{"deleted flag cleared on a deleted note", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketHeads)
			k := headsKey(tv.c1, tv.deleted)
			v := bytes.Clone(b.Get(k))
			v[len(v)-macSize-1] = 0
			b.Put(k, v)
		}, []string{tv.deleted}},
		{"head's rev swapped for an older revision", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketHeads)
			k := headsKey(tv.c2, tv.edited)
			v := bytes.Clone(b.Get(k))
			copy(v[3:35], tv.oldRev[:])
			b.Put(k, v)
		}, []string{tv.edited}},
		{"head's rev swapped for another note's", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketHeads)
			k, ko := headsKey(tv.c1, note), headsKey(caseOf(other), other)
			v := bytes.Clone(b.Get(k))
			copy(v[3:35], b.Get(ko)[3:35])
			b.Put(k, v)
		}, []string{note}},
		{"entry moved to another record's key", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketHeads)
			k, ko := headsKey(tv.c1, note), headsKey(caseOf(other), other)
			v := bytes.Clone(b.Get(k))
			b.Delete(k)
			b.Put(ko, v)
		}, []string{note, other}}, // other's entry fails its tag; note's is gone
		{"entry removed", func(t *testing.T, tx *bolt.Tx) {
			tx.Bucket(bucketHeads).Delete(headsKey(tv.c1, note))
		}, []string{note}},
		{"entry truncated", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketHeads)
			k := headsKey(tv.c1, note)
			b.Put(k, bytes.Clone(b.Get(k)[:20]))
		}, []string{note}},
		{"entry without its tag", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketHeads)
			k := headsKey(tv.c1, note)
			v := bytes.Clone(b.Get(k))
			v = v[:len(v)-macSize]
			v[0] = headsV1
			b.Put(k, v)
		}, []string{note}},
		{"entry garbled", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketHeads)
			k := headsKey(tv.c1, note)
			v := bytes.Clone(b.Get(k))
			for i := range v {
				v[i] ^= byte(0x5a + i)
			}
			b.Put(k, v)
		}, []string{note}},
		{"entry of a task garbled", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketHeads)
			k := headsKey(tv.c1, tv.task)
			v := bytes.Clone(b.Get(k))
			v[len(v)-1] ^= 1
			b.Put(k, v)
		}, []string{tv.task}},
		{"note ciphertext corrupted", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketRevs)
			k, v := revOf(t, tx, tv.c1, note)
			v[len(v)-70] ^= 1 // inside the sealed body, before the signature
			b.Put(k, v)
		}, []string{note}},
		{"revision encoding corrupted", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketRevs)
			k, v := revOf(t, tx, tv.c1, note)
			b.Put(k, v[:40])
		}, []string{note}},
		{"revision removed", func(t *testing.T, tx *bolt.Tx) {
			k, _ := revOf(t, tx, tv.c1, note)
			tx.Bucket(bucketRevs).Delete(k)
		}, []string{note}},
		{"revision swapped for the record's older one", func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(bucketRevs)
			k, _ := revOf(t, tx, tv.c2, tv.edited)
			b.Put(k, bytes.Clone(b.Get(revKey(tv.c2, tv.edited, tv.oldRev))))
		}, []string{tv.edited}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tv.copyFile(t)
			edit(t, p, func(tx *bolt.Tx) error { tt.edit(t, tx); return nil })
			v := mustOpenUnlock(t, p)
			tv.checkDamaged(t, v, tt.want...)
			// Still writable: a new note in a case goes in and lists.
			id := mustNote(t, v, tv.c2, "written after the damage")
			if n, err := v.Note(id); err != nil || n.Value.Text != "written after the damage" {
				t.Errorf("note written after the damage: %+v, %v", n, err)
			}
			// A damaged record cannot be written over blindly.
			for _, d := range tt.want {
				if _, err := v.Note(d); err == nil {
					t.Errorf("damaged note %s readable by id", d)
				}
			}
			// And the damage is found again at the next unlock.
			v = reopen(t, v)
			skipCheck(v) // damaged on purpose: Check would name it too
			tv.checkDamaged(t, v, tt.want...)
		})
	}
}

// revOf returns the key and a copy of a record's winning revision.
func revOf(t *testing.T, tx *bolt.Tx, caseID, id string) ([]byte, []byte) {
	t.Helper()
	b := tx.Bucket(bucketHeads).Get(recordKey(caseID, id))
	e, err := unmarshalHeads(b[:len(b)-macSize], headsV2)
	if err != nil {
		t.Fatal(err)
	}
	k := revKey(caseID, id, e.Heads[0].Rev)
	return k, bytes.Clone(tx.Bucket(bucketRevs).Get(k))
}

// The vault's other trusted values: each edit is noticed, never taken.
func TestTamperedVaultValues(t *testing.T) {
	tv := buildTampered(t)
	t.Run("counters", func(t *testing.T) {
		p := tv.copyFile(t)
		edit(t, p, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaSeq, u64(1)) })
		v := mustOpenUnlock(t, p)
		ds, _ := v.Damaged()
		if len(ds) != 1 || ds[0].RecordID != "" || !strings.Contains(ds[0].Problem, "counters") {
			t.Errorf("Damaged() = %v, want the counters named", ds)
		}
		tv.checkDamaged(t, v)
	})
	t.Run("record count lowered with an entry removed", func(t *testing.T) {
		p := tv.copyFile(t)
		id := tv.first
		edit(t, p, func(tx *bolt.Tx) error {
			m := tx.Bucket(bucketMeta)
			n := binary.BigEndian.Uint64(m.Get(metaRecords))
			m.Put(metaRecords, u64(n-1))
			return tx.Bucket(bucketHeads).Delete(recordKey(tv.c1, id))
		})
		v := mustOpenUnlock(t, p)
		ds, _ := v.Damaged()
		if len(ds) == 0 || !strings.Contains(ds[len(ds)-1].Problem, "counters") {
			t.Errorf("Damaged() = %v, want the counters named", ds)
		}
	})
	t.Run("keyring cache replaced", func(t *testing.T) {
		p := tv.copyFile(t)
		// Anyone can write an age file to the device's public recipient.
		v, err := Open(p, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		v.Unlock(testPass)
		forged, err := crypto.SealKeyring(v.keys, v.id)
		if err != nil {
			t.Fatal(err)
		}
		v.Close()
		edit(t, p, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaKeyring, forged) })
		v, err = Open(p, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if err := v.Unlock(testPass); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Unlock with a keyring cache not signed by the device = %v, want ErrCorrupt", err)
		}
	})
	t.Run("agency pin", func(t *testing.T) {
		// Who may receive case keys follows from the pinned agency key:
		// someone who can edit the file must not swap it for their own.
		p := tv.copyFile(t)
		v := mustOpenUnlock(t, p)
		ag := newTestAgency(t)
		ag.enrol(v, "ada", trust.RoleCaseworker, "north")
		v.Close()
		theirs, _ := trust.GenerateAgencyKey()
		edit(t, p, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaAgency, theirs.Public())
		})
		v = mustOpenUnlock(t, p)
		if got := v.Agency(); got != nil {
			t.Errorf("an edited agency pin is trusted: %x", got)
		}
		if r := v.Roster(); r != nil && len(r.Devices) > 0 {
			t.Errorf("a roster under an edited pin: %d devices", len(r.Devices))
		}
	})
	t.Run("sync config", func(t *testing.T) {
		p := tv.copyFile(t)
		v := mustOpenUnlock(t, p)
		if err := v.SetSyncConfig(SyncConfig{Server: "https://cases.example", Token: "tok"}); err != nil {
			t.Fatal(err)
		}
		v.Close()
		edit(t, p, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketSync).Put(syncConfig, []byte(`{"server":"https://evil.example"}`))
		})
		v = mustOpenUnlock(t, p)
		if _, err := v.SyncConfig(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("SyncConfig after the server was edited = %v, want ErrCorrupt", err)
		}
	})
	t.Run("pull cursor moved forward", func(t *testing.T) {
		p := tv.copyFile(t)
		v := mustOpenUnlock(t, p)
		if _, err := v.ApplyPage(nil, "page-3", 0); err != nil {
			t.Fatal(err)
		}
		if c, _ := v.Cursor(); c != "page-3" {
			t.Fatalf("Cursor() = %q", c)
		}
		v.Close()
		edit(t, p, func(tx *bolt.Tx) error { return tx.Bucket(bucketSync).Put(syncCursor, []byte("page-900")) })
		v = mustOpenUnlock(t, p)
		if c, err := v.Cursor(); c != "" || err != nil {
			t.Errorf("Cursor() after an edit = %q, %v; want \"\" (pull from the start)", c, err)
		}
		if dmg, _ := v.Damaged(); len(dmg) != 1 || !strings.Contains(dmg[0].Problem, "cursor") {
			t.Errorf("Damaged() = %v, want the cursor", dmg)
		}
	})
	t.Run("version set back to 1", func(t *testing.T) {
		p := tv.copyFile(t)
		edit(t, p, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaVersion, u64(1)) })
		v, err := Open(p, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if err := v.Unlock(testPass); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Unlock of a migrated vault claiming format 1 = %v, want ErrCorrupt", err)
		}
	})
	t.Run("newer format", func(t *testing.T) {
		p := tv.copyFile(t)
		edit(t, p, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaVersion, u64(formatVersion+1)) })
		if v, err := Open(p, testOpts); !errors.Is(err, ErrNewerFormat) {
			if err == nil {
				v.Close()
			}
			t.Errorf("Open = %v, want ErrNewerFormat", err)
		}
	})
	t.Run("draft", func(t *testing.T) {
		p := tv.copyFile(t)
		v := mustOpenUnlock(t, p)
		v.SaveDraft(Draft{CaseID: tv.c1, Note: record.Note{Text: "one"}})
		v.SaveDraft(Draft{CaseID: tv.c2, Note: record.Note{Text: "two"}})
		v.Close()
		edit(t, p, func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketDrafts)
			return b.Put([]byte(DraftKey(tv.c1, "")), bytes.Clone(b.Get([]byte(DraftKey(tv.c2, "")))))
		})
		v = mustOpenUnlock(t, p)
		ds, err := v.Drafts()
		if err != nil || len(ds) != 1 || ds[0].Note.Text != "two" {
			t.Errorf("Drafts() = %+v, %v; want the one draft that opens", ds, err)
		}
		if dmg, _ := v.Damaged(); len(dmg) != 1 || !strings.Contains(dmg[0].Problem, "draft") {
			t.Errorf("Damaged() = %v, want the moved draft", dmg)
		}
	})
	t.Run("outbox entry", func(t *testing.T) {
		p := tv.copyFile(t)
		edit(t, p, func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketOutbox)
			k, v := b.Cursor().Last()
			return b.Put(u64(binary.BigEndian.Uint64(k)+5), bytes.Clone(v)) // points at another sequence's revision
		})
		v := mustOpenUnlock(t, p)
		out, err := v.Outbox(0)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range out {
			if r.Seq != uint64(i+1) {
				t.Errorf("outbox[%d] has sequence %d", i, r.Seq)
			}
		}
		if dmg, _ := v.Damaged(); len(dmg) != 1 || !strings.Contains(dmg[0].Problem, "outbox") {
			t.Errorf("Damaged() = %v, want the outbox entry", dmg)
		}
	})
}

// A hostile server can send a revision whose id matches but whose body does
// not open: the record is damaged at once, not shown empty as if fine, and a
// later revision superseding it brings it back.
func TestPulledBadBodyIsQuarantinedAndRestored(t *testing.T) {
	v, other := MustCreate(t), MustCreate(t)
	ag := newTestAgency(t)
	ag.enrol(v, "ada", trust.RoleCaseworker, "north")
	ag.enrol(other, "sam", trust.RoleSupervisor, "north")
	oid, _ := other.Identity()
	caseID := mustCase(t, v, "R-1", "x")
	good := mustNote(t, v, caseID, "good note alpha")
	bad := mustNote(t, v, caseID, "to be replaced bravo")
	it, _ := v.Note(bad)
	orig, err := v.Revision(caseID, bad, it.Rev)
	if err != nil {
		t.Fatal(err)
	}
	// Another device's edit of the note (a trusted, signing device), with a
	// body that does not open.
	rev := &record.Revision{RecordID: bad, Kind: record.KindNote, CaseID: caseID, Parents: []record.RevID{it.Rev},
		Generation: 2, HLC: it.HLC + 1, Device: other.DeviceID(), Seq: 1, Body: bytes.Clone(orig.Body)}
	rev.Body[len(rev.Body)-1] ^= 1
	rev.Seal()
	rev.Sign(oid.Sign)
	if _, err := v.ApplyPage([]*record.Revision{rev}, "c1", 0); err != nil {
		t.Fatal(err)
	}
	check := func(v *Vault, wantBad bool) {
		t.Helper()
		notes, err := v.Notes(caseID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, n := range notes {
			ids = append(ids, n.ID)
		}
		ds, _ := v.Damaged()
		if wantBad && (len(notes) != 1 || notes[0].ID != good || len(ds) != 1 || ds[0].RecordID != bad) {
			t.Errorf("notes %v, damaged %v; want only %s listed and %s damaged", ids, ds, good, bad)
		}
		if !wantBad && (len(notes) != 2 || len(ds) != 0) {
			t.Errorf("notes %v, damaged %v; want both listed, nothing damaged", ids, ds)
		}
	}
	check(v, true)
	v = reopen(t, v)
	check(v, true)
	// A later edit by that device, superseding the bad revision, brings the
	// note back.
	key := v.keys.Get(caseID, 1)
	next := &record.Revision{RecordID: bad, Kind: record.KindNote, CaseID: caseID, Parents: []record.RevID{rev.Rev},
		Generation: 3, HLC: rev.HLC + 1, Device: rev.Device, Seq: 2}
	next.Body, _ = sealed.Seal(key, caseID, bad, record.KindNote, &record.Note{Kind: "visit", Date: "2026-11-02", Text: "restored charlie"})
	next.Seal()
	next.Sign(oid.Sign)
	if _, err := v.ApplyPage([]*record.Revision{next}, "c2", 0); err != nil {
		t.Fatal(err)
	}
	check(v, false)
	if n, _ := v.Note(bad); n.Value.Text != "restored charlie" {
		t.Errorf("restored note = %q", n.Value.Text)
	}
	if hits, _ := v.Search("charlie", 0); len(hits) != 1 {
		t.Errorf("restored note not found: %v", hits)
	}
	v = reopen(t, v)
	check(v, false)
}

// A garbled heads entry comes back with RestoreRecord from the revisions
// the vault still holds and the server's copies.
func TestRestoreRecordAfterGarbledHeads(t *testing.T) {
	tv := buildTampered(t)
	p := tv.copyFile(t)
	edit(t, p, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHeads).Put(recordKey(tv.c2, tv.edited), []byte("garbage"))
	})
	v := mustOpenUnlock(t, p)
	tv.checkDamaged(t, v, tv.edited)
	if err := v.EditNote(tv.edited, nil, record.Note{Text: "blind write"}); err == nil {
		t.Errorf("an edit of a damaged note was taken")
	}
	err := v.Update(func(tx *Tx) error {
		_, err := tx.Put(Change{Kind: record.KindNote, CaseID: tv.c2, RecordID: tv.edited, Value: &record.Note{Text: "blind"}})
		return err
	})
	if !errors.Is(err, ErrDamaged) || !errors.Is(err, ErrCorrupt) {
		t.Errorf("Put on a damaged record = %v, want ErrDamaged and ErrCorrupt", err)
	}
	if err := v.Update(func(tx *Tx) error { return tx.RestoreRecord(tv.c2, tv.edited, nil) }); err != nil {
		t.Fatal(err)
	}
	tv.checkDamaged(t, v)
	if n, _ := v.Note(tv.edited); n.Value.Text != "second text newword" || n.Conflict {
		t.Errorf("restored note = %+v", n)
	}
	v = reopen(t, v)
	tv.checkDamaged(t, v)
}

// Random damage to the heads bucket never panics and never hides more than
// the records it touched.
func TestRandomHeadsDamageStaysLocal(t *testing.T) {
	tv := buildTampered(t)
	for i := 0; i < 30; i++ {
		p := tv.copyFile(t)
		var victim string
		edit(t, p, func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketHeads)
			var keys [][]byte
			b.ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
			k := keys[i%len(keys)]
			_, victim, _ = splitRecordKey(k)
			v := bytes.Clone(b.Get(k))
			v[(i*7)%len(v)] ^= byte(1 << (i % 8))
			return b.Put(k, v)
		})
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("damage %d: panic %v", i, r)
				}
			}()
			v := mustOpenUnlock(t, p)
			ds, _ := v.Damaged()
			if len(ds) != 1 || ds[0].RecordID != victim {
				t.Errorf("damage %d to %s: Damaged() = %v", i, victim, ds)
			}
			v.Close()
		}()
	}
}
