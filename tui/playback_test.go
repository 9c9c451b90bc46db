package tui

import (
	"regexp"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

var playerLineRe = regexp.MustCompile(`([■▶⏸]) (\d+):(\d\d) / 0:08 · ([0-9.]+)×`)

// playerOn reads the transcript editor's player line: state, position in
// whole seconds, speed.
func playerOn(screen string) (state string, sec int, speed string, ok bool) {
	m := playerLineRe.FindStringSubmatch(screen)
	if m == nil {
		return "", 0, "", false
	}
	return m[1], atoiOr(m[2], 0)*60 + atoiOr(m[3], 0), m[4], true
}

func atoiOr(s string, def int) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func fkey(code rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: code} }

// TestTranscriptPlayback: the typist plays the recording from the
// transcript editor while typing, through the real player on the (virtual)
// sound device: play, pause, resume two seconds back, rewind and forward,
// speed within 0.75–1.5×, the next marker; text typed meanwhile is kept.
func TestTranscriptPlayback(t *testing.T) {
	needAudio(t)
	v := roleVault(t, "Tia Typist", protocol.RoleTypist)
	caseID := caseByRef(t, v, "DEMO-0042")
	id := makeRecording(t, v, caseID, 8*time.Second, record.Recording{Title: "Visit to the school", Author: "M. Doherty"})
	r, err := dictation.Open(v, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.TL.AddMarker(6*time.Second, "the school's name"); err != nil {
		t.Fatal(err)
	}
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus("submitted"); err != nil {
		t.Fatal(err)
	}
	v.Lock()

	opts := testOptions(t, v)
	p := start(t, opts, 120, 30)
	p.unlock()
	p.key(runeKey('W'))
	p.waitText("1 recording waiting")
	p.key(keyEnter)
	p.waitText("Transcript · DEMO-0042", "■ 0:00 / 0:08 · 1×", "1 markers", "f9 play/pause")

	// Play until past 2 s, typing meanwhile; pause.
	p.key(fkey(tea.KeyF9))
	p.waitText("▶ ")
	p.typeText("The head teacher")
	p.waitFor("position past 0:02", func(s string) bool {
		st, sec, _, ok := playerOn(s)
		return ok && st == "▶" && sec >= 2
	})
	p.key(fkey(tea.KeyF9))
	s := p.waitText("⏸ ", "The head teacher")
	_, paused, _, _ := playerOn(s)
	if paused < 2 || paused > 7 {
		t.Fatalf("paused at %d s, want 2–7", paused)
	}

	// Resume and pause at once: playback went on from two seconds back.
	p.key(fkey(tea.KeyF9))
	p.key(fkey(tea.KeyF9))
	s = p.waitFor("paused again", func(s string) bool {
		st, sec, _, ok := playerOn(s)
		return ok && st == "⏸" && sec < paused
	})
	_, again, _, _ := playerOn(s)
	if again > paused-1 || again < paused-2 {
		t.Errorf("resumed at %d s after pausing at %d s, want %d–%d (two seconds back)", again, paused, paused-2, paused-1)
	}

	// Back 3 s (clamped at the start), forward 3 s, forward past the end.
	p.key(fkey(tea.KeyF7))
	p.key(fkey(tea.KeyF7))
	p.key(fkey(tea.KeyF7))
	p.waitText("⏸ 0:00 / 0:08")
	p.key(fkey(tea.KeyF8))
	p.waitText("⏸ 0:03 / 0:08")

	// The next marker, with its comment.
	p.key(fkey(tea.KeyF6))
	p.waitText("⏸ 0:06 / 0:08", "“the school's name”")

	// Speed: two steps up, then down to the floor.
	p.key(fkey(tea.KeyF3))
	p.key(fkey(tea.KeyF3))
	p.waitText("0:08 · 1.2×")
	for range 6 {
		p.key(fkey(tea.KeyF2))
	}
	p.waitText("0:08 · 0.75×")
	// alt+. moves forward as f8 does, for keyboards without function keys.
	p.key(tea.KeyPressMsg{Code: '.', Mod: tea.ModAlt})
	p.waitText("⏸ 0:08 / 0:08")
	p.key(fkey(tea.KeyF9)) // at the end: plays from the start, slowly
	p.waitText("▶ ")
	p.key(fkey(tea.KeyF9))
	p.waitText("⏸ ")

	// What was typed is the transcript; no key above typed into it.
	p.waitText("The head teacher")
	if s := p.screen(); regexp.MustCompile(`The head teacher[^\s│]`).MatchString(s) {
		t.Errorf("a playback key typed into the transcript:\n%s", s)
	}
	p.key(keyEsc)
	p.waitText("Transcript kept: it is back when you open this recording again.")
	p.quit()
}
