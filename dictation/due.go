package dictation

import (
	"fmt"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// The due-date rules live in record (the case server's administration
// signs them without linking audio); these names keep dictation's callers.
type DueRules = record.DueRules

// DefaultDueRules: urgent by the next working day, high within two,
// normal within five (a working week).
var DefaultDueRules = record.DefaultDueRules

// DueFormula is the rule in one sentence, for people.
const DueFormula = record.DueFormula

// ParseDueRules reads rules written "urgent=1,high=2,normal=5,court report=3".
func ParseDueRules(s string) (DueRules, error) { return record.ParseDueRules(s) }

// Submit sends the recording for typing: its status becomes submitted,
// with the time it was submitted and its due date (due, or when due is ""
// the date rules give for its priority).
func (r *Recording) Submit(now time.Time, due record.Date, rules DueRules) error {
	if r.Meta.Status != record.StatusDraft {
		return fmt.Errorf("recording %s is %s: only a draft can be submitted for typing", r.ID, r.Meta.Status)
	}
	if due == "" {
		due = rules.DueOf(r.Meta.Priority, r.Meta.WorkType, now)
	}
	prev := r.Meta
	r.Meta.Status, r.Meta.Submitted, r.Meta.Due = record.StatusSubmitted, now.UTC().Format(time.RFC3339), due
	if err := r.Save(); err != nil {
		r.Meta = prev
		return err
	}
	return nil
}

// SubmitByPolicy submits the recording with its due date from the due
// rules in force on its vault (DuePolicyOf: the agency's signed rules, else
// local, this laptop's turnaround setting, else the defaults), unless due
// is given. It returns the rules it went by.
func (r *Recording) SubmitByPolicy(now time.Time, due record.Date, local DueRules) (DuePolicy, error) {
	p := DuePolicyOf(r.v, local)
	return p, r.Submit(now, due, p.Rules)
}
