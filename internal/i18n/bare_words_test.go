package i18n

import (
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

// bareWords, the TUI's stricter check, finds text wherever it stands and
// lets through only what is not for people.
func TestBareWords(t *testing.T) {
	const src = `package tui

import "charm.land/bubbles/v2/key"

type row struct {
	Name string ` + "`json:\"name\"`" + `
}

func view(l *L, e *env, name string) string {
	title := st.Title.Render("Cases")                       // caught: lipgloss
	r := row{Name: "Opening the case…"}                     // caught: a struct field
	x := "risk " + name                                      // caught: concatenation
	e.logErr("loading notes", nil)                           // the log
	e.log.Warn("foot pedal", "err", "broken")                // the log
	b := key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "save")) // caught: the help, not the keys
	b.SetHelp("f9/alt+p", l.T("tui.x.play", "Speed", 1))     // ids, argument names and key names
	n := l.N("tui.x.cases", 3, "Name", name)
	f.text(l.T("tui.x.title"), "", "").keyed("Title")      // a draft's key
	if name == "closed" { // i18n: a record's value
	}
	return title + x + n + "%d · ─"
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "src.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	exempt := map[int]bool{}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.Contains(c.Text, "i18n:") {
				exempt[fset.Position(c.Pos()).Line] = true
			}
		}
	}
	got := bareWords(fset, f, exempt)
	want := []string{`10: the text "Cases"`, `11: the text "Opening the case…"`, `12: the text "risk "`,
		`15: the text "save"`, `21: the text "%d · ─"`}
	if !slices.Equal(got, want) {
		t.Errorf("bareWords found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
