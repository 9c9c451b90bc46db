package tui

import (
	"context"
	"io"
	"regexp"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/pedal"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// pedalDevice replays a pedal into a program: what is written is decoded
// as a device's input events would be, through a mapping.
type pedalDevice struct {
	t *testing.T
	w *io.PipeWriter
}

func newPedalDevice(t *testing.T, m pedal.Mapping) (*pedalDevice, <-chan pedal.Event) {
	r, w := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); w.Close() })
	return &pedalDevice{t: t, w: w}, pedal.Stream(ctx, pedal.NewEvdevReader(r, m), r)
}

// press sends code's press (down) or release, as a device reports it.
func (d *pedalDevice) press(code uint16, down bool) {
	d.t.Helper()
	if _, err := d.w.Write(pedal.AppendKey(nil, code, down)); err != nil {
		d.t.Fatal(err)
	}
}

var recorderPosRe = regexp.MustCompile(`Position\s+(\d+):(\d\d) / 0:08`)

func recorderPos(screen string) (int, bool) {
	m := recorderPosRe.FindStringSubmatch(screen)
	if m == nil {
		return 0, false
	}
	return atoiOr(m[1], 0)*60 + atoiOr(m[2], 0), true
}

// TestPedalTranscript: a replayed foot pedal drives the real player (on the
// virtual sound device) in the transcript editor and in the recorder, with
// a mapping of KEY_A, KEY_B and KEY_C (firmware that sends letters): the
// middle pedal plays while held and pauses three seconds back (the
// configured auto-rewind) when let go; forward and rewind move while held
// and stop when let go; the default code BTN_1 does nothing under this
// mapping; nothing the pedal sends types into the transcript.
func TestPedalTranscript(t *testing.T) {
	needAudio(t)
	v := roleVault(t, "Tia Typist", protocol.RoleTypist)
	caseID := caseByRef(t, v, "DEMO-0042")
	id := makeRecording(t, v, caseID, 8*time.Second, record.Recording{Title: "Visit to the school", Author: "M. Doherty"})
	r, err := dictation.Open(v, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus("submitted"); err != nil {
		t.Fatal(err)
	}
	v.Lock()

	const keyA, keyB, keyC = 30, 48, 46
	m, err := pedal.NewMapping("KEY_A", "KEY_B", "KEY_C")
	if err != nil {
		t.Fatal(err)
	}
	dev, events := newPedalDevice(t, m)
	opts := testOptions(t, v)
	opts.Pedal, opts.AutoRewind = events, 3*time.Second
	p := start(t, opts, 120, 30)
	dev.press(keyB, true) // while locked: nothing
	dev.press(keyB, false)
	p.unlock()
	p.key(runeKey('W'))
	p.waitText("1 recording waiting")
	p.key(keyEnter)
	p.waitText("Transcript · DEMO-0042", "■ 0:00 / 0:08")

	// Hold play while typing; let go past 4 s.
	dev.press(keyB, true)
	p.waitText("▶ ")
	p.typeText("Dear")
	s := p.waitFor("playing past 0:04", func(s string) bool {
		st, sec, _, ok := playerOn(s)
		return ok && st == "▶" && sec >= 4
	})
	_, playing, _, _ := playerOn(s)
	dev.press(keyB, false)
	s = p.waitFor("paused", func(s string) bool { st, _, _, ok := playerOn(s); return ok && st == "⏸" })
	_, paused, _, _ := playerOn(s)
	if paused > playing-2 || paused < playing-3 {
		t.Errorf("let go at about %d s, paused at %d s: want %d–%d (three seconds back)", playing, paused, playing-3, playing-2)
	}

	// BTN_1, play under the default mapping, is not a pedal here; forward
	// held moves on second by second until let go.
	dev.press(pedal.BTN0+1, true)
	dev.press(keyC, true)
	p.waitFor("forward to 0:06", func(s string) bool {
		st, sec, _, ok := playerOn(s)
		return ok && st == "⏸" && sec >= paused+2 && sec >= 6
	})
	dev.press(keyC, false)
	time.Sleep(2 * pedalRepeat)
	_, at, _, _ := playerOn(p.screen())
	time.Sleep(3 * pedalRepeat)
	if st, later, _, _ := playerOn(p.screen()); later != at || st != "⏸" {
		t.Errorf("after letting go of forward: %s at %d s, then %d s; want it paused and still", st, at, later)
	}
	// Rewind held goes back to the start.
	dev.press(keyA, true)
	p.waitText("⏸ 0:00 / 0:08")
	dev.press(keyA, false)
	dev.press(pedal.BTN0+1, false)

	// The keys still work; the pedal never typed.
	p.key(fkey(tea.KeyF8))
	p.waitText("⏸ 0:03 / 0:08")
	s = p.screen()
	if !regexp.MustCompile(`Dear\s`).MatchString(s) {
		t.Errorf("the transcript is not just what was typed:\n%s", s)
	}

	// The recorder (ctrl+o): the same pedal plays there too.
	p.key(tea.KeyPressMsg{Code: 'o', Mod: tea.ModCtrl})
	p.waitText("Dictation · DEMO-0042", "■ STOPPED")
	dev.press(keyB, true)
	p.waitText("▶ PLAYING")
	s = p.waitFor("the recorder playing past 0:05", func(s string) bool {
		sec, ok := recorderPos(s)
		return ok && sec >= 5
	})
	playing, _ = recorderPos(s)
	dev.press(keyB, false)
	s = p.waitText("■ STOPPED")
	if paused, _ = recorderPos(s); paused > playing-2 || paused < playing-3 {
		t.Errorf("recorder: let go at about %d s, stopped at %d s: want %d–%d", playing, paused, playing-3, playing-2)
	}
	dev.press(keyA, true)
	p.waitText("Position    0:00 / 0:08")
	dev.press(keyA, false)
	p.key(keyEsc)
	p.waitText("Transcript · DEMO-0042")
	p.key(keyEsc)
	p.waitText("Transcript kept")
	p.quit()
}

// A held rewind pedal repeats until it is let go, also when it is let go
// while the recorder records (when the pedal is otherwise ignored): no
// repeat is left running to move the position after the take.
func TestPedalHoldRepeat(t *testing.T) {
	r := &recorder{id: 7, loaded: true, snap: recSnap{dur: 8 * time.Second}, pos: 5 * time.Second}
	r.pedal.id = r.id
	if cmd := r.Pedal(pedal.Event{Pedal: pedal.Rewind, Down: true}); cmd == nil || r.pos != 4*time.Second {
		t.Fatalf("rewind down: cmd %v, position %v; want a move to 4 s", cmd != nil, r.pos)
	}
	tick := pedalRepeatMsg{id: r.id, gen: r.pedal.gen}
	r.queue = nil
	if _, cmd := r.Update(tick); cmd == nil {
		t.Fatal("held: no repeat")
	}
	r.snap.recording = true
	r.Pedal(pedal.Event{Pedal: pedal.Rewind, Down: false})
	r.snap.recording = false
	if _, cmd := r.Update(tick); cmd != nil {
		t.Error("let go while recording: the repeat goes on")
	}
	// Another screen's repeat, or one of an earlier press, does nothing.
	r.Pedal(pedal.Event{Pedal: pedal.Forward, Down: true})
	if _, cmd := r.Update(pedalRepeatMsg{id: r.id + 1, gen: r.pedal.gen}); cmd != nil {
		t.Error("another screen's repeat moved this one")
	}
	if _, cmd := r.Update(tick); cmd != nil {
		t.Error("an earlier press's repeat moved it")
	}
}
