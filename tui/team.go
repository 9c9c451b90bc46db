package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// serverTimeout bounds one call to the case server from a screen (the
// client retries within it). A lock waits for a call under way, so it must
// not be long.
const serverTimeout = 30 * time.Second

// teamFetchedKey is where the TUI notes, in the vault's device-local state,
// when it last fetched the team view (the kept view carries no date).
const teamFetchedKey = "tui.teamfetched" // i18n: a key in the vault, not a message

// staleSync is how long since a worker's devices last synced before the
// team view flags it.
const staleSync = 48 * time.Hour

// notEnrolledTeam is what the supervisor screens say on a device with no
// case server.
func notEnrolledTeam(l *i18n.Locale) string { return l.T("tui.team.not_enrolled") }

// errNoTeamView is a server that answered with no team view.
var errNoTeamView = errors.New("the server sent no team view") // i18n: serverError says it

// teamState is the team view the supervisor screens share during an unlock.
// It is read and replaced only on the program's goroutine; a published view
// is never changed (commands read it while it may be replaced), so screens
// that change the team publish a changed copy.
type teamState struct {
	tv      *protocol.TeamView
	fetched time.Time // when tv came from the server; zero if unknown
	changed int       // bumped by assignments and policy edits: views refresh
}

// isSupervisor reports whether the vault's user may see the team screens.
func isSupervisor(v *store.Vault) bool {
	r := v.Profile().Role
	return r == protocol.RoleSupervisor || r == protocol.RoleAdmin
}

// serverError says why a call to the case server failed, in words for the
// user. The server's own message (pe.Message) comes through as it sent it.
func serverError(l *i18n.Locale, err error) string {
	var pe *protocol.Error
	switch {
	case errors.Is(err, client.ErrServerTrouble):
		return l.T("tui.team.server_trouble")
	case errors.Is(err, client.ErrOffline):
		return l.T("tui.team.server_offline")
	case errors.Is(err, context.DeadlineExceeded):
		return l.T("tui.team.server_timeout")
	case errors.Is(err, store.ErrLocked):
		return l.T("tui.team.vault_locked")
	case errors.Is(err, errNoTeamView):
		return l.T("tui.team.no_team_view_sent")
	case errors.As(err, &pe):
		switch pe.Code {
		case protocol.CodeForbidden:
			return l.T("tui.team.server_forbidden", "Message", pe.Message)
		case protocol.CodeConflict:
			return l.T("tui.team.server_conflict", "Message", pe.Message)
		case protocol.CodeNotFound:
			return l.T("tui.team.server_not_found", "Message", pe.Message)
		}
		return pe.Message
	}
	return writeErrorIn(l, err)
}

// ago says how long before now t was, shortly: "just now", "20m ago",
// "3h ago", "5d ago".
func ago(l *i18n.Locale, now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return l.T("tui.team.just_now")
	case d < time.Hour:
		return l.N("tui.team.minutes_ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return l.N("tui.team.hours_ago", int(d.Hours()))
	}
	days := int(d.Hours() / 24)
	return l.N("tui.team.days_ago", days, "Days", itoa(days)) // ungrouped, as it always was
}

// shortMonth is a month's name, shortened as the locale shortens it (Jan,
// Ion).
func shortMonth(l *i18n.Locale, m time.Month) string {
	return l.T(shortMonthIDs[m-1]) // i18n: the ids are the literals of shortMonthIDs
}

// The short months' ids, spelled out so the catalogue test finds them.
var shortMonthIDs = [12]string{"tui.team.mon.jan", "tui.team.mon.feb", "tui.team.mon.mar", // i18n: ids
	"tui.team.mon.apr", "tui.team.mon.may", "tui.team.mon.jun", "tui.team.mon.jul", "tui.team.mon.aug", // i18n: ids
	"tui.team.mon.sep", "tui.team.mon.oct", "tui.team.mon.nov", "tui.team.mon.dec"} // i18n: ids

// loadBar draws a load (1 = at capacity) as width cells between brackets.
func loadBar(load float64, width int) string {
	n := max(0, min(int(load*float64(width)+0.5), width))
	return "[" + strings.Repeat("█", n) + strings.Repeat("·", width-n) + "]"
}

// num writes a weight: 12, 12.5, 12.25.
func num(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

type (
	// teamLoadedMsg carries the team view and its rows: the one kept in
	// the vault (stored), or a fresh one from the server.
	teamLoadedMsg struct {
		gen     int
		stored  bool
		tv      *protocol.TeamView
		rows    []caseload.Worker
		fetched time.Time
		err     error // of the load or the refresh
	}
)

// buildTeam computes the rows of tv (nil: no rows).
func buildTeam(v *store.Vault, tv *protocol.TeamView, now time.Time) ([]caseload.Worker, error) {
	if tv == nil {
		return nil, nil
	}
	return caseload.Build(v, tv, now)
}

// loadStoredTeamCmd reads the team view kept in the vault and builds its
// rows.
func loadStoredTeamCmd(v *store.Vault, ts TeamService, gen int, now time.Time) tea.Cmd {
	return func() tea.Msg {
		msg := teamLoadedMsg{gen: gen, stored: true}
		msg.tv, msg.err = ts.Stored()
		if msg.err != nil {
			return msg
		}
		if m, err := v.Locals(teamFetchedKey); err == nil && m[teamFetchedKey] != nil {
			_ = msg.fetched.UnmarshalText(m[teamFetchedKey])
		}
		msg.rows, msg.err = buildTeam(v, msg.tv, now)
		return msg
	}
}

// refreshTeamCmd fetches the team view from the server and builds its
// rows.
func refreshTeamCmd(v *store.Vault, ts TeamService, gen int, now time.Time) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		msg := teamLoadedMsg{gen: gen}
		msg.tv, msg.err = ts.Refresh(ctx)
		if msg.err != nil {
			return msg
		}
		if msg.tv == nil {
			msg.err = errNoTeamView
			return msg
		}
		msg.fetched = now
		if b, err := now.MarshalText(); err == nil {
			_ = v.PutLocal(teamFetchedKey, b) // only for the offline line
		}
		msg.rows, msg.err = buildTeam(v, msg.tv, now)
		return msg
	}
}

// rebuildTeamCmd recomputes the rows of a view already held (the cases may
// have changed).
func rebuildTeamCmd(v *store.Vault, tv *protocol.TeamView, gen int, fetched, now time.Time) tea.Cmd {
	return func() tea.Msg {
		rows, err := buildTeam(v, tv, now)
		return teamLoadedMsg{gen: gen, stored: true, tv: tv, rows: rows, fetched: fetched, err: err}
	}
}

// teamScreen is the supervisor's team view: one row per worker with their
// open cases, weighted load against capacity, overdue visits, hearings
// within 14 days, conflicts, dictations waiting and when their devices last
// synced. It opens on the view kept in the vault (so it works offline) and
// refreshes it from the server in the background.
type teamScreen struct {
	env        *env
	ts         TeamService
	rows       []caseload.Worker
	loaded     bool
	loadErr    string
	refreshing bool
	refreshErr error
	updated    bool // refreshed from the server during this visit
	gen        int
	seen       int // env.team.changed when last loaded
	started    bool
	nav        listNav // cursor and window over rows
	w, h       int
}

func newTeamScreen(e *env, ts TeamService) *teamScreen {
	if e.team == nil {
		e.team = &teamState{}
	}
	return &teamScreen{env: e, ts: ts}
}

func (t *teamScreen) Title() string { return t.env.l.T("tui.team.title") }

func (t *teamScreen) Typing() bool { return false }

func (t *teamScreen) SetSize(w, h int) {
	t.w, t.h = w, h
	t.nav.SetHeight(t.listHeight())
}

func (t *teamScreen) ShortHelp() []key.Binding {
	return t.env.keys.team.ShortHelp()
}

func (t *teamScreen) FullHelp() [][]key.Binding {
	return t.env.keys.team.FullHelp()
}

// HelpNote explains every column, by the names narrow and wide windows
// give them.
func (t *teamScreen) HelpNote() string {
	return t.env.l.T("tui.team.help_note")
}

func (t *teamScreen) Init() tea.Cmd {
	if t.ts == nil {
		return nil
	}
	ts := t.env.team
	if !t.started {
		t.started = true
		t.seen = ts.changed
		t.gen++
		if ts.tv != nil {
			// Another screen loaded it this unlock: show it, then refresh.
			return tea.Batch(t.env.io(rebuildTeamCmd(t.env.vault, ts.tv, t.gen, ts.fetched, t.env.now())), t.refresh())
		}
		return t.env.io(loadStoredTeamCmd(t.env.vault, t.ts, t.gen, t.env.now()))
	}
	// Back on top (or the data synced). An answer that came while another
	// screen was on top went to that screen and is lost: a load or a
	// refresh under way then is asked for again.
	lost := t.refreshing
	t.refreshing = false
	if !t.loaded && ts.tv == nil {
		t.gen++
		return t.env.io(loadStoredTeamCmd(t.env.vault, t.ts, t.gen, t.env.now()))
	}
	if ts.changed != t.seen || lost {
		// An assignment or a policy edit: recount at once from the view
		// as changed here, and ask the server, which has the truth.
		t.seen = ts.changed
		return tea.Batch(t.rebuild(), t.refresh())
	}
	return t.rebuild()
}

func (t *teamScreen) rebuild() tea.Cmd {
	ts := t.env.team
	if ts.tv == nil {
		return nil
	}
	return t.env.io(rebuildTeamCmd(t.env.vault, ts.tv, t.gen, ts.fetched, t.env.now()))
}

func (t *teamScreen) refresh() tea.Cmd {
	if t.ts == nil || t.refreshing {
		return nil
	}
	t.refreshing = true
	t.gen++
	return t.env.io(refreshTeamCmd(t.env.vault, t.ts, t.gen, t.env.now()))
}

func (t *teamScreen) selected() (caseload.Worker, bool) {
	if t.nav.Cursor() >= len(t.rows) {
		return caseload.Worker{}, false
	}
	return t.rows[t.nav.Cursor()], true
}

func (t *teamScreen) Update(msg tea.Msg) (component, tea.Cmd) {
	k := t.env.keys.team
	switch msg := msg.(type) {
	case teamLoadedMsg:
		return t, t.loadedMsg(msg)
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Back):
			return t, back("", false)
		case key.Matches(msg, k.Turnaround): // from the vault: needs no server
			return t, cmdOf(openTurnaround())
		case key.Matches(msg, k.Retention): // from the vault: acts need the server
			return t, cmdOf(openRetention())
		case t.ts == nil:
			return t, nil
		case t.nav.Key(msg, k.navKeys): // moved the cursor
		case key.Matches(msg, k.Refresh):
			if t.refreshing {
				return t, nil
			}
			return t, t.refresh()
		case key.Matches(msg, k.Policy):
			return t, cmdOf(openPolicy())
		case key.Matches(msg, k.Open):
			if w, ok := t.selected(); ok {
				return t, cmdOf(openWorkerCases(w.UserID, w.Name))
			}
		}
	}
	return t, nil
}

func (t *teamScreen) loadedMsg(msg teamLoadedMsg) tea.Cmd {
	ts := t.env.team
	first := !t.loaded
	if msg.stored {
		if msg.err != nil {
			t.env.logErr("loading the team view", msg.err)
			t.loaded = true
			t.loadErr = t.env.l.T("tui.team.load_failed", "Err", t.env.writeErr(msg.err))
			return t.refresh()
		}
		if ts.tv != nil && msg.tv != ts.tv {
			return nil // built from a view replaced since
		}
	} else {
		if msg.gen != t.gen {
			return nil // only the latest refresh counts
		}
		t.refreshing = false
		t.refreshErr = msg.err
		if msg.err != nil {
			t.env.logErr("refreshing the team view", msg.err)
			t.loaded = true
			return nil
		}
		t.updated = true
	}
	var keep string
	if w, ok := t.selected(); ok {
		keep = w.UserID
	}
	t.loaded, t.loadErr = true, ""
	if msg.tv != nil {
		ts.tv = msg.tv
		if !msg.fetched.IsZero() {
			ts.fetched = msg.fetched
		}
	}
	t.rows = msg.rows
	cursor := t.nav.Cursor()
	for i, w := range t.rows {
		if w.UserID == keep {
			cursor = i
		}
	}
	t.nav.Reload(len(t.rows), cursor)
	if msg.stored && first {
		return t.refresh() // the kept view is up; now ask the server
	}
	return nil
}

func (t *teamScreen) listHeight() int { return max(1, t.h-4) }

// teamCols are the widths of the team table at the current width; 0 drops
// a column.
type teamCols struct {
	name, cases, bar, load, overdue, court, conflicts, dict, sync, devices int
	wide                                                                   bool
}

func (t *teamScreen) columns() teamCols {
	if t.w >= 120 {
		c := teamCols{wide: true, cases: 10, bar: 20, load: 18, overdue: 7, court: 10, conflicts: 9, dict: 10, sync: 10}
		if t.w < 150 {
			c.bar = 10
		}
		fixed := 2 + c.cases + 1 + c.bar + 2 + 1 + c.load + 1 + c.overdue + 1 + c.court + 1 + c.conflicts + 1 + c.dict + 1 + c.sync + 1
		rest := t.w - fixed
		c.name = min(max(16, rest/3), 24)
		c.devices = max(0, rest-c.name-1)
		return c
	}
	// Narrow: the worker's name needs room; drop the columns that matter
	// least until it has some.
	c := teamCols{cases: 5, bar: 10, load: 11, overdue: 4, court: 5, conflicts: 4, dict: 4, sync: 10}
	width := func() int {
		n := 2 + c.cases + 1 + c.load + 1 + c.overdue + 1 + c.sync
		if c.bar > 0 {
			n += c.bar + 2 + 1
		}
		for _, x := range []int{c.court, c.conflicts, c.dict} {
			if x > 0 {
				n += x + 1
			}
		}
		return n
	}
	for _, drop := range []*int{&c.dict, &c.conflicts, &c.court, &c.bar} {
		if t.w-width()-1 >= 12 {
			break
		}
		*drop = 0
	}
	c.name = max(8, min(24, t.w-width()-1))
	return c
}

func (t *teamScreen) View() string {
	st, l := t.env.st, t.env.l
	if t.ts == nil {
		return st.Title.Render(l.T("tui.team.heading")) + "\n\n" + notEnrolledTeam(l) + ".\n\n" +
			st.Muted.Render(l.T("tui.team.esc_back"))
	}
	ts := t.env.team
	var lines []string

	// Title: team, policy, totals; then the state of the view.
	title := l.T("tui.team.heading")
	right := ""
	if ts.tv != nil {
		if ts.tv.Team != "" {
			title += " · " + ts.tv.Team
		}
		open := 0
		for _, w := range t.rows {
			open += w.OpenCases
		}
		right = l.N("tui.team.workers", len(t.rows)) + " · " + l.N("tui.team.open_cases", open) + " · " +
			l.T("tui.team.policy_version", "Version", ts.tv.PolicyVersion)
	}
	lines = append(lines, spread(st.Title.Render(title), st.Muted.Render(right), t.w))
	lines = append(lines, fitLine(t.stateLine(), t.w))

	c := t.columns()
	lines = append(lines, st.ColHeader.Render(fitLine(t.header(c), t.w)))
	switch {
	case !t.loaded:
		lines = append(lines, st.Muted.Render("  "+l.T("tui.team.loading")))
	case t.loadErr != "":
		lines = append(lines, st.Error.Render("  "+t.loadErr))
	case ts.tv == nil && t.refreshing:
		lines = append(lines, st.Muted.Render("  "+l.T("tui.team.none_fetching")))
	case ts.tv == nil:
		lines = append(lines, "  "+l.T("tui.team.none_connect"))
	case len(t.rows) == 0:
		lines = append(lines, "  "+l.T("tui.team.no_workers"))
	}
	start, end := t.nav.Visible()
	for i := start; i < end; i++ {
		lines = append(lines, t.row(c, t.rows[i], t.nav.Selected(i)))
	}
	for len(lines) < t.h-1 {
		lines = append(lines, "")
	}
	legend := l.T("tui.team.legend")
	if pos := t.nav.Position(); pos != "" {
		legend += "   " + pos
	}
	lines = append(lines, fitLine(st.Muted.Render(legend), t.w))
	return strings.Join(lines, "\n")
}

// stateLine says whether the view is fresh, being refreshed, or kept from
// earlier because the server cannot be reached.
func (t *teamScreen) stateLine() string {
	st, l := t.env.st, t.env.l
	ts := t.env.team
	from := ""
	if ts.tv != nil {
		if ts.fetched.IsZero() {
			from = l.T("tui.team.from_kept")
		} else {
			f := ts.fetched.In(t.env.now().Location())
			from = l.T("tui.team.from_time", "Day", f.Day(), "Month", shortMonth(l, f.Month()), "Time", f.Format("15:04"))
		}
	}
	switch {
	case t.refreshing && ts.tv != nil:
		return st.Muted.Render(l.T("tui.team.refreshing_showing", "From", from))
	case t.refreshing:
		return st.Muted.Render(l.T("tui.team.refreshing"))
	case t.refreshErr != nil && errors.Is(t.refreshErr, client.ErrOffline) && ts.tv != nil:
		return st.Warn.Render(l.T("tui.team.offline_showing", "From", from))
	case t.refreshErr != nil && errors.Is(t.refreshErr, client.ErrOffline):
		return st.Warn.Render(l.T("tui.team.offline_none"))
	case t.refreshErr != nil:
		if ts.tv != nil {
			return st.Error.Render(l.T("tui.team.refresh_failed_showing", "Err", serverError(l, t.refreshErr), "From", from))
		}
		return st.Error.Render(l.T("tui.team.refresh_failed", "Err", serverError(l, t.refreshErr)))
	case t.updated:
		return st.Muted.Render(l.T("tui.team.updated", "Time", t.env.now().Format("15:04")))
	}
	return ""
}

func (t *teamScreen) header(c teamCols) string {
	l := t.env.l
	s := "  " + cell(l.T("tui.team.col.worker"), c.name) + " "
	if c.wide {
		s += padLeft(l.T("tui.team.col.open_cases"), c.cases) + " " + cell(l.T("tui.team.col.weighted_load"), c.bar+2+1+c.load) + " " +
			padLeft(l.T("tui.team.col.overdue"), c.overdue) + " " + padLeft(l.T("tui.team.col.court_14d"), c.court) + " " +
			padLeft(l.T("tui.team.col.conflicts"), c.conflicts) + " " + padLeft(l.T("tui.team.col.dictations"), c.dict) + " " +
			cell(l.T("tui.team.col.last_sync"), c.sync) + " " + cell(l.T("tui.team.col.devices"), c.devices)
		return s
	}
	s += padLeft(l.T("tui.team.col.cases"), c.cases) + " "
	if c.bar > 0 {
		s += cell(l.T("tui.team.col.load"), c.bar+2+1+c.load) + " "
	} else {
		s += cell(l.T("tui.team.col.load"), c.load) + " "
	}
	s += padLeft(l.T("tui.team.col.over"), c.overdue) + " "
	if c.court > 0 {
		s += padLeft(l.T("tui.team.col.court"), c.court) + " "
	}
	if c.conflicts > 0 {
		s += padLeft("≠", c.conflicts) + " "
	}
	if c.dict > 0 {
		s += padLeft(l.T("tui.team.col.dict"), c.dict) + " "
	}
	return s + cell(l.T("tui.team.col.last_sync"), c.sync)
}

// row is one worker's line.
func (t *teamScreen) row(c teamCols, w caseload.Worker, sel bool) string {
	st, l := t.env.st, t.env.l
	now := t.env.now()
	over := w.Load() > 1
	load := fmt.Sprintf("%.1f/%s", w.Weighted, num(w.Capacity))
	if c.wide {
		load = fmt.Sprintf("%.1f / %s %3d%%", w.Weighted, num(w.Capacity), int(w.Load()*100+0.5))
	}
	if over {
		load += " !"
	}
	sync := l.T("tui.team.never") + " !"
	staleDev := w.NeverSynced
	if !w.NeverSynced {
		sync = ago(l, now, w.LastSync)
		if now.Sub(w.LastSync) > staleSync {
			sync += " !"
			staleDev = true
		}
	}
	name := w.Name
	if w.SealedCases > 0 && c.wide {
		name += " " + l.T("tui.team.unreadable", "Count", itoa(w.SealedCases))
	}
	count := func(n, width int, style func(string) string) string {
		s := padLeft(itoa(n), width)
		if n > 0 && !sel {
			return style(s)
		}
		return s
	}
	warn := func(s string) string { return st.Overdue.Render(s) }
	bad := func(s string) string { return st.Conflict.Render(s) }
	plain := func(s string) string { return s }

	mark := "  "
	if sel {
		mark = "▸ "
	}
	var b strings.Builder
	b.WriteString(mark + cell(name, c.name) + " " + padLeft(itoa(w.OpenCases), c.cases) + " ")
	if c.bar > 0 {
		bar := loadBar(w.Load(), c.bar)
		if over && !sel {
			bar = st.Bad.Render(bar)
		}
		b.WriteString(bar + " ")
	}
	lc := cell(load, c.load)
	if over && !sel {
		lc = st.Bad.Render(lc)
	}
	b.WriteString(lc + " ")
	b.WriteString(count(w.Overdue, c.overdue, warn) + " ")
	if c.court > 0 {
		b.WriteString(count(w.CourtSoon, c.court, plain) + " ")
	}
	if c.conflicts > 0 {
		b.WriteString(count(w.Conflicts, c.conflicts, bad) + " ")
	}
	if c.dict > 0 {
		b.WriteString(count(w.Dictations, c.dict, plain) + " ")
	}
	sc := cell(sync, c.sync)
	if staleDev && !sel {
		sc = st.Warn.Render(sc)
	}
	b.WriteString(sc)
	if c.wide && c.devices > 0 {
		var ds []string
		for _, d := range w.Devices {
			s := d.Name
			switch {
			case d.Revoked:
				s += " " + l.T("tui.team.revoked")
			case d.LastSync.IsZero():
				s += " " + l.T("tui.team.never")
			default:
				s += " " + ago(l, now, d.LastSync)
			}
			ds = append(ds, s)
		}
		if len(ds) == 0 {
			ds = []string{l.T("tui.team.no_device")}
		}
		b.WriteString(" " + st.Muted.Render(cell(strings.Join(ds, ", "), c.devices)))
	}
	line := b.String()
	if sel {
		return st.Selected.Render(fitLine(ansiStrip(line), t.w))
	}
	return fitLine(line, t.w)
}
