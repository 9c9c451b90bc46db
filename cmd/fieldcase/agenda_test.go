package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAgenda: 'fieldcase agenda' on a vault with one thing of each kind on
// each side of the window's edges, as a table and as JSON. The dates are
// relative to the real today, as the command's are.
func TestAgenda(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	dir := t.TempDir()
	env := []string{"FIELDCASE_VAULT=" + filepath.Join(dir, "v.db"), "FIELDCASE_PASSPHRASE=" + secret(t)}
	if _, errOut, code := fc(t, env, "", "init"); code != 0 {
		t.Fatalf("init: %s", errOut)
	}
	now := time.Now()
	day := func(n int) string { return now.AddDate(0, 0, n).Format("2006-01-02") }
	lines := []string{
		fmt.Sprintf(`{"type":"case","ref":"R-1","subject":"Amelia Testcase","workers":["J. Okafor"],"next_visit":%q,"court_dates":[{"date":%q,"hearing":"Old hearing"},{"date":%q,"hearing":"Final hearing","court":"Ashbury Family Court"}]}`,
			day(-2), day(-1), day(3)),
		fmt.Sprintf(`{"type":"task","case":"R-1","title":"Call school","kind":"task","due":%q}`, day(0)),
		fmt.Sprintf(`{"type":"task","case":"R-1","title":"Done already","kind":"task","due":%q,"done":true}`, day(-5)),
		fmt.Sprintf(`{"type":"task","case":"R-1","title":"Beyond the week","kind":"task","due":%q}`, day(7)),
		fmt.Sprintf(`{"type":"consent","case":"R-1","person":"Mum","scope":["health","school"],"decision":"given","date":%q,"review_date":%q}`, day(-300), day(-10)),
		fmt.Sprintf(`{"type":"case","ref":"R-2","subject":"Ben Fictional","next_visit":%q}`, day(30)),
		fmt.Sprintf(`{"type":"task","case":"R-2","title":"Statutory visit","kind":"visit","due":%q}`, day(6)),
		fmt.Sprintf(`{"type":"case","ref":"R-3","subject":"Closed Case","status":"closed","next_visit":%q}`, day(0)),
	}
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := fc(t, env, "", "import", in); code != 0 {
		t.Fatalf("import: %s", errOut)
	}

	out, errOut, code := fc(t, env, "", "agenda")
	outJSON, errJSON, codeJSON := fc(t, env, "", "agenda", "--json")
	outTwo, _, codeTwo := fc(t, env, "", "agenda", "--days", "8")
	if day(0) != time.Now().Format("2006-01-02") {
		t.Skip("the date changed while the test ran")
	}
	if code != 0 || codeJSON != 0 || codeTwo != 0 {
		t.Fatalf("agenda: exit %d, %d, %d\n%s%s", code, codeJSON, codeTwo, errOut, errJSON)
	}
	rows := []string{
		`^WHEN +DATE +KIND +REF +SUBJECT +WHAT +WHOSE +FLAGS$`,
		`^overdue +` + day(-10) + ` +consent review +R-1 +Amelia Testcase +Mum: health, school \(given\) +J\. Okafor`,
		`^overdue +` + day(-2) + ` +visit +R-1 +Amelia Testcase +Next visit +J\. Okafor`,
		`^today +` + day(0) + ` +task +R-1 +Amelia Testcase +Call school +J\. Okafor`,
		`^upcoming +` + day(3) + ` +hearing +R-1 +Amelia Testcase +Final hearing, Ashbury Family Court +J\. Okafor`,
		`^upcoming +` + day(6) + ` +visit +R-2 +Ben Fictional +Statutory visit +-`,
		`^2 overdue, 1 today, 2 more this week$`,
	}
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) != len(rows) {
		t.Fatalf("agenda printed %d lines, want %d:\n%s", len(got), len(rows), out)
	}
	for i, re := range rows {
		if !regexp.MustCompile(re).MatchString(strings.TrimRight(got[i], " ")) {
			t.Errorf("line %d = %q, want %s", i+1, got[i], re)
		}
	}
	for _, gone := range []string{"Old hearing", "Done already", "Beyond the week", "Closed Case"} {
		if strings.Contains(out, gone) {
			t.Errorf("agenda shows %q:\n%s", gone, out)
		}
	}
	if !strings.Contains(outTwo, "Beyond the week") || !strings.Contains(outTwo, "3 more until "+day(7)) {
		t.Errorf("agenda --days 8 misses the eighth day:\n%s", outTwo)
	}

	var j struct {
		Today, Until string
		Days         int
		Items        []struct {
			Date, Section, Kind, Ref, Subject, What string
			CaseID                                  string `json:"case_id"`
			TaskID                                  string `json:"task_id"`
			Whose                                   []string
		}
	}
	if err := json.Unmarshal([]byte(outJSON), &j); err != nil {
		t.Fatalf("agenda --json: %v\n%s", err, outJSON)
	}
	if j.Today != day(0) || j.Until != day(6) || j.Days != 7 || len(j.Items) != 5 {
		t.Fatalf("agenda --json: %s … %s (%d days), %d items\n%s", j.Today, j.Until, j.Days, len(j.Items), outJSON)
	}
	var sum []string
	for _, it := range j.Items {
		sum = append(sum, it.Section+" "+it.Kind+" "+it.Ref+" "+it.What)
		if it.CaseID == "" {
			t.Errorf("item without a case id: %+v", it)
		}
		if (it.Kind == "task" || it.What == "Statutory visit") != (it.TaskID != "") {
			t.Errorf("task id %q on %s %q", it.TaskID, it.Kind, it.What)
		}
	}
	want := "overdue consent review R-1 Mum: health, school (given)|overdue visit R-1 Next visit|today task R-1 Call school|" +
		"upcoming hearing R-1 Final hearing, Ashbury Family Court|upcoming visit R-2 Statutory visit"
	if strings.Join(sum, "|") != want {
		t.Errorf("agenda --json items:\n%s\nwant:\n%s", strings.Join(sum, "|"), want)
	}
	if strings.Join(j.Items[0].Whose, ",") != "J. Okafor" || j.Items[4].Whose == nil {
		t.Errorf("whose: %v, %v (want J. Okafor, and [] not null)", j.Items[0].Whose, j.Items[4].Whose)
	}
}

// TestAgendaRefuses: a window it cannot show is refused before the
// passphrase is asked for; an empty agenda says so.
func TestAgendaRefuses(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	dir := t.TempDir()
	env := []string{"FIELDCASE_VAULT=" + filepath.Join(dir, "v.db"), "FIELDCASE_PASSPHRASE=" + secret(t)}
	for _, days := range []string{"0", "-1", "367"} {
		_, errOut, code := fc(t, env, "", "agenda", "--days="+days)
		if code == 0 || !strings.Contains(errOut, "fieldcase: --days "+days+": the agenda covers 1 to 366 days") {
			t.Errorf("agenda --days %s: exit %d, %q", days, code, errOut)
		}
	}
	if _, errOut, code := fc(t, env, "", "init"); code != 0 {
		t.Fatalf("init: %s", errOut)
	}
	out, errOut, code := fc(t, env, "", "agenda")
	if code != 0 || out != "Nothing overdue, nothing today or this week.\n" {
		t.Errorf("empty agenda: exit %d, %q %s", code, out, errOut)
	}
	out, _, _ = fc(t, env, "", "agenda", "--json")
	if !strings.Contains(out, `"items": []`) {
		t.Errorf("empty agenda --json: %s", out)
	}
}
