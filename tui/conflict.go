package tui

import (
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// conflict shows the versions of a record in conflict side by side (who,
// when, which device) and resolves it: keep one version, or combine them in
// the editor. Either way the new revision's parents are every version, so
// it is a merge that ends the conflict on every device.
type conflict struct {
	env    *env
	req    conflictReq
	data   *conflictLoadedMsg
	err    error
	sel    int
	scroll int
	busy   bool
	w, h   int
}

// version is one head of a record in conflict, ready to show.
type version struct {
	rev     record.RevID
	when    time.Time
	device  string
	deleted bool
	sealed  bool
	loading bool
	fields  [][2]string // label, value
}

type (
	// conflictLoadedMsg carries the record's versions.
	conflictLoadedMsg struct {
		ref      string
		versions []version
		parents  []record.RevID
		cv       *store.CaseView
		note     *store.Item[record.Note]
		task     *store.Item[record.Task]
		err      error
	}
	// conflictResolvedMsg reports the merge.
	conflictResolvedMsg struct {
		notice string
		err    error
	}
)

// conflictReq names a record in conflict: its case, its id and its kind.
type conflictReq struct {
	CaseID, RecordID string
	Kind             record.Kind
}

func newConflict(e *env, req conflictReq) *conflict { return &conflict{env: e, req: req} }

func (c *conflict) Init() tea.Cmd {
	v, req, l := c.env.vault, c.req, c.env.l
	return c.env.io(func() tea.Msg { return loadConflict(l, v, req) })
}

func loadConflict(l *i18n.Locale, v *store.Vault, req conflictReq) conflictLoadedMsg {
	var m conflictLoadedMsg
	cv, err := v.Case(req.CaseID)
	if err != nil {
		return conflictLoadedMsg{err: err}
	}
	m.ref = cv.Value.Ref
	me := v.DeviceID()
	mk := func(rev record.RevID, hlc record.HLC, dev string, del, sealed bool, fields [][2]string) version {
		return version{rev: rev, when: hlc.Time(), device: deviceName(l, dev, me), deleted: del, sealed: sealed, fields: fields}
	}
	switch req.Kind {
	case record.KindCase:
		m.cv = &cv
		for _, x := range cv.Versions {
			m.versions = append(m.versions, mk(x.Rev, x.HLC, x.Device, x.Deleted, x.Sealed, caseVersionFields(l, x.Value)))
		}
		m.parents = cv.Parents()
	case record.KindNote:
		n, err := v.Note(req.RecordID)
		if err != nil {
			return conflictLoadedMsg{err: err}
		}
		m.note = &n
		for _, x := range n.Versions {
			ver := mk(x.Rev, x.HLC, x.Device, x.Deleted, x.Sealed, noteFields(l, x.Value))
			ver.loading = n.Loading && !x.Deleted
			m.versions = append(m.versions, ver)
		}
		m.parents = n.Parents()
	case record.KindTask:
		ts, err := v.Tasks(req.CaseID)
		if err != nil {
			return conflictLoadedMsg{err: err}
		}
		i := slices.IndexFunc(ts, func(t store.Item[record.Task]) bool { return t.ID == req.RecordID })
		if i < 0 {
			return conflictLoadedMsg{err: store.ErrNotFound}
		}
		m.task = &ts[i]
		for _, x := range ts[i].Versions {
			m.versions = append(m.versions, mk(x.Rev, x.HLC, x.Device, x.Deleted, x.Sealed, taskFields(l, x.Value)))
		}
		m.parents = ts[i].Parents()
	default:
		return conflictLoadedMsg{err: l.Error("tui.conflict.no_conflict_kind", "Kind", string(req.Kind))}
	}
	// Oldest first, so "version 1" is the earlier edit.
	slices.SortStableFunc(m.versions, func(a, b version) int { return a.when.Compare(b.when) })
	return m
}

func deviceName(l *i18n.Locale, dev, me string) string {
	switch {
	case dev == "":
		return l.T("tui.conflict.device_unknown")
	case dev == me:
		return l.T("tui.conflict.device_this")
	case len(dev) > 10:
		short := dev[:10] + "…" // i18n: an ellipsis
		return l.T("tui.conflict.device", "ID", short)
	}
	return l.T("tui.conflict.device", "ID", dev)
}

func caseVersionFields(l *i18n.Locale, c record.Case) [][2]string {
	var people []string
	for _, p := range c.People {
		people = append(people, strings.Join(trimEmpty([]string{p.Name, p.Role, string(p.DOB), p.Phone}), ", "))
	}
	var courts []string
	for _, cd := range c.CourtDates {
		courts = append(courts, strings.Join(trimEmpty([]string{string(cd.Date), cd.Hearing, cd.Court}), ", "))
	}
	return [][2]string{
		{l.T("tui.caseedit.field.ref"), c.Ref}, {l.T("tui.caseedit.field.subject"), c.Subject},
		{l.T("tui.casedetail.field.born"), string(c.DOB)}, {l.T("tui.caseedit.field.address"), c.Address},
		{l.T("tui.caseedit.field.status"), statusWord(l, c.Status)}, {l.T("tui.caseedit.field.risk"), riskWord(l, c.Risk)},
		{l.T("tui.caseedit.field.next_visit"), string(c.NextVisit)}, {l.T("tui.caseedit.field.team"), c.Team},
		{l.T("tui.caseedit.field.workers"), strings.Join(c.Workers, ", ")}, {l.T("tui.caseedit.field.people"), strings.Join(people, "; ")},
		{l.T("tui.casedetail.field.court"), strings.Join(courts, "; ")}, {conflictLongLabel(l, record.KindCase), c.Summary},
	}
}

// conflictLongLabel is the label of the field a version's box shows below
// its label rather than beside it: a note's text, a case's summary.
func conflictLongLabel(l *i18n.Locale, k record.Kind) string {
	if k == record.KindCase {
		return l.T("tui.caseedit.field.summary")
	}
	return l.T("tui.conflict.field.text")
}

func noteFields(l *i18n.Locale, n record.Note) [][2]string {
	return [][2]string{
		{l.T("tui.noteedit.field.kind"), valueWord(l, n.Kind)}, {l.T("tui.noteedit.field.date"), strings.TrimSpace(string(n.Date) + " " + n.Time)},
		{l.T("tui.noteedit.field.place"), n.Place}, {l.T("tui.conflict.field.with"), strings.Join(n.Attendees, ", ")},
		{l.T("tui.conflict.field.by"), n.Author}, {conflictLongLabel(l, record.KindNote), n.Text},
	}
}

func taskFields(l *i18n.Locale, t record.Task) [][2]string {
	done := l.T("tui.conflict.done_no")
	if t.Done {
		done = l.T("tui.conflict.done_yes", "Date", string(t.DoneOn))
	}
	return [][2]string{{l.T("tui.tasks.field.title"), t.Title}, {l.T("tui.tasks.field.kind"), valueWord(l, t.Kind)},
		{l.T("tui.tasks.field.due"), string(t.Due)}, {l.T("tui.conflict.field.done"), done}}
}

func (c *conflict) Title() string { return c.env.l.T("tui.conflict.title") }

func (c *conflict) Typing() bool { return false }

func (c *conflict) SetSize(w, h int) { c.w, c.h = w, h }

func (c *conflict) ShortHelp() []key.Binding {
	k := c.env.keys.conflict
	s := k.ShortHelp()
	if c.req.Kind != record.KindTask {
		s = slices.Insert(s, len(s)-1, k.Combine)
	}
	return s
}

func (c *conflict) FullHelp() [][]key.Binding {
	return c.env.keys.conflict.FullHelp()
}

func (c *conflict) Update(msg tea.Msg) (component, tea.Cmd) {
	k := c.env.keys.conflict
	switch msg := msg.(type) {
	case conflictLoadedMsg:
		if msg.err != nil {
			c.err = msg.err
			return c, nil
		}
		if len(msg.versions) < 2 {
			return c, back(c.env.l.T("tui.conflict.gone"), false)
		}
		c.data = &msg
		c.sel = min(c.sel, len(msg.versions)-1)
		return c, nil
	case notesLoadedMsg:
		return c, c.Init()
	case conflictResolvedMsg:
		c.busy = false
		if msg.err != nil {
			c.env.logErr("resolving conflict", msg.err)
			c.err = c.env.l.Error("tui.conflict.not_resolved", "Err", c.env.writeErr(msg.err))
			return c, nil
		}
		return c, back(msg.notice, true)
	case tea.KeyPressMsg:
		if key.Matches(msg, k.Back) {
			return c, back("", false)
		}
		if c.data == nil || c.busy {
			return c, nil
		}
		c.err = nil
		switch {
		case key.Matches(msg, k.PrevVersion):
			c.sel = max(0, c.sel-1)
		case key.Matches(msg, k.NextVersion):
			c.sel = min(len(c.data.versions)-1, c.sel+1)
		case key.Matches(msg, k.Up):
			c.scroll = max(0, c.scroll-1)
		case key.Matches(msg, k.Down):
			c.scroll++
		case key.Matches(msg, k.Keep), key.Matches(msg, k.Combine):
			if c.data.versions[c.sel].loading {
				c.err = c.env.l.Error("tui.conflict.wait_decrypting")
				return c, nil
			}
			if key.Matches(msg, k.Combine) {
				return c, c.combine()
			}
			if c.data.versions[c.sel].sealed {
				c.err = c.env.l.Error("tui.conflict.no_key")
				return c, nil
			}
			c.busy = true
			return c, c.keep()
		}
	}
	return c, nil
}

// keep writes the chosen version again as a merge of every version.
func (c *conflict) keep() tea.Cmd {
	v, req, d, sel := c.env.vault, c.req, c.data, c.sel
	chosen := d.versions[sel]
	notice := c.env.l.T("tui.conflict.resolved", "N", sel+1, "Device", chosen.device, "When", dayTime(c.env.l, chosen.when.Local()))
	return c.env.io(func() tea.Msg {
		var err error
		switch {
		case chosen.deleted:
			err = v.Delete(req.CaseID, req.RecordID)
		case d.cv != nil:
			err = v.UpdateCase(req.RecordID, d.parents, pick(d.cv.Versions, chosen.rev))
		case d.note != nil:
			err = v.EditNote(req.RecordID, d.parents, pick(d.note.Versions, chosen.rev))
		case d.task != nil:
			err = v.UpdateTask(req.CaseID, req.RecordID, d.parents, pick(d.task.Versions, chosen.rev))
		}
		return conflictResolvedMsg{notice: notice, err: err}
	})
}

func pick[T any](vs []store.Version[T], rev record.RevID) T {
	for _, v := range vs {
		if v.Rev == rev {
			return v.Value
		}
	}
	var zero T
	return zero
}

// combine opens the editor on the versions together; saving there writes
// the merge.
func (c *conflict) combine() tea.Cmd {
	d := c.data
	chosen := d.versions[c.sel]
	switch {
	case d.note != nil:
		base := pick(d.note.Versions, chosen.rev)
		if chosen.deleted {
			base = record.Note{Kind: "visit", Date: c.env.today()} // i18n: a record's value
		}
		var texts []string
		seen := map[string]bool{}
		var att []string
		for i, ver := range d.versions {
			if ver.deleted || ver.sealed {
				continue
			}
			n := pick(d.note.Versions, ver.rev)
			texts = append(texts, c.env.l.T("tui.conflict.marker", "N", i+1, "Device", ver.device, "When", longTime(c.env.l, ver.when.Local()))+"\n"+n.Text)
			for _, a := range n.Attendees {
				if !seen[strings.ToLower(a)] {
					seen[strings.ToLower(a)] = true
					att = append(att, a)
				}
			}
		}
		base.Text = strings.Join(texts, "\n\n")
		base.Attendees = att
		dr := store.Draft{Key: store.DraftKey(c.req.CaseID, c.req.RecordID), CaseID: c.req.CaseID, NoteID: c.req.RecordID, Base: d.parents, Note: base}
		return cmdOf(editNote(dr, d.ref, c.env.l.T("tui.conflict.combine_notice")).replacing())
	case d.cv != nil:
		merged := *d.cv
		merged.Value = pick(d.cv.Versions, chosen.rev)
		if chosen.deleted {
			for _, ver := range d.versions {
				if !ver.deleted {
					merged.Value = pick(d.cv.Versions, ver.rev)
				}
			}
		}
		return cmdOf(mergeCase(c.req.RecordID, &merged).replacing())
	}
	return notice(c.env.l.T("tui.conflict.task_no_combine"))
}

func (c *conflict) View() string {
	st, l := c.env.st, c.env.l
	if c.data == nil {
		if c.err != nil {
			return st.Error.Render(l.T("tui.conflict.open_failed", "Err", c.err.Error())) + "\n\n" + l.T("tui.common.esc_back")
		}
		return st.Muted.Render(l.T("tui.conflict.loading"))
	}
	d := c.data
	var title string
	switch c.req.Kind {
	case record.KindCase:
		title = l.N("tui.conflict.head_case", len(d.versions), "Ref", d.ref)
	case record.KindNote:
		title = l.N("tui.conflict.head_note", len(d.versions), "Ref", d.ref)
	default:
		title = l.N("tui.conflict.head_task", len(d.versions), "Ref", d.ref)
	}
	title = st.Conflict.Render(title)
	hint := l.T("tui.conflict.hint_keep")
	if c.req.Kind != record.KindTask {
		hint = l.T("tui.conflict.hint_keep_combine")
	}
	line2 := st.Muted.Render(hint)
	if c.err != nil {
		line2 = st.Error.Render(c.err.Error())
	}
	if c.busy {
		line2 = st.Muted.Render(l.T("tui.conflict.saving"))
	}

	// Columns: as many versions as fit at 30 columns or more, around the
	// selected one.
	n := len(d.versions)
	perRow := max(1, min(n, c.w/30))
	first := min(max(0, c.sel-perRow+1), n-perRow)
	colW := (c.w - (perRow - 1)) / perRow
	bodyH := max(3, c.h-2)
	// Fields that differ between versions are marked.
	differs := map[string]bool{}
	for i, f := range d.versions[0].fields {
		for _, ver := range d.versions[1:] {
			if i < len(ver.fields) && ver.fields[i][1] != f[1] {
				differs[f[0]] = true
			}
		}
	}
	var cols []string
	for i := first; i < first+perRow; i++ {
		cols = append(cols, c.column(i, colW, bodyH, differs))
	}
	body := lipgloss.JoinHorizontal(lipgloss.Top, intersperse(cols, " ")...)
	return fitLine(title, c.w) + "\n" + fitLine(line2, c.w) + "\n" + body
}

func intersperse(xs []string, sep string) []string {
	var out []string
	for i, x := range xs {
		if i > 0 {
			out = append(out, sep)
		}
		out = append(out, x)
	}
	return out
}

// column renders version i in a box of width w and height h.
func (c *conflict) column(i, w, h int, differs map[string]bool) string {
	st, l := c.env.st, c.env.l
	ver := c.data.versions[i]
	box := st.Box
	mark := "  "
	if i == c.sel {
		box = st.BoxActive
		mark = "▸ " // i18n: the cursor
	}
	inner := max(8, w-4)
	head := []string{
		mark + l.T("tui.conflict.version_of", "N", i+1, "Of", len(c.data.versions)),
		"  " + ver.device,
		"  " + l.T("tui.conflict.written", "When", longTime(l, ver.when.Local())),
	}
	long := conflictLongLabel(l, c.req.Kind)
	lw := 12 // the labels' column: the widest label and two spaces
	for _, f := range ver.fields {
		if f[0] != long {
			lw = max(lw, ansiWidth(f[0])+2)
		}
	}
	var body []string
	switch {
	case ver.loading:
		body = append(body, st.Muted.Render(l.T("tui.conflict.still_decrypting")))
	case ver.deleted:
		body = append(body, st.Warn.Render(l.T("tui.conflict.deletes")))
	case ver.sealed:
		body = append(body, st.Muted.Render(l.T("tui.conflict.sealed")))
	default:
		for _, f := range ver.fields {
			if f[1] == "" {
				continue
			}
			lbl := st.Label.Render(f[0])
			if differs[f[0]] {
				lbl = st.Conflict.Render(f[0] + " ≠") // i18n: a sign
			}
			if f[0] == long {
				body = append(body, lbl)
				for _, p := range strings.Split(f[1], "\n") {
					body = append(body, wrap(p, inner)...)
				}
				continue
			}
			for j, line := range wrap(f[1], max(4, inner-lw)) {
				if j == 0 {
					body = append(body, fitLine(lbl, lw)+line)
				} else {
					body = append(body, strings.Repeat(" ", lw)+line)
				}
			}
		}
	}
	avail := max(1, h-2-len(head)-1)
	scroll := min(c.scroll, max(0, len(body)-avail))
	body = body[scroll:min(len(body), scroll+avail)]
	lines := append(head, "")
	lines = append(lines, body...)
	for j := range lines {
		lines[j] = fitLine(lines[j], inner)
	}
	for len(lines) < h-2 {
		lines = append(lines, strings.Repeat(" ", inner))
	}
	return box.Width(w).Render(strings.Join(lines, "\n"))
}
