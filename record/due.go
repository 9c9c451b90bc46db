package record

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DueRules say how many working days (Monday to Friday) a typist has for a
// dictation of each priority, counted from the day it is submitted: the
// turnaround an agency promises its authors, as dictation systems set it
// per priority. A priority not listed gets the normal priority's days. A
// work type may have days of its own, which cap the priority's:
//
//	days = min(rules[priority] (else rules[normal], else 5), rules[work type] when set)
//	due  = the submission day (the Monday after, on a weekend) + days working days
type DueRules map[string]int

// DueFormula is the rule in one sentence, for people.
const DueFormula = "Due = the day it is submitted + the working days of its priority (Saturdays and Sundays skipped); " +
	"a work type with days of its own caps them (the shorter wins)."

// DefaultDueRules: urgent by the next working day, high within two,
// normal within five (a working week).
var DefaultDueRules = DueRules{string(PriorityUrgent): 1, string(PriorityHigh): 2, string(PriorityNormal): 5}

// Validate checks every key is a known priority or work type and its days
// are 0 to 60.
func (r DueRules) Validate() error {
	for p, d := range r {
		if !Priority(p).Valid() && !slices.Contains(WorkTypes, p) {
			return fmt.Errorf("turnaround for an unknown priority %q (priorities are normal, high, urgent; work types %s)",
				p, strings.Join(WorkTypes, ", "))
		}
		if d < 0 || d > 60 {
			return fmt.Errorf("turnaround for %s is %d working days; it must be 0 to 60", p, d)
		}
	}
	return nil
}

// DueFor is the date a dictation of priority submitted at t is due: t's
// date plus the rule's working days, Saturdays and Sundays skipped (0 days
// is the same day, or the Monday after a weekend submission).
func (r DueRules) DueFor(priority Priority, t time.Time) Date {
	return r.DueOf(priority, "", t)
}

// DueOf is DueFor with the work type's cap (DueRules).
func (r DueRules) DueOf(priority Priority, workType string, t time.Time) Date {
	if r == nil {
		r = DefaultDueRules
	}
	days, ok := r[string(priority)]
	if !ok || slices.Contains(WorkTypes, string(priority)) {
		days, ok = r[string(PriorityNormal)]
		if !ok {
			days = DefaultDueRules[string(PriorityNormal)]
		}
	}
	if w, ok := r[workType]; ok && workType != "" && slices.Contains(WorkTypes, workType) {
		days = min(days, w)
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, t.Location())
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	for days > 0 {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			days--
		}
	}
	return DateOf(d)
}

// ParseDueRules reads rules written "urgent=1,high=2,normal=5" (any of
// the priorities, in any order; the others keep their defaults), and work
// types' caps the same way ("court report=3").
func ParseDueRules(s string) (DueRules, error) {
	r := DueRules{}
	for p, d := range DefaultDueRules {
		r[p] = d
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, d, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(d))
		if !ok || err != nil {
			return nil, fmt.Errorf("turnaround %q: write priority=working days, e.g. urgent=1,high=2,normal=5", part)
		}
		r[strings.TrimSpace(p)] = n
	}
	return r, r.Validate()
}

// String writes the rules as ParseDueRules reads them, most pressing first,
// then the work types.
func (r DueRules) String() string {
	var parts []string
	for i := len(Priorities) - 1; i >= 0; i-- {
		p := string(Priorities[i])
		if d, ok := r[p]; ok {
			parts = append(parts, p+"="+strconv.Itoa(d))
		}
	}
	for _, w := range WorkTypes {
		if d, ok := r[w]; ok {
			parts = append(parts, w+"="+strconv.Itoa(d))
		}
	}
	return strings.Join(parts, ",")
}

// Sentence writes the rules for people: "urgent 1, high 2, normal 5
// working days; court report at most 3".
func (r DueRules) Sentence() string {
	if r == nil {
		r = DefaultDueRules
	}
	var pri, wt []string
	for i := len(Priorities) - 1; i >= 0; i-- {
		p := string(Priorities[i])
		if d, ok := r[p]; ok {
			pri = append(pri, p+" "+strconv.Itoa(d))
		}
	}
	for _, w := range WorkTypes {
		if d, ok := r[w]; ok {
			wt = append(wt, w+" at most "+strconv.Itoa(d))
		}
	}
	s := strings.Join(pri, ", ") + " working days"
	if len(pri) == 0 {
		s = string(PriorityNormal) + " " + strconv.Itoa(DefaultDueRules[string(PriorityNormal)]) + " working days"
	}
	if len(wt) > 0 {
		s += "; " + strings.Join(wt, ", ")
	}
	return s
}
