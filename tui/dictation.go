package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// This file holds what the recorder screen (recorder.go) works through: a
// handle on the recording, the take under way and the player. The handle's
// methods block (devices, vault writes) and are called only from commands;
// the screen keeps what it shows in its model, from the snapshots and polls
// that come back as messages.

// recovery runs dictation.Recover once per unlock. The unlock starts it, and
// whatever shows recordings waits for it first (sync.Once blocks the callers
// that come while it runs), so a take cut short by a crash is back in its
// recording, marked interrupted, before anyone lists it.
type recovery struct {
	once sync.Once
	ids  []string
	err  error
}

func (rc *recovery) run(v *store.Vault) ([]string, error) {
	if rc == nil {
		return nil, nil
	}
	rc.once.Do(func() { rc.ids, rc.err = dictation.Recover(context.Background(), v) })
	return rc.ids, rc.err
}

// recoverCmd runs the recovery after an unlock and says what it found, in
// the status bar.
func recoverCmd(l *i18n.Locale, v *store.Vault, rc *recovery) tea.Cmd {
	return func() tea.Msg {
		ids, err := rc.run(v)
		switch {
		case err != nil:
			return noticeMsg{Text: l.T("tui.dictation.recover_failed", "Err", err.Error()), Err: true}
		case len(ids) > 0:
			return noticeMsg{Text: l.N("tui.dictation.recovered", len(ids))}
		}
		return nil
	}
}

// Errors of the handle; the recorder says each in the user's language
// (recorder.showErr), so their texts are for logs.
var (
	errRecClosed    = errors.New("the recorder was closed")                                                // i18n: tui.recorder.err.closed
	errRecording    = errors.New("stop recording first")                                                   // i18n: tui.recorder.err.recording
	errNothingYet   = errors.New("nothing recorded yet")                                                   // i18n: tui.recorder.err.nothing_yet
	errNotDraftRec  = errors.New("this recording was submitted for typing: it can be played, not changed") // i18n: tui.recorder.err.not_draft
	errNoSuchMarker = errors.New("no marker there")                                                        // i18n: tui.recorder.err.no_marker
	// errStoppedItself: the take ended without Stop and without a device
	// error (the sink failed, or the context ended).
	errStoppedItself = errors.New("the recording stopped by itself; what was recorded is kept") // i18n: tui.recorder.err.stopped_itself
	// errCommentTooLong: a marker's comment over audio.MaxCommentLen.
	errCommentTooLong = fmt.Errorf("a marker comment is at most %d bytes", audio.MaxCommentLen) // i18n: tui.recorder.err.comment_limit
)

// liveTake is the take under way, or the one last finished.
type liveTake struct {
	id    uint32
	mode  dictation.Mode
	base  time.Duration  // where in the timeline the take starts
	marks []audio.Marker // set while recording; At is within the take
	dur   time.Duration  // once finished: its length
	done  bool
}

// recSnap is what the recorder screen shows of the handle: a copy taken
// with the handle's lock held, so the view never reads the timeline the
// commands change.
type recSnap struct {
	id        string // "" until the first take of a new recording
	meta      record.Recording
	unsynced  bool
	dur       time.Duration
	markers   []audio.Marker
	pos       time.Duration
	recording bool
	paused    bool
	playing   bool
	take      liveTake // the take under way, when recording
}

// dictHandle is the recorder screen's hold on a recording, the take being
// recorded into it and the player. Its mutex serialises the screen's
// commands with a lock or a quit that must stop and save a take.
type dictHandle struct {
	v      *store.Vault
	caseID string
	rc     *recovery
	now    func() time.Time

	ctx    context.Context // ends every take and playback when the handle closes
	cancel context.CancelFunc

	mu       sync.Mutex
	r        *dictation.Recording // nil until a new recording's first take
	meta     record.Recording     // a new recording's details, until then
	unsynced bool
	rec      *audio.Recorder // the take under way, or nil
	take     liveTake
	last     liveTake
	player   *audio.Player
	playDev  string
	speed    float64 // playback tempo; 0 is as recorded
	closed   bool
	dueRules dictation.DueRules // this laptop's turnaround setting (nil: none), the fallback for a submission's due date

	// Read without mu by polls (the recorder and player are safe to read
	// from any goroutine).
	liveRec    atomic.Pointer[audio.Recorder]
	livePlayer atomic.Pointer[audio.Player]
}

func newDictHandle(v *store.Vault, caseID string, rc *recovery, now func() time.Time) *dictHandle {
	ctx, cancel := context.WithCancel(context.Background())
	return &dictHandle{v: v, caseID: caseID, rc: rc, now: now, ctx: ctx, cancel: cancel,
		meta: record.Recording{WorkType: record.WorkTypes[0], Priority: record.Priorities[0], Status: "draft"}} // i18n: a record's status
}

// do runs f with the lock held and returns the state after it.
func (h *dictHandle) do(f func() (string, error)) (recSnap, string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return h.snapshotLocked(), "", errRecClosed
	}
	note, err := f()
	return h.snapshotLocked(), note, err
}

func (h *dictHandle) snapshotLocked() recSnap {
	s := recSnap{meta: h.meta, unsynced: h.unsynced}
	if h.r != nil {
		s.id, s.meta = h.r.ID, h.r.Meta
		s.dur, s.markers = h.r.TL.Duration(), h.r.TL.Markers()
	}
	s.meta.Timeline, s.meta.Chunks = nil, nil
	if h.player != nil {
		s.pos, s.playing = h.player.Position(), h.player.Playing()
	}
	if h.rec != nil {
		s.recording, s.paused = true, h.rec.Paused()
		s.take = h.take
		s.take.marks = slices.Clone(h.take.marks)
	}
	return s
}

// open loads the recording id after the crash recovery ("" prepares a new
// one, created in the vault by its first take).
func (h *dictHandle) open(id string) error {
	_, _ = h.rc.run(h.v) // a failure is told once, after the unlock
	if id == "" {
		return nil
	}
	r, err := dictation.Open(h.v, id)
	if err != nil {
		return err
	}
	if it, err := h.v.Recording(id); err == nil {
		h.unsynced = it.Unsynced
	}
	h.r = r
	h.resetPlayerLocked(0, h.playDev)
	return nil
}

// refresh makes sure the player plays on dev.
func (h *dictHandle) refresh(dev string) {
	if h.player != nil && h.playDev != dev && !h.player.Playing() {
		h.resetPlayerLocked(h.player.Position(), dev)
	}
}

// resetPlayerLocked makes a new player of the timeline as it is now (a
// Player plays a copy), positioned at pos.
func (h *dictHandle) resetPlayerLocked(pos time.Duration, dev string) {
	if h.player != nil {
		h.player.Pause()
	}
	h.player, h.playDev = nil, dev
	if h.r != nil {
		h.player = audio.NewPlayer(h.r.TL, h.r.Source(), dev)
		if h.speed != 0 {
			h.player.SetSpeed(h.speed)
		}
		h.player.Seek(pos)
	}
	h.livePlayer.Store(h.player)
}

// checkInput tells early that there is no input device, before a new
// recording is created in the vault for nothing.
func checkInput(dev string) error {
	devs, err := audio.ListDevices()
	if err != nil {
		return nil // let Start say what is wrong
	}
	for _, d := range devs {
		if d.Inputs > 0 && (dev == "" && d.DefaultInput || dev != "" && (d.Name == dev || itoa(d.Index) == dev)) {
			return nil
		}
	}
	if dev == "" {
		return fmt.Errorf("%w: no default input device", audio.ErrNoDevice) // i18n: for the log; audioError says it
	}
	return fmt.Errorf("%w: no input device %q", audio.ErrNoDevice, dev) // i18n: for the log; audioError says it
}

// startTake starts recording on dev: at the end (Append), or at the
// playback position (Insert, Overwrite).
func (h *dictHandle) startTake(mode dictation.Mode, dev string) error {
	if h.rec != nil {
		return errRecording
	}
	if h.r != nil && h.r.Meta.Status != record.StatusDraft {
		return errNotDraftRec
	}
	at := time.Duration(0)
	if h.player != nil {
		h.player.Pause()
		at = h.player.Position()
	}
	created := false
	if h.r == nil {
		if err := checkInput(dev); err != nil {
			return err
		}
		meta := h.meta
		meta.Recorded = h.now().UTC().Format(time.RFC3339)
		r, err := dictation.New(h.v, h.caseID, meta)
		if err != nil {
			return err
		}
		h.r, created = r, true
	}
	dur := h.r.TL.Duration()
	at = min(at, dur)
	base := at
	if mode == dictation.Append {
		base = dur
	}
	id, sink, err := h.r.StartTake(mode, at)
	if err != nil {
		return h.undoNew(created, err)
	}
	rec := audio.NewRecorder(audio.Options{Device: dev})
	if err := rec.Start(h.ctx, id, sink); err != nil {
		// Nothing was captured: place the empty take, which clears the
		// note that a take is under way.
		return h.undoNew(created, errors.Join(err, h.r.FinishTake(audio.Take{ID: id})))
	}
	h.rec = rec
	h.take = liveTake{id: id, mode: mode, base: base}
	h.liveRec.Store(rec)
	return nil
}

// undoNew deletes a recording created for a take that could not start.
func (h *dictHandle) undoNew(created bool, err error) error {
	if created {
		if derr := h.v.Delete(h.caseID, h.r.ID); derr != nil {
			err = errors.Join(err, derr)
		}
		h.r = nil
	}
	return err
}

// takeReport says what a finished take holds.
type takeReport struct {
	dur       time.Duration
	dropped   int64 // frames lost to a slow encoder or disk (now silence)
	overflows int64 // times the device lost audio before it was read
	ok        bool  // a take was stopped
}

// text is what the report says to the user.
func (t takeReport) text(l *i18n.Locale) string {
	if !t.ok {
		return ""
	}
	s := l.T("tui.dictation.recorded", "Length", clock(t.dur))
	if t.dropped > 0 {
		s += " " + lostText(l, t.dropped) + "."
	}
	if t.overflows > 0 {
		s += " " + l.N("tui.dictation.mic_lost", int(t.overflows))
	}
	return s
}

// lostText says how much audio the disk or encoder lost.
func lostText(l *i18n.Locale, frames int64) string {
	return l.N("tui.dictation.lost", int(frames), "Length", seconds(l, time.Duration(frames)*audio.FrameDuration))
}

// stopTake ends the take under way, places it in the timeline with the
// markers set while recording, and saves. Whatever was captured is kept,
// even when the device failed midway.
func (h *dictHandle) stopTake() (takeReport, error) {
	rec := h.rec
	if rec == nil {
		return takeReport{}, nil
	}
	take, stopErr := rec.Stop()
	st := rec.Stats()
	h.rec = nil
	h.liveRec.Store(nil)
	rep := takeReport{dur: take.Duration(), dropped: st.FramesDropped, overflows: st.InputOverflows, ok: true}
	lt := h.take
	lt.dur, lt.done = take.Duration(), true
	h.take, h.last = liveTake{}, lt
	if err := h.r.FinishTake(take); err != nil {
		return rep, errors.Join(stopErr, fmt.Errorf("saving the take: %w", err)) // i18n: context for the log and the error's detail
	}
	if len(lt.marks) > 0 && take.Packets() > 0 {
		for _, m := range lt.marks {
			if err := h.r.TL.AddMarker(lt.base+min(m.At, lt.dur-audio.FrameDuration), m.Comment); err != nil {
				stopErr = errors.Join(stopErr, err)
			}
		}
		if err := h.r.Save(); err != nil {
			return rep, errors.Join(stopErr, fmt.Errorf("saving the markers: %w", err)) // i18n: context for the log and the error's detail
		}
	}
	h.unsynced = true
	h.resetPlayerLocked(lt.base+lt.dur, h.playDev)
	return rep, stopErr
}

// pauseTake pauses or resumes the take under way.
func (h *dictHandle) pauseTake(pause bool) {
	if h.rec == nil {
		return
	}
	if pause {
		h.rec.Pause()
	} else {
		h.rec.Resume()
	}
}

// play starts playback on dev from the position, falling back to the
// default output when dev has none (an input-only device).
func (h *dictHandle) play(dev string) error {
	if h.rec != nil {
		return errRecording
	}
	if h.r == nil || h.r.TL.Duration() == 0 {
		return errNothingYet
	}
	if h.player == nil || h.playDev != dev {
		pos := time.Duration(0)
		if h.player != nil {
			pos = h.player.Position()
		}
		h.resetPlayerLocked(pos, dev)
	}
	err := h.player.Play(h.ctx)
	if errors.Is(err, audio.ErrNoDevice) && dev != "" {
		h.resetPlayerLocked(h.player.Position(), "")
		h.playDev = dev // keep asking for dev's fallback, not dev again
		err = h.player.Play(h.ctx)
	}
	return err
}

func (h *dictHandle) pausePlay() {
	if h.player != nil {
		h.player.Pause()
	}
}

// setSpeed sets the playback tempo (pitch unchanged), for this player and
// the ones after it.
func (h *dictHandle) setSpeed(s float64) {
	h.speed = audio.ClampSpeed(s)
	if h.player != nil {
		h.player.SetSpeed(h.speed)
	}
}

// seek moves the position to to, or by d when rel.
func (h *dictHandle) seek(to time.Duration, rel bool) {
	if h.player == nil {
		return
	}
	if rel {
		h.player.Skip(to)
	} else {
		h.player.Seek(to)
	}
}

// addMarker sets a marker at the point at of the timeline.
func (h *dictHandle) addMarker(at time.Duration, comment string) error {
	if h.rec != nil {
		return errRecording
	}
	if h.r == nil || h.r.TL.Duration() == 0 {
		return errNothingYet
	}
	at = max(0, min(at, h.r.TL.Duration()-audio.FrameDuration))
	if err := h.r.TL.AddMarker(at, comment); err != nil {
		return err
	}
	h.unsynced = true
	return h.r.Save()
}

// addTakeMarker sets a marker at the point at of take: kept with the take
// under way and placed when it ends, or placed now if it has ended.
func (h *dictHandle) addTakeMarker(take uint32, at time.Duration, comment string) error {
	if len(comment) > audio.MaxCommentLen {
		return errCommentTooLong
	}
	switch {
	case h.rec != nil && h.take.id == take:
		h.take.marks = append(h.take.marks, audio.Marker{At: at, Comment: comment})
		return nil
	case h.last.done && h.last.id == take && h.last.dur > 0:
		return h.addMarker(h.last.base+min(at, h.last.dur-audio.FrameDuration), comment)
	}
	return errNothingYet
}

func (h *dictHandle) removeMarker(i int) error {
	if h.r == nil || i < 0 || i >= len(h.r.TL.Markers()) {
		return errNoSuchMarker
	}
	if err := h.r.TL.RemoveMarker(i); err != nil {
		return err
	}
	h.unsynced = true
	return h.r.Save()
}

// setMeta changes the recording's details and saves them (a new
// recording's are kept until its first take). Not while recording: the
// take's chunks are being written beside the manifest.
func (h *dictHandle) setMeta(f func(*record.Recording)) error {
	if h.rec != nil {
		return errRecording
	}
	if h.r == nil {
		f(&h.meta)
		return nil
	}
	old := h.r.Meta
	f(&h.r.Meta)
	if err := h.r.Save(); err != nil {
		h.r.Meta = old
		return err
	}
	h.unsynced = true
	return nil
}

// submit marks the recording submitted for typing, and says when it is
// due and by which rules.
func (h *dictHandle) submit() (record.Date, dictation.DuePolicy, error) {
	if h.rec != nil {
		return "", dictation.DuePolicy{}, errRecording
	}
	if h.r == nil || h.r.TL.Duration() == 0 {
		return "", dictation.DuePolicy{}, errNothingYet
	}
	// The agency's signed due rules win; this laptop's setting is the
	// fallback (dictation.DuePolicyOf).
	pol, err := h.r.SubmitByPolicy(h.now(), "", h.dueRules)
	if err != nil {
		return "", pol, err
	}
	h.unsynced = true
	return h.r.Meta.Due, pol, nil
}

// dueSource names where due rules come from, in a few words.
func dueSource(l *i18n.Locale, p dictation.DuePolicy) string {
	switch p.Source {
	case dictation.DueFromAgency:
		return l.T("tui.dictation.due_agency", "Version", p.Version)
	case dictation.DueFromLocal:
		return l.T("tui.dictation.due_local")
	}
	return l.T("tui.dictation.due_default")
}

// stop stops and saves the take under way and stops playback; with
// closing, it also ends the handle: later commands do nothing. It is what
// leaving the screen, quitting and locking call; it blocks.
func (h *dictHandle) stop(closing bool) (takeReport, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return takeReport{}, nil
	}
	rep, err := h.stopTake()
	h.pausePlay()
	if closing {
		h.closed = true
		h.cancel()
	}
	return rep, err
}

// recPoll is what the screen polls about ten times a second while a take
// or playback is under way.
type recPoll struct {
	recording bool // a take is live
	ended     bool // …but it ended by itself (device or disk failure)
	level     audio.Level
	elapsed   time.Duration
	stats     audio.Stats
	paused    bool
	playing   bool
	pos       time.Duration
	havePos   bool
	playErr   error
}

// poll reads the live state without the lock: it never waits for a
// command under way.
func (h *dictHandle) poll() recPoll {
	var p recPoll
	if rec := h.liveRec.Load(); rec != nil {
		p.recording = true
		p.level, p.elapsed, p.stats, p.paused = rec.Level(), rec.Elapsed(), rec.Stats(), rec.Paused()
		select {
		case <-rec.Done():
			p.ended = true
		default:
		}
	}
	if pl := h.livePlayer.Load(); pl != nil {
		p.playing, p.pos, p.havePos = pl.Playing(), pl.Position(), true
		if !p.playing {
			// Returns at once, unless a command has just started playing
			// again: then the timeout ends it, and the error is not ours.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			if err := pl.Wait(ctx); ctx.Err() == nil {
				p.playErr = err
			}
			cancel()
		}
	}
	return p
}

// clock writes a duration as m:ss (h:mm:ss from an hour), rounded down,
// the way a stopwatch counts.
func clock(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// seconds writes a short duration as "0.2 s", a longer one as clock does.
func seconds(l *i18n.Locale, d time.Duration) string {
	if d >= time.Minute {
		return clock(d)
	}
	return l.T("tui.dictation.seconds", "N", fmt.Sprintf("%.1f", max(d, 0).Seconds()))
}

// audioError says what went wrong with a device, in words for the user.
func audioError(l *i18n.Locale, err error) string {
	switch {
	case errors.Is(err, audio.ErrNoDevice):
		return l.T("tui.dictation.no_microphone")
	case errors.Is(err, audio.ErrDevice):
		detail := strings.TrimPrefix(err.Error(), "opening input device: ") // i18n: the audio package's prefix, taken off
		return l.T("tui.dictation.device_failed", "Err", detail)
	case errors.Is(err, store.ErrDiskFull), errors.Is(err, store.ErrReadOnly), errors.Is(err, store.ErrLocked):
		return l.T("tui.recorder.err.not_saved", "Err", writeErrorIn(l, err))
	}
	return err.Error()
}
