package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

func TestAbbrevLength(t *testing.T) {
	tests := []struct {
		ids  []string
		want int
	}{
		{nil, 8},
		{[]string{"01ARZ3NDEKTSV4RRFFQ69G5FAV"}, 8},
		{[]string{"01ARZ3NDEKTSV4RRFFQ69G5FAV", "01BX5ZZKBKACTAV9WEVGEMMVRZ"}, 8},
		{[]string{"01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAW", "01BX5ZZKBKACTAV9WEVGEMMVRZ"}, 26},
		{[]string{"01ARZ3NDEKAAAAAAAAAAAAAAAA", "01ARZ3NDEKABAAAAAAAAAAAAAA"}, 12},
	}
	for _, tt := range tests {
		if got := abbrevLength(tt.ids); got != tt.want {
			t.Errorf("abbrevLength(%v) = %d, want %d", tt.ids, got, tt.want)
		}
	}
}

func TestResolveID(t *testing.T) {
	ids := []string{"01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKXXV4RRFFQ69G5FAV", "01BX5ZZKBKACTAV9WEVGEMMVRZ"}
	tests := []struct {
		in, want, err string
	}{
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAV", ""},
		{"01ARZ3NDEKT", "01ARZ3NDEKTSV4RRFFQ69G5FAV", ""},
		{"01arz3ndekx", "01ARZ3NDEKXXV4RRFFQ69G5FAV", ""}, // either case
		{"01BX", "01BX5ZZKBKACTAV9WEVGEMMVRZ", ""},
		{"01AR", "", `note id "01AR" is ambiguous: 2 notes start with it:` + "\n  01ARZ3NDEKTSV4RRFFQ69G5FAV  first\n  01ARZ3NDEKXXV4RRFFQ69G5FAV  first"},
		{"01B", "", `note id "01B" is too short`},
		{"", "", `note id "" is too short`},
		{"01CC", "", `no note "01CC"`},
	}
	for _, tt := range tests {
		got, err := resolveID(i18n.English(), "note", tt.in, ids, func(string) string { return "first" })
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("resolveID(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolveID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := resolveID(i18n.English(), "note", "01CC", ids, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no match: %v, want store.ErrNotFound", err)
	}
}

// Lists show short ids; commands take them, or any unique prefix of four
// or more characters, like git; an ambiguous one lists the candidates.
func TestShortIDs(t *testing.T) {
	pass := secret(t)
	var noteIDs, taskIDs []string
	path := prepVault(t, pass, func(v *store.Vault) {
		c, _ := v.CreateCase(record.Case{Ref: "R-1", Subject: "x"})
		for _, text := range []string{"first note", "second note", "third note"} {
			id, _ := v.AddNote(c, record.Note{Text: text})
			noteIDs = append(noteIDs, id)
		}
		for _, title := range []string{"Visit school", "Call GP"} {
			id, _ := v.AddTask(c, record.Task{Title: title})
			taskIDs = append(taskIDs, id)
		}
	})
	env := []string{"FIELDCASE_VAULT=" + path, "FIELDCASE_PASSPHRASE=" + pass}
	out, errOut, code := fc(t, env, "", "note", "list", "--case", "R-1")
	if code != 0 {
		t.Fatal(errOut)
	}
	// Ids made in one burst share their time prefix, so the short form grows
	// until it tells them apart; it is never the whole id.
	short := regexp.MustCompile(`(?m)^([0-9A-Z]{8,25})\s`).FindAllStringSubmatch(out, -1)
	if len(short) != 3 {
		t.Fatalf("note list shows no short ids:\n%s", out)
	}
	for _, m := range short {
		id, err := resolveID(i18n.English(), "note", m[1], noteIDs, nil)
		if err != nil {
			t.Errorf("short id %s from the list does not resolve: %v", m[1], err)
		}
		if !strings.Contains(out, abbrev(id, len(m[1]))) {
			t.Errorf("list lost %s", id)
		}
	}
	if _, errOut, code := fc(t, env, "edited", "note", "edit", short[0][1], "--text-file", "-"); code != 0 {
		t.Fatalf("note edit %s: %s", short[0][1], errOut)
	}
	if out, _, _ := fc(t, env, "", "note", "list", "--case", "R-1"); !strings.Contains(out, "edited") {
		t.Errorf("edit by short id did not land:\n%s", out)
	}

	common := commonPrefix(noteIDs) // ids made in one burst share their time prefix
	if len(common) < 4 {
		t.Fatalf("notes made together share only %q", common)
	}
	_, errOut, code = fc(t, env, "x", "note", "edit", common, "--text-file", "-")
	if code != 1 || !strings.Contains(errOut, `fieldcase: note id "`+common+`" is ambiguous: 3 notes start with it:`) ||
		!strings.Contains(errOut, "\n  "+noteIDs[1]) || !strings.Contains(errOut, "hint: give more characters of the id") {
		t.Errorf("ambiguous prefix: exit %d\n%s", code, errOut)
	}
	_, errOut, code = fc(t, env, "x", "note", "edit", noteIDs[0][:3], "--text-file", "-")
	if code != 1 || !strings.Contains(errOut, "is too short") || !strings.Contains(errOut, "hint: give at least 4 characters") {
		t.Errorf("too short: exit %d\n%s", code, errOut)
	}
	_, errOut, code = fc(t, env, "x", "note", "edit", "ZZZZZZ", "--text-file", "-")
	if code != 1 || !strings.Contains(errOut, `fieldcase: no note "ZZZZZZ"`) {
		t.Errorf("unknown id: exit %d\n%s", code, errOut)
	}

	out, _, _ = fc(t, env, "", "task", "list", "--case", "R-1")
	m := regexp.MustCompile(`(?m)^([0-9A-Z]{8,25})\s.*Call GP`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("task list shows no short id:\n%s", out)
	}
	if out, errOut, code := fc(t, env, "", "task", "done", "--case", "R-1", strings.ToLower(m[1])); code != 0 || !strings.Contains(out, "task "+taskIDs[1]+" done") {
		t.Fatalf("task done %s: exit %d %s%s", m[1], code, out, errOut)
	}
	_, errOut, code = fc(t, env, "", "task", "done", "--case", "R-1", commonPrefix(taskIDs))
	if code != 1 || !strings.Contains(errOut, "Visit school") || !strings.Contains(errOut, "Call GP") {
		t.Errorf("ambiguous task: exit %d\n%s", code, errOut)
	}
}

func commonPrefix(ids []string) string {
	p := ids[0]
	for _, id := range ids[1:] {
		for !strings.HasPrefix(id, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}
