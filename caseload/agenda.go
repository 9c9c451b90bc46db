package caseload

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// Agenda item kinds, in the order items of one day are listed: a hearing
// is fixed by the court, a visit by a family's day, a task and a review by
// the worker.
const (
	AgendaHearing       = "hearing"
	AgendaVisit         = "visit"
	AgendaTask          = "task"
	AgendaConsentReview = "consent review"
)

var agendaKindOrder = map[string]int{AgendaHearing: 0, AgendaVisit: 1, AgendaTask: 2, AgendaConsentReview: 3}

// AgendaSection is where an item falls relative to today.
type AgendaSection int

// The sections of an agenda, in order.
const (
	SectionOverdue AgendaSection = iota
	SectionToday
	SectionWeek
)

func (s AgendaSection) String() string {
	switch s {
	case SectionOverdue:
		return "overdue"
	case SectionToday:
		return "today"
	}
	return "this week"
}

// DefaultAgendaDays is the agenda's usual window: today and the six days
// after it. A rolling week, not "until Sunday", so that on a Friday the
// agenda still shows next week's Monday to Thursday.
const DefaultAgendaDays = 7

// MaxAgendaDays bounds the window (a year and a day).
const MaxAgendaDays = 366

// AgendaItem is one thing to do or attend on a date.
type AgendaItem struct {
	Date    record.Date
	Section AgendaSection
	Kind    string // AgendaHearing, AgendaVisit, AgendaTask or AgendaConsentReview
	CaseID  string
	Ref     string
	Subject string
	// RecordID is the task's id for tasks and visits booked as tasks; ""
	// for a case's next visit, a hearing and a consent review (they live in
	// the case record, or in several consent records).
	RecordID string
	What     string
	// Whose are the case's workers: tasks have no assignee of their own.
	Whose    []string
	Conflict bool // the task is in conflict: shown as its winning version
}

// Agenda is what is due across every open case: overdue, today, and the
// rest of the window.
type Agenda struct {
	Today record.Date
	Days  int         // the window: Today and the Days-1 days after it
	Until record.Date // the window's last day
	Items []AgendaItem
}

// In lists the items of one section.
func (a Agenda) In(s AgendaSection) []AgendaItem {
	var out []AgendaItem
	for _, it := range a.Items {
		if it.Section == s {
			out = append(out, it)
		}
	}
	return out
}

// AgendaCase is one case's part of the agenda's input: the case, its tasks,
// and its standing consent decisions (as ConsentSummary gives them).
type AgendaCase struct {
	Case     store.CaseView
	Tasks    []store.Item[record.Task]
	Consents []ConsentStatus
}

// CheckAgendaDays refuses a window the agenda cannot show.
func CheckAgendaDays(days int) error {
	if days < 1 || days > MaxAgendaDays {
		return fmt.Errorf("the agenda covers 1 to %d days, not %d", MaxAgendaDays, days)
	}
	return nil
}

// BuildAgenda computes the agenda from the cases' records, as of today, over
// days days (today included). It is pure: the same input gives the same
// agenda.
//
// Overdue are open tasks and visits due before today (a case's next visit
// included) and consent decisions whose review date has passed; a hearing
// is never overdue (it happened), so past hearings are left out. Today and
// This week hold everything dated today and in the rest of the window.
// Closed and sealed cases, deleted records and tasks done are left out;
// undated tasks have no place on an agenda. Items are sorted by date, then
// kind (hearing, visit, task, consent review), then case reference.
func BuildAgenda(cases []AgendaCase, today record.Date, days int) (Agenda, error) {
	if err := CheckAgendaDays(days); err != nil {
		return Agenda{}, err
	}
	if _, err := record.ParseDate(string(today)); err != nil || today == "" {
		return Agenda{}, fmt.Errorf("agenda day %q is not a date", today)
	}
	until := record.DateOf(today.Time().AddDate(0, 0, days-1))
	a := Agenda{Today: today, Days: days, Until: until}
	// section places a date; ok is false outside the agenda.
	section := func(d record.Date, canBeLate bool) (AgendaSection, bool) {
		switch {
		case d == "" || d > until:
			return 0, false
		case d < today:
			return SectionOverdue, canBeLate
		case d == today:
			return SectionToday, true
		}
		return SectionWeek, true
	}
	for _, ac := range cases {
		c := ac.Case
		if c.Sealed || c.Deleted || c.Value.Status == record.CaseClosed {
			continue
		}
		base := AgendaItem{CaseID: c.ID, Ref: c.Value.Ref, Subject: c.Value.Subject, Whose: c.Value.Workers}
		add := func(d record.Date, kind, what, recordID string, conflict bool, canBeLate bool) {
			s, ok := section(d, canBeLate)
			if !ok {
				return
			}
			it := base
			it.Date, it.Section, it.Kind, it.What, it.RecordID, it.Conflict = d, s, kind, what, recordID, conflict
			a.Items = append(a.Items, it)
		}
		add(c.Value.NextVisit, AgendaVisit, "Next visit", "", false, true)
		for _, cd := range c.Value.CourtDates {
			what := cmp.Or(cd.Hearing, "Hearing")
			if cd.Court != "" {
				what += ", " + cd.Court
			}
			add(cd.Date, AgendaHearing, what, "", false, false)
		}
		for _, t := range ac.Tasks {
			if t.Deleted || t.Sealed || t.Value.Done {
				continue
			}
			kind := AgendaTask
			if t.Value.Kind == "visit" {
				kind = AgendaVisit
			}
			add(t.Value.Due, kind, t.Value.Title, t.ID, t.Conflict, true)
		}
		for _, r := range consentReviews(ac.Consents) {
			add(r.date, AgendaConsentReview, r.what, "", false, true)
		}
	}
	slices.SortFunc(a.Items, func(x, y AgendaItem) int {
		return cmp.Or(cmp.Compare(x.Date, y.Date), cmp.Compare(agendaKindOrder[x.Kind], agendaKindOrder[y.Kind]),
			cmp.Compare(x.Ref, y.Ref), cmp.Compare(x.What, y.What), cmp.Compare(x.RecordID, y.RecordID))
	})
	return a, nil
}

type consentReview struct {
	date record.Date
	what string
}

// consentReviews folds a case's standing decisions into one review per
// person, decision and review date, naming every scope it covers: one
// consent form is one review, however many scopes it ticked.
func consentReviews(sum []ConsentStatus) []consentReview {
	type key struct {
		person, decision string
		date             record.Date
	}
	scopes := map[key][]string{}
	var order []key
	for _, s := range sum {
		if s.ReviewDate == "" {
			continue
		}
		k := key{s.Person, s.Decision, s.ReviewDate}
		if _, ok := scopes[k]; !ok {
			order = append(order, k)
		}
		scopes[k] = append(scopes[k], s.Scope)
	}
	out := make([]consentReview, 0, len(order))
	for _, k := range order {
		out = append(out, consentReview{date: k.date, what: k.person + ": " + strings.Join(scopes[k], ", ") + " (" + k.decision + ")"})
	}
	return out
}

// AgendaOf gathers every readable, open case's tasks and consent decisions
// from the vault and builds the agenda as of today (see BuildAgenda).
func AgendaOf(v Reader, today record.Date, days int) (Agenda, error) {
	if err := CheckAgendaDays(days); err != nil {
		return Agenda{}, err
	}
	cases, err := v.Cases()
	if err != nil {
		return Agenda{}, err
	}
	in := make([]AgendaCase, 0, len(cases))
	for _, c := range cases {
		if c.Sealed || c.Value.Status == record.CaseClosed {
			continue
		}
		ts, err := v.Tasks(c.ID)
		if err != nil {
			return Agenda{}, err
		}
		sum, err := ConsentSummary(v, c.ID)
		if err != nil {
			return Agenda{}, err
		}
		in = append(in, AgendaCase{Case: c, Tasks: ts, Consents: sum})
	}
	return BuildAgenda(in, today, days)
}
