package tui

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/pedal"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// recorder is the dictation machine: record, pause, resume and stop, with
// the elapsed time and a live level meter; play back from any point, skip
// back and forward, jump to the start or the end; re-record from a point or
// insert a passage at it; drop markers with a short comment and jump to
// them; set the work type and priority, and submit the recording for
// typing.
//
// The audio and the vault are reached through a dictHandle, only from
// commands; the commands run one at a time, in the order the keys came
// (the screen queues them), and their results come back as recResultMsg.
// While a take or playback is under way a tea.Tick polls the level, time
// and position about ten times a second (recPollMsg). Leaving the screen,
// quitting and locking stop the take and save it first: the chunks are in
// the vault as they are recorded, and the take is placed in its recording.
type recorder struct {
	env      *env
	id       int64
	caseID   string
	ref      string
	recID    string // the recording opened ("" for a new one)
	hd       *dictHandle
	started  bool
	loaded   bool
	loadErr  string
	snap     recSnap
	pos      time.Duration
	sel      int // selected marker
	leaving  bool
	starting bool // a take was asked for, not started yet
	stopping bool // a stop was asked for the take under way

	// Live values from polls.
	level   audio.Level
	elapsed time.Duration
	stats   audio.Stats
	ticking bool
	tickGen int

	// Commands: one at a time, in order.
	busy  bool
	queue []tea.Cmd

	input    *textinput.Model // marker comment or title being typed
	inputFor inputKind
	markAt   time.Duration // where the marker being typed goes
	markTake uint32        // …within this take, when markLive
	markLive bool
	confirm  confirmKind

	pedal   pedalDriver
	pedalOn bool // the play pedal asked for playback (commands may be queued)

	errText string // the last failure, until the next key
	devErr  string // no microphone, or a failing one: until a take starts
	info    string // the last outcome ("Recorded 0:12.")
	w, h    int
}

type inputKind int

const (
	inputNone inputKind = iota
	inputMarker
	inputTitle
)

type confirmKind int

const (
	confirmNone confirmKind = iota
	confirmOverwrite
	confirmSubmit
	confirmDeleteMarker
)

// recOp names the command a recResultMsg reports.
type recOp int

const (
	opOpen recOp = iota
	opRefresh
	opStart
	opStop
	opPauseTake
	opPlay
	opPausePlay
	opSeek
	opMarker
	opRemoveMarker
	opMeta
	opSubmit
	opLeave
)

type (
	// recResultMsg reports a command of recorder id: the state after it,
	// a line to show, or what failed.
	recResultMsg struct {
		id     int64
		op     recOp
		snap   recSnap
		notice string
		err    error
	}
	// recPollMsg is a poll of recorder id's live state, from tick chain gen.
	recPollMsg struct {
		id  int64
		gen int
		p   recPoll
	}
)

// recPollInterval is how often the level, time and position are polled.
const recPollInterval = 100 * time.Millisecond

// seekStep is how far ←/→ move.
const seekStep = 5 * time.Second

var recorderIDs atomic.Int64

// newRecorder is the recorder on a recording of a case; recordingID ""
// starts a new one.
func newRecorder(e *env, caseID, recordingID, ref string) *recorder {
	hd := newDictHandle(e.vault, caseID, e.recovery, e.now)
	hd.dueRules = e.dueRules
	r := &recorder{env: e, id: recorderIDs.Add(1), caseID: caseID, ref: ref, recID: recordingID, hd: hd}
	r.pedal.id = r.id
	return r
}

func (r *recorder) Init() tea.Cmd {
	// A new tick chain: polls of an earlier one (sent while another screen
	// was on top) are ignored.
	r.tickGen++
	r.ticking = false
	var cmds []tea.Cmd
	if !r.started {
		r.started = true
		id := r.recID
		cmds = append(cmds, r.run(opOpen, func(h *dictHandle) (string, error) { return "", h.open(id) }))
	} else {
		dev := r.env.audioDevice
		cmds = append(cmds, r.run(opRefresh, func(h *dictHandle) (string, error) { h.refresh(dev); return "", nil }))
	}
	if r.live() {
		cmds = append(cmds, r.tick())
	}
	if r.input != nil {
		cmds = append(cmds, r.input.Focus())
	}
	return tea.Batch(cmds...)
}

func (r *recorder) Title() string { return r.env.l.T("tui.recorder.title") }

func (r *recorder) Typing() bool { return r.input != nil }

func (r *recorder) SetSize(w, h int) {
	r.w, r.h = w, h
	if r.input != nil {
		r.input.SetWidth(max(10, w-30))
	}
}

// live reports a take or playback under way.
func (r *recorder) live() bool { return r.snap.recording || r.snap.playing }

// AudioLive: a take, playback or a command on them is under way, so the
// screen must stay on top (its messages go to the top screen).
func (r *recorder) AudioLive() bool { return r.live() || r.busy || r.leaving }

// AudioStop returns what a quit or lock runs first: stop and save the take
// under way, stop playback; closing ends the handle.
func (r *recorder) AudioStop(closing bool) func() error {
	h := r.hd
	return func() error {
		_, err := h.stop(closing)
		return err
	}
}

func (r *recorder) ShortHelp() []key.Binding {
	k, l := r.env.keys.recorder, r.env.l
	pause := withHelp(k.PlayPause, l.T("tui.keys.pause"))
	stopLeave := withHelp(k.Back, l.T("tui.keys.stop_and_leave"))
	switch {
	case r.input != nil && r.inputFor == inputMarker:
		return []key.Binding{withHelp(k.Open, l.T("tui.keys.add_marker")), k.cancel()}
	case r.input != nil:
		return []key.Binding{withHelp(k.Open, l.T("tui.keys.save_title")), k.cancel()}
	case r.confirm != confirmNone:
		return k.Confirm.ShortHelp()
	case r.snap.recording && r.snap.paused:
		return []key.Binding{withHelp(k.PlayPause, l.T("tui.keys.resume")), k.StopRec, k.AddMarker, stopLeave}
	case r.snap.recording:
		return []key.Binding{pause, k.StopRec, k.AddMarker, stopLeave}
	case r.snap.meta.Status != record.StatusDraft && r.snap.playing:
		// Submitted or transcribed: it can be played, not changed.
		return []key.Binding{pause, k.SeekBack, k.SeekFwd, k.SeekStart, k.Back}
	case r.snap.meta.Status != record.StatusDraft:
		return []key.Binding{withHelp(k.PlayPause, l.T("tui.keys.play")), k.SeekBack, k.SeekFwd, k.SeekStart, k.Back}
	case r.snap.playing:
		return []key.Binding{pause, k.SeekBack, k.SeekFwd, k.AddMarker, k.InsertRec, k.Overwrite, k.Back}
	case r.snap.dur == 0:
		return []key.Binding{k.Record, k.RecTitle, k.WorkType, k.Priority, k.Back}
	}
	return k.ShortHelp()
}

func (r *recorder) FullHelp() [][]key.Binding {
	return r.env.keys.recorder.FullHelp()
}

// run queues a command on the handle: f runs with the handle's lock held,
// after the commands before it.
func (r *recorder) run(op recOp, f func(h *dictHandle) (string, error)) tea.Cmd {
	h, id := r.hd, r.id
	return r.enqueue(func() tea.Msg {
		snap, note, err := h.do(func() (string, error) { return f(h) })
		return recResultMsg{id: id, op: op, snap: snap, notice: note, err: err}
	})
}

func (r *recorder) enqueue(cmd tea.Cmd) tea.Cmd {
	if r.busy {
		r.queue = append(r.queue, cmd)
		return nil
	}
	r.busy = true
	return cmd
}

// tick starts polling the live state.
func (r *recorder) tick() tea.Cmd {
	r.ticking = true
	h, id, gen := r.hd, r.id, r.tickGen
	return tea.Tick(recPollInterval, func(time.Time) tea.Msg { return recPollMsg{id: id, gen: gen, p: h.poll()} })
}

func (r *recorder) Update(msg tea.Msg) (component, tea.Cmd) {
	switch msg := msg.(type) {
	case recResultMsg:
		if msg.id != r.id {
			return r, nil
		}
		return r, r.result(msg)
	case recPollMsg:
		if msg.id != r.id || msg.gen != r.tickGen {
			return r, nil
		}
		return r, r.polled(msg.p)
	case pedalRepeatMsg:
		return r, r.pedal.repeat(msg, r.pedalActions())
	case tea.KeyPressMsg:
		if r.leaving {
			return r, nil
		}
		if r.input != nil {
			return r, r.inputKey(msg)
		}
		r.errText = ""
		if r.confirm != confirmNone {
			return r, r.confirmKey(msg)
		}
		return r, r.key(msg)
	}
	if r.input != nil {
		var cmd tea.Cmd
		*r.input, cmd = r.input.Update(msg)
		return r, cmd
	}
	return r, nil
}

// result applies a command's outcome and starts the next one.
func (r *recorder) result(msg recResultMsg) tea.Cmd {
	r.busy = false
	var cmds []tea.Cmd
	if len(r.queue) > 0 {
		next := r.queue[0]
		r.queue = r.queue[1:]
		r.busy = true
		cmds = append(cmds, next)
	}
	if msg.op == opLeave {
		text := msg.notice
		if msg.err != nil {
			r.env.logErr("stopping the recording", msg.err)
			text = strings.TrimSpace(text + " " + audioError(r.env.l, msg.err))
		}
		return back(text, true)
	}
	wasLive := r.live()
	r.snap = msg.snap
	r.loaded = true
	if !r.snap.recording {
		r.pos = r.snap.pos
	}
	r.sel = min(r.sel, max(0, len(r.snap.markers)-1))
	switch msg.op {
	case opOpen:
		if msg.err != nil {
			r.loadErr = msg.err.Error()
			r.loaded = false
			return tea.Batch(cmds...)
		}
	case opStart:
		r.starting = false
		if msg.err == nil {
			r.devErr, r.info = "", ""
			r.elapsed, r.stats, r.level = 0, audio.Stats{}, audio.Level{RMS: audio.SilenceDBFS, Peak: audio.SilenceDBFS}
		}
	case opStop:
		r.stopping = false
		if msg.notice != "" {
			r.info = msg.notice
		}
	}
	if msg.err != nil {
		r.showErr(msg.op, msg.err)
	} else if msg.notice != "" {
		r.info = msg.notice
	}
	if msg.op != opOpen && msg.op != opRefresh && msg.op != opSeek && msg.op != opPauseTake {
		cmds = append(cmds, cmdOf(changedMsg{}))
	}
	// A fresh tick chain whenever a take or playback starts or stops, so a
	// poll read before the change cannot undo it.
	if r.live() != wasLive || msg.op == opStart || msg.op == opPlay {
		r.tickGen++
		r.ticking = false
	}
	if r.live() && !r.ticking {
		cmds = append(cmds, r.tick())
	}
	return tea.Batch(cmds...)
}

func (r *recorder) showErr(op recOp, err error) {
	l := r.env.l
	switch {
	case errors.Is(err, audio.ErrNoDevice), errors.Is(err, audio.ErrDevice):
		r.env.log.Warn("audio device", "err", err)
		r.devErr = audioError(l, err)
	case errors.Is(err, errRecording):
		r.errText = l.T("tui.recorder.err.recording")
	case errors.Is(err, errNothingYet):
		r.errText = l.T("tui.recorder.err.nothing_yet")
	case errors.Is(err, errNotDraftRec):
		r.errText = l.T("tui.recorder.err.not_draft")
	case errors.Is(err, errRecClosed):
		r.errText = l.T("tui.recorder.err.closed")
	case errors.Is(err, errNoSuchMarker):
		r.errText = l.T("tui.recorder.err.no_marker")
	case errors.Is(err, errStoppedItself):
		r.errText = l.T("tui.recorder.err.stopped_itself")
	case op == opPlay && errors.Is(err, store.ErrNotFound):
		r.errText = l.T("tui.playback.not_here")
	case op == opPlay:
		r.env.logErr("playback", err)
		r.errText = l.T("tui.playback.failed", "Err", err.Error())
	case op == opMarker && errors.Is(err, audio.ErrInvalidTimeline):
		r.errText = l.T("tui.recorder.err.comment_too_long", "Bytes", audio.MaxCommentLen)
	case errors.Is(err, errCommentTooLong):
		r.errText = l.T("tui.recorder.err.not_saved", "Err", l.T("tui.recorder.err.comment_limit", "Bytes", audio.MaxCommentLen))
	case op == opStop:
		r.env.logErr("stopping the take", err)
		r.errText = l.T("tui.recorder.err.take_not_placed", "Err", writeErrorIn(l, err))
	default:
		r.env.logErr("recorder", err)
		r.errText = l.T("tui.recorder.err.not_saved", "Err", writeErrorIn(l, err))
	}
}

// polled applies a poll of the live state.
func (r *recorder) polled(p recPoll) tea.Cmd {
	l := r.env.l
	var cmds []tea.Cmd
	if r.snap.recording {
		if p.recording {
			r.level, r.elapsed, r.stats, r.snap.paused = p.level, p.elapsed, p.stats, p.paused
		}
		if p.ended && !r.stopping {
			// The device or the disk failed: keep what was captured.
			r.stopping = true
			cmds = append(cmds, r.run(opStop, func(h *dictHandle) (string, error) {
				rep, err := h.stopTake()
				if err == nil {
					err = errStoppedItself
				}
				return rep.text(l), err
			}))
		}
	} else if p.havePos {
		r.pos = p.pos
		if r.snap.playing && !p.playing {
			r.snap.playing = false
			if p.playErr != nil {
				r.showErr(opPlay, p.playErr)
			}
		}
	}
	if r.live() {
		cmds = append(cmds, r.tick())
	} else {
		r.ticking = false
	}
	return tea.Batch(cmds...)
}

// key handles a key when no text is being typed and nothing is asked.
func (r *recorder) key(msg tea.KeyPressMsg) tea.Cmd {
	k, l := r.env.keys.recorder, r.env.l
	if key.Matches(msg, k.Back) {
		r.leaving = true
		h, id := r.hd, r.id
		return r.enqueue(func() tea.Msg {
			rep, err := h.stop(true)
			return recResultMsg{id: id, op: opLeave, notice: rep.text(l), err: err}
		})
	}
	if !r.loaded {
		return nil
	}
	dev := r.env.audioDevice
	rec := r.snap.recording
	switch {
	case key.Matches(msg, k.Record):
		return r.start(dictation.Append)
	case key.Matches(msg, k.InsertRec):
		return r.start(dictation.Insert)
	case key.Matches(msg, k.Overwrite):
		if rec {
			return r.start(dictation.Overwrite) // says to stop recording first
		}
		if r.snap.dur == 0 || r.snap.meta.Status != record.StatusDraft {
			return r.start(dictation.Append)
		}
		r.confirm = confirmOverwrite
		if r.snap.playing {
			return r.run(opPausePlay, func(h *dictHandle) (string, error) { h.pausePlay(); return "", nil })
		}
	case key.Matches(msg, k.PlayPause):
		switch {
		case rec:
			// The state shown changes when the recorder has paused.
			pause := !r.snap.paused
			return r.run(opPauseTake, func(h *dictHandle) (string, error) { h.pauseTake(pause); return "", nil })
		case r.snap.playing:
			return r.run(opPausePlay, func(h *dictHandle) (string, error) { h.pausePlay(); return "", nil })
		}
		return r.run(opPlay, func(h *dictHandle) (string, error) { return "", h.play(dev) })
	case key.Matches(msg, k.StopRec):
		switch {
		case (rec || r.starting) && !r.stopping:
			// Queued after the start when it has not answered yet.
			r.stopping = true
			return r.run(opStop, func(h *dictHandle) (string, error) {
				rep, err := h.stopTake()
				return rep.text(l), err
			})
		case r.snap.playing:
			return r.run(opPausePlay, func(h *dictHandle) (string, error) { h.pausePlay(); return "", nil })
		}
	case rec && (key.Matches(msg, k.SeekBack, k.SeekFwd, k.SeekStart, k.SeekEnd) || key.Matches(msg, k.Open)):
		r.errText = l.T("tui.recorder.stop_first_s")
	case key.Matches(msg, k.SeekBack), key.Matches(msg, k.SeekFwd):
		d := seekStep
		if key.Matches(msg, k.SeekBack) {
			d = -d
		}
		return r.seek(d, true)
	case key.Matches(msg, k.SeekStart):
		return r.seek(0, false)
	case key.Matches(msg, k.SeekEnd):
		return r.seek(r.snap.dur, false)
	case key.Matches(msg, k.Up):
		r.sel = max(0, r.sel-1)
	case key.Matches(msg, k.Down):
		r.sel = min(max(0, len(r.snap.markers)-1), r.sel+1)
	case key.Matches(msg, k.Open):
		if r.sel < len(r.snap.markers) {
			return r.seek(r.snap.markers[r.sel].At, false)
		}
	case key.Matches(msg, k.AddMarker):
		switch {
		case rec:
			r.markLive, r.markTake, r.markAt = true, r.snap.take.id, r.elapsed
		case r.snap.dur == 0:
			r.errText = l.T("tui.recorder.record_then_mark")
			return nil
		default:
			r.markLive, r.markAt = false, min(r.pos, r.snap.dur-audio.FrameDuration)
		}
		return r.startInput(inputMarker, "")
	case key.Matches(msg, k.DeleteMarker):
		if r.sel < len(r.snap.markers) && !rec {
			r.confirm = confirmDeleteMarker
		}
	case key.Matches(msg, k.WorkType), key.Matches(msg, k.Priority):
		if rec {
			r.errText = l.T("tui.recorder.err.recording")
			return nil
		}
		if key.Matches(msg, k.WorkType) {
			next := cycle(record.WorkTypes, r.snap.meta.WorkType)
			return r.run(opMeta, func(h *dictHandle) (string, error) {
				return "", h.setMeta(func(m *record.Recording) { m.WorkType = next })
			})
		}
		next := cycle(record.Priorities, r.snap.meta.Priority)
		return r.run(opMeta, func(h *dictHandle) (string, error) {
			return "", h.setMeta(func(m *record.Recording) { m.Priority = next })
		})
	case key.Matches(msg, k.RecTitle):
		if rec {
			r.errText = l.T("tui.recorder.err.recording")
			return nil
		}
		return r.startInput(inputTitle, r.snap.meta.Title)
	case key.Matches(msg, k.Submit):
		switch {
		case rec:
			r.errText = l.T("tui.recorder.err.recording")
		case r.snap.dur == 0:
			r.errText = l.T("tui.recorder.record_first")
		case r.snap.meta.Status != record.StatusDraft:
			r.errText = l.T("tui.recorder.already", "Status", r.snap.meta.Status)
		default:
			r.confirm = confirmSubmit
		}
	}
	return nil
}

// Pedal plays a recording under the foot pedal (not while recording: the
// pedal plays, it does not record). A release always counts, so a pedal
// held into a take is not taken for held after it.
func (r *recorder) Pedal(ev pedal.Event) tea.Cmd {
	if r.leaving || !r.loaded || r.snap.recording || r.starting || r.snap.dur == 0 {
		if ev.Down {
			return nil
		}
		r.pedalOn = false
		return r.pedal.event(ev, pedalActions{release: func() tea.Cmd { return nil }})
	}
	return r.pedal.event(ev, r.pedalActions())
}

func (r *recorder) pedalActions() pedalActions {
	return pedalActions{
		play: func() tea.Cmd {
			if r.pedalOn || r.snap.playing {
				return nil
			}
			r.pedalOn = true
			dev := r.env.audioDevice
			return r.run(opPlay, func(h *dictHandle) (string, error) { return "", h.play(dev) })
		},
		release: func() tea.Cmd {
			if !r.pedalOn && !r.snap.playing {
				return nil
			}
			r.pedalOn = false
			back := r.env.autoRewind
			return r.run(opPausePlay, func(h *dictHandle) (string, error) { h.pausePlay(); h.seek(-back, true); return "", nil })
		},
		skip: func(d time.Duration, again bool) tea.Cmd {
			if r.snap.recording || again && len(r.queue) > 0 {
				return nil
			}
			return r.seek(d, true)
		},
	}
}

func (r *recorder) start(mode dictation.Mode) tea.Cmd {
	if r.snap.recording || r.starting {
		r.errText = r.env.l.T("tui.recorder.already_recording")
		return nil
	}
	dev := r.env.audioDevice
	r.info = ""
	r.starting = true
	return r.run(opStart, func(h *dictHandle) (string, error) { return "", h.startTake(mode, dev) })
}

func (r *recorder) seek(to time.Duration, rel bool) tea.Cmd {
	if r.snap.dur == 0 {
		return nil
	}
	// Show the move at once; the command's answer corrects it.
	if rel {
		r.pos = max(0, min(r.pos+to, r.snap.dur))
	} else {
		r.pos = max(0, min(to, r.snap.dur))
	}
	return r.run(opSeek, func(h *dictHandle) (string, error) { h.seek(to, rel); return "", nil })
}

// truncBytes cuts s to at most n bytes, at a character boundary.
func truncBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cycle returns the choice after cur.
func cycle[T ~string](choices []T, cur T) T {
	i := slices.Index(choices, cur)
	return choices[(i+1)%len(choices)]
}

func (r *recorder) startInput(kind inputKind, value string) tea.Cmd {
	in := textinput.New()
	in.Prompt = ""
	in.SetStyles(r.env.st.textinputStyles())
	in.CharLimit = audio.MaxCommentLen
	if kind == inputMarker {
		in.Placeholder = r.env.l.T("tui.recorder.marker_placeholder")
	}
	in.SetValue(value)
	in.CursorEnd()
	in.SetWidth(max(10, r.w-30))
	r.input, r.inputFor = &in, kind
	return r.input.Focus()
}

func (r *recorder) inputKey(msg tea.KeyPressMsg) tea.Cmd {
	k, l := r.env.keys.recorder, r.env.l
	switch {
	case key.Matches(msg, k.cancel()):
		r.input = nil
		return nil
	case key.Matches(msg, k.Open):
		text := truncBytes(strings.TrimSpace(r.input.Value()), audio.MaxCommentLen)
		kind := r.inputFor
		r.input = nil
		if kind == inputTitle {
			return r.run(opMeta, func(h *dictHandle) (string, error) {
				return l.T("tui.recorder.title_saved"), h.setMeta(func(m *record.Recording) { m.Title = text })
			})
		}
		at, take, live := r.markAt, r.markTake, r.markLive
		return r.run(opMarker, func(h *dictHandle) (string, error) {
			if live {
				return l.T("tui.recorder.marker_set_take", "At", clock(at)), h.addTakeMarker(take, at, text)
			}
			return l.T("tui.recorder.marker_set", "At", clock(at)), h.addMarker(at, text)
		})
	}
	var cmd tea.Cmd
	*r.input, cmd = r.input.Update(msg)
	return cmd
}

func (r *recorder) confirmKey(msg tea.KeyPressMsg) tea.Cmd {
	k, l := r.env.keys.recorder, r.env.l
	what := r.confirm
	switch {
	case key.Matches(msg, k.Confirm.Yes):
		r.confirm = confirmNone
	case key.Matches(msg, k.Confirm.No):
		r.confirm = confirmNone
		return nil
	default:
		return nil
	}
	switch what {
	case confirmOverwrite:
		return r.start(dictation.Overwrite)
	case confirmSubmit:
		return r.run(opSubmit, func(h *dictHandle) (string, error) {
			due, pol, err := h.submit()
			return l.T("tui.recorder.submitted", "Due", dueDay(l, due), "Source", dueSource(l, pol)), err
		})
	case confirmDeleteMarker:
		i := r.sel
		return r.run(opRemoveMarker, func(h *dictHandle) (string, error) { return l.T("tui.recorder.marker_deleted"), h.removeMarker(i) })
	}
	return nil
}

func (r *recorder) View() string {
	st, l := r.env.st, r.env.l
	w := r.w
	if r.loadErr != "" {
		return st.Error.Render(l.T("tui.recorder.open_failed", "Err", r.loadErr)) + "\n\n" + l.T("tui.team.esc_back")
	}
	if !r.loaded {
		return st.Muted.Render(l.T("tui.recorder.opening"))
	}
	s := r.snap
	var lines []string
	add := func(l ...string) { lines = append(lines, l...) }

	// Head: what and whose, and its state.
	title := s.meta.Title
	if title == "" {
		title = l.T("tui.recorder.untitled")
		if s.id == "" {
			title = l.T("tui.recorder.new_recording")
		}
	}
	prio := string(s.meta.Priority)
	switch s.meta.Priority {
	case record.PriorityUrgent:
		prio = st.Bad.Render("! " + prio)
	case record.PriorityHigh:
		prio = st.Warn.Render(prio)
	}
	right := st.Muted.Render(string(s.meta.Status)+" · ") + prio + st.Muted.Render(" · "+s.meta.WorkType)
	add(headLine(st.Title.Render(l.T("tui.recorder.heading", "Ref", r.ref, "Title", title)), right, w))

	// The message line: a question, the comment being typed, an outcome.
	switch {
	case r.input != nil && r.inputFor == inputMarker:
		where := l.T("tui.recorder.marker_at", "At", clock(r.markAt))
		if r.markLive {
			where = l.T("tui.recorder.marker_at_take", "At", clock(r.markAt))
		}
		// Keys now type the label, not commands: say so where the eye is.
		add(fitLine(st.FocusLbl.Render(l.T("tui.recorder.typing_label", "Where", where))+r.input.View(), w))
	case r.input != nil:
		add(fitLine(st.FocusLbl.Render(l.T("tui.recorder.title_prompt"))+r.input.View(), w))
	case r.confirm == confirmOverwrite:
		add(st.Warn.Render(l.T("tui.recorder.confirm_overwrite", "From", clock(r.pos), "Rest", clock(s.dur-r.pos))))
	case r.confirm == confirmSubmit:
		add(st.Warn.Render(l.T("tui.recorder.confirm_submit")))
	case r.confirm == confirmDeleteMarker && r.sel < len(s.markers):
		add(st.Warn.Render(l.T("tui.recorder.confirm_delete_marker", "At", clock(s.markers[r.sel].At))))
	case r.errText != "":
		add(st.Error.Render(r.errText))
	case r.info != "":
		add(st.Notice.Render(r.info))
	default:
		add(st.Muted.Render(strings.Repeat("─", max(0, w))))
	}
	add("")

	// The machine: state, position, level, audio lost.
	state := ""
	switch {
	case s.recording && s.paused:
		state = st.Warn.Render("❚❚ "+l.T("tui.recorder.paused")) + "   " + clock(r.elapsed) + st.Muted.Render("  "+takeWhere(l, s))
	case s.recording:
		state = st.Bad.Render("● "+l.T("tui.recorder.recording")) + "  " + clock(r.elapsed) + st.Muted.Render("  "+takeWhere(l, s))
	case s.playing:
		state = st.Good.Render("▶ " + l.T("tui.recorder.playing"))
	default:
		state = st.Label.Render("■ " + l.T("tui.recorder.stopped"))
		if s.dur == 0 && r.devErr == "" {
			state += "   " + l.T("tui.recorder.press_r")
		}
	}
	add(state)
	if r.devErr != "" {
		for _, line := range wrap(r.devErr, max(10, w)) {
			add(st.Error.Render(line))
		}
	} else {
		add("")
	}
	label := func(s string) string { return st.Label.Render(cell(s, 12)) }
	pos, total := r.pos, s.dur
	if s.recording {
		// The take grows the recording as it is made: where it is now,
		// and how long the recording will be.
		pos = s.take.base + r.elapsed
		total = s.dur + r.elapsed
		if s.take.mode == dictation.Overwrite {
			total = max(s.dur, pos)
		}
	}
	add(label(l.T("tui.recorder.position")) + clock(pos) + " / " + clock(total))
	add(r.bar(max(10, min(w, 100))))
	if s.recording {
		add(label(l.T("tui.recorder.level")) + meter(r.level.RMS, max(10, min(w-24, 50))) + " " + dbText(l, r.level.RMS))
	} else {
		add(label(l.T("tui.recorder.level")) + st.Muted.Render(l.T("tui.recorder.level_idle")))
	}
	switch {
	case s.recording && r.stats.FramesDropped > 0:
		add(label(l.T("tui.recorder.audio_lost")) + st.Warn.Render("! "+lostText(l, r.stats.FramesDropped)))
	case s.recording && r.stats.InputOverflows > 0:
		add(label(l.T("tui.recorder.audio_lost")) + st.Warn.Render("! "+l.N("tui.recorder.mic_lost", int(r.stats.InputOverflows))))
	case s.recording:
		add(label(l.T("tui.recorder.audio_lost")) + l.T("tui.recorder.none"))
	default:
		add("")
	}
	add("", st.Section.Render(l.T("tui.recorder.details")))
	detail := func(name, value, hint string) {
		if hint != "" {
			value += st.Muted.Render("  " + hint)
		}
		add(fitLine("  "+st.Label.Render(cell(name, 11))+value, w))
	}
	t := s.meta.Title
	if t == "" {
		t = st.Muted.Render(l.T("tui.recorder.none_paren"))
	}
	detail(l.T("tui.recorder.d.title"), t, l.T("tui.recorder.hint.title"))
	detail(l.T("tui.recorder.d.work_type"), s.meta.WorkType, l.T("tui.recorder.hint.work_type"))
	detail(l.T("tui.recorder.d.priority"), string(s.meta.Priority), l.T("tui.recorder.hint.priority"))
	statusHint := l.T("tui.recorder.hint.status_draft")
	if s.meta.Status != record.StatusDraft {
		statusHint = l.T("tui.recorder.hint.status_done")
	}
	detail(l.T("tui.recorder.d.status"), string(s.meta.Status), statusHint)
	var about []string
	if when := r.recordedAt(s.meta.Recorded); when != "" {
		about = append(about, when)
	}
	if s.meta.Author != "" {
		about = append(about, l.T("tui.recorder.by", "Author", s.meta.Author))
	}
	if s.unsynced {
		about = append(about, "↑ "+l.T("tui.recorder.unsynced"))
	}
	if len(about) == 0 {
		about = append(about, st.Muted.Render(l.T("tui.recorder.not_yet")))
	}
	detail(l.T("tui.recorder.d.recorded"), strings.Join(about, " · "), "")
	if s.meta.Interrupted {
		add(fitLine("  "+cell("", 11)+st.Warn.Render("! "+l.T("tui.recorder.interrupted")), w))
	}

	// Markers.
	markerKeys := "  " + l.T("tui.recorder.marker_keys")
	if s.meta.Status != record.StatusDraft {
		markerKeys = "  " + l.T("tui.recorder.marker_keys_done")
	}
	add("", st.Section.Render(l.T("tui.recorder.markers", "Count", itoa(len(s.markers))))+st.Muted.Render(markerKeys))
	if len(s.markers) == 0 && len(s.take.marks) == 0 {
		add(st.Muted.Render("  " + l.T("tui.recorder.none")))
	}
	room := max(1, r.h-len(lines))
	first := 0
	if r.sel >= room {
		first = r.sel - room + 1
	}
	for i := first; i < len(s.markers) && i < first+room; i++ {
		m := s.markers[i]
		line := "  " + cell(clock(m.At), 8) + m.Comment
		if i == r.sel {
			line = st.Selected.Render(fitLine("▸ "+cell(clock(m.At), 8)+m.Comment, w))
		}
		add(fitLine(line, w))
	}
	for _, m := range s.take.marks {
		add(fitLine(st.Muted.Render("  "+cell("+"+clock(m.At), 8)+m.Comment+"  "+l.T("tui.recorder.placed_later")), w))
	}
	return strings.Join(lines, "\n")
}

// headLine puts right at the end of the line and cuts left to fit.
func headLine(left, right string, w int) string {
	room := w - ansiWidth(right) - 1
	if room < 10 {
		return fitLine(left, w)
	}
	if ansiWidth(left) > room {
		left = fitLine(left, room)
	}
	return spread(left, right, w)
}

// takeWhere says where the take under way goes.
func takeWhere(l *i18n.Locale, s recSnap) string {
	switch s.take.mode {
	case dictation.Insert:
		return l.T("tui.recorder.take.insert", "At", clock(s.take.base))
	case dictation.Overwrite:
		return l.T("tui.recorder.take.overwrite", "At", clock(s.take.base))
	}
	if s.take.base == 0 {
		return l.T("tui.recorder.take.start")
	}
	return l.T("tui.recorder.take.append", "At", clock(s.take.base))
}

// bar draws the timeline: what is before the position, the position, what
// is after it, and the markers (◆).
func (r *recorder) bar(w int) string {
	s := r.snap
	cells := []rune(strings.Repeat("─", w))
	at := func(d time.Duration) int {
		if s.dur <= 0 {
			return 0
		}
		return min(w-1, int(int64(w-1)*int64(d)/int64(s.dur)))
	}
	head := at(r.pos)
	for i := range head {
		cells[i] = '━'
	}
	for _, m := range s.markers {
		cells[at(m.At)] = '◆'
	}
	cells[head] = '●'
	return string(cells)
}

// meter draws an RMS level (-60…0 dBFS) as a bar.
func meter(db float64, w int) string {
	if math.IsNaN(db) || db < -60 {
		db = -60
	}
	n := min(w, max(0, int(float64(w)*(db+60)/60)))
	return strings.Repeat("█", n) + strings.Repeat("░", w-n)
}

func dbText(l *i18n.Locale, db float64) string {
	if db <= -60 || math.IsNaN(db) {
		return l.T("tui.recorder.silence")
	}
	return itoa(int(math.Round(db))) + " dB" // i18n: a unit, the same in Welsh
}

// recordedAt writes an RFC 3339 time in the TUI clock's zone, in running
// text: "Mon 2 Nov 2026 08:15".
func (r *recorder) recordedAt(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	t = t.In(r.env.now().Location())
	l := r.env.l
	return l.T("tui.recorder.when", "Weekday", shortWeekday(l, t.Weekday()), "Day", t.Day(),
		"Month", shortMonth(l, t.Month()), "Year", t.Year(), "Time", t.Format("15:04"))
}

func recordedTime(e *env, s, layout string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.In(e.now().Location()).Format(layout)
}
