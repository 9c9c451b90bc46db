package caseload

import (
	"cmp"
	"slices"
	"strings"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// The views below are computed from the vault's small read API (Reader),
// not inside the vault: the vault keeps the working set and the records,
// the screens and commands that show an answer shape it here. The TUI and
// the command line share them.

// Reader is the read API of the device vault the views are computed from;
// *store.Vault has it.
type Reader interface {
	Cases() ([]store.CaseView, error)
	Tasks(caseID string) ([]store.Item[record.Task], error)
	Consents(caseID string) ([]store.Item[record.Consent], error)
	RecordingReader
}

// RecordingReader is what CasesWaitingTranscription reads.
type RecordingReader interface {
	CaseIDs() ([]string, error)
	Recordings(caseID string) ([]store.Item[record.Recording], error)
}

var _ Reader = (*store.Vault)(nil)

// ConsentStatus is the standing decision of one person for one scope.
type ConsentStatus struct {
	Person     string
	Scope      string
	Decision   string
	Date       record.Date
	ReviewDate record.Date
}

// ReviewDue reports whether the decision is past its review date.
func (c ConsentStatus) ReviewDue(today record.Date) bool { return c.ReviewDate.Before(today) }

// ConsentSummary is the latest decision per person and scope of a case,
// by person and scope.
func ConsentSummary(v interface {
	Consents(caseID string) ([]store.Item[record.Consent], error)
}, caseID string) ([]ConsentStatus, error) {
	all, err := v.Consents(caseID) // newest first
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{} // person (case-insensitive) and scope
	var out []ConsentStatus
	for _, c := range all {
		for _, s := range c.Value.Scope {
			k := strings.ToLower(c.Value.Person) + "\x00" + s
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, ConsentStatus{Person: c.Value.Person, Scope: s, Decision: c.Value.Decision, Date: c.Value.Date, ReviewDate: c.Value.ReviewDate})
		}
	}
	slices.SortFunc(out, func(a, b ConsentStatus) int {
		return cmp.Or(cmp.Compare(a.Person, b.Person), cmp.Compare(a.Scope, b.Scope))
	})
	return out, nil
}

// ConsentIssue is a consent problem in a case, for the supervisor's
// overview: a person with no decision, or a standing decision that is
// refused, withdrawn or past its review date.
type ConsentIssue struct {
	CaseID, Ref, Subject string
	Person, Scope        string      // Scope is "" when no decision exists at all
	Problem              string      // "missing", "refused", "withdrawn", "review due"
	Date, ReviewDate     record.Date // of the standing decision
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ConsentIssues lists consent problems across every open case the vault
// holds, by case reference.
func ConsentIssues(v Reader, today record.Date) ([]ConsentIssue, error) {
	cases, err := v.Cases()
	if err != nil {
		return nil, err
	}
	var out []ConsentIssue
	for _, c := range cases {
		if c.Sealed || c.Value.Status == record.CaseClosed {
			continue
		}
		sum, err := ConsentSummary(v, c.ID)
		if err != nil {
			return nil, err
		}
		decided := map[string]bool{}
		for _, s := range sum {
			decided[lower(s.Person)] = true
			problem := ""
			switch {
			case s.Decision == "refused", s.Decision == "withdrawn":
				problem = s.Decision
			case s.ReviewDue(today):
				problem = "review due"
			}
			if problem != "" {
				out = append(out, ConsentIssue{CaseID: c.ID, Ref: c.Value.Ref, Subject: c.Value.Subject, Person: s.Person,
					Scope: s.Scope, Problem: problem, Date: s.Date, ReviewDate: s.ReviewDate})
			}
		}
		people := []string{c.Value.Subject}
		for _, p := range c.Value.People {
			people = append(people, p.Name)
		}
		seen := map[string]bool{}
		for _, p := range people {
			if p == "" || seen[lower(p)] || decided[lower(p)] {
				continue
			}
			seen[lower(p)] = true
			out = append(out, ConsentIssue{CaseID: c.ID, Ref: c.Value.Ref, Subject: c.Value.Subject, Person: p, Problem: "missing"})
		}
	}
	return out, nil
}

// CasesWaitingTranscription lists cases holding a recording submitted for
// typing (by this device or another), by id: every case the vault holds
// records of, a deleted one or one whose case record it lacks too.
func CasesWaitingTranscription(v RecordingReader) ([]string, error) {
	ids, err := v.CaseIDs()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		recs, err := v.Recordings(id)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(recs, func(r store.Item[record.Recording]) bool { return !r.Deleted && r.Value.WaitsForTyping() }) {
			out = append(out, id)
		}
	}
	return out, nil
}
