package tui

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"sync/atomic"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// noteEdit writes a new note, edits one, or combines the versions of a note
// in conflict. What is typed is sealed into the vault as a draft a few
// seconds after each change, when leaving with esc, at quit and at the idle
// lock; saving commits the note and deletes its draft in one transaction.
type noteEdit struct {
	env   *env
	id    int64 // tells this editor's timer ticks from another's
	ref   string
	draft store.Draft // key, case, note id, base; Note is rebuilt from the fields
	merge bool

	f                                       *form
	kind, date, clock, place, attendees, tx *field

	as      *autosave[record.Note] // the draft: autosaved, and written last by save, leave, discard
	errText string                 // why the last save or leave failed
	confirm bool                   // asking whether to discard the draft
	started bool
	w, h    int
}

var editorIDs atomic.Int64

type (
	// draftLeftMsg reports the draft save made when leaving the editor.
	draftLeftMsg struct {
		id   int64
		note record.Note
		err  error
	}
	// noteSavedMsg reports CommitDraft.
	noteSavedMsg struct {
		id     int64
		noteID string
		err    error
	}
	// draftDiscardedMsg reports DeleteDraft.
	draftDiscardedMsg struct {
		id  int64
		err error
	}
)

// newNoteEdit is the note editor on a draft (a new note, an edit, or the
// combination of a note's versions in conflict) of the case ref names.
func newNoteEdit(e *env, d store.Draft, ref string) *noteEdit {
	if d.Key == "" {
		d.Key = store.DraftKey(d.CaseID, d.NoteID)
	}
	n := &noteEdit{env: e, id: editorIDs.Add(1), ref: ref, draft: d, merge: len(d.Base) > 1}
	v := e.vault
	n.as = newAutosave(e, n.id, d.Note, !d.Saved.IsZero(), sameNote, blank, func(nt record.Note) error {
		d := d
		d.Note = nt
		return persistDraft(v, d)
	})
	f := newForm(e)
	kind := d.Note.Kind
	if kind == "" {
		kind = "visit" // i18n: a record's value
	}
	l := e.l
	n.kind = f.choice(l.T("tui.noteedit.field.kind"), record.NoteKinds, kind).keyed("Kind")
	n.date = f.date(l.T("tui.noteedit.field.date"), d.Note.Date).keyed("Date")
	n.clock = f.clock(l.T("tui.noteedit.field.time"), d.Note.Time).keyed("Time")
	n.place = f.text(l.T("tui.noteedit.field.place"), d.Note.Place, "").keyed("Place")
	n.attendees = f.text(l.T("tui.noteedit.field.attendees"), strings.Join(d.Note.Attendees, ", "),
		l.T("tui.noteedit.field.attendees_hint")).keyed("Attendees")
	n.tx = f.area(l.T("tui.noteedit.field.note"), d.Note.Text, "", 0).keyed("Note")
	n.f = f
	return n
}

func (n *noteEdit) Init() tea.Cmd {
	if !n.started {
		// Start in the text, where the work is.
		n.started = true
		return n.f.setFocus(len(n.f.fields) - 1)
	}
	return n.f.setFocus(n.f.focus)
}

func (n *noteEdit) Title() string {
	switch {
	case n.merge:
		return n.env.l.T("tui.noteedit.title.merge")
	case n.draft.NoteID != "":
		return n.env.l.T("tui.noteedit.title.edit")
	}
	return n.env.l.T("tui.noteedit.title.new")
}

func (n *noteEdit) Typing() bool { return true }

func (n *noteEdit) SetSize(w, h int) {
	n.w, n.h = w, h
	n.f.setSize(w, h-3)
}

func (n *noteEdit) ShortHelp() []key.Binding {
	k := n.env.keys.noteEdit
	if n.confirm {
		return k.Confirm.ShortHelp()
	}
	return k.ShortHelp()
}

func (n *noteEdit) FullHelp() [][]key.Binding {
	return n.env.keys.noteEdit.FullHelp()
}

// note builds the note from the fields.
func (n *noteEdit) note() record.Note {
	var att []string
	for _, a := range strings.Split(n.attendees.value(), ",") {
		if a = strings.TrimSpace(a); a != "" {
			att = append(att, a)
		}
	}
	return record.Note{
		Kind:      n.kind.value(),
		Date:      record.Date(strings.TrimSpace(n.date.value())),
		Time:      strings.TrimSpace(n.clock.value()),
		Place:     strings.TrimSpace(n.place.value()),
		Attendees: att,
		Text:      n.tx.value(),
		Author:    n.draft.Note.Author,
	}
}

func sameNote(a, b record.Note) bool {
	return a.Kind == b.Kind && a.Date == b.Date && a.Time == b.Time && a.Place == b.Place &&
		slices.Equal(a.Attendees, b.Attendees) && a.Text == b.Text && a.Author == b.Author
}

// blank reports a note with nothing the user wrote in it.
func blank(nt record.Note) bool {
	return strings.TrimSpace(nt.Text) == "" && nt.Place == "" && len(nt.Attendees) == 0
}

func (n *noteEdit) current() store.Draft {
	d := n.draft
	d.Note = n.note()
	return d
}

// PendingDraft is the draft to seal at quit or lock: the note as typed, if
// it differs from what the vault holds.
func (n *noteEdit) PendingDraft() (store.Draft, bool) {
	d := n.current()
	return d, n.as.pending(d.Note)
}

// persistDraft seals d into the vault, or removes the draft when the user
// emptied the note (or the form: nothing differs from what it opened with).
func persistDraft(v *store.Vault, d store.Draft) error {
	if d.Form == "" && blank(d.Note) || d.Form != "" && len(d.Fields) == 0 {
		return v.DeleteDraft(d.Key)
	}
	return v.SaveDraft(d)
}

func (n *noteEdit) Update(msg tea.Msg) (component, tea.Cmd) {
	k := n.env.keys.noteEdit
	if cmd, ok := n.as.update(msg, n.note); ok {
		if _, saved := msg.(autosavedMsg); saved && n.as.err != nil {
			n.env.logErr("saving draft", n.as.err)
		}
		return n, cmd
	}
	switch msg := msg.(type) {
	case draftLeftMsg:
		if msg.id != n.id {
			return n, nil
		}
		if msg.err != nil {
			n.errText = n.env.l.T("tui.noteedit.keep_failed", "Err", n.env.writeErr(msg.err))
			return n, n.as.failed(n.note())
		}
		n.as.left(msg.note)
		return n, back(n.env.l.T("tui.noteedit.draft_kept"), false)
	case noteSavedMsg:
		if msg.id != n.id {
			return n, nil
		}
		if msg.err != nil {
			n.env.logErr("saving note", msg.err)
			n.errText = n.env.l.T("tui.noteedit.not_saved", "Err", n.env.writeErr(msg.err))
			return n, n.as.failed(n.note())
		}
		n.as.ended()
		what := n.env.l.T("tui.noteedit.saved")
		if n.merge {
			what = n.env.l.T("tui.noteedit.merged")
		}
		return n, cmdOf(backMsg{Notice: what, Changed: true, Focus: msg.noteID})
	case draftDiscardedMsg:
		if msg.id != n.id {
			return n, nil
		}
		if msg.err != nil {
			n.errText = n.env.l.T("tui.common.discard_failed", "Err", n.env.writeErr(msg.err))
			return n, n.as.failed(n.note())
		}
		n.as.ended() // nothing left to keep
		return n, back(n.env.l.T("tui.common.draft_discarded"), false)
	case tea.KeyPressMsg:
		if n.as.writing() {
			return n, nil // what is on screen is being written
		}
		if n.confirm {
			switch {
			case key.Matches(msg, k.Confirm.Yes):
				n.confirm = false
				v, dk, id := n.env.vault, n.draft.Key, n.id
				return n, n.write(func() tea.Msg { return draftDiscardedMsg{id: id, err: v.DeleteDraft(dk)} }, false)
			case key.Matches(msg, k.Confirm.No):
				n.confirm = false
			}
			return n, nil
		}
		switch {
		case key.Matches(msg, k.Save):
			return n, n.save()
		case key.Matches(msg, k.Back):
			if _, ok := n.PendingDraft(); !ok {
				if n.as.hasSaved {
					return n, back(n.env.l.T("tui.noteedit.draft_kept"), false)
				}
				return n, back("", false)
			}
			d, id, v := n.current(), n.id, n.env.vault
			return n, n.write(func() tea.Msg { return draftLeftMsg{id: id, note: d.Note, err: persistDraft(v, d)} }, true)
		case key.Matches(msg, k.Discard):
			n.confirm = true
			return n, nil
		}
	}
	cmd, changed := n.f.update(msg)
	if changed {
		n.errText = ""
		return n, tea.Batch(cmd, n.as.edited(n.note()))
	}
	return n, cmd
}

// write runs a final write of this draft (save, leave: keeps, discard),
// after the autosave under way if there is one (autosave.final).
func (n *noteEdit) write(f func() tea.Msg, keeps bool) tea.Cmd {
	return n.as.final(n.env.io(f), keeps)
}

// save validates the note and commits it with its draft.
func (n *noteEdit) save() tea.Cmd {
	d := n.current()
	date, err := n.f.read(n.date)
	clock, terr := n.f.read(n.clock) // both marked at once
	if err = cmp.Or(err, terr); err != nil {
		n.errText = ""
		cmd, _ := n.f.focusBad(err)
		return cmd
	}
	// The draft keeps what was typed ("tomorrow"); the note, what it means.
	d.Note.Date, d.Note.Time = record.Date(date), clock
	d.Note.Normalize(n.env.today())
	if err := d.Note.Validate(); err != nil {
		n.errText = strings.TrimPrefix(err.Error(), record.ErrInvalid.Error()+": ")
		return nil
	}
	n.errText = ""
	v, id := n.env.vault, n.id
	return n.write(func() tea.Msg {
		noteID, err := v.CommitDraft(d)
		return noteSavedMsg{id: id, noteID: noteID, err: err}
	}, false)
}

// writeErr says why a write failed, in words for the user, in the
// screen's language.
func (e *env) writeErr(err error) string { return writeErrorIn(e.l, err) }

func writeErrorIn(l *i18n.Locale, err error) string {
	switch {
	case errors.Is(err, store.ErrDiskFull):
		return l.T("tui.common.err.disk_full")
	case errors.Is(err, store.ErrReadOnly):
		return l.T("tui.common.err.read_only")
	case errors.Is(err, store.ErrLocked):
		return l.T("tui.common.err.locked")
	case errors.Is(err, record.ErrInvalid):
		return strings.TrimPrefix(err.Error(), record.ErrInvalid.Error()+": ")
	}
	return err.Error()
}

func (n *noteEdit) View() string {
	st, l := n.env.st, n.env.l
	what := l.T("tui.noteedit.title.new")
	switch {
	case n.merge:
		what = l.N("tui.noteedit.combining", len(n.draft.Base))
	case n.draft.NoteID != "":
		what = l.T("tui.noteedit.editing")
	}
	// The draft state: saved only when the vault holds what is on screen.
	state := n.as.state(n.note())
	head := spread(st.Title.Render(what+sepDot+n.ref), st.Muted.Render(state), n.w)
	msg := ""
	switch {
	case n.confirm:
		msg = st.Warn.Render(l.T("tui.common.confirm_discard"))
	case n.errText != "":
		msg = st.Error.Render(n.errText)
	case n.as.err != nil:
		msg = st.Error.Render(l.T("tui.noteedit.draft_failed", "Err", n.env.writeErr(n.as.err)))
	}
	return head + "\n" + fitLine(msg, n.w) + "\n" + n.f.view(n.h-2)
}
