package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
)

func TestParseForm(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string][]string // values as formValue gives them (lists for attendees)
		err      string
	}{
		{"toml", "subject = \"A. Child\"\naddress = 'x'\n", map[string][]string{"subject": {"A. Child"}, "address": {"x"}}, ""},
		{"toml date", "dob = 2015-04-01\n", map[string][]string{"dob": {"2015-04-01"}}, ""},
		{"toml multi-line", "summary = \"\"\"one\ntwo\"\"\"\n", map[string][]string{"summary": {"one\ntwo"}}, ""},
		{"toml list", "attendees = [\"Mum\", \"Tilly\"]\n", map[string][]string{"attendees": {"Mum", "Tilly"}}, ""},
		{"toml empty", "", map[string][]string{}, ""},
		{"byte order mark", "\ufeffsubject = \"x\"\n", map[string][]string{"subject": {"x"}}, ""},
		{"json", ` {"subject": "A. Child", "attendees": ["Mum"]}`, map[string][]string{"subject": {"A. Child"}, "attendees": {"Mum"}}, ""},
		{"toml syntax", "subject = \"x\"\naddress =\n", nil, "line 2 (last key \"address\"): "},
		{"toml duplicate", "subject = \"x\"\nsubject = \"y\"\n", nil, "line 2"},
		{"json syntax", "{\"subject\": \"x\",\n \"address\": }", nil, "line 2: invalid character '}'"},
		{"json open", `{"subject": "x"`, nil, "the JSON object is not closed"},
		{"json two", `{"subject": "x"} {"subject": "y"}`, nil, "more than one JSON object"},
		{"not utf-8", "subject = \"\xff\"\n", nil, "not UTF-8 text"},
	}
	for _, tt := range tests {
		values, err := parseForm(i18n.English(), []byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: error %v, want one line containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		got := map[string][]string{}
		for k, v := range values {
			got[k], err = formValue(i18n.English(), v, k == "attendees")
			if err != nil {
				t.Errorf("%s: %s: %v", tt.name, k, err)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFormValueKinds(t *testing.T) {
	tests := []struct {
		in   string
		list bool
		err  string
	}{
		{"subject = 42", false, "a number; want text in quotes"},
		{"subject = true", false, "true or false; want text in quotes"},
		{"subject = [\"a\"]", false, "a list; want one value"},
		{"attendees = [\"a\", 2]", true, "the list holds a number"},
		{"dob = 2015-04-01T10:00:00", false, "a date and time; want a date"},
		{"[subject]\nname = \"x\"", false, "a table; want text"},
		{`{"subject": null}`, false, "null; want text"},
	}
	for _, tt := range tests {
		values, err := parseForm(i18n.English(), []byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		for _, v := range values {
			if _, err := formValue(i18n.English(), v, tt.list); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
		}
	}
}

func TestProcessesHidden(t *testing.T) {
	const (
		plain = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
		hid2  = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=2\n"
		hidN  = "22 1 0:21 / /proc rw,relatime - proc proc rw,hidepid=invisible,gid=27\n"
		hid0  = "22 1 0:21 / /proc rw,relatime - proc proc rw,hidepid=0\n"
		other = "30 22 0:40 / /proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc binfmt_misc rw\n"
		root  = "21 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
	)
	tests := []struct {
		name, mountinfo string
		want            bool
	}{
		{"plain", root + plain + other, false},
		{"hidepid=2", root + hid2 + other, true},
		{"hidepid=invisible", hidN, true},
		{"hidepid=0", hid0, false},
		{"hidden, then mounted over plainly", hid2 + plain, false},
		{"none", root, false},
		{"unreadable", "", false},
	}
	for _, tt := range tests {
		if got := processesHidden(tt.mountinfo); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// dataEntryCommands are the commands with a flag tagged personal, found in
// the kong model, so that a new one is covered by every test that walks
// them.
func dataEntryCommands(n *kong.Node) []*kong.Node {
	var out []*kong.Node
	for _, f := range n.Flags {
		if f.Tag.Has("personal") {
			out = append(out, n)
			break
		}
	}
	for _, c := range n.Children {
		out = append(out, dataEntryCommands(c)...)
	}
	return out
}

// personalFlags are a command's flags tagged personal.
func personalFlags(n *kong.Node) []string {
	var out []string
	for _, f := range n.Flags {
		if f.Tag.Has("personal") {
			out = append(out, f.Name)
		}
	}
	return out
}

// Every flag that carries personal data says so in its help, and its
// command takes a form; every field a form may give is a flag the form
// machinery can fill; the values a form is checked against are the
// record's.
func TestPersonalFlagsDeclared(t *testing.T) {
	root := parserForTest(t).Model.Node
	cmds := dataEntryCommands(root)
	var names []string
	for _, n := range cmds {
		name := strings.Join(commandWords(n), " ")
		names = append(names, name)
		if !slices.ContainsFunc(n.Flags, func(f *kong.Flag) bool { return f.Name == "form" }) {
			t.Errorf("%s has personal flags but no --form", name)
		}
		for _, f := range n.Flags {
			if f.Tag.Has("personal") && (!strings.Contains(f.Help, visibleNote) || !f.Tag.Has("form")) {
				t.Errorf("%s --%s: personal, but its help %q lacks the note, or a form cannot give it", name, f.Name, f.Help)
			}
			if f.Tag.Has("personal") && f.Required {
				t.Errorf("%s --%s: personal data cannot be a required flag", name, f.Name)
			}
		}
		for _, f := range formFields(n) {
			if k := f.target.Kind(); k != reflect.Slice && !(k == reflect.Pointer && f.target.Type().Elem().Kind() == reflect.String) ||
				k == reflect.Slice && f.target.Type().Elem().Kind() != reflect.String {
				t.Errorf("%s --%s: a form field must be a *string or a []string, not %s", name, f.flag, f.target.Type())
			}
		}
	}
	want := []string{"case add", "case edit", "note add", "consent add", "task add", "record"}
	for _, w := range want {
		if !slices.Contains(names, w) {
			t.Errorf("%s has no personal flags; found %v", w, names)
		}
	}
	var priorities []string
	for _, p := range record.Priorities {
		priorities = append(priorities, string(p))
	}
	enums := map[string][]string{"consent add scope": record.ConsentScopes, "consent add decision": record.Decisions,
		"note add kind": record.NoteKinds, "record work_type": record.WorkTypes, "record priority": priorities}
	for _, n := range cmds {
		for _, f := range formFields(n) {
			key := strings.Join(commandWords(n), " ") + " " + f.key
			if want, ok := enums[key]; ok && !slices.Equal(f.enum, want) {
				t.Errorf("%s takes %v; the record takes %v", key, f.enum, want)
			}
		}
	}
}
