package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/demo"
)

// parserForTest is fieldcase's kong parser, for tests that walk the model.
func parserForTest(t *testing.T) *kong.Kong {
	t.Helper()
	p, err := programWith(os.Getenv, nil).Parser(&CLI{}, io.Discard, io.Discard, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// commandsWith walks the command tree and returns every command that has a
// flag of this name, as its path of names.
func commandsWith(n *kong.Node, flag string) []*kong.Node {
	var out []*kong.Node
	for _, f := range n.Flags {
		if f.Name == flag {
			out = append(out, n)
		}
	}
	for _, c := range n.Children {
		out = append(out, commandsWith(c, flag)...)
	}
	return out
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// badKeys returns the keys of v, at every depth, that are not snake_case.
func badKeys(v any, at string) []string {
	var bad []string
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if !snakeCase.MatchString(k) {
				bad = append(bad, at+"."+k)
			}
			bad = append(bad, badKeys(sub, at+"."+k)...)
		}
	case []any:
		for _, sub := range v {
			bad = append(bad, badKeys(sub, at+"[]")...)
		}
	}
	return bad
}

// Every command with --json speaks snake_case at every depth. The commands
// are found in the kong model, so a new one is covered without editing
// this test (unless it needs an argument the table below cannot fill).
func TestJSONKeysAreSnakeCase(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	vault := filepath.Join(t.TempDir(), "demo.db")
	if _, errOut, code := fc(t, nil, "", "demo", "--cases", "5", "--vault", vault); code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	env := withAgent(t, []string{"FIELDCASE_VAULT=" + vault, "FIELDCASE_PASSPHRASE=" + demo.Passphrase})
	// An opened case has access history for 'audit log'.
	if _, errOut, code := fc(t, env, "", "case", "show", "DEMO-0001"); code != 0 {
		t.Fatalf("case show: %s", errOut)
	}
	// A recording of the demo's first case, for 'recording show'.
	out, errOut, code := fc(t, env, "", "recording", "list", "--case", "DEMO-0001", "--json")
	var recs []struct{ ID string }
	if code != 0 || json.Unmarshal([]byte(out), &recs) != nil || len(recs) == 0 {
		t.Fatalf("recording list: exit %d, %s%s", code, out, errOut)
	}
	values := map[string]string{ // by flag or argument name
		"case": "DEMO-0001",
		"ref":  "DEMO-0001",
		"text": "school",
		"id":   recs[0].ID,    // recording show
		"dir":  testBundle(t), // verify-bundle
	}
	cmds := commandsWith(parserForTest(t).Model.Node, "json")
	if len(cmds) < 10 {
		t.Fatalf("found %d commands with --json; the walk is broken", len(cmds))
	}
	for _, n := range cmds {
		args := commandWords(n)
		name := strings.Join(args, " ")
		t.Run(name, func(t *testing.T) {
			for _, f := range n.Flags {
				switch {
				case f.Name == "offline": // no server in this test
					args = append(args, "--offline")
				case f.Required:
					v, ok := values[f.Name]
					if !ok {
						t.Fatalf("%s needs --%s: add a value to this test's table", name, f.Name)
					}
					args = append(args, "--"+f.Name, v)
				}
			}
			for _, p := range n.Positional {
				v, ok := values[p.Name]
				if !ok {
					t.Fatalf("%s needs <%s>: add a value to this test's table", name, p.Name)
				}
				args = append(args, v)
			}
			args = append(args, "--json")
			out, errOut, code := fc(t, env, "", args...)
			if code != 0 {
				t.Fatalf("fieldcase %v: exit %d\n%s", args, code, errOut)
			}
			var v any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("fieldcase %v: not JSON: %v\n%s", args, err, out)
			}
			if bad := badKeys(v, ""); len(bad) > 0 {
				t.Errorf("fieldcase %v: keys not in snake_case: %v", args, bad)
			}
			if len(out) < 10 {
				t.Logf("fieldcase %v printed little to check: %s", args, out)
			}
		})
	}
}

func TestBadKeys(t *testing.T) {
	var v any
	json.Unmarshal([]byte(`[{"case_id":"x","ReviewDate":"y","nested":{"okKey":1,"list":[{"a_b":1,"CaseID":2}]}}]`), &v)
	got := strings.Join(badKeys(v, ""), " ")
	for _, want := range []string{"[].ReviewDate", "[].nested.okKey", "[].nested.list[].CaseID"} {
		if !strings.Contains(got, want) {
			t.Errorf("badKeys missed %s: %s", want, got)
		}
	}
	if strings.Contains(got, "case_id") || strings.Contains(got, "a_b") {
		t.Errorf("badKeys flagged snake_case keys: %s", got)
	}
}
