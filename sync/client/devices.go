package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/trust"
)

// MaxPairing is the longest a pairing code stays valid.
const MaxPairing = 7 * 24 * time.Hour

// Pair makes an enrolment code for a further laptop of this device's user:
// a grant this device signs (the server cannot make one) naming a fresh
// code's key. The code itself never leaves this process but on the screen,
// to be typed into the new laptop in person.
func (s *Syncer) Pair(ctx context.Context, v signer, ttl time.Duration) (trust.Code, time.Time, error) {
	if ttl <= 0 || ttl > MaxPairing {
		return trust.Code{}, time.Time{}, fmt.Errorf("a pairing code lasts between a minute and %s", MaxPairing)
	}
	agency := v.Agency()
	r := v.Roster()
	me, ok := r.Writer(v.DeviceID())
	if agency == nil || !ok {
		return trust.Code{}, time.Time{}, ErrNotTrusted
	}
	id, err := v.Identity()
	if err != nil {
		return trust.Code{}, time.Time{}, err
	}
	code := trust.NewCode(agency)
	expires := time.Now().Add(ttl).Truncate(time.Second)
	g := trust.SignAsDevice(v.DeviceID(), id.Sign, trust.Statement{Kind: trust.KindGrant, Issued: time.Now(),
		Grant: code.GrantID(), User: me.User.ID, Key: code.Key().Public().(ed25519.PublicKey), Expires: expires})
	if err := s.c.Grant(ctx, g); err != nil {
		return trust.Code{}, time.Time{}, err
	}
	if _, err := v.AddStatements([]trust.Signed{g}); err != nil {
		return trust.Code{}, time.Time{}, err
	}
	return code, expires, nil
}

// RevokeDevice signs a revocation of a device (this user's own, or as a
// supervisor, one of the team's) and sends it. Revisions the device wrote
// after the last one this vault has seen from it will not be accepted by any
// device; the cases it held get new key epochs as their members sync.
func (s *Syncer) RevokeDevice(ctx context.Context, v *store.Vault, deviceID, reason string) (trust.Device, error) {
	r := v.Roster()
	target, ok := r.Devices[deviceID]
	if !ok {
		return trust.Device{}, fmt.Errorf("no device %s on the agency's signed roster", deviceID)
	}
	id, err := v.Identity()
	if err != nil {
		return target, err
	}
	after, err := v.LastSeqOf(deviceID)
	if err != nil {
		return target, err
	}
	st := trust.Statement{Kind: trust.KindRevoke, Issued: time.Now(), Device: deviceID, AfterSeq: after, Reason: reason}
	// Every revision of the device this vault has seen came in a round
	// whose log it then read: all of them sit in the entries it followed.
	// Naming that size closes the door to revisions "from before" that
	// the device's key (stolen, say) and the server could make up later.
	if f, ok, err := v.Follow(); err != nil {
		return target, err
	} else if ok {
		st.LogSize = f.Frontier.Size
	}
	rv := trust.SignAsDevice(v.DeviceID(), id.Sign, st)
	// Check what every device will check, before sending.
	ss, err := v.Statements()
	if err != nil {
		return target, err
	}
	if !trust.Evaluate(v.Agency(), append(ss, rv)).Devices[deviceID].Revoked {
		return target, fmt.Errorf("%w: only the device's own user, a supervisor of its team or the agency may revoke it", trust.ErrNotAllowed)
	}
	if err := s.c.Revoke(ctx, rv); err != nil {
		return target, err
	}
	_, err = v.AddStatements([]trust.Signed{rv})
	return target, err
}

// SetDueRules signs due rules for this supervisor's team, one version above
// those in force for it (its own, or the agency-wide ones it replaces),
// checks that every device will accept them, and sends them. rules is
// the statement's Rules (dictation.DueRules.Statement makes them).
func (s *Syncer) SetDueRules(ctx context.Context, v signer, rules []trust.DueRule) (trust.DueRules, error) {
	r, err := s.signTeamSetting(ctx, v, trust.Statement{Kind: trust.KindDueRules, Rules: rules},
		"a team's due rules are set by its supervisors (the agency's, with the agency key: fieldcased due-rules set)",
		func(r *trust.Roster, team string) uint64 { return r.DueRules[team].Version }, s.c.DueRules)
	if err != nil {
		return trust.DueRules{}, err
	}
	return r.DueRules[teamOf(r, v)], nil
}

// teamOf is this device's team on r.
func teamOf(r *trust.Roster, v rosterVault) string {
	me, _ := r.Writer(v.DeviceID())
	return me.User.Team
}

// signTeamSetting signs st (due rules, weighting policy) for this
// supervisor's team, one version above its team's own (version), checks
// that every device will accept it, sends it and keeps it. It returns the
// roster with it.
func (s *Syncer) signTeamSetting(ctx context.Context, v signer, st trust.Statement, notAllowed string,
	version func(r *trust.Roster, team string) uint64, send func(context.Context, trust.Signed) error) (*trust.Roster, error) {
	r := v.Roster()
	me, ok := r.Writer(v.DeviceID())
	if r == nil || !ok {
		return nil, fmt.Errorf("this laptop is not on the agency's signed roster yet: sync first")
	}
	if me.User.Role != trust.RoleSupervisor || me.User.Team == "" {
		return nil, fmt.Errorf("%w: %s", trust.ErrNotAllowed, notAllowed)
	}
	id, err := v.Identity()
	if err != nil {
		return nil, err
	}
	st.Issued, st.Team, st.Version = time.Now(), me.User.Team, version(r, me.User.Team)+1
	if st.Kind == trust.KindPolicy { // its version is the statement's, whatever the edit said
		var pol record.Policy
		if err := json.Unmarshal(st.Policy, &pol); err != nil {
			return nil, fmt.Errorf("weighting policy: %w", err)
		}
		if err := pol.Validate(); err != nil {
			return nil, err
		}
		if st.Policy, err = trust.PolicyJSON(pol, st.Version); err != nil {
			return nil, err
		}
	}
	signed := trust.SignAsDevice(v.DeviceID(), id.Sign, st)
	ss, err := v.Statements()
	if err != nil {
		return nil, err
	}
	after := trust.Evaluate(v.Agency(), append(ss, signed))
	if !after.Accepted[signed.ID()] {
		why := "not accepted"
		for _, p := range after.Problems {
			if p.Statement == signed.ID() {
				why = p.What
			}
		}
		return nil, fmt.Errorf("%w: %s", trust.ErrNotAllowed, why)
	}
	if err := send(ctx, signed); err != nil {
		return nil, err
	}
	if _, err := v.AddStatements([]trust.Signed{signed}); err != nil {
		return nil, err
	}
	return after, nil
}
