package tui

import (
	"context"
	"errors"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/store"
)

// The session: what happens between an unlock and the next lock. The root
// model calls these; the messages are declared here, next to the commands
// that send them.

type (
	// idleTickMsg wakes the idle lock; gen ties it to one unlock.
	idleTickMsg struct{ gen int }
	// lockedMsg says drafts were saved and the vault locked.
	lockedMsg struct {
		reason  string
		err     error // saving a draft failed
		unsaved []store.Draft
	}
	// notesProgressMsg reports note decryption progress.
	notesProgressMsg struct {
		done, total int
		load        *notesLoad
		gen         int
	}
	// notesLoadedMsg says LoadNotes finished.
	notesLoadedMsg struct {
		err error
		gen int
	}
	// statsMsg carries the counts for the status bar.
	statsMsg struct {
		stats  store.Stats
		outbox int
		err    error
	}
)

// unlockedCmds starts a session: the case list, note decryption, counts,
// the recovery of recordings cut short by a crash, the draft check and the
// idle timer.
func (m *Model) unlockedCmds() tea.Cmd {
	m.env.log.Info("unlocked")
	m.unlocked = true
	m.lockGen++
	m.quitFailed = false
	m.lastInput = time.Now()
	list := newCaseList(m.env)
	list.SetSize(m.contentSize())
	m.stack = []component{list}
	m.showHelp = false
	m.env.gate.open()
	m.env.recovery = &recovery{}
	m.env.team = &teamState{}
	m.load = newNotesLoad()
	if m.pedalErr != "" {
		m.status.setNotice(m.pedalErr, true)
		m.pedalErr = ""
	}
	cmds := []tea.Cmd{list.Init(), loadNotesCmd(m.env.vault, m.load, m.lockGen), m.env.io(statsCmd(m.env.vault)),
		m.env.io(recoverCmd(m.env.l, m.env.vault, m.env.recovery))}
	// Drafts that could not be saved at the last lock are saved first, so
	// the draft check finds them.
	check := m.env.io(checkDraftsCmd(m.env.l, m.env.vault))
	if len(m.unsaved) > 0 {
		ds := m.unsaved
		m.unsaved = nil
		save := m.env.io(saveDraftsCmd(m.env.vault, ds, func(err error) tea.Msg {
			if err != nil {
				return noticeMsg{Text: m.env.l.T("tui.session.draft_still_unsaved", "Err", err.Error()), Err: true}
			}
			return nil
		}))
		check = tea.Sequence(save, check)
	}
	cmds = append(cmds, check)
	if m.opts.IdleLock > 0 {
		cmds = append(cmds, idleTimer(m.opts.IdleLock, m.lockGen))
	}
	return tea.Batch(cmds...)
}

func idleTimer(d time.Duration, gen int) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return idleTickMsg{gen} })
}

// idleTick locks when no key came for the idle time, or sleeps again for
// what is left of it.
func (m *Model) idleTick(msg idleTickMsg) tea.Cmd {
	if msg.gen != m.lockGen || !m.unlocked {
		return nil
	}
	idle := time.Since(m.lastInput)
	if idle < m.opts.IdleLock {
		return idleTimer(m.opts.IdleLock-idle, m.lockGen)
	}
	return m.lock(m.env.l.T("tui.session.idle_locked", "Idle", humanDuration(m.env.l, m.opts.IdleLock)))
}

// lock saves drafts and locks the vault, in a command; the screens go when
// lockedMsg arrives.
func (m *Model) lock(reason string) tea.Cmd {
	ds, ls := m.pendingDrafts(), m.pendingLocals()
	stops := m.audioStops(true)
	m.env.log.Info("locking", "drafts", len(ds))
	m.unlocked = false
	m.locking = true
	m.lockGen++
	load := m.load
	m.load = nil
	v, gate, e, onLock := m.env.vault, m.env.gate, m.env, m.opts.OnLock
	return func() tea.Msg {
		if onLock != nil {
			onLock()
		}
		// A take being recorded is stopped and placed in its recording
		// first (its chunks are written beside the gate).
		var audioErr error
		for _, stop := range stops {
			if err := stop(); err != nil {
				e.logErr("stopping the recording at lock", err)
				audioErr = err
			}
		}
		// Note decryption and every vault command under way must end
		// before the keys are wiped.
		load.stop()
		gate.close()
		var unsaved []store.Draft
		var errs []error
		for _, d := range ds {
			if err := persistDraft(v, d); err != nil {
				unsaved = append(unsaved, d)
				errs = append(errs, err)
			}
		}
		if err := persistLocals(v, ls); err != nil {
			errs = append(errs, err)
		}
		v.Lock()
		if audioErr != nil {
			reason += " " + e.l.T("tui.session.lock_audio_failed", "Err", audioErr.Error())
		}
		return lockedMsg{reason: reason, err: errors.Join(errs...), unsaved: unsaved}
	}
}

// locked drops every screen (they hold decrypted data) and shows the unlock
// screen. A draft that could not be saved is kept in memory, to be saved
// after the next unlock: losing a caseworker's text is worse.
func (m *Model) locked(msg lockedMsg) tea.Cmd {
	m.unsaved = append(m.unsaved, msg.unsaved...)
	reason := msg.reason
	if msg.err != nil {
		m.env.logErr("saving drafts at lock", msg.err)
		reason = m.env.l.T("tui.session.lock_draft_failed", "Err", msg.err.Error())
	}
	m.unlocked, m.locking = false, false
	m.status.stats = nil
	m.status.progress = [2]int{}
	m.stack = []component{newUnlockScreen(m.env, reason)}
	m.showHelp = false
	m.stack[0].SetSize(m.contentSize())
	return m.stack[0].Init()
}

// notesLoad is one LoadNotes run in the background; progress and the end
// arrive on its channels, read one message at a time by waitNotes. The root
// model owns it, so it can stop it (and wait for it) before locking.
type notesLoad struct {
	ctx      context.Context
	cancel   context.CancelFunc
	progress chan [2]int
	done     chan error
	finished chan struct{}

	mu      sync.Mutex
	started bool
	stopped bool
}

func newNotesLoad() *notesLoad {
	ctx, cancel := context.WithCancel(context.Background())
	return &notesLoad{ctx: ctx, cancel: cancel, progress: make(chan [2]int, 1), done: make(chan error, 1), finished: make(chan struct{})}
}

// stop cancels the load and waits until LoadNotes has returned. A nil load
// is already stopped.
func (l *notesLoad) stop() {
	if l == nil {
		return
	}
	l.cancel()
	l.mu.Lock()
	l.stopped = true
	started := l.started
	l.mu.Unlock()
	if started {
		<-l.finished
	}
}

func loadNotesCmd(v *store.Vault, l *notesLoad, gen int) tea.Cmd {
	return func() tea.Msg {
		l.mu.Lock()
		if l.stopped {
			l.mu.Unlock()
			return nil
		}
		l.started = true
		l.mu.Unlock()
		go func() {
			defer close(l.finished)
			l.done <- v.LoadNotes(l.ctx, func(done, total int) {
				select {
				case l.progress <- [2]int{done, total}:
				default: // the screen is behind: skip this one
				}
			})
		}()
		return waitNotes(l, gen)()
	}
}

func waitNotes(l *notesLoad, gen int) tea.Cmd {
	return func() tea.Msg {
		select {
		case err := <-l.done:
			return notesLoadedMsg{err: err, gen: gen}
		case p := <-l.progress:
			return notesProgressMsg{done: p[0], total: p[1], load: l, gen: gen}
		}
	}
}

func statsCmd(v *store.Vault) tea.Cmd {
	return func() tea.Msg {
		s, err := v.Stats()
		return statsMsg{stats: s, outbox: v.OutboxLen(), err: err}
	}
}

func humanDuration(l *i18n.Locale, d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return l.N("tui.session.hours", int(d/time.Hour))
	case d >= time.Minute && d%time.Minute == 0:
		return l.N("tui.session.minutes", int(d/time.Minute))
	case d >= time.Second:
		return l.N("tui.session.seconds", int(d/time.Second))
	}
	return d.String()
}
