package tui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

type (
	// assignLoadedMsg carries what the assignment screen needs: the case,
	// the team view and each worker's load.
	assignLoadedMsg struct {
		caseID string
		cv     store.CaseView
		tv     *protocol.TeamView
		rows   []caseload.Worker
		err    error
	}
	// assignedMsg reports Team.Assign.
	assignedMsg struct {
		caseID  string
		tc      *protocol.TeamCase
		to      string
		removed []string
		err     error
	}
)

// assignScreen gives a case to another caseworker of the team: a picker of
// the team's caseworkers, each with their load now and after the move
// (weighed as the team view weighs it), and optionally takes it from those
// holding it now (which rotates the case key: they cannot read what is
// written afterwards). It needs the server.
type assignScreen struct {
	env     *env
	ts      TeamService
	caseID  string
	ref     string
	subject string
	tv      *protocol.TeamView
	loads   map[string]caseload.Worker // by user id
	weight  float64                    // what the case adds to a load (caseload.CaseWeight)
	weighs  bool                       // whether it counts: not closed, readable here
	sealed  bool
	closed  bool
	choices []protocol.TeamUser
	cursor  int
	remove  bool
	confirm bool
	busy    bool
	loaded  bool
	errText string
	result  []string
	w, h    int
}

func newAssignScreen(e *env, ts TeamService, caseID, ref string) *assignScreen {
	if e.team == nil {
		e.team = &teamState{}
	}
	return &assignScreen{env: e, ts: ts, caseID: caseID, ref: ref}
}

func (a *assignScreen) Title() string { return a.env.l.T("tui.assign.title") }

func (a *assignScreen) Typing() bool { return false }

func (a *assignScreen) SetSize(w, h int) { a.w, a.h = w, h }

func (a *assignScreen) ShortHelp() []key.Binding {
	k := a.env.keys.assign
	if a.confirm {
		return k.Confirm.ShortHelp()
	}
	return k.ShortHelp()
}

func (a *assignScreen) FullHelp() [][]key.Binding {
	return a.env.keys.assign.FullHelp()
}

// HelpNote says what the loads mean.
func (a *assignScreen) HelpNote() string {
	return a.env.l.T("tui.assign.help_note")
}

func (a *assignScreen) Init() tea.Cmd {
	if a.loaded || a.ts == nil {
		a.loaded = true
		return nil
	}
	return a.load()
}

// load reads the case and the loads of the team view held (or the one kept
// in the vault): at the start, and again after an assignment.
func (a *assignScreen) load() tea.Cmd {
	v, ts, id, tv, now := a.env.vault, a.ts, a.caseID, a.env.team.tv, a.env.now()
	return a.env.io(func() tea.Msg {
		msg := assignLoadedMsg{caseID: id, tv: tv}
		if msg.cv, msg.err = v.Case(id); msg.err != nil {
			return msg
		}
		if msg.tv == nil {
			if msg.tv, msg.err = ts.Stored(); msg.err != nil {
				return msg
			}
		}
		if msg.tv != nil {
			msg.rows, _ = caseload.Build(v, msg.tv, now) // loads are a help, not a need
		}
		return msg
	})
}

// holders are the users holding the case now, per the team view.
func (a *assignScreen) holders() []protocol.TeamUser {
	if a.tv == nil {
		return nil
	}
	var out []protocol.TeamUser
	for _, tc := range a.tv.Cases {
		if tc.ID != a.caseID {
			continue
		}
		for _, u := range a.tv.Users {
			if slices.Contains(tc.Members, u.ID) {
				out = append(out, u)
			}
		}
	}
	return out
}

// removals are the caseworkers who would lose the case: those holding it
// but the chosen one.
func (a *assignScreen) removals(to protocol.TeamUser) []string {
	var out []string
	for _, u := range a.holders() {
		if u.ID != to.ID && u.Role == protocol.RoleCaseworker {
			out = append(out, u.Name)
		}
	}
	return out
}

func (a *assignScreen) Update(msg tea.Msg) (component, tea.Cmd) {
	k := a.env.keys.assign
	switch msg := msg.(type) {
	case assignLoadedMsg:
		if msg.caseID != a.caseID {
			return a, nil
		}
		a.loaded = true
		if msg.err != nil {
			a.env.logErr("loading the case to assign", msg.err)
			if errors.Is(msg.err, store.ErrNotFound) {
				a.errText = a.env.l.T("tui.assign.not_in_vault")
			} else {
				a.errText = a.env.l.T("tui.assign.load_failed", "Err", a.env.writeErr(msg.err))
			}
			return a, nil
		}
		if !msg.cv.Sealed {
			a.ref, a.subject = msg.cv.Value.Ref, msg.cv.Value.Subject
		}
		a.sealed, a.closed = msg.cv.Sealed, !msg.cv.Sealed && msg.cv.Value.Status == record.CaseClosed
		a.weight, a.weighs = caseload.CaseWeight(caseload.PolicyOf(msg.tv), msg.cv)
		if a.env.team.tv == nil {
			a.env.team.tv = msg.tv
		}
		a.setTeam(msg.tv)
		a.loads = map[string]caseload.Worker{}
		for _, w := range msg.rows {
			a.loads[w.UserID] = w
		}
		return a, nil
	case assignedMsg:
		if msg.caseID != a.caseID {
			return a, nil
		}
		a.busy = false
		if msg.err != nil {
			a.env.logErr("assigning a case", msg.err)
			a.errText = a.env.l.T("tui.assign.failed", "Err", serverError(a.env.l, msg.err))
			return a, nil
		}
		a.errText = ""
		a.publish(msg.tc)
		var names []string
		for _, u := range a.holders() {
			names = append(names, u.Name)
		}
		a.result = []string{a.env.l.T("tui.assign.done", "Ref", a.ref, "Names", strings.Join(names, ", "))}
		if len(msg.removed) > 0 {
			a.result = append(a.result, a.env.l.T("tui.assign.rotated", "Names", strings.Join(msg.removed, ", ")))
		}
		return a, a.load() // the loads have moved

	case tea.KeyPressMsg:
		if a.confirm {
			switch {
			case key.Matches(msg, k.Confirm.Yes):
				a.confirm = false
				return a, a.assign()
			case key.Matches(msg, k.Confirm.No):
				a.confirm = false
			}
			return a, nil
		}
		switch {
		case key.Matches(msg, k.Back):
			return a, back("", false)
		case a.busy || len(a.choices) == 0:
			return a, nil
		case key.Matches(msg, k.Up):
			a.cursor = max(0, a.cursor-1)
		case key.Matches(msg, k.Down):
			a.cursor = min(len(a.choices)-1, a.cursor+1)
		case key.Matches(msg, k.Top):
			a.cursor = 0
		case key.Matches(msg, k.Bottom):
			a.cursor = len(a.choices) - 1
		case key.Matches(msg, k.Toggle):
			a.remove = !a.remove
		case key.Matches(msg, k.Open):
			to := a.choices[a.cursor]
			var rm []string
			if a.remove {
				rm = a.removals(to)
			}
			if a.holds(to) && len(rm) == 0 {
				a.errText = a.env.l.T("tui.assign.holds_already", "Name", to.Name)
				return a, nil
			}
			a.errText, a.result = "", nil
			a.confirm = true
		}
	}
	return a, nil
}

func (a *assignScreen) holds(u protocol.TeamUser) bool {
	return slices.ContainsFunc(a.holders(), func(h protocol.TeamUser) bool { return h.ID == u.ID })
}

// setTeam lists the team's caseworkers, by name.
func (a *assignScreen) setTeam(tv *protocol.TeamView) {
	a.tv = tv
	a.choices = nil
	if tv == nil {
		return
	}
	for _, u := range tv.Users {
		if u.Role == protocol.RoleCaseworker {
			a.choices = append(a.choices, u)
		}
	}
	slices.SortFunc(a.choices, func(x, y protocol.TeamUser) int { return cmp.Compare(x.Name, y.Name) })
	a.cursor = min(a.cursor, max(0, len(a.choices)-1))
}

// publish puts the case's new membership into the team view (a copy:
// commands may be reading the old one).
func (a *assignScreen) publish(tc *protocol.TeamCase) {
	if tc == nil || a.tv == nil {
		return
	}
	tv := *a.tv
	tv.Cases = slices.Clone(tv.Cases)
	found := false
	for i := range tv.Cases {
		if tv.Cases[i].ID == tc.ID {
			tv.Cases[i] = *tc
			found = true
		}
	}
	if !found {
		tv.Cases = append(tv.Cases, *tc)
	}
	a.setTeam(&tv)
	ts := a.env.team
	ts.tv = &tv
	ts.changed++
}

func (a *assignScreen) assign() tea.Cmd {
	to := a.choices[a.cursor]
	var rm []string
	if a.remove {
		rm = a.removals(to)
	}
	var add []string
	if !a.holds(to) {
		add = []string{to.Name}
	}
	a.busy = true
	ts, id := a.ts, a.caseID
	return a.env.io(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		tc, err := ts.Assign(ctx, id, add, rm)
		return assignedMsg{caseID: id, tc: tc, to: to.Name, removed: rm, err: err}
	})
}

func (a *assignScreen) View() string {
	st, l := a.env.st, a.env.l
	head := l.T("tui.assign.heading", "Ref", a.ref)
	if a.subject != "" {
		head += "  " + a.subject
	}
	lines := []string{fitLine(st.Title.Render(head), a.w)}
	if a.ts == nil {
		return strings.Join(append(lines, "", l.T("tui.assign.not_enrolled", "NotEnrolled", notEnrolledTeam(l)), "",
			st.Muted.Render(l.T("tui.team.esc_back"))), "\n")
	}
	if !a.loaded {
		return strings.Join(append(lines, st.Muted.Render(l.T("tui.typist.loading"))), "\n")
	}
	var names []string
	for _, u := range a.holders() {
		names = append(names, u.Name)
	}
	held := l.T("tui.assign.held_by", "Names", strings.Join(names, ", "))
	if len(names) == 0 {
		held = l.T("tui.assign.held_by_nobody")
	}
	switch {
	case a.sealed:
		held += " · " + l.T("tui.assign.unreadable")
	case a.closed:
		held += " · " + l.T("tui.assign.closed")
	case a.weighs:
		held += " · " + l.T("tui.assign.weighs", "Weight", num(a.weight))
	}
	lines = append(lines, fitLine(held, a.w))
	switch {
	case a.confirm:
		to := a.choices[a.cursor]
		q := l.T("tui.assign.give", "Ref", a.ref, "Name", to.Name)
		if a.holds(to) {
			q = l.T("tui.assign.keep", "Ref", a.ref, "Name", to.Name)
		}
		if rm := a.removals(to); a.remove && len(rm) > 0 {
			q += " " + l.T("tui.assign.and_take", "Names", strings.Join(rm, ", "))
		}
		lines = append(lines, st.Warn.Render(fitLine(q+"? y / n", a.w))) // i18n: the keys' names
	case a.busy:
		lines = append(lines, st.Muted.Render(l.T("tui.assign.asking")))
	case a.errText != "":
		lines = append(lines, st.Error.Render(fitLine(a.errText, a.w)))
	case len(a.result) > 0:
		for _, r := range a.result {
			lines = append(lines, st.Notice.Render(fitLine(r, a.w)))
		}
	default:
		lines = append(lines, "")
	}
	box := "[ ]"
	if a.remove {
		box = "[x]" // i18n: a ticked box
	}
	lines = append(lines, fitLine(box+" "+l.T("tui.assign.also_take"), a.w), "")
	if a.tv == nil {
		return strings.Join(append(lines, l.T("tui.assign.no_team_view")), "\n")
	}
	if len(a.choices) == 0 {
		return strings.Join(append(lines, l.T("tui.team.no_workers")), "\n")
	}
	rows := make([]assignRow, len(a.choices))
	for i := range a.choices {
		rows[i] = a.row(i)
	}
	c := assignColumns(l, rows, a.w)
	lines = append(lines, st.ColHeader.Render(fitLine("  "+cell(l.T("tui.assign.col.to"), c.name)+" "+
		padLeft(l.T("tui.team.col.cases"), c.cases)+"  "+cell(l.T("tui.assign.col.load"), c.load), a.w)))
	room := max(1, a.h-len(lines)-1)
	first := 0
	if a.cursor >= room {
		first = a.cursor - room + 1
	}
	for i := first; i < len(rows) && i < first+room; i++ {
		line := rows[i].text(c)
		switch {
		case i == a.cursor:
			lines = append(lines, st.Selected.Render(fitLine("▸ "+line, a.w)))
		case rows[i].known && rows[i].after.Load() > 1:
			lines = append(lines, fitLine("  "+st.Bad.Render(line), a.w))
		default:
			lines = append(lines, fitLine("  "+line, a.w))
		}
	}
	lines = append(lines, st.Muted.Render(fitLine(l.T("tui.assign.legend"), a.w)))
	return strings.Join(lines, "\n")
}

// assignRow is one worker of the picker: their load now and after the
// move. A worker not holding the case takes it on if chosen; one holding
// it gives it up when the box is ticked and someone else is chosen.
type assignRow struct {
	name       string
	now, after caseload.Worker
	known      bool // their load is known (the team view's rows)
	holds      bool
	loses      bool
	numW       int // width of a weight, the same down the column
}

// row is the i-th choice with its loads.
func (a *assignScreen) row(i int) assignRow {
	u := a.choices[i]
	r := assignRow{name: u.Name, holds: a.holds(u)}
	r.now, r.known = a.loads[u.ID]
	r.after = r.now
	switch {
	case !r.holds:
		if a.weighs {
			r.after = r.now.Gain(a.weight)
		}
	case a.remove && i != a.cursor:
		r.loses = true
		if a.weighs {
			r.after = r.now.Lose(a.weight)
		}
	}
	return r
}

// assignCols are the widths of the picker's columns.
type assignCols struct {
	name, cases, load, numW int
	l                       *i18n.Locale // the rows' words
}

func assignColumns(l *i18n.Locale, rows []assignRow, w int) assignCols {
	c := assignCols{cases: 7, numW: 3, l: l}
	capW := 1
	for _, r := range rows {
		if !r.known {
			continue
		}
		c.numW = max(c.numW, len(fmt.Sprintf("%.1f", r.now.Weighted)), len(fmt.Sprintf("%.1f", r.after.Weighted)))
		c.cases = max(c.cases, len(itoa(r.now.OpenCases))+3+len(itoa(r.after.OpenCases)))
		capW = max(capW, len(num(r.now.Capacity)))
	}
	c.load = max(len(l.T("tui.assign.col.load")), 2*c.numW+3+3+capW+2)
	note := len(l.T("tui.assign.loses"))
	c.name = min(24, max(10, w-2-1-c.cases-2-c.load-2-note))
	return c
}

// loadText is "12.5 → 14.0 / 15", with " !" when over capacity after.
func (r assignRow) loadText(numW int) string {
	if !r.known {
		return ""
	}
	s := padLeft(fmt.Sprintf("%.1f", r.now.Weighted), numW) + " → " + padLeft(fmt.Sprintf("%.1f", r.after.Weighted), numW) +
		" / " + num(r.now.Capacity)
	if r.after.Load() > 1 {
		s += " !"
	}
	return s
}

// casesText is "39 → 40".
func (r assignRow) casesText() string {
	if !r.known {
		return ""
	}
	return itoa(r.now.OpenCases) + " → " + itoa(r.after.OpenCases)
}

// text is the row without its cursor mark.
func (r assignRow) text(c assignCols) string {
	s := cell(r.name, c.name) + " " + padLeft(r.casesText(), c.cases) + "  " + cell(r.loadText(c.numW), c.load)
	switch {
	case r.loses:
		s += "  " + c.l.T("tui.assign.loses")
	case r.holds:
		s += "  " + c.l.T("tui.assign.keeps")
	}
	return s
}
