package tui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
)

// openAuditDetail is the detail of the audit event written each time the
// case detail opens a case.
const openAuditDetail = "opened in the TUI" // i18n: data: signed into the audit trail, the same for every reader

// auditOpenCmd records that the case was opened (read). A failure is
// logged, never shown: the user opened the case all the same.
func auditOpenCmd(e *env, caseID string) func() {
	v := e.vault
	return func() {
		if err := v.Audit(caseID, record.AuditOpen, openAuditDetail); err != nil {
			e.logErr("recording the case open in the audit trail", err)
		}
	}
}

// accessLoadedMsg carries a case's audit events.
type accessLoadedMsg struct {
	caseID string
	ref    string
	events []record.AuditEvent
	err    error
}

// accessHistory is a case's access history: every audit event this device
// holds (opens, exports, membership changes, key rotations,
// transcriptions), newest first, with who, on which device, and what.
type accessHistory struct {
	env    *env
	caseID string
	ref    string
	events []record.AuditEvent // newest first
	loaded bool
	err    string
	nav    listNav // cursor and window over events
	w, h   int
}

func newAccessHistory(e *env, caseID, ref string) *accessHistory {
	return &accessHistory{env: e, caseID: caseID, ref: ref}
}

func (a *accessHistory) Init() tea.Cmd {
	v, id := a.env.vault, a.caseID
	return a.env.io(func() tea.Msg {
		msg := accessLoadedMsg{caseID: id}
		if cv, err := v.Case(id); err == nil {
			msg.ref = cv.Value.Ref
		}
		msg.events, msg.err = v.AuditEvents(id)
		return msg
	})
}

func (a *accessHistory) Title() string { return a.env.l.T("tui.access.title") }

func (a *accessHistory) Typing() bool { return false }

func (a *accessHistory) SetSize(w, h int) {
	a.w, a.h = w, h
	a.nav.SetHeight(a.listHeight())
}

func (a *accessHistory) ShortHelp() []key.Binding {
	return a.env.keys.access.ShortHelp()
}

func (a *accessHistory) FullHelp() [][]key.Binding {
	return a.env.keys.access.FullHelp()
}

// HelpNote says what the trail is.
func (a *accessHistory) HelpNote() string {
	return a.env.l.T("tui.access.help_note")
}

func (a *accessHistory) Update(msg tea.Msg) (component, tea.Cmd) {
	k := a.env.keys.access
	switch msg := msg.(type) {
	case accessLoadedMsg:
		if msg.caseID != a.caseID {
			return a, nil
		}
		a.loaded = true
		if msg.err != nil {
			a.env.logErr("reading the access history", msg.err)
			a.err = a.env.l.T("tui.access.read_failed", "Err", a.env.writeErr(msg.err))
			return a, nil
		}
		a.err = ""
		if msg.ref != "" {
			a.ref = msg.ref
		}
		a.events = slices.Clone(msg.events)
		slices.Reverse(a.events)
		a.nav.Clamp(len(a.events))
		return a, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Back):
			return a, back("", false)
		default:
			a.nav.Key(msg, k.navKeys)
		}
	}
	return a, nil
}

func (a *accessHistory) listHeight() int { return max(1, a.h-3) }

// shortID is the first ten characters of a device id.
func shortID(id string) string {
	if len(id) > 10 {
		return id[:10]
	}
	return id
}

func (a *accessHistory) View() string {
	st, l := a.env.st, a.env.l
	right := ""
	if a.loaded && a.err == "" {
		right = l.N("tui.access.events", len(a.events))
	}
	lines := []string{spread(st.Title.Render(l.T("tui.access.heading", "Ref", a.ref)), st.Muted.Render(right), a.w)}
	whenW, whoW, deviceW, actionW := 19, 16, 10, 13
	layout := "2006-01-02 15:04:05" // i18n: an ISO time in a table
	if a.w < 100 {
		whenW, whoW, layout = 16, 14, "2006-01-02 15:04" // i18n: an ISO time in a table
	}
	if a.w < 70 {
		deviceW = 0
	}
	hdr := "  " + cell(l.T("tui.access.col.when"), whenW) + " " + cell(l.T("tui.access.col.who"), whoW) + " "
	if deviceW > 0 {
		hdr += cell(l.T("tui.access.col.device"), deviceW) + " "
	}
	hdr += cell(l.T("tui.access.col.action"), actionW) + " " + l.T("tui.access.col.detail")
	lines = append(lines, st.ColHeader.Render(fitLine(hdr, a.w)))
	switch {
	case !a.loaded:
		lines = append(lines, st.Muted.Render("  "+l.T("tui.typist.loading")))
	case a.err != "":
		lines = append(lines, st.Error.Render("  "+a.err))
	case len(a.events) == 0:
		lines = append(lines, "  "+l.T("tui.access.none"))
	}
	start, end := a.nav.Visible()
	for i := start; i < end; i++ {
		e := a.events[i]
		row := cell(e.At.In(a.env.now().Location()).Format(layout), whenW) + " " + cell(orDash(e.Actor), whoW) + " "
		if deviceW > 0 {
			row += cell(shortID(e.Device), deviceW) + " "
		}
		row += cell(e.Action, actionW) + " " + e.Detail
		lines = append(lines, listRow(st, row, a.nav.Selected(i), a.w))
	}
	for len(lines) < a.h-1 {
		lines = append(lines, "")
	}
	legend := l.T("tui.access.legend")
	if a.nav.Cursor() < len(a.events) {
		// The selected event's detail in full, when the table cuts it.
		if d := a.events[a.nav.Cursor()].Detail; ansiWidth(d) > a.w-2-whenW-1-whoW-1-deviceW-1-actionW-1 {
			legend = d
		}
	}
	if pos := a.nav.Position(); pos != "" {
		legend += "   " + pos
	}
	lines = append(lines, fitLine(st.Muted.Render(legend), a.w))
	return strings.Join(lines, "\n")
}
