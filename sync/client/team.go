package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// TeamKey is where the last team view is kept in the vault's local state,
// so a supervisor sees the team offline too.
const TeamKey = "team"

// Team fetches the team view (supervisors) and keeps a copy in the vault.
func (s *Syncer) Team(ctx context.Context) (*protocol.TeamView, error) {
	tv, err := s.c.Team(ctx)
	if err != nil {
		return nil, err
	}
	VerifiedPolicy(s.v, tv)
	if js, err := json.Marshal(tv); err == nil {
		if err := s.v.PutLocal(TeamKey, js); err != nil {
			return nil, err
		}
	}
	return tv, nil
}

// StoredTeam returns the team view kept by the last Team call, if any.
func StoredTeam(v interface {
	Locals(prefix string) (map[string][]byte, error)
}) (*protocol.TeamView, error) {
	m, err := v.Locals(TeamKey)
	if err != nil || m[TeamKey] == nil {
		return nil, err
	}
	var tv protocol.TeamView
	if err := json.Unmarshal(m[TeamKey], &tv); err != nil {
		return nil, err
	}
	if rv, ok := v.(rosterVault); ok && rv.Roster() != nil {
		VerifiedPolicy(rv, &tv) // the roster may have moved on since
	}
	return &tv, nil
}

// VerifiedPolicy puts into tv the weighting policy the verified roster
// proves for this device's team (its own, else the agency-wide one; none:
// no policy, so caseload.PolicyOf gives the default), in place of whatever
// the server said: the server cannot forge the policy nor roll it back.
// Statements that fail verification are the roster's problems.
func VerifiedPolicy(v rosterVault, tv *protocol.TeamView) {
	tv.Policy, tv.PolicyVersion = nil, 0
	r := v.Roster()
	me, ok := r.Writer(v.DeviceID())
	if r == nil || !ok {
		return
	}
	p, ok := r.PolicyFor(me.User.Team)
	if !ok {
		return
	}
	js, err := json.Marshal(p.Policy)
	if err != nil {
		return
	}
	tv.Policy, tv.PolicyVersion = js, int(p.Version)
}

// userIDs resolves names of the team's users to their ids through the
// verified roster (never the server's team view: it could name anyone).
func (s *Syncer) userIDs(names []string) ([]string, error) {
	r := s.v.Roster()
	if r == nil {
		return nil, store.ErrNoAgency
	}
	me, ok := r.Writer(s.v.DeviceID())
	if !ok {
		return nil, ErrNotTrusted
	}
	var out []string
	for _, n := range names {
		found := ""
		for _, u := range r.Users {
			if u.Team == me.User.Team && (strings.EqualFold(u.Name, n) || u.ID == n) {
				found = u.ID
			}
		}
		if found == "" {
			return nil, fmt.Errorf("no user %q in team %s on the agency's signed roster", n, me.User.Team)
		}
		out = append(out, found)
	}
	return out, nil
}

// Assign changes who holds a case (a supervisor's device, online): the
// server's membership first; then every epoch of the case key is wrapped to
// the new members' devices (they need the history); when someone was
// removed, the key is rotated so that what is written from now on is
// unreadable with the keys they kept. Each change is an audit event. The
// keyrings are pushed before Assign returns.
func (s *Syncer) Assign(ctx context.Context, caseID string, add, remove []string) (*protocol.TeamCase, error) {
	addIDs, err := s.userIDs(add)
	if err != nil {
		return nil, err
	}
	removeIDs, err := s.userIDs(remove)
	if err != nil {
		return nil, err
	}
	// The case must be on the server before its membership can change.
	if _, err := s.Sync(ctx, nil); err != nil {
		return nil, err
	}
	// A removal is noted before the server changes, so that a crash (or a
	// lost answer) between the server's change and the key rotation is
	// completed by the next round (completeRotations) instead of leaving
	// the removed member able to read what comes next.
	if len(remove)+len(add) > 0 {
		js, _ := json.Marshal(pendingAssign{Add: add, Remove: remove})
		if err := s.v.PutLocal(rotationKey(caseID), js); err != nil {
			return nil, err
		}
	}
	tc, err := s.c.SetMembers(ctx, caseID, add, remove)
	if err != nil {
		return nil, err
	}
	if testHookAfterSetMembers != nil {
		if err := testHookAfterSetMembers(); err != nil {
			return nil, err
		}
	}
	if len(addIDs) > 0 {
		if _, err := s.v.ShareCase(caseID, addIDs, nil); err != nil {
			return nil, err
		}
	}
	if len(removeIDs) > 0 {
		if err := s.rotate(caseID, removeIDs, remove); err != nil {
			return nil, err
		}
	}
	if err := s.v.DeleteLocal(rotationKey(caseID)); err != nil {
		return nil, err
	}
	for _, n := range add {
		if err := s.v.Audit(caseID, record.AuditMemberAdd, n); err != nil {
			return nil, err
		}
	}
	for _, n := range remove {
		if err := s.v.Audit(caseID, record.AuditMemberRemove, n); err != nil {
			return nil, err
		}
	}
	var sum Summary
	return tc, s.push(ctx, &sum, func(Progress) {})
}

// testHookAfterSetMembers, when set (by tests), runs between the server's
// membership change and the key rotation; an error stops Assign there, as
// a crash would.
var testHookAfterSetMembers func() error

// rotationKey marks, in local state, a reassignment under way: the members
// to add (who need the case's keys) and to remove (whose removal needs a new
// key epoch), by name. A crash between the server's change and the keys
// is completed by the next round.
//
// pendingAssign is its value.
type pendingAssign struct {
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

func rotationKey(caseID string) string { return "rotation:" + caseID }

// rotate starts a new epoch of the case key without the removed users
// (names for the audit trail), records it, and clears the pending mark.
func (s *Syncer) rotate(caseID string, removedIDs, removed []string) error {
	epoch, err := s.v.RotateCaseKey(caseID, removedIDs)
	if err != nil {
		return err
	}
	if err := s.v.Audit(caseID, record.AuditKeyRotate, fmt.Sprintf("new case key (epoch %d) after removing %s", epoch, strings.Join(removed, ", "))); err != nil {
		return err
	}
	return s.v.DeleteLocal(rotationKey(caseID))
}

// completeRotations finishes key rotations that an interrupted Assign left
// pending: where the removed users are no longer members on the server, the
// key is rotated now; where they still are (the server's change never
// happened), the mark is dropped.
func (s *Syncer) completeRotations(ctx context.Context) error {
	pending, err := s.v.Locals("rotation:")
	if err != nil || len(pending) == 0 {
		return err
	}
	tv, err := s.Team(ctx)
	if err != nil {
		return err
	}
	for key, js := range pending {
		caseID := strings.TrimPrefix(key, "rotation:")
		var pa pendingAssign
		if err := json.Unmarshal(js, &pa); err != nil {
			if err := s.v.DeleteLocal(key); err != nil { // unreadable: nothing to act on
				return err
			}
			continue
		}
		removed := pa.Remove
		var members []string
		for _, tc := range tv.Cases {
			if tc.ID == caseID {
				members = tc.Members
			}
		}
		// Those added (and members on the server now, so the change did
		// happen) get the case's keys; ShareCase writes nothing for anyone
		// who has them already.
		if addIDs, err := s.userIDs(pa.Add); err == nil {
			addIDs = slices.DeleteFunc(addIDs, func(id string) bool { return !slices.Contains(members, id) })
			if len(addIDs) > 0 {
				if _, err := s.v.ShareCase(caseID, addIDs, nil); err != nil && !errors.Is(err, trust.ErrNotAllowed) {
					return err
				}
			}
		}
		ids, _ := s.userIDs(removed)
		gone := len(ids) > 0
		for _, id := range ids {
			gone = gone && !slices.Contains(members, id)
		}
		if !gone {
			if err := s.v.DeleteLocal(key); err != nil {
				return err
			}
			continue
		}
		if err := s.rotate(caseID, ids, removed); err != nil {
			return err
		}
	}
	return nil
}

// transcriptionKey marks, in local state, a case this device opened to the
// team's typists.
func transcriptionKey(caseID string) string { return "transcription:" + caseID }

// transcriptions opens cases with submitted recordings to the team's
// typists (and shares their keys with the typists' devices), and closes
// cases this device opened once nothing there waits for typing. It runs in
// every round, so a recording submitted offline reaches the typists when
// the laptop is next online.
func (s *Syncer) transcriptions(ctx context.Context) error {
	if s.role == protocol.RoleTypist {
		return nil // typists type; opening cases to them is the workers' side
	}
	waiting, err := caseload.CasesWaitingTranscription(s.v)
	if err != nil {
		return err
	}
	opened, err := s.v.Locals("transcription:")
	if err != nil {
		return err
	}
	var typists []string
	if r := s.v.Roster(); r != nil && len(waiting) > 0 {
		if me, ok := r.Writer(s.v.DeviceID()); ok {
			for _, u := range r.UsersOf(me.User.Team, protocol.RoleTypist) {
				typists = append(typists, u.ID)
			}
		}
	}
	for _, caseID := range waiting {
		if opened[transcriptionKey(caseID)] == nil {
			if err := s.c.SetTranscription(ctx, caseID, true); err != nil {
				return err
			}
			if err := s.v.PutLocal(transcriptionKey(caseID), []byte{1}); err != nil {
				return err
			}
		}
		// Every round: a typist enrolled since the case was opened gets its
		// key too (ShareCase writes nothing when nobody is new).
		if len(typists) > 0 {
			if _, err := s.v.ShareCase(caseID, nil, typists); err != nil && !errors.Is(err, trust.ErrNotAllowed) {
				return err
			}
		}
	}
	for key := range opened {
		caseID := strings.TrimPrefix(key, "transcription:")
		if slices.Contains(waiting, caseID) {
			continue
		}
		if err := s.c.SetTranscription(ctx, caseID, false); err != nil {
			return err
		}
		if err := s.v.DeleteLocal(key); err != nil {
			return err
		}
	}
	return nil
}

// SetPolicy signs the weighting policy for this supervisor's team (a
// record.Policy as JSON), edited from version (the one in force, as
// VerifiedPolicy shows it), one version above the team's own; checks that
// every device will accept it, sends it, and refreshes the kept team view.
// It returns the new version. An edit from a version no longer in force is
// refused (protocol.CodeConflict), here or by the server.
func (s *Syncer) SetPolicy(ctx context.Context, policy []byte, version int) (int, error) {
	v := s.v
	r := v.Roster()
	if me, ok := r.Writer(s.v.DeviceID()); ok {
		cur, _ := r.PolicyFor(me.User.Team)
		if uint64(version) != cur.Version {
			return 0, &protocol.Error{Code: protocol.CodeConflict, Message: fmt.Sprintf(
				"the policy changed since you opened it (version %d, not %d): reload and edit again", cur.Version, version)}
		}
	}
	after, err := s.signTeamSetting(ctx, v, trust.Statement{Kind: trust.KindPolicy, Policy: policy},
		"a team's weighting policy is set by its supervisors (the agency's, with the agency key: fieldcased policy set)",
		func(r *trust.Roster, team string) uint64 { return r.Policies[team].Version }, s.c.Policy)
	if err != nil {
		return 0, err
	}
	n := int(after.Policies[teamOf(after, v)].Version)
	_, err = s.Team(ctx)
	return n, err
}
