package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/record"
)

// A dictation submitted from the command line gets its due date from its
// priority and the turnaround setting, or from --due; the list shows it;
// a second submission is refused with the reason.
func TestRecordingSubmitDue(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	pass := secret(t)
	vaultPath := filepath.Join(t.TempDir(), "v.db")
	v, _ := enrolledVault(t, vaultPath, pass)
	caseID, err := v.CreateCase(record.Case{Ref: "R-7", Subject: "Someone"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, prio := range []record.Priority{"urgent", "normal"} {
		rec, err := dictation.New(v, caseID, record.Recording{Title: string(prio) + " report", WorkType: "court report", Priority: prio})
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.AppendPCM(context.Background(), speech(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := rec.TL.AddMarker(500*time.Millisecond, "the school's name"); err != nil {
			t.Fatal(err)
		}
		if err := rec.Save(); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	v.Close()
	env := []string{"FIELDCASE_VAULT=" + vaultPath, "FIELDCASE_PASSPHRASE=" + pass, "XDG_CONFIG_HOME=" + t.TempDir()}

	// Urgent, by the turnaround setting: two working days here.
	if _, stderr, code := fc(t, env, "", "config", "set", "turnaround", "urgent=2"); code != 0 {
		t.Fatalf("config set turnaround: exit %d\n%s", code, stderr)
	}
	now := time.Now()
	want := dictation.DueRules{"urgent": 2}.DueFor("urgent", now)
	stdout, stderr, code := fc(t, env, "", "recording", "submit", ids[0])
	if code != 0 || !strings.Contains(stdout, "submitted for typing, due "+want.Time().Format("Mon 2 Jan 2006")) {
		t.Fatalf("submit: exit %d\n%s%s", code, stdout, stderr)
	}
	// Normal, with --due as people type it.
	due := record.DateOf(now.AddDate(0, 0, 9))
	if _, stderr, code := fc(t, env, "", "recording", "submit", ids[1], "--due", "+9d"); code != 0 {
		t.Fatalf("submit --due +9d: exit %d\n%s", code, stderr)
	}
	stdout, _, code = fc(t, env, "", "recording", "list", "--case", "R-7", "--json")
	var recs []struct {
		ID, Status, Due, Submitted string
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &recs) != nil || len(recs) != 2 {
		t.Fatalf("recording list --json: exit %d\n%s", code, stdout)
	}
	for _, r := range recs {
		wantDue := string(want)
		if r.ID == ids[1] {
			wantDue = string(due)
		}
		if r.Status != "submitted" || r.Due != wantDue || r.Submitted == "" {
			t.Errorf("recording %s: %+v, want submitted, due %s, with its submission time", r.ID, r, wantDue)
		}
	}
	if _, stderr, code := fc(t, env, "", "recording", "submit", ids[0]); code != 1 || !strings.Contains(stderr, "is submitted: only a draft can be submitted for typing") {
		t.Errorf("second submit: exit %d, %q", code, stderr)
	}
	// Both wait for a typist: the author's turnaround row says so.
	var ta struct {
		Typists []map[string]any `json:"typists"`
		Authors []struct {
			Name    string  `json:"name"`
			Done    int     `json:"done"`
			Waiting int     `json:"waiting"`
			Overdue int     `json:"overdue"`
			Oldest  float64 `json:"oldest_waiting_hours"`
		} `json:"authors"`
	}
	stdout, stderr, code = fc(t, env, "", "recording", "turnaround", "--json")
	if code != 0 || json.Unmarshal([]byte(stdout), &ta) != nil {
		t.Fatalf("recording turnaround --json: exit %d\n%s%s", code, stdout, stderr)
	}
	if len(ta.Typists) != 0 || len(ta.Authors) != 1 || ta.Authors[0].Name == "" || ta.Authors[0].Waiting != 2 ||
		ta.Authors[0].Done != 0 || ta.Authors[0].Overdue != 0 || ta.Authors[0].Oldest > 1 {
		t.Errorf("turnaround: %+v", ta)
	}
	if stdout, _, code := fc(t, env, "", "recording", "turnaround"); code != 0 || !strings.Contains(stdout, "AUTHOR") || len(ta.Authors) == 0 || !strings.Contains(stdout, ta.Authors[0].Name+"  0     —") {
		t.Errorf("recording turnaround: exit %d\n%s", code, stdout)
	}
	if _, stderr, code := fc(t, env, "", "config", "set", "turnaround", "soon=1"); code == 0 || !strings.Contains(stderr, "unknown priority") {
		t.Errorf("config set turnaround soon=1: exit %d, %q", code, stderr)
	}

	// Exported with its sidecar: the details a dictation workflow system
	// reads, and the audio's hash.
	ogg := filepath.Join(t.TempDir(), "report.ogg")
	if _, stderr, code := fc(t, env, "", "recording", "export", ids[1], "-o", ogg, "--sidecar"); code != 0 {
		t.Fatalf("export --sidecar: exit %d\n%s", code, stderr)
	}
	audio, err := os.ReadFile(ogg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(ogg + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var sc map[string]any
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatalf("sidecar is not JSON: %v\n%s", err, raw)
	}
	sum := sha256.Sum256(audio)
	markers, _ := sc["markers"].([]any)
	if sc["format"] != "fieldcase-dictation-1" || sc["audio_file"] != "report.ogg" || sc["audio_sha256"] != hex.EncodeToString(sum[:]) ||
		sc["case_ref"] != "R-7" || sc["priority"] != "normal" || sc["work_type"] != "court report" || sc["due"] != string(due) ||
		len(markers) != 1 || markers[0].(map[string]any)["comment"] != "the school's name" || markers[0].(map[string]any)["at_seconds"] != 0.5 {
		t.Errorf("sidecar:\n%s", raw)
	}
	if bad := badKeys(sc, ""); len(bad) > 0 {
		t.Errorf("sidecar keys not in snake_case: %v", bad)
	}
	if fi, err := os.Stat(ogg + ".json"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("sidecar mode %v (%v), want 0600: it holds case details", fi.Mode().Perm(), err)
	}
}
