package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// consentIssuesMsg carries the consent problems across cases.
type consentIssuesMsg struct {
	issues []store.ConsentIssue
	err    error
}

func loadConsentIssuesCmd(v *store.Vault, today record.Date) tea.Cmd {
	return func() tea.Msg {
		is, err := v.ConsentIssues(today)
		return consentIssuesMsg{issues: is, err: err}
	}
}

// consentOverview lists the consent problems of every open case the vault
// holds, by case: people with no decision, refused or withdrawn decisions,
// and reviews overdue. enter opens the case.
type consentOverview struct {
	env    *env
	issues []store.ConsentIssue
	loaded bool
	err    string
	cursor int
	offset int
	w, h   int
}

func newConsentOverview(e *env) *consentOverview { return &consentOverview{env: e} }

func (c *consentOverview) Init() tea.Cmd {
	return c.env.io(loadConsentIssuesCmd(c.env.vault, c.env.today()))
}

func (c *consentOverview) Title() string { return "Consent overview" }

func (c *consentOverview) Typing() bool { return false }

func (c *consentOverview) SetSize(w, h int) {
	c.w, c.h = w, h
	c.clamp()
}

func (c *consentOverview) ShortHelp() []key.Binding {
	k := c.env.keys
	return []key.Binding{withHelp(k.Open, "open the case"), k.Up, k.Down, k.Back}
}

func (c *consentOverview) FullHelp() [][]key.Binding {
	k := c.env.keys
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Open, "open the case (c there records a decision)"), k.Back},
	}
}

// HelpNote says what counts as a problem.
func (c *consentOverview) HelpNote() string {
	return "Problems: missing (a person of the case with no decision), refused, withdrawn, review due (the review date has passed). Closed cases are left out."
}

func (c *consentOverview) Update(msg tea.Msg) (component, tea.Cmd) {
	k := c.env.keys
	switch msg := msg.(type) {
	case consentIssuesMsg:
		c.loaded = true
		if msg.err != nil {
			c.env.logErr("listing consent problems", msg.err)
			c.err = "Could not list consent problems: " + writeError(msg.err)
			return c, nil
		}
		c.err = ""
		c.issues = msg.issues
		c.clamp()
		return c, nil
	case notesLoadedMsg:
		return c, c.Init()
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Back):
			return c, back("", false)
		case key.Matches(msg, k.Up):
			c.move(-1)
		case key.Matches(msg, k.Down):
			c.move(1)
		case key.Matches(msg, k.PageUp):
			c.move(-c.listHeight())
		case key.Matches(msg, k.PageDown):
			c.move(c.listHeight())
		case key.Matches(msg, k.Top):
			c.move(-len(c.issues))
		case key.Matches(msg, k.Bottom):
			c.move(len(c.issues))
		case key.Matches(msg, k.Open):
			if c.cursor < len(c.issues) {
				return c, cmdOf(openCaseMsg{CaseID: c.issues[c.cursor].CaseID})
			}
		}
	}
	return c, nil
}

func (c *consentOverview) listHeight() int { return max(1, c.h-4) }

func (c *consentOverview) move(d int) {
	c.cursor += d
	c.clamp()
}

func (c *consentOverview) clamp() {
	c.cursor = min(max(c.cursor, 0), max(len(c.issues)-1, 0))
	lh := c.listHeight()
	if c.cursor < c.offset {
		c.offset = c.cursor
	}
	if c.cursor >= c.offset+lh {
		c.offset = c.cursor - lh + 1
	}
	c.offset = max(0, min(c.offset, max(len(c.issues)-lh, 0)))
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (c *consentOverview) View() string {
	st := c.env.st
	counts := map[string]int{}
	cases := map[string]bool{}
	for _, i := range c.issues {
		counts[i.Problem]++
		cases[i.CaseID] = true
	}
	title := st.Title.Render("Consent problems")
	right := ""
	if c.loaded && c.err == "" {
		right = plural(len(c.issues), "problem", "problems") + " in " + plural(len(cases), "case", "cases")
	}
	lines := []string{spread(title, st.Muted.Render(right), c.w)}
	var sum []string
	for _, p := range []string{"missing", "refused", "withdrawn", "review due"} {
		if counts[p] > 0 {
			sum = append(sum, itoa(counts[p])+" "+p)
		}
	}
	lines = append(lines, fitLine(st.Muted.Render(strings.Join(sum, " · ")), c.w))

	wide := c.w >= 110
	refW, personW, problemW, scopeW, dateW := 10, 20, 10, 0, 0
	subjW := max(8, c.w-2-refW-1-personW-1-problemW-1-10-1)
	if wide {
		scopeW, dateW = 10, 10
		subjW = max(8, min(28, c.w-2-refW-1-personW-1-problemW-1-scopeW-1-dateW-1-10-1))
	}
	hdr := "  " + cell("REF", refW) + " " + cell("SUBJECT", subjW) + " " + cell("PERSON", personW) + " " + cell("PROBLEM", problemW) + " "
	if wide {
		hdr += cell("SCOPE", scopeW) + " " + cell("SINCE", dateW) + " "
	}
	hdr += cell("REVIEW", 10)
	lines = append(lines, st.ColHeader.Render(fitLine(hdr, c.w)))
	switch {
	case !c.loaded:
		lines = append(lines, st.Muted.Render("  Loading…"))
	case c.err != "":
		lines = append(lines, st.Error.Render("  "+c.err))
	case len(c.issues) == 0:
		lines = append(lines, "  No consent problems in the open cases on this device.")
	}
	end := min(c.offset+c.listHeight(), len(c.issues))
	prevCase := ""
	if c.offset > 0 {
		prevCase = c.issues[c.offset-1].CaseID
	}
	for i := c.offset; i < end; i++ {
		is := c.issues[i]
		sel := i == c.cursor
		ref, subj := is.Ref, is.Subject
		if is.CaseID == prevCase && !sel {
			ref, subj = "", "" // the case's other problems under its first
		}
		prevCase = is.CaseID
		mark := "  "
		if sel {
			mark = "▸ "
		}
		problem := cell(is.Problem, problemW)
		if !sel {
			switch is.Problem {
			case "refused", "withdrawn":
				problem = st.Bad.Render(problem)
			default:
				problem = st.Warn.Render(problem)
			}
		}
		row := mark + cell(ref, refW) + " " + cell(subj, subjW) + " " + cell(is.Person, personW) + " " + problem + " "
		if wide {
			row += cell(orDash(is.Scope), scopeW) + " " + cell(orDash(string(is.Date)), dateW) + " "
		}
		row += cell(orDash(string(is.ReviewDate)), 10)
		if sel {
			lines = append(lines, st.Selected.Render(fitLine(ansiStrip(row), c.w)))
		} else {
			lines = append(lines, fitLine(row, c.w))
		}
	}
	for len(lines) < c.h-1 {
		lines = append(lines, "")
	}
	legend := "enter opens the case · c there records a decision"
	if n := len(c.issues); n > c.listHeight() {
		legend += "   " + itoa(c.cursor+1) + "/" + itoa(n)
	}
	lines = append(lines, fitLine(st.Muted.Render(legend), c.w))
	return strings.Join(lines, "\n")
}
