package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

var goldenSizes = []struct{ w, h int }{{80, 24}, {120, 40}}

// TestGolden walks the main screens of a demo vault (seed 1, pinned clock)
// at each size and compares the final view, ANSI stripped, with the golden
// files in testdata/TestGolden/<size>/<screen>.golden (-update rewrites).
func TestGolden(t *testing.T) {
	for _, sz := range goldenSizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			v := openVault(t, demoVaultFile(t))
			p := start(t, testOptions(t, v), sz.w, sz.h)
			check := goldenCheck(t, sz.w, sz.h)

			check("unlock", p.waitText("Passphrase", "Demo vault"))
			p.unlock()
			check("caselist", p.notesLoaded())

			p.key(runeKey('?'))
			check("help", p.waitText("Keys: Cases", "Everywhere"))
			p.key(keyEsc)
			p.waitText("cases · sorted by next due")

			p.key(keyEnter)
			check("casedetail", p.waitText("People", "Consent", "Tasks & visits"))

			p.key(runeKey('n'))
			check("noteedit", p.waitText("New note · DEMO-"))
			p.key(keyEsc)
			p.waitText("People")
			p.key(keyEsc)
			p.waitText("cases · sorted by next due")

			p.key(runeKey('s'))
			p.waitText("Search notes:")
			p.typeText("tearful")
			check("search", p.waitFor("search results", func(s string) bool {
				return strings.Contains(s, "Search notes: tearful") && strings.Contains(s, "More than 200") && !strings.Contains(s, "Searching")
			}))
			p.key(keyEsc)
			p.waitText("cases · sorted by")
			p.quit()
		})
	}
}

// goldenCheck is the golden tests' check at size w×h: the screen fits the
// window, and equals its golden file (a subtest named name).
func goldenCheck(t *testing.T, w, h int) func(name, screen string) {
	return func(name, screen string) {
		t.Helper()
		assertFits(t, name, screen, w, h)
		t.Run(name, func(t *testing.T) { golden.RequireEqual(t, screen) })
	}
}

// assertFits checks that a screen is exactly h lines of at most w columns.
func assertFits(t *testing.T, name, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != h {
		t.Errorf("%s at %d×%d: %d lines, want %d", name, w, h, len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("%s at %d×%d: line %d is %d wide: %q", name, w, h, i+1, lw, l)
		}
	}
}

// TestResize: every screen fits the window as it changes size, down to the
// "too small" message.
func TestResize(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 80, 24)
	p.unlock()
	p.notesLoaded()
	sizes := []struct{ w, h int }{{100, 30}, {60, 20}, {40, 12}, {30, 8}, {132, 50}, {80, 24}}
	screens := []struct {
		name  string
		enter func()
		wait  string
	}{
		{"caselist", func() {}, "sorted by"},
		{"casedetail", func() { p.key(keyEnter) }, "People"},
		{"noteedit", func() { p.key(runeKey('n')) }, "New note"},
	}
	for _, sc := range screens {
		sc.enter()
		p.waitText(sc.wait)
		for _, sz := range sizes {
			p.tm.Send(tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
			s := p.waitFor(fmt.Sprintf("%s at %d×%d", sc.name, sz.w, sz.h), func(s string) bool {
				return len(strings.Split(s, "\n")) == sz.h
			})
			assertFits(t, sc.name, s, sz.w, sz.h)
		}
	}
	p.tm.Send(tea.WindowSizeMsg{Width: 20, Height: 5})
	p.waitText("Terminal too small")
	p.tm.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
	p.waitText("New note")
	p.key(keyCtrlC)
	p.final()
}

// sgrColour matches an SGR sequence that sets a colour.
var sgrColour = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

func hasColour(s string) bool {
	for _, seq := range sgrColour.FindAllString(s, -1) {
		params := strings.Split(strings.TrimSuffix(strings.TrimPrefix(seq, "\x1b["), "m"), ";")
		for _, p := range params {
			var n int
			if _, err := fmt.Sscanf(p, "%d", &n); err != nil {
				continue
			}
			if (n >= 30 && n <= 49) || (n >= 90 && n <= 107) {
				return true
			}
		}
	}
	return false
}

// TestThemes: the high-contrast and no-colour themes show the same text as
// the default (the 80×24 case list golden), and NO_COLOR draws no colour at
// all (markers, bold and reverse carry the meaning).
func TestThemes(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "TestGolden", "80x24", "caselist.golden"))
	if err != nil {
		t.Skip("no golden yet: run TestGolden -update first")
	}
	for _, tc := range []struct {
		name          string
		noColor, high bool
	}{{"nocolor", true, false}, {"highcontrast", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			v := openVault(t, demoVaultFile(t))
			opts := testOptions(t, v)
			opts.NoColor, opts.HighContrast = tc.noColor, tc.high
			p := start(t, opts, 80, 24)
			p.unlock()
			got := p.notesLoaded()
			if got != string(want) {
				t.Errorf("case list text differs from the default theme's:\n%s", got)
			}
			raw := p.rawScreen()
			if tc.noColor && hasColour(raw) {
				t.Errorf("NO_COLOR view has colour codes: %q", raw)
			}
			if !tc.noColor && !hasColour(raw) {
				t.Errorf("high-contrast view has no colour at all")
			}
			p.quit()
		})
	}
}
