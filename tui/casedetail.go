package tui

import (
	"cmp"
	"errors"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// caseLoadedMsg carries everything the case detail shows (sent by
// loadCaseCmd).
type caseLoadedMsg struct {
	caseID   string
	cv       store.CaseView
	notes    []store.Item[record.Note]
	consents []caseload.ConsentStatus
	tasks    []store.Item[record.Task]
	drafts   []store.Draft // drafts of notes of this case
	recs     []store.Item[record.Recording]
	err      error
}

func loadCaseCmd(v *store.Vault, rc *recovery, caseID string) tea.Cmd {
	return func() tea.Msg {
		m := caseLoadedMsg{caseID: caseID}
		var err error
		// Recordings cut short by a crash are put back before they are
		// listed (a failure is told once, after the unlock).
		_, _ = rc.run(v)
		if m.cv, err = v.Case(caseID); err != nil {
			m.err = err
			return m
		}
		if m.notes, err = v.Notes(caseID); err != nil {
			m.err = err
			return m
		}
		if m.consents, err = caseload.ConsentSummary(v, caseID); err != nil {
			m.err = err
			return m
		}
		if m.tasks, err = v.Tasks(caseID); err != nil {
			m.err = err
			return m
		}
		sortTasks(m.tasks)
		if m.recs, err = v.Recordings(caseID); err != nil {
			m.err = err
			return m
		}
		ds, err := v.Drafts()
		if err != nil {
			m.err = err
			return m
		}
		for _, d := range ds {
			if d.CaseID == caseID && d.Form == "" { // a form's draft is offered by its form
				m.drafts = append(m.drafts, d)
			}
		}
		return m
	}
}

// sortTasks orders tasks open first, by due date, then by when they were
// written (record ids are random, so they never decide an order).
func sortTasks(ts []store.Item[record.Task]) {
	slices.SortStableFunc(ts, func(a, b store.Item[record.Task]) int {
		if a.Value.Done != b.Value.Done {
			if a.Value.Done {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Value.Due, b.Value.Due), cmp.Compare(a.Value.Title, b.Value.Title), cmp.Compare(a.HLC, b.HLC))
	})
}

// draftForNoteCmd finds the draft of a new note in a case, or of an edit of
// a note, and asks the root to open the editor on it.
func draftForNoteCmd(l *i18n.Locale, v *store.Vault, caseID, ref string, note *store.Item[record.Note], today record.Date) tea.Cmd {
	return func() tea.Msg {
		author := v.Profile().Name
		noteID := ""
		if note != nil {
			noteID = note.ID
		}
		key := store.DraftKey(caseID, noteID)
		ds, err := v.Drafts()
		if err != nil {
			return noticeMsg{Text: l.T("tui.casedetail.drafts_failed", "Err", err.Error()), Err: true}
		}
		for _, d := range ds {
			if d.Key == key {
				return editNote(d, ref, l.T("tui.casedetail.draft_back", "When", dayTime(l, d.Saved.Local())))
			}
		}
		d := store.Draft{Key: key, CaseID: caseID, NoteID: noteID}
		if note != nil {
			d.Note = note.Value
			d.Base = []record.RevID{note.Rev}
		} else {
			d.Note = record.Note{Kind: "visit", Date: today, Author: author} // i18n: a record's value
		}
		return editNote(d, ref, "")
	}
}

// caseDetail shows one case: its people, address, consent (with missing,
// refused, withdrawn and review-due decisions flagged), tasks and visits,
// and the notes, newest first, in a scrolling viewport.
type caseDetail struct {
	env      *env
	caseID   string
	ref      string // shown until the case is loaded, when known
	target   string // note to scroll to once loaded
	data     *caseLoadedMsg
	err      error
	vp       viewport.Model
	sel      int   // selected note, -1 for none
	noteLine []int // first line of each note in the viewport
	audited  bool  // the open is in the audit trail (once per open)
	w, h     int
}

// Focus selects the note id and scrolls to it at the next load (a note
// just written: the one the user wants to see).
func (d *caseDetail) Focus(id string) { d.target = id }

func newCaseDetail(e *env, caseID, noteID string) *caseDetail {
	vp := viewport.New()
	vp.KeyMap = viewport.KeyMap{} // keys come from our keymap
	vp.SoftWrap = false
	return &caseDetail{env: e, caseID: caseID, target: noteID, sel: -1, vp: vp}
}

// Init loads the case; the first time, it first records the open in the
// case's audit trail (so the access history shows it once the case shows).
func (d *caseDetail) Init() tea.Cmd {
	load := loadCaseCmd(d.env.vault, d.env.recovery, d.caseID)
	if d.audited {
		return d.env.io(load)
	}
	d.audited = true
	audit := auditOpenCmd(d.env, d.caseID)
	return d.env.io(func() tea.Msg {
		audit()
		return load()
	})
}

// auditOpen records the open when the case is stacked without its Init
// (under the note editor of a resumed draft).
func (d *caseDetail) auditOpen() tea.Cmd {
	if d.audited {
		return nil
	}
	d.audited = true
	audit := auditOpenCmd(d.env, d.caseID)
	return d.env.io(func() tea.Msg {
		audit()
		return nil
	})
}

func (d *caseDetail) Title() string {
	switch {
	case d.data != nil:
		return d.data.cv.Value.Ref
	case d.ref != "":
		return d.ref
	}
	return d.env.l.T("tui.casedetail.title")
}

func (d *caseDetail) Typing() bool { return false }

func (d *caseDetail) SetSize(w, h int) {
	d.w, d.h = w, h
	d.vp.SetWidth(w)
	d.vp.SetHeight(max(1, h-2))
	d.render()
}

func (d *caseDetail) ShortHelp() []key.Binding {
	k := d.env.keys.caseDetail
	s := k.ShortHelp()
	if d.data != nil && d.data.cv.Conflicts > 0 {
		s = append([]key.Binding{k.Conflicts}, s...)
	}
	return s
}

func (d *caseDetail) FullHelp() [][]key.Binding {
	return d.env.keys.caseDetail.FullHelp()
}

// withHelp is b with another description.
func withHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

func (d *caseDetail) Update(msg tea.Msg) (component, tea.Cmd) {
	k := d.env.keys.caseDetail
	switch msg := msg.(type) {
	case caseLoadedMsg:
		if msg.caseID != d.caseID {
			return d, nil
		}
		if msg.err != nil {
			d.err = msg.err
			if errors.Is(msg.err, store.ErrNotFound) {
				d.err = d.env.l.Error("tui.casedetail.not_found")
			}
			return d, nil
		}
		var keepID string
		if d.sel >= 0 && d.data != nil && d.sel < len(d.data.notes) {
			keepID = d.data.notes[d.sel].ID
		}
		if d.target != "" {
			keepID = d.target
		}
		d.data, d.err = &msg, nil
		d.sel = -1
		for i, n := range msg.notes {
			if n.ID == keepID {
				d.sel = i
			}
		}
		d.render()
		if d.target != "" && d.sel >= 0 {
			d.target = ""
			d.vp.SetYOffset(d.noteLine[d.sel])
		}
		return d, nil
	case notesLoadedMsg:
		return d, d.Init()
	case tea.KeyPressMsg:
		if d.data == nil {
			if key.Matches(msg, k.Back) {
				return d, back("", false)
			}
			return d, nil
		}
		switch {
		case key.Matches(msg, k.Back):
			return d, back("", false)
		case key.Matches(msg, k.Up):
			d.vp.ScrollUp(1)
		case key.Matches(msg, k.Down):
			d.vp.ScrollDown(1)
		case key.Matches(msg, k.PageUp):
			d.vp.PageUp()
		case key.Matches(msg, k.PageDown):
			d.vp.PageDown()
		case key.Matches(msg, k.Top):
			d.vp.GotoTop()
		case key.Matches(msg, k.Bottom):
			d.vp.GotoBottom()
		case key.Matches(msg, k.NextNote):
			d.selectNote(d.sel + 1)
		case key.Matches(msg, k.PrevNote):
			d.selectNote(d.sel - 1)
		case key.Matches(msg, k.Open):
			if d.sel < 0 || d.sel >= len(d.data.notes) {
				d.selectNote(0)
				return d, nil
			}
			n := d.data.notes[d.sel]
			if n.Conflict {
				return d, cmdOf(openConflict(d.caseID, n.ID, record.KindNote))
			}
			if n.Loading || n.Sealed {
				return d, notice(d.env.l.T("tui.casedetail.note_not_ready"))
			}
			return d, d.env.io(draftForNoteCmd(d.env.l, d.env.vault, d.caseID, d.data.cv.Value.Ref, &n, d.env.today()))
		case key.Matches(msg, k.NewNote):
			return d, d.env.io(draftForNoteCmd(d.env.l, d.env.vault, d.caseID, d.data.cv.Value.Ref, nil, d.env.today()))
		case key.Matches(msg, k.EditCase):
			if d.data.cv.Conflict {
				return d, cmdOf(openConflict(d.caseID, d.caseID, record.KindCase))
			}
			return d, cmdOf(editCase(d.caseID))
		case key.Matches(msg, k.Consent):
			return d, cmdOf(editConsent(d.caseID))
		case key.Matches(msg, k.Tasks):
			return d, cmdOf(openTasks(d.caseID, ""))
		case key.Matches(msg, k.Dictation):
			return d, cmdOf(openRecordings(d.caseID, d.data.cv.Value.Ref))
		case key.Matches(msg, k.Search):
			return d, cmdOf(openSearch())
		case key.Matches(msg, k.Access):
			return d, cmdOf(openAccess(d.caseID, d.data.cv.Value.Ref))
		case key.Matches(msg, k.Reassign):
			return d, cmdOf(openAssign(d.caseID, d.data.cv.Value.Ref))
		case key.Matches(msg, k.Conflicts):
			return d, d.nextConflict()
		}
	}
	return d, nil
}

// nextConflict opens the first record of the case in conflict: the case
// itself, the selected note, any note, then any task.
func (d *caseDetail) nextConflict() tea.Cmd {
	data := d.data
	if data.cv.Conflict {
		return cmdOf(openConflict(d.caseID, d.caseID, record.KindCase))
	}
	if d.sel >= 0 && d.sel < len(data.notes) && data.notes[d.sel].Conflict {
		return cmdOf(openConflict(d.caseID, data.notes[d.sel].ID, record.KindNote))
	}
	for _, n := range data.notes {
		if n.Conflict {
			return cmdOf(openConflict(d.caseID, n.ID, record.KindNote))
		}
	}
	for _, t := range data.tasks {
		if t.Conflict {
			return cmdOf(openConflict(d.caseID, t.ID, record.KindTask))
		}
	}
	return notice(d.env.l.T("tui.casedetail.no_conflict"))
}

func (d *caseDetail) selectNote(i int) {
	if d.data == nil || len(d.data.notes) == 0 {
		return
	}
	i = min(max(i, 0), len(d.data.notes)-1)
	d.sel = i
	y := d.vp.YOffset()
	d.render()
	d.vp.SetYOffset(y)
	// Bring the note's heading into view, with some of its text.
	line := d.noteLine[i]
	if line < d.vp.YOffset() || line > d.vp.YOffset()+d.vp.Height()-3 {
		d.vp.SetYOffset(line)
	}
}

func (d *caseDetail) View() string {
	st, l := d.env.st, d.env.l
	if d.err != nil {
		return st.Error.Render(l.T("tui.casedetail.failed", "Err", d.err.Error())) + "\n\n" + l.T("tui.common.esc_back")
	}
	if d.data == nil {
		return st.Muted.Render(l.T("tui.casedetail.opening"))
	}
	c := d.data.cv
	title := st.Title.Render(c.Value.Ref + "  " + c.Value.Subject)
	risk := l.T("tui.casedetail.risk", "Risk", riskWord(l, c.Value.Risk))
	right := st.Muted.Render(statusWord(l, c.Value.Status) + sepDot + risk)
	if c.Value.Risk == "high" { // i18n: a record's value
		right = st.Muted.Render(statusWord(l, c.Value.Status)+sepDot) + st.Bad.Render(risk)
	}
	head := spread(title, right, d.w)
	sub := ""
	if r := c.Reassigned; r != nil {
		// Taken away by a supervisor (signed keyrings say so): said before
		// anything is typed in vain.
		text := l.T("tui.casedetail.reassigned_removed", "What", r.Summary())
		if len(r.Waiting) > 0 {
			text = l.T("tui.casedetail.reassigned_kept", "What", r.Summary(), "Names", strings.Join(r.Waiting, ", "))
		}
		sub = st.Warn.Render(text)
	} else if c.Conflicts > 0 {
		sub = st.Conflict.Render(l.N("tui.casedetail.conflicts", c.Conflicts))
	} else if len(d.data.drafts) > 0 {
		sub = st.Warn.Render(l.T("tui.casedetail.draft_waiting"))
	} else {
		pct := ""
		if d.vp.TotalLineCount() > d.vp.Height() {
			pct = itoa(int(d.vp.ScrollPercent()*100)) + "%"
		}
		sub = st.Muted.Render(strings.Repeat("─", max(0, d.w-len(pct)-1)) + " " + pct) // i18n: a rule
	}
	return head + "\n" + fitLine(sub, d.w) + "\n" + d.vp.View()
}

// render lays the case out into the viewport's lines.
func (d *caseDetail) render() {
	if d.data == nil || d.w <= 0 {
		return
	}
	st, l := d.env.st, d.env.l
	w := d.w
	today := d.env.today()
	c := d.data.cv
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }
	born, address, team := l.T("tui.casedetail.field.born"), l.T("tui.casedetail.field.address"), l.T("tui.casedetail.field.team")
	opened, next, court := l.T("tui.casedetail.field.opened"), l.T("tui.casedetail.field.next_visit"), l.T("tui.casedetail.field.court")
	summary := l.T("tui.casedetail.field.summary")
	lw := 12 // the labels' column: the widest label and two spaces
	for _, s := range []string{born, address, team, opened, next, court, summary} {
		lw = max(lw, ansiWidth(s)+2)
	}
	field := func(label, value string) {
		if value == "" {
			return
		}
		add(fitLine(st.Label.Render(cell(label, lw))+value, w))
	}

	field(born, string(c.Value.DOB))
	field(address, c.Value.Address)
	var who []string
	if c.Value.Team != "" {
		who = append(who, c.Value.Team)
	}
	if len(c.Value.Workers) > 0 {
		who = append(who, strings.Join(c.Value.Workers, ", "))
	}
	field(team, strings.Join(who, sepDot))
	field(opened, string(c.Value.Opened))
	if c.Value.NextVisit != "" {
		nv := string(c.Value.NextVisit)
		if c.Value.NextVisit.Before(today) && c.Value.Status != record.CaseClosed {
			nv = st.Overdue.Render(nv + " " + l.N("tui.casedetail.overdue_by", daysBetween(c.Value.NextVisit, today)))
		}
		field(next, nv)
	} else {
		field(next, st.Muted.Render(l.T("tui.casedetail.none_set")))
	}
	for _, cd := range c.Value.CourtDates {
		s := string(cd.Date)
		if cd.Hearing != "" {
			s += " " + cd.Hearing
		}
		if cd.Court != "" {
			s += ", " + cd.Court
		}
		if cd.Date.Before(today) {
			s = st.Muted.Render(s + " " + l.T("tui.casedetail.past"))
		}
		field(court, s)
	}
	if c.Value.Summary != "" {
		for i, line := range wrap(c.Value.Summary, max(10, w-lw)) {
			if i == 0 {
				field(summary, line)
			} else {
				add(strings.Repeat(" ", lw) + line)
			}
		}
	}
	if c.Conflict {
		add("", st.Conflict.Render(l.N("tui.casedetail.case_conflict", len(c.Versions))))
	}

	// People.
	add("", st.Section.Render(l.T("tui.casedetail.people")))
	if len(c.Value.People) == 0 {
		add(st.Muted.Render("  " + l.T("tui.casedetail.none_recorded")))
	}
	for _, p := range c.Value.People {
		s := "  " + cell(p.Name, 24) + " " + cell(p.Role, 12)
		if p.DOB != "" {
			s += " " + l.T("tui.casedetail.person_born", "Date", string(p.DOB))
		}
		if p.Phone != "" {
			s += "  " + p.Phone
		}
		add(fitLine(s, w))
	}

	// Consent.
	add("", st.Section.Render(l.T("tui.casedetail.consent")))
	d.renderConsent(&lines, today)

	// Tasks and visits.
	open, overdue := 0, 0
	for _, t := range d.data.tasks {
		if !t.Value.Done {
			open++
			if t.Value.Due.Before(today) {
				overdue++
			}
		}
	}
	head := l.T("tui.casedetail.tasks", "Open", open)
	if overdue > 0 {
		head = l.T("tui.casedetail.tasks_overdue", "Open", open, "Overdue", overdue)
	}
	add("", st.Section.Render(head)+st.Muted.Render("  "+l.T("tui.casedetail.tasks_key")))
	if len(d.data.tasks) == 0 {
		add(st.Muted.Render("  " + l.T("tui.common.none")))
	}
	for _, t := range d.data.tasks {
		add(fitLine(taskLine(d.env, t, today), w))
	}

	// Recordings, the newest few.
	add("", st.Section.Render(l.T("tui.casedetail.recordings", "Count", len(d.data.recs)))+
		st.Muted.Render("  "+l.T("tui.casedetail.recordings_key")))
	if len(d.data.recs) == 0 {
		add(st.Muted.Render("  " + l.T("tui.common.none")))
	}
	const shownRecs = 3
	for i, r := range d.data.recs {
		if i == shownRecs {
			add(st.Muted.Render("  " + l.T("tui.casedetail.recordings_more", "More", len(d.data.recs)-shownRecs)))
			break
		}
		add(recordingLine(d.env, r, false, w))
	}

	// Notes.
	add("", st.Section.Render(l.T("tui.casedetail.notes", "Count", len(d.data.notes))))
	if len(d.data.drafts) > 0 {
		for _, dr := range d.data.drafts {
			text := l.N("tui.casedetail.draft_new", len([]rune(dr.Note.Text)))
			if dr.NoteID != "" {
				text = l.N("tui.casedetail.draft_edit", len([]rune(dr.Note.Text)))
			}
			add(st.Warn.Render("  ✎ " + text)) // i18n: a sign
		}
	}
	if len(d.data.notes) == 0 {
		add(st.Muted.Render("  " + l.T("tui.casedetail.no_notes")))
	}
	d.noteLine = d.noteLine[:0]
	for i, n := range d.data.notes {
		d.noteLine = append(d.noteLine, len(lines))
		sel := i == d.sel
		marker := "  "
		if sel {
			marker = "▸ " // i18n: the cursor
		}
		h := marker + string(n.Value.Date)
		if n.Value.Time != "" {
			h += " " + n.Value.Time
		}
		h += sepDot + valueWord(l, n.Value.Kind)
		if n.Value.Place != "" {
			h += sepDot + n.Value.Place
		}
		var flags []string
		if n.Conflict {
			flags = append(flags, l.N("tui.casedetail.versions", len(n.Versions)))
		}
		if n.Unsynced {
			flags = append(flags, "↑") // i18n: a sign, the case list's legend says it
		}
		fl := strings.Join(flags, " ")
		line := spread(h, fl, w)
		switch {
		case sel:
			line = st.Selected.Render(fitLine(line, w))
		case n.Conflict:
			line = st.Conflict.Render(fitLine(line, w))
		default:
			line = st.Label.Render(fitLine(line, w))
		}
		add(line)
		switch {
		case n.Loading:
			add(st.Muted.Render("    " + l.T("tui.casedetail.note_decrypting")))
		case n.Sealed:
			add(st.Muted.Render("    " + l.T("tui.casedetail.note_sealed")))
		default:
			var with []string
			if len(n.Value.Attendees) > 0 {
				with = append(with, l.T("tui.casedetail.note_with", "Names", strings.Join(n.Value.Attendees, ", ")))
			}
			if n.Value.Author != "" {
				with = append(with, l.T("tui.casedetail.note_by", "Name", n.Value.Author))
			}
			if len(with) > 0 {
				add(fitLine(st.Muted.Render("    "+strings.Join(with, sepDot)), w))
			}
			for _, para := range strings.Split(n.Value.Text, "\n") {
				for _, line := range wrap(para, max(10, w-5)) {
					add("    " + line)
				}
			}
		}
		add("")
	}
	d.vp.SetContentLines(lines)
}

// renderConsent lists the standing decisions, flagging refused, withdrawn
// and review-due ones, and people of the case with no decision at all.
func (d *caseDetail) renderConsent(lines *[]string, today record.Date) {
	st, l := d.env.st, d.env.l
	w := d.w
	cs := d.data.consents
	if len(cs) == 0 {
		*lines = append(*lines, st.Warn.Render("  "+l.T("tui.casedetail.consent_none")))
		return
	}
	nameW, scopeW, decW := 22, 8, 9
	for _, v := range record.ConsentScopes {
		scopeW = max(scopeW, ansiWidth(valueWord(l, v)))
	}
	for _, v := range record.Decisions {
		decW = max(decW, ansiWidth(valueWord(l, v)))
	}
	for _, c := range cs {
		dec := cell(valueWord(l, c.Decision), decW)
		switch c.Decision {
		case "refused", "withdrawn": // i18n: a record's values
			dec = st.Bad.Render(dec)
		case "given": // i18n: a record's value
			dec = st.Good.Render(dec)
		}
		s := "  " + cell(c.Person, nameW) + " " + cell(valueWord(l, c.Scope), scopeW) + " " + dec + " " + string(c.Date)
		if c.ReviewDate != "" {
			if c.ReviewDue(today) {
				s += "  " + st.Warn.Render(l.T("tui.casedetail.review_due", "Date", string(c.ReviewDate)))
			} else {
				s += st.Muted.Render("  " + l.T("tui.casedetail.review", "Date", string(c.ReviewDate)))
			}
		}
		*lines = append(*lines, fitLine(s, w))
	}
	var missing []string
	for _, p := range d.data.cv.Value.People {
		found := false
		for _, c := range cs {
			if strings.EqualFold(c.Person, p.Name) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, p.Name)
		}
	}
	if len(missing) > 0 {
		for i, line := range wrap(l.T("tui.casedetail.consent_missing", "Names", strings.Join(missing, ", ")), max(10, w-4)) {
			if i > 0 {
				line = "  " + line
			}
			*lines = append(*lines, "  "+st.Warn.Render(line))
		}
	}
}

// taskLine is one task: a check box, due date, title, kind and flags.
func taskLine(e *env, t store.Item[record.Task], today record.Date) string {
	st, l := e.st, e.l
	box := "[ ]"
	if t.Value.Done {
		box = "[x]" // i18n: a ticked box
	}
	due := string(t.Value.Due)
	if due == "" {
		due = cell(l.T("tui.common.no_date"), max(10, ansiWidth(l.T("tui.common.no_date"))))
	}
	s := "  " + box + " " + due + "  " + t.Value.Title
	if t.Value.Kind != "" {
		s += st.Muted.Render(sepDot + valueWord(l, t.Value.Kind))
	}
	if t.Value.Done {
		if t.Value.DoneOn != "" {
			s += st.Muted.Render(sepDot + l.T("task.state.done", "Date", string(t.Value.DoneOn)))
		}
		s = st.Muted.Render(s)
	} else if t.Value.Due.Before(today) {
		s += "  " + st.Overdue.Render(l.T("tui.common.overdue_flag"))
	}
	if t.Conflict {
		s += "  " + st.Conflict.Render(l.T("tui.caselist.flag_conflict"))
	}
	return s
}

// valueWord is a value of one of the record schema's enumerations (a note's
// or task's kind, a consent's scope or decision) as the screen says it; a
// value it does not know is shown as it is.
func valueWord(l *i18n.Locale, v string) string {
	switch v {
	case "visit": // i18n: a record's value
		return l.T("kind.visit")
	case "task": // i18n: a record's value
		return l.T("kind.task")
	case "phone": // i18n: a record's value
		return l.T("tui.common.value.phone")
	case "court": // i18n: a record's value
		return l.T("tui.common.value.court")
	case "supervision": // i18n: a record's value
		return l.T("tui.common.value.supervision")
	case "given": // i18n: a record's value
		return l.T("tui.common.value.given")
	case "refused": // i18n: a record's value
		return l.T("tui.common.value.refused")
	case "withdrawn": // i18n: a record's value
		return l.T("tui.common.value.withdrawn")
	case "health": // i18n: a record's value
		return l.T("tui.common.value.health")
	case "school": // i18n: a record's value
		return l.T("tui.common.value.school")
	case "police": // i18n: a record's value
		return l.T("tui.common.value.police")
	case "housing": // i18n: a record's value
		return l.T("tui.common.value.housing")
	case "family": // i18n: a record's value
		return l.T("tui.common.value.family")
	case "other": // i18n: a record's value
		return l.T("tui.common.value.other")
	}
	return v
}
