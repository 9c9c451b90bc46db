package caseload

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// agendaCase is a readable open case for BuildAgenda's tests.
func agendaCase(id, ref string, c record.Case) store.CaseView {
	c.Ref, c.Subject = ref, "Subject "+ref
	if c.Status == "" {
		c.Status = "open"
	}
	return store.CaseView{Item: store.Item[record.Case]{ID: id, CaseID: id, Value: c}}
}

func agendaTask(id, title, kind string, due record.Date, done bool) store.Item[record.Task] {
	return store.Item[record.Task]{ID: id, Value: record.Task{Title: title, Kind: kind, Due: due, Done: done}}
}

// line is an item as the tests compare it.
func line(it AgendaItem) string {
	return fmt.Sprintf("%s %s %s %s %s", it.Section, it.Date, it.Kind, it.Ref, it.What)
}

func TestBuildAgenda(t *testing.T) {
	const today = "2026-11-02" // a Monday
	sealed := agendaCase("c9", "R-9", record.Case{NextVisit: today})
	sealed.Sealed = true
	deletedTask := agendaTask("t-del", "Deleted task", "task", today, false)
	deletedTask.Deleted = true
	tests := []struct {
		name  string
		cases []AgendaCase
		days  int
		want  []string
	}{
		{
			name: "each boundary",
			cases: []AgendaCase{{
				Case: agendaCase("c1", "R-1", record.Case{NextVisit: "2026-11-01", Workers: []string{"J. Okafor"}}),
				Tasks: []store.Item[record.Task]{
					agendaTask("t1", "Call school", "task", "2026-10-20", false),     // overdue
					agendaTask("t2", "Statutory visit", "visit", today, false),       // today, a visit
					agendaTask("t3", "Write statement", "", "2026-11-08", false),     // last day of the week
					agendaTask("t4", "Review meeting", "task", "2026-11-09", false),  // a day past the week
					agendaTask("t5", "Done already", "task", "2026-10-30", true),     // done
					agendaTask("t6", "Undated", "task", "", false),                   // no date
					agendaTask("t7", "Tomorrow's task", "task", "2026-11-03", false), // first day after today
					deletedTask,
				},
				Consents: []ConsentStatus{
					{Person: "Mum", Scope: "health", Decision: "given", Date: "2026-01-01", ReviewDate: "2026-11-01"},
					{Person: "Mum", Scope: "school", Decision: "given", Date: "2026-01-01", ReviewDate: "2026-11-01"},
					{Person: "Dad", Scope: "police", Decision: "refused", Date: "2026-01-01", ReviewDate: "2026-11-05"},
					{Person: "Gran", Scope: "health", Decision: "given", Date: "2026-01-01"}, // no review date
				},
			}},
			days: DefaultAgendaDays,
			want: []string{
				"overdue 2026-10-20 task R-1 Call school",
				"overdue 2026-11-01 visit R-1 Next visit",
				"overdue 2026-11-01 consent review R-1 Mum: health, school (given)",
				"today 2026-11-02 visit R-1 Statutory visit",
				"this week 2026-11-03 task R-1 Tomorrow's task",
				"this week 2026-11-05 consent review R-1 Dad: police (refused)",
				"this week 2026-11-08 task R-1 Write statement",
			},
		},
		{
			name: "hearings are never overdue",
			cases: []AgendaCase{{
				Case: agendaCase("c2", "R-2", record.Case{CourtDates: []record.CourtDate{
					{Date: "2026-11-01", Hearing: "CMH"},
					{Date: today, Hearing: "IRH", Court: "Ashbury FC"},
					{Date: "2026-11-08"},
					{Date: "2026-11-09", Hearing: "Final"},
				}}),
			}},
			days: DefaultAgendaDays,
			want: []string{
				"today 2026-11-02 hearing R-2 IRH, Ashbury FC",
				"this week 2026-11-08 hearing R-2 Hearing",
			},
		},
		{
			name: "closed, sealed and deleted cases are left out; pending ones stay",
			cases: []AgendaCase{
				{Case: agendaCase("c3", "R-3", record.Case{Status: "closed", NextVisit: today}),
					Tasks: []store.Item[record.Task]{agendaTask("t8", "Closing letter", "task", "2026-10-01", false)}},
				{Case: sealed},
				{Case: agendaCase("c4", "R-4", record.Case{Status: "pending", NextVisit: today})},
			},
			days: DefaultAgendaDays,
			want: []string{"today 2026-11-02 visit R-4 Next visit"},
		},
		{
			name: "one day is today alone; overdue stays",
			cases: []AgendaCase{{
				Case: agendaCase("c5", "R-5", record.Case{NextVisit: "2026-11-03"}),
				Tasks: []store.Item[record.Task]{
					agendaTask("t9", "Late", "task", "2026-11-01", false),
					agendaTask("t10", "Now", "task", today, false),
				},
			}},
			days: 1,
			want: []string{
				"overdue 2026-11-01 task R-5 Late",
				"today 2026-11-02 task R-5 Now",
			},
		},
		{
			name: "one date: by kind, then reference",
			cases: []AgendaCase{
				{Case: agendaCase("c7", "R-7", record.Case{NextVisit: today, CourtDates: []record.CourtDate{{Date: today, Hearing: "FH"}}}),
					Tasks:    []store.Item[record.Task]{agendaTask("t11", "Chase referral", "task", today, false)},
					Consents: []ConsentStatus{{Person: "Mum", Scope: "family", Decision: "given", ReviewDate: today}}},
				{Case: agendaCase("c6", "R-6", record.Case{NextVisit: today})},
			},
			days: DefaultAgendaDays,
			want: []string{
				"today 2026-11-02 hearing R-7 FH",
				"today 2026-11-02 visit R-6 Next visit",
				"today 2026-11-02 visit R-7 Next visit",
				"today 2026-11-02 task R-7 Chase referral",
				"today 2026-11-02 consent review R-7 Mum: family (given)",
			},
		},
		{
			name:  "nothing at all",
			cases: []AgendaCase{{Case: agendaCase("c8", "R-8", record.Case{NextVisit: "2026-12-25"})}},
			days:  DefaultAgendaDays,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := BuildAgenda(tc.cases, today, tc.days)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range a.Items {
				got = append(got, line(it))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("agenda:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			n := 0
			for _, s := range []AgendaSection{SectionOverdue, SectionToday, SectionWeek} {
				n += len(a.In(s))
			}
			if n != len(a.Items) {
				t.Errorf("sections hold %d items, the agenda %d", n, len(a.Items))
			}
		})
	}
}

func TestBuildAgendaDetails(t *testing.T) {
	c := agendaCase("c1", "R-1", record.Case{Workers: []string{"J. Okafor", "S. Patel"}})
	task := agendaTask("t1", "Call school", "task", "2026-11-02", false)
	task.Conflict = true
	a, err := BuildAgenda([]AgendaCase{{Case: c, Tasks: []store.Item[record.Task]{task}}}, "2026-11-02", 7)
	if err != nil {
		t.Fatal(err)
	}
	if a.Until != "2026-11-08" || a.Days != 7 || a.Today != "2026-11-02" {
		t.Errorf("window = %s +%d until %s", a.Today, a.Days, a.Until)
	}
	if len(a.Items) != 1 {
		t.Fatalf("items = %+v", a.Items)
	}
	it := a.Items[0]
	if it.RecordID != "t1" || it.CaseID != "c1" || it.Subject != "Subject R-1" || !it.Conflict ||
		strings.Join(it.Whose, ",") != "J. Okafor,S. Patel" {
		t.Errorf("item = %+v", it)
	}
}

func TestBuildAgendaRefuses(t *testing.T) {
	for _, tc := range []struct {
		today record.Date
		days  int
	}{{"2026-11-02", 0}, {"2026-11-02", -3}, {"2026-11-02", MaxAgendaDays + 1}, {"", 7}, {"2026-13-40", 7}} {
		if _, err := BuildAgenda(nil, tc.today, tc.days); err == nil {
			t.Errorf("BuildAgenda(%q, %d) took it", tc.today, tc.days)
		}
	}
}

// The vault gathers its cases' tasks and consents for the agenda.
func TestVaultAgenda(t *testing.T) {
	v := testVault(t)
	id := mustCase(t, v, record.Case{Ref: "R-1", Subject: "Amelia Testcase"})
	if _, err := v.AddTask(id, record.Task{Title: "Statutory visit", Kind: "visit", Due: "2026-11-04"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddConsent(id, record.Consent{Person: "Mother", Scope: []string{"health"}, Decision: "given", Date: "2026-01-01", ReviewDate: "2026-06-01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.CreateCase(record.Case{Ref: "R-2", Subject: "Ben Fictional", Status: "closed", NextVisit: "2026-11-02"}); err != nil {
		t.Fatal(err)
	}
	a, err := AgendaOf(v, "2026-11-02", 7)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range a.Items {
		got = append(got, line(it))
	}
	want := "overdue 2026-06-01 consent review R-1 Mother: health (given)\nthis week 2026-11-04 visit R-1 Statutory visit"
	if strings.Join(got, "\n") != want {
		t.Errorf("agenda:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if _, err := AgendaOf(v, "2026-11-02", 0); err == nil || !strings.Contains(err.Error(), "1 to 366 days, not 0") {
		t.Errorf("Agenda(0 days): err = %v", err)
	}
	v.Lock()
	if _, err := AgendaOf(v, "2026-11-02", 7); !errors.Is(err, store.ErrLocked) {
		t.Errorf("Agenda while locked: err = %v, want store.ErrLocked", err)
	}
}
