package tui

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// openCaseByFilter filters the case list by typing ref one rune at a time,
// waits for the case to be selected and opens it.
func (p *program) openCaseByFilter(filter, ref string) {
	p.t.Helper()
	p.key(runeKey('/'))
	p.waitText("/ ")
	p.typeEach("/ ", filter)
	p.waitText("▸ " + ref)
	p.key(keyEnter) // done filtering
	p.key(keyEnter) // open
	p.waitText(ref+"  ", "People")
}

// TestNoteSurvivesReopen is the main path: unlock, filter, open a case,
// write a note, save, quit; a new program on the same file shows the note.
func TestNoteSurvivesReopen(t *testing.T) {
	path := demoVaultFile(t)
	v := openVault(t, path)
	p := start(t, testOptions(t, v), 80, 24)

	// The raw output stream shows the unlock screen too.
	teatest.WaitFor(t, p.tm.Output(), func(b []byte) bool { return strings.Contains(string(b), "Passphrase") },
		teatest.WithDuration(10*time.Second))
	p.unlock()
	p.openCaseByFilter("0042", "DEMO-0042")

	p.key(runeKey('n'))
	p.waitText("New note · DEMO-0042")
	const text = "Visit went well; kitchen repaired. marker-zebra-42"
	p.typeText(text)
	p.waitText("marker-zebra-42")
	p.key(keyCtrlS)
	// Back in the case, the note just saved is in view, selected.
	p.waitFor("the saved note selected", func(s string) bool {
		return strings.Contains(s, "Note saved.") && regexp.MustCompile(`▸.*\n(.*\n)?.*marker-zebra-42`).MatchString(s)
	})
	p.key(keyEsc)
	p.waitText("cases · sorted by")
	fm := p.quit()
	if ds := fm.pendingDrafts(); len(ds) != 0 {
		t.Errorf("pending drafts after saving: %d, want 0", len(ds))
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	// A new program on the same vault file.
	v2 := openVault(t, path)
	p2 := start(t, testOptions(t, v2), 80, 24)
	p2.unlock()
	p2.notesLoaded()
	p2.key(runeKey('s'))
	p2.waitText("Search notes:")
	p2.typeText("marker-zebra")
	p2.waitText("DEMO-0042", "1 note")
	p2.key(keyEnter)
	p2.waitText("DEMO-0042  ", "marker-zebra-42", "by Test Worker")
	p2.quit()

	cv, err := v2.CaseByRef("DEMO-0042")
	if err != nil {
		t.Fatal(err)
	}
	notes, err := v2.Notes(cv.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, n := range notes {
		if n.Value.Text == text {
			found++
			if n.Value.Kind != "visit" || n.Value.Date != record.DateOf(testNow) {
				t.Errorf("saved note kind %q date %q, want visit %s", n.Value.Kind, n.Value.Date, record.DateOf(testNow))
			}
		}
	}
	if found != 1 {
		t.Errorf("notes with the typed text: %d, want 1", found)
	}
	if ds, _ := v2.Drafts(); len(ds) != 0 {
		t.Errorf("drafts left after the note was saved: %d, want 0", len(ds))
	}
}

func TestWrongPassphraseThenRight(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 80, 24)
	p.waitText("Passphrase", "Demo vault: the passphrase is "+testPass)
	p.typeText("not the passphrase")
	p.key(keyEnter)
	p.waitText("Wrong passphrase. Try again.")
	if v.Unlocked() {
		t.Fatal("vault unlocked by a wrong passphrase")
	}
	p.typeText("still wrong")
	p.key(keyEnter)
	p.waitText("Wrong passphrase (2 tries)")
	p.unlock()
	if !v.Unlocked() {
		t.Error("vault not unlocked after the right passphrase")
	}
	// f12 locks at once, even while typing.
	p.key(tea.KeyPressMsg{Code: tea.KeyF12})
	p.waitText("Locked.", "Passphrase")
	if v.Unlocked() {
		t.Error("vault unlocked after f12")
	}
	p.key(keyCtrlC) // q would be typed into the passphrase
	p.final()
}

// caseWithNotes is the first demo case (by reference) with at least n
// notes; v must be unlocked.
func caseWithNotes(t *testing.T, v *store.Vault, n int) store.CaseView {
	t.Helper()
	cs, err := v.Cases()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Notes >= n && !c.Conflict {
			return c
		}
	}
	t.Fatalf("no demo case has %d notes", n)
	return store.CaseView{}
}

// TestEditNote: enter on a note edits it; saving writes a new version whose
// parent is the edited one.
func TestEditNote(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	ref := caseWithNotes(t, v, 1).Value.Ref
	v.Lock()
	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()
	p.notesLoaded()
	p.openCaseByFilter(ref, ref)
	p.key(keyTab) // select the newest note
	p.waitText("▸ 20")
	p.key(keyEnter)
	p.waitText("Editing a note · " + ref)
	p.key(tea.KeyPressMsg{Code: tea.KeyHome, Mod: tea.ModCtrl})
	p.typeText("Correction: ")
	p.waitText("Correction: ")
	p.key(keyCtrlS)
	p.waitText("Note saved.", "Correction: ")
	p.quit()

	cv, _ := v.CaseByRef(ref)
	notes, err := v.Notes(cv.ID)
	if err != nil || len(notes) == 0 {
		t.Fatal(notes, err)
	}
	n := notes[0]
	if !strings.HasPrefix(n.Value.Text, "Correction: ") || n.Conflict {
		t.Fatalf("newest note %q (conflict %v), want the corrected text", n.Value.Text, n.Conflict)
	}
	rev, err := v.Revision(cv.ID, n.ID, n.Rev)
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Parents) != 1 {
		t.Errorf("edit has %d parents, want 1", len(rev.Parents))
	}
}

// TestDraftRecovery: a draft sealed while typing survives a program that
// ends without saving, and is offered back after the next unlock.
func TestDraftRecovery(t *testing.T) {
	path := demoVaultFile(t)
	v := openVault(t, path)
	p := start(t, testOptions(t, v), 80, 24)
	p.unlock()
	p.openCaseByFilter("0007", "DEMO-0007")
	p.key(runeKey('n'))
	p.waitText("New note · DEMO-0007")
	p.typeText("Half-written note about the visit, marker-draft-77")
	p.waitText("marker-draft-77", "Draft saved")

	// The crash: the program goes without the editor ever saving or
	// committing (tea.Quit straight from outside, not our quit key).
	p.tm.Quit()
	p.final()
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	v2 := openVault(t, path)
	p2 := start(t, testOptions(t, v2), 80, 24)
	p2.unlock()
	p2.waitText("Work you had not saved", "DEMO-0007", "marker-draft-77")
	p2.key(runeKey('r'))
	p2.waitText("New note · DEMO-0007", "marker-draft-77")
	p2.typeText(" Finished.")
	p2.waitText("marker-draft-77 Finished.")
	p2.key(keyCtrlS)
	p2.waitText("Note saved.")
	p2.quit()

	if ds, err := v2.Drafts(); err != nil || len(ds) != 0 {
		t.Errorf("Drafts() = %d drafts, %v; want none after saving", len(ds), err)
	}
	hits, err := v2.Search("marker-draft-77 finished", 0)
	if err != nil || len(hits) != 1 {
		t.Errorf("search for the recovered note: %d hits, %v; want 1", len(hits), err)
	}
}

// TestQuitSavesDraft: q from the list with an editor below is not possible,
// but ctrl+c inside the editor seals the draft before quitting.
func TestQuitSavesDraft(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	opts := testOptions(t, v)
	opts.DraftDelay = time.Hour // only the quit saves it
	p := start(t, opts, 80, 24)
	p.unlock()
	p.openCaseByFilter("0003", "DEMO-0003")
	p.key(runeKey('n'))
	p.waitText("New note · DEMO-0003")
	p.typeText("typed q and ? then quit: marker-quit-3")
	p.waitText("marker-quit-3")
	p.key(keyCtrlC)
	p.final()
	ds, err := v.Drafts()
	if err != nil || len(ds) != 1 || !strings.Contains(ds[0].Note.Text, "marker-quit-3") {
		t.Fatalf("drafts after ctrl+c: %+v, %v; want the typed note", ds, err)
	}
}

// TestIdleLock: after the idle time the draft is sealed, the vault locked
// (Stats fails with ErrLocked) and the unlock screen shown; unlocking
// offers the draft back.
func TestIdleLock(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	opts := testOptions(t, v)
	opts.IdleLock = 1500 * time.Millisecond
	opts.DraftDelay = time.Hour // only the lock saves the draft
	var onLock atomic.Int32     // an unlock agent is told to forget too
	opts.OnLock = func() { onLock.Add(1) }
	p := start(t, opts, 80, 24)
	p.unlock()
	p.key(keyEnter) // open the first case
	p.waitText("People")
	p.key(runeKey('n'))
	p.waitText("New note ·")
	p.typeText("written just before walking away, marker-idle")
	p.waitText("marker-idle")

	p.waitText("Locked after 1 second without use", "Passphrase")
	if _, err := v.Stats(); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("Stats after the idle lock: %v, want ErrLocked", err)
	}
	if v.Unlocked() {
		t.Fatal("vault still unlocked after the idle lock")
	}
	if n := onLock.Load(); n != 1 {
		t.Errorf("OnLock ran %d times at the idle lock, want 1", n)
	}
	screen := p.screen()
	if strings.Contains(screen, "marker-idle") {
		t.Error("the note text is still on screen after the lock")
	}
	p.typeText(testPass)
	p.key(keyEnter)
	p.waitText("Work you had not saved", "marker-idle")
	p.quit()
}

// TestConflictKeepOne: a note edited twice from the same version is in
// conflict; the conflict view shows both and keeping one writes a merge.
func TestConflictResolution(t *testing.T) {
	path := demoVaultFile(t)
	v := openVault(t, path)
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	cv := caseWithNotes(t, v, 2)
	ref := cv.Value.Ref
	notes, err := v.Notes(cv.ID)
	if err != nil {
		t.Fatal(err)
	}
	conflict := func(n store.Item[record.Note], a, b string) {
		t.Helper()
		for _, text := range []string{a, b} {
			nv := n.Value
			nv.Text = text
			if err := v.EditNote(n.ID, []record.RevID{n.Rev}, nv); err != nil {
				t.Fatal(err)
			}
		}
	}
	keepNote, combineNote := notes[0], notes[1]
	conflict(keepNote, "first edit: marker-alpha", "second edit: marker-beta")
	conflict(combineNote, "office copy: marker-gamma", "laptop copy: marker-delta")
	v.Lock()

	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()
	p.notesLoaded()
	p.waitText("≠ 2 conflicts")
	p.openCaseByFilter(ref, ref)
	p.waitText("2 records in conflict")

	// Keep version 2 of the first note.
	p.key(runeKey('v'))
	p.waitText("has 2 versions", "Version 1 of 2", "Version 2 of 2", "marker-alpha", "marker-beta", "this device")
	p.key(runeKey('l'))
	p.waitText("▸ Version 2 of 2")
	p.key(keyEnter)
	p.waitText("Conflict resolved: kept version 2")

	// Combine the other in the editor.
	p.waitText("1 record in conflict")
	p.key(runeKey('v'))
	p.waitText("marker-gamma", "marker-delta")
	p.key(runeKey('m'))
	p.waitText("Combining 2 versions", "marker-gamma", "marker-delta")
	p.key(keyCtrlS)
	p.waitText("the combined note was saved")
	p.quit()

	for _, tc := range []struct {
		id       string
		want     []string
		dontWant []string
	}{
		{keepNote.ID, []string{"marker-beta"}, []string{"marker-alpha"}},
		{combineNote.ID, []string{"marker-gamma", "marker-delta"}, nil},
	} {
		n, err := v.Note(tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if n.Conflict {
			t.Errorf("note %s still in conflict", tc.id)
		}
		for _, w := range tc.want {
			if !strings.Contains(n.Value.Text, w) {
				t.Errorf("note text %q lacks %q", n.Value.Text, w)
			}
		}
		for _, w := range tc.dontWant {
			if strings.Contains(n.Value.Text, w) {
				t.Errorf("note text %q has %q", n.Value.Text, w)
			}
		}
		rev, err := v.Revision(n.CaseID, n.ID, n.Rev)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(rev.Parents); got != 2 {
			t.Errorf("resolving revision has %d parents, want 2 (a merge)", got)
		}
	}
	if st, err := v.Stats(); err != nil || st.Conflicts != 0 {
		t.Errorf("Stats after resolving: %+v, %v; want no conflicts", st, err)
	}
}

// TestCaseConsentTask drives the forms: a new case, a consent decision, a
// task added and ticked done.
func TestCaseConsentTask(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()

	p.key(runeKey('N'))
	p.waitText("New case", "Reference")
	p.typeText("TEST-0001")
	p.key(keyTab)
	p.typeText("Robin Testcase")
	p.key(keyTab) // date of birth
	p.key(keyTab) // address
	p.typeText("9 Example Row, Ashbury")
	p.key(keyTab) // status
	p.key(keyTab) // risk
	p.key(runeKey('h'))
	p.key(keyTab) // next visit
	p.typeText("2026-10-30")
	for range 3 {
		p.key(keyTab) // team, workers, people
	}
	p.typeText("Robin Testcase | child")
	p.key(keyEnter)
	p.typeText("Alex Testcase | carer | | 07700 900999")
	p.waitText("Alex Testcase | carer")
	p.key(keyCtrlS)
	p.waitText("Case created.", "TEST-0001  Robin Testcase", "risk high", "overdue by 3 days", "No consent recorded")

	p.key(runeKey('c'))
	p.waitText("Consent decision · TEST-0001", "Share with")
	p.key(runeKey('r')) // person: Robin Testcase (first letter picks)
	p.key(keyTab)       // scopes
	p.key(runeKey(' '))
	p.key(keyRight)
	p.key(runeKey(' '))
	p.waitText("[x] health", "[x] school")
	p.key(keyTab) // decision
	p.key(runeKey('r'))
	p.waitText("‹refused›")
	p.key(keyCtrlS)
	p.waitText("Consent decision recorded.", "refused", "No decision recorded for Alex Testcase")

	p.key(runeKey('t'))
	p.waitText("Tasks & visits · TEST-0001", "No tasks")
	p.key(runeKey('a'))
	p.waitText("New task or visit")
	p.typeText("Home visit")
	p.key(keyTab)
	p.key(keyTab)
	p.typeText("2026-11-10")
	p.key(keyEnter)
	p.waitText("Added: Home visit", "[ ] 2026-11-10  Home visit")
	p.key(runeKey('x'))
	p.waitText("Marked done.", "[x] 2026-11-10  Home visit", "done 2026-11-02")
	p.key(keyEsc)
	p.waitText("Tasks & visits (0 open)")
	p.quit()

	cv, err := v.CaseByRef("TEST-0001")
	if err != nil {
		t.Fatal(err)
	}
	if cv.Value.Risk != "high" || len(cv.Value.People) != 2 || cv.Value.People[1].Phone != "07700 900999" {
		t.Errorf("case saved as %+v", cv.Value)
	}
	cs, _ := caseload.ConsentSummary(v, cv.ID)
	if len(cs) != 2 || cs[0].Decision != "refused" || cs[0].Person != "Robin Testcase" {
		t.Errorf("consent summary %+v, want Robin refused health and school", cs)
	}
	ts, _ := v.Tasks(cv.ID)
	if len(ts) != 1 || !ts[0].Value.Done || ts[0].Value.DoneOn != record.DateOf(testNow) {
		t.Errorf("tasks %+v, want one done on %s", ts, record.DateOf(testNow))
	}
}

// TestNoteValidation: a note that breaks the rules is not saved and the
// text stays in the editor.
func TestNoteValidation(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 80, 24)
	p.unlock()
	p.key(keyEnter)
	p.waitText("People")
	p.key(runeKey('n'))
	p.waitText("New note ·")
	p.key(keyCtrlS)
	p.waitText("a note needs text")
	p.typeText("some text")
	for range 3 {
		p.key(keyShiftTab) // back to the time
	}
	p.typeText("25:99")
	p.key(keyCtrlS)
	p.waitText("✗ there is no hour 25 in a day", "some text")
	p.key(keyCtrlC)
	p.final()
}

// syncNowCounter is an enrolled device's sync state whose sync now key is
// counted.
type syncNowCounter struct {
	mu    sync.Mutex
	state SyncState
	asked int
}

func (f *syncNowCounter) State() SyncState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *syncNowCounter) SyncNow() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
}

func (f *syncNowCounter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked
}

// The keys of the working day around sync: f5 and ctrl+r sync now; q with
// changes that never left the laptop warns first and quits on a second q;
// ctrl+l redraws (the terminal reflex) and does not lock; L locks, saying
// what still waits to be sent.
func TestSyncNowQuitWarningAndLockKeys(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	fs := &syncNowCounter{state: SyncState{Enrolled: true, Pending: 3, LastSync: testNow.Add(-2 * time.Hour)}}
	opts := testOptions(t, v)
	opts.Sync = fs
	p := start(t, opts, 120, 30)
	p.unlock()
	p.waitText("↑ 3 to sync", "● offline")

	p.key(tea.KeyPressMsg{Code: tea.KeyF5})
	p.waitText("Syncing now…")
	p.key(tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl})
	p.waitFor("two sync now requests", func(string) bool { return fs.count() == 2 })

	p.key(tea.KeyPressMsg{Code: 'l', Mod: tea.ModCtrl})
	if !v.Unlocked() {
		t.Error("ctrl+l locked the vault; it redraws")
	}

	p.key(runeKey('q'))
	p.waitText("Press q again to quit. 3 changes are not on the server yet (last reached 2 Nov 07:30); f5 syncs now.")
	// Another key disarms the warning: the next q warns again.
	p.key(runeKey('o'))
	p.key(runeKey('q'))
	p.waitText("Press q again to quit")

	p.key(runeKey('L'))
	p.waitText("Locked. 3 changes are not on the server yet", "last reached 2 Nov 07:30", "Passphrase")
	if v.Unlocked() {
		t.Error("vault unlocked after L")
	}
	p.unlock()
	p.key(runeKey('q'))
	p.waitText("Press q again to quit")
	p.key(runeKey('q'))
	p.final()
}

// A help taller than the window scrolls (j, pgdn, G) and says so, so the
// keys at its end are never out of reach.
func TestHelpScrolls(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 80, 16)
	p.unlock()
	p.waitText("cases · sorted by")
	p.key(runeKey('?'))
	s := p.waitText("Keys: Cases", "↓ more below: j or pgdn scrolls")
	if strings.Contains(s, "Drafts are saved") {
		t.Fatalf("the help's end shows in a 16-line window: nothing to scroll\n%s", s)
	}
	p.key(runeKey('j'))
	p.waitText("↑↓ more above and below")
	p.key(runeKey('G'))
	p.waitText("Drafts are saved as you type", "↑ more above: k or pgup scrolls back")
	p.key(runeKey('g'))
	p.waitText("Keys: Cases", "↓ more below")
	p.key(keyEsc)
	p.waitText("cases · sorted by")
	// Opened again, it starts at the top.
	p.key(runeKey('?'))
	p.waitText("Keys: Cases", "↓ more below")
	p.key(keyEsc)
	p.waitText("cases · sorted by")
	p.quit()
}
