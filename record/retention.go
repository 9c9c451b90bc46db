package record

import (
	"fmt"
	"slices"
	"strings"
)

// RetentionPolicy is how long an agency keeps a case once it is closed,
// by case type. It travels as a statement signed by the agency
// (trust.KindRetention), which carries its version; this is its body.
//
// A case is kept until the latest of its rule's clocks has run out, each
// clock being a start date plus a number of years:
//
//	kept until = max over the rule's clocks of (start + years)
//
// where start is the date the case was closed, the date of its last
// contact (the latest visit, phone or court note; the date it was opened
// when there is none), or its subject's date of birth. An open or pending
// case is never due, and a clock whose start is not known gives no date:
// a case is never put forward for destruction on a guess.
type RetentionPolicy struct {
	// Approvals is how many different supervisors must approve a
	// destruction: 1, or 2 for the four-eyes rule.
	Approvals int `json:"approvals"`
	// Default is the rule of a case whose type Types does not name.
	Default []Period `json:"default"`
	// Types are rules by case type (record.Case.CaseType).
	Types map[string][]Period `json:"types,omitempty"`
}

// Period starts.
const (
	FromClosed      = "closed"
	FromLastContact = "last-contact"
	FromBirth       = "birth"
)

// Period is one retention period: Years from a start date.
type Period struct {
	From  string `json:"from"`
	Years int    `json:"years"`
}

func (c Period) String() string { return fmt.Sprintf("%s + %d years", c.start(), c.Years) }

func (c Period) start() string {
	return map[string]string{FromClosed: "closed", FromLastContact: "last contact", FromBirth: "birth"}[c.From]
}

// contactKinds are the note kinds that are contact with the person.
var contactKinds = []string{"visit", "phone", "court"}

// DefaultRetentionPolicy is a starting point an agency adapts (it is not
// legal advice): children's records until the subject's 75th birthday,
// adults' six years after the last contact, both at least six years
// after closing; one approver.
func DefaultRetentionPolicy() RetentionPolicy {
	return RetentionPolicy{
		Approvals: 1,
		Default:   []Period{{FromClosed, 6}, {FromLastContact, 6}},
		Types: map[string][]Period{
			"child": {{FromBirth, 75}, {FromClosed, 6}},
			"adult": {{FromLastContact, 6}, {FromClosed, 6}},
		},
	}
}

// Validate checks a policy.
func (p RetentionPolicy) Validate() error {
	if p.Approvals != 1 && p.Approvals != 2 {
		return fmt.Errorf("%w: approvals must be 1 or 2, not %d", ErrInvalid, p.Approvals)
	}
	check := func(name string, cs []Period) error {
		if len(cs) == 0 {
			return fmt.Errorf("%w: retention rule %s has no clock", ErrInvalid, name)
		}
		for _, c := range cs {
			switch c.From {
			case FromClosed, FromLastContact, FromBirth:
			default:
				return fmt.Errorf("%w: retention rule %s: clock from %q (want %s, %s or %s)", ErrInvalid, name, c.From, FromClosed, FromLastContact, FromBirth)
			}
			if c.Years < 1 || c.Years > 150 {
				return fmt.Errorf("%w: retention rule %s: %d years (want 1 to 150)", ErrInvalid, name, c.Years)
			}
		}
		return nil
	}
	if err := check("default", p.Default); err != nil {
		return err
	}
	for t, cs := range p.Types {
		if t == "" || len(t) > 40 || strings.ContainsAny(t, "\n\t") {
			return fmt.Errorf("%w: case type %q", ErrInvalid, t)
		}
		if err := check(t, cs); err != nil {
			return err
		}
	}
	return nil
}

// Rule is the rule for a case type and its name ("default" when Types
// does not name the type).
func (p RetentionPolicy) Rule(caseType string) (string, []Period) {
	if cs, ok := p.Types[caseType]; ok && caseType != "" {
		return caseType, cs
	}
	return "default", p.Default
}

// Formula is a rule written out for people.
func Formula(cs []Period) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	if len(parts) == 1 {
		return "kept until " + parts[0]
	}
	return "kept until the latest of: " + strings.Join(parts, "; ")
}

// RetentionFacts are what a case's retention depends on.
type RetentionFacts struct {
	Type        string
	Status      CaseStatus
	Closed      Date
	LastContact Date
	Birth       Date
}

// FactsOf reads a case's retention facts from its body and its notes.
func FactsOf(c Case, notes []Note) RetentionFacts {
	f := RetentionFacts{Type: c.CaseType, Status: c.Status, Closed: c.Closed, Birth: c.DOB, LastContact: c.Opened}
	for _, n := range notes {
		if slices.Contains(contactKinds, n.Kind) && n.Date.valid() == nil && n.Date > f.LastContact {
			f.LastContact = n.Date
		}
	}
	return f
}

// RetentionDue is when a case may be destroyed, and how that was worked out.
type RetentionDue struct {
	// Until is the last day of the retention period's clocks, as the
	// policy's formula gives it: the case may be destroyed from this day
	// on. "" when no date can be given (Unknown says why).
	Until   Date   `json:"until,omitempty"`
	Rule    string `json:"rule"`
	Formula string `json:"formula"`
	// Working is the formula with the case's dates in it.
	Working string `json:"working"`
	Unknown string `json:"unknown,omitempty"`
}

// Due works out when a case may be destroyed under p. It is a pure
// function of the policy and the facts.
func (p RetentionPolicy) Due(f RetentionFacts) RetentionDue {
	name, cs := p.Rule(f.Type)
	d := RetentionDue{Rule: name, Formula: Formula(cs)}
	if f.Status != CaseClosed {
		d.Unknown = "the case is not closed"
		return d
	}
	var steps []string
	for _, c := range cs {
		var start Date
		switch c.From {
		case FromClosed:
			start = f.Closed
		case FromLastContact:
			start = f.LastContact
		case FromBirth:
			start = f.Birth
		}
		if start.IsZero() || start.valid() != nil {
			d.Unknown = fmt.Sprintf("no %s date", map[string]string{FromClosed: "closing", FromLastContact: "contact", FromBirth: "birth"}[c.From])
			d.Until, d.Working = "", ""
			return d
		}
		// AddDate normalises: 29 February plus a year not leap is 1 March,
		// so such a record is kept a day longer, never a day less.
		end := DateOf(start.Time().AddDate(c.Years, 0, 0))
		steps = append(steps, fmt.Sprintf("%s %s + %d years = %s", c.start(), start, c.Years, end))
		if end > d.Until {
			d.Until = end
		}
	}
	d.Working = strings.Join(steps, "; ")
	return d
}

// Past reports whether the case may be destroyed on day today.
func (d RetentionDue) Past(today Date) bool { return d.Until != "" && today >= d.Until }
