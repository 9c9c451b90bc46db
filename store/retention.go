package store

import (
	"cmp"
	"slices"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// Retention states of a case, for the supervisors' destruction queue.
const (
	RetentionNoPolicy = "no policy"       // the roster proves no retention policy
	RetentionUnknown  = "unknown"         // no date can be given (RetentionDue.Unknown says why)
	RetentionKept     = "kept"            // not yet past its retention
	RetentionHeld     = "held"            // past or not, a legal hold is in force
	RetentionDue      = "due"             // past retention, not held: awaiting approval
	RetentionSecond   = "awaiting second" // approved by fewer supervisors than the policy asks
	RetentionSealed   = "sealed"          // this laptop holds no key of it yet: nothing can be said
)

// RetentionItem is one case as the retention policy sees it.
type RetentionItem struct {
	CaseID    string              `json:"case_id"`
	Ref       string              `json:"ref"`
	Team      string              `json:"team"`
	State     string              `json:"state"`
	Due       record.RetentionDue `json:"due"`
	Policy    uint64              `json:"policy_version"`
	Holds     []trust.Hold        `json:"holds,omitempty"`     // in force
	Approvals []trust.Approval    `json:"approvals,omitempty"` // that count so far
	Needed    int                 `json:"approvals_needed,omitempty"`
}

// Approvers is how many different supervisors' approvals count so far (two
// laptops of one person count once).
func (it RetentionItem) Approvers() int {
	users := map[string]bool{}
	for _, a := range it.Approvals {
		users[a.User] = true
	}
	return len(users)
}

// Retention lists every case this vault reads with its retention date and
// state under the roster's retention policy, soonest first. Notes must be
// loaded (LoadNotes): the last contact is read from them.
func (v *Vault) Retention(today record.Date) ([]RetentionItem, error) {
	cvs, err := v.Cases()
	if err != nil {
		return nil, err
	}
	r := v.Roster()
	var ret trust.Retention
	if r != nil {
		ret = r.Retention
	}
	out := make([]RetentionItem, 0, len(cvs))
	for _, cv := range cvs {
		it, err := v.retentionOf(cv, ret, today)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b RetentionItem) int {
		x, y := a.Due.Until, b.Due.Until
		if x == "" {
			x = "9999"
		}
		if y == "" {
			y = "9999"
		}
		return cmp.Or(cmp.Compare(x, y), cmp.Compare(a.Ref, b.Ref))
	})
	return out, nil
}

// RetentionOf is one case's retention item.
func (v *Vault) RetentionOf(caseID string, today record.Date) (RetentionItem, error) {
	cv, err := v.Case(caseID)
	if err != nil {
		return RetentionItem{}, err
	}
	var ret trust.Retention
	if r := v.Roster(); r != nil {
		ret = r.Retention
	}
	return v.retentionOf(cv, ret, today)
}

func (v *Vault) retentionOf(cv CaseView, ret trust.Retention, today record.Date) (RetentionItem, error) {
	it := RetentionItem{CaseID: cv.ID, Ref: cv.Value.Ref, Holds: ret.Active(cv.ID), Approvals: ret.Approvals[cv.ID], Policy: ret.Version}
	if m, _, err := v.Membership(cv.ID); err != nil {
		return it, err
	} else {
		it.Team = m.Team
	}
	if cv.Sealed {
		it.Ref, it.State = cv.ID, RetentionSealed
		return it, nil
	}
	if ret.Policy == nil {
		it.State = RetentionNoPolicy
		if len(it.Holds) > 0 {
			it.State = RetentionHeld
		}
		return it, nil
	}
	notes, err := v.Notes(cv.ID)
	if err != nil {
		return it, err
	}
	ns := make([]record.Note, len(notes))
	for i, n := range notes {
		ns[i] = n.Value
	}
	it.Due = ret.Policy.Due(record.FactsOf(cv.Value, ns))
	it.Needed = ret.Policy.Approvals
	switch {
	case len(it.Holds) > 0:
		it.State = RetentionHeld
	case it.Due.Until == "":
		it.State = RetentionUnknown
	case !it.Due.Past(today):
		it.State = RetentionKept
	case it.Approvers() > 0:
		it.State = RetentionSecond
	default:
		it.State = RetentionDue
	}
	return it, nil
}
