package trust

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// Team is a team as the agency named it.
type Team struct {
	ID, Name string
}

// User is a person as the agency signed them.
type User struct {
	ID, Name, Team string
	Role           Role
	Version        uint64
}

// Device is an enrolled laptop whose chain of signatures reaches the agency.
type Device struct {
	ID, User, Name string
	Recipient      string
	SigningKey     ed25519.PublicKey
	Grant          string    // the grant it enrolled under
	GrantedBy      string    // who signed that grant: SignerAgency or a device signer
	Issued         time.Time // as the enrolling code holder stated it
	Revoked        bool
	AfterSeq       uint64 // when revoked: its revisions up to this sequence number stand
	LogSize        int64  // when revoked: ... and only those logged before this many entries (0: no log rule)
	RevokedBy      string
}

// Grant is an enrolment grant whose signer is trusted.
type Grant struct {
	ID, User string
	Key      ed25519.PublicKey // the code's public key
	Expires  time.Time
	Signer   string // SignerAgency, or the device that paired
}

// Problem is a statement that was not accepted, and why.
type Problem struct {
	Statement string // its ID
	Kind      Kind
	What      string
}

func (p Problem) String() string { return p.Kind.String() + " " + short(p.Statement) + ": " + p.What }

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Roster is what a set of statements proves, under one agency key.
type Roster struct {
	Agency          ed25519.PublicKey
	Teams           map[string]Team
	Users           map[string]User
	Devices         map[string]Device // every device whose chain holds, revoked ones included
	Grants          map[string]Grant  // grants whose signer is trusted (used or not)
	Recovery        string            // "" when none is proven
	RecoveryVersion uint64
	// Escrow is the agency's escrow service (escrow.go); zero when none
	// is proven.
	Escrow Escrow
	// DueRules are the due-date rules in force, by team ("" agency-wide):
	// the highest version whose signer may set them.
	DueRules map[string]DueRules
	// Policies are the caseload-weighting policies in force, by team (""
	// agency-wide): the highest version whose signer may set them.
	Policies map[string]Policy
	Problems []Problem
	// Accepted lists the IDs of the statements that count.
	Accepted map[string]bool
	// Retention is the retention policy, legal holds and approved
	// destructions (lifecycle.go).
	Retention Retention
	// PreKeys are the unrevoked devices' current pre-keys, by device
	// (prekey.go): what their case keys are wrapped to.
	PreKeys map[string]PreKey
}

type parsed struct {
	Signed
	id string
	st Statement
}

// Evaluate computes the roster a set of signed statements proves under
// the agency key. The result depends only on the set (not its order), so
// every device holding the same statements sees the same roster. Anything
// that does not verify, or conflicts with another statement of equal
// standing, is left out and listed in Problems: conflicts fail closed.
func Evaluate(agency ed25519.PublicKey, statements []Signed) *Roster {
	r := &Roster{Agency: agency, Teams: map[string]Team{}, Users: map[string]User{},
		Devices: map[string]Device{}, Grants: map[string]Grant{}, DueRules: map[string]DueRules{}, Policies: map[string]Policy{}, Accepted: map[string]bool{}, PreKeys: map[string]PreKey{}}
	var all []parsed
	seen := map[string]bool{}
	for _, s := range statements {
		id := s.ID()
		if seen[id] {
			continue
		}
		seen[id] = true
		st, err := s.Open()
		if err != nil {
			r.problem(id, 0, "%s", err.Error())
			continue
		}
		all = append(all, parsed{s, id, st})
	}
	// Deterministic order: by kind, then id.
	slices.SortFunc(all, func(a, b parsed) int {
		return cmp.Or(cmp.Compare(a.st.Kind, b.st.Kind), strings.Compare(a.id, b.id))
	})

	var agencySigned, others, dueRules, policies, preKeys []parsed
	for _, p := range all {
		switch p.st.Kind {
		case KindPreKey:
			preKeys = append(preKeys, p) // judged once the devices are known
			continue
		case KindDueRules:
			dueRules = append(dueRules, p) // judged once the devices are known
			continue
		case KindPolicy:
			policies = append(policies, p) // likewise
			continue
		}
		if p.Signer == SignerAgency {
			if !p.Verify(agency) {
				r.problem(p.id, p.st.Kind, "signature is not the agency's")
				continue
			}
			agencySigned = append(agencySigned, p)
		} else {
			others = append(others, p)
		}
	}
	r.teamsUsersRecovery(agencySigned)
	r.escrow(agencySigned)
	r.devices(agencySigned, others)
	r.teamSettings(KindDueRules, dueRules, func(p parsed) {
		r.DueRules[p.st.Team] = DueRules{Team: p.st.Team, Version: p.st.Version, Rules: slices.Clone(p.st.Rules), Signer: p.Signer, Issued: p.st.Issued}
	})
	r.teamSettings(KindPolicy, policies, func(p parsed) {
		pol, _ := PolicyOf(p.st) // checked when it was opened
		r.Policies[p.st.Team] = Policy{Team: p.st.Team, Version: p.st.Version, Policy: pol, Signer: p.Signer, Issued: p.st.Issued}
	})
	r.lifecycle(agencySigned, others)
	r.preKeys(preKeys)
	slices.SortFunc(r.Problems, func(a, b Problem) int { return strings.Compare(a.Statement, b.Statement) })
	return r
}

func (r *Roster) problem(id string, k Kind, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Statement: id, Kind: k, What: fmt.Sprintf(format, args...)})
}

// teamsUsersRecovery applies the agency's own facts. For users and the
// recovery recipient the highest version wins; two different statements of
// the same version cancel each other (fail closed).
func (r *Roster) teamsUsersRecovery(ps []parsed) {
	type versioned struct {
		p        parsed
		conflict bool
	}
	users := map[string]*versioned{}
	var recovery *versioned
	for _, p := range ps {
		switch p.st.Kind {
		case KindTeam:
			// Names are for people; the newest wins, ties by id.
			if t, ok := r.Teams[p.st.Team]; !ok || t.Name == "" || p.st.Name != t.Name {
				r.Teams[p.st.Team] = Team{ID: p.st.Team, Name: p.st.Name}
			}
			r.Accepted[p.id] = true
		case KindUser:
			cur := users[p.st.User]
			switch {
			case cur == nil || p.st.Version > cur.p.st.Version:
				users[p.st.User] = &versioned{p: p}
			case p.st.Version == cur.p.st.Version && !bytes.Equal(p.Body, cur.p.Body):
				cur.conflict = true
			}
		case KindRecovery:
			switch {
			case recovery == nil || p.st.Version > recovery.p.st.Version:
				recovery = &versioned{p: p}
			case p.st.Version == recovery.p.st.Version && !bytes.Equal(p.Body, recovery.p.Body):
				recovery.conflict = true
			}
		}
	}
	for id, v := range users {
		if v.conflict {
			r.problem(v.p.id, KindUser, "two different statements of version %d for user %s: neither is trusted", v.p.st.Version, id)
			continue
		}
		st := v.p.st
		r.Users[id] = User{ID: st.User, Name: st.Name, Role: st.Role, Team: st.Team, Version: st.Version}
		r.Accepted[v.p.id] = true
	}
	if recovery != nil {
		if recovery.conflict {
			r.problem(recovery.p.id, KindRecovery, "two different recovery recipients of version %d: neither is trusted", recovery.p.st.Version)
		} else {
			r.Recovery, r.RecoveryVersion = recovery.p.st.Recipient, recovery.p.st.Version
			r.Accepted[recovery.p.id] = true
		}
	}
}

type grant struct {
	p      parsed
	signer string
}

// devices follows grants to devices, devices to the grants they issue, and
// applies revocations, until nothing changes. A revoked device's signature
// counts for nothing: grants it issued no longer enrol anyone (a thief who
// has the laptop could have issued them), and it can revoke nobody.
func (r *Roster) devices(agencySigned, others []parsed) {
	var revokes, deviceStatements, deviceGrants []parsed
	grants := map[string]grant{}
	for _, p := range agencySigned {
		switch p.st.Kind {
		case KindGrant:
			if g, dup := grants[p.st.Grant]; dup && !bytes.Equal(g.p.Body, p.Body) {
				r.problem(p.id, KindGrant, "two agency grants share id %s", short(p.st.Grant))
				continue
			}
			if _, ok := r.Users[p.st.User]; !ok {
				r.problem(p.id, KindGrant, "grant for user %s, who has no trusted user statement", p.st.User)
				continue
			}
			grants[p.st.Grant] = grant{p: p, signer: SignerAgency}
			r.Accepted[p.id] = true
		case KindRevoke:
			revokes = append(revokes, p)
		}
	}
	for _, p := range others {
		switch {
		case p.st.Kind == KindDevice && strings.HasPrefix(p.Signer, signerGrant):
			deviceStatements = append(deviceStatements, p)
		case p.st.Kind == KindGrant && strings.HasPrefix(p.Signer, signerDevice):
			deviceGrants = append(deviceGrants, p)
		case p.st.Kind == KindRevoke && strings.HasPrefix(p.Signer, signerDevice):
			revokes = append(revokes, p)
		case isLifecycle(p.st.Kind): // judged in lifecycle
		default:
			r.problem(p.id, p.st.Kind, "a %s cannot be signed by %s", p.st.Kind, p.Signer)
		}
	}

	// Revocations only ever grow, so this ends: each round either adds or
	// tightens one, or stops.
	revoked := map[string]Device{} // device → its strictest revocation
	accepted := map[string]bool{}
	var e enrolment
	for {
		e = r.enrol(grants, deviceGrants, deviceStatements, revoked)
		changed := false
		for _, p := range revokes {
			if !r.revokerOK(p, e.devs, revoked) {
				continue
			}
			accepted[p.id] = true
			cur, already := revoked[p.st.Device]
			next := cur
			if !already || p.st.AfterSeq < cur.AfterSeq {
				next.AfterSeq, next.RevokedBy = p.st.AfterSeq, p.Signer
			}
			if p.st.LogSize > 0 && (next.LogSize == 0 || p.st.LogSize < next.LogSize) {
				next.LogSize = p.st.LogSize
			}
			if !already || next.AfterSeq != cur.AfterSeq || next.LogSize != cur.LogSize {
				revoked[p.st.Device] = next
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	for id, d := range e.devs {
		if rv, ok := revoked[id]; ok {
			d.Revoked, d.AfterSeq, d.LogSize, d.RevokedBy = true, rv.AfterSeq, rv.LogSize, rv.RevokedBy
		}
		r.Devices[id] = d
	}
	for id := range e.accepted {
		r.Accepted[id] = true
	}
	for id, g := range e.grants {
		r.Grants[id] = Grant{ID: id, User: g.p.st.User, Key: ed25519.PublicKey(g.p.st.Key), Expires: g.p.st.Expires, Signer: g.signer}
	}
	r.Problems = append(r.Problems, e.problems...)
	for _, p := range revokes {
		if accepted[p.id] {
			r.Accepted[p.id] = true
		} else {
			r.problem(p.id, KindRevoke, "revocation of %s is not signed by the agency, the device's user or a supervisor of its team", p.st.Device)
		}
	}
}

// revokerOK reports whether a revocation's signer may revoke its target.
func (r *Roster) revokerOK(p parsed, devs map[string]Device, revoked map[string]Device) bool {
	if p.Signer == SignerAgency {
		return true
	}
	signer, ok := devs[strings.TrimPrefix(p.Signer, signerDevice)]
	if _, signerRevoked := revoked[signer.ID]; !ok || signerRevoked || !p.Verify(signer.SigningKey) {
		return false
	}
	target, ok := devs[p.st.Device]
	if !ok {
		return false
	}
	su, tu := r.Users[signer.User], r.Users[target.User]
	return signer.User == target.User || (su.Role == RoleSupervisor && su.Team != "" && su.Team == tu.Team)
}

type enrolment struct {
	devs     map[string]Device
	grants   map[string]grant
	accepted map[string]bool
	problems []Problem
}

// enrol computes the devices the grants prove, given the revocations so
// far: one device per grant, one statement per device.
func (r *Roster) enrol(agencyGrants map[string]grant, deviceGrants, deviceStatements []parsed, revoked map[string]Device) enrolment {
	grants := maps.Clone(agencyGrants)
	e := enrolment{devs: map[string]Device{}, accepted: map[string]bool{}}
	refused := map[string]string{} // statement → why
	for changed := true; changed; {
		changed = false
		byGrant := map[string][]parsed{}
		byDevice := map[string][]parsed{}
		for _, p := range deviceStatements {
			g, ok := grants[p.st.Grant]
			if !ok || p.Signer != SignerGrant(p.st.Grant) || !p.Verify(g.p.st.Key) {
				continue
			}
			byGrant[p.st.Grant] = append(byGrant[p.st.Grant], p)
			byDevice[p.st.Device] = append(byDevice[p.st.Device], p)
		}
		for _, ps := range byGrant {
			p := ps[0]
			switch {
			case distinct(ps) > 1:
				for _, q := range ps {
					refused[q.id] = "the enrolment code of grant " + short(q.st.Grant) + " was used by more than one device: none of them is trusted"
				}
				continue
			case distinct(byDevice[p.st.Device]) > 1:
				refused[p.id] = "two statements name device " + p.st.Device + " with different keys: neither is trusted"
				continue
			}
			if _, ok := e.devs[p.st.Device]; ok {
				continue
			}
			g := grants[p.st.Grant]
			e.devs[p.st.Device] = Device{ID: p.st.Device, User: g.p.st.User, Name: p.st.Name, Recipient: p.st.Recipient,
				SigningKey: ed25519.PublicKey(p.st.Key), Grant: p.st.Grant, GrantedBy: g.signer, Issued: p.st.Issued}
			e.accepted[p.id] = true
			changed = true
		}
		// Grants a trusted, unrevoked device issued for its own user.
		for _, p := range deviceGrants {
			if _, ok := grants[p.st.Grant]; ok {
				continue
			}
			d, ok := e.devs[strings.TrimPrefix(p.Signer, signerDevice)]
			if _, rv := revoked[d.ID]; !ok || rv || d.User != p.st.User || !p.Verify(d.SigningKey) {
				continue
			}
			grants[p.st.Grant] = grant{p: p, signer: p.Signer}
			e.accepted[p.id] = true
			changed = true
		}
	}
	for _, p := range deviceStatements {
		switch {
		case e.accepted[p.id]:
		case refused[p.id] != "":
			e.problems = append(e.problems, Problem{p.id, KindDevice, refused[p.id]})
		default:
			e.problems = append(e.problems, Problem{p.id, KindDevice, "device " + p.st.Device + " is not enrolled under a grant trusted here"})
		}
	}
	for _, p := range deviceGrants {
		if !e.accepted[p.id] {
			e.problems = append(e.problems, Problem{p.id, KindGrant, "grant is not signed by a trusted, unrevoked device of its own user"})
		}
	}
	e.grants = grants
	return e
}

// distinct counts the different statements in ps.
func distinct(ps []parsed) int {
	n := 0
	for i, p := range ps {
		if !slices.ContainsFunc(ps[:i], func(q parsed) bool { return bytes.Equal(q.Body, p.Body) }) {
			n++
		}
	}
	return n
}

// Writer is the user and device a revision's signer proves.
type Writer struct {
	User   User
	Device Device
}

// Writer finds a device and its user; ok is false when the device is not
// on the roster (its chain does not reach the agency) or its user is not.
func (r *Roster) Writer(deviceID string) (Writer, bool) {
	d, ok := r.Devices[deviceID]
	if !ok {
		return Writer{}, false
	}
	u, ok := r.Users[d.User]
	return Writer{User: u, Device: d}, ok
}

// DevicesOf lists the unrevoked devices of a user, by id.
func (r *Roster) DevicesOf(userID string) []Device {
	var out []Device
	for _, d := range r.Devices {
		if d.User == userID && !d.Revoked {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Device) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// UsersOf lists a team's users with a role, by id.
func (r *Roster) UsersOf(team string, role Role) []User {
	var out []User
	for _, u := range r.Users {
		if u.Team == team && u.Role == role {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// DueRules are an agency's due-date rules for one team ("" every team),
// as a verified statement set them.
type DueRules struct {
	Team    string
	Version uint64
	Rules   []DueRule
	Signer  string    // SignerAgency or the supervisor's device
	Issued  time.Time // as its signer stated it
}

// Policy is a caseload-weighting policy for one team ("" every team), as
// a verified statement set it.
type Policy struct {
	Team    string
	Version uint64
	Policy  record.Policy // its Version is the statement's
	Signer  string        // SignerAgency or the supervisor's device
	Issued  time.Time     // as its signer stated it
}

// teamSettings applies statements of a per-team setting (due rules, the
// weighting policy): each must be signed by the agency, or, for a team's
// own, by an unrevoked device of a supervisor of that team. Per team the
// highest version wins (apply is called with it); two different statements
// of that version cancel each other (fail closed: the team has none of its
// own).
func (r *Roster) teamSettings(kind Kind, ps []parsed, apply func(parsed)) {
	type versioned struct {
		p        parsed
		conflict bool
	}
	best := map[string]*versioned{}
	for _, p := range ps {
		if why := r.teamSettingSigner(p); why != "" {
			r.problem(p.id, kind, "%s", why)
			continue
		}
		cur := best[p.st.Team]
		switch {
		case cur == nil || p.st.Version > cur.p.st.Version:
			best[p.st.Team] = &versioned{p: p}
		case p.st.Version == cur.p.st.Version && !bytes.Equal(p.Body, cur.p.Body):
			cur.conflict = true
		}
	}
	for team, v := range best {
		if v.conflict {
			r.problem(v.p.id, kind, "two different %s of version %d for %s: neither is trusted", kind, v.p.st.Version, dueScope(team))
			continue
		}
		apply(v.p)
		r.Accepted[v.p.id] = true
	}
}

// teamSettingSigner says why p's signer may not set its team's setting
// ("" if it may).
func (r *Roster) teamSettingSigner(p parsed) string {
	if p.Signer == SignerAgency {
		if !p.Verify(r.Agency) {
			return "signature is not the agency's"
		}
		return ""
	}
	what := p.st.Kind.String()
	if !strings.HasPrefix(p.Signer, signerDevice) {
		return what + " cannot be signed by " + p.Signer
	}
	d, ok := r.Devices[strings.TrimPrefix(p.Signer, signerDevice)]
	switch {
	case !ok || !p.Verify(d.SigningKey):
		return what + " not signed by a device on the roster"
	case d.Revoked:
		return what + " signed by a revoked device"
	}
	u := r.Users[d.User]
	if u.Role != RoleSupervisor || u.Team == "" || u.Team != p.st.Team {
		return what + " for " + dueScope(p.st.Team) + " signed by " + u.Name + ", who is not a supervisor of that team"
	}
	return ""
}

func dueScope(team string) string {
	if team == "" {
		return "the whole agency"
	}
	return "team " + team
}

// DueRulesFor are the due rules in force for a team: its own, else the
// agency-wide ones; ok is false when the agency has set none.
func (r *Roster) DueRulesFor(team string) (DueRules, bool) {
	if r == nil {
		return DueRules{}, false
	}
	if team != "" {
		if d, ok := r.DueRules[team]; ok {
			return d, true
		}
	}
	d, ok := r.DueRules[""]
	return d, ok
}

// PolicyFor is the weighting policy in force for a team: its own, else
// the agency-wide one; ok is false when the agency has signed none.
func (r *Roster) PolicyFor(team string) (Policy, bool) {
	if r == nil {
		return Policy{}, false
	}
	if team != "" {
		if p, ok := r.Policies[team]; ok {
			return p, true
		}
	}
	p, ok := r.Policies[""]
	return p, ok
}

// DueRuleList is a due-rules statement's Rules from days by priority or
// work type: sorted, as the encoding wants them. Negative days are 0 (the
// statement is refused unless the days are within MaxDueDays).
func DueRuleList(days map[string]int) []DueRule {
	out := make([]DueRule, 0, len(days))
	for _, k := range slices.Sorted(maps.Keys(days)) {
		out = append(out, DueRule{Key: k, Days: uint64(max(days[k], 0))})
	}
	return out
}
