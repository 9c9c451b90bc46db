package tui

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// caseLoadedMsg carries everything the case detail shows (sent by
// loadCaseCmd).
type caseLoadedMsg struct {
	caseID   string
	cv       store.CaseView
	notes    []store.Item[record.Note]
	consents []store.ConsentStatus
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
		if m.consents, err = v.ConsentSummary(caseID); err != nil {
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
func draftForNoteCmd(v *store.Vault, caseID, ref string, note *store.Item[record.Note], today record.Date) tea.Cmd {
	return func() tea.Msg {
		author := v.Profile().Name
		noteID := ""
		if note != nil {
			noteID = note.ID
		}
		key := store.DraftKey(caseID, noteID)
		ds, err := v.Drafts()
		if err != nil {
			return noticeMsg{Text: "Could not read drafts: " + err.Error(), Err: true}
		}
		for _, d := range ds {
			if d.Key == key {
				return editNoteMsg{Draft: d, Ref: ref, Notice: "Your draft from " + d.Saved.Local().Format("2 Jan 15:04") + " is back."}
			}
		}
		d := store.Draft{Key: key, CaseID: caseID, NoteID: noteID}
		if note != nil {
			d.Note = note.Value
			d.Base = []record.RevID{note.Rev}
		} else {
			d.Note = record.Note{Kind: "visit", Date: today, Author: author}
		}
		return editNoteMsg{Draft: d, Ref: ref}
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
	return "Case"
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
				d.err = errors.New("this case is not in the vault (deleted?)")
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
				return d, cmdOf(openConflictMsg{CaseID: d.caseID, RecordID: n.ID, Kind: record.KindNote})
			}
			if n.Loading || n.Sealed {
				return d, notice("This note cannot be edited yet (still decrypting, or no key on this device).")
			}
			return d, d.env.io(draftForNoteCmd(d.env.vault, d.caseID, d.data.cv.Value.Ref, &n, d.env.today()))
		case key.Matches(msg, k.NewNote):
			return d, d.env.io(draftForNoteCmd(d.env.vault, d.caseID, d.data.cv.Value.Ref, nil, d.env.today()))
		case key.Matches(msg, k.EditCase):
			if d.data.cv.Conflict {
				return d, cmdOf(openConflictMsg{CaseID: d.caseID, RecordID: d.caseID, Kind: record.KindCase})
			}
			return d, cmdOf(editCaseMsg{CaseID: d.caseID})
		case key.Matches(msg, k.Consent):
			return d, cmdOf(editConsentMsg{CaseID: d.caseID})
		case key.Matches(msg, k.Tasks):
			return d, cmdOf(openTasksMsg{CaseID: d.caseID})
		case key.Matches(msg, k.Dictation):
			return d, cmdOf(openRecordingsMsg{CaseID: d.caseID, Ref: d.data.cv.Value.Ref})
		case key.Matches(msg, k.Search):
			return d, cmdOf(openSearchMsg{})
		case key.Matches(msg, k.Access):
			return d, cmdOf(openAccessMsg{CaseID: d.caseID, Ref: d.data.cv.Value.Ref})
		case key.Matches(msg, k.Reassign):
			return d, cmdOf(openAssignMsg{CaseID: d.caseID, Ref: d.data.cv.Value.Ref})
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
		return cmdOf(openConflictMsg{CaseID: d.caseID, RecordID: d.caseID, Kind: record.KindCase})
	}
	if d.sel >= 0 && d.sel < len(data.notes) && data.notes[d.sel].Conflict {
		return cmdOf(openConflictMsg{CaseID: d.caseID, RecordID: data.notes[d.sel].ID, Kind: record.KindNote})
	}
	for _, n := range data.notes {
		if n.Conflict {
			return cmdOf(openConflictMsg{CaseID: d.caseID, RecordID: n.ID, Kind: record.KindNote})
		}
	}
	for _, t := range data.tasks {
		if t.Conflict {
			return cmdOf(openConflictMsg{CaseID: d.caseID, RecordID: t.ID, Kind: record.KindTask})
		}
	}
	return notice("Nothing in this case is in conflict.")
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
	st := d.env.st
	if d.err != nil {
		return st.Error.Render("Could not open the case: "+d.err.Error()) + "\n\nPress esc to go back."
	}
	if d.data == nil {
		return st.Muted.Render("Opening the case…")
	}
	c := d.data.cv
	title := st.Title.Render(c.Value.Ref + "  " + c.Value.Subject)
	badges := []string{c.Value.Status, "risk " + c.Value.Risk}
	right := st.Muted.Render(strings.Join(badges, " · "))
	if c.Value.Risk == "high" {
		right = st.Muted.Render(c.Value.Status+" · ") + st.Bad.Render("risk high")
	}
	head := spread(title, right, d.w)
	sub := ""
	if r := c.Reassigned; r != nil {
		// Taken away by a supervisor (signed keyrings say so): said before
		// anything is typed in vain.
		text := "This case was " + r.Summary() + " — read-only on this laptop"
		if len(r.Waiting) > 0 {
			text += "; kept here for " + strings.Join(r.Waiting, ", ")
		} else {
			text += "; removed from it at the next sync"
		}
		sub = st.Warn.Render(text)
	} else if c.Conflicts > 0 {
		sub = st.Conflict.Render(fmt.Sprintf("≠ %s in conflict — press v to compare and resolve", plural(c.Conflicts, "record", "records")))
	} else if len(d.data.drafts) > 0 {
		sub = st.Warn.Render("A note draft is waiting — press n (new note) or enter on the note to resume it")
	} else {
		pct := ""
		if d.vp.TotalLineCount() > d.vp.Height() {
			pct = itoa(int(d.vp.ScrollPercent()*100)) + "%"
		}
		sub = st.Muted.Render(strings.Repeat("─", max(0, d.w-len(pct)-1)) + " " + pct)
	}
	return head + "\n" + fitLine(sub, d.w) + "\n" + d.vp.View()
}

// render lays the case out into the viewport's lines.
func (d *caseDetail) render() {
	if d.data == nil || d.w <= 0 {
		return
	}
	st := d.env.st
	w := d.w
	today := d.env.today()
	c := d.data.cv
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }
	field := func(label, value string) {
		if value == "" {
			return
		}
		add(fitLine(st.Label.Render(cell(label, 12))+value, w))
	}

	field("Born", string(c.Value.DOB))
	field("Address", c.Value.Address)
	var who []string
	if c.Value.Team != "" {
		who = append(who, c.Value.Team)
	}
	if len(c.Value.Workers) > 0 {
		who = append(who, strings.Join(c.Value.Workers, ", "))
	}
	field("Team", strings.Join(who, " · "))
	field("Opened", string(c.Value.Opened))
	if c.Value.NextVisit != "" {
		nv := string(c.Value.NextVisit)
		if c.Value.NextVisit.Before(today) && c.Value.Status != "closed" {
			nv = st.Overdue.Render(nv + " ! overdue by " + plural(daysBetween(c.Value.NextVisit, today), "day", "days"))
		}
		field("Next visit", nv)
	} else {
		field("Next visit", st.Muted.Render("none set"))
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
			s = st.Muted.Render(s + " (past)")
		}
		field("Court", s)
	}
	if c.Value.Summary != "" {
		for i, l := range wrap(c.Value.Summary, max(10, w-12)) {
			if i == 0 {
				field("Summary", l)
			} else {
				add(strings.Repeat(" ", 12) + l)
			}
		}
	}
	if c.Conflict {
		add("", st.Conflict.Render(fmt.Sprintf("≠ This case record has %d versions in conflict: press v to compare them.", len(c.Versions))))
	}

	// People.
	add("", st.Section.Render("People"))
	if len(c.Value.People) == 0 {
		add(st.Muted.Render("  none recorded"))
	}
	for _, p := range c.Value.People {
		s := "  " + cell(p.Name, 24) + " " + cell(p.Role, 12)
		if p.DOB != "" {
			s += " born " + string(p.DOB)
		}
		if p.Phone != "" {
			s += "  " + p.Phone
		}
		add(fitLine(s, w))
	}

	// Consent.
	add("", st.Section.Render("Consent"))
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
	head := fmt.Sprintf("Tasks & visits (%d open", open)
	if overdue > 0 {
		head += fmt.Sprintf(", %d overdue", overdue)
	}
	add("", st.Section.Render(head+")")+st.Muted.Render("  t to manage"))
	if len(d.data.tasks) == 0 {
		add(st.Muted.Render("  none"))
	}
	for _, t := range d.data.tasks {
		add(fitLine(taskLine(st, t, today), w))
	}

	// Recordings, the newest few.
	add("", st.Section.Render(fmt.Sprintf("Recordings (%d)", len(d.data.recs)))+st.Muted.Render("  d to dictate or play"))
	if len(d.data.recs) == 0 {
		add(st.Muted.Render("  none"))
	}
	const shownRecs = 3
	for i, r := range d.data.recs {
		if i == shownRecs {
			add(st.Muted.Render(fmt.Sprintf("  … and %d more", len(d.data.recs)-shownRecs)))
			break
		}
		add(recordingLine(d.env, r, false, w))
	}

	// Notes.
	add("", st.Section.Render(fmt.Sprintf("Notes (%d, newest first)", len(d.data.notes))))
	if len(d.data.drafts) > 0 {
		for _, dr := range d.data.drafts {
			what := "a new note"
			if dr.NoteID != "" {
				what = "an edit of a note"
			}
			add(st.Warn.Render("  ✎ Draft of " + what + " waiting (" + plural(len([]rune(dr.Note.Text)), "character", "characters") + ")"))
		}
	}
	if len(d.data.notes) == 0 {
		add(st.Muted.Render("  No notes yet. Press n to write one."))
	}
	d.noteLine = d.noteLine[:0]
	for i, n := range d.data.notes {
		d.noteLine = append(d.noteLine, len(lines))
		sel := i == d.sel
		marker := "  "
		if sel {
			marker = "▸ "
		}
		h := marker + string(n.Value.Date)
		if n.Value.Time != "" {
			h += " " + n.Value.Time
		}
		h += " · " + n.Value.Kind
		if n.Value.Place != "" {
			h += " · " + n.Value.Place
		}
		var flags []string
		if n.Conflict {
			flags = append(flags, fmt.Sprintf("≠ %d versions", len(n.Versions)))
		}
		if n.Unsynced {
			flags = append(flags, "↑")
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
			add(st.Muted.Render("    (still decrypting…)"))
		case n.Sealed:
			add(st.Muted.Render("    (this device holds no key for this note)"))
		default:
			var with []string
			if len(n.Value.Attendees) > 0 {
				with = append(with, "with "+strings.Join(n.Value.Attendees, ", "))
			}
			if n.Value.Author != "" {
				with = append(with, "by "+n.Value.Author)
			}
			if len(with) > 0 {
				add(fitLine(st.Muted.Render("    "+strings.Join(with, " · ")), w))
			}
			for _, para := range strings.Split(n.Value.Text, "\n") {
				for _, l := range wrap(para, max(10, w-5)) {
					add("    " + l)
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
	st := d.env.st
	w := d.w
	cs := d.data.consents
	if len(cs) == 0 {
		*lines = append(*lines, st.Warn.Render("  ! No consent recorded for anyone in this case. Press c to record it."))
		return
	}
	nameW := 22
	for _, c := range cs {
		dec := cell(c.Decision, 9)
		switch c.Decision {
		case "refused", "withdrawn":
			dec = st.Bad.Render(dec)
		case "given":
			dec = st.Good.Render(dec)
		}
		s := "  " + cell(c.Person, nameW) + " " + cell(c.Scope, 8) + " " + dec + " " + string(c.Date)
		if c.ReviewDate != "" {
			if c.ReviewDue(today) {
				s += "  " + st.Warn.Render("review due "+string(c.ReviewDate)+" !")
			} else {
				s += st.Muted.Render("  review " + string(c.ReviewDate))
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
		for i, l := range wrap("! No decision recorded for "+strings.Join(missing, ", ")+".", max(10, w-4)) {
			if i > 0 {
				l = "  " + l
			}
			*lines = append(*lines, "  "+st.Warn.Render(l))
		}
	}
}

// taskLine is one task: a check box, due date, title, kind and flags.
func taskLine(st *styles, t store.Item[record.Task], today record.Date) string {
	box := "[ ]"
	if t.Value.Done {
		box = "[x]"
	}
	due := string(t.Value.Due)
	if due == "" {
		due = "no date   "
	}
	s := "  " + box + " " + due + "  " + t.Value.Title
	if t.Value.Kind != "" {
		s += st.Muted.Render(" · " + t.Value.Kind)
	}
	if t.Value.Done {
		if t.Value.DoneOn != "" {
			s += st.Muted.Render(" · done " + string(t.Value.DoneOn))
		}
		s = st.Muted.Render(s)
	} else if t.Value.Due.Before(today) {
		s += "  " + st.Overdue.Render("! overdue")
	}
	if t.Conflict {
		s += "  " + st.Conflict.Render("≠ conflict")
	}
	return s
}
