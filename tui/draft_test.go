package tui

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// draftWordsFixture are a machine draft's words on an 8-second recording:
// pauses of a second or more start new lines in the editor.
var draftWordsFixture = []record.Word{{W: "alpha", S: 0, E: 500}, {W: "bravo", S: 700, E: 1200}, {W: "charlie", S: 3000, E: 3500},
	{W: "delta", S: 3600, E: 4000}, {W: "echo", S: 6500, E: 7000}}

// withDraft gives recording id the fixture's machine draft, pending
// correction.
func withDraft(t *testing.T, v *store.Vault, id string) {
	t.Helper()
	r, err := dictation.Open(v, id)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(r.Meta.Timeline)
	r.Meta.Status = record.StatusCorrection
	r.Meta.Draft = &record.MachineDraft{Engine: "pocketsphinx", Version: "5prealpha", Made: testNow.UTC().Format(time.RFC3339),
		Timeline: hex.EncodeToString(h[:]), Text: record.JoinWords(draftWordsFixture), Words: draftWordsFixture}
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
}

// TestTranscriptMachineDraft: a recording pending correction is in the
// typing queue, marked; its editor opens with the draft, marked as machine
// text; f4 plays from the word under the cursor on the real player, and
// the word being heard is shown highlighted; the untouched draft cannot be
// saved as the transcript, a corrected one can and is recorded as such.
func TestTranscriptMachineDraft(t *testing.T) {
	needAudio(t)
	v := roleVault(t, "Tia Typist", protocol.RoleTypist)
	caseID := caseByRef(t, v, "DEMO-0042")
	id := makeRecording(t, v, caseID, 8*time.Second, record.Recording{Title: "Visit to the school", Author: "M. Doherty"})
	withDraft(t, v, id)
	v.Lock()

	p := start(t, testOptions(t, v), 120, 30)
	p.unlock()
	p.key(runeKey('W'))
	p.waitText("[draft] Visit to the school", "[draft]: a machine draft to correct.")
	p.key(keyEnter)
	p.waitText("Transcript · DEMO-0042", "MACHINE TEXT · a draft by pocketsphinx 5prealpha, not corrected yet",
		"alpha bravo", "charlie delta", "echo", "f4 plays the word under the cursor")

	p.key(keyCtrlS)
	p.waitText("This is still the machine draft as the recogniser made it")

	// The cursor is at the end, in "echo" (6.5 s); one line up, in "charlie" (3.0 s).
	p.key(fkey(tea.KeyF4))
	p.waitFor("playing from echo", func(s string) bool {
		st, sec, _, ok := playerOn(s)
		return ok && st == "▶" && sec >= 6 && strings.Contains(s, "MACHINE TEXT ▶ ")
	})
	p.key(fkey(tea.KeyF9))
	p.waitText("⏸ ")
	p.key(tea.KeyPressMsg{Code: tea.KeyUp})
	p.key(tea.KeyPressMsg{Code: 'w', Mod: tea.ModAlt}) // alt+w, as f4
	s := p.waitFor("playing from charlie", func(s string) bool {
		st, sec, _, ok := playerOn(s)
		return ok && st == "▶" && sec >= 3 && sec < 6
	})
	if !strings.Contains(s, "MACHINE TEXT ▶ ") {
		t.Errorf("no word shown while playing:\n%s", s)
	}
	p.key(fkey(tea.KeyF9))
	p.waitText("⏸ ")

	// A correction: the mark says so, and the transcript saves.
	p.key(tea.KeyPressMsg{Code: tea.KeyEnd})
	p.typeText("s")
	p.waitText("Corrected from a machine draft by pocketsphinx 5prealpha")
	p.key(keyCtrlS)
	p.waitText("Transcript saved as a note of DEMO-0042")
	p.quit()

	if err := v.Unlock(testPass); err != nil && !v.Unlocked() {
		t.Fatal(err)
	}
	it, err := v.Recording(id)
	if err != nil {
		t.Fatal(err)
	}
	if it.Value.Status != "transcribed" || !it.Value.CorrectedDraft || it.Value.TranscribedBy != "Tia Typist" || it.Value.Draft == nil {
		t.Errorf("after the correction: %+v", it.Value)
	}
}

// The word under the cursor, and the word heard, follow the typist's
// edits: words before and after an edit keep their times, words typed in
// place of others take theirs.
func TestDraftWords(t *testing.T) {
	d := &record.MachineDraft{Words: draftWordsFixture}
	text := draftText(d)
	if text != "alpha bravo\ncharlie delta\necho" {
		t.Fatalf("draft text %q", text)
	}
	dw := newDraftWords(d, text)
	at := func(row, col int) string {
		i := dw.at(row, col)
		if i < 0 {
			return ""
		}
		s, _ := dw.startOf(i)
		return dw.words[i] + "@" + s.String()
	}
	for _, c := range []struct {
		row, col int
		want     string
	}{{0, 0, "alpha@0s"}, {0, 5, "alpha@0s"}, {0, 6, "bravo@700ms"}, {1, 3, "charlie@3s"}, {2, 4, "echo@6.5s"}, {9, 0, "echo@6.5s"}} {
		if got := at(c.row, c.col); got != c.want {
			t.Errorf("cursor at %d:%d is on %s, want %s", c.row, c.col, got, c.want)
		}
	}
	// "charlie delta" becomes "Charlie, the Delta team": the new words
	// share out the span 3.0–4.0 s; the others keep theirs.
	dw.update("alpha bravo\nCharlie, the Delta team\necho")
	for _, c := range []struct {
		row, col int
		want     string
	}{{1, 2, "Charlie,@3s"}, {1, 14, "Delta@3.5s"}, {2, 1, "echo@6.5s"}, {0, 7, "bravo@700ms"}} {
		if got := at(c.row, c.col); got != c.want {
			t.Errorf("after the edit, cursor at %d:%d is on %s, want %s", c.row, c.col, got, c.want)
		}
	}
	// A word typed in between takes the end of the word before it.
	dw.update("alpha and bravo\nCharlie, the Delta team\necho")
	if got := at(0, 7); got != "and@500ms" {
		t.Errorf("an inserted word plays from %s, want and@500ms", got)
	}
	for _, c := range []struct {
		pos  time.Duration
		want string
	}{{100 * time.Millisecond, "alpha"}, {3200 * time.Millisecond, "Charlie,"}, {6600 * time.Millisecond, "echo"}, {5500 * time.Millisecond, ""}} {
		got := ""
		if i := dw.playing(c.pos); i >= 0 {
			got = dw.words[i]
		}
		if got != c.want {
			t.Errorf("at %v the word heard is %q, want %q", c.pos, got, c.want)
		}
	}
}

// A 30-minute draft is edited through a window of lines around the
// cursor: moving and typing anywhere in it, and the start and end keys,
// act on the whole transcript as if it were one text area.
func TestTranscriptEditorWindow(t *testing.T) {
	d := longDraft()
	ed := editorAt(t, d, 80, 24)
	want := strings.Split(draftText(d), "\n")
	check := func(what string) {
		t.Helper()
		if got := ed.value(); got != strings.Join(want, "\n") {
			t.Fatalf("%s: the transcript changed under the window", what)
		}
		if n := ed.text.area.LineCount(); n > 2*editorWindow || len(ed.above)+n+len(ed.below) != len(want) {
			t.Fatalf("%s: window of %d lines, %d above, %d below, for %d lines", what, n, len(ed.above), len(ed.below), len(want))
		}
	}
	typeAt := func(what string, r rune) {
		t.Helper()
		line, col := ed.cursorLine(), ed.text.area.Column()
		rs := []rune(want[line])
		want[line] = string(rs[:col]) + string(r) + string(rs[col:])
		ed.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		check(what)
	}
	check("opened")
	if len(ed.above) == 0 {
		t.Fatalf("a %d-line draft is not windowed", len(want))
	}
	for range 60 {
		ed.Update(tea.KeyPressMsg{Code: tea.KeyUp})
	}
	check("60 rows up")
	typeAt("typing after 60 rows up", 'Q')
	ed.Update(tea.KeyPressMsg{Code: tea.KeyHome, Mod: tea.ModCtrl})
	if ed.cursorLine() != 0 || ed.text.area.Column() != 0 {
		t.Errorf("ctrl+home: at line %d column %d, want the start", ed.cursorLine(), ed.text.area.Column())
	}
	typeAt("typing at the start", 'A')
	for range 10 {
		ed.Update(tea.KeyPressMsg{Code: tea.KeyPgDown})
	}
	check("10 pages down")
	typeAt("typing after 10 pages down", 'P')
	ed.Update(tea.KeyPressMsg{Code: tea.KeyEnd, Mod: tea.ModCtrl})
	if ed.cursorLine() != len(want)-1 {
		t.Errorf("ctrl+end: at line %d, want %d", ed.cursorLine(), len(want)-1)
	}
	typeAt("typing at the end", 'Z')
	if !strings.HasPrefix(ed.value(), "Athe child") || !strings.HasSuffix(ed.value(), "Z") {
		t.Errorf("the transcript's ends: %q … %q", ed.value()[:20], ed.value()[len(ed.value())-20:])
	}
}
