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
const teamFetchedKey = "tui.teamfetched"

// staleSync is how long since a worker's devices last synced before the
// team view flags it.
const staleSync = 48 * time.Hour

// notEnrolledTeam is what the supervisor screens say on a device with no
// case server.
const notEnrolledTeam = "not enrolled — no team view on this device"

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
// user.
func serverError(err error) string {
	var pe *protocol.Error
	switch {
	case errors.Is(err, client.ErrServerTrouble):
		return "the server is having trouble; try again in a few minutes"
	case errors.Is(err, client.ErrOffline):
		return "this needs the server; try again when online"
	case errors.Is(err, context.DeadlineExceeded):
		return "the server did not answer in time; try again"
	case errors.Is(err, store.ErrLocked):
		return "the vault is locked"
	case errors.As(err, &pe):
		switch pe.Code {
		case protocol.CodeForbidden:
			return "the server refused: your account may not do this (" + pe.Message + ")"
		case protocol.CodeConflict:
			return "someone else changed it meanwhile (" + pe.Message + ")"
		case protocol.CodeNotFound:
			return "the server does not know this (" + pe.Message + ")"
		}
		return pe.Message
	}
	return writeError(err)
}

// ago says how long before now t was, shortly: "just now", "20m ago",
// "3h ago", "5d ago".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

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
			msg.err = errors.New("the server sent no team view")
			return msg
		}
		msg.fetched = now
		if b, err := now.MarshalText(); err == nil {
			_ = v.PutLocal(teamFetchedKey, b) // only for the "offline" line
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

func (t *teamScreen) Title() string { return "Team" }

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
	return "Cases: the open cases the worker holds that this device can read. " +
		"Load: their weighted caseload against their capacity (p shows how a case is weighed); ! after it: over capacity. " +
		"Over (Overdue): cases whose next visit or task is past its date — not capacity. " +
		"Court: cases with a hearing within 14 days. ≠ (Conflicts): records written apart on two devices, to resolve. " +
		"Dict (Dictations): recordings waiting for typing; t shows how long dictations wait, by typist and author. " +
		"Last sync: the newest of the worker's devices; ! means over two days ago, or never. " +
		"Wide windows add the load in per cent, the devices and cases not yet readable here; narrow ones leave out Dict, ≠, Court and the bar."
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
			return t, cmdOf(openTurnaroundMsg{})
		case key.Matches(msg, k.Retention): // from the vault: acts need the server
			return t, cmdOf(openRetentionMsg{})
		case t.ts == nil:
			return t, nil
		case t.nav.Key(msg, k.navKeys): // moved the cursor
		case key.Matches(msg, k.Refresh):
			if t.refreshing {
				return t, nil
			}
			return t, t.refresh()
		case key.Matches(msg, k.Policy):
			return t, cmdOf(openPolicyMsg{})
		case key.Matches(msg, k.Open):
			if w, ok := t.selected(); ok {
				return t, cmdOf(openWorkerCasesMsg{UserID: w.UserID, Name: w.Name})
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
			t.loadErr = "Could not read the team view kept on this device: " + writeError(msg.err)
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
	st := t.env.st
	if t.ts == nil {
		return st.Title.Render("Team caseloads") + "\n\n" + notEnrolledTeam + ".\n\n" +
			st.Muted.Render("Press esc to go back.")
	}
	ts := t.env.team
	var lines []string

	// Title: team, policy, totals; then the state of the view.
	title := "Team caseloads"
	right := ""
	if ts.tv != nil {
		if ts.tv.Team != "" {
			title += " · " + ts.tv.Team
		}
		open := 0
		for _, w := range t.rows {
			open += w.OpenCases
		}
		right = plural(len(t.rows), "worker", "workers") + " · " + plural(open, "open case", "open cases") +
			fmt.Sprintf(" · policy v%d", ts.tv.PolicyVersion)
	}
	lines = append(lines, spread(st.Title.Render(title), st.Muted.Render(right), t.w))
	lines = append(lines, fitLine(t.stateLine(), t.w))

	c := t.columns()
	lines = append(lines, st.ColHeader.Render(fitLine(t.header(c), t.w)))
	switch {
	case !t.loaded:
		lines = append(lines, st.Muted.Render("  Loading the team view…"))
	case t.loadErr != "":
		lines = append(lines, st.Error.Render("  "+t.loadErr))
	case ts.tv == nil && t.refreshing:
		lines = append(lines, st.Muted.Render("  No team view on this device yet: fetching it…"))
	case ts.tv == nil:
		lines = append(lines, "  No team view on this device yet. Connect to the case server and press r.")
	case len(t.rows) == 0:
		lines = append(lines, "  No caseworkers in this team view.")
	}
	start, end := t.nav.Visible()
	for i := start; i < end; i++ {
		lines = append(lines, t.row(c, t.rows[i], t.nav.Selected(i)))
	}
	for len(lines) < t.h-1 {
		lines = append(lines, "")
	}
	legend := "█ load vs capacity · ! overloaded / not synced for 2 days"
	if pos := t.nav.Position(); pos != "" {
		legend += "   " + pos
	}
	lines = append(lines, fitLine(st.Muted.Render(legend), t.w))
	return strings.Join(lines, "\n")
}

// stateLine says whether the view is fresh, being refreshed, or kept from
// earlier because the server cannot be reached.
func (t *teamScreen) stateLine() string {
	st := t.env.st
	ts := t.env.team
	from := ""
	if ts.tv != nil {
		if ts.fetched.IsZero() {
			from = "kept on this device"
		} else {
			from = "from " + ts.fetched.In(t.env.now().Location()).Format("2 Jan 15:04")
		}
	}
	switch {
	case t.refreshing && ts.tv != nil:
		return st.Muted.Render("refreshing… (showing the team view " + from + ")")
	case t.refreshing:
		return st.Muted.Render("refreshing…")
	case t.refreshErr != nil && errors.Is(t.refreshErr, client.ErrOffline) && ts.tv != nil:
		return st.Warn.Render("offline — showing team view " + from)
	case t.refreshErr != nil && errors.Is(t.refreshErr, client.ErrOffline):
		return st.Warn.Render("offline — no team view on this device yet; connect once to fetch it")
	case t.refreshErr != nil:
		s := "Could not refresh: " + serverError(t.refreshErr)
		if ts.tv != nil {
			s += " (showing the team view " + from + ")"
		}
		return st.Error.Render(s)
	case t.updated:
		return st.Muted.Render("updated " + t.env.now().Format("15:04") + " · r to refresh")
	}
	return ""
}

func (t *teamScreen) header(c teamCols) string {
	s := "  " + cell("WORKER", c.name) + " "
	if c.wide {
		s += padLeft("OPEN CASES", c.cases) + " " + cell("WEIGHTED LOAD", c.bar+2+1+c.load) + " " +
			padLeft("OVERDUE", c.overdue) + " " + padLeft("COURT ≤14d", c.court) + " " + padLeft("CONFLICTS", c.conflicts) + " " +
			padLeft("DICTATIONS", c.dict) + " " + cell("LAST SYNC", c.sync) + " " + cell("DEVICES", c.devices)
		return s
	}
	s += padLeft("CASES", c.cases) + " "
	if c.bar > 0 {
		s += cell("LOAD", c.bar+2+1+c.load) + " "
	} else {
		s += cell("LOAD", c.load) + " "
	}
	s += padLeft("OVER", c.overdue) + " "
	if c.court > 0 {
		s += padLeft("COURT", c.court) + " "
	}
	if c.conflicts > 0 {
		s += padLeft("≠", c.conflicts) + " "
	}
	if c.dict > 0 {
		s += padLeft("DICT", c.dict) + " "
	}
	return s + cell("LAST SYNC", c.sync)
}

// row is one worker's line.
func (t *teamScreen) row(c teamCols, w caseload.Worker, sel bool) string {
	st := t.env.st
	now := t.env.now()
	over := w.Load() > 1
	load := fmt.Sprintf("%.1f/%s", w.Weighted, num(w.Capacity))
	if c.wide {
		load = fmt.Sprintf("%.1f / %s %3d%%", w.Weighted, num(w.Capacity), int(w.Load()*100+0.5))
	}
	if over {
		load += " !"
	}
	sync := "never !"
	staleDev := w.NeverSynced
	if !w.NeverSynced {
		sync = ago(now, w.LastSync)
		if now.Sub(w.LastSync) > staleSync {
			sync += " !"
			staleDev = true
		}
	}
	name := w.Name
	if w.SealedCases > 0 && c.wide {
		name += fmt.Sprintf(" (+%d unreadable)", w.SealedCases)
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
				s += " (revoked)"
			case d.LastSync.IsZero():
				s += " never"
			default:
				s += " " + ago(now, d.LastSync)
			}
			ds = append(ds, s)
		}
		if len(ds) == 0 {
			ds = []string{"no device"}
		}
		b.WriteString(" " + st.Muted.Render(cell(strings.Join(ds, ", "), c.devices)))
	}
	line := b.String()
	if sel {
		return st.Selected.Render(fitLine(ansiStrip(line), t.w))
	}
	return fitLine(line, t.w)
}

// navigateRoles opens the supervisor, consent and typist screens, each for
// the roles it is meant for; others get a plain word in the status bar.
func (m *Model) navigateRoles(msg tea.Msg) tea.Cmd {
	e := m.env
	role := e.vault.Profile().Role
	refuse := func(text string) tea.Cmd {
		m.status.setNotice(text, false)
		return nil
	}
	switch msg := msg.(type) {
	case openTeamMsg:
		if !isSupervisor(e.vault) {
			return refuse("The team view is for supervisors.")
		}
		return m.push(newTeamScreen(e, m.opts.Team))
	case openPolicyMsg:
		if !isSupervisor(e.vault) {
			return refuse("The weighting policy is for supervisors.")
		}
		return m.push(newPolicyScreen(e, m.opts.Team))
	case openTurnaroundMsg:
		if !isSupervisor(e.vault) {
			return refuse("Dictation turnaround is for supervisors.")
		}
		return m.push(newTurnaroundScreen(e))
	case openRetentionMsg:
		if !isSupervisor(e.vault) {
			return refuse(retentionForSupervisors(e))
		}
		return m.push(newRetentionScreen(e))
	case openWorkerCasesMsg:
		return m.push(newWorkerCaseList(e, msg.UserID, msg.Name))
	case openAssignMsg:
		if !isSupervisor(e.vault) {
			return refuse("Reassigning a case is for supervisors.")
		}
		return m.push(newAssignScreen(e, m.opts.Team, msg.CaseID, msg.Ref))
	case openConsentsMsg:
		if role == protocol.RoleTypist {
			return refuse("The consent overview is for caseworkers and supervisors.")
		}
		return m.push(newConsentOverview(e))
	case openAccessMsg:
		return m.push(newAccessHistory(e, msg.CaseID, msg.Ref))
	case openTypingQueueMsg:
		if role != protocol.RoleTypist {
			return refuse("The typing queue is for typists.")
		}
		return m.push(newTypingQueue(e))
	case openTranscribeMsg:
		return m.push(newTranscribe(e, msg.Rec))
	}
	return nil
}
