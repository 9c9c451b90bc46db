package main

import (
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
)

// helpMigrated are the commands whose every help text (the command's,
// its long help, its flags' and arguments') each catalogue must translate,
// subcommands included. The program's own help (its description, flags,
// the terminal UI's flags and every top-level command's one line) must be
// complete too. The other commands' flags and long help are not yet.
var helpMigrated = []string{"agenda", "task", "help", "completion"}

// TestHelpCatalogue holds every catalogue's help.* keys to the command
// line: each names a help text that exists (none stale), and each help
// text of the migrated part has one.
func TestHelpCatalogue(t *testing.T) {
	p, err := programWith(os.Getenv, nil).Parser(&CLI{}, io.Discard, io.Discard, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	model := map[string]bool{}
	var required []string
	cli.HelpKeys(p.Model, func(key string, text *string) {
		if *text == "" {
			return
		}
		model[key] = true
		words := strings.Split(key, ".")
		switch {
		case key == "help.app", words[1] == "group":
		case words[1] == "flag" && (len(words) == 3 || words[2] == "open"): // the program's and the TUI's flags
		case words[1] == "cmd" && len(words) == 3 && !hidden(p.Model.Node, words[2]):
		case slices.Contains(helpMigrated, words[2]):
		default:
			return
		}
		required = append(required, key)
	})
	for _, tag := range i18n.Available() {
		if tag == i18n.Default {
			continue
		}
		l, err := i18n.New(tag.String())
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range required {
			if !l.Has(key) {
				t.Errorf("%s lacks the help text %s", tag, key)
			}
		}
		for _, key := range l.IDs() {
			if strings.HasPrefix(key, "help.") && !model[key] {
				t.Errorf("%s: %s names no help text of the command line", tag, key)
			}
		}
	}
}

func hidden(root *kong.Node, name string) bool {
	for _, c := range root.Children {
		if c.Name == name {
			return c.Hidden
		}
	}
	return false
}

// The English note on personal flags is the one the form tests look for.
func TestVisibleNote(t *testing.T) {
	if got := i18n.English().T("form.visible_note"); got != visibleNote {
		t.Errorf("form.visible_note is %q, want %q", got, visibleNote)
	}
}

// Help in Welsh: kong's headings and the texts from the catalogue, with
// the variables kong interpolates; English help is kong's own.
func TestHelpInWelsh(t *testing.T) {
	out, _, code := fc(t, []string{"LANG=cy_GB.UTF-8"}, "", "--help")
	for _, want := range []string{"Defnydd: fieldcase", "Gorchmynion:", "Baneri:", "agenda  ", "Beth sy'n hwyr",
		"Ffeil y gladdgell (rhagosodiad:", "Baneri'r rhyngwyneb terfynell"} {
		if !strings.Contains(out, want) {
			t.Errorf("fieldcase --help in Welsh (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	out, _, _ = fc(t, []string{"LANG=cy_GB.UTF-8"}, "", "agenda", "--help")
	if !strings.Contains(out, "Enghreifftiau:") || !strings.Contains(out, "Sawl diwrnod ymlaen") {
		t.Errorf("agenda --help in Welsh:\n%s", out)
	}
	out, _, _ = fc(t, []string{"LANG=cy_GB.UTF-8"}, "", "task", "add", "--help")
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "Beth sydd i'w wneud (gofynnol) (yn weladwy i ddefnyddwyr eraill") {
		t.Errorf("task add --help in Welsh lacks the note on personal data:\n%s", out)
	}
	out, _, _ = fc(t, []string{"LANG=cy_GB.UTF-8"}, "", "--lang", "en", "--help")
	if !strings.Contains(out, "Usage: fieldcase") || !strings.Contains(out, "Commands:") {
		t.Errorf("--lang en does not beat LANG:\n%s", out)
	}
}
