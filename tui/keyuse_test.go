package tui

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The static check that every key a keymap binds is handled: a help line
// promising a key that does nothing is a bug. The package is parsed and
// type-checked (against a stand-in for the key package: the other imports
// stay empty, so the check needs neither the module cache nor the go
// command) and every use of a keymap's field outside keymap.go is found.

// keyPkgSrc stands in for charm.land/bubbles/v2/key: enough for the
// keymaps' fields to have the type Binding.
const keyPkgSrc = `package key
type Binding struct{ keys []string }
type Help struct{ Key, Desc string }
type BindingOpt func(*Binding)
func NewBinding(opts ...BindingOpt) Binding { return Binding{} }
func WithKeys(keys ...string) BindingOpt { return nil }
func WithHelp(k, d string) BindingOpt { return nil }
func Matches(k any, b ...Binding) bool { return false }
func (b Binding) Keys() []string { return b.keys }
func (b Binding) Help() Help { return Help{} }
func (b *Binding) SetHelp(k, d string) {}
func (b Binding) Enabled() bool { return true }
func (b *Binding) SetEnabled(v bool) {}
`

const keyPkgPath = "charm.land/bubbles/v2/key"

// stubImporter gives the key package its stand-in and every other import
// an empty package: their uses are type errors the check ignores.
type stubImporter struct{ key *types.Package }

func (s *stubImporter) Import(p string) (*types.Package, error) {
	if p == keyPkgPath {
		if s.key == nil {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "key.go", keyPkgSrc, 0)
			if err != nil {
				return nil, err
			}
			conf := types.Config{Importer: importer.Default()}
			if s.key, err = conf.Check(keyPkgPath, fset, []*ast.File{f}, nil); err != nil {
				return nil, err
			}
		}
		return s.key, nil
	}
	name := path.Base(p)
	if strings.HasPrefix(name, "v") && strings.Trim(name[1:], "0123456789") == "" {
		name = path.Base(path.Dir(p)) // charm.land/lipgloss/v2 is lipgloss
	}
	pkg := types.NewPackage(p, name)
	pkg.MarkComplete()
	return pkg, nil
}

// unhandledKeys returns every binding of a keymap that no code outside the
// keymaps' own file uses, as "type.path" (e.g. "searchKeys.Choose").
//
// The keymaps are the struct types declared in keymapFile with a
// key.Binding among their fields (or the fields of the structs they
// embed). A binding is handled when some code outside keymapFile, and
// outside ShortHelp and FullHelp methods (help is not handling), selects
// it through a value of the keymap's type: k.Open where k is a
// caseListKeys handles caseListKeys.Open. A keymap handed on whole
// (listNav.Key(msg, k.navKeys); k.Confirm given to a prompt) handles its
// bindings if the type handed on handles them itself. The bindings of the
// embedded types named in shared are handled for every keymap embedding
// them when the type handles them anywhere: one part matches them for
// every screen (the root model its keys, before any screen sees a key; the
// form its fields' keys, for every screen with a form).
func unhandledKeys(fset *token.FileSet, files []*ast.File, keymapFile string, shared ...string) ([]string, error) {
	info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}}
	conf := types.Config{Importer: &stubImporter{}, Error: func(error) {}}
	pkg, _ := conf.Check("tui", fset, files, info) // errors: the stubbed imports

	isBinding := func(t types.Type) bool {
		n, ok := t.(*types.Named)
		return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == keyPkgPath && n.Obj().Name() == "Binding"
	}
	// The keymap types: struct types of keymapFile holding a binding.
	keymaps := map[*types.Named]bool{}
	var holdsBinding func(s *types.Struct) bool
	holdsBinding = func(s *types.Struct) bool {
		for f := range s.Fields() {
			if isBinding(f.Type()) {
				return true
			}
			if st, ok := f.Type().Underlying().(*types.Struct); ok && f.Embedded() && holdsBinding(st) {
				return true
			}
		}
		return false
	}
	for _, f := range files {
		if filepath.Base(fset.Position(f.Pos()).Filename) != keymapFile {
			continue
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, sp := range gd.Specs {
				ts, ok := sp.(*ast.TypeSpec)
				if !ok {
					continue
				}
				n, ok := pkg.Scope().Lookup(ts.Name.Name).Type().(*types.Named)
				if !ok {
					continue
				}
				if st, ok := n.Underlying().(*types.Struct); ok && holdsBinding(st) {
					keymaps[n] = true
				}
			}
		}
	}
	if len(keymaps) == 0 {
		return nil, fmt.Errorf("%s declares no keymap (a struct type holding a key.Binding)", keymapFile)
	}
	named := func(t types.Type) *types.Named {
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		n, _ := t.(*types.Named)
		return n
	}

	// used[T] holds the field paths ("navKeys.Up", "Confirm") selected
	// through a value of keymap T.
	used := map[*types.Named]map[string]bool{}
	type step struct {
		in   *types.Named // the struct the field is selected in
		name string
	}
	var steps func(e ast.Expr) []step
	steps = func(e ast.Expr) []step {
		se, ok := e.(*ast.SelectorExpr)
		if !ok {
			return nil
		}
		sel := info.Selections[se]
		if sel == nil || sel.Kind() != types.FieldVal {
			return nil
		}
		out := steps(se.X)
		t := sel.Recv()
		for _, i := range sel.Index() {
			n := named(t)
			st, ok := t.Underlying().(*types.Struct)
			if p, isPtr := t.(*types.Pointer); isPtr {
				st, ok = p.Elem().Underlying().(*types.Struct)
			}
			if !ok {
				return out
			}
			f := st.Field(i)
			out = append(out, step{n, f.Name()})
			t = f.Type()
		}
		return out
	}
	for _, f := range files {
		if filepath.Base(fset.Position(f.Pos()).Filename) == keymapFile {
			continue
		}
		inner := map[ast.Expr]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if fd, ok := n.(*ast.FuncDecl); ok && fd.Recv != nil && (fd.Name.Name == "ShortHelp" || fd.Name.Name == "FullHelp") {
				return false // help is not handling
			}
			se, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if sel := info.Selections[se]; sel == nil || sel.Kind() != types.FieldVal {
				return true // a method, a package's name: its X may be a field
			}
			inner[se.X] = true
			if inner[se] {
				return true // part of a longer selection, counted there
			}
			ss := steps(se)
			for i, s := range ss {
				if s.in == nil || !keymaps[s.in] {
					continue
				}
				names := make([]string, 0, len(ss)-i)
				for _, x := range ss[i:] {
					names = append(names, x.name)
				}
				if used[s.in] == nil {
					used[s.in] = map[string]bool{}
				}
				used[s.in][strings.Join(names, ".")] = true
			}
			return true
		})
	}

	// handled reports whether T's binding at path p is handled.
	var handled func(t *types.Named, p []string, seen map[*types.Named]bool) bool
	handled = func(t *types.Named, p []string, seen map[*types.Named]bool) bool {
		if seen[t] {
			return false
		}
		seen[t] = true
		defer delete(seen, t)
		if used[t][strings.Join(p, ".")] {
			return true
		}
		// A part of T handed on whole, or embedded and shared, handles the binding if that part's type handles it.
		cur := t
		for i := range len(p) - 1 {
			st, ok := cur.Underlying().(*types.Struct)
			if !ok {
				return false
			}
			var next *types.Named
			var embedded bool
			for f := range st.Fields() {
				if f.Name() == p[i] {
					next, embedded = named(f.Type()), f.Embedded()
				}
			}
			if next == nil {
				return false
			}
			if keymaps[next] && (used[t][strings.Join(p[:i+1], ".")] || embedded && slices.Contains(shared, next.Obj().Name())) &&
				handled(next, p[i+1:], seen) {
				return true
			}
			cur = next
		}
		return false
	}

	var missing []string
	for t := range keymaps {
		var walk func(s *types.Struct, prefix []string)
		walk = func(s *types.Struct, prefix []string) {
			for f := range s.Fields() {
				p := append(slices.Clone(prefix), f.Name())
				if isBinding(f.Type()) {
					if !handled(t, p, map[*types.Named]bool{}) {
						missing = append(missing, t.Obj().Name()+"."+strings.Join(p, "."))
					}
					continue
				}
				if st, ok := f.Type().Underlying().(*types.Struct); ok {
					walk(st, p)
				}
			}
		}
		walk(t.Underlying().(*types.Struct), nil)
	}
	slices.Sort(missing)
	return missing, nil
}

// parseSources parses Go sources given by file name.
func parseSources(t *testing.T, srcs map[string]string) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range slices.Sorted(mapsKeys(srcs)) {
		f, err := parser.ParseFile(fset, name, srcs[name], 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return fset, files
}

// TestEveryBoundKeyIsHandled fails when a screen's keymap holds a binding
// its screen never matches (nor the root, for the root's keys).
func TestEveryBoundKeyIsHandled(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	srcs := map[string]string{}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		srcs[n] = string(b)
	}
	if _, ok := srcs["keymap.go"]; !ok {
		t.Fatal("no keymap.go: run the test in the tui package's directory")
	}
	fset, files := parseSources(t, srcs)
	missing, err := unhandledKeys(fset, files, "keymap.go", "rootKeys", "formKeys")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing {
		t.Errorf("%s is bound and shown in the help, but nothing handles it", m)
	}
}

// TestUnhandledKeysFinds runs the check on small packages: it must find a
// binding nothing matches, and must not find one that is matched.
func TestUnhandledKeysFinds(t *testing.T) {
	const keymap = `package tui
import "charm.land/bubbles/v2/key"
type rootKeys struct{ Quit key.Binding }
type navKeys struct{ Up, Down key.Binding }
type confirmKeys struct{ Yes, No key.Binding }
type fooKeys struct {
	rootKeys
	navKeys
	Open    key.Binding
	Save    key.Binding
	Confirm confirmKeys
}
type helpKeys struct{ rootKeys }
type keyMap struct {
	foo  fooKeys
	help helpKeys
}
func (k fooKeys) ShortHelp() []key.Binding { return []key.Binding{k.Open, k.Save} }
`
	const root = `package tui
import "charm.land/bubbles/v2/key"
func root(m *keyMap, msg any) bool { return key.Matches(msg, m.help.Quit) }
`
	const nav = `package tui
import "charm.land/bubbles/v2/key"
func move(msg any, k navKeys) bool { return key.Matches(msg, k.Up, k.Down) }
func ask(msg any, k confirmKeys) bool { return key.Matches(msg, k.Yes) || key.Matches(msg, k.No) }
`
	tests := []struct {
		name   string
		screen string
		want   []string
	}{
		{"all handled", `package tui
import "charm.land/bubbles/v2/key"
func foo(m *keyMap, msg any) bool {
	k := m.foo
	return move(msg, k.navKeys) || ask(msg, k.Confirm) || key.Matches(msg, k.Open) || key.Matches(msg, k.Save)
}`, nil},
		{"a binding nothing matches", `package tui
import "charm.land/bubbles/v2/key"
func foo(m *keyMap, msg any) bool {
	k := m.foo
	return move(msg, k.navKeys) || ask(msg, k.Confirm) || key.Matches(msg, k.Open)
}`, []string{"fooKeys.Save"}},
		{"shown in a screen's help only", `package tui
import "charm.land/bubbles/v2/key"
type screen struct{ m *keyMap }
func (s screen) ShortHelp() []key.Binding { return []key.Binding{s.m.foo.Save} }
func foo(m *keyMap, msg any) bool {
	k := m.foo
	return move(msg, k.navKeys) || ask(msg, k.Confirm) || key.Matches(msg, k.Open)
}`, []string{"fooKeys.Save"}},
		{"embedded keys matched one by one, one missing", `package tui
import "charm.land/bubbles/v2/key"
func foo(m *keyMap, msg any) bool {
	k := m.foo
	return key.Matches(msg, k.Up) || ask(msg, k.Confirm) || key.Matches(msg, k.Open, k.Save)
}`, []string{"fooKeys.navKeys.Down"}},
		{"a mode's keys matched one by one, one missing", `package tui
import "charm.land/bubbles/v2/key"
func foo(m *keyMap, msg any) bool {
	k := m.foo
	return move(msg, k.navKeys) || key.Matches(msg, k.Confirm.Yes) || key.Matches(msg, k.Open, k.Save)
}`, []string{"fooKeys.Confirm.No"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset, files := parseSources(t, map[string]string{"keymap.go": keymap, "root.go": root, "nav.go": nav, "screen.go": tt.screen})
			got, err := unhandledKeys(fset, files, "keymap.go", "rootKeys")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("unhandled %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("no keymaps is an error, not a pass", func(t *testing.T) {
		fset, files := parseSources(t, map[string]string{"keymap.go": "package tui\ntype x struct{ n int }\n"})
		if got, err := unhandledKeys(fset, files, "keymap.go"); err == nil {
			t.Errorf("no keymaps: got %q and no error", got)
		}
	})
	t.Run("root keys need the root", func(t *testing.T) {
		fset, files := parseSources(t, map[string]string{"keymap.go": keymap, "nav.go": nav, "screen.go": tests[0].screen})
		got, err := unhandledKeys(fset, files, "keymap.go", "rootKeys")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"fooKeys.rootKeys.Quit", "helpKeys.rootKeys.Quit", "rootKeys.Quit"}
		if !slices.Equal(got, want) {
			t.Errorf("without the root: unhandled %q, want %q", got, want)
		}
	})
}
