package tui

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/when"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// caseEdit is the form for a new case, an edit of one, or the combination
// of a case's versions in conflict (saving then writes a merge). What is
// typed in a new case or an edit is kept as a draft (formDraft) until it
// is saved or discarded; combining versions keeps none (the versions it
// combines may change before it is finished).
type caseEdit struct {
	env     *env
	caseID  string // "" for a new case
	parents []record.RevID
	merge   bool
	loaded  bool
	orig    record.Case
	f       *form
	fs      caseFields
	errText string
	confirm bool // discard changes?
	dirty   bool
	saving  bool
	dr      *formDraft // nil while loading, and when combining versions
	found   bool       // the draft was looked for
	w, h    int
}

type caseFields struct {
	ref, subject, dob, address, status, risk, team, workers, nextVisit *field
	people, court, summary                                             *field
	children, complexity, stage, travel                                *field
}

type (
	// caseFormLoadedMsg carries the case to edit (sent by Init).
	caseFormLoadedMsg struct {
		cv  store.CaseView
		err error
	}
	// caseSavedMsg reports CreateCase or UpdateCase.
	caseSavedMsg struct {
		caseID string
		isNew  bool
		err    error
	}
)

// newCaseEdit is the case form of caseID, or of a new case when caseID is
// "". A merge, when not nil, carries every version of the case in conflict:
// saving writes a merge.
func newCaseEdit(e *env, caseID string, merge *store.CaseView) *caseEdit {
	c := &caseEdit{env: e, caseID: caseID}
	switch {
	case merge != nil:
		c.merge = true
		c.parents = merge.Parents()
		c.build(merge.Value)
		c.loaded = true
	case caseID == "":
		c.build(record.Case{Status: "open", Risk: "medium", Opened: e.today()}) // i18n: a record's values
		c.loaded = true
		c.dr = newFormDraft(e, store.DraftCase, "", c.f)
	}
	return c
}

// PendingDraft is the form's draft to seal at a quit or a lock.
func (c *caseEdit) PendingDraft() (store.Draft, bool) {
	if c.dr == nil {
		return store.Draft{}, false
	}
	return c.dr.PendingDraft()
}

// findDraft looks for the form's draft, once.
func (c *caseEdit) findDraft() tea.Cmd {
	if c.dr == nil || c.found {
		return nil
	}
	c.found = true
	return c.dr.find()
}

func (c *caseEdit) build(v record.Case) {
	c.orig = v
	f, l := newForm(c.env), c.env.l
	f.labelW = 16
	fs := &c.fs
	fs.ref = f.text(l.T("tui.caseedit.field.ref"), v.Ref, l.T("tui.caseedit.field.ref_hint")).keyed("Reference")
	fs.subject = f.text(l.T("tui.caseedit.field.subject"), v.Subject, l.T("tui.caseedit.field.subject_hint")).keyed("Subject")
	fs.dob = f.date(l.T("tui.caseedit.field.dob"), v.DOB).keyed("Date of birth")
	fs.address = f.text(l.T("tui.caseedit.field.address"), v.Address, "").keyed("Address")
	fs.status = f.choice(l.T("tui.caseedit.field.status"), choices(record.CaseStatuses), string(v.Status)).keyed("Status")
	fs.risk = f.choice(l.T("tui.caseedit.field.risk"), record.Risks, v.Risk).keyed("Risk")
	fs.nextVisit = f.date(l.T("tui.caseedit.field.next_visit"), v.NextVisit).keyed("Next visit")
	fs.team = f.text(l.T("tui.caseedit.field.team"), v.Team, "").keyed("Team")
	fs.workers = f.text(l.T("tui.caseedit.field.workers"), strings.Join(v.Workers, ", "), l.T("tui.noteedit.field.attendees_hint")).keyed("Workers")
	var people []string
	for _, p := range v.People {
		people = append(people, strings.Join(trimEmpty([]string{p.Name, p.Role, string(p.DOB), p.Phone}), " | "))
	}
	fs.people = f.area(l.T("tui.caseedit.field.people"), strings.Join(people, "\n"), l.T("tui.caseedit.field.people_hint"), 4).keyed("People")
	var courts []string
	for _, cd := range v.CourtDates {
		courts = append(courts, strings.Join(trimEmpty([]string{string(cd.Date), cd.Hearing, cd.Court}), " | "))
	}
	fs.court = f.area(l.T("tui.caseedit.field.court"), strings.Join(courts, "\n"), l.T("tui.caseedit.field.court_hint"), 2).keyed("Court dates")
	fs.summary = f.area(l.T("tui.caseedit.field.summary"), v.Summary, "", 3).keyed("Summary")
	fs.children = f.text(l.T("tui.caseedit.field.children"), numOrEmpty(v.Weights.Children), l.T("tui.caseedit.field.children_hint")).keyed("Children")
	cx := ""
	if v.Weights.Complexity > 0 {
		cx = strconv.Itoa(v.Weights.Complexity)
	}
	fs.complexity = f.choice(l.T("tui.caseedit.field.complexity"), []string{"", "1", "2", "3"}, cx).keyed("Complexity")
	fs.stage = f.choice(l.T("tui.caseedit.field.stage"), append([]string{""}, record.CourtStages...), v.Weights.CourtStage).keyed("Court stage")
	fs.travel = f.text(l.T("tui.caseedit.field.travel"), numOrEmpty(v.Weights.TravelMins), l.T("tui.caseedit.field.travel_hint")).keyed("Travel (mins)")
	c.f = f
	c.f.setSize(c.w, c.h-2)
}

func trimEmpty(xs []string) []string {
	for len(xs) > 0 && strings.TrimSpace(xs[len(xs)-1]) == "" {
		xs = xs[:len(xs)-1]
	}
	return xs
}

func numOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func (c *caseEdit) Init() tea.Cmd {
	if !c.loaded {
		v, id := c.env.vault, c.caseID
		return c.env.io(func() tea.Msg {
			cv, err := v.Case(id)
			return caseFormLoadedMsg{cv: cv, err: err}
		})
	}
	return tea.Batch(c.f.setFocus(c.f.focus), c.findDraft())
}

func (c *caseEdit) Title() string {
	switch {
	case c.merge:
		return c.env.l.T("tui.noteedit.title.merge")
	case c.caseID == "":
		return c.env.l.T("tui.caseedit.title.new")
	}
	return c.env.l.T("tui.caseedit.title.edit")
}

func (c *caseEdit) Typing() bool { return true }

func (c *caseEdit) SetSize(w, h int) {
	c.w, c.h = w, h
	if c.f != nil {
		c.f.setSize(w, h-2)
	}
}

func (c *caseEdit) ShortHelp() []key.Binding {
	k := c.env.keys.caseEdit
	if c.confirm {
		return k.Confirm.ShortHelp()
	}
	return k.ShortHelp()
}

func (c *caseEdit) FullHelp() [][]key.Binding {
	return c.env.keys.caseEdit.FullHelp()
}

func (c *caseEdit) Update(msg tea.Msg) (component, tea.Cmd) {
	k := c.env.keys.caseEdit
	if c.dr != nil {
		if cmd, ok := c.dr.update(msg); ok {
			return c, cmd
		}
	}
	switch msg := msg.(type) {
	case caseFormLoadedMsg:
		if msg.err != nil {
			c.errText = c.env.l.T("tui.common.case_load_failed", "Err", msg.err.Error())
			return c, nil
		}
		if msg.cv.Conflict {
			// Editing one version of a conflict would hide the others.
			return c, tea.Sequence(back("", false), cmdOf(openConflict(c.caseID, c.caseID, record.KindCase)))
		}
		c.parents = []record.RevID{msg.cv.Rev}
		c.build(msg.cv.Value)
		c.loaded = true
		c.dr = newFormDraft(c.env, store.DraftCase, c.caseID, c.f)
		return c, tea.Batch(c.f.start(), c.findDraft())
	case formDraftDiscardedMsg:
		if c.dr == nil || msg.id != c.dr.id {
			return c, nil
		}
		c.dr.ended(msg.err)
		if msg.err != nil {
			c.errText = c.env.l.T("tui.common.discard_failed", "Err", c.env.writeErr(msg.err))
			return c, nil
		}
		return c, back(c.env.l.T("tui.caseedit.discarded"), false)
	case caseSavedMsg:
		c.saving = false
		if msg.err != nil {
			c.env.logErr("saving case", msg.err)
			c.errText = c.env.l.T("tui.caseedit.not_saved", "Err", c.env.writeErr(msg.err))
			if c.dr != nil {
				return c, c.dr.ended(msg.err)
			}
			return c, nil
		}
		if c.dr != nil {
			c.dr.ended(nil)
		}
		if msg.isNew {
			return c, tea.Sequence(back(c.env.l.T("tui.caseedit.created"), true), cmdOf(openCase(msg.caseID, "")))
		}
		if c.merge {
			return c, back(c.env.l.T("tui.caseedit.merged"), true)
		}
		return c, back(c.env.l.T("tui.caseedit.saved"), true)
	case tea.KeyPressMsg:
		if !c.loaded {
			if key.Matches(msg, k.Back) {
				return c, back("", false)
			}
			return c, nil
		}
		if c.dr != nil && c.dr.as.writing() {
			return c, nil // what is on screen is being written
		}
		if c.confirm {
			switch {
			case key.Matches(msg, k.Confirm.Yes):
				c.confirm = false
				if c.dr != nil {
					id := c.dr.id
					return c, c.dr.discard(func(err error) tea.Msg { return formDraftDiscardedMsg{id: id, err: err} })
				}
				return c, back(c.env.l.T("tui.caseedit.discarded"), false)
			case key.Matches(msg, k.Confirm.No):
				c.confirm = false
			}
			return c, nil
		}
		switch {
		case key.Matches(msg, k.Save):
			if c.saving {
				return c, nil
			}
			return c, c.save()
		case key.Matches(msg, k.Back):
			if c.dirty || c.dr != nil && c.dr.changed() {
				c.confirm = true
				return c, nil
			}
			return c, back("", false)
		}
	}
	if !c.loaded {
		return c, nil
	}
	cmd, changed := c.f.update(msg)
	if changed {
		c.dirty = true
		if c.dr != nil {
			cmd = tea.Batch(cmd, c.dr.edited())
		}
	}
	return c, cmd
}

// value builds the case from the form; a malformed field is an error, a
// *badField when it is shown at the field.
func (c *caseEdit) value() (record.Case, error) {
	fs := c.fs
	v := c.orig // keeps fields the form does not show
	v.Ref = strings.TrimSpace(fs.ref.value())
	v.Subject = strings.TrimSpace(fs.subject.value())
	v.Address = strings.TrimSpace(fs.address.value())
	v.Status = record.CaseStatus(fs.status.value())
	v.Risk = fs.risk.value()
	v.Team = strings.TrimSpace(fs.team.value())
	v.Summary = strings.TrimSpace(fs.summary.value())
	v.Workers = nil
	for _, w := range strings.Split(fs.workers.value(), ",") {
		if w = strings.TrimSpace(w); w != "" {
			v.Workers = append(v.Workers, w)
		}
	}
	dob, err := c.f.read(fs.dob)
	next, nerr := c.f.read(fs.nextVisit) // both marked at once
	if err = cmp.Or(err, nerr); err != nil {
		return v, err
	}
	v.DOB, v.NextVisit = record.Date(dob), record.Date(next)
	c.f.setErr(fs.people, "")
	c.f.setErr(fs.court, "")
	v.People = nil
	for i, line := range strings.Split(fs.people.value(), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := splitBar(line, 4)
		p := record.Person{Name: parts[0], Role: parts[1], Phone: parts[3]}
		if p.DOB, err = c.env.parseDate(parts[2]); err != nil {
			return v, c.f.fail(fs.people, c.env.l.T("tui.caseedit.err.person_dob", "Line", i+1, "Value", parts[2], "Reason", when.Reason(err)))
		}
		if p.Name == "" {
			return v, c.f.fail(fs.people, c.env.l.T("tui.caseedit.err.person_name", "Line", i+1))
		}
		v.People = append(v.People, p)
	}
	v.CourtDates = nil
	for i, line := range strings.Split(fs.court.value(), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := splitBar(line, 3)
		cd := record.CourtDate{Hearing: parts[1], Court: parts[2]}
		if parts[0] == "" {
			return v, c.f.fail(fs.court, c.env.l.T("tui.caseedit.err.court_no_date", "Line", i+1))
		}
		if cd.Date, err = c.env.parseDate(parts[0]); err != nil {
			return v, c.f.fail(fs.court, c.env.l.T("tui.caseedit.err.court_date", "Line", i+1, "Value", parts[0], "Reason", when.Reason(err)))
		}
		v.CourtDates = append(v.CourtDates, cd)
	}
	if v.Weights.Children, err = atoiEmpty(c.env.l, fs.children.value()); err != nil {
		return v, fmt.Errorf("%s: %w", c.env.l.T("tui.caseedit.err.children"), err)
	}
	if v.Weights.TravelMins, err = atoiEmpty(c.env.l, fs.travel.value()); err != nil {
		return v, fmt.Errorf("%s: %w", c.env.l.T("tui.caseedit.err.travel"), err)
	}
	v.Weights.Complexity, _ = atoiEmpty(c.env.l, fs.complexity.value())
	v.Weights.CourtStage = fs.stage.value()
	v.Normalize()
	return v, v.Validate()
}

func splitBar(line string, n int) []string {
	parts := strings.SplitN(line, "|", n)
	for len(parts) < n {
		parts = append(parts, "")
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func atoiEmpty(l *i18n.Locale, s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, l.Error("tui.caseedit.err.not_number", "Value", s)
	}
	return n, nil
}

func (c *caseEdit) save() tea.Cmd {
	v, err := c.value()
	if cmd, ok := c.f.focusBad(err); ok {
		c.errText = ""
		return cmd
	}
	if err != nil {
		c.errText = c.env.writeErr(err)
		return nil
	}
	c.errText, c.saving = "", true
	vault, id, parents := c.env.vault, c.caseID, c.parents
	if c.dr == nil { // combining versions: no draft
		return c.env.io(func() tea.Msg {
			return caseSavedMsg{caseID: id, err: vault.UpdateCase(id, parents, v)}
		})
	}
	dk, e := c.dr.draft.Key, c.env
	if id == "" {
		return c.dr.commit(func() tea.Msg {
			var newID string
			err := vault.Update(func(tx *store.Tx) error {
				var err error
				if newID, err = tx.NewCase(v); err != nil {
					return err
				}
				return tx.DeleteDraft(dk) // the draft is now the case
			})
			return caseSavedMsg{caseID: newID, isNew: true, err: err}
		})
	}
	return c.dr.commit(func() tea.Msg {
		err := vault.UpdateCase(id, parents, v)
		if err == nil {
			// Not in UpdateCase's transaction: should this fail, the
			// draft is offered again, which loses nothing.
			if derr := vault.DeleteDraft(dk); derr != nil {
				e.logErr("deleting the draft of a saved case", derr)
			}
		}
		return caseSavedMsg{caseID: id, err: err}
	})
}

func (c *caseEdit) View() string {
	st, l := c.env.st, c.env.l
	if !c.loaded {
		if c.errText != "" {
			return st.Error.Render(c.errText)
		}
		return st.Muted.Render(l.T("tui.common.case_loading"))
	}
	title := l.T("tui.caseedit.title.new")
	switch {
	case c.merge:
		title = l.N("tui.caseedit.combining", len(c.parents), "Ref", c.orig.Ref)
	case c.caseID != "":
		title = l.T("tui.caseedit.editing", "Ref", c.orig.Ref)
	}
	msg, state := "", ""
	if c.dr != nil {
		msg, state = c.dr.line(st), c.dr.state()
	}
	switch {
	case c.confirm:
		msg = st.Warn.Render(l.T("tui.caseedit.confirm_discard"))
	case c.errText != "":
		msg = st.Error.Render(c.errText)
	}
	return spread(st.Title.Render(title), st.Muted.Render(state), c.w) + "\n" + fitLine(msg, c.w) + "\n" + c.f.view(c.h-2)
}
