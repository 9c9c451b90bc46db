package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

func TestCreateUnlockLock(t *testing.T) {
	v := MustCreate(t)
	caseID := mustCase(t, v, "R-1", "Amelia Testcase")
	mustNote(t, v, caseID, "Home visit, kitchen clean.")

	v.Lock()
	if _, err := v.Cases(); !errors.Is(err, ErrLocked) {
		t.Errorf("Cases while locked: err = %v, want ErrLocked", err)
	}
	if _, err := v.CreateCase(record.Case{Ref: "R-2", Subject: "x"}); !errors.Is(err, ErrLocked) {
		t.Errorf("CreateCase while locked: err = %v, want ErrLocked", err)
	}
	if err := v.Unlock("wrong passphrase!"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Unlock(wrong) = %v, want ErrWrongPassphrase", err)
	}
	if v.Unlocked() {
		t.Fatal("vault unlocked by a wrong passphrase")
	}
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	notes, err := v.Notes(caseID)
	if err != nil || len(notes) != 1 || notes[0].Value.Text != "Home visit, kitchen clean." {
		t.Fatalf("Notes after relock = %+v, %v", notes, err)
	}
	if got := v.Profile().Name; got != "Test Worker" {
		t.Errorf("profile name = %q", got)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	v := MustCreate(t)
	caseID := mustCase(t, v, "R-7", "Ben Fictional")
	noteID := mustNote(t, v, caseID, "first text")
	n, _ := v.Note(noteID)
	if err := v.EditNote(noteID, n.Parents(), record.Note{Kind: "phone", Date: "2026-11-03", Text: "second text"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddConsent(caseID, record.Consent{Person: "Mother", Scope: []string{"health", "school"}, Decision: "given", Date: "2026-01-01", ReviewDate: "2026-06-01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddConsent(caseID, record.Consent{Person: "Mother", Scope: []string{"school"}, Decision: "withdrawn", Date: "2026-02-01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddTask(caseID, record.Task{Title: "Visit", Kind: "visit", Due: "2020-01-01"}); err != nil {
		t.Fatal(err)
	}

	v = reopen(t, v)
	c, err := v.CaseByRef("r-7")
	if err != nil || c.Value.Subject != "Ben Fictional" {
		t.Fatalf("CaseByRef = %+v, %v", c, err)
	}
	if c.Notes != 1 || c.OpenTasks != 1 || c.OverdueTasks != 1 || !c.Overdue("2026-11-22") {
		t.Errorf("counts: notes %d open %d overdue %d", c.Notes, c.OpenTasks, c.OverdueTasks)
	}
	got, _ := v.Note(noteID)
	if got.Value.Text != "second text" || got.Value.Kind != "phone" || got.Conflict {
		t.Errorf("note after edit = %+v", got)
	}
	cs, err := v.Consents(caseID) // newest first (the standing ones: caseload.ConsentSummary)
	if err != nil || len(cs) != 2 || cs[0].Value.Decision != "withdrawn" || cs[1].Value.Decision != "given" ||
		cs[1].Value.ReviewDate != "2026-06-01" || len(cs[1].Value.Scope) != 2 {
		t.Errorf("consents after reopen = %+v, %v", cs, err)
	}
}

func TestOutboxInSameTransaction(t *testing.T) {
	v := MustCreate(t)
	caseID := mustCase(t, v, "R-1", "x") // keyring + case
	mustNote(t, v, caseID, "a")
	if got := v.OutboxLen(); got != 3 {
		t.Fatalf("OutboxLen = %d, want 3", got)
	}
	// A failed transaction leaves neither the revision nor its outbox entry.
	boom := errors.New("boom")
	err := v.Update(func(tx *Tx) error {
		if _, err := tx.AddNote(caseID, record.Note{Text: "never"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	v = reopen(t, v)
	out, err := v.Outbox(0)
	if err != nil || len(out) != 3 {
		t.Fatalf("Outbox = %d entries, %v; want 3", len(out), err)
	}
	for i, r := range out {
		if r.Seq != uint64(i+1) || r.Device != v.DeviceID() {
			t.Errorf("outbox[%d] seq %d device %s", i, r.Seq, r.Device)
		}
	}
	c, _ := v.Case(caseID)
	if !c.Unsynced || c.Notes != 1 {
		t.Errorf("case unsynced=%v notes=%d", c.Unsynced, c.Notes)
	}
	if err := v.Update(func(tx *Tx) error { return tx.Acknowledge(2) }); err != nil {
		t.Fatal(err)
	}
	if got := v.OutboxLen(); got != 1 {
		t.Errorf("OutboxLen after ack = %d, want 1", got)
	}
	if c, _ := v.Case(caseID); c.Unsynced {
		t.Errorf("case still unsynced after its revision was acknowledged")
	}
}

func TestConcurrentEditsKeepBothVersions(t *testing.T) {
	v := MustCreate(t)
	caseID := mustCase(t, v, "R-1", "x")
	noteID := mustNote(t, v, caseID, "original")
	base, _ := v.Note(noteID)
	// Two edits of the same version, as two offline devices would make.
	if err := v.EditNote(noteID, []record.RevID{base.Rev}, record.Note{Kind: "visit", Date: "2026-11-02", Text: "edit A"}); err != nil {
		t.Fatal(err)
	}
	if err := v.EditNote(noteID, []record.RevID{base.Rev}, record.Note{Kind: "visit", Date: "2026-11-02", Text: "edit B"}); err != nil {
		t.Fatal(err)
	}
	v = reopen(t, v)
	n, _ := v.Note(noteID)
	if !n.Conflict || len(n.Versions) != 2 {
		t.Fatalf("conflict=%v versions=%d, want a conflict of 2", n.Conflict, len(n.Versions))
	}
	texts := []string{n.Versions[0].Value.Text, n.Versions[1].Value.Text}
	if !(texts[0] == "edit B" && texts[1] == "edit A") {
		t.Errorf("versions = %q, want newest (edit B) first", texts)
	}
	if st, _ := v.Stats(); st.Conflicts != 1 {
		t.Errorf("Stats.Conflicts = %d", st.Conflicts)
	}
	// Resolve: a merge revision whose parents are both heads.
	merged := record.Note{Kind: "visit", Date: "2026-11-02", Text: "edit A\nedit B"}
	if err := v.EditNote(noteID, n.Parents(), merged); err != nil {
		t.Fatal(err)
	}
	n, _ = v.Note(noteID)
	if n.Conflict || n.Value.Text != merged.Text {
		t.Errorf("after merge: conflict=%v text=%q", n.Conflict, n.Value.Text)
	}
	rev, err := v.Revision(caseID, noteID, n.Rev)
	if err != nil || len(rev.Parents) != 2 || rev.Generation != 3 {
		t.Errorf("merge revision parents=%d gen=%d err=%v", len(rev.Parents), rev.Generation, err)
	}
}

func TestEditConcurrentWithDelete(t *testing.T) {
	v := MustCreate(t)
	caseID := mustCase(t, v, "R-1", "x")
	noteID := mustNote(t, v, caseID, "original")
	base, _ := v.Note(noteID)
	if err := v.Delete(caseID, noteID); err != nil {
		t.Fatal(err)
	}
	if n, _ := v.Notes(caseID); len(n) != 0 {
		t.Fatalf("deleted note still listed")
	}
	if err := v.EditNote(noteID, []record.RevID{base.Rev}, record.Note{Kind: "visit", Date: "2026-11-02", Text: "edited offline"}); err != nil {
		t.Fatal(err)
	}
	n, _ := v.Note(noteID)
	if !n.Conflict || len(n.Versions) != 2 {
		t.Fatalf("edit vs delete: conflict=%v versions=%d", n.Conflict, len(n.Versions))
	}
	var sawDeleted, sawEdit bool
	for _, ver := range n.Versions {
		sawDeleted = sawDeleted || ver.Deleted
		sawEdit = sawEdit || ver.Value.Text == "edited offline"
	}
	if !sawDeleted || !sawEdit {
		t.Errorf("versions lost: deleted=%v edit=%v", sawDeleted, sawEdit)
	}
	if notes, _ := v.Notes(caseID); len(notes) != 1 {
		t.Errorf("a note in edit/delete conflict must stay listed")
	}
	if _, err := v.AddConsent(caseID, record.Consent{Person: "p", Scope: []string{"health"}, Decision: "given"}); err != nil {
		t.Fatal(err)
	}
	cs, _ := v.Consents(caseID)
	if err := v.Delete(caseID, cs[0].ID); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("deleting a consent: err = %v, want ErrInvalid", err)
	}
}

// Revisions from another device arrive through Apply, in any order.
func TestApplyFromAnotherDevice(t *testing.T) {
	a, b := MustCreate(t), MustCreate(t)
	ag := newTestAgency(t)
	ag.enrol(a, "ada", trust.RoleCaseworker, "north")
	ag.enrol(b, "sam", trust.RoleSupervisor, "north")
	caseID := mustCase(t, a, "R-1", "Shared Case")
	noteID := mustNote(t, a, caseID, "v1")
	n, _ := a.Note(noteID)
	if err := a.EditNote(noteID, n.Parents(), record.Note{Kind: "visit", Date: "2026-11-02", Text: "v2"}); err != nil {
		t.Fatal(err)
	}
	var revs []*record.Revision
	a.AllRevisions(func(r *record.Revision) error {
		c := *r
		c.Body = bytes.Clone(r.Body)
		revs = append(revs, &c)
		return nil
	})
	// Children before parents, and everything twice.
	order := append([]*record.Revision{}, revs...)
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	order = append(order, revs...)
	newCount := 0
	if err := b.Update(func(tx *Tx) error {
		for _, r := range order {
			isNew, err := tx.Apply(r)
			if err != nil {
				return err
			}
			if isNew {
				newCount++
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if newCount != len(revs) {
		t.Errorf("applied %d new, want %d (duplicates must be no-ops)", newCount, len(revs))
	}
	if err := b.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := b.Note(noteID)
	if err != nil || got.Value.Text != "v2" || got.Conflict {
		t.Fatalf("on device B: %+v %v", got, err)
	}
	if b.OutboxLen() != 0 {
		t.Errorf("applied revisions must not enter the outbox")
	}
	// A third device without the key keeps the revisions sealed.
	c := MustCreate(t)
	if err := c.Update(func(tx *Tx) error {
		for _, r := range revs {
			if _, err := tx.Apply(r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c.LoadAll(context.Background())
	st, _ := c.Stats()
	if st.Sealed == 0 {
		t.Errorf("records without a key should be counted sealed, got %+v", st)
	}
	// A tampered revision is refused.
	bad := *revs[len(revs)-1]
	bad.Body = append(bytes.Clone(bad.Body[:len(bad.Body)-1]), bad.Body[len(bad.Body)-1]^1)
	if err := b.Update(func(tx *Tx) error { _, err := tx.Apply(&bad); return err }); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("tampered revision: err = %v, want ErrInvalid", err)
	}
}

func TestImportExport(t *testing.T) {
	v := MustCreate(t)
	in := `{"type":"case","ref":"R-1","subject":"Cara Imported"}
{"type":"note","case":"R-1","kind":"visit","text":"Saw Cara at home."}
# comments and blank lines are skipped

{"type":"consent","case":"R-1","person":"Cara","scope":["school"],"decision":"given"}
{"type":"task","case":"R-1","title":"Review visit","due":"2026-12-01"}
`
	st, err := v.Import(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if st.Cases != 1 || st.Notes != 1 || st.Consents != 1 || st.Tasks != 1 {
		t.Errorf("stats = %+v", st)
	}
	var out bytes.Buffer
	if err := v.Export(&out); err != nil {
		t.Fatal(err)
	}
	// Importing the export again changes nothing.
	st, err = v.Import(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Unchanged != 4 || st.Cases+st.Notes+st.Consents+st.Tasks != 0 {
		t.Errorf("re-import stats = %+v, want 4 unchanged", st)
	}
	// Also when notes are not decrypted yet, as in a command-line import.
	v = reopenLocked(t, v)
	st, err = v.Import(bytes.NewReader(out.Bytes()))
	if err != nil || st.Unchanged != 4 {
		t.Errorf("re-import before notes load: %+v, %v; want 4 unchanged", st, err)
	}
	// And into a fresh vault it recreates the same records. Records keep
	// their ids; the case gets a new one, because a case id binds the
	// device that made the case (trust.NewCaseID).
	w := MustCreate(t)
	if _, err := w.Import(bytes.NewReader(out.Bytes())); err != nil {
		t.Fatal(err)
	}
	var out2 bytes.Buffer
	w.Export(&out2)
	caseIDs := regexp.MustCompile(`"type":"case","id":"[0-9A-Z]{26}"`)
	a, b := caseIDs.ReplaceAllString(out.String(), "CASE"), caseIDs.ReplaceAllString(out2.String(), "CASE")
	if a != b || out.String() == out2.String() {
		t.Errorf("export of re-imported vault differs (or kept the case id):\n%s\n---\n%s", out.String(), out2.String())
	}
}

func TestImportBadLineAppliesNothing(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
	}{
		{"unknown type", "{\"type\":\"case\",\"ref\":\"A\",\"subject\":\"s\"}\n{\"type\":\"memo\"}\n", 2},
		{"note before case", "{\"type\":\"note\",\"case\":\"Z\",\"text\":\"t\"}\n", 1},
		{"bad json", "{\"type\":\"case\",\"ref\":\"A\",\"subject\":\"s\"}\n{\"type\":\n", 2},
		{"unknown field", "{\"type\":\"case\",\"ref\":\"A\",\"subject\":\"s\",\"colour\":\"red\"}\n", 1},
		{"duplicate ref", "{\"type\":\"case\",\"ref\":\"A\",\"subject\":\"s\"}\n{\"type\":\"case\",\"ref\":\"a\",\"subject\":\"t\"}\n", 2},
		{"bad date", "{\"type\":\"case\",\"ref\":\"A\",\"subject\":\"s\",\"dob\":\"1/2/2003\"}\n", 1},
		{"empty note", "{\"type\":\"case\",\"ref\":\"A\",\"subject\":\"s\"}\n{\"type\":\"note\",\"case\":\"A\",\"text\":\"\"}\n", 2},
		{"bad id", "{\"type\":\"case\",\"id\":\"../x\",\"ref\":\"A\",\"subject\":\"s\"}\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := MustCreate(t)
			_, err := v.Import(strings.NewReader(tt.in))
			var le *LineError
			if !errors.As(err, &le) || le.Line != tt.line {
				t.Fatalf("err = %v, want a LineError at line %d", err, tt.line)
			}
			if st, _ := v.Stats(); st.Cases != 0 || st.Outbox != 0 {
				t.Errorf("half-applied: %+v", st)
			}
			v = reopen(t, v)
			if st, _ := v.Stats(); st.Cases != 0 {
				t.Errorf("half-applied on disk: %+v", st)
			}
		})
	}
}

func TestDrafts(t *testing.T) {
	v := MustCreate(t)
	caseID := mustCase(t, v, "R-1", "x")
	d := Draft{CaseID: caseID, Note: record.Note{Kind: "visit", Text: "half a sentence"}}
	if err := v.SaveDraft(d); err != nil {
		t.Fatal(err)
	}
	d.Note.Text = "half a sentence, now whole."
	if err := v.SaveDraft(d); err != nil {
		t.Fatal(err)
	}
	v = reopen(t, v)
	ds, err := v.Drafts()
	if err != nil || len(ds) != 1 || ds[0].Note.Text != "half a sentence, now whole." {
		t.Fatalf("Drafts = %+v, %v", ds, err)
	}
	id, err := v.CommitDraft(ds[0])
	if err != nil {
		t.Fatal(err)
	}
	if ds, _ := v.Drafts(); len(ds) != 0 {
		t.Errorf("draft survived its commit")
	}
	if n, err := v.Note(id); err != nil || n.Value.Text != "half a sentence, now whole." {
		t.Errorf("committed note = %+v, %v", n, err)
	}
	// A draft that fails validation stays a draft.
	if err := v.SaveDraft(Draft{CaseID: caseID, Note: record.Note{Text: "  "}}); err != nil {
		t.Fatal(err)
	}
	ds, _ = v.Drafts()
	if _, err := v.CommitDraft(ds[0]); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("empty draft commit: %v", err)
	}
	if ds, _ := v.Drafts(); len(ds) != 1 {
		t.Errorf("failed commit lost the draft")
	}
}

func TestSearch(t *testing.T) {
	v := MustCreate(t)
	c1 := mustCase(t, v, "R-1", "Dana Example")
	c2 := mustCase(t, v, "R-2", "Eli Example")
	n1 := mustNote(t, v, c1, "Dana's school reported bruising on the left arm.")
	mustNote(t, v, c2, "Eli attended school; no concerns. Bruising healed.")
	mustNote(t, v, c2, "Phone call with grandmother about housing.")

	tests := []struct {
		q    string
		want int
	}{
		{"bruising", 2},
		{"BRUISING school", 2},
		{"bruising left", 1},
		{"brui", 2},
		{"grandm", 1},
		{"housing school", 0},
		{"zebra", 0},
		{"", 0},
	}
	for _, tt := range tests {
		hits, err := v.Search(tt.q, 0)
		if err != nil || len(hits) != tt.want {
			t.Errorf("Search(%q) = %d hits, %v; want %d", tt.q, len(hits), err, tt.want)
		}
	}
	hits, _ := v.Search("left arm", 0)
	if len(hits) != 1 || hits[0].Ref != "R-1" || !strings.Contains(hits[0].Snippet, "left arm") {
		t.Errorf("hit = %+v", hits)
	}
	n, _ := v.Note(n1)
	v.EditNote(n1, n.Parents(), record.Note{Kind: "visit", Date: "2026-11-02", Text: "Corrected: no marks seen."})
	if hits, _ := v.Search("left arm", 0); len(hits) != 0 {
		t.Errorf("old text still found after edit")
	}
	if hits, _ := v.Search("corrected", 0); len(hits) != 1 {
		t.Errorf("new text not found after edit")
	}
	v.Delete(c1, n1)
	if hits, _ := v.Search("corrected", 0); len(hits) != 0 {
		t.Errorf("deleted note still found")
	}
}

func TestOpenRefusesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := MustCreate(t)
	caseID := mustCase(t, good, "R-1", "x")
	fillNotes(t, good, caseID, 200, strings.Repeat("filler text ", 40))
	goodPath := good.Path()
	good.Close()
	data, _ := os.ReadFile(goodPath)

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	tests := []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "nope.db"), ErrNoVault},
		{"empty", write("empty.db", nil), ErrCorrupt},
		{"text file", write("text.db", []byte("hello, I am not a vault\n")), ErrNotVault},
		{"truncated to a page", write("trunc1.db", data[:4096]), ErrCorrupt},
		{"truncated by half", write("trunc2.db", data[:len(data)/2]), ErrCorrupt},
		{"directory", dir, ErrNotVault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Open(tt.path, testOpts)
			if err == nil {
				v.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Open = %v, want %v", err, tt.want)
			}
		})
	}
}

// Random damage anywhere in the file must give an error or a working vault,
// never a panic or a hang.
func TestDamagedFileNeverPanics(t *testing.T) {
	good := MustCreate(t)
	caseID := mustCase(t, good, "R-1", "x")
	fillNotes(t, good, caseID, 100, strings.Repeat("filler text ", 40))
	goodPath := good.Path()
	good.Close()
	data, _ := os.ReadFile(goodPath)
	dir := t.TempDir()
	for i := 0; i < 60; i++ {
		b := bytes.Clone(data)
		// Damage one 64-byte stretch at a position spread over the file.
		off := (i * 7919 * 64) % (len(b) - 64)
		for j := 0; j < 64; j++ {
			b[off+j] ^= byte(0x5a + j)
		}
		p := filepath.Join(dir, "d.db")
		os.WriteFile(p, b, 0o600)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("damage at %d: panic %v", off, r)
				}
			}()
			v, err := Open(p, testOpts)
			if err != nil {
				return
			}
			defer v.Close()
			if err := v.Unlock(testPass); err != nil {
				return
			}
			_ = v.LoadAll(context.Background())
			_, _ = v.Cases()
		}()
	}
}

func TestInUseNamesHolder(t *testing.T) {
	v := MustCreate(t)
	_, err := Open(v.Path(), Options{LockWait: 100e6})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open = %v, want ErrInUse", err)
	}
	if !strings.Contains(err.Error(), "pid ") {
		t.Errorf("error %q does not name the holder", err)
	}
	v.Close()
	v2, err := Open(v.Path(), testOpts)
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	v2.Close()
}

// The vault file must never hold a name, a note or the passphrase in any
// common encoding.
func TestNoPlaintextOnDisk(t *testing.T) {
	canaries := []string{"Zebulon Quartermaine", "14 Canary Wharf Lane", "CANARY-NOTE-7f3a secret disclosure", "Grandmother Philippa Canary", testPass, "Test Worker", "draft canary text 99"}
	v := MustCreate(t)
	id, _ := v.CreateCase(record.Case{Ref: "R-CANARY", Subject: canaries[0], Address: canaries[1]})
	mustNote(t, v, id, canaries[2]+" "+strings.Repeat("padding so it compresses ", 30))
	v.AddConsent(id, record.Consent{Person: canaries[3], Scope: []string{"health"}, Decision: "given"})
	v.SaveDraft(Draft{CaseID: id, Note: record.Note{Text: canaries[6]}})
	path := v.Path()
	v.Close()
	data, _ := os.ReadFile(path)
	for _, c := range canaries {
		for name, enc := range encodings(c) {
			if bytes.Contains(bytes.ToLower(data), bytes.ToLower(enc)) {
				t.Errorf("canary %q found on disk (%s)", c, name)
			}
		}
	}
}

func encodings(s string) map[string][]byte {
	u16 := utf16.Encode([]rune(s))
	le := make([]byte, 0, 2*len(u16))
	for _, c := range u16 {
		le = append(le, byte(c), byte(c>>8))
	}
	return map[string][]byte{
		"utf-8":    []byte(s),
		"utf-16le": le,
		"base64":   []byte(base64.StdEncoding.EncodeToString([]byte(s))[:len(s)*4/3-3]),
	}
}

// Lock while notes are loading and texts are read must neither race nor
// crash: readers hold the keys until they finish, and the loader stops early.
func TestLockWhileReading(t *testing.T) {
	v := MustCreate(t)
	caseID := mustCase(t, v, "R-1", "x")
	fillNotes(t, v, caseID, 3000, strings.Repeat("words to decrypt and index ", 30))
	for i := 0; i < 5; i++ {
		v = reopenLocked(t, v)
		done := make(chan error, 3)
		go func() { done <- v.LoadNotes(context.Background(), nil) }()
		go func() { _, err := v.Notes(caseID); done <- err }()
		go func() { _, err := v.Drafts(); done <- err }()
		v.Lock()
		for j := 0; j < 3; j++ {
			if err := <-done; err != nil && !errors.Is(err, ErrLocked) {
				t.Fatalf("reader during Lock: %v", err)
			}
		}
		if _, err := v.Cases(); !errors.Is(err, ErrLocked) {
			t.Fatalf("after Lock: %v", err)
		}
	}
}
