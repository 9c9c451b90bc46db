package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// fullHelp is the help screen: the current screen's keys and the global
// ones, generated from the keymap (bubbles help over key.Binding), so it is
// always what the keys do.
func fullHelp(e *env, c component, w, h int) string {
	st, l := e.st, e.l
	hm := help.New()
	hm.Styles = st.Help
	hm.SetWidth(w)
	var b strings.Builder
	b.WriteString(st.Title.Render(l.T("tui.help.title", "Screen", c.Title())) + "\n\n")
	b.WriteString(layoutGroups(hm, c.FullHelp(), w))
	if n, ok := c.(helpNoter); ok {
		b.WriteString("\n\n" + strings.Join(wrap(n.HelpNote(), w), "\n"))
	}
	b.WriteString("\n\n" + st.Section.Render(l.T("tui.help.everywhere")) + "\n")
	g := e.keys.globalHelp()
	half := (len(g) + 1) / 2
	b.WriteString(layoutGroups(hm, [][]key.Binding{g[:half], g[half:]}, w))
	legend := l.T("tui.help.drafts")
	switch c.(type) {
	case *caseList, *caseDetail:
		// The markers these screens show, and only these.
		legend = l.T("tui.help.markers") + " " + legend
	}
	b.WriteString("\n\n" + st.Muted.Render(strings.Join(wrap(legend, w), "\n")))
	return b.String()
}

// helpNoter is a screen with a paragraph for its help: what its columns
// mean, or a formula.
type helpNoter interface {
	HelpNote() string
}

// layoutGroups renders each group of bindings as a column, as many columns
// to a row as fit the width.
func layoutGroups(hm help.Model, groups [][]key.Binding, w int) string {
	var rows []string
	var row []string
	rowW := 0
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		col := hm.FullHelpView([][]key.Binding{g})
		cw := lipgloss.Width(col)
		if len(row) > 0 && rowW+4+cw > w {
			rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, row...))
			row, rowW = nil, 0
		}
		if len(row) > 0 {
			row = append(row, "    ")
			rowW += 4
		}
		row = append(row, col)
		rowW += cw
	}
	if len(row) > 0 {
		rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, row...))
	}
	return strings.Join(rows, "\n\n")
}
