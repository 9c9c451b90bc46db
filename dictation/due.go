package dictation

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// DueRules say how many working days (Monday to Friday) a typist has for a
// dictation of each priority, counted from the day it is submitted: the
// turnaround an agency promises its authors, as dictation systems set it
// per priority. A priority not listed gets the normal priority's days.
type DueRules map[string]int

// DefaultDueRules: urgent by the next working day, high within two,
// normal within five (a working week).
var DefaultDueRules = DueRules{"urgent": 1, "high": 2, "normal": 5}

// Validate checks every priority is known and its days are 0 to 60.
func (r DueRules) Validate() error {
	for p, d := range r {
		known := false
		for _, q := range record.Priorities {
			known = known || p == q
		}
		if !known {
			return fmt.Errorf("turnaround for an unknown priority %q (priorities are normal, high, urgent)", p)
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
func (r DueRules) DueFor(priority string, t time.Time) record.Date {
	if r == nil {
		r = DefaultDueRules
	}
	days, ok := r[priority]
	if !ok {
		days, ok = r["normal"]
		if !ok {
			days = DefaultDueRules["normal"]
		}
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
	return record.DateOf(d)
}

// Submit sends the recording for typing: its status becomes submitted,
// with the time it was submitted and its due date (due, or when due is ""
// the date rules give for its priority).
func (r *Recording) Submit(now time.Time, due record.Date, rules DueRules) error {
	if r.Meta.Status != "draft" {
		return fmt.Errorf("recording %s is %s: only a draft can be submitted for typing", r.ID, r.Meta.Status)
	}
	if due == "" {
		due = rules.DueFor(r.Meta.Priority, now)
	}
	prev := r.Meta
	r.Meta.Status, r.Meta.Submitted, r.Meta.Due = "submitted", now.UTC().Format(time.RFC3339), due
	if err := r.Save(); err != nil {
		r.Meta = prev
		return err
	}
	return nil
}

// ParseDueRules reads rules written "urgent=1,high=2,normal=5" (any of
// the priorities, in any order; the others keep their defaults).
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

// String writes the rules as ParseDueRules reads them, most pressing first.
func (r DueRules) String() string {
	var parts []string
	for i := len(record.Priorities) - 1; i >= 0; i-- {
		p := record.Priorities[i]
		if d, ok := r[p]; ok {
			parts = append(parts, p+"="+strconv.Itoa(d))
		}
	}
	return strings.Join(parts, ",")
}
