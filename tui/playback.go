package tui

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/internal/pedal"
	"github.com/fieldcase/fieldcase/store"
)

// Playback while typing, as on a transcription machine.
const (
	// transcriptSkip is how far the rewind and forward keys move.
	transcriptSkip = 3 * time.Second
	// transcriptAutoRewind is how far playback goes back when it resumes
	// after a pause, so the typist hears again the words before it.
	transcriptAutoRewind = 2 * time.Second
	// speedStep is how much one press of slower or faster changes the
	// tempo.
	speedStep = 0.1
)

// playback plays a recording from inside the transcript editor, with keys
// that never type (function keys, alt+…): play and pause, rewind and
// forward, speed without a change of pitch, and the next marker. Its
// device commands run one at a time off the UI goroutine, as the
// recorder's do; a poll moves the shown position while it plays.
type playback struct {
	env     *env
	id      int64 // the owning screen's, for its messages
	recID   string
	hd      *dictHandle
	opened  bool
	busy    bool
	queue   []tea.Cmd
	snap    recSnap
	pos     time.Duration
	speed   float64
	paused  bool // stopped by a pause (not at the start): resuming rewinds
	rewound bool // …unless the pause rewound already (the pedal's does)
	on      bool // what the play key last asked for (commands may be queued)
	pedal   pedalDriver
	tickGen int
	ticking bool
	errText string
}

type (
	// playbackResultMsg reports a command of playback id.
	playbackResultMsg struct {
		id   int64
		snap recSnap
		err  error
	}
	// playbackPollMsg is a poll of playback id's position.
	playbackPollMsg struct {
		id  int64
		gen int
		p   recPoll
	}
)

func newPlayback(e *env, id int64, caseID, recID string) *playback {
	return &playback{env: e, id: id, recID: recID, speed: 1, hd: newDictHandle(e.vault, caseID, e.recovery, e.now),
		pedal: pedalDriver{id: id}}
}

// open loads the recording the first time; after another screen was on
// top it reads the state afresh, with a new poll chain (polls sent meanwhile
// went to that screen).
func (b *playback) open() tea.Cmd {
	b.tickGen++
	b.ticking = false
	if b.opened {
		return b.run(func(*dictHandle) error { return nil })
	}
	b.opened = true
	id := b.recID
	return b.run(func(h *dictHandle) error { return h.open(id) })
}

func (b *playback) run(f func(h *dictHandle) error) tea.Cmd {
	h, id := b.hd, b.id
	cmd := func() tea.Msg {
		snap, _, err := h.do(func() (string, error) { return "", f(h) })
		return playbackResultMsg{id: id, snap: snap, err: err}
	}
	if b.busy {
		b.queue = append(b.queue, cmd)
		return nil
	}
	b.busy = true
	return cmd
}

func (b *playback) tick() tea.Cmd {
	b.ticking = true
	h, id, gen := b.hd, b.id, b.tickGen
	return tea.Tick(recPollInterval, func(time.Time) tea.Msg { return playbackPollMsg{id: id, gen: gen, p: h.poll()} })
}

// live reports playback under way, or a command on it.
func (b *playback) live() bool { return b.snap.playing || b.busy }

// result applies a command's outcome and starts the next one.
func (b *playback) result(msg playbackResultMsg) tea.Cmd {
	b.busy = false
	var cmds []tea.Cmd
	if len(b.queue) > 0 {
		b.busy = true
		cmds = append(cmds, b.queue[0])
		b.queue = b.queue[1:]
	}
	was := b.snap.playing
	b.snap = msg.snap
	if !b.busy {
		b.on = b.snap.playing // nothing queued: what is, not what was asked
	}
	b.pos = msg.snap.pos
	if msg.err != nil {
		b.showErr(msg.err)
	}
	if b.snap.playing != was {
		b.tickGen++
		b.ticking = false
	}
	if b.snap.playing && !b.ticking {
		cmds = append(cmds, b.tick())
	}
	return tea.Batch(cmds...)
}

func (b *playback) polled(msg playbackPollMsg) tea.Cmd {
	if msg.gen != b.tickGen || !msg.p.havePos {
		b.ticking = false
		return nil
	}
	b.pos = msg.p.pos
	if b.snap.playing && !msg.p.playing && !b.busy {
		// It stopped by itself (a pause is a command, busy until it
		// reports): at the end, or on a failure.
		b.snap.playing, b.on, b.paused = false, false, false
		if msg.p.playErr != nil {
			b.showErr(msg.p.playErr)
		}
	}
	if !b.snap.playing {
		b.ticking = false
		return nil
	}
	return b.tick()
}

func (b *playback) showErr(err error) {
	l := b.env.l
	switch {
	case errors.Is(err, audio.ErrNoDevice):
		b.errText = l.T("tui.playback.no_output")
	case errors.Is(err, audio.ErrDevice):
		b.errText = l.T("tui.playback.device_failed", "Err", err.Error())
	case errors.Is(err, errNothingYet):
		b.errText = l.T("tui.playback.no_audio")
	case errors.Is(err, store.ErrNotFound):
		b.errText = l.T("tui.playback.not_here")
	case errors.Is(err, errRecClosed):
	default:
		b.env.logErr("playback while typing", err)
		b.errText = l.T("tui.playback.failed", "Err", err.Error())
	}
}

// key handles a playback key; ok is false for any other key.
func (b *playback) key(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := b.env.keys.transcribe
	switch {
	case key.Matches(msg, k.TPlay):
		b.errText = ""
		if b.on {
			b.on, b.paused = false, true
			return b.run(func(h *dictHandle) error { h.pausePlay(); return nil }), true
		}
		return b.play(), true
	case key.Matches(msg, k.TRewind), key.Matches(msg, k.TForward):
		d := transcriptSkip
		if key.Matches(msg, k.TRewind) {
			d = -d
		}
		return b.run(func(h *dictHandle) error { h.seek(d, true); return nil }), true
	case key.Matches(msg, k.TSlower), key.Matches(msg, k.TFaster):
		d := speedStep
		if key.Matches(msg, k.TSlower) {
			d = -d
		}
		b.speed = audio.ClampSpeed(math.Round((b.speed+d)*100) / 100)
		s := b.speed
		return b.run(func(h *dictHandle) error { h.setSpeed(s); return nil }), true
	case key.Matches(msg, k.TMarker):
		ms := b.snap.markers
		if len(ms) == 0 {
			b.errText = b.env.l.T("tui.playback.no_markers")
			return nil, true
		}
		to := ms[0].At
		for _, m := range ms {
			if m.At > b.pos+audio.FrameDuration {
				to = m.At
				break
			}
		}
		return b.run(func(h *dictHandle) error { h.seek(to, false); return nil }), true
	}
	return nil, false
}

// play plays from the position, a little back when it resumes after a
// pause that did not rewind already.
func (b *playback) play() tea.Cmd {
	dev, rewind := b.env.audioDevice, b.paused && !b.rewound
	b.on, b.paused, b.rewound = true, false, false
	back := b.env.autoRewind
	return b.run(func(h *dictHandle) error {
		if rewind {
			h.seek(-back, true)
		}
		return h.play(dev)
	})
}

// playFrom plays from at on the recording (a word of a machine draft).
func (b *playback) playFrom(at time.Duration) tea.Cmd {
	b.errText = ""
	dev := b.env.audioDevice
	b.on, b.paused, b.rewound = true, false, false
	return b.run(func(h *dictHandle) error {
		if h.rec == nil && h.r != nil && h.r.TL.Duration() > 0 && (h.player == nil || h.playDev != dev) {
			h.resetPlayerLocked(at, dev) // no player yet: make it at the word
		} else {
			h.seek(at, false)
		}
		return h.play(dev)
	})
}

// pedalActions are the pedal's: play while held, pause and rewind when let
// go, skip while rewind or forward is held.
func (b *playback) pedalActions() pedalActions {
	return pedalActions{
		play: func() tea.Cmd {
			b.errText = ""
			if b.on {
				return nil
			}
			return b.play()
		},
		release: func() tea.Cmd {
			if !b.on {
				return nil
			}
			b.on, b.paused, b.rewound = false, true, true
			back := b.env.autoRewind
			return b.run(func(h *dictHandle) error { h.pausePlay(); h.seek(-back, true); return nil })
		},
		skip: func(d time.Duration, again bool) tea.Cmd {
			if again && len(b.queue) > 0 {
				return nil // the device is behind: do not pile up moves
			}
			return b.run(func(h *dictHandle) error { h.seek(d, true); return nil })
		},
	}
}

// pedalEvent acts on a pedal event; pedalRepeat on a held pedal's repeat.
func (b *playback) pedalEvent(ev pedal.Event) tea.Cmd { return b.pedal.event(ev, b.pedalActions()) }

func (b *playback) pedalRepeat(msg pedalRepeatMsg) tea.Cmd {
	return b.pedal.repeat(msg, b.pedalActions())
}

// stop stops playback (and ends the handle when closing); it blocks.
func (b *playback) stop(closing bool) func() error {
	h := b.hd
	return func() error {
		_, err := h.stop(closing)
		return err
	}
}

// close is a command that ends playback for good, for leaving the screen.
func (b *playback) close() tea.Cmd {
	stop := b.stop(true)
	return func() tea.Msg {
		_ = stop()
		return nil
	}
}

// view is the player's line: state, position, speed, the next marker, and
// the keys.
func (b *playback) view(w int) string {
	st, l := b.env.st, b.env.l
	if b.errText != "" {
		return fitLine(st.Error.Render(b.errText), w)
	}
	state := "■"
	if b.snap.playing {
		state = "▶"
	} else if b.paused {
		state = "⏸"
	}
	parts := []string{fmt.Sprintf("%s %s / %s", state, clock(b.pos), clock(b.snap.dur)), fmt.Sprintf("%.2g×", b.speed)} // i18n: a speed, 0.75×
	if len(b.snap.markers) > 0 {
		n := len(b.snap.markers)
		parts = append(parts, l.N("tui.playback.markers", n, "Markers", itoa(n))) // ungrouped, as it always was
		for _, m := range b.snap.markers {
			if m.At+audio.FrameDuration > b.pos && m.At <= b.pos+audio.FrameDuration && m.Comment != "" {
				parts = append(parts, "“"+m.Comment+"”")
				break
			}
		}
	}
	k := b.env.keys.transcribe
	keys := l.T("tui.playback.keys", "Play", k.TPlay.Keys()[0], "Rewind", k.TRewind.Keys()[0], "Forward", k.TForward.Keys()[0],
		"Seconds", int(transcriptSkip.Seconds()), "Slower", k.TSlower.Keys()[0], "Faster", k.TFaster.Keys()[0])
	if len(b.snap.markers) > 0 {
		keys += " · " + l.T("tui.playback.next_marker", "Key", k.TMarker.Keys()[0])
	}
	return fitLine(st.Title.Render(strings.Join(parts, " · "))+"   "+st.Muted.Render(keys), w)
}
