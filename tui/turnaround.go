package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/dictation"
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

func (s *turnaroundScreen) Title() string { return "Turnaround" }

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
	return "Waits run from a dictation's submission to its transcript. Median and P90: half, and nine in ten, of the " +
		"transcripts took at most this long (nearest rank). Waiting: submitted, not yet transcribed; Oldest: the longest " +
		"of those waits; Overdue: waiting past the due date. Computed on this laptop from the recordings it holds " +
		"(the team's cases), so it works offline. " + dictation.DueFormula + " The agency's signed due rules win over " +
		"a laptop's turnaround setting."
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
			s.err = "Could not read the recordings: " + writeError(msg.err)
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
func span(d time.Duration, n int) string {
	switch {
	case n == 0:
		return "—"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f d", d.Hours()/24)
}

// body is every line below the title, as the window scrolls them.
func (s *turnaroundScreen) body() []string {
	st := s.env.st
	w := s.w
	if !s.loaded {
		return []string{st.Muted.Render("  Computing from the recordings on this laptop…")}
	}
	if s.err != "" {
		return []string{st.Error.Render("  " + s.err)}
	}
	nameW := max(8, min(24, w-2-6*1-7-9-9-8-9-8))
	var lines []string
	head := func(h string) { lines = append(lines, st.ColHeader.Render(fitLine(h, w))) }
	head("  " + cell("TYPIST", nameW) + " " + padLeft("DONE", 5) + " " + padLeft("MEDIAN", 8) + " " + padLeft("P90", 8))
	if len(s.rep.Typists) == 0 {
		lines = append(lines, st.Muted.Render("  No transcript saved yet."))
	}
	for _, t := range s.rep.Typists {
		lines = append(lines, fitLine("  "+cell(t.Name, nameW)+" "+padLeft(itoa(t.Done), 5)+" "+
			padLeft(span(t.Median, t.Done), 8)+" "+padLeft(span(t.P90, t.Done), 8), w))
	}
	lines = append(lines, "")
	head("  " + cell("AUTHOR", nameW) + " " + padLeft("DONE", 5) + " " + padLeft("MEDIAN", 8) + " " + padLeft("P90", 8) + " " +
		padLeft("WAITING", 7) + " " + padLeft("OLDEST", 8) + " " + padLeft("OVERDUE", 7))
	if len(s.rep.Authors) == 0 {
		lines = append(lines, st.Muted.Render("  No dictation submitted for typing on this laptop yet."))
	}
	for _, a := range s.rep.Authors {
		over := padLeft(itoa(a.Overdue), 7)
		if a.Overdue > 0 {
			over = st.Overdue.Render(padLeft(itoa(a.Overdue)+" !", 7))
		}
		lines = append(lines, fitLine("  "+cell(a.Name, nameW)+" "+padLeft(itoa(a.Done), 5)+" "+
			padLeft(span(a.Median, a.Done), 8)+" "+padLeft(span(a.P90, a.Done), 8)+" "+
			padLeft(itoa(a.Waiting), 7)+" "+padLeft(span(a.Oldest, a.Waiting), 8)+" "+over, w))
	}
	if s.rep.Sealed > 0 {
		lines = append(lines, st.Muted.Render(fitLine("  "+plural(s.rep.Sealed, "recording", "recordings")+
			" this laptop holds no key for are not counted.", w)))
	}
	lines = append(lines, "", st.Section.Render("Due dates"))
	for _, l := range wrap(s.pol.String(), max(10, w-2)) {
		lines = append(lines, "  "+l)
	}
	for _, l := range wrap(dictation.DueFormula, max(10, w-2)) {
		lines = append(lines, "  "+st.Muted.Render(l))
	}
	return lines
}

func (s *turnaroundScreen) View() string {
	st := s.env.st
	right := ""
	if s.loaded && s.err == "" {
		waiting, overdue, oldest := s.rep.Totals()
		right = plural(waiting, "waiting", "waiting") + " · " + plural(overdue, "overdue", "overdue")
		if waiting > 0 {
			right += " · oldest " + span(oldest, waiting)
		}
	}
	lines := []string{spread(st.Title.Render("Dictation turnaround"), st.Muted.Render(right), s.w),
		fitLine(st.Muted.Render("From the recordings on this laptop, as of "+s.env.now().Format("2 Jan 15:04")+" · works offline"), s.w)}
	body := s.body()
	end := min(s.offset+s.bodyHeight(), len(body))
	lines = append(lines, body[s.offset:end]...)
	for len(lines) < s.h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}
