package tui

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// keymapBinding is one binding of a keymap, by the path of its field.
type keymapBinding struct {
	path string
	b    key.Binding
}

// keymapsOf walks a keymap struct: the bindings of its fields and of the
// structs it embeds (the shared global keys) belong to it; a named field
// that is itself a keymap (a mode: a confirmation, a form) is a keymap of
// its own. It returns every keymap found, by path, and fails the test on a
// field that is neither.
func keymapsOf(t *testing.T, path string, v reflect.Value, out map[string][]keymapBinding) {
	t.Helper()
	if _, ok := v.Interface().(help.KeyMap); !ok && path != "keyMap" {
		t.Errorf("%s (%s) does not implement help.KeyMap", path, v.Type())
	}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			// The keymaps' types and fields are the package's own; read
			// them whatever their case.
			fv := reflect.NewAt(f.Type, unsafe.Pointer(v.Field(i).UnsafeAddr())).Elem()
			name := prefix + "." + f.Name
			switch {
			case f.Type == reflect.TypeOf((*i18n.Locale)(nil)):
				// the language of the help texts, not a binding
			case f.Type == reflect.TypeOf(key.Binding{}):
				out[path] = append(out[path], keymapBinding{name, fv.Interface().(key.Binding)})
			case f.Type.Kind() == reflect.Struct && f.Anonymous:
				walk(prefix, fv)
			case f.Type.Kind() == reflect.Struct:
				keymapsOf(t, name, fv, out)
			default:
				t.Errorf("%s: a keymap holds bindings and keymaps, not %s", name, f.Type)
			}
		}
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	walk(path, c)
}

// TestKeymapsBindNoKeyTwice checks that in every screen's keymap, and in
// every mode's, no key is bound by two bindings, counting the global keys
// the keymap embeds: the first binding a screen matches would silently
// take the key from the other.
func TestKeymapsBindNoKeyTwice(t *testing.T) {
	maps := map[string][]keymapBinding{}
	km := newKeyMap(nil)
	keymapsOf(t, "keyMap", reflect.ValueOf(*km), maps)
	delete(maps, "keyMap")
	if len(maps) < 20 {
		t.Fatalf("found %d keymaps, want one per screen (at least 20)", len(maps))
	}
	for _, path := range slices.Sorted(mapsKeys(maps)) {
		if dups := duplicateKeys(maps[path]); len(dups) > 0 {
			t.Errorf("%s binds a key twice:\n\t%s", path, strings.Join(dups, "\n\t"))
		}
	}
}

// duplicateKeys lists each key bound by more than one of bs.
func duplicateKeys(bs []keymapBinding) []string {
	by := map[string][]string{}
	for _, b := range bs {
		for _, k := range b.b.Keys() {
			by[k] = append(by[k], b.path)
		}
	}
	var dups []string
	for _, k := range slices.Sorted(mapsKeys(by)) {
		if len(by[k]) > 1 {
			dups = append(dups, k+": "+strings.Join(by[k], ", "))
		}
	}
	return dups
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestDuplicateKeysFindsATwiceBoundKey checks the check: a keymap binding a
// key twice, as the case list did before the worker's cases had their own
// (a was the agenda and assign).
func TestDuplicateKeysFindsATwiceBoundKey(t *testing.T) {
	km := newKeyMap(nil)
	maps := map[string][]keymapBinding{}
	bad := km.caseList
	bad.Search = km.workerCases.Reassign
	keymapsOf(t, "caseList", reflect.ValueOf(bad), maps)
	got := duplicateKeys(maps["caseList"])
	want := []string{"a: caseList.Search, caseList.Agenda"}
	if !slices.Equal(got, want) {
		t.Errorf("duplicateKeys = %q, want %q", got, want)
	}
	// A global key counts: q as a screen's key.
	bad = km.caseList
	bad.Sort = km.global.Quit
	maps = map[string][]keymapBinding{}
	keymapsOf(t, "caseList", reflect.ValueOf(bad), maps)
	if got := duplicateKeys(maps["caseList"]); len(got) != 1 || !strings.HasPrefix(got[0], "q: ") {
		t.Errorf("duplicateKeys with q bound twice = %q, want one line for q", got)
	}
}
