package tui

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

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

	saved     record.Note // what the vault holds as this draft
	hasSaved  bool        // a draft of this note is in the vault
	ticking   bool        // a draft tick is on its way
	saving    bool
	savedAt   time.Time // when the draft was last sealed
	errText   string    // why the last save or leave failed
	draftErr  string    // why the last autosave failed
	confirm   bool      // asking whether to discard the draft
	committed bool
	busy      bool    // a save, leave or discard is under way: keys wait
	queued    tea.Cmd // that write, held until the autosave under way ends
	started   bool
	w, h      int
}

var editorIDs atomic.Int64

type (
	// draftTickMsg is the autosave timer of editor id.
	draftTickMsg struct{ id int64 }
	// draftSavedMsg reports a draft save (or deletion) of editor id.
	draftSavedMsg struct {
		id   int64
		note record.Note
		err  error
	}
	// draftLeftMsg reports the draft save made when leaving the editor.
	draftLeftMsg struct {
		id  int64
		err error
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

func newNoteEdit(e *env, msg editNoteMsg) *noteEdit {
	d := msg.Draft
	if d.Key == "" {
		d.Key = store.DraftKey(d.CaseID, d.NoteID)
	}
	n := &noteEdit{env: e, id: editorIDs.Add(1), ref: msg.Ref, draft: d, merge: len(d.Base) > 1}
	n.hasSaved = !d.Saved.IsZero()
	n.saved = d.Note
	f := newForm(e)
	kind := d.Note.Kind
	if kind == "" {
		kind = "visit"
	}
	n.kind = f.choice("Kind", record.NoteKinds, kind)
	n.date = f.date("Date", d.Note.Date)
	n.clock = f.clock("Time", d.Note.Time)
	n.place = f.text("Place", d.Note.Place, "")
	n.attendees = f.text("Attendees", strings.Join(d.Note.Attendees, ", "), "comma-separated")
	n.tx = f.area("Note", d.Note.Text, "", 0)
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
		return "Combine versions"
	case n.draft.NoteID != "":
		return "Edit note"
	}
	return "New note"
}

func (n *noteEdit) Typing() bool { return true }

func (n *noteEdit) SetSize(w, h int) {
	n.w, n.h = w, h
	n.f.setSize(w, h-3)
}

func (n *noteEdit) ShortHelp() []key.Binding {
	k := n.env.keys
	if n.confirm {
		return []key.Binding{k.Yes, k.No}
	}
	return []key.Binding{k.Save, k.NextField, withHelp(k.Cancel, "leave (keeps draft)"), k.Discard}
}

func (n *noteEdit) FullHelp() [][]key.Binding {
	k := n.env.keys
	return [][]key.Binding{
		{k.Save, withHelp(k.Cancel, "leave, keeping the draft"), k.Discard},
		formHelp(k),
	}
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
	if n.committed {
		return store.Draft{}, false
	}
	d := n.current()
	if n.hasSaved && sameNote(d.Note, n.saved) {
		return d, false
	}
	if !n.hasSaved && (blank(d.Note) || (n.draft.NoteID != "" && sameNote(d.Note, n.saved))) {
		return d, false // nothing typed yet
	}
	return d, true
}

// persistDraft seals d into the vault, or removes the draft when the user
// emptied the note.
func persistDraft(v *store.Vault, d store.Draft) error {
	if blank(d.Note) {
		err := v.DeleteDraft(d.Key)
		return err
	}
	return v.SaveDraft(d)
}

func (n *noteEdit) saveDraftCmd() tea.Cmd {
	d, id, v := n.current(), n.id, n.env.vault
	return n.env.io(func() tea.Msg {
		return draftSavedMsg{id: id, note: d.Note, err: persistDraft(v, d)}
	})
}

func (n *noteEdit) tick() tea.Cmd {
	if n.ticking {
		return nil
	}
	n.ticking = true
	id := n.id
	return tea.Tick(n.env.draftDelay, func(time.Time) tea.Msg { return draftTickMsg{id} })
}

func (n *noteEdit) Update(msg tea.Msg) (component, tea.Cmd) {
	k := n.env.keys
	switch msg := msg.(type) {
	case draftTickMsg:
		if msg.id != n.id {
			return n, nil
		}
		n.ticking = false
		if n.busy {
			return n, nil
		}
		if n.saving {
			return n, n.tick() // one save at a time: try again shortly
		}
		if _, ok := n.PendingDraft(); !ok {
			return n, nil
		}
		n.saving = true
		return n, n.saveDraftCmd()
	case draftSavedMsg:
		if msg.id != n.id {
			return n, nil
		}
		n.saving = false
		if msg.err != nil {
			n.env.logErr("saving draft", msg.err)
			n.draftErr = "Draft not saved: " + writeError(msg.err) + ". Your text is still here."
		} else {
			n.saved, n.hasSaved = msg.note, !blank(msg.note)
			n.draftErr = ""
			n.savedAt = n.env.now()
		}
		if n.queued != nil {
			cmd := n.queued
			n.queued = nil
			return n, cmd
		}
		if _, ok := n.PendingDraft(); ok && !n.busy {
			return n, n.tick()
		}
		return n, nil
	case draftLeftMsg:
		if msg.id != n.id {
			return n, nil
		}
		n.busy = false
		if msg.err != nil {
			n.errText = "Could not keep the draft: " + writeError(msg.err) + ". Save with ctrl+s, or try again."
			return n, nil
		}
		return n, back("Draft kept: it will be offered when you come back to this case.", false)
	case noteSavedMsg:
		if msg.id != n.id {
			return n, nil
		}
		n.busy = false
		if msg.err != nil {
			n.committed = false
			n.env.logErr("saving note", msg.err)
			n.errText = "Not saved: " + writeError(msg.err) + ". Your text is kept here."
			return n, nil
		}
		what := "Note saved."
		if n.merge {
			what = "Conflict resolved: the combined note was saved."
		}
		return n, cmdOf(backMsg{Notice: what, Changed: true, Focus: msg.noteID})
	case draftDiscardedMsg:
		if msg.id != n.id {
			return n, nil
		}
		n.busy = false
		if msg.err != nil {
			n.errText = "Could not discard the draft: " + writeError(msg.err)
			return n, nil
		}
		n.committed = true // nothing left to keep
		return n, back("Draft discarded.", false)
	case tea.KeyPressMsg:
		if n.busy {
			return n, nil // what is on screen is being written
		}
		if n.confirm {
			switch {
			case key.Matches(msg, k.Yes):
				n.confirm = false
				v, dk, id := n.env.vault, n.draft.Key, n.id
				return n, n.write(func() tea.Msg { return draftDiscardedMsg{id: id, err: v.DeleteDraft(dk)} })
			case key.Matches(msg, k.No):
				n.confirm = false
			}
			return n, nil
		}
		switch {
		case key.Matches(msg, k.Save):
			return n, n.save()
		case key.Matches(msg, k.Cancel):
			if _, ok := n.PendingDraft(); !ok {
				if n.hasSaved {
					return n, back("Draft kept: it will be offered when you come back to this case.", false)
				}
				return n, back("", false)
			}
			d, id, v := n.current(), n.id, n.env.vault
			return n, n.write(func() tea.Msg { return draftLeftMsg{id: id, err: persistDraft(v, d)} })
		case key.Matches(msg, k.Discard):
			n.confirm = true
			return n, nil
		}
	}
	cmd, changed := n.f.update(msg)
	if changed {
		n.errText = ""
		if _, ok := n.PendingDraft(); ok {
			return n, tea.Batch(cmd, n.tick())
		}
	}
	return n, cmd
}

// write runs a final write of this draft (save, leave, discard), after the
// autosave under way if there is one, so the two never overtake each other:
// an autosave landing after a commit would bring the draft back.
func (n *noteEdit) write(f func() tea.Msg) tea.Cmd {
	n.busy = true
	cmd := n.env.io(f)
	if n.saving {
		n.queued = cmd
		return nil
	}
	return cmd
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
	n.errText, n.committed = "", true
	v, id := n.env.vault, n.id
	return n.write(func() tea.Msg {
		noteID, err := v.CommitDraft(d)
		return noteSavedMsg{id: id, noteID: noteID, err: err}
	})
}

// writeError says why a write failed, in words for the user.
func writeError(err error) string {
	switch {
	case errors.Is(err, store.ErrDiskFull):
		return "the disk is full"
	case errors.Is(err, store.ErrReadOnly):
		return "the vault is read-only"
	case errors.Is(err, store.ErrLocked):
		return "the vault is locked"
	case errors.Is(err, record.ErrInvalid):
		return strings.TrimPrefix(err.Error(), record.ErrInvalid.Error()+": ")
	}
	return err.Error()
}

func (n *noteEdit) View() string {
	st := n.env.st
	what := "New note"
	switch {
	case n.merge:
		what = "Combining " + itoa(len(n.draft.Base)) + " versions of a note — saving resolves the conflict"
	case n.draft.NoteID != "":
		what = "Editing a note"
	}
	// The draft state: saved only when the vault holds what is on screen.
	state := ""
	if _, pending := n.PendingDraft(); pending {
		state = "● not saved yet"
	} else if n.hasSaved && !n.savedAt.IsZero() {
		state = "Draft saved " + n.savedAt.Format("15:04")
	} else if n.hasSaved {
		state = "Draft restored"
	}
	head := spread(st.Title.Render(what+" · "+n.ref), st.Muted.Render(state), n.w)
	msg := ""
	switch {
	case n.confirm:
		msg = st.Warn.Render("Discard this draft for good? y / n")
	case n.errText != "":
		msg = st.Error.Render(n.errText)
	case n.draftErr != "":
		msg = st.Error.Render(n.draftErr)
	}
	return head + "\n" + fitLine(msg, n.w) + "\n" + n.f.view(n.h-2)
}
