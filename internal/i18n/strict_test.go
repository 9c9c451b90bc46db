package i18n

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// The TUI's screens build their text from pieces (lipgloss rendering, cells
// of a table, key bindings' help, titles in struct fields), so looking only
// at the arguments of output functions would let bare English through.
// checkStrict holds a TUI file to more: every string literal with a letter
// in it is one of
//
//   - an import path or a struct tag;
//   - a message id or an argument's name in a call of T, N or Error;
//   - a key's name (key.WithKeys, keys) or its label in the help
//     (key.WithHelp, help, SetHelp: the first argument only — the second is
//     the description, and is held);
//   - a colour (lipgloss.Color);
//   - the name a form field's draft keeps its value under (keyed): stored,
//     the same in every language, never shown;
//   - a log message (slog, e.log, logErr): for developers, never shown;
//   - compared with (==, !=, a switch's case): data or a key, not output;
//
// or is on a line with an "i18n:" comment saying why it is not for people.
func checkStrict(fset *token.FileSet, f *ast.File, name string, exempt map[int]bool) (findings []string) {
	allowed := map[*ast.BasicLit]bool{}
	allow := func(es ...ast.Expr) {
		for _, e := range es {
			ast.Inspect(e, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok {
					allowed[lit] = true
				}
				return true
			})
		}
	}
	for _, imp := range f.Imports {
		allowed[imp.Path] = true
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Field:
			if x.Tag != nil {
				allowed[x.Tag] = true
			}
		case *ast.BinaryExpr:
			if x.Op == token.EQL || x.Op == token.NEQ {
				allow(x.X, x.Y)
			}
		case *ast.CaseClause:
			allow(x.List...)
		case *ast.CallExpr:
			fn := callName(x.Fun)
			sel, isSel := x.Fun.(*ast.SelectorExpr)
			switch {
			case isSel && isLogger(sel.X), fn == "logErr", isSel && sel.Sel.Name == "logErr":
				allow(x.Args...)
			case isSel && slices.Contains([]string{"T", "N", "Error"}, sel.Sel.Name) && len(x.Args) > 0:
				allow(x.Args[0])
				first := 1
				if sel.Sel.Name == "N" {
					first = 2
				}
				for i := first; i < len(x.Args); i += 2 {
					allow(x.Args[i])
				}
			case fn == "key.WithKeys" || fn == "keys" || fn == "lipgloss.Color" || isSel && sel.Sel.Name == "keyed":
				allow(x.Args...)
			case (fn == "key.WithHelp" || fn == "help" || fn == "SetHelp" || isSel && sel.Sel.Name == "SetHelp") && len(x.Args) > 0:
				allow(x.Args[0])
			}
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING || allowed[lit] {
			return true
		}
		pos := fset.Position(lit.Pos())
		if exempt[pos.Line] {
			return true
		}
		for _, s := range literals(lit) {
			if hasLetters(s) {
				findings = append(findings, fmt.Sprintf("%s:%d: the text %q is not from the catalogue: put it there, "+
					"or say why it is not for people with an i18n: comment", name, pos.Line, s))
			}
		}
		return true
	})
	return findings
}

// hasLetters reports whether s, without its format verbs, has a letter of
// any script: symbols (▸, ·, ≠, █) are the same in every language.
func hasLetters(s string) bool {
	return strings.IndexFunc(formatVerb.ReplaceAllString(s, ""), unicode.IsLetter) >= 0
}

// isLogger reports whether e is a logger (slog, x.log): its Error is a log
// line, not a message from the catalogue.
func isLogger(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name == "slog" || x.Name == "log"
	case *ast.SelectorExpr:
		return x.Sel.Name == "log"
	}
	return false
}

// TestCheckStrictCatchesBareText checks the check on a TUI-like file: the
// texts that reach the screen are caught, the others are not.
func TestCheckStrictCatchesBareText(t *testing.T) {
	const src = `package tui
import "charm.land/bubbles/v2/key"
type s struct{ title string }
func f(l *L, st *S, e *E, k string) {
	_ = key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "save"))
	_ = s{title: "Team caseloads"}
	_ = st.Title.Render("Keys: " + l.T("tui.keys.title", "Name", k))
	_ = withHelp(b, "open the case")
	if k == "enter" { e.log.Error("saving", "err", k) }
	_ = l.N("tui.team.workers", 3)
	_ = "tui.local" // i18n: a vault key
	_ = "▸ " + " · " + "Ŵ"
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	exempt := map[int]bool{11: true}
	var got []string
	for _, f := range checkStrict(fset, f, "x.go", exempt) {
		got = append(got, f[:strings.Index(f, " is not")])
	}
	want := []string{`x.go:5: the text "save"`, `x.go:6: the text "Team caseloads"`, `x.go:7: the text "Keys: "`,
		`x.go:8: the text "open the case"`, `x.go:12: the text "Ŵ"`}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
