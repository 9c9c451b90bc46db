package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// 'fieldcase team --json' carries the dictation turnaround of the
// supervisor's vault: figures from dictations with known times, exactly,
// and the very report TurnaroundOf gives of them at the time printed (a
// round trip through the documented fields); the plain output sums it up
// in a line. The vault is a small demo-marked one made here (its team view
// kept in it, as 'fieldcase demo' keeps one), at a cheap work factor.
func TestTeamTurnaroundJSON(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	path := filepath.Join(t.TempDir(), "sup.db")
	pass := secret(t)
	env := []string{"FIELDCASE_VAULT=" + path, "FIELDCASE_PASSPHRASE=" + pass}
	now := time.Now()
	at := func(h int) string { return now.Add(time.Duration(h) * time.Hour).UTC().Format(time.RFC3339) }
	fixture := []record.Recording{
		{Author: "M. Doherty", Status: "transcribed", Submitted: at(-100), Transcribed: at(-98), TranscribedBy: "Tia"}, // 2 h
		{Author: "M. Doherty", Status: "transcribed", Submitted: at(-100), Transcribed: at(-96), TranscribedBy: "Tia"}, // 4 h
		{Author: "J. Okafor", Status: "transcribed", Submitted: at(-50), Transcribed: at(-20), TranscribedBy: "Ray"},   // 30 h
		{Author: "J. Okafor", Status: "submitted", Submitted: at(-72), Due: record.DateOf(now.AddDate(0, 0, -10))},     // overdue
		{Author: "J. Okafor", Status: "submitted", Submitted: at(-5), Due: record.DateOf(now.AddDate(0, 0, 10))},
	}
	v := storetest.Create(t, path, pass, store.Profile{Name: "Sam", UserID: "u-sam", Team: "North", Role: protocol.RoleSupervisor},
		store.Options{Demo: true})
	caseID, err := v.CreateCase(record.Case{Ref: "N-1", Subject: "Subject", Workers: []string{"J. Okafor"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range fixture {
		r := &fixture[i]
		r.WorkType, r.Priority, r.Codec, r.SampleRate, r.Recorded = "letter", "normal", record.DefaultRecordCodec, 16000, r.Submitted
		if _, err := v.PutRecording(caseID, record.NewID(), nil, *r, true); err != nil {
			t.Fatal(err)
		}
	}
	tv := protocol.TeamView{Team: "North", Users: []protocol.TeamUser{
		{ID: "u-okafor", Name: "J. Okafor", Role: protocol.RoleCaseworker}, {ID: "u-sam", Name: "Sam", Role: protocol.RoleSupervisor}},
		Cases: []protocol.TeamCase{{ID: caseID, Members: []string{"u-okafor"}}}}
	js, _ := json.Marshal(tv)
	if err := v.PutLocal(client.TeamKey, js); err != nil {
		t.Fatal(err)
	}
	v.Close()

	var got struct {
		Workers    []map[string]any `json:"workers"`
		Turnaround struct {
			turnaroundJSON
			AsOf time.Time `json:"as_of"`
		} `json:"turnaround"`
		DueRules struct {
			Source  string         `json:"source"`
			Days    map[string]int `json:"days"`
			Formula string         `json:"formula"`
		} `json:"due_rules"`
	}
	fcJSON(t, env, &got, "team", "--json")
	ta := got.Turnaround
	row := func(name string, done int, median, p90 float64) turnaroundRowJSON {
		return turnaroundRowJSON{Name: name, Done: done, Median: median, P90: p90}
	}
	wantTypists := []turnaroundRowJSON{row("Ray", 1, 30, 30), row("Tia", 2, 2, 4)}
	if !reflect.DeepEqual(ta.Typists, wantTypists) {
		t.Errorf("typists %+v, want %+v", ta.Typists, wantTypists)
	}
	if len(ta.Authors) != 2 {
		t.Fatalf("authors %+v", ta.Authors)
	}
	okafor, doherty := ta.Authors[0], ta.Authors[1]
	// The oldest wait runs until the command ran: 72 h and the seconds since.
	if okafor.Name != "J. Okafor" || okafor.Done != 1 || okafor.Median != 30 || okafor.P90 != 30 ||
		*okafor.Waiting != 2 || *okafor.Overdue != 1 || okafor.Oldest < 72 || okafor.Oldest > 72.1 {
		t.Errorf("J. Okafor: %+v (waiting %d, overdue %d)", okafor, *okafor.Waiting, *okafor.Overdue)
	}
	if doherty.Name != "M. Doherty" || doherty.Done != 2 || doherty.Median != 2 || doherty.P90 != 4 ||
		*doherty.Waiting != 0 || *doherty.Overdue != 0 || doherty.Oldest != 0 {
		t.Errorf("M. Doherty: %+v", doherty)
	}
	if a := ta.All; a.Done != 3 || a.Median != 4 || a.P90 != 30 || *a.Waiting != 2 || *a.Overdue != 1 {
		t.Errorf("all: %+v", a)
	}
	if got.DueRules.Source != dictation.DueFromDefault || got.DueRules.Days["normal"] != 5 || got.DueRules.Formula != dictation.DueFormula {
		t.Errorf("due rules: %+v", got.DueRules)
	}
	if len(got.Workers) != 1 || got.Workers[0]["worker"] != "J. Okafor" || got.Workers[0]["dictations_waiting"] != 2.0 {
		t.Errorf("workers %v", got.Workers)
	}

	// Round trip: what was printed is the report of the fixture at as_of
	if want := turnaroundJSONOf(dictation.TurnaroundOf(fixture, ta.AsOf)); !reflect.DeepEqual(ta.turnaroundJSON, want) {
		t.Errorf("team --json turnaround\n%+v\nwant (the fixture at %s)\n%+v", ta.turnaroundJSON, ta.AsOf, want)
	}

	out, errOut, code := fc(t, env, "", "team")
	if code != 0 || !strings.Contains(out, "dictation: 2 waiting, 1 overdue, oldest 3.0 d; transcripts took 4.0 h median, 30.0 h p90") ||
		!strings.Contains(out, "due dates: urgent 1, high 2, normal 5 working days (the defaults") {
		t.Errorf("team: exit %d %s\n%s", code, errOut, out)
	}
}
