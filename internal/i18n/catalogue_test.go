package i18n

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
)

// The code whose user-facing strings all go through the catalogue. A file
// joins this list when it is migrated; the test below then holds it to
// that. Not yet migrated: internal/cli/man.go (man pages, English by
// design for now) and fieldcased.
var migrated = []string{
	"../cli/cli.go",
	"../cli/commands.go",
	"../cli/help.go",
	"../../cmd/fieldcase/main.go",
	"../../cmd/fieldcase/errors.go",
	"../../cmd/fieldcase/agenda.go",
	"../../cmd/fieldcase/tasks.go",
	"../../cmd/fieldcase/cases.go",
	"../../cmd/fieldcase/notes.go",
	"../../cmd/fieldcase/search.go",
	"../../cmd/fieldcase/retention.go",
	"../../cmd/fieldcase/sync.go",
	// The rest of cmd/fieldcase's commands (cli.en.toml, cli.cy.toml).
	"../../cmd/fieldcase/pass.go",
	"../../cmd/fieldcase/strength.go",
	"../../cmd/fieldcase/vaultcmds.go",
	"../../cmd/fieldcase/config.go",
	"../../cmd/fieldcase/recognise.go",
	"../../cmd/fieldcase/recording.go",
	"../../cmd/fieldcase/team.go",
	"../../cmd/fieldcase/consents.go",
	"../../cmd/fieldcase/form.go",
	"../../cmd/fieldcase/bundle.go",
	"../../cmd/fieldcase/verify.go",
	"../../cmd/fieldcase/exportcase.go",
	"../../cmd/fieldcase/audit.go",
	"../../cmd/fieldcase/receipts.go",
	"../../cmd/fieldcase/trustcmds.go",
	"../../cmd/fieldcase/agent.go",
	"../../cmd/fieldcase/transfer.go",
	"../../cmd/fieldcase/ids.go",
	"../../cmd/fieldcase/open.go",
	"../../cmd/fieldcase/syncbridge.go",
	"../../cmd/fieldcase/output.go",
	"../../cmd/fieldcase/examples.go",
	"../../cmd/fieldcase/cli.go",
	"../../cmd/fieldcase/pedal.go",
	"../../cmd/fieldcase/seconds.go",
	"../../cmd/fieldcase/demoteam.go",
	"../cli/parseerrors.go",
	"i18n.go", // its own ids: dates and months
	// The TUI: every file of it (migratedFiles), held strictly
	// (checkStrict): every literal with a letter.
}

// outputFuncs are the calls whose string-literal arguments reach the user:
// printing, formatting and error construction.
var outputFuncs = map[string]bool{
	"fmt.Fprintf": true, "fmt.Fprintln": true, "fmt.Fprint": true, "fmt.Printf": true, "fmt.Println": true,
	"fmt.Print": true, "fmt.Sprintf": true, "fmt.Sprint": true, "fmt.Errorf": true, "errors.New": true,
	"fprintf": true, "cli.WithHint": true, "WithHint": true,
}

// catalogue is one locale file as go-i18n reads it.
type catalogue struct {
	lang     string
	messages map[string]*goi18n.Message
}

func catalogues(t *testing.T) (en catalogue, others []catalogue) {
	t.Helper()
	names, err := fs.Glob(files, "locales/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	byLang := map[string]*catalogue{}
	var order []string
	for _, name := range names {
		raw, _ := files.ReadFile(name)
		mf, err := goi18n.ParseMessageFileBytes(raw, path.Base(name), map[string]goi18n.UnmarshalFunc{"toml": tomlUnmarshal})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// A language's messages may be split over several files
		// (cy.toml, tui.cy.toml): they make one catalogue, and an id
		// given twice is an error, as go-i18n would let the later file win.
		c, ok := byLang[mf.Tag.String()]
		if !ok {
			c = &catalogue{lang: mf.Tag.String(), messages: map[string]*goi18n.Message{}}
			byLang[c.lang] = c
			order = append(order, c.lang)
		}
		for _, m := range mf.Messages {
			if _, dup := c.messages[m.ID]; dup {
				t.Errorf("%s: %s is given in two files", c.lang, m.ID)
			}
			c.messages[m.ID] = m
		}
	}
	for _, lang := range order {
		if lang == Default.String() {
			en = *byLang[lang]
		} else {
			others = append(others, *byLang[lang])
		}
	}
	if en.messages == nil {
		t.Fatal("no English catalogue")
	}
	return en, others
}

func isPlural(m *goi18n.Message) bool {
	return m.Zero != "" || m.One != "" || m.Two != "" || m.Few != "" || m.Many != ""
}

func forms(m *goi18n.Message) []string {
	return []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other}
}

var templateVar = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

func vars(m *goi18n.Message) map[string]bool {
	out := map[string]bool{}
	for _, f := range forms(m) {
		for _, v := range templateVar.FindAllStringSubmatch(f, -1) {
			out[v[1]] = true
		}
	}
	return out
}

// Every catalogue has the same ids as English (help.* aside: English help
// is the struct tags, and cmd/fieldcase's TestHelpCatalogue checks those
// keys against its commands), with every plural form its language's CLDR
// rules need.
func TestCataloguesAgree(t *testing.T) {
	en, others := catalogues(t)
	for id, m := range en.messages {
		if strings.HasPrefix(id, "help.") {
			t.Errorf("en: %s: English help texts are the struct tags, not the catalogue", id)
		}
		if isPlural(m) && (m.One == "" || m.Other == "") {
			t.Errorf("en: %s: a plural message needs one and other", id)
		}
	}
	for _, c := range others {
		l := mustNew(t, c.lang)
		for id, enm := range en.messages {
			m, ok := c.messages[id]
			if !ok {
				t.Errorf("%s lacks %s (English: %q)", c.lang, id, enm.Other)
				continue
			}
			if isPlural(enm) != isPlural(m) {
				t.Errorf("%s: %s: plural in one catalogue and not the other", c.lang, id)
			}
			if isPlural(m) {
				// Every count must find its form: go-i18n reports a form
				// the language's rules want and the message lacks.
				for n := range 1001 {
					if _, err := l.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, PluralCount: n,
						TemplateData: map[string]any{}}); err != nil {
						t.Errorf("%s: %s, count %d: %v", c.lang, id, n, err)
						break
					}
				}
			}
		}
		for id := range c.messages {
			if _, ok := en.messages[id]; !ok && !strings.HasPrefix(id, "help.") {
				t.Errorf("%s has %s, which English lacks", c.lang, id)
			}
		}
	}
}

// migratedFiles is migrated plus every file of the terminal UI: the whole
// TUI is migrated, so a new screen's file is held to it from its first
// commit instead of waiting to be listed.
func migratedFiles(t *testing.T) []string {
	t.Helper()
	tui, err := filepath.Glob("../../tui/*.go")
	if err != nil || len(tui) < 30 {
		t.Fatalf("the TUI's files: %d found, %v", len(tui), err)
	}
	out := slices.Clone(migrated)
	for _, f := range tui {
		if !strings.HasSuffix(f, "_test.go") {
			out = append(out, filepath.ToSlash(f))
		}
	}
	return out
}

// The migrated code and the catalogue agree, read from the source:
//
//   - a call X.T, X.N or X.Error with arguments names its message id as a
//     string literal (so it can be found), and English has that id;
//   - every English id is used by the code (none is left stale): named in
//     a call, or spelled out as a literal the code keeps for one;
//   - a message's template reads only the arguments some call passes it
//     (name, value pairs with literal names; N adds Count), in every
//     catalogue;
//   - no string literal with a letter in it, once format verbs and escapes
//     are taken out, is passed to an output function (outputFuncs) — so
//     "%s\t%s\n" is fine and "no task %q" is not. A line marked with a
//     comment containing "i18n:" is exempt: say there why the text is not
//     for people (a marker scripts grep, a message never shown).
func TestCodeUsesCatalogue(t *testing.T) {
	en, others := catalogues(t)
	used := map[string]bool{}
	passed := map[string]map[string]bool{} // id → argument names
	fset := token.NewFileSet()
	for _, name := range migratedFiles(t) {
		f, err := parser.ParseFile(fset, filepath.FromSlash(name), nil, parser.ParseComments)
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
		if strings.HasPrefix(name, "../../tui/") {
			for _, finding := range checkStrict(fset, f, name, exempt) {
				t.Error(finding)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			// An id spelled out where it is kept for later (monthIDs, a
			// table's field, an argument) is a use too.
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if id, _ := strconv.Unquote(lit.Value); en.messages[id] != nil {
					used[id] = true
				}
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			pos := fset.Position(call.Pos())
			where := fmt.Sprintf("%s:%d", name, pos.Line)
			fn := callName(call.Fun)
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && len(call.Args) > 0 && slices.Contains([]string{"T", "N", "Error"}, sel.Sel.Name) && !isLogger(sel.X) {
				lit, ok := call.Args[0].(*ast.BasicLit)
				if exempt[pos.Line] {
					return true
				}
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: %s's message id is not a string literal", where, fn)
					return true
				}
				id, _ := strconv.Unquote(lit.Value)
				used[id] = true
				if en.messages[id] == nil {
					t.Errorf("%s: message %q is in no catalogue", where, id)
				}
				if passed[id] == nil {
					passed[id] = map[string]bool{}
				}
				if sel.Sel.Name == "N" {
					passed[id]["Count"] = true
				}
				first := 1 // T and Error: id, name, value, …; N: id, count, name, value, …
				if sel.Sel.Name == "N" {
					first = 2
				}
				for i := first; i < len(call.Args); i += 2 {
					if names := literals(call.Args[i]); len(names) == 1 {
						passed[id][names[0]] = true
					}
				}
			}
			if outputFuncs[fn] && !exempt[pos.Line] {
				for _, arg := range call.Args {
					for _, s := range literals(arg) {
						if hasWords(s) {
							t.Errorf("%s: %s is given the text %q: put it in the catalogue", where, fn, s)
						}
					}
				}
			}
			return true
		})
	}
	for id := range en.messages {
		if !used[id] {
			t.Errorf("en: %s is used by no migrated code", id)
		}
	}
	for _, c := range append(others, en) {
		for id, m := range c.messages {
			if strings.HasPrefix(id, "help.") || passed[id] == nil {
				continue
			}
			for v := range vars(m) {
				if !passed[id][v] {
					t.Errorf("%s: %s reads {{.%s}}, which no call passes (they pass %v)", c.lang, id, v, slices.Sorted(maps.Keys(passed[id])))
				}
			}
		}
	}
}

// callName is "pkg.Func" or "Func" for a call's function.
func callName(e ast.Expr) string {
	switch f := e.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
		return f.Sel.Name
	}
	return ""
}

// literals are the string literals an argument is made of (directly, or
// joined with +).
func literals(e ast.Expr) []string {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			s, _ := strconv.Unquote(x.Value)
			return []string{s}
		}
	case *ast.BinaryExpr:
		return append(literals(x.X), literals(x.Y)...)
	case *ast.ParenExpr:
		return literals(x.X)
	}
	return nil
}

var formatVerb = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\d+|\*)?(\.(\d+|\*))?[a-zA-Z%]`)

// hasWords reports whether s, without its format verbs, has a letter.
func hasWords(s string) bool {
	s = formatVerb.ReplaceAllString(s, "")
	return strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 }) >= 0
}
