package tui

import (
	"cmp"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// consentIssuesMsg carries the consent problems across cases.
type consentIssuesMsg struct {
	issues []caseload.ConsentIssue
	err    error
}

func loadConsentIssuesCmd(v *store.Vault, today record.Date) tea.Cmd {
	return func() tea.Msg {
		is, err := caseload.ConsentIssues(v, today)
		return consentIssuesMsg{issues: is, err: err}
	}
}

// consentOrder is how the consent overview is sorted; the Sort key cycles
// through them.
type consentOrder int

const (
	consentByCase consentOrder = iota
	consentByPerson
	consentByDecision
	consentByReview
	numConsentOrders
)

// label names the order, as the title says it.
func (o consentOrder) label(l *i18n.Locale) string {
	switch o {
	case consentByPerson:
		return l.T("tui.consents.order.person")
	case consentByDecision:
		return l.T("tui.consents.order.decision")
	case consentByReview:
		return l.T("tui.consents.order.review")
	}
	return l.T("tui.consents.order.case")
}

// problemWord is a consent problem as the screen says it.
func problemWord(l *i18n.Locale, p string) string {
	switch p {
	case "missing": // i18n: the store's value
		return l.T("tui.consents.problem.missing")
	case "review due": // i18n: the store's value
		return l.T("tui.consents.problem.review_due")
	}
	return valueWord(l, p) // refused, withdrawn
}

// problemRank orders the problems worst first: a refusal or a withdrawal
// stops work, a review due needs asking again, a missing decision needs
// asking at all.
var problemRank = map[string]int{"refused": 0, "withdrawn": 1, "review due": 2, "missing": 3} // i18n: the store's values

// consentOverview lists the consent problems of every open case the vault
// holds: people with no decision, refused or withdrawn decisions, and
// reviews overdue, with what each decision covers (its scope). Filter as
// you type over case, subject, person, scope and decision; four sort
// orders. enter opens the case.
type consentOverview struct {
	env       *env
	issues    []caseload.ConsentIssue
	hay       [][]rune // lower-case filter haystack per issue
	shown     []int    // indexes into issues: filtered and sorted
	scores    []int
	filter    textinput.Model
	filtering bool
	order     consentOrder
	loaded    bool
	err       string
	nav       listNav // cursor and window over shown
	w, h      int
}

func newConsentOverview(e *env) *consentOverview {
	f := textinput.New()
	f.Prompt = "/ "
	f.Placeholder = e.l.T("tui.consents.filter_placeholder")
	f.SetStyles(e.st.textinputStyles())
	f.SetWidth(30)
	return &consentOverview{env: e, filter: f}
}

func (c *consentOverview) Init() tea.Cmd {
	return c.env.io(loadConsentIssuesCmd(c.env.vault, c.env.today()))
}

func (c *consentOverview) Title() string { return c.env.l.T("tui.consents.title") }

func (c *consentOverview) Typing() bool { return c.filtering }

func (c *consentOverview) SetSize(w, h int) {
	c.w, c.h = w, h
	c.filter.SetWidth(max(10, min(40, w-60))) // beside the title, its order and matches
	c.nav.SetHeight(c.listHeight())
}

func (c *consentOverview) ShortHelp() []key.Binding {
	k := c.env.keys.consentOverview
	if c.filtering {
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", c.env.l.T("tui.common.done"))), k.Up, k.Down,
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", c.env.l.T("tui.caselist.clear_filter")))}
	}
	return k.ShortHelp()
}

func (c *consentOverview) FullHelp() [][]key.Binding {
	k := c.env.keys.consentOverview
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Open, c.env.l.T("tui.consents.help.open")),
			withHelp(k.Filter, c.env.l.T("tui.consents.help.filter")),
			withHelp(k.Sort, c.env.l.T("tui.consents.help.sort")), k.Back},
	}
}

// HelpNote says what counts as a problem and what the columns are.
func (c *consentOverview) HelpNote() string {
	return c.env.l.T("tui.consents.help_note")
}

func (c *consentOverview) selected() (caseload.ConsentIssue, bool) {
	if c.nav.Cursor() >= len(c.shown) {
		return caseload.ConsentIssue{}, false
	}
	return c.issues[c.shown[c.nav.Cursor()]], true
}

// key identifies an issue across reloads, to keep the cursor on it.
func issueKey(i caseload.ConsentIssue) string {
	return i.CaseID + "\x00" + strings.ToLower(i.Person) + "\x00" + i.Scope + "\x00" + i.Problem
}

func (c *consentOverview) Update(msg tea.Msg) (component, tea.Cmd) {
	k := c.env.keys.consentOverview
	switch msg := msg.(type) {
	case consentIssuesMsg:
		c.loaded = true
		if msg.err != nil {
			c.env.logErr("listing consent problems", msg.err)
			c.err = c.env.l.T("tui.consents.failed", "Err", c.env.writeErr(msg.err))
			return c, nil
		}
		keep := ""
		if is, ok := c.selected(); ok {
			keep = issueKey(is)
		}
		c.err = ""
		c.issues = msg.issues
		c.hay = make([][]rune, len(c.issues))
		for i, is := range c.issues {
			c.hay[i] = []rune(strings.ToLower(is.Ref + " " + is.Subject + " " + is.Person + " " + is.Scope + " " + is.Problem))
		}
		c.refilter(keep)
		return c, nil
	case notesLoadedMsg:
		return c, c.Init()
	case tea.KeyPressMsg:
		if c.filtering {
			return c.filterKey(msg)
		}
		switch {
		case key.Matches(msg, k.Back):
			if c.filter.Value() != "" {
				c.filter.Reset()
				c.refilter(c.selectedKey())
				return c, nil
			}
			return c, back("", false)
		case c.nav.Key(msg, k.navKeys): // moved the cursor
		case key.Matches(msg, k.Filter):
			c.filtering = true
			return c, c.filter.Focus()
		case key.Matches(msg, k.Sort):
			c.order = (c.order + 1) % numConsentOrders
			c.refilter(c.selectedKey())
		case key.Matches(msg, k.Open):
			if is, ok := c.selected(); ok {
				return c, cmdOf(openCase(is.CaseID, ""))
			}
		}
	}
	return c, nil
}

func (c *consentOverview) selectedKey() string {
	if is, ok := c.selected(); ok {
		return issueKey(is)
	}
	return ""
}

func (c *consentOverview) filterKey(msg tea.KeyPressMsg) (component, tea.Cmd) {
	return c, filterKey(msg, c.env.keys.consentOverview.navKeys, &c.filter, &c.filtering, c.nav.Move, c.listHeight(), func(cleared bool) {
		if cleared {
			c.refilter(c.selectedKey())
			return
		}
		c.nav.Reset()
		c.refilter("")
	})
}

// refilter recomputes the shown rows from the filter and the order (best
// matches first while filtering, as in the case list), keeping the cursor
// on the issue keep when it is still shown.
func (c *consentOverview) refilter(keep string) {
	q := splitWords(strings.ToLower(c.filter.Value()))
	c.shown = c.shown[:0]
	c.scores = slices.Grow(c.scores[:0], len(c.issues))[:len(c.issues)]
	for i := range c.issues {
		if s, ok := fuzzyWords(q, c.hay[i]); ok {
			c.scores[i] = s
			c.shown = append(c.shown, i)
		}
	}
	byOrder := func(a, b int) int {
		x, y := &c.issues[a], &c.issues[b]
		byCase := cmp.Compare(x.Ref, y.Ref)
		switch c.order {
		case consentByPerson:
			return cmp.Or(cmp.Compare(strings.ToLower(x.Person), strings.ToLower(y.Person)), byCase)
		case consentByDecision:
			return cmp.Or(cmp.Compare(problemRank[x.Problem], problemRank[y.Problem]), byCase)
		case consentByReview:
			// Earliest review first (the most overdue); none last.
			if (x.ReviewDate == "") != (y.ReviewDate == "") {
				if x.ReviewDate == "" {
					return 1
				}
				return -1
			}
			return cmp.Or(cmp.Compare(x.ReviewDate, y.ReviewDate), byCase)
		}
		return byCase // stable: a case's problems stay in the vault's order
	}
	if len(q) > 0 {
		slices.SortStableFunc(c.shown, func(a, b int) int {
			return cmp.Or(cmp.Compare(c.scores[b], c.scores[a]), byOrder(a, b))
		})
	} else {
		slices.SortStableFunc(c.shown, byOrder)
	}
	cursor := 0
	if keep != "" {
		for i, idx := range c.shown {
			if issueKey(c.issues[idx]) == keep {
				cursor = i
				break
			}
		}
	}
	c.nav.Reload(len(c.shown), cursor)
}

func (c *consentOverview) listHeight() int { return max(1, c.h-4) }

func orDash(s string) string {
	if s == "" {
		return "—" // i18n: none
	}
	return s
}

// consentCols are the widths of the overview's columns; 0 hides one.
type consentCols struct{ ref, subject, person, problem, scope, since, review int }

// columns fit the table to the width: the review date, the decision and
// who it is about always show; narrow, the decision's date goes first,
// then the case's subject (the reference names the case), then the scope.
func (c *consentOverview) columns() consentCols {
	l := c.env.l
	k := consentCols{ref: 9, problem: 10, scope: 7, review: 10}                   // English: "review due", "housing"
	for _, p := range []string{"missing", "refused", "withdrawn", "review due"} { // i18n: the store's values
		k.problem = max(k.problem, ansiWidth(problemWord(l, p)))
	}
	for _, s := range record.ConsentScopes {
		k.scope = max(k.scope, ansiWidth(valueWord(l, s)))
	}
	for _, is := range c.issues {
		k.ref = max(k.ref, min(len(is.Ref), 16))
	}
	if c.w >= 110 {
		k.since = 10
	}
	fixed := func() int {
		n := 2 + k.ref + 1 + k.problem + 1 + k.review
		for _, x := range []int{k.scope, k.since} {
			if x > 0 {
				n += x + 1
			}
		}
		return n
	}
	rest := c.w - fixed() - 1
	switch {
	case rest >= 30:
		k.subject = min(36, rest/2)
		k.person = min(30, rest-k.subject-1)
	case rest >= 10:
		// No room for both names: the person, whose decision it is.
		k.person = min(30, rest)
	default:
		k.scope = 0
		k.person = max(6, c.w-fixed()-1)
	}
	return k
}

func (c *consentOverview) View() string {
	st, l := c.env.st, c.env.l
	counts := map[string]int{}
	cases := map[string]bool{}
	for _, i := range c.issues {
		cases[i.CaseID] = true
	}
	for _, i := range c.shown {
		counts[c.issues[i].Problem]++
	}
	filtered := c.filtering || c.filter.Value() != ""
	title := st.Title.Render(l.T("tui.consents.heading")) + st.Muted.Render(sepDot+l.T("tui.caselist.sorted_by", "Order", c.order.label(l)))
	right := ""
	switch {
	case filtered:
		title += st.Muted.Render(sepDot) + l.N("tui.caselist.matches", len(c.shown))
		right = c.filter.View()
	case c.loaded && c.err == "":
		right = st.Muted.Render(l.T("tui.consents.count", "Problems", l.N("tui.consents.problems", len(c.issues)),
			"Cases", l.N("tui.common.cases", len(cases))))
	}
	lines := []string{spread(title, right, c.w)}
	var sum []string
	for _, p := range []string{"missing", "refused", "withdrawn", "review due"} { // i18n: the store's values
		if counts[p] > 0 {
			sum = append(sum, itoa(counts[p])+" "+problemWord(l, p))
		}
	}
	lines = append(lines, fitLine(st.Muted.Render(strings.Join(sum, sepDot)), c.w))

	k := c.columns()
	hdr := "  " + cell(l.T("tui.caselist.col.ref"), k.ref) + " "
	if k.subject > 0 {
		hdr += cell(l.T("tui.caselist.col.subject"), k.subject) + " "
	}
	hdr += cell(l.T("tui.consents.col.person"), k.person) + " " + cell(l.T("tui.consents.col.problem"), k.problem) + " "
	if k.scope > 0 {
		hdr += cell(l.T("tui.consents.col.scope"), k.scope) + " "
	}
	if k.since > 0 {
		hdr += cell(l.T("tui.consents.col.since"), k.since) + " "
	}
	hdr += cell(l.T("tui.consents.col.review"), k.review)
	lines = append(lines, st.ColHeader.Render(fitLine(hdr, c.w)))
	switch {
	case !c.loaded:
		lines = append(lines, st.Muted.Render("  "+l.T("tui.agenda.loading")))
	case c.err != "":
		lines = append(lines, st.Error.Render(fitLine("  "+c.err, c.w)))
	case len(c.issues) == 0:
		lines = append(lines, "  "+l.T("tui.consents.none"))
	case len(c.shown) == 0:
		lines = append(lines, fitLine("  "+l.T("tui.consents.no_match", "Filter", c.filter.Value()), c.w))
	}
	start, end := c.nav.Visible()
	prevCase := ""
	if start > 0 && start <= len(c.shown) {
		prevCase = c.issues[c.shown[start-1]].CaseID
	}
	for i := start; i < end; i++ {
		is := c.issues[c.shown[i]]
		sel := c.nav.Selected(i)
		ref, subj := is.Ref, is.Subject
		if is.CaseID == prevCase && !sel {
			ref, subj = "", "" // the case's other problems under its first
		}
		prevCase = is.CaseID
		problem := cell(problemWord(l, is.Problem), k.problem)
		if !sel {
			switch is.Problem {
			case "refused", "withdrawn": // i18n: the store's values
				problem = st.Bad.Render(problem)
			default:
				problem = st.Warn.Render(problem)
			}
		}
		row := cell(ref, k.ref) + " "
		if k.subject > 0 {
			row += cell(subj, k.subject) + " "
		}
		row += cell(is.Person, k.person) + " " + problem + " "
		if k.scope > 0 {
			row += cell(orDash(valueWord(l, is.Scope)), k.scope) + " "
		}
		if k.since > 0 {
			row += cell(orDash(string(is.Date)), k.since) + " "
		}
		row += cell(orDash(string(is.ReviewDate)), k.review)
		lines = append(lines, listRow(st, row, sel, c.w))
	}
	for len(lines) < c.h-1 {
		lines = append(lines, "")
	}
	legend := l.T("tui.consents.legend")
	if pos := c.nav.Position(); pos != "" {
		legend += "   " + pos
	}
	lines = append(lines, fitLine(st.Muted.Render(legend), c.w))
	return strings.Join(lines, "\n")
}
