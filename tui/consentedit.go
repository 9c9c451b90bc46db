package tui

import (
	"cmp"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// consentEdit records one consent decision: who, for what, given, refused
// or withdrawn, with a capacity note and a review date. Decisions are
// events: a new one supersedes the last of the same person and scope.
// What is typed is kept as a draft (formDraft) until it is saved or
// discarded.
type consentEdit struct {
	env     *env
	caseID  string
	ref     string
	loaded  bool
	f       *form
	person  *field
	other   *field
	scope   *field
	dec     *field
	date    *field
	cap     *field
	review  *field
	errText string
	saving  bool
	confirm bool       // discard the input?
	dr      *formDraft // once loaded
	w, h    int
}

// otherPerson is the choice of a person not in the case (a value the form
// and its draft keep; choiceWord shows it in the locale's words).
const otherPerson = "someone else…" // i18n: a choice's value, shown as tui.consentedit.someone_else

type (
	// consentCaseMsg carries the case whose people can consent.
	consentCaseMsg struct {
		cv  store.CaseView
		err error
	}
	// consentSavedMsg reports AddConsent.
	consentSavedMsg struct{ err error }
)

func newConsentEdit(e *env, caseID string) *consentEdit {
	return &consentEdit{env: e, caseID: caseID}
}

func (c *consentEdit) Init() tea.Cmd {
	if c.loaded {
		return c.f.setFocus(c.f.focus)
	}
	v, id := c.env.vault, c.caseID
	return c.env.io(func() tea.Msg {
		cv, err := v.Case(id)
		return consentCaseMsg{cv: cv, err: err}
	})
}

func (c *consentEdit) build(cv store.CaseView) {
	c.ref = cv.Value.Ref
	var people []string
	for _, p := range cv.Value.People {
		people = append(people, p.Name)
	}
	people = append(people, otherPerson)
	f, l := newForm(c.env), c.env.l
	c.person = f.choice(l.T("tui.consentedit.field.person"), people, people[0]).keyed("Person")
	c.other = f.text(l.T("tui.consentedit.field.name"), "", l.T("tui.consentedit.field.name_hint")).keyed("Name")
	c.other.hidden = func() bool { return c.person.value() != otherPerson }
	c.scope = f.checks(l.T("tui.consentedit.field.scope"), record.ConsentScopes, nil).keyed("Share with")
	given := "given" // i18n: a record's value
	c.dec = f.choice(l.T("tui.consentedit.field.decision"), record.Decisions, given).keyed("Decision")
	c.date = f.date(l.T("tui.noteedit.field.date"), c.env.today()).keyed("Date")
	c.cap = f.area(l.T("tui.consentedit.field.capacity"), "", l.T("tui.consentedit.field.capacity_hint"), 2).keyed("Capacity")
	c.review = f.date(l.T("tui.consentedit.field.review"), "").keyed("Review by")
	c.f = f
	c.f.setSize(c.w, c.h-2)
	c.dr = newFormDraft(c.env, store.DraftConsent, c.caseID, f)
}

// PendingDraft is the form's draft to seal at a quit or a lock.
func (c *consentEdit) PendingDraft() (store.Draft, bool) {
	if c.dr == nil {
		return store.Draft{}, false
	}
	return c.dr.PendingDraft()
}

func (c *consentEdit) Title() string { return c.env.l.T("tui.consentedit.title") }

func (c *consentEdit) Typing() bool { return true }

func (c *consentEdit) SetSize(w, h int) {
	c.w, c.h = w, h
	if c.f != nil {
		c.f.setSize(w, h-2)
	}
}

func (c *consentEdit) ShortHelp() []key.Binding {
	k := c.env.keys.consentEdit
	if c.confirm {
		return k.Confirm.ShortHelp()
	}
	return k.ShortHelp()
}

func (c *consentEdit) FullHelp() [][]key.Binding {
	return c.env.keys.consentEdit.FullHelp()
}

func (c *consentEdit) Update(msg tea.Msg) (component, tea.Cmd) {
	k := c.env.keys.consentEdit
	if c.dr != nil {
		if cmd, ok := c.dr.update(msg); ok {
			return c, cmd
		}
	}
	switch msg := msg.(type) {
	case consentCaseMsg:
		if msg.err != nil {
			c.errText = c.env.l.T("tui.common.case_load_failed", "Err", msg.err.Error())
			return c, nil
		}
		c.build(msg.cv)
		c.loaded = true
		return c, tea.Batch(c.f.start(), c.dr.find())
	case consentSavedMsg:
		c.saving = false
		cmd := c.dr.ended(msg.err)
		if msg.err != nil {
			c.env.logErr("saving consent", msg.err)
			c.errText = c.env.l.T("tui.common.not_saved", "Err", c.env.writeErr(msg.err))
			return c, cmd
		}
		return c, back(c.env.l.T("tui.consentedit.recorded"), true)
	case formDraftDiscardedMsg:
		if c.dr == nil || msg.id != c.dr.id {
			return c, nil
		}
		c.dr.ended(msg.err)
		if msg.err != nil {
			c.errText = c.env.l.T("tui.common.discard_failed", "Err", c.env.writeErr(msg.err))
			return c, nil
		}
		return c, back(c.env.l.T("tui.consentedit.discarded"), false)
	case tea.KeyPressMsg:
		if c.dr != nil && c.dr.as.writing() {
			return c, nil // what is on screen is being written
		}
		if c.confirm {
			switch {
			case key.Matches(msg, k.Confirm.Yes):
				c.confirm = false
				id := c.dr.id
				return c, c.dr.discard(func(err error) tea.Msg { return formDraftDiscardedMsg{id: id, err: err} })
			case key.Matches(msg, k.Confirm.No):
				c.confirm = false
			}
			return c, nil
		}
		switch {
		case key.Matches(msg, k.Back):
			if c.dr != nil && c.dr.changed() {
				c.confirm = true
				return c, nil
			}
			return c, back("", false)
		case key.Matches(msg, k.Save) && c.loaded && !c.saving:
			return c, c.save()
		}
	}
	if !c.loaded {
		return c, nil
	}
	cmd, changed := c.f.update(msg)
	if changed {
		cmd = tea.Batch(cmd, c.dr.edited())
	}
	return c, cmd
}

func (c *consentEdit) save() tea.Cmd {
	person := c.person.value()
	if person == otherPerson {
		person = strings.TrimSpace(c.other.value())
	}
	con := record.Consent{
		Person:       person,
		Scope:        c.scope.values(),
		Decision:     c.dec.value(),
		CapacityNote: strings.TrimSpace(c.cap.value()),
	}
	date, err := c.f.read(c.date)
	review, rerr := c.f.read(c.review) // both marked at once
	if err = cmp.Or(err, rerr); err != nil {
		c.errText = ""
		cmd, _ := c.f.focusBad(err)
		return cmd
	}
	con.Date, con.ReviewDate = record.Date(date), record.Date(review)
	if con.Date == "" {
		con.Date = c.env.today()
	}
	if err := con.Validate(); err != nil {
		c.errText = c.env.writeErr(err)
		return nil
	}
	c.errText, c.saving = "", true
	v, id, dk := c.env.vault, c.caseID, c.dr.draft.Key
	return c.dr.commit(func() tea.Msg {
		return consentSavedMsg{err: v.Update(func(tx *store.Tx) error {
			if _, err := tx.AddConsent(id, con); err != nil {
				return err
			}
			return tx.DeleteDraft(dk) // the draft is now the decision
		})}
	})
}

func (c *consentEdit) View() string {
	st, l := c.env.st, c.env.l
	if !c.loaded {
		if c.errText != "" {
			return st.Error.Render(c.errText)
		}
		return st.Muted.Render(l.T("tui.common.case_loading"))
	}
	msg := st.Muted.Render(l.T("tui.consentedit.never_edited"))
	if line := c.dr.line(st); line != "" {
		msg = line
	}
	switch {
	case c.confirm:
		msg = st.Warn.Render(l.T("tui.consentedit.confirm_discard"))
	case c.errText != "":
		msg = st.Error.Render(c.errText)
	}
	return spread(st.Title.Render(l.T("tui.consentedit.heading", "Ref", c.ref)), st.Muted.Render(c.dr.state()), c.w) + "\n" + fitLine(msg, c.w) + "\n" + c.f.view(c.h-2)
}
