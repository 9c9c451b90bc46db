package tui

import (
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/pedal"
)

// The foot pedal, as on a transcription machine: the middle pedal plays
// while it is held and pauses, a little back, when it is let go; the left
// and right pedals go back and forward for as long as they are held. The
// events come from Options.Pedal; the screens with a player (the transcript
// editor, the recorder) act on them. A pedal is never a key, so it cannot
// type.
const (
	// pedalRepeat is how often a held rewind or forward pedal moves.
	pedalRepeat = 250 * time.Millisecond
	// pedalStep is how far it moves each time: four times real time.
	pedalStep = time.Second
)

type (
	// pedalMsg is an event of the pedal channel; ok is false once it has
	// closed.
	pedalMsg struct {
		ev pedal.Event
		ok bool
	}
	// pedalRepeatMsg moves the player again while the pedal of screen id
	// is held (gen: the press it belongs to).
	pedalRepeatMsg struct {
		id  int64
		gen int
	}
)

// pedalUser is a screen the pedal drives.
type pedalUser interface {
	Pedal(ev pedal.Event) tea.Cmd
}

// waitPedal waits for the next event of ch.
func waitPedal(ch <-chan pedal.Event) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		return pedalMsg{ev: ev, ok: ok}
	}
}

// pedalActions are what the pedals do on a screen's player.
type pedalActions struct {
	play    func() tea.Cmd // the play pedal went down
	release func() tea.Cmd // …and up: pause, with the auto-rewind
	skip    func(d time.Duration, again bool) tea.Cmd
}

// pedalDriver turns pedal events into a screen's player actions, with the
// repeat of a held rewind or forward pedal.
type pedalDriver struct {
	id   int64
	held pedal.Pedal // rewind or forward, while held
	gen  int
}

func (d *pedalDriver) event(ev pedal.Event, a pedalActions) tea.Cmd {
	switch ev.Pedal {
	case pedal.Play:
		if ev.Down {
			return a.play()
		}
		return a.release()
	case pedal.Rewind, pedal.Forward:
		if !ev.Down {
			if d.held == ev.Pedal {
				d.held = pedal.None
				d.gen++
			}
			return nil
		}
		d.held = ev.Pedal
		d.gen++
		return tea.Batch(a.skip(d.step(), false), d.tick())
	}
	return nil
}

// repeat moves again while the pedal is still held.
func (d *pedalDriver) repeat(msg pedalRepeatMsg, a pedalActions) tea.Cmd {
	if msg.id != d.id || msg.gen != d.gen || d.held == pedal.None {
		return nil
	}
	return tea.Batch(a.skip(d.step(), true), d.tick())
}

func (d *pedalDriver) step() time.Duration {
	if d.held == pedal.Rewind {
		return -pedalStep
	}
	return pedalStep
}

func (d *pedalDriver) tick() tea.Cmd {
	id, gen := d.id, d.gen
	return tea.Tick(pedalRepeat, func(time.Time) tea.Msg { return pedalRepeatMsg{id: id, gen: gen} })
}

// autoRewind is how far playback goes back at a pause, from Options.
func autoRewind(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return transcriptAutoRewind
	case d < 0:
		return 0
	}
	return d
}

// playHelp is the play key's help, with the auto-rewind.
func playHelp(l *i18n.Locale, d time.Duration) string {
	if d <= 0 {
		return l.T("tui.keys.play_pause")
	}
	return l.T("tui.keys.play_pause_resumes", "Seconds", strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
}
