package trust

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/internal/wire"
	"github.com/fieldcase/fieldcase/record"
)

// A record's life after its case closes: the agency's retention policy,
// legal holds, and the supervisors' approvals that destroy a case. Each is a
// signed statement, so it travels, is logged and is verified like the
// roster: a device trusts a policy only under the agency key, never takes
// back one it has seen (a rolled-back policy changes nothing), and destroys
// a case only on approvals its own roster accepts.
//
// Numbered apart from the roster's kinds (1–15 are left for those).
const (
	// KindRetention is the agency's retention policy: Doc is its body
	// (record.RetentionPolicy as JSON), Version its version (agency). A
	// higher version replaces a lower one.
	KindRetention Kind = 16
	// KindHold puts Case (of Team) on legal hold: Ref is the court order's
	// or inquiry's reference, Name who ordered it, Reason why (the agency,
	// or a supervisor's device of Team). While a hold is not released,
	// nothing of the case is destroyed.
	KindHold Kind = 17
	// KindRelease releases the hold whose statement id is Ref, on Case of
	// Team, with Reason (the agency; a supervisor's device of Team for a
	// hold a supervisor placed).
	KindRelease Kind = 18
	// KindDestroy is one supervisor's approval to destroy Case (of Team),
	// judged under the retention policy of Version, whose date it was due
	// on is Due (a supervisor's device of Team).
	KindDestroy Kind = 19
)

const maxPolicyDoc = 64 << 10

var lifecycleNames = map[Kind]string{KindRetention: "retention policy", KindHold: "legal hold",
	KindRelease: "hold release", KindDestroy: "destruction approval"}

func isLifecycle(k Kind) bool { _, ok := lifecycleNames[k]; return ok }

func (s Statement) appendLifecycle(b []byte) []byte {
	switch s.Kind {
	case KindRetention:
		b = wire.AppendUvarint(b, s.Version)
		b = wire.AppendBytes(b, s.Doc)
	case KindHold:
		b = wire.AppendString(b, s.Case)
		b = wire.AppendString(b, s.Team)
		b = wire.AppendString(b, s.Ref)
		b = wire.AppendString(b, s.Name)
		b = wire.AppendString(b, s.Reason)
	case KindRelease:
		b = wire.AppendString(b, s.Case)
		b = wire.AppendString(b, s.Team)
		b = wire.AppendString(b, s.Ref)
		b = wire.AppendString(b, s.Reason)
	case KindDestroy:
		b = wire.AppendString(b, s.Case)
		b = wire.AppendString(b, s.Team)
		b = wire.AppendUvarint(b, s.Version)
		b = appendTime(b, s.Due)
		b = wire.AppendString(b, s.Reason)
	}
	return b
}

func (s *Statement) readLifecycle(d *wire.Decoder) {
	switch s.Kind {
	case KindRetention:
		s.Version = d.Uvarint()
		s.Doc = d.Bytes(maxPolicyDoc)
	case KindHold:
		s.Case = d.String(record.MaxIDLen)
		s.Team = d.String(record.MaxIDLen)
		s.Ref = d.String(maxName)
		s.Name = d.String(maxName)
		s.Reason = d.String(maxReason)
	case KindRelease:
		s.Case = d.String(record.MaxIDLen)
		s.Team = d.String(record.MaxIDLen)
		s.Ref = d.String(maxName)
		s.Reason = d.String(maxReason)
	case KindDestroy:
		s.Case = d.String(record.MaxIDLen)
		s.Team = d.String(record.MaxIDLen)
		s.Version = d.Uvarint()
		s.Due = readTime(d)
		s.Reason = d.String(maxReason)
	}
}

func (s Statement) checkLifecycle(ids map[string]string) error {
	switch s.Kind {
	case KindRetention:
		if _, err := ParseRetention(s.Doc); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if s.Version == 0 {
			return fmt.Errorf("%w: retention policy without a version", ErrMalformed)
		}
	case KindHold, KindRelease, KindDestroy:
		ids["case"], ids["team"] = s.Case, s.Team
		if s.Kind == KindHold && strings.TrimSpace(s.Ref) == "" {
			return fmt.Errorf("%w: legal hold without a reference", ErrMalformed)
		}
		if s.Kind == KindRelease && len(s.Ref) != 64 {
			return fmt.Errorf("%w: hold release that names no hold", ErrMalformed)
		}
		if s.Kind == KindDestroy && s.Version == 0 {
			return fmt.Errorf("%w: destruction approval under no retention policy", ErrMalformed)
		}
	}
	return nil
}

// ParseRetention decodes and checks a retention policy's body. Unknown
// fields are refused: a policy a device cannot fully read is not applied.
func ParseRetention(doc []byte) (record.RetentionPolicy, error) {
	var p record.RetentionPolicy
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("retention policy: %w", err)
	}
	if dec.More() {
		return p, fmt.Errorf("retention policy: data after the policy")
	}
	return p, p.Validate()
}

// Retention is what the lifecycle statements prove.
type Retention struct {
	// Policy is the retention policy of the highest version (nil when
	// none is proven, or two differ at that version: fail closed, nothing
	// is due).
	Policy  *record.RetentionPolicy
	Version uint64
	// Policies are every verified version, for approvals judged under an
	// earlier one.
	Policies map[uint64]record.RetentionPolicy
	// Holds lists every hold by case, released ones included.
	Holds map[string][]Hold
	// Approvals lists the destruction approvals that count, by case.
	Approvals map[string][]Approval
	// Destroyed are the cases whose destruction is approved, by case.
	Destroyed map[string]Destruction
}

// Hold is a legal hold on a case.
type Hold struct {
	ID            string    `json:"id"`
	Case          string    `json:"case_id"`
	Team          string    `json:"team"`
	Ref           string    `json:"ref"`
	OrderedBy     string    `json:"ordered_by"`
	Reason        string    `json:"reason,omitempty"`
	Signer        string    `json:"signer"`       // SignerAgency or a device signer
	By            string    `json:"by,omitempty"` // the signing device's user ("" for the agency)
	At            time.Time `json:"at"`
	Released      bool      `json:"released,omitempty"`
	ReleasedBy    string    `json:"released_by,omitempty"` // signer
	ReleaseReason string    `json:"release_reason,omitempty"`
	ReleasedAt    time.Time `json:"released_at,omitzero"`
}

// Approval is one supervisor's approval to destroy a case.
type Approval struct {
	ID            string    `json:"id"`
	Case          string    `json:"case_id"`
	Team          string    `json:"team"`
	User          string    `json:"user"`
	Device        string    `json:"device"`
	PolicyVersion uint64    `json:"policy_version"`
	Due           time.Time `json:"due,omitzero"`
	Reason        string    `json:"reason,omitempty"`
	At            time.Time `json:"at"`
}

// Destruction is a case whose destruction the roster proves approved.
type Destruction struct {
	Case          string     `json:"case_id"`
	Team          string     `json:"team"`
	PolicyVersion uint64     `json:"policy_version"`
	Due           time.Time  `json:"due,omitzero"`
	Approvals     []Approval `json:"approvals"` // one per approver, by user id
	At            time.Time  `json:"at"`        // the last approval's
}

// Active lists a case's holds that are not released.
func (r Retention) Active(caseID string) []Hold {
	var out []Hold
	for _, h := range r.Holds[caseID] {
		if !h.Released {
			out = append(out, h)
		}
	}
	return out
}

// supervisorDevice is a device signer's device and user when that user is
// a supervisor of team; revoked says whether the device is revoked.
func (r *Roster) supervisorDevice(p parsed, team string) (d Device, u User, ok bool) {
	if !strings.HasPrefix(p.Signer, signerDevice) {
		return d, u, false
	}
	d, ok = r.Devices[strings.TrimPrefix(p.Signer, signerDevice)]
	if !ok || !p.Verify(d.SigningKey) {
		return d, u, false
	}
	u, ok = r.Users[d.User]
	return d, u, ok && u.Role == RoleSupervisor && u.Team != "" && u.Team == team
}

// lifecycle evaluates the retention policy, holds, releases and approvals
// after the devices are known. Holds fail safe: a hold whose signer was a
// supervisor's device counts even after that device is revoked (it only
// keeps data); a release or an approval from a revoked device counts for
// nothing.
func (r *Roster) lifecycle(agencySigned, others []parsed) {
	ret := Retention{Policies: map[uint64]record.RetentionPolicy{}, Holds: map[string][]Hold{},
		Approvals: map[string][]Approval{}, Destroyed: map[string]Destruction{}}
	var holds, releases, approvals []parsed
	bodies := map[uint64][]parsed{} // retention policies by version, one per distinct body
	for _, p := range append(slices.Clone(agencySigned), others...) {
		switch p.st.Kind {
		case KindRetention:
			if p.Signer != SignerAgency {
				r.problem(p.id, p.st.Kind, "a retention policy is signed by the agency only")
				continue
			}
			if !slices.ContainsFunc(bodies[p.st.Version], func(q parsed) bool { return bytes.Equal(q.Body, p.Body) }) {
				bodies[p.st.Version] = append(bodies[p.st.Version], p)
			}
		case KindHold:
			holds = append(holds, p)
		case KindRelease:
			releases = append(releases, p)
		case KindDestroy:
			approvals = append(approvals, p)
		}
	}
	var top uint64
	for v, ps := range bodies {
		top = max(top, v)
		if len(ps) > 1 {
			for _, p := range ps {
				r.problem(p.id, KindRetention, "two different retention policies of version %d: neither is trusted", v)
			}
			continue
		}
		ret.Policies[v], _ = ParseRetention(ps[0].st.Doc) // checked when decoded
	}
	if pol, ok := ret.Policies[top]; ok { // the highest version in conflict: no policy (nothing is due)
		ret.Policy, ret.Version = &pol, top
		r.Accepted[bodies[top][0].id] = true
	}

	byID := map[string]*Hold{}
	for _, p := range holds {
		h := Hold{ID: p.id, Case: p.st.Case, Team: p.st.Team, Ref: p.st.Ref, OrderedBy: p.st.Name, Reason: p.st.Reason,
			Signer: p.Signer, At: p.st.Issued}
		if p.Signer != SignerAgency {
			// Fail safe: a revoked supervisor laptop's hold still holds.
			d, _, ok := r.supervisorDevice(p, p.st.Team)
			if !ok {
				r.problem(p.id, KindHold, "a legal hold is placed by the agency or a supervisor of the case's team")
				continue
			}
			h.By = d.User
		}
		r.Accepted[p.id] = true
		ret.Holds[h.Case] = append(ret.Holds[h.Case], h)
	}
	for c := range ret.Holds {
		slices.SortFunc(ret.Holds[c], func(a, b Hold) int { return strings.Compare(a.ID, b.ID) })
		for i := range ret.Holds[c] {
			byID[ret.Holds[c][i].ID] = &ret.Holds[c][i]
		}
	}
	lastRelease := map[string]time.Time{}
	for _, p := range releases {
		h := byID[p.st.Ref]
		switch {
		case h == nil || h.Case != p.st.Case:
			r.problem(p.id, KindRelease, "releases a hold this roster does not hold on case %s", p.st.Case)
			continue
		case p.Signer != SignerAgency:
			d, _, ok := r.supervisorDevice(p, h.Team)
			if !ok || d.Revoked || h.Signer == SignerAgency {
				r.problem(p.id, KindRelease, "a hold is released by the agency, or by a supervisor of the team when a supervisor placed it")
				continue
			}
		}
		r.Accepted[p.id] = true
		if !h.Released || p.st.Issued.After(h.ReleasedAt) {
			h.Released, h.ReleasedBy, h.ReleaseReason, h.ReleasedAt = true, p.Signer, p.st.Reason, p.st.Issued
		}
		if p.st.Issued.After(lastRelease[h.Case]) {
			lastRelease[h.Case] = p.st.Issued
		}
	}
	for _, p := range approvals {
		d, u, ok := r.supervisorDevice(p, p.st.Team)
		if !ok || d.Revoked {
			r.problem(p.id, KindDestroy, "a destruction is approved by an unrevoked device of a supervisor of the case's team")
			continue
		}
		if _, ok := ret.Policies[p.st.Version]; !ok {
			r.problem(p.id, KindDestroy, "approved under retention policy version %d, which this roster does not hold", p.st.Version)
			continue
		}
		r.Accepted[p.id] = true
		if p.st.Issued.Before(lastRelease[p.st.Case]) {
			continue // given before a hold was released: it must be given again
		}
		ret.Approvals[p.st.Case] = append(ret.Approvals[p.st.Case], Approval{ID: p.id, Case: p.st.Case, Team: p.st.Team,
			User: u.ID, Device: d.ID, PolicyVersion: p.st.Version, Due: p.st.Due, Reason: p.st.Reason, At: p.st.Issued})
	}
	for c, as := range ret.Approvals {
		slices.SortFunc(as, func(a, b Approval) int { return strings.Compare(a.ID, b.ID) })
		ret.Approvals[c] = as
		if len(ret.Active(c)) > 0 {
			continue
		}
		first := map[string]Approval{} // one per approver: their first
		var version uint64
		team, mixed := as[0].Team, false
		for _, a := range as {
			if a.Team != team {
				mixed = true
			}
			if f, ok := first[a.User]; !ok || a.At.Before(f.At) {
				first[a.User] = a
			}
			version = max(version, a.PolicyVersion)
		}
		if mixed {
			r.problem(as[0].ID, KindDestroy, "approvals of case %s name different teams: none counts", c)
			continue
		}
		// As many approvers as the policy they approved under asks, and
		// as the newest policy asks: an approval signed under an older,
		// laxer policy (by a laptop kept from the newer one, say) does not
		// escape a four-eyes rule the agency has since signed. With the
		// newest version in conflict, nothing is destroyed (fail closed).
		if ret.Policy == nil || len(first) < max(ret.Policies[version].Approvals, ret.Policy.Approvals) {
			continue
		}
		d := Destruction{Case: c, Team: team, PolicyVersion: version}
		for _, a := range first {
			d.Approvals = append(d.Approvals, a)
			if a.At.After(d.At) {
				d.At = a.At
			}
			if a.Due.After(d.Due) {
				d.Due = a.Due
			}
		}
		slices.SortFunc(d.Approvals, func(a, b Approval) int { return strings.Compare(a.User, b.User) })
		ret.Destroyed[c] = d
	}
	r.Retention = ret
}
