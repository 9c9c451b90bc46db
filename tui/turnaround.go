package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/store"
)

// turnaroundLoadedMsg carries the turnaround computed from the vault, and
// the due rules in force.
type turnaroundLoadedMsg struct {
	rep dictation.TurnaroundReport
	pol dictation.DuePolicy
	err error
}

// loadTurnaroundCmd computes the turnaround of every recording the vault
// can read, at now.
func loadTurnaroundCmd(v *store.Vault, local dictation.DueRules, now time.Time) tea.Cmd {
	return func() tea.Msg {
		rep, err := dictation.VaultTurnaround(v, now)
		return turnaroundLoadedMsg{rep: rep, pol: dictation.DuePolicyOf(v, local), err: err}
	}
}

// turnaroundScreen is the supervisor's dictation turnaround, opened from
// the team view: per typist and per author how long dictations wait for
// their transcripts (median, p90), and per author what waits, the oldest
// wait and what is overdue; then the due rules in force and where they
// come from. It is computed on this laptop from the recordings its vault
// holds, so it works offline.
type turnaroundScreen struct {
	env    *env
	loaded bool
	err    string
	rep    dictation.TurnaroundReport
	pol    dictation.DuePolicy
	offset int
	w, h   int
}

func newTurnaroundScreen(e *env) *turnaroundScreen { return &turnaroundScreen{env: e} }

func (s *turnaroundScreen) Title() string { return s.env.l.T("tui.turnaround.title") }

func (s *turnaroundScreen) Typing() bool { return false }

func (s *turnaroundScreen) SetSize(w, h int) { s.w, s.h = w, h }

func (s *turnaroundScreen) ShortHelp() []key.Binding {
	return s.env.keys.turnaround.ShortHelp()
}

func (s *turnaroundScreen) FullHelp() [][]key.Binding {
	return s.env.keys.turnaround.FullHelp()
}

// HelpNote explains the columns and the due rules.
func (s *turnaroundScreen) HelpNote() string {
	// dictation.DueFormula is the dictation package's, in English.
	return s.env.l.T("tui.turnaround.help_note", "Formula", dictation.DueFormula)
}

func (s *turnaroundScreen) Init() tea.Cmd {
	return s.env.io(loadTurnaroundCmd(s.env.vault, s.env.dueRules, s.env.now()))
}

func (s *turnaroundScreen) Update(msg tea.Msg) (component, tea.Cmd) {
	k := s.env.keys.turnaround
	switch msg := msg.(type) {
	case turnaroundLoadedMsg:
		s.loaded = true
		s.err = ""
		if msg.err != nil {
			s.env.logErr("computing the turnaround", msg.err)
			s.err = s.env.l.T("tui.turnaround.read_failed", "Err", s.env.writeErr(msg.err))
			return s, nil
		}
		s.rep, s.pol = msg.rep, msg.pol
		s.clamp()
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Back):
			return s, back("", false)
		case key.Matches(msg, k.Up):
			s.offset--
		case key.Matches(msg, k.Down):
			s.offset++
		case key.Matches(msg, k.PageUp):
			s.offset -= s.bodyHeight()
		case key.Matches(msg, k.PageDown):
			s.offset += s.bodyHeight()
		case key.Matches(msg, k.Top):
			s.offset = 0
		case key.Matches(msg, k.Bottom):
			s.offset = len(s.body())
		}
		s.clamp()
	}
	return s, nil
}

// bodyHeight is the lines under the title and the note.
func (s *turnaroundScreen) bodyHeight() int { return max(1, s.h-2) }

func (s *turnaroundScreen) clamp() {
	s.offset = max(0, min(s.offset, len(s.body())-s.bodyHeight()))
}

// span writes a wait: "45 min", "3.5 h", "2.1 d"; "—" when there is none.
func span(l *i18n.Locale, d time.Duration, n int) string {
	switch {
	case n == 0:
		return "—"
	case d < time.Hour:
		return l.T("tui.turnaround.minutes", "N", int(d.Minutes()))
	case d < 48*time.Hour:
		return l.T("tui.turnaround.hours", "N", fmt.Sprintf("%.1f", d.Hours()))
	}
	return l.T("tui.turnaround.days", "N", fmt.Sprintf("%.1f", d.Hours()/24))
}

// body is every line below the title, as the window scrolls them.
func (s *turnaroundScreen) body() []string {
	st, l := s.env.st, s.env.l
	w := s.w
	if !s.loaded {
		return []string{st.Muted.Render("  " + l.T("tui.turnaround.computing"))}
	}
	if s.err != "" {
		return []string{st.Error.Render("  " + s.err)}
	}
	nameW := max(8, min(24, w-2-6*1-7-9-9-8-9-8))
	var lines []string
	head := func(h string) { lines = append(lines, st.ColHeader.Render(fitLine(h, w))) }
	done, median := padLeft(l.T("tui.turnaround.col.done"), 5), padLeft(l.T("tui.turnaround.col.median"), 8)
	p90 := padLeft("P90", 8) // i18n: a statistic's name, the same in Welsh
	head("  " + cell(l.T("tui.turnaround.col.typist"), nameW) + " " + done + " " + median + " " + p90)
	if len(s.rep.Typists) == 0 {
		lines = append(lines, st.Muted.Render("  "+l.T("tui.turnaround.no_transcripts")))
	}
	for _, t := range s.rep.Typists {
		lines = append(lines, fitLine("  "+cell(t.Name, nameW)+" "+padLeft(itoa(t.Done), 5)+" "+
			padLeft(span(l, t.Median, t.Done), 8)+" "+padLeft(span(l, t.P90, t.Done), 8), w))
	}
	lines = append(lines, "")
	head("  " + cell(l.T("tui.turnaround.col.author"), nameW) + " " + done + " " + median + " " + p90 + " " +
		padLeft(l.T("tui.turnaround.col.waiting"), 7) + " " + padLeft(l.T("tui.turnaround.col.oldest"), 8) + " " +
		padLeft(l.T("tui.turnaround.col.overdue"), 7))
	if len(s.rep.Authors) == 0 {
		lines = append(lines, st.Muted.Render("  "+l.T("tui.turnaround.no_dictations")))
	}
	for _, a := range s.rep.Authors {
		over := padLeft(itoa(a.Overdue), 7)
		if a.Overdue > 0 {
			over = st.Overdue.Render(padLeft(itoa(a.Overdue)+" !", 7))
		}
		lines = append(lines, fitLine("  "+cell(a.Name, nameW)+" "+padLeft(itoa(a.Done), 5)+" "+
			padLeft(span(l, a.Median, a.Done), 8)+" "+padLeft(span(l, a.P90, a.Done), 8)+" "+
			padLeft(itoa(a.Waiting), 7)+" "+padLeft(span(l, a.Oldest, a.Waiting), 8)+" "+over, w))
	}
	if s.rep.Sealed > 0 {
		lines = append(lines, st.Muted.Render(fitLine("  "+l.N("tui.turnaround.sealed", s.rep.Sealed), w)))
	}
	lines = append(lines, "", st.Section.Render(l.T("tui.turnaround.due_dates")))
	// The due rules and the formula are the dictation package's, in English.
	for _, line := range wrap(s.pol.String(), max(10, w-2)) {
		lines = append(lines, "  "+line)
	}
	for _, line := range wrap(dictation.DueFormula, max(10, w-2)) {
		lines = append(lines, "  "+st.Muted.Render(line))
	}
	return lines
}

func (s *turnaroundScreen) View() string {
	st, l := s.env.st, s.env.l
	right := ""
	if s.loaded && s.err == "" {
		waiting, overdue, oldest := s.rep.Totals()
		right = l.N("tui.turnaround.waiting", waiting) + " · " + l.N("tui.turnaround.overdue", overdue)
		if waiting > 0 {
			right += " · " + l.T("tui.turnaround.oldest", "Span", span(l, oldest, waiting))
		}
	}
	now := s.env.now()
	lines := []string{spread(st.Title.Render(l.T("tui.turnaround.heading")), st.Muted.Render(right), s.w),
		fitLine(st.Muted.Render(l.T("tui.turnaround.as_of", "Day", now.Day(), "Month", shortMonth(l, now.Month()),
			"Time", now.Format("15:04"))), s.w)}
	body := s.body()
	end := min(s.offset+s.bodyHeight(), len(body))
	lines = append(lines, body[s.offset:end]...)
	for len(lines) < s.h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}
