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
// the team's caseworkers (with their load), and optionally takes it from
// those holding it now (which rotates the case key: they cannot read what
// is written afterwards). It needs the server.
type assignScreen struct {
	env     *env
	ts      TeamService
	caseID  string
	ref     string
	subject string
	tv      *protocol.TeamView
	loads   map[string]caseload.Worker // by user id
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

func (a *assignScreen) Title() string { return "Assign" }

func (a *assignScreen) Typing() bool { return false }

func (a *assignScreen) SetSize(w, h int) { a.w, a.h = w, h }

func (a *assignScreen) ShortHelp() []key.Binding {
	k := a.env.keys
	if a.confirm {
		return []key.Binding{k.Yes, k.No}
	}
	return []key.Binding{k.Up, k.Down, withHelp(k.Toggle, "also take it from the holder"), withHelp(k.Open, "assign"), k.Back}
}

func (a *assignScreen) FullHelp() [][]key.Binding {
	k := a.env.keys
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{withHelp(k.Toggle, "also take the case from those holding it (rotates its key)"), withHelp(k.Open, "assign to the chosen worker"), k.Back},
	}
}

func (a *assignScreen) Init() tea.Cmd {
	if a.loaded || a.ts == nil {
		a.loaded = true
		return nil
	}
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
	k := a.env.keys
	switch msg := msg.(type) {
	case assignLoadedMsg:
		if msg.caseID != a.caseID {
			return a, nil
		}
		a.loaded = true
		if msg.err != nil {
			a.env.logErr("loading the case to assign", msg.err)
			if errors.Is(msg.err, store.ErrNotFound) {
				a.errText = "This case is not in the vault."
			} else {
				a.errText = "Could not load: " + writeError(msg.err)
			}
			return a, nil
		}
		a.ref, a.subject = msg.cv.Value.Ref, msg.cv.Value.Subject
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
			a.errText = "Not reassigned: " + serverError(msg.err) + "."
			return a, nil
		}
		a.errText = ""
		a.publish(msg.tc)
		var names []string
		for _, u := range a.holders() {
			names = append(names, u.Name)
		}
		a.result = []string{a.ref + " is now held by " + strings.Join(names, ", ") + "."}
		if len(msg.removed) > 0 {
			a.result = append(a.result, "The case key was rotated: "+strings.Join(msg.removed, ", ")+
				" cannot read what is written from now on.")
		}
		return a, nil
	case tea.KeyPressMsg:
		if a.confirm {
			switch {
			case key.Matches(msg, k.Yes):
				a.confirm = false
				return a, a.assign()
			case key.Matches(msg, k.No):
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
				a.errText = to.Name + " holds this case already."
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
	st := a.env.st
	head := "Assign " + a.ref
	if a.subject != "" {
		head += "  " + a.subject
	}
	lines := []string{fitLine(st.Title.Render(head), a.w)}
	if a.ts == nil {
		return strings.Join(append(lines, "", notEnrolledTeam+": reassigning needs the case server.", "",
			st.Muted.Render("Press esc to go back.")), "\n")
	}
	if !a.loaded {
		return strings.Join(append(lines, st.Muted.Render("Loading…")), "\n")
	}
	var names []string
	for _, u := range a.holders() {
		names = append(names, u.Name)
	}
	held := "Held by: " + strings.Join(names, ", ")
	if len(names) == 0 {
		held = "Held by: nobody in this team view"
	}
	lines = append(lines, fitLine(held, a.w))
	switch {
	case a.confirm:
		to := a.choices[a.cursor]
		q := "Give " + a.ref + " to " + to.Name
		if a.holds(to) {
			q = "Keep " + a.ref + " with " + to.Name
		}
		if rm := a.removals(to); a.remove && len(rm) > 0 {
			q += " and take it from " + strings.Join(rm, ", ") + " (the case key is rotated)"
		}
		lines = append(lines, st.Warn.Render(fitLine(q+"? y / n", a.w)))
	case a.busy:
		lines = append(lines, st.Muted.Render("Asking the server…"))
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
		box = "[x]"
	}
	lines = append(lines, fitLine(box+" also take it from those holding it now (space)", a.w), "")
	if a.tv == nil {
		return strings.Join(append(lines, "No team view on this device yet: open the team view while online first."), "\n")
	}
	if len(a.choices) == 0 {
		return strings.Join(append(lines, "No caseworkers in this team view."), "\n")
	}
	lines = append(lines, st.ColHeader.Render(fitLine("  "+cell("ASSIGN TO", 24)+" "+padLeft("CASES", 5)+"  LOAD", a.w)))
	room := max(1, a.h-len(lines))
	first := 0
	if a.cursor >= room {
		first = a.cursor - room + 1
	}
	for i := first; i < len(a.choices) && i < first+room; i++ {
		u := a.choices[i]
		mark := "  "
		if i == a.cursor {
			mark = "▸ "
		}
		load := ""
		if w, ok := a.loads[u.ID]; ok {
			load = fmt.Sprintf("%s %.1f/%s", loadBar(w.Load(), 10), w.Weighted, num(w.Capacity))
			if w.Load() > 1 {
				load += " !"
			}
		}
		cases := ""
		if w, ok := a.loads[u.ID]; ok {
			cases = itoa(w.OpenCases)
		}
		row := mark + cell(u.Name, 24) + " " + padLeft(cases, 5) + "  " + load
		if a.holds(u) {
			row += " (holds it)"
		}
		if i == a.cursor {
			lines = append(lines, st.Selected.Render(fitLine(row, a.w)))
		} else {
			lines = append(lines, fitLine(row, a.w))
		}
	}
	return strings.Join(lines, "\n")
}
