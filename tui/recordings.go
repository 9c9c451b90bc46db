package tui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// recordings lists a case's dictated recordings, newest first: when, how
// long, status (draft → submitted → transcribed), priority, work type and
// title, with the interrupted, conflict and unsynced flags. enter opens one
// in the recorder; n starts a new one.
type recordings struct {
	env    *env
	caseID string
	ref    string
	items  []store.Item[record.Recording]
	loaded bool
	err    string
	nav    listNav
	w, h   int
}

// recordingsLoadedMsg carries a case's recordings (sent by
// loadRecordingsCmd, after the crash recovery).
type recordingsLoadedMsg struct {
	caseID string
	ref    string
	items  []store.Item[record.Recording]
	err    error
}

func loadRecordingsCmd(v *store.Vault, rc *recovery, caseID string) tea.Cmd {
	return func() tea.Msg {
		msg := recordingsLoadedMsg{caseID: caseID}
		_, _ = rc.run(v) // a failure is told once, after the unlock
		cv, err := v.Case(caseID)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.ref = cv.Value.Ref
		msg.items, msg.err = v.Recordings(caseID)
		return msg
	}
}

func newRecordings(e *env, caseID, ref string) *recordings {
	return &recordings{env: e, caseID: caseID, ref: ref}
}

func (l *recordings) Init() tea.Cmd {
	return l.env.io(loadRecordingsCmd(l.env.vault, l.env.recovery, l.caseID))
}

func (l *recordings) Title() string { return l.env.l.T("tui.recordings.title") }

func (l *recordings) Typing() bool { return false }

func (l *recordings) SetSize(w, h int) {
	l.w, l.h = w, h
	l.nav.SetHeight(l.listHeight())
}

// listHeight is the rows of recordings shown: the screen less the heading,
// the rule, the column heading, the legend and the line above it.
func (l *recordings) listHeight() int { return max(1, l.h-5) }

func (l *recordings) ShortHelp() []key.Binding {
	return l.env.keys.recordings.ShortHelp()
}

func (l *recordings) FullHelp() [][]key.Binding {
	return l.env.keys.recordings.FullHelp()
}

func (l *recordings) Update(msg tea.Msg) (component, tea.Cmd) {
	k := l.env.keys.recordings
	switch msg := msg.(type) {
	case recordingsLoadedMsg:
		if msg.caseID != l.caseID {
			return l, nil
		}
		l.loaded = true
		if msg.err != nil {
			l.env.logErr("loading recordings", msg.err)
			l.err = l.env.l.T("tui.recordings.load_failed", "Err", msg.err.Error())
			return l, nil
		}
		l.err = ""
		if msg.ref != "" {
			l.ref = msg.ref
		}
		l.items = msg.items
		l.nav.Clamp(len(l.items))
		return l, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Back):
			return l, back("", false)
		case l.nav.Key(msg, k.navKeys):
		case key.Matches(msg, k.NewRecording):
			return l, cmdOf(openRecorder(l.caseID, "", l.ref))
		case key.Matches(msg, k.Open):
			if l.nav.Cursor() >= len(l.items) {
				return l, nil
			}
			it := l.items[l.nav.Cursor()]
			if it.Sealed {
				return l, notice(l.env.l.T("tui.recordings.sealed_open"))
			}
			return l, cmdOf(openRecorder(l.caseID, it.ID, l.ref))
		}
	}
	return l, nil
}

// Column widths of the recordings table (after the 2-column marker).
const (
	recColWhen   = 16
	recColDue    = 12
	recColLength = 7
	recColFlags  = 3
	recColStatus = 11
	recColPrio   = 8
	recColType   = 12
)

// recordingsHeader is the table's column headings.
func recordingsHeader(l *i18n.Locale, st *styles, w int) string {
	return fitLine(st.ColHeader.Render("  "+cell(l.T("tui.typist.col.recorded"), recColWhen)+"  "+
		padLeft(l.T("tui.typist.col.length"), recColLength)+" "+cell("", recColFlags)+" "+
		cell(l.T("tui.recordings.col.status"), recColStatus)+" "+cell(l.T("tui.typist.col.priority"), recColPrio)+" "+
		cell(l.T("tui.typist.col.work_type"), recColType)+" "+l.T("tui.typist.col.title")), w)
}

// recordingLine is one recording as a table row (the case detail shows the
// same rows).
func recordingLine(e *env, it store.Item[record.Recording], selected bool, w int) string {
	st, l := e.st, e.l
	r := it.Value
	mark := "  "
	if selected {
		mark = "▸ "
	}
	if it.Sealed {
		when := recordedTime(e, r.Recorded, "2006-01-02 15:04") // i18n: an ISO time in a table
		s := mark + cell(when, recColWhen) + "  " + l.T("tui.recordings.sealed_row")
		if selected {
			return st.Selected.Render(fitLine(s, w))
		}
		return st.Muted.Render(fitLine(s, w))
	}
	var flags string
	if r.Interrupted {
		flags += "!"
	}
	if it.Conflict {
		flags += "≠"
	}
	if it.Unsynced {
		flags += "↑"
	}
	title := r.Title
	if title == "" {
		title = l.T("tui.typist.untitled")
	}
	length := clock(time.Duration(r.DurationMS) * time.Millisecond)
	row := mark + cell(recordedTime(e, r.Recorded, "2006-01-02 15:04"), recColWhen) + "  " + padLeft(length, recColLength) + " " + // i18n: an ISO time in a table
		cell(flags, recColFlags) + " " + cell(string(r.Status), recColStatus) + " " + cell(string(r.Priority), recColPrio) + " " +
		cell(r.WorkType, recColType) + " " + title
	switch {
	case selected:
		return st.Selected.Render(fitLine(row, w))
	case it.Conflict:
		return st.Conflict.Render(fitLine(row, w))
	case r.Priority == record.PriorityUrgent && r.Status == record.StatusDraft:
		return st.Warn.Render(fitLine(row, w))
	}
	return fitLine(row, w)
}

// padLeft right-aligns s in w columns.
func padLeft(s string, w int) string {
	if n := ansiWidth(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

func (l *recordings) View() string {
	st, loc := l.env.st, l.env.l
	w := l.w
	var lines []string
	head := st.Title.Render(loc.T("tui.recordings.heading", "Ref", l.ref))
	count := ""
	if l.loaded {
		count = loc.N("tui.recordings.count", len(l.items))
	}
	lines = append(lines, spread(head, st.Muted.Render(count), w))
	if l.err != "" {
		lines = append(lines, st.Error.Render(l.err))
	} else {
		lines = append(lines, st.Muted.Render(strings.Repeat("─", max(0, w))))
	}
	switch {
	case !l.loaded:
		lines = append(lines, st.Muted.Render(loc.T("tui.typist.loading")))
		return strings.Join(lines, "\n")
	case len(l.items) == 0:
		lines = append(lines, "", loc.T("tui.recordings.none"))
		return strings.Join(lines, "\n")
	}
	lines = append(lines, recordingsHeader(loc, st, w))
	start, end := l.nav.Visible()
	for i := start; i < end; i++ {
		lines = append(lines, recordingLine(l.env, l.items[i], l.nav.Selected(i), w))
	}
	for len(lines) < l.h-1 {
		lines = append(lines, "")
	}
	lines = append(lines, fitLine(st.Muted.Render(loc.T("tui.recordings.legend")), w))
	return strings.Join(lines, "\n")
}
