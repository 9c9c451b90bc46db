package tui

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/pedal"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// queuedRec is a recording waiting for typing, with its case's reference.
type queuedRec struct {
	store.Item[record.Recording]
	ref string
}

// typingQueueMsg carries the recordings submitted for typing.
type typingQueueMsg struct {
	recs   []queuedRec
	sealed int // cases open for typing whose key has not reached this laptop
	err    error
}

// priorityRank orders priorities most pressing first.
func priorityRank(p record.Priority) int {
	if i := slices.Index(record.Priorities, p); i >= 0 {
		return -i // Priorities run normal, high, urgent
	}
	return 1
}

func loadTypingQueueCmd(v *store.Vault, rc *recovery) tea.Cmd {
	return func() tea.Msg {
		_, _ = rc.run(v) // a failure is told once, after the unlock
		ids, err := caseload.CasesWaitingTranscription(v)
		if err != nil {
			return typingQueueMsg{err: err}
		}
		var out []queuedRec
		sealed := 0
		for _, id := range ids {
			recs, err := v.Recordings(id)
			if err != nil {
				return typingQueueMsg{err: err}
			}
			ref := id
			cv, err := v.Case(id)
			if err == nil && !cv.Sealed {
				ref = cv.Value.Ref
			} else if err == nil {
				sealed++
				continue
			}
			for _, r := range recs {
				if !r.Sealed && r.Value.WaitsForTyping() {
					out = append(out, queuedRec{Item: r, ref: ref})
				}
			}
		}
		slices.SortStableFunc(out, func(a, b queuedRec) int {
			return cmp.Or(compareDue(a.Value.Due, b.Value.Due), cmp.Compare(priorityRank(a.Value.Priority), priorityRank(b.Value.Priority)),
				cmp.Compare(a.Value.Recorded, b.Value.Recorded), cmp.Compare(a.ref, b.ref))
		})
		return typingQueueMsg{recs: out, sealed: sealed}
	}
}

// dueLabel is a due date as the typist reads it, "Mon 14 Dec" (in Welsh
// "Llun 14/12", to fit the column), with " !" when it is past (overdue);
// "" without one.
func dueLabel(l *i18n.Locale, due, today record.Date) (label string, overdue bool) {
	if due == "" {
		return "", false
	}
	label, overdue = dueDay(l, due), due.Before(today)
	if overdue {
		label += " !"
	}
	return label, overdue
}

// dueDay is a due date, "Mon 14 Dec" (in Welsh "Llun 14/12").
func dueDay(l *i18n.Locale, due record.Date) string {
	d := due.Time()
	return l.T("tui.typist.due_label", "Weekday", shortWeekday(l, d.Weekday()), "Day", d.Day(),
		"Month", shortMonth(l, d.Month()), "MonthNumber", int(d.Month()))
}

// dueText is " · due Mon 14 Dec" for a header, or "" without a due date.
func dueText(l *i18n.Locale, due, today record.Date) string {
	if label, _ := dueLabel(l, due, today); label != "" {
		return " · " + l.T("tui.typist.due", "Date", label)
	}
	return ""
}

// shortWeekday is a day's name, shortened as the locale shortens it (Mon,
// Llun).
func shortWeekday(l *i18n.Locale, d time.Weekday) string {
	return l.T(shortWeekdayIDs[d]) // i18n: the ids are the literals of shortWeekdayIDs
}

// The short days' ids, from Sunday (time.Weekday's order), spelled out so
// the catalogue test finds them.
var shortWeekdayIDs = [7]string{"tui.typist.wd.sun", "tui.typist.wd.mon", "tui.typist.wd.tue", // i18n: ids
	"tui.typist.wd.wed", "tui.typist.wd.thu", "tui.typist.wd.fri", "tui.typist.wd.sat"} // i18n: ids

// recordedProse is when a recording was made (RFC 3339), in running text:
// "2 Nov 2026 15:04".
func recordedProse(e *env, s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	t = t.In(e.now().Location())
	return e.l.T("tui.typist.when", "Day", t.Day(), "Month", shortMonth(e.l, t.Month()), "Year", t.Year(), "Time", t.Format("15:04"))
}

// compareDue orders due dates earliest first, a recording without one
// (submitted before due dates were kept) last.
func compareDue(a, b record.Date) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	return cmp.Compare(a, b)
}

// typingQueue is the typist's work: every recording submitted for typing,
// across the cases on this device, most urgent and oldest first. enter
// types its transcript; p plays it in the recorder.
type typingQueue struct {
	env    *env
	recs   []queuedRec
	sealed int
	loaded bool
	err    string
	nav    listNav // cursor and window over recs
	w, h   int
}

func newTypingQueue(e *env) *typingQueue { return &typingQueue{env: e} }

func (q *typingQueue) Init() tea.Cmd {
	return q.env.io(loadTypingQueueCmd(q.env.vault, q.env.recovery))
}

func (q *typingQueue) Title() string { return q.env.l.T("tui.typist.queue_title") }

func (q *typingQueue) Typing() bool { return false }

func (q *typingQueue) SetSize(w, h int) {
	q.w, q.h = w, h
	q.nav.SetHeight(q.listHeight())
}

func (q *typingQueue) ShortHelp() []key.Binding {
	return q.env.keys.typingQueue.ShortHelp()
}

func (q *typingQueue) FullHelp() [][]key.Binding {
	return q.env.keys.typingQueue.FullHelp()
}

func (q *typingQueue) selected() (queuedRec, bool) {
	if q.nav.Cursor() >= len(q.recs) {
		return queuedRec{}, false
	}
	return q.recs[q.nav.Cursor()], true
}

func (q *typingQueue) Update(msg tea.Msg) (component, tea.Cmd) {
	k := q.env.keys.typingQueue
	switch msg := msg.(type) {
	case typingQueueMsg:
		q.loaded = true
		if msg.err != nil {
			q.env.logErr("listing recordings to type", msg.err)
			q.err = q.env.l.T("tui.typist.list_failed", "Err", q.env.writeErr(msg.err))
			return q, nil
		}
		q.sealed = msg.sealed
		var keep string
		if r, ok := q.selected(); ok {
			keep = r.ID
		}
		q.err, q.recs = "", msg.recs
		cursor := q.nav.Cursor()
		for i, r := range q.recs {
			if r.ID == keep {
				cursor = i
			}
		}
		q.nav.Reload(len(q.recs), cursor)
		return q, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Back):
			return q, back("", false)
		case q.nav.Key(msg, k.navKeys): // moved the cursor
		case key.Matches(msg, k.Open):
			if r, ok := q.selected(); ok {
				return q, cmdOf(openTranscribe(r))
			}
		case key.Matches(msg, k.PlayRec):
			if r, ok := q.selected(); ok {
				return q, cmdOf(openRecorder(r.CaseID, r.ID, r.ref))
			}
		}
	}
	return q, nil
}

func (q *typingQueue) listHeight() int { return max(1, q.h-3) }

func (q *typingQueue) View() string {
	st, l := q.env.st, q.env.l
	right := ""
	if q.loaded && q.err == "" {
		right = l.N("tui.typist.waiting", len(q.recs))
	}
	lines := []string{spread(st.Title.Render(l.T("tui.typist.queue_heading")), st.Muted.Render(right), q.w)}
	wide := q.w >= 120 // room for the work type and the author besides the title
	hdr := "  " + cell(l.T("tui.typist.col.due"), recColDue) + " " + cell(l.T("tui.typist.col.recorded"), recColWhen) + "  " +
		padLeft(l.T("tui.typist.col.length"), recColLength) + " " + cell(l.T("tui.typist.col.priority"), recColPrio) + " " +
		cell(l.T("tui.typist.col.case"), 10) + " "
	if wide {
		hdr += cell(l.T("tui.typist.col.work_type"), recColType) + " " + cell(l.T("tui.typist.col.by"), 14) + " "
	}
	hdr += l.T("tui.typist.col.title")
	lines = append(lines, st.ColHeader.Render(fitLine(hdr, q.w)))
	switch {
	case !q.loaded:
		lines = append(lines, st.Muted.Render("  "+l.T("tui.typist.loading")))
	case q.err != "":
		lines = append(lines, st.Error.Render("  "+q.err))
	case len(q.recs) == 0:
		lines = append(lines, "  "+l.T("tui.typist.nothing"))
	}
	if q.loaded && q.err == "" && q.sealed > 0 && len(q.recs) < q.listHeight() {
		lines = append(lines, st.Muted.Render(fitLine("  "+l.N("tui.typist.sealed", q.sealed), q.w)))
	}
	start, end := q.nav.Visible()
	today := q.env.today()
	for i := start; i < end; i++ {
		r := q.recs[i]
		sel := q.nav.Selected(i)
		mark := "  "
		if sel {
			mark = "▸ "
		}
		title := r.Value.Title
		if title == "" {
			title = l.T("tui.typist.untitled")
		}
		if r.Value.Status == record.StatusCorrection {
			title = l.T("tui.typist.draft_mark") + " " + title
		}
		due, overdue := dueLabel(l, r.Value.Due, today)
		due = cmp.Or(due, "—")
		row := mark + cell(due, recColDue) + " " + cell(recordedTime(q.env, r.Value.Recorded, "2006-01-02 15:04"), recColWhen) + "  " + // i18n: an ISO time in a table
			padLeft(clock(time.Duration(r.Value.DurationMS)*time.Millisecond), recColLength) + " " +
			cell(string(r.Value.Priority), recColPrio) + " " + cell(r.ref, 10) + " "
		if wide {
			row += cell(r.Value.WorkType, recColType) + " " + cell(r.Value.Author, 14) + " "
		}
		row += title
		switch {
		case sel:
			lines = append(lines, st.Selected.Render(fitLine(row, q.w)))
		case overdue:
			lines = append(lines, st.Overdue.Render(fitLine(row, q.w)))
		case r.Value.Priority == record.PriorityUrgent:
			lines = append(lines, st.Warn.Render(fitLine(row, q.w)))
		default:
			lines = append(lines, fitLine(row, q.w))
		}
	}
	for len(lines) < q.h-1 {
		lines = append(lines, "")
	}
	legend := l.T("tui.typist.legend")
	if slices.ContainsFunc(q.recs, func(r queuedRec) bool { return r.Value.Status == record.StatusCorrection }) {
		legend += " " + l.T("tui.typist.legend_draft", "Mark", l.T("tui.typist.draft_mark"))
	}
	if pos := q.nav.Position(); pos != "" {
		legend += "   " + pos
	}
	lines = append(lines, fitLine(st.Muted.Render(legend), q.w))
	return strings.Join(lines, "\n")
}

// transcriptKey is where the transcript being typed is kept, sealed in the
// vault's device-local state, until it is saved as a note.
func transcriptKey(recID string) string { return "tui.transcript:" + recID } // i18n: a key in the vault

type (
	// transcribedMsg reports Recording.Transcribe.
	transcribedMsg struct {
		id     int64
		noteID string
		err    error
	}
	// transcriptKeptMsg carries the transcript kept from an earlier visit.
	transcriptKeptMsg struct {
		id   int64
		text string
	}
	// transcriptDiscardedMsg reports forgetting the kept transcript.
	transcriptDiscardedMsg struct {
		id  int64
		err error
	}
	// transcriptLeftMsg reports keeping the transcript when leaving.
	transcriptLeftMsg struct {
		id   int64
		text string
		err  error
	}
)

// transcribe is the transcript editor of a recording submitted for typing:
// ctrl+s attaches the text to the case as a note and marks the recording
// transcribed (dictation's Transcribe, which also writes an audit event).
// The recording plays right here with keys that never type (playback.go);
// ctrl+o opens it in the recorder. What is typed is kept in the
// vault a moment after each change and when leaving, and comes back when
// the recording is opened again; ctrl+x discards it.
type transcribe struct {
	env     *env
	id      int64
	rec     queuedRec
	f       *form
	text    *field
	pb      *playback
	as      *autosave[string] // the kept transcript: autosaved, and written last by save, leave, discard
	started bool
	confirm bool
	errText string
	info    string
	w, h    int
	// A recording pending correction opens with its machine draft:
	// draft is its text as the editor first showed it, words ties the
	// words being corrected to the audio.
	draft string
	words *draftWords
	// A long transcript (a 30-minute draft) is edited through a window:
	// the text area holds the lines around the cursor, above and below
	// the rest, so that a keystroke lays out a screenful, not the whole
	// text (BenchmarkTranscriptEditor).
	above, below []string
}

// Transcripts longer than editorWindow lines are edited editorWindow lines
// at a time, the window moving when the cursor comes within editorMargin
// lines of its edge.
const (
	editorWindow = 40
	editorMargin = 10
)

// value is the whole transcript.
func (t *transcribe) value() string {
	if len(t.above)+len(t.below) == 0 {
		return t.text.value()
	}
	parts := make([]string, 0, len(t.above)+1+len(t.below))
	parts = append(append(append(parts, t.above...), t.text.value()), t.below...)
	return strings.Join(parts, "\n")
}

// setValue replaces the whole transcript, the cursor at its end.
func (t *transcribe) setValue(text string) {
	t.above, t.below = nil, nil
	t.text.area.SetValue(text)
	t.rewindow()
}

// moveTo puts the cursor at the start of line n of the whole transcript.
func (t *transcribe) moveTo(n int) {
	lines := strings.Split(t.value(), "\n")
	lo := min(max(0, n-editorWindow/2), max(0, len(lines)-editorWindow))
	hi := min(len(lines), lo+editorWindow)
	t.above, t.below = slices.Clone(lines[:lo]), slices.Clone(lines[hi:])
	a := &t.text.area
	a.SetValue(strings.Join(lines[lo:hi], "\n"))
	a.MoveToBegin()
	for i := 0; a.Line() < n-lo && i < 100*editorWindow; i++ {
		a.CursorDown()
	}
	a.CursorStart()
}

// cursorLine is the cursor's line in the whole transcript.
func (t *transcribe) cursorLine() int { return len(t.above) + t.text.area.Line() }

// rewindow moves the window so that the cursor is in its middle, when
// the cursor is near an edge with more text beyond it, or the window has
// grown (a paste, new lines) to twice its size.
func (t *transcribe) rewindow() {
	a := &t.text.area
	n, row := a.LineCount(), a.Line()
	nearTop := row < editorMargin && len(t.above) > 0
	nearBottom := n-1-row < editorMargin && len(t.below) > 0
	if !nearTop && !nearBottom && n <= 2*editorWindow {
		return
	}
	col, abs := a.Column(), t.cursorLine()
	lines := strings.Split(t.value(), "\n")
	lo := max(0, abs-editorWindow/2)
	hi := min(len(lines), lo+editorWindow)
	lo = max(0, hi-editorWindow)
	t.above, t.below = slices.Clone(lines[:lo]), slices.Clone(lines[hi:])
	a.SetValue(strings.Join(lines[lo:hi], "\n"))
	a.MoveToBegin()
	for i := 0; a.Line() < abs-lo && i < 100*editorWindow; i++ {
		a.CursorDown() // by rows of the wrapped text, so a line may take several
	}
	a.SetCursorColumn(col)
}

func newTranscribe(e *env, r queuedRec) *transcribe {
	f := newForm(e)
	t := &transcribe{env: e, id: editorIDs.Add(1), rec: r, f: f}
	hint := e.l.T("tui.typist.hint")
	if d := r.Value.Draft; d != nil && r.Value.Status == record.StatusCorrection {
		t.draft = draftText(d)
		t.words = newDraftWords(d, t.draft)
		hint = e.l.T("tui.typist.hint_machine")
	}
	t.text = f.area(e.l.T("tui.typist.transcript"), "", hint, 0)
	t.setValue(t.draft)
	t.pb = newPlayback(e, t.id, r.CaseID, r.ID)
	v, key := e.vault, transcriptKey(r.ID)
	t.as = newAutosave(e, t.id, "", false, func(a, b string) bool { return a == b },
		func(s string) bool { return strings.TrimSpace(s) == "" },
		func(text string) error { return persistLocals(v, []localText{{key, text}}) })
	return t
}

// machine reports a transcript that is still the machine draft, untouched.
func (t *transcribe) machine() bool { return t.words != nil && t.value() == t.draft }

func (t *transcribe) Init() tea.Cmd {
	focus := tea.Batch(t.f.setFocus(0), t.pb.open())
	if t.started {
		return focus
	}
	t.started = true
	v, id, key := t.env.vault, t.id, transcriptKey(t.rec.ID)
	return tea.Batch(focus, t.env.io(func() tea.Msg {
		m, err := v.Locals(key)
		if err != nil || m[key] == nil {
			return nil
		}
		return transcriptKeptMsg{id: id, text: string(m[key])}
	}))
}

func (t *transcribe) Title() string { return t.env.l.T("tui.typist.transcript") }

func (t *transcribe) Typing() bool { return true }

func (t *transcribe) SetSize(w, h int) {
	t.w, t.h = w, h
	t.f.setSize(w, h-4-t.draftLines())
}

// draftLines is how many lines the machine draft's status takes.
func (t *transcribe) draftLines() int {
	if t.words == nil {
		return 0
	}
	return 1
}

// AudioLive: playback or a command on it is under way, so the screen
// stays on top (its messages go to the top screen).
func (t *transcribe) AudioLive() bool { return t.pb.live() }

// Pedal plays under the foot pedal; it never types.
func (t *transcribe) Pedal(ev pedal.Event) tea.Cmd {
	if t.as.writing() && ev.Down {
		return nil // saving or leaving; a release still pauses
	}
	return t.pb.pedalEvent(ev)
}

// AudioStop stops playback for a quit or a lock.
func (t *transcribe) AudioStop(closing bool) func() error { return t.pb.stop(closing) }

func (t *transcribe) ShortHelp() []key.Binding {
	k := t.env.keys.transcribe
	if t.confirm {
		return k.Confirm.ShortHelp()
	}
	if t.words != nil {
		return []key.Binding{withHelp(k.Save, t.env.l.T("tui.keys.save_as_a_note")), k.TPlay, k.TWord,
			withHelp(k.Back, t.env.l.T("tui.keys.leave_keeps_it")), k.Discard}
	}
	return k.ShortHelp()
}

func (t *transcribe) FullHelp() [][]key.Binding {
	return t.env.keys.transcribe.FullHelp()
}

// PendingLocal is the transcript typed since it was last kept, for a quit
// or an idle lock to keep (unless it is being saved as a note right now).
func (t *transcribe) PendingLocal() (localText, bool) {
	text := t.value()
	return localText{transcriptKey(t.rec.ID), text}, t.as.pending(text)
}

func (t *transcribe) Update(msg tea.Msg) (component, tea.Cmd) {
	k := t.env.keys.transcribe
	if cmd, ok := t.as.update(msg, t.value); ok {
		if _, saved := msg.(autosavedMsg); saved && t.as.err != nil {
			t.env.logErr("keeping the transcript", t.as.err)
		}
		return t, cmd
	}
	switch msg := msg.(type) {
	case playbackResultMsg:
		if msg.id != t.id {
			return t, nil
		}
		return t, t.pb.result(msg)
	case playbackPollMsg:
		if msg.id != t.id {
			return t, nil
		}
		return t, t.pb.polled(msg)
	case pedalRepeatMsg:
		return t, t.pb.pedalRepeat(msg)
	case transcriptKeptMsg:
		if msg.id != t.id {
			return t, nil
		}
		t.as.restore(msg.text)
		if t.value() == "" || t.machine() {
			t.setValue(msg.text)
			if t.words != nil {
				t.words.update(msg.text)
			}
			t.info = t.env.l.T("tui.typist.restored")
		}
		return t, nil
	case transcriptLeftMsg:
		if msg.id != t.id {
			return t, nil
		}
		if msg.err != nil {
			t.env.logErr("keeping the transcript", msg.err)
			t.errText = t.env.l.T("tui.typist.keep_failed", "Err", t.env.writeErr(msg.err))
			return t, t.as.failed(t.value())
		}
		t.as.left(msg.text)
		if strings.TrimSpace(msg.text) == "" {
			return t, t.leave("", false)
		}
		return t, t.leave(t.env.l.T("tui.typist.kept"), false)
	case transcriptDiscardedMsg:
		if msg.id != t.id {
			return t, nil
		}
		if msg.err != nil {
			t.env.logErr("discarding the transcript", msg.err)
			t.errText = t.env.l.T("tui.typist.discard_failed", "Err", t.env.writeErr(msg.err))
			return t, t.as.failed(t.value())
		}
		t.as.ended()
		return t, t.leave(t.env.l.T("tui.typist.discarded"), false)
	case transcribedMsg:
		if msg.id != t.id {
			return t, nil
		}
		if msg.err != nil {
			t.env.logErr("transcribing a recording", msg.err)
			t.errText = t.env.l.T("tui.typist.save_failed", "Err", t.env.writeErr(msg.err))
			return t, t.as.failed(t.value())
		}
		t.as.ended()
		return t, t.leave(t.env.l.T("tui.typist.saved", "Ref", t.rec.ref), true)
	case tea.KeyPressMsg:
		if t.as.writing() {
			return t, nil
		}
		t.info = ""
		if t.words != nil && key.Matches(msg, k.TWord) {
			t.words.update(t.value())
			i := t.words.at(t.cursorLine(), t.text.area.Column())
			at, ok := t.words.startOf(i)
			if !ok {
				t.info = t.env.l.T("tui.typist.no_word_time")
				return t, nil
			}
			return t, t.pb.playFrom(at)
		}
		if cmd, ok := t.pb.key(msg); ok {
			return t, cmd
		}
		if t.confirm {
			switch {
			case key.Matches(msg, k.Confirm.Yes):
				t.confirm = false
				v, key := t.env.vault, transcriptKey(t.rec.ID)
				id := t.id
				return t, t.as.final(t.env.io(func() tea.Msg {
					return transcriptDiscardedMsg{id: id, err: v.DeleteLocal(key)}
				}), false)
			case key.Matches(msg, k.Confirm.No):
				t.confirm = false
			}
			return t, nil
		}
		switch {
		case key.Matches(msg, k.Back):
			text := t.value()
			if !t.as.pending(text) && !t.as.saving {
				if !t.as.hasSaved {
					return t, t.leave("", false)
				}
				return t, t.leave(t.env.l.T("tui.typist.kept"), false)
			}
			v, id, key := t.env.vault, t.id, transcriptKey(t.rec.ID)
			return t, t.as.final(t.env.io(func() tea.Msg {
				return transcriptLeftMsg{id: id, text: text, err: persistLocals(v, []localText{{key, text}})}
			}), true)
		case key.Matches(msg, k.Discard):
			t.confirm = true
			return t, nil
		case key.Matches(msg, k.Save):
			return t, t.save()
		case key.Matches(msg, k.Listen):
			// One player at a time: this one pauses for the recorder's.
			stop := t.pb.stop(false)
			open := openRecorder(t.rec.CaseID, t.rec.ID, t.rec.ref)
			return t, func() tea.Msg { _ = stop(); return open }
		}
	}
	if kp, ok := msg.(tea.KeyPressMsg); ok && len(t.above)+len(t.below) > 0 {
		// The start and end of the whole transcript, not of the window.
		switch {
		case key.Matches(kp, t.text.area.KeyMap.InputBegin):
			t.moveTo(0)
			return t, nil
		case key.Matches(kp, t.text.area.KeyMap.InputEnd):
			t.setValue(t.value())
			return t, nil
		}
	}
	cmd, changed := t.f.update(msg)
	if _, ok := msg.(tea.KeyPressMsg); ok {
		t.rewindow()
	}
	if changed {
		t.errText = ""
		if t.words != nil {
			t.words.update(t.value())
		}
		return t, tea.Batch(cmd, t.as.edited(t.value()))
	}
	return t, cmd
}

// leave stops playback for good, then goes back with notice.
func (t *transcribe) leave(notice string, changed bool) tea.Cmd {
	return tea.Sequence(t.pb.close(), back(notice, changed))
}

func (t *transcribe) save() tea.Cmd {
	text := strings.TrimSpace(t.value())
	if text == "" {
		t.errText = t.env.l.T("tui.typist.empty")
		return nil
	}
	if t.machine() {
		t.errText = t.env.l.T("tui.typist.uncorrected")
		return nil
	}
	t.errText = ""
	v, id, recID := t.env.vault, t.id, t.rec.ID
	e := t.env
	return t.as.final(t.env.io(func() tea.Msg {
		r, err := dictation.Open(v, recID)
		if err != nil {
			return transcribedMsg{id: id, err: err}
		}
		noteID, err := r.Transcribe(text)
		if err == nil {
			if derr := v.DeleteLocal(transcriptKey(recID)); derr != nil {
				e.logErr("forgetting the kept transcript", derr)
			}
		}
		return transcribedMsg{id: id, noteID: noteID, err: err}
	}), false)
}

func (t *transcribe) View() string {
	st, l := t.env.st, t.env.l
	r := t.rec.Value
	title := r.Title
	if title == "" {
		title = l.T("tui.typist.untitled")
	}
	head := spread(st.Title.Render(l.T("tui.typist.transcript")+" · "+t.rec.ref+" · "+title),
		st.Muted.Render(clock(time.Duration(r.DurationMS)*time.Millisecond)+" · "+string(r.Priority)+" · "+r.WorkType+dueText(l, r.Due, t.env.today())), t.w)
	sub := st.Muted.Render(l.T("tui.typist.dictated_by", "Author", orDash(r.Author), "When", recordedProse(t.env, r.Recorded)))
	switch {
	case t.confirm:
		sub = st.Warn.Render(l.T("tui.typist.confirm_discard"))
	case t.as.writing():
		sub = st.Muted.Render(l.T("tui.typist.saving"))
	case t.errText != "":
		sub = st.Error.Render(t.errText)
	case t.as.err != nil:
		sub = st.Error.Render(l.T("tui.typist.not_kept", "Err", writeErrorIn(l, t.as.err)))
	case t.info != "":
		sub = st.Notice.Render(t.info)
	}
	out := head + "\n" + fitLine(sub, t.w) + "\n" + t.pb.view(t.w) + "\n"
	if t.words != nil {
		out += t.draftView() + "\n"
	}
	return out + t.f.view(t.h-3-t.draftLines())
}

// draftView is the machine draft's line: while the recording plays, the
// word being heard, highlighted among its neighbours; otherwise whether the
// text is still machine text.
func (t *transcribe) draftView() string {
	st, l := t.env.st, t.env.l
	d := t.rec.Value.Draft
	engine := strings.TrimSpace(d.Engine + " " + d.Version)
	if t.pb.snap.playing {
		if i := t.words.playing(t.pb.pos); i >= 0 {
			label := l.T("tui.typist.machine_text") + " ▶ "
			before, word, after := t.words.context(i, t.w-len(label))
			return fitLine(st.Warn.Render(label)+before+st.Selected.Render(word)+after, t.w)
		}
	}
	if t.machine() {
		return fitLine(st.Warn.Render(l.T("tui.typist.machine_uncorrected", "Engine", engine))+
			st.Muted.Render(" · "+l.T("tui.typist.word_key", "Key", t.env.keys.transcribe.TWord.Keys()[0])), t.w)
	}
	return fitLine(st.Warn.Render(l.T("tui.typist.corrected_from", "Engine", engine))+
		st.Muted.Render(l.T("tui.typist.corrected_rest", "Key", t.env.keys.transcribe.TWord.Keys()[0])), t.w)
}
