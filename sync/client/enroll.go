package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

var (
	// ErrWrongAgency means the server presents an agency key other than the
	// one the enrolment code was made for: the code was mistyped, or this
	// is not the agency's server.
	ErrWrongAgency = errors.New("the server's agency key is not the one this enrolment code was made for")
	// ErrNotTrusted means the server's own roster does not prove this
	// device's enrolment: nothing is pinned or stored.
	ErrNotTrusted = errors.New("the server's roster does not prove this laptop's enrolment")
)

// Enrolment is what EnrollVault did.
type Enrolment struct {
	protocol.EnrollResponse
	Agency   string             // the pinned agency key's fingerprint
	User     trust.User         // this device's user, as the agency signed them
	TeamName string             // their team's name (User.Team is its id)
	Changes  store.TrustChanges // who receives case keys from now on
	Extended int                // existing cases whose keyrings now reach the team
}

// EnrollVault registers the vault's device under the grant of an enrolment
// code: it signs its device statement with the code's key (the server never
// sees the code), pins the agency key once it matches the fingerprint the
// code carries, keeps the roster the server's statements prove, stores the
// enrolment (the token sealed in the vault), and extends the keyrings of
// cases made before enrolment to the team as the roster names it.
// Everything the vault holds waits in its outbox for the first push.
// cfg.Token is ignored.
func EnrollVault(ctx context.Context, v *store.Vault, cfg Config, codeText, deviceName string) (*Enrolment, error) {
	code, err := trust.ParseCode(codeText)
	if err != nil {
		return nil, err
	}
	id, err := v.Identity()
	if err != nil {
		return nil, err
	}
	if deviceName == "" {
		deviceName, _ = os.Hostname()
	}
	if deviceName == "" {
		deviceName = v.DeviceID()
	}
	cfg.Token = ""
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	device := trust.SignWithCode(code, trust.Statement{Kind: trust.KindDevice, Issued: time.Now(), Device: v.DeviceID(),
		Name: deviceName, Recipient: id.Recipient(), Key: id.SigningPublicKey(), Grant: code.GrantID()})
	resp, err := c.Enroll(ctx, protocol.EnrollRequest{Grant: code.GrantID(), Device: device})
	if err != nil {
		return nil, err
	}
	agency, err := trust.ParseAgencyKey(resp.Roster.Agency)
	if err != nil {
		return nil, fmt.Errorf("%w: the server sent no usable agency key", ErrWrongAgency)
	}
	if !code.MatchesAgency(agency) {
		return nil, ErrWrongAgency
	}
	// Check before keeping anything: the roster must prove this very
	// device, enrolled under this code's grant, for a user of a team.
	r := trust.Evaluate(agency, append(resp.Roster.Statements, device))
	wr, ok := r.Writer(v.DeviceID())
	if !ok || wr.Device.Grant != code.GrantID() || wr.Device.Revoked {
		return nil, ErrNotTrusted
	}
	if err := v.PinAgency(agency); err != nil {
		return nil, err
	}
	if resp.LogKey != "" {
		if err := v.PinLogKey(resp.LogKey); err != nil {
			return nil, err
		}
	}
	changes, err := v.AddStatements(append(resp.Roster.Statements, device))
	if err != nil {
		return nil, err
	}
	u := wr.User
	teamName := u.Team
	if t, ok := r.Teams[u.Team]; ok && t.Name != "" {
		teamName = t.Name
	}
	if err := v.SetSyncConfig(store.SyncConfig{Server: cfg.Server, Fingerprint: cfg.Fingerprint, ServerID: resp.ServerID,
		UserID: u.ID, UserName: u.Name, Role: u.Role, Team: teamName, Enrolled: time.Now().UTC(), Token: resp.Token}); err != nil {
		return nil, err
	}
	p := v.Profile()
	p.UserID, p.Team, p.Role = u.ID, u.Team, u.Role
	if p.Name == "" {
		p.Name = u.Name
	}
	if err := v.SetProfile(p); err != nil {
		return nil, err
	}
	// The first pre-key goes with the enrolment, so that the keyrings
	// written from now on (these extended ones included) go to it, not to
	// the long-term recipient. A server that does not take it (an older
	// one) leaves that to the first round.
	rosterVersion := resp.Roster.Version
	if sg, send, err := v.RotatePreKey(DefaultPreKeyRotation); err != nil {
		return nil, err
	} else if send {
		cfg.Token = resp.Token
		if ac, err := New(cfg); err == nil {
			if rv, err := ac.PreKey(ctx, sg); err == nil {
				if _, err := v.AddStatements([]trust.Signed{sg}); err != nil {
					return nil, err
				}
				if rv == rosterVersion+1 { // nothing else came meanwhile: this roster is the server's
					rosterVersion = rv
				}
			}
		}
	}
	n, err := v.ExtendKeyrings()
	if err != nil {
		return nil, err
	}
	if err := v.SetRosterVersion(rosterVersion); err != nil {
		return nil, err
	}
	return &Enrolment{EnrollResponse: *resp, Agency: trust.AgencyFingerprint(agency), User: u, TeamName: teamName, Changes: changes, Extended: n}, nil
}

// NewVaultSyncer builds a syncer for an unlocked vault from its stored
// enrolment (store.ErrNotEnrolled if it has none). extra adjusts the client
// configuration (tests set retries); it may be nil.
func NewVaultSyncer(v *store.Vault, extra func(*Config)) (*Syncer, error) {
	sc, err := v.SyncConfig()
	if err != nil {
		return nil, err
	}
	if v.Agency() == nil {
		return nil, fmt.Errorf("%w: enrol it again with a new code from your administrator (its work stays here and is sent after)", store.ErrNoAgency)
	}
	cfg := Config{Server: sc.Server, Fingerprint: sc.Fingerprint, Token: sc.Token}
	if extra != nil {
		extra(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	id, err := v.Identity()
	if err != nil {
		return nil, err
	}
	s := NewSyncer(c, v, id.Recipient(), sc.UserID)
	s.role = sc.Role
	return s, nil
}
