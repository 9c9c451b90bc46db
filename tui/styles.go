package tui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// theme picks the colours.
type theme int

const (
	themeNormal       theme = iota
	themeHighContrast       // bold black-on-white/white-on-black, no mid greys
	themeNoColor            // NO_COLOR: attributes only (bold, underline, reverse)
)

// styles are every lipgloss style of the TUI. Anything that must be seen
// without colour (overdue, conflict, refused consent) is also bold, underlined
// or marked with a symbol, so NO_COLOR and colour-blind users lose nothing.
type styles struct {
	theme  theme
	isDark bool

	App       lipgloss.Style
	Header    lipgloss.Style // the top bar
	Crumb     lipgloss.Style
	Title     lipgloss.Style // screen titles
	Section   lipgloss.Style // section headings inside a screen
	ColHeader lipgloss.Style // table column headings
	Selected  lipgloss.Style // the selected row
	Muted     lipgloss.Style
	Label     lipgloss.Style
	FocusLbl  lipgloss.Style // the label of the focused form field
	Overdue   lipgloss.Style
	Conflict  lipgloss.Style
	Unsynced  lipgloss.Style
	Good      lipgloss.Style
	Bad       lipgloss.Style
	Warn      lipgloss.Style
	Error     lipgloss.Style
	Notice    lipgloss.Style
	Status    lipgloss.Style // status bar
	Offline   lipgloss.Style
	Online    lipgloss.Style
	Box       lipgloss.Style // bordered panels (unlock, prompts, versions)
	BoxActive lipgloss.Style
	Match     lipgloss.Style // filter matches

	Help help.Styles
}

func newStyles(t theme, isDark bool) *styles {
	s := &styles{theme: t, isDark: isDark}
	ld := lipgloss.LightDark(isDark)
	var (
		accent, muted, warn, bad, good, statusBg, statusFg, selBg, selFg color.Color
	)
	switch t {
	case themeHighContrast:
		fg, bg := ld(lipgloss.Color("#000000"), lipgloss.Color("#FFFFFF")), ld(lipgloss.Color("#FFFFFF"), lipgloss.Color("#000000"))
		accent, muted = fg, fg
		warn = ld(lipgloss.Color("#7A3E00"), lipgloss.Color("#FFFF00"))
		bad = ld(lipgloss.Color("#A00000"), lipgloss.Color("#FF5555"))
		good = ld(lipgloss.Color("#005000"), lipgloss.Color("#55FF55"))
		statusBg, statusFg = fg, bg
		selBg, selFg = fg, bg
	case themeNoColor:
		// No colours at all: lipgloss.NoColor leaves the terminal's own.
		nc := lipgloss.NoColor{}
		accent, muted, warn, bad, good, statusBg, statusFg, selBg, selFg = nc, nc, nc, nc, nc, nc, nc, nc, nc
	default:
		accent = ld(lipgloss.Color("#005F87"), lipgloss.Color("#5FAFD7"))
		muted = ld(lipgloss.Color("#6C6C6C"), lipgloss.Color("#8A8A8A"))
		warn = ld(lipgloss.Color("#AF5F00"), lipgloss.Color("#FFAF00"))
		bad = ld(lipgloss.Color("#AF0000"), lipgloss.Color("#FF5F5F"))
		good = ld(lipgloss.Color("#007F00"), lipgloss.Color("#87D787"))
		statusBg = ld(lipgloss.Color("#D0D0D0"), lipgloss.Color("#303030"))
		statusFg = ld(lipgloss.Color("#1C1C1C"), lipgloss.Color("#E4E4E4"))
		selBg = ld(lipgloss.Color("#D7E9F7"), lipgloss.Color("#1C3A4E"))
		selFg = ld(lipgloss.Color("#000000"), lipgloss.Color("#FFFFFF"))
	}
	st := lipgloss.NewStyle
	s.App = st()
	s.Header = st().Bold(true).Foreground(accent)
	s.Crumb = st().Foreground(muted)
	s.Title = st().Bold(true).Foreground(accent)
	s.Section = st().Bold(true).Underline(true).Foreground(accent)
	s.ColHeader = st().Bold(true).Foreground(muted)
	s.Selected = st().Bold(true).Foreground(selFg).Background(selBg)
	s.Muted = st().Foreground(muted)
	s.Label = st().Foreground(muted)
	s.FocusLbl = st().Bold(true).Foreground(accent)
	s.Overdue = st().Bold(true).Foreground(warn)
	s.Conflict = st().Bold(true).Foreground(bad)
	s.Unsynced = st().Foreground(muted)
	s.Good = st().Foreground(good)
	s.Bad = st().Bold(true).Foreground(bad)
	s.Warn = st().Bold(true).Foreground(warn)
	s.Error = st().Bold(true).Foreground(bad)
	s.Notice = st().Bold(true).Foreground(good)
	s.Status = st().Foreground(statusFg).Background(statusBg)
	s.Offline = st().Bold(true).Foreground(statusFg).Background(statusBg)
	s.Online = st().Foreground(statusFg).Background(statusBg)
	s.Box = st().Border(lipgloss.RoundedBorder()).BorderForeground(muted).Padding(0, 1)
	s.BoxActive = st().Border(lipgloss.ThickBorder()).BorderForeground(accent).Padding(0, 1)
	s.Match = st().Underline(true)

	switch t {
	case themeNoColor:
		s.Selected = st().Reverse(true)
		s.Overdue = st().Bold(true).Underline(true)
		s.Conflict = st().Bold(true).Underline(true)
		s.Bad = st().Bold(true)
		s.Warn = st().Bold(true)
		s.Status = st().Reverse(true)
		s.Offline = st().Reverse(true).Bold(true)
		s.Online = st().Reverse(true)
		s.Box = st().Border(lipgloss.NormalBorder()).Padding(0, 1)
		s.BoxActive = st().Border(lipgloss.ThickBorder()).Padding(0, 1)
		s.Muted, s.Label, s.Crumb, s.Unsynced = st(), st(), st(), st()
	case themeHighContrast:
		s.Overdue = s.Overdue.Underline(true)
		s.Conflict = s.Conflict.Underline(true)
		s.Muted, s.Label, s.Crumb = st().Foreground(accent), st().Foreground(accent), st().Foreground(accent)
	}

	s.Help = help.DefaultStyles(isDark)
	if t != themeNormal {
		s.Help = help.Styles{
			ShortKey: st().Bold(true), FullKey: st().Bold(true),
			ShortDesc: st(), FullDesc: st(), ShortSeparator: st(), FullSeparator: st(), Ellipsis: st(),
		}
	}
	return s
}

// textinputStyles are the styles of single-line inputs: a static (not
// blinking) virtual cursor, so frames only change when something happens.
func (s *styles) textinputStyles() textinput.Styles {
	ts := textinput.DefaultStyles(s.isDark)
	ts.Cursor.Blink = false
	if s.theme != themeNormal {
		ts.Focused.Placeholder = lipgloss.NewStyle()
		ts.Blurred.Placeholder = lipgloss.NewStyle()
	}
	return ts
}

func (s *styles) textareaStyles() textarea.Styles {
	ts := textarea.DefaultStyles(s.isDark)
	ts.Cursor.Blink = false
	ts.Focused.CursorLine = lipgloss.NewStyle()
	if s.theme != themeNormal {
		for _, ss := range []*textarea.StyleState{&ts.Focused, &ts.Blurred} {
			ss.Placeholder = lipgloss.NewStyle()
			ss.LineNumber = lipgloss.NewStyle()
			ss.CursorLineNumber = lipgloss.NewStyle().Bold(true)
			ss.EndOfBuffer = lipgloss.NewStyle()
			ss.Prompt = lipgloss.NewStyle()
		}
	}
	return ts
}
