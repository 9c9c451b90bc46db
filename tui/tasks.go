package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// tasks lists a case's tasks and visits: add one with a due date, tick it
// done (or undo), delete it. What is typed in the form of a new task is
// kept as a draft (formDraft) until it is added or the form is left.
type tasks struct {
	env     *env
	caseID  string
	ref     string
	items   []store.Item[record.Task]
	loaded  bool
	nav     listNav
	adding  *form
	dr      *formDraft // the adding form's draft
	title   *field
	kind    *field
	due     *field
	confirm bool // delete the selected task?
	errText string
	busy    bool
	focusID string // a task to put the cursor on once loaded
	w, h    int
}

type (
	// tasksLoadedMsg carries a case's tasks.
	tasksLoadedMsg struct {
		ref   string
		items []store.Item[record.Task]
		err   error
	}
	// taskSavedMsg reports AddTask, UpdateTask or Delete.
	taskSavedMsg struct {
		notice string
		err    error
	}
)

func newTasks(e *env, caseID string) *tasks { return &tasks{env: e, caseID: caseID} }

func (t *tasks) Init() tea.Cmd {
	v, id := t.env.vault, t.caseID
	return t.env.io(func() tea.Msg {
		cv, err := v.Case(id)
		if err != nil {
			return tasksLoadedMsg{err: err}
		}
		items, err := v.Tasks(id)
		sortTasks(items)
		return tasksLoadedMsg{ref: cv.Value.Ref, items: items, err: err}
	})
}

func (t *tasks) Title() string { return t.env.l.T("tui.tasks.title") }

func (t *tasks) Typing() bool { return t.adding != nil }

func (t *tasks) SetSize(w, h int) {
	t.w, t.h = w, h
	if t.adding != nil {
		t.adding.setSize(w, 4)
	}
	t.nav.SetHeight(t.listHeight())
}

// formHeight is the rows the form adding a task takes (its heading, then
// its fields), 0 when none is open.
func (t *tasks) formHeight() int {
	if t.adding == nil {
		return 0
	}
	return 1 + max(4, t.adding.lines())
}

// listHeight is the rows of tasks shown: the screen less the title, the
// line under it and the form adding a task, if open.
func (t *tasks) listHeight() int { return max(1, t.h-2-t.formHeight()) }

func (t *tasks) ShortHelp() []key.Binding {
	k := t.env.keys.tasks
	switch {
	case t.confirm:
		return k.Confirm.ShortHelp()
	case t.adding != nil:
		return k.Form.ShortHelp()
	}
	return k.ShortHelp()
}

func (t *tasks) FullHelp() [][]key.Binding {
	return t.env.keys.tasks.FullHelp()
}

func (t *tasks) startAdding() tea.Cmd {
	f, l := newForm(t.env), t.env.l
	kinds := []string{"visit", "task"} // i18n: a record's values
	t.title = f.text(l.T("tui.tasks.field.title"), "", l.T("tui.tasks.field.title_hint")).keyed("Title")
	t.kind = f.choice(l.T("tui.tasks.field.kind"), kinds, kinds[0]).keyed("Kind")
	t.due = f.date(l.T("tui.tasks.field.due"), "").keyed("Due")
	f.setSize(t.w, 4)
	t.adding = f
	t.dr = newFormDraft(t.env, store.DraftTask, t.caseID, f)
	return tea.Batch(f.start(), t.dr.find())
}

// PendingDraft is the adding form's draft to seal at a quit or a lock.
func (t *tasks) PendingDraft() (store.Draft, bool) {
	if t.adding == nil || t.dr == nil {
		return store.Draft{}, false
	}
	return t.dr.PendingDraft()
}

func (t *tasks) selected() *store.Item[record.Task] {
	if t.nav.Cursor() >= len(t.items) {
		return nil
	}
	return &t.items[t.nav.Cursor()]
}

func (t *tasks) Update(msg tea.Msg) (component, tea.Cmd) {
	k := t.env.keys.tasks
	if t.dr != nil {
		if cmd, ok := t.dr.update(msg); ok {
			return t, cmd
		}
	}
	switch msg := msg.(type) {
	case tasksLoadedMsg:
		t.loaded = true
		if msg.err != nil {
			t.errText = t.env.l.T("tui.tasks.load_failed", "Err", msg.err.Error())
			return t, nil
		}
		t.ref, t.items = msg.ref, msg.items
		cur := t.nav.Cursor()
		for i, it := range t.items {
			if t.focusID != "" && it.ID == t.focusID {
				cur = i
			}
		}
		t.focusID = ""
		t.nav.Reload(len(t.items), cur)
		return t, nil
	case taskSavedMsg:
		t.busy = false
		var cmd tea.Cmd
		if t.adding != nil && t.dr != nil {
			cmd = t.dr.ended(msg.err)
		}
		if msg.err != nil {
			t.env.logErr("saving task", msg.err)
			t.errText = t.env.l.T("tui.common.not_saved", "Err", t.env.writeErr(msg.err))
			return t, cmd
		}
		t.adding, t.dr = nil, nil
		return t, tea.Batch(t.Init(), notice(msg.notice), cmdOf(changedMsg{}))
	case formDraftDiscardedMsg:
		if t.dr == nil || msg.id != t.dr.id {
			return t, nil
		}
		t.dr.ended(msg.err)
		if msg.err != nil {
			t.errText = t.env.l.T("tui.common.discard_failed", "Err", t.env.writeErr(msg.err))
			return t, nil
		}
		t.adding, t.dr = nil, nil
		return t, nil
	case tea.KeyPressMsg:
		if t.dr != nil && t.dr.as.writing() {
			return t, nil // what is on screen is being written
		}
		t.errText = ""
		if t.confirm {
			switch {
			case key.Matches(msg, k.Confirm.Yes):
				t.confirm = false
				if it := t.selected(); it != nil {
					v, caseID, id := t.env.vault, t.caseID, it.ID
					t.busy = true
					done := t.env.l.T("tui.tasks.deleted")
					return t, t.env.io(func() tea.Msg { return taskSavedMsg{notice: done, err: v.Delete(caseID, id)} })
				}
			case key.Matches(msg, k.Confirm.No):
				t.confirm = false
			}
			return t, nil
		}
		if t.adding != nil {
			switch {
			case key.Matches(msg, k.Form.Back):
				if t.dr.changed() {
					id := t.dr.id
					return t, t.dr.discard(func(err error) tea.Msg { return formDraftDiscardedMsg{id: id, err: err} })
				}
				t.adding, t.dr = nil, nil
				return t, nil
			case key.Matches(msg, k.Form.Save), msg.String() == "enter" && t.adding.focus == len(t.adding.fields)-1: // i18n: a key's name
				return t, t.add()
			}
			cmd, changed := t.adding.update(msg)
			if changed {
				cmd = tea.Batch(cmd, t.dr.edited())
			}
			return t, cmd
		}
		switch {
		case key.Matches(msg, k.Back):
			return t, back("", false)
		case t.nav.Key(msg, k.navKeys):
		case key.Matches(msg, k.AddTask):
			return t, t.startAdding()
		case key.Matches(msg, k.ToggleDone), key.Matches(msg, k.Open):
			it := t.selected()
			if it == nil || t.busy {
				return t, nil
			}
			if it.Conflict {
				return t, cmdOf(openConflict(t.caseID, it.ID, record.KindTask))
			}
			if key.Matches(msg, k.Open) {
				return t, nil
			}
			nt := it.Value
			nt.Done = !nt.Done
			nt.DoneOn = ""
			if nt.Done {
				nt.DoneOn = t.env.today()
			}
			v, caseID, id, parents := t.env.vault, t.caseID, it.ID, []record.RevID{it.Rev}
			word := t.env.l.T("tui.tasks.marked_done")
			if !nt.Done {
				word = t.env.l.T("tui.tasks.marked_not_done")
			}
			t.busy = true
			return t, t.env.io(func() tea.Msg { return taskSavedMsg{notice: word, err: v.UpdateTask(caseID, id, parents, nt)} })
		case key.Matches(msg, k.DeleteTask):
			if t.selected() != nil {
				t.confirm = true
			}
		}
	}
	return t, nil
}

func (t *tasks) add() tea.Cmd {
	nt := record.Task{Title: strings.TrimSpace(t.title.value()), Kind: t.kind.value()}
	due, err := t.adding.read(t.due)
	if err != nil {
		cmd, _ := t.adding.focusBad(err)
		return cmd
	}
	nt.Due = record.Date(due)
	if err := nt.Validate(); err != nil {
		t.errText = t.env.writeErr(err)
		return nil
	}
	t.busy = true
	v, caseID, dk := t.env.vault, t.caseID, t.dr.draft.Key
	added := t.env.l.T("tui.tasks.added", "Title", nt.Title)
	return t.dr.commit(func() tea.Msg {
		return taskSavedMsg{notice: added, err: v.Update(func(tx *store.Tx) error {
			if _, err := tx.AddTask(caseID, nt); err != nil {
				return err
			}
			return tx.DeleteDraft(dk) // the draft is now the task
		})}
	})
}

func (t *tasks) View() string {
	st, l := t.env.st, t.env.l
	today := t.env.today()
	var b strings.Builder
	b.WriteString(fitLine(st.Title.Render(l.T("tui.tasks.title")+sepDot+t.ref), t.w) + "\n")
	switch {
	case t.confirm:
		b.WriteString(st.Warn.Render(l.T("tui.tasks.confirm_delete")) + "\n")
	case t.errText != "":
		b.WriteString(st.Error.Render(t.errText) + "\n")
	case t.adding != nil && t.dr.line(st) != "":
		b.WriteString(fitLine(t.dr.line(st), t.w) + "\n")
	default:
		b.WriteString("\n")
	}
	formH := t.formHeight()
	// The form grows and goes as it is used: the list gets the rest.
	t.nav.SetHeight(t.listHeight())
	if !t.loaded {
		b.WriteString(st.Muted.Render(l.T("tui.agenda.loading")) + "\n")
	} else if len(t.items) == 0 {
		b.WriteString(l.T("tui.tasks.none") + "\n")
	}
	start, end := t.nav.Visible()
	for i := start; i < end; i++ {
		line := taskLine(t.env, t.items[i], today)
		if t.nav.Selected(i) && t.adding == nil {
			line = st.Selected.Render(fitLine("▸"+ansiStrip(line)[1:], t.w)) // i18n: the cursor
		}
		b.WriteString(fitLine(line, t.w) + "\n")
	}
	out := b.String()
	if t.adding != nil {
		lines := strings.Count(out, "\n")
		for ; lines < t.h-formH; lines++ {
			out += "\n"
		}
		out += st.Section.Render(l.T("tui.tasks.new")) + st.Muted.Render("  "+l.T("tui.tasks.new_keys")) + "\n" + t.adding.view(formH-1)
	}
	return out
}
