package tui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// agendaLoadedMsg carries the agenda across cases.
type agendaLoadedMsg struct {
	agenda caseload.Agenda
	err    error
}

func loadAgendaCmd(v *store.Vault, today record.Date) tea.Cmd {
	return func() tea.Msg {
		a, err := caseload.AgendaOf(v, today, caseload.DefaultAgendaDays)
		return agendaLoadedMsg{agenda: a, err: err}
	}
}

// agendaSections are the agenda's sections, in order.
var agendaSections = []struct{ s caseload.AgendaSection }{{caseload.SectionOverdue}, {caseload.SectionToday}, {caseload.SectionWeek}}

// agendaSectionName is a section's heading.
func agendaSectionName(l *i18n.Locale, s caseload.AgendaSection) string {
	switch s {
	case caseload.SectionOverdue:
		return l.T("tui.agenda.section.overdue")
	case caseload.SectionToday:
		return l.T("tui.agenda.section.today")
	}
	return l.T("tui.agenda.section.week")
}

// agendaRow is one line of the agenda's list: a section's heading, or an
// item (an index into the agenda's items).
type agendaRow struct {
	heading bool
	section int // index into agendaSections
	item    int
}

// agenda is the working day across every open case: what is overdue, what
// is due today and in the six days after, under one heading each. enter
// opens the item's case, or the case's tasks with the task selected; tab
// jumps to the next section.
type agenda struct {
	env    *env
	a      caseload.Agenda
	rows   []agendaRow
	loaded bool
	err    string
	nav    listNav // cursor over a.Items, window over rows
	w, h   int
}

func newAgenda(e *env) *agenda { return &agenda{env: e} }

func (g *agenda) Init() tea.Cmd { return g.env.io(loadAgendaCmd(g.env.vault, g.env.today())) }

func (g *agenda) Title() string { return g.env.l.T("tui.agenda.title") }

func (g *agenda) Typing() bool { return false }

func (g *agenda) SetSize(w, h int) {
	g.w, g.h = w, h
	g.nav.SetHeight(g.listHeight())
}

func (g *agenda) ShortHelp() []key.Binding {
	return g.env.keys.agenda.ShortHelp()
}

func (g *agenda) FullHelp() [][]key.Binding {
	return g.env.keys.agenda.FullHelp()
}

// HelpNote says what each section and kind holds.
func (g *agenda) HelpNote() string {
	return g.env.l.T("tui.agenda.help_note")
}

func (g *agenda) Update(msg tea.Msg) (component, tea.Cmd) {
	k := g.env.keys.agenda
	switch msg := msg.(type) {
	case agendaLoadedMsg:
		g.loaded = true
		if msg.err != nil {
			g.env.logErr("building the agenda", msg.err)
			g.err = g.env.l.T("tui.agenda.failed", "Err", g.env.writeErr(msg.err))
			return g, nil
		}
		g.err = ""
		keep := g.selected()
		g.a = msg.agenda
		g.layout()
		cur := g.nav.Cursor()
		if keep != nil {
			cur = g.reselect(*keep, cur)
		}
		g.nav.Reload(len(g.a.Items), cur)
		return g, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Back):
			return g, back("", false)
		case g.nav.Key(msg, k.navKeys):
		case key.Matches(msg, k.NextSection):
			g.jumpSection(1)
		case key.Matches(msg, k.PrevSection):
			g.jumpSection(-1)
		case key.Matches(msg, k.Open):
			if it := g.selected(); it != nil {
				if it.RecordID != "" {
					return g, cmdOf(openTasks(it.CaseID, it.RecordID))
				}
				return g, cmdOf(openCase(it.CaseID, ""))
			}
		}
	}
	return g, nil
}

// layout builds the rows: each section's heading, then its items; and
// tells the list where each item is drawn (a section's first item brings
// its heading into view with it).
func (g *agenda) layout() {
	g.rows = g.rows[:0]
	rowOf, tops := make([]int, len(g.a.Items)), make([]int, len(g.a.Items))
	for si, sec := range agendaSections {
		g.rows = append(g.rows, agendaRow{heading: true, section: si})
		for i, it := range g.a.Items {
			if it.Section == sec.s {
				r := len(g.rows)
				rowOf[i], tops[i] = r, r
				if g.rows[r-1].heading {
					tops[i] = r - 1
				}
				g.rows = append(g.rows, agendaRow{section: si, item: i})
			}
		}
	}
	g.nav.SetRows(rowOf, tops, len(g.rows))
}

func (g *agenda) selected() *caseload.AgendaItem {
	if g.nav.Cursor() >= len(g.a.Items) {
		return nil
	}
	return &g.a.Items[g.nav.Cursor()]
}

// reselect is the index of the item the cursor was on before a reload, or
// cur when it is gone.
func (g *agenda) reselect(was caseload.AgendaItem, cur int) int {
	for i, it := range g.a.Items {
		if it.CaseID == was.CaseID && it.Kind == was.Kind && it.RecordID == was.RecordID && it.Date == was.Date && it.What == was.What {
			return i
		}
	}
	return cur
}

// jumpSection moves the cursor to the first item of the next (d = 1) or
// previous (d = -1) section that has any; backwards from inside a section
// it first goes to that section's top.
func (g *agenda) jumpSection(d int) {
	it := g.selected()
	if it == nil {
		return
	}
	cur := it.Section
	first := func(s caseload.AgendaSection) int {
		for i, x := range g.a.Items {
			if x.Section == s {
				return i
			}
		}
		return -1
	}
	to := -1
	if top := first(cur); d < 0 && top >= 0 && top < g.nav.Cursor() {
		to = top
	}
	for s := int(cur) + d; to < 0 && s >= int(caseload.SectionOverdue) && s <= int(caseload.SectionWeek); s += d {
		to = first(caseload.AgendaSection(s))
	}
	if to >= 0 {
		// The section's heading at the top of the list, as far as it goes.
		g.nav.Select(to)
		g.nav.ScrollTo(max(0, g.cursorRow()-1))
	}
}

// listHeight is the rows shown: the screen less the title, the column
// heading and the legend.
func (g *agenda) listHeight() int { return max(1, g.h-3) }

// cursorRow is the row of the item under the cursor.
func (g *agenda) cursorRow() int {
	for r, row := range g.rows {
		if !row.heading && row.item == g.nav.Cursor() {
			return r
		}
	}
	return 0
}

// agendaColumns are the widths of the agenda's columns.
type agendaColumns struct {
	date, when, kind, ref, subject, what, whose int
	wide                                        bool
}

func (g *agenda) columns() agendaColumns {
	l := g.env.l
	c := agendaColumns{date: 10, kind: 7, ref: 9}
	for _, it := range g.a.Items {
		c.ref = max(c.ref, min(len(it.Ref), 16))
		c.date = max(c.date, ansiWidth(agendaDate(l, it.Date, g.a.Today)))
	}
	c.wide = g.w >= 110
	kinds := []string{caseload.AgendaHearing, caseload.AgendaVisit, caseload.AgendaTask, caseload.AgendaConsentReview}
	for _, k := range kinds {
		c.kind = max(c.kind, ansiWidth(agendaKind(l, k, c.wide)))
	}
	fixed := 2 + c.date + 1 + c.kind + 1 + c.ref + 1
	if c.wide {
		c.when, c.whose = 12, 16
		c.kind = max(c.kind, 14)
		fixed = 2 + c.date + 1 + c.when + 1 + c.kind + 1 + c.ref + 1 + 1 + c.whose
	}
	rest := max(g.w-fixed-1, 16)
	c.subject = min(rest*2/5, 24)
	c.what = rest - c.subject
	return c
}

// agendaKind is the kind as the table writes it (shorter when narrow).
func agendaKind(l *i18n.Locale, kind string, wide bool) string {
	switch kind {
	case caseload.AgendaConsentReview:
		if !wide {
			return l.T("tui.agenda.kind_review")
		}
		return l.T("kind.consent_review")
	case caseload.AgendaHearing:
		return l.T("kind.hearing")
	case caseload.AgendaVisit:
		return l.T("kind.visit")
	case caseload.AgendaTask:
		return l.T("kind.task")
	}
	return kind
}

// agendaDate writes a date as "Mon 2 Nov", or in full outside this year.
func agendaDate(l *i18n.Locale, d, today record.Date) string {
	t := d.Time()
	if t.IsZero() {
		return string(d)
	}
	if t.Year() != today.Time().Year() {
		return string(d)
	}
	return dayMonth(l, t)
}

// dayMonth is a day of this year as "Mon 2 Nov".
func dayMonth(l *i18n.Locale, t time.Time) string {
	wd := l.T(weekdayShortIDs[t.Weekday()]) // i18n: the ids are the literals of weekdayShortIDs
	return l.T("tui.common.day_month", "Weekday", wd, "Day", t.Day(), "Month", monthShort(l, t.Month()))
}

// agendaWhen says how far d is from today: "today", "in 3 days", "2 days ago".
func agendaWhen(l *i18n.Locale, d, today record.Date) string {
	switch n := daysBetween(today, d); {
	case n == 0:
		return l.T("tui.agenda.when.today")
	case n == 1:
		return l.T("tui.agenda.when.tomorrow")
	case n == -1:
		return l.T("tui.agenda.when.yesterday")
	case n > 1:
		return l.N("tui.agenda.when.in_days", n)
	default:
		return l.N("tui.agenda.when.days_ago", -n)
	}
}

func (g *agenda) View() string {
	st, l := g.env.st, g.env.l
	today := g.env.today()
	counts := map[caseload.AgendaSection]int{}
	for _, it := range g.a.Items {
		counts[it.Section]++
	}
	title := st.Title.Render(l.T("tui.agenda.title"))
	if g.loaded && g.err == "" {
		title += st.Muted.Render(sepDot + agendaDate(l, g.a.Today, today) + " – " + agendaDate(l, g.a.Until, today)) // i18n: a range's dash
	}
	right := ""
	if g.loaded && g.err == "" {
		right = l.T("tui.agenda.counts", "Overdue", counts[caseload.SectionOverdue], "Today", counts[caseload.SectionToday],
			"Week", counts[caseload.SectionWeek])
	}
	lines := []string{spread(title, st.Muted.Render(right), g.w)}

	c := g.columns()
	hdr := "  " + cell(l.T("tui.agenda.col.date"), c.date) + " "
	if c.wide {
		hdr += cell(l.T("tui.agenda.col.when"), c.when) + " "
	}
	hdr += cell(l.T("tui.agenda.col.kind"), c.kind) + " " + cell(l.T("tui.caselist.col.ref"), c.ref) + " " +
		cell(l.T("tui.caselist.col.subject"), c.subject) + " " + cell(l.T("tui.agenda.col.what"), c.what)
	if c.wide {
		hdr += " " + cell(l.T("tui.agenda.col.whose"), c.whose)
	}
	lines = append(lines, st.ColHeader.Render(fitLine(hdr, g.w)))

	switch {
	case !g.loaded:
		lines = append(lines, st.Muted.Render("  "+l.T("tui.agenda.loading")))
	case g.err != "":
		lines = append(lines, st.Error.Render("  "+g.err))
	case len(g.a.Items) == 0:
		lines = append(lines, "  "+l.T("agenda.nothing_week"))
	default:
		start, end := g.nav.Visible()
		for _, row := range g.rows[start:end] {
			if row.heading {
				sec := agendaSections[row.section]
				n := counts[sec.s]
				count := sepDot + itoa(n)
				if n == 0 {
					count = sepDot + l.T("tui.agenda.nothing")
				}
				lines = append(lines, fitLine(st.Section.Render(agendaSectionName(l, sec.s))+st.Muted.Render(count), g.w))
				continue
			}
			lines = append(lines, g.itemLine(row.item, c, today))
		}
	}
	for len(lines) < g.h-1 {
		lines = append(lines, "")
	}
	legend := l.T("tui.agenda.legend")
	if n := len(g.a.Items); n > 0 {
		legend += "   " + itoa(g.nav.Cursor()+1) + "/" + itoa(n)
	}
	lines = append(lines, fitLine(st.Muted.Render(legend), g.w))
	return strings.Join(lines, "\n")
}

// itemLine draws item i as one row of the table, cut to the width.
func (g *agenda) itemLine(i int, c agendaColumns, today record.Date) string {
	st := g.env.st
	it := g.a.Items[i]
	sel := g.nav.Selected(i)
	what := it.What
	if it.Kind == caseload.AgendaVisit && it.RecordID == "" {
		what = g.env.l.T("tui.agenda.next_visit") // the case's own next visit: the store says it in English
	}
	if it.Conflict {
		what = "≠ " + what // i18n: a sign, the help note says it
	}
	date := cell(agendaDate(g.env.l, it.Date, today), c.date)
	if it.Section == caseload.SectionOverdue && !sel {
		date = st.Overdue.Render(date)
	}
	mark := "  "
	if sel {
		mark = "▸ " // i18n: the cursor
	}
	row := mark + date + " "
	if c.wide {
		row += cell(agendaWhen(g.env.l, it.Date, today), c.when) + " "
	}
	kind := cell(agendaKind(g.env.l, it.Kind, c.wide), c.kind)
	if it.Kind == caseload.AgendaHearing && !sel {
		kind = st.Warn.Render(kind)
	}
	row += kind + " " + cell(it.Ref, c.ref) + " " + cell(it.Subject, c.subject) + " " + cell(what, c.what)
	if c.wide {
		whose := cell(strings.Join(it.Whose, ", "), c.whose)
		if !sel {
			whose = st.Muted.Render(whose)
		}
		row += " " + whose
	}
	if sel {
		return st.Selected.Render(fitLine(ansiStrip(row), g.w))
	}
	return fitLine(row, g.w)
}
