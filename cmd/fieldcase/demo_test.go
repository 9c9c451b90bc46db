package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/internal/demo"
)

// demoVault makes a demo vault of persona as (40 cases) and returns the
// environment that opens it.
func demoVault(t *testing.T, as string) []string {
	t.Helper()
	vault := filepath.Join(t.TempDir(), as+".db")
	out, errOut, code := fc(t, nil, "", "demo", "--as", as, "--cases", "40", "--vault", vault)
	if code != 0 {
		t.Fatalf("demo --as %s: exit %d %s", as, code, errOut)
	}
	if !strings.Contains(out, ", a "+as+" in "+demo.Team+"\n") || !strings.Contains(out, "passphrase: "+demo.Passphrase) {
		t.Errorf("demo --as %s says:\n%s", as, out)
	}
	return withAgent(t, []string{"FIELDCASE_VAULT=" + vault, "FIELDCASE_PASSPHRASE=" + demo.Passphrase})
}

// fcJSON runs a --json command and decodes what it prints into v.
func fcJSON(t *testing.T, env []string, v any, args ...string) {
	t.Helper()
	out, errOut, code := fc(t, env, "", args...)
	if code != 0 {
		t.Fatalf("fieldcase %v: exit %d %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("fieldcase %v: not JSON: %v\n%s", args, err, out)
	}
}

// 'fieldcase team' on the supervisor's demo vault shows the demo team, as
// the TUI's team screen does.
func TestDemoTeam(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	env := demoVault(t, "supervisor")
	out, errOut, code := fc(t, env, "", "team")
	if code != 0 {
		t.Fatalf("team: exit %d %s", code, errOut)
	}
	for _, want := range []string{"WORKER", "J. Okafor", "R. Lindqvist", "S. Patel", "M. Doherty", "2 h ago", "never", "weighting policy v1"} {
		if !strings.Contains(out, want) {
			t.Errorf("team lacks %q:\n%s", want, out)
		}
	}
	var team struct{ Workers []map[string]any }
	fcJSON(t, env, &team, "team", "--json")
	workers := map[string]bool{}
	dictations := 0.0
	for _, r := range team.Workers {
		workers[r["worker"].(string)] = true
		dictations += r["dictations_waiting"].(float64)
	}
	if len(workers) != 4 || !workers[demo.CaseworkerName] || dictations == 0 {
		t.Errorf("team --json: workers %v, %v dictations waiting", workers, dictations)
	}
	var raw any
	fcJSON(t, env, &raw, "team", "--json")
	if bad := badKeys(raw, ""); len(bad) > 0 {
		t.Errorf("team --json: keys not in snake_case: %v", bad)
	}
	var pol map[string]any
	fcJSON(t, env, &pol, "team", "policy", "show")
	if pol["capacity"] != 120.0 {
		t.Errorf("team policy show: %v", pol)
	}
}

// notTheTeam checks that 'fieldcase team' on a persona's demo vault says
// the team view is a supervisor's, as the TUI does.
func notTheTeam(t *testing.T, env []string) {
	t.Helper()
	_, errOut, code := fc(t, env, "", "team")
	if code != 1 || !strings.Contains(errOut, "the team view is for supervisors") || !strings.Contains(errOut, "hint: ") {
		t.Errorf("team: exit %d %s", code, errOut)
	}
}

// The caseworker's demo vault is their own caseload, and their day.
func TestDemoCaseworker(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	env := demoVault(t, "caseworker")
	var cases []struct {
		Ref     string   `json:"ref"`
		Workers []string `json:"workers"`
	}
	fcJSON(t, env, &cases, "case", "list", "--json")
	if len(cases) < 5 {
		t.Errorf("the caseworker holds %d cases", len(cases))
	}
	for _, c := range cases {
		if !slices.Contains(c.Workers, demo.CaseworkerName) {
			t.Errorf("the caseworker holds %s, of %v", c.Ref, c.Workers)
		}
	}
	var ag agendaJSON
	fcJSON(t, env, &ag, "agenda", "--json")
	n := map[string]int{}
	for _, it := range ag.Items {
		n[it.Section]++
		if len(it.Whose) != 1 || it.Whose[0] != demo.CaseworkerName {
			t.Errorf("agenda item not %s's: %+v", demo.CaseworkerName, it)
		}
	}
	if n["overdue"] == 0 || n["today"] < 3 || n["upcoming"] == 0 {
		t.Errorf("the caseworker's agenda: %v", n)
	}
	notTheTeam(t, env)
}

// The typist's demo vault holds the cases open to typing, each with
// dictations submitted, and its recordings export as Ogg Opus.
func TestDemoTypist(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	env := demoVault(t, "typist")
	var cases []struct {
		Ref string `json:"ref"`
	}
	fcJSON(t, env, &cases, "case", "list", "--json")
	if len(cases) < 4 {
		t.Fatalf("the typist holds %d cases", len(cases))
	}
	total := 0
	for _, c := range cases {
		var recs []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Priority string `json:"priority"`
		}
		fcJSON(t, env, &recs, "recording", "list", "--case", c.Ref, "--json")
		if len(recs) == 0 {
			t.Errorf("the typist holds %s, which has nothing to type", c.Ref)
		}
		for _, r := range recs {
			if r.Status != "submitted" {
				t.Errorf("%s: recording %s is %s", c.Ref, r.ID, r.Status)
			}
			total++
		}
		if c.Ref == cases[0].Ref {
			ogg := filepath.Join(t.TempDir(), "r.ogg")
			if _, errOut, code := fc(t, env, "", "recording", "export", recs[0].ID, "-o", ogg); code != 0 {
				t.Fatalf("recording export: %s", errOut)
			}
			if b, err := os.ReadFile(ogg); err != nil || len(b) < 2000 || string(b[:4]) != "OggS" {
				t.Errorf("exported recording: %d bytes, %v", len(b), err)
			}
		}
	}
	if total < 6 {
		t.Errorf("%d recordings to type, want 6 or more", total)
	}
	notTheTeam(t, env)
}

// Each persona has its own demo vault unless --vault names one, and an
// unknown persona is refused.
func TestDemoPersonaPaths(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	data := t.TempDir()
	env := []string{"XDG_DATA_HOME=" + data}
	for _, as := range []string{"caseworker", "typist"} {
		if _, errOut, code := fc(t, env, "", "demo", "--as", as, "--cases", "20"); code != 0 {
			t.Fatalf("demo --as %s: %s", as, errOut)
		}
		if _, err := os.Stat(filepath.Join(data, "fieldcase", "demo-"+as+".db")); err != nil {
			t.Errorf("demo --as %s: %v", as, err)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "fieldcase", "demo.db")); err == nil {
		t.Error("a persona wrote the supervisor's demo vault")
	}
	if _, errOut, code := fc(t, env, "", "demo", "--as", "admin"); code != 2 || !strings.Contains(errOut, "supervisor") {
		t.Errorf("demo --as admin: exit %d %s", code, errOut)
	}
	// One case of seed 1 is not J. Okafor's: nothing to hold is an error.
	vault := filepath.Join(t.TempDir(), "few.db")
	if _, errOut, code := fc(t, env, "", "demo", "--as", "caseworker", "--cases", "1", "--vault", vault); code != 1 || !strings.Contains(errOut, "--cases") {
		t.Errorf("a caseworker demo of one case: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(vault); err == nil {
		t.Error("a failed demo left its vault behind")
	}
}
