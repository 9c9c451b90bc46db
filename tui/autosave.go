package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// autosave is the one autosave machine of every editor whose typing must
// survive a quit, an idle lock or a crash: the note editor, the transcript
// editor and the case, consent and task forms. T is what the editor holds
// (a note, a transcript, a form's values). The machine does no I/O and
// reads no clock of its own: its methods return the tea.Cmd to run and
// take the messages those commands send back, so its rules are tested
// without a running program (autosave_test.go). The rules:
//
//   - An edit arms one debounce tick; when it fires, what is on screen is
//     sealed, unless the vault holds it already.
//   - One write at a time: a tick that comes while an autosave is under way
//     waits for the next tick.
//   - A final write (a commit, leaving with the draft kept, a discard) waits
//     for the autosave under way and runs when that lands, so the autosave
//     can never land after it and bring back a draft the commit deleted.
//     Once the final write is running no autosave starts; after a commit or
//     a discard has succeeded nothing is autosaved again.
//   - A failed autosave keeps the text on screen, says why (err), and tries
//     again at the next tick.
//   - What is pending at a quit or a lock (pending): what is on screen, if
//     the vault does not hold it and no commit or discard has taken it
//     over. The quit and the lock close the I/O gate first, which waits for
//     the autosave under way, so what they write is the newest text.
type autosave[T any] struct {
	id    int64 // the editor's: tells its messages from another editor's
	delay time.Duration
	// same says whether two values are the same text; blank, whether a
	// value holds nothing worth keeping (persisting it removes the draft).
	same  func(a, b T) bool
	blank func(T) bool
	// persist seals a value into the vault (or removes the draft when the
	// value is blank); it runs inside the command save returns.
	persist func(T) error
	// io runs a command through the vault's gate (env.io).
	io func(tea.Cmd) tea.Cmd
	// now stamps a successful save (env.now).
	now func() time.Time
	// l says the state in the editor's language (env.l).
	l *i18n.Locale

	saved    T         // what the vault holds; with hasSaved false, what the editor opened with
	hasSaved bool      // the vault holds a draft of this editor
	savedAt  time.Time // when an autosave last landed ("" when restored)
	ticking  bool      // a tick is on its way
	saving   bool      // an autosave is under way
	busy     bool      // a final write is under way or waiting
	keeps    bool      // that final write keeps the text as a draft (leaving)
	queued   tea.Cmd   // the final write, waiting for the autosave under way
	done     bool      // committed or discarded: nothing more to keep
	err      error     // why the last autosave failed; nil once one lands
}

type (
	// autosaveTickMsg is the debounce timer of editor id.
	autosaveTickMsg struct{ id int64 }
	// autosavedMsg reports an autosave of editor id: value was sealed
	// (or, blank, removed), unless err.
	autosavedMsg struct {
		id    int64
		value any
		err   error
	}
)

// newAutosave starts a machine for editor id, whose editor opened with
// value; restored says the vault holds value as a draft already.
func newAutosave[T any](e *env, id int64, value T, restored bool, same func(a, b T) bool, blank func(T) bool, persist func(T) error) *autosave[T] {
	return &autosave[T]{id: id, delay: e.draftDelay, same: same, blank: blank, persist: persist, io: e.io, now: e.now, l: e.l,
		saved: value, hasSaved: restored}
}

// differs reports that cur is not what the vault holds: with a draft in
// the vault, any change; without, a change from what the editor opened
// with that is not blank.
func (a *autosave[T]) differs(cur T) bool {
	if a.hasSaved {
		return !a.same(cur, a.saved)
	}
	return !a.blank(cur) && !a.same(cur, a.saved)
}

// pending reports that cur must be sealed at a quit or a lock: it differs
// from what the vault holds and no commit or discard has taken it over (a
// final write still waiting for an autosave has not: should the quit stop
// it, the text is kept as a draft).
func (a *autosave[T]) pending(cur T) bool {
	if a.done || a.busy && !a.keeps && a.queued == nil {
		return false
	}
	return a.differs(cur)
}

// restore records that the vault holds v as a draft (found after the
// editor opened).
func (a *autosave[T]) restore(v T) {
	a.saved, a.hasSaved = v, !a.blank(v)
}

// edited is called after each change: it arms the tick when there is
// something to save.
func (a *autosave[T]) edited(cur T) tea.Cmd {
	if a.done || a.busy || !a.differs(cur) {
		return nil
	}
	return a.tick()
}

func (a *autosave[T]) tick() tea.Cmd {
	if a.ticking {
		return nil
	}
	a.ticking = true
	id := a.id
	return tea.Tick(a.delay, func(time.Time) tea.Msg { return autosaveTickMsg{id} })
}

// save starts the autosave of cur.
func (a *autosave[T]) save(cur T) tea.Cmd {
	a.saving = true
	id, persist := a.id, a.persist
	return a.io(func() tea.Msg { return autosavedMsg{id: id, value: cur, err: persist(cur)} })
}

// update takes the machine's messages, ok false for any other (those of
// another editor are taken and ignored); cur is what the editor holds now.
func (a *autosave[T]) update(msg tea.Msg, cur func() T) (cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case autosaveTickMsg:
		if msg.id != a.id {
			return nil, true
		}
		a.ticking = false
		switch {
		case a.done || a.busy:
			// A tick armed before a commit or a discard may land after
			// it: it must not bring the draft back.
			return nil, true
		case a.saving:
			return a.tick(), true // one write at a time: try again shortly
		}
		if v := cur(); a.differs(v) {
			return a.save(v), true
		}
		return nil, true
	case autosavedMsg:
		if msg.id != a.id {
			return nil, true
		}
		a.saving = false
		if msg.err != nil {
			a.err = msg.err
		} else {
			a.err = nil
			v, _ := msg.value.(T)
			a.saved, a.hasSaved, a.savedAt = v, !a.blank(v), a.now()
		}
		if a.queued != nil {
			// The write that waited for this autosave, now.
			cmd, a.queued = a.queued, nil
			return cmd, true
		}
		if !a.done && !a.busy && a.differs(cur()) {
			return a.tick(), true // typed meanwhile, or failed: again later
		}
		return nil, true
	}
	return nil, false
}

// final runs a write that ends the editing (a commit, a discard, or
// leaving with the draft kept: keeps), after the autosave under way if
// there is one. Until finished is called no autosave starts.
func (a *autosave[T]) final(cmd tea.Cmd, keeps bool) tea.Cmd {
	a.busy, a.keeps = true, keeps
	if a.saving {
		a.queued = cmd
		return nil
	}
	return cmd
}

// ended takes the success of a commit or a discard: nothing more is
// kept.
func (a *autosave[T]) ended() {
	a.busy, a.keeps, a.done = false, false, true
	a.hasSaved, a.savedAt = false, time.Time{}
}

// left takes the success of leaving with the draft kept: the vault holds
// v, and nothing more is kept (the editor is closing).
func (a *autosave[T]) left(v T) {
	a.ended()
	a.saved, a.hasSaved = v, !a.blank(v)
}

// failed takes the failure of a final write: the text is still on screen,
// and autosaves run again.
func (a *autosave[T]) failed(cur T) tea.Cmd {
	a.busy, a.keeps = false, false
	return a.edited(cur)
}

// writing reports a final write under way or waiting: keys wait.
func (a *autosave[T]) writing() bool { return a.busy }

// state is the draft's state for the editor's header: "● not saved yet",
// "Draft saved 15:04", "Draft restored", or "".
func (a *autosave[T]) state(cur T) string {
	switch {
	case a.pending(cur):
		return a.l.T("tui.autosave.pending")
	case a.hasSaved && !a.savedAt.IsZero():
		return a.l.T("tui.autosave.saved", "Time", a.savedAt.Format("15:04"))
	case a.hasSaved:
		return a.l.T("tui.autosave.restored")
	}
	return ""
}
