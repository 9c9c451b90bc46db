package tui

import (
	"cmp"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// sortOrder is how the case list is sorted; the Sort key cycles through them.
type sortOrder int

const (
	byDue sortOrder = iota
	byRef
	byActivity
	numOrders
)

// label names the order, as the title says it.
func (o sortOrder) label(l *i18n.Locale) string {
	switch o {
	case byRef:
		return l.T("tui.caselist.order.ref")
	case byActivity:
		return l.T("tui.caselist.order.activity")
	}
	return l.T("tui.caselist.order.due")
}

// caseRow is a case with its lower-case haystack for the filter.
type caseRow struct {
	cv  store.CaseView
	hay []rune
}

// casesLoadedMsg carries the cases (sent by loadCasesCmd).
type casesLoadedMsg struct {
	rows []caseRow
	gone []store.Reassignment // cases reassigned and removed from this laptop lately
	err  error
}

func loadCasesCmd(v *store.Vault) tea.Cmd {
	return func() tea.Msg {
		cs, err := v.Cases()
		if err != nil {
			return casesLoadedMsg{err: err}
		}
		rows := make([]caseRow, len(cs))
		for i, c := range cs {
			rows[i] = caseRow{cv: c, hay: []rune(strings.ToLower(c.Value.Ref + " " + c.Value.Subject + " " + c.Value.Address))}
		}
		gone, err := v.RemovedCases()
		return casesLoadedMsg{rows: rows, gone: gone, err: err}
	}
}

// caseList is the list of cases: filter as you type (fuzzy over reference,
// subject and address), three sort orders, and markers for overdue visits,
// conflicts and changes not yet synced. Only visible rows are drawn, so it
// stays fast with thousands of cases.
type caseList struct {
	env       *env
	all       []caseRow
	gone      []store.Reassignment // removed from this laptop: said on the last line
	shown     []int                // indexes into all: filtered and sorted
	scores    []int                // filter score per index of all
	nav       listNav              // cursor and window over shown
	filter    textinput.Model
	filtering bool
	order     sortOrder
	loaded    bool
	err       error
	w, h      int

	// workerID, when set, limits the list to the open cases the worker
	// holds per the team view: the supervisor's drill-down.
	workerID, workerName string
}

// newWorkerCaseList is the case list of one worker of the team view.
func newWorkerCaseList(e *env, userID, name string) *caseList {
	l := newCaseList(e)
	l.workerID, l.workerName = userID, name
	return l
}

// heldBy is the set of cases the worker holds per the team view.
func (l *caseList) heldBy() map[string]bool {
	held := map[string]bool{}
	if l.env.team == nil || l.env.team.tv == nil {
		return held
	}
	for _, tc := range l.env.team.tv.Cases {
		if slices.Contains(tc.Members, l.workerID) {
			held[tc.ID] = true
		}
	}
	return held
}

func newCaseList(e *env) *caseList {
	f := textinput.New()
	f.Prompt = "/ "
	f.Placeholder = e.l.T("tui.caselist.filter_placeholder")
	f.SetStyles(e.st.textinputStyles())
	f.SetWidth(30)
	return &caseList{env: e, filter: f}
}

func (l *caseList) Init() tea.Cmd { return l.env.io(loadCasesCmd(l.env.vault)) }

func (l *caseList) Title() string {
	if l.workerID != "" {
		return l.workerName
	}
	return l.env.l.T("tui.caselist.title")
}

func (l *caseList) Typing() bool { return l.filtering }

func (l *caseList) SetSize(w, h int) {
	l.w, l.h = w, h
	l.filter.SetWidth(max(10, min(40, w/2-4)))
	l.nav.SetHeight(l.listHeight())
}

func (l *caseList) ShortHelp() []key.Binding {
	k := l.env.keys.caseList
	if l.filtering {
		return []key.Binding{k.Up, k.Down, key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", l.env.l.T("tui.common.done"))),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", l.env.l.T("tui.caselist.clear_filter")))}
	}
	if l.workerID != "" {
		return l.env.keys.workerCases.ShortHelp()
	}
	s := k.ShortHelp()
	switch l.env.vault.Profile().Role {
	case protocol.RoleSupervisor, protocol.RoleAdmin:
		s = append(s, k.Team, k.Consents)
	case protocol.RoleCaseworker:
		s = append(s, k.Consents)
	case protocol.RoleTypist:
		s = append(s, k.TypingQueue)
	}
	return s
}

func (l *caseList) FullHelp() [][]key.Binding {
	if l.workerID != "" {
		return l.env.keys.workerCases.FullHelp()
	}
	h := l.env.keys.caseList.FullHelp()
	if l.env.vault.Profile().Role == protocol.RoleTypist {
		h[len(h)-1] = []key.Binding{l.env.keys.caseList.TypingQueue}
	}
	return h
}

// selectedID is the id of the case under the cursor, or "".
func (l *caseList) selectedID() string {
	if l.nav.Cursor() >= len(l.shown) {
		return ""
	}
	return l.all[l.shown[l.nav.Cursor()]].cv.ID
}

func (l *caseList) Update(msg tea.Msg) (component, tea.Cmd) {
	k := l.env.keys.caseList
	switch msg := msg.(type) {
	case casesLoadedMsg:
		keep := l.selectedID()
		l.loaded, l.err = true, msg.err
		if msg.err == nil {
			l.all, l.gone = msg.rows, msg.gone
			if l.workerID != "" {
				held := l.heldBy()
				l.all = slices.DeleteFunc(l.all, func(r caseRow) bool {
					return !held[r.cv.ID] || r.cv.Sealed || r.cv.Value.Status == record.CaseClosed
				})
			}
		}
		l.refilter(keep)
		return l, nil
	case notesLoadedMsg:
		return l, l.Init()
	case tea.KeyPressMsg:
		nav, open, filter, sort, esc := l.listKeys()
		if l.filtering {
			return l.filterKey(msg, nav)
		}
		if l.nav.Key(msg, nav) {
			return l, nil
		}
		switch {
		case key.Matches(msg, open):
			if id := l.selectedID(); id != "" {
				if l.all[l.shown[l.nav.Cursor()]].cv.Sealed {
					return l, notice(l.env.l.T("tui.caselist.sealed_notice"))
				}
				return l, cmdOf(openCase(id, ""))
			}
		case key.Matches(msg, filter):
			l.filtering = true
			return l, l.filter.Focus()
		case key.Matches(msg, sort):
			l.order = (l.order + 1) % numOrders
			l.refilter(l.selectedID())
		case key.Matches(msg, k.Search):
			return l, cmdOf(openSearch())
		case key.Matches(msg, k.NewCase) && l.workerID == "":
			return l, cmdOf(editCase(""))
		case key.Matches(msg, esc):
			if l.filter.Value() != "" {
				l.filter.Reset()
				l.refilter(l.selectedID())
			} else if l.workerID != "" {
				return l, back("", false)
			}
		case l.workerID != "":
			if key.Matches(msg, l.env.keys.workerCases.Reassign) {
				if id := l.selectedID(); id != "" {
					return l, cmdOf(openAssign(id, l.all[l.shown[l.nav.Cursor()]].cv.Value.Ref))
				}
			}
		case key.Matches(msg, k.Agenda):
			return l, cmdOf(openAgenda())
		case key.Matches(msg, k.Team):
			return l, cmdOf(openTeam())
		case key.Matches(msg, k.Consents):
			return l, cmdOf(openConsents())
		case key.Matches(msg, k.TypingQueue):
			return l, cmdOf(openTypingQueue())
		}
	}
	return l, nil
}

// listKeys are the keys the list has in both of its modes, from the keymap
// of the mode it is in: a worker's cases, or the user's own.
func (l *caseList) listKeys() (nav navKeys, open, filter, sort, esc key.Binding) {
	if l.workerID != "" {
		k := l.env.keys.workerCases
		return k.navKeys, k.Open, k.Filter, k.Sort, k.Back
	}
	k := l.env.keys.caseList
	return k.navKeys, k.Open, k.Filter, k.Sort, k.Back
}

func (l *caseList) filterKey(msg tea.KeyPressMsg, nav navKeys) (component, tea.Cmd) {
	return l, filterKey(msg, nav, &l.filter, &l.filtering, l.nav.Move, l.listHeight(), func(cleared bool) {
		if cleared {
			l.refilter(l.selectedID())
			return
		}
		l.nav.Reset()
		l.refilter("")
	})
}

// refilter recomputes the shown rows from the filter and the sort order,
// keeping the cursor on keepID when it is still shown.
func (l *caseList) refilter(keepID string) {
	q := splitWords(strings.ToLower(l.filter.Value()))
	l.shown = l.shown[:0]
	if cap(l.scores) < len(l.all) {
		l.scores = make([]int, len(l.all))
	}
	l.scores = l.scores[:len(l.all)]
	for i := range l.all {
		s, ok := fuzzyWords(q, l.all[i].hay)
		if ok {
			l.scores[i] = s
			l.shown = append(l.shown, i)
		}
	}
	byOrder := func(a, b int) int {
		ca, cb := &l.all[a].cv, &l.all[b].cv
		switch l.order {
		case byRef:
			return cmp.Compare(ca.Value.Ref, cb.Value.Ref)
		case byActivity:
			return cmp.Or(cmp.Compare(cb.LastActivity, ca.LastActivity), cmp.Compare(ca.Value.Ref, cb.Value.Ref))
		}
		// Next due: earliest date first (so overdue first), undated and
		// closed cases last.
		if ac, bc := ca.Value.Status == record.CaseClosed, cb.Value.Status == record.CaseClosed; ac != bc {
			if ac {
				return 1
			}
			return -1
		}
		da, db := ca.Due(), cb.Due()
		if (da == "") != (db == "") {
			if da == "" {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(da, db), cmp.Compare(ca.Value.Ref, cb.Value.Ref))
	}
	if len(q) > 0 {
		slices.SortStableFunc(l.shown, func(a, b int) int {
			return cmp.Or(cmp.Compare(l.scores[b], l.scores[a]), byOrder(a, b))
		})
	} else {
		slices.SortStableFunc(l.shown, byOrder)
	}
	cursor := 0
	if keepID != "" {
		for i, idx := range l.shown {
			if l.all[idx].cv.ID == keepID {
				cursor = i
				break
			}
		}
	}
	l.nav.Reload(len(l.shown), cursor)
}

func (l *caseList) listHeight() int { return max(1, l.h-3) }

// columns are the widths of the case list's columns at the current width.
type columns struct {
	ref, subject, address, status, risk, due, flags int
	wide                                            bool
}

func (l *caseList) columns() columns {
	c := columns{ref: 9, status: 7, risk: 6, due: 12, flags: 2}
	for _, s := range []string{"open", "pending", "closed"} { // i18n: a record's values
		c.status = max(c.status, ansiWidth(statusWord(l.env.l, s)))
	}
	for _, r := range []string{"low", "medium", "high"} { // i18n: a record's values
		c.risk = max(c.risk, ansiWidth(riskWord(l.env.l, r)))
	}
	for _, r := range l.all {
		c.ref = max(c.ref, min(len(r.cv.Value.Ref), 16))
	}
	c.wide = l.w >= 110
	if c.wide {
		c.flags = 18
	}
	fixed := 2 + c.ref + 1 + 1 + c.status + 1 + c.risk + 1 + c.due + 1 + c.flags
	rest := max(l.w-fixed, 10)
	if c.wide {
		c.subject = rest * 2 / 5
		c.address = rest - c.subject - 1
	} else {
		c.subject = rest
	}
	return c
}

func (l *caseList) View() string {
	st, lc := l.env.st, l.env.l
	var b strings.Builder
	// Title line: count, order, filter.
	sorted := st.Muted.Render(sepDot + lc.T("tui.caselist.sorted_by", "Order", l.order.label(lc)))
	title := st.Title.Render(lc.N("tui.common.cases", len(l.all))) + sorted
	if l.workerID != "" {
		count := lc.T("tui.common.loading")
		if l.loaded {
			count = lc.N("tui.caselist.open_cases", len(l.all))
		}
		title = st.Title.Render(l.workerName+sepDot+count) + sorted
	}
	if l.filter.Value() != "" || l.filtering {
		title += st.Muted.Render(sepDot) + lc.N("tui.caselist.matches", len(l.shown))
	}
	right := ""
	if l.filtering || l.filter.Value() != "" {
		right = l.filter.View()
	}
	b.WriteString(spread(title, right, l.w) + "\n")

	c := l.columns()
	hdr := "  " + cell(lc.T("tui.caselist.col.ref"), c.ref) + " " + cell(lc.T("tui.caselist.col.subject"), c.subject) + " "
	if c.wide {
		hdr += cell(lc.T("tui.caselist.col.address"), c.address) + " "
	}
	hdr += cell(lc.T("tui.caselist.col.status"), c.status) + " " + cell(lc.T("tui.caselist.col.risk"), c.risk) + " " +
		cell(lc.T("tui.caselist.col.due"), c.due) + " " + cell("", c.flags)
	b.WriteString(st.ColHeader.Render(fitLine(hdr, l.w)) + "\n")

	switch {
	case !l.loaded:
		b.WriteString(st.Muted.Render("  "+lc.T("tui.caselist.loading")) + "\n")
	case l.err != nil:
		b.WriteString(st.Error.Render("  "+lc.T("tui.caselist.failed", "Err", l.err.Error())) + "\n")
	case len(l.all) == 0 && l.workerID != "":
		b.WriteString("  " + lc.T("tui.caselist.worker_none", "Name", l.workerName) + "\n")
	case len(l.all) == 0:
		b.WriteString("  " + lc.T("tui.caselist.none") + "\n")
	case len(l.shown) == 0:
		b.WriteString("  " + lc.T("tui.caselist.no_match", "Filter", l.filter.Value()) + "\n")
	}
	today := l.env.today()
	start, end := l.nav.Visible()
	// Narrow, the address column is hidden: a row that the filter found
	// by its address shows the address, so the match is not a mystery.
	var q [][]rune
	if !c.wide && l.filter.Value() != "" {
		q = splitWords(strings.ToLower(l.filter.Value()))
	}
	subject := func(r *store.CaseView) string {
		if r.Reassigned != nil {
			// Taken away by a supervisor: read-only here, and said first.
			return r.Reassigned.Summary() + sepDot + r.Value.Subject
		}
		if q != nil && r.Value.Address != "" {
			if _, ok := fuzzyWords(q, []rune(strings.ToLower(r.Value.Ref+" "+r.Value.Subject))); !ok {
				return lc.T("tui.caselist.subject_at", "Subject", r.Value.Subject, "Address", r.Value.Address)
			}
		}
		return r.Value.Subject
	}
	for i := start; i < end; i++ {
		r := &l.all[l.shown[i]].cv
		sel := l.nav.Selected(i)
		if r.Sealed {
			// Its records arrived before its key: nothing to show but why.
			line := cell(lc.T("tui.caselist.sealed"), c.ref) + " " + lc.T("tui.caselist.sealed_why")
			if sel {
				b.WriteString(st.Selected.Render(fitLine("▸ "+line, l.w)) + "\n") // i18n: the cursor
			} else {
				b.WriteString(st.Muted.Render(fitLine("  "+line, l.w)) + "\n")
			}
			continue
		}
		due := r.Due()
		dueText := string(due)
		if due == "" {
			dueText = "—" // i18n: none
		}
		overdue := r.Overdue(today) && r.Value.Status != record.CaseClosed
		if overdue {
			dueText += " !"
		}
		flags := ""
		if c.wide {
			var fs []string
			if r.Conflict || r.Conflicts > 0 {
				fs = append(fs, lc.T("tui.caselist.flag_conflict"))
			}
			if r.Pending > 0 {
				fs = append(fs, lc.T("tui.caselist.flag_unsynced"))
			}
			flags = strings.Join(fs, " ")
		} else {
			if r.Conflict || r.Conflicts > 0 {
				flags += "≠" // i18n: a sign, the legend says it
			} else {
				flags += " "
			}
			if r.Pending > 0 {
				flags += "↑" // i18n: a sign, the legend says it
			}
		}
		if sel {
			line := "▸ " + cell(r.Value.Ref, c.ref) + " " + cell(subject(r), c.subject) + " " // i18n: the cursor
			if c.wide {
				line += cell(r.Value.Address, c.address) + " "
			}
			line += cell(statusWord(lc, r.Value.Status), c.status) + " " + cell(riskWord(lc, r.Value.Risk), c.risk) + " " +
				cell(dueText, c.due) + " " + cell(flags, c.flags)
			b.WriteString(st.Selected.Render(fitLine(line, l.w)) + "\n")
			continue
		}
		risk := cell(riskWord(lc, r.Value.Risk), c.risk)
		if r.Value.Risk == "high" { // i18n: a record's value
			risk = st.Bad.Render(risk)
		}
		dueCell := cell(dueText, c.due)
		if overdue {
			dueCell = st.Overdue.Render(dueCell)
		}
		flagCell := cell(flags, c.flags)
		if r.Conflict || r.Conflicts > 0 {
			flagCell = st.Conflict.Render(flagCell)
		} else {
			flagCell = st.Unsynced.Render(flagCell)
		}
		status := cell(statusWord(lc, r.Value.Status), c.status)
		if r.Value.Status == record.CaseClosed {
			status = st.Muted.Render(status)
		}
		line := "  " + cell(r.Value.Ref, c.ref) + " " + cell(subject(r), c.subject) + " "
		if c.wide {
			line += st.Muted.Render(cell(r.Value.Address, c.address)) + " "
		}
		line += status + " " + risk + " " + dueCell + " " + flagCell
		b.WriteString(fitLine(line, l.w) + "\n")
	}
	// Legend on the last line.
	out := b.String()
	lines := strings.Count(out, "\n")
	for ; lines < l.h-1; lines++ {
		out += "\n"
	}
	legend := lc.T("tui.caselist.legend")
	if pos := l.nav.Position(); pos != "" {
		legend += st.Muted.Render("   " + pos)
	}
	if len(l.gone) > 0 && l.workerID == "" {
		r := l.gone[0]
		gone := lc.T("tui.caselist.gone", "Ref", r.Ref, "What", r.Summary())
		if len(l.gone) > 1 {
			gone += " " + lc.N("tui.caselist.gone_more", len(l.gone)-1)
		}
		return out + fitLine(st.Warn.Render(gone)+st.Muted.Render(sepDot+legend), l.w)
	}
	return out + st.Muted.Render(legend)
}

// statusWord is a case's status as the screen says it; a value the
// record schema does not know is shown as it is.
func statusWord[S ~string](l *i18n.Locale, s S) string {
	switch string(s) {
	case "open": // i18n: a record's value
		return l.T("tui.common.status.open")
	case "pending": // i18n: a record's value
		return l.T("tui.common.status.pending")
	case "closed": // i18n: a record's value
		return l.T("tui.common.status.closed")
	}
	return string(s)
}

// riskWord is a case's risk as the screen says it.
func riskWord(l *i18n.Locale, r string) string {
	switch r {
	case "low": // i18n: a record's value
		return l.T("tui.common.risk.low")
	case "medium": // i18n: a record's value
		return l.T("tui.common.risk.medium")
	case "high": // i18n: a record's value
		return l.T("tui.common.risk.high")
	}
	return r
}

// spread puts left and right on one line of width w.
func spread(left, right string, w int) string {
	gap := w - ansiWidth(left) - ansiWidth(right)
	if gap < 1 {
		return fitLine(left+" "+right, w)
	}
	return left + strings.Repeat(" ", gap) + right
}
