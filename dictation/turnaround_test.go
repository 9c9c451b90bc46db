package dictation

import (
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// Figures from a fixture with known times.
func TestTurnaroundOf(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	at := func(h int) string { return now.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	done := func(author, typist string, subH, doneH int) record.Recording {
		return record.Recording{Author: author, Status: "transcribed", Submitted: at(subH), Transcribed: at(doneH), TranscribedBy: typist}
	}
	recs := []record.Recording{
		done("M. Doherty", "Tia", -100, -98),                                              // 2 h
		done("M. Doherty", "Tia", -100, -96),                                              // 4 h
		done("M. Doherty", "Tia", -100, -90),                                              // 10 h
		done("J. Okafor", "Tia", -50, -20),                                                // 30 h
		done("J. Okafor", "Sam", -50, -49),                                                // 1 h
		{Author: "J. Okafor", Status: "submitted", Submitted: at(-72), Due: "2026-12-04"}, // 72 h, overdue
		{Author: "J. Okafor", Status: "submitted", Submitted: at(-5), Due: "2026-12-09"},  // 5 h
		{Author: "M. Doherty", Status: "submitted"},                                       // before submission times were kept
		{Author: "M. Doherty", Status: "draft", Submitted: ""},
		done("M. Doherty", "Tia", -10, -12), // transcribed before submitted: a clock gone wrong, left out
	}
	rep := TurnaroundOf(recs, now)
	want := TurnaroundReport{
		Typists: []Turnaround{
			{Name: "Sam", Done: 1, Median: time.Hour, P90: time.Hour},
			{Name: "Tia", Done: 4, Median: 4 * time.Hour, P90: 30 * time.Hour},
		},
		Authors: []Turnaround{
			{Name: "J. Okafor", Done: 2, Median: time.Hour, P90: 30 * time.Hour, Waiting: 2, Oldest: 72 * time.Hour, Overdue: 1},
			{Name: "M. Doherty", Done: 3, Median: 4 * time.Hour, P90: 10 * time.Hour},
		},
	}
	// Every transcript: 1, 2, 4, 10, 30 h; waiting: 72 h (overdue), 5 h.
	if all := (Turnaround{Name: "all", Done: 5, Median: 4 * time.Hour, P90: 30 * time.Hour, Waiting: 2, Oldest: 72 * time.Hour, Overdue: 1}); rep.All != all {
		t.Errorf("all: %+v, want %+v", rep.All, all)
	}
	if len(rep.Typists) != len(want.Typists) || len(rep.Authors) != len(want.Authors) {
		t.Fatalf("report %+v, want %+v", rep, want)
	}
	for i := range want.Typists {
		if rep.Typists[i] != want.Typists[i] {
			t.Errorf("typist %d: %+v, want %+v", i, rep.Typists[i], want.Typists[i])
		}
	}
	for i := range want.Authors {
		if rep.Authors[i] != want.Authors[i] {
			t.Errorf("author %d: %+v, want %+v", i, rep.Authors[i], want.Authors[i])
		}
	}
}

func TestPercentile(t *testing.T) {
	h := func(n int) time.Duration { return time.Duration(n) * time.Hour }
	ds := []time.Duration{h(5), h(1), h(4), h(2), h(3), h(10), h(6), h(7), h(8), h(9)}
	for _, tt := range []struct {
		p    int
		want time.Duration
	}{{50, h(5)}, {90, h(9)}, {100, h(10)}, {1, h(1)}} {
		if got := percentile(ds, tt.p); got != tt.want {
			t.Errorf("p%d = %v, want %v", tt.p, got, tt.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("p50 of nothing is not 0")
	}
}
