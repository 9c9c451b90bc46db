package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
)

// TestHelpCatalogue holds every catalogue's help.* keys to the command
// line: each names a help text that exists (none stale), and every help
// text — the program's, every command's (hidden ones too), its long help,
// its flags' and arguments' — has one, so that a flag added without its
// translation fails here.
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
		required = append(required, key)
	})
	// The questions a form asks (a flag's prompt tag) are help texts too.
	var prompts func(n *kong.Node)
	prompts = func(n *kong.Node) {
		for _, f := range n.Flags {
			if f.Tag.Get("prompt") != "" {
				key := "help.prompt." + strings.Join(append(commandWords(n), f.Name), ".")
				model[key] = true
				required = append(required, key)
			}
		}
		for _, c := range n.Children {
			prompts(c)
		}
	}
	prompts(p.Model.Node)
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

// config's long help in Welsh is its settings' Welsh, laid out as
// configHelp lays out the English: a setting added without it fails here.
func TestConfigHelpInWelsh(t *testing.T) {
	l, err := i18n.New("cy")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.T("help.detail.config"), configHelp(l); got != want {
		t.Errorf("help.detail.config in cy.toml is\n%s\nwant (configHelp)\n%s", got, want)
	}
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
