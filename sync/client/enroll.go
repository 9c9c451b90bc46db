package client

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// Enrolment is what EnrollVault did.
type Enrolment struct {
	protocol.EnrollResponse
	Extended int // existing cases whose keyrings now reach the team
}

// EnrollVault registers the vault's device with the server using a one-time
// code, stores the enrolment (the token sealed in the vault), and extends
// the keyrings of cases made before enrolment to the team's supervisors and
// the agency recovery recipient. Everything the vault holds waits in its
// outbox for the first push. cfg.Token is ignored.
func EnrollVault(ctx context.Context, v *store.Vault, cfg Config, code, deviceName string) (*Enrolment, error) {
	id, err := v.Identity()
	if err != nil {
		return nil, err
	}
	cfg.Token = ""
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	resp, err := c.Enroll(ctx, protocol.EnrollRequest{Code: code, DeviceID: v.DeviceID(), DeviceName: deviceName,
		Recipient: id.Recipient(), SigningKey: id.SigningPublicKey()})
	if err != nil {
		return nil, err
	}
	if err := v.SetSyncConfig(store.SyncConfig{Server: cfg.Server, Fingerprint: cfg.Fingerprint, ServerID: resp.ServerID,
		UserID: resp.UserID, UserName: resp.UserName, Role: resp.Role, Team: resp.Team, Enrolled: time.Now().UTC(), Token: resp.Token}); err != nil {
		return nil, err
	}
	p := v.Profile()
	p.UserID, p.Team, p.Role = resp.UserID, resp.Team, resp.Role
	if p.Name == "" {
		p.Name = resp.UserName
	}
	if err := v.SetProfile(p); err != nil {
		return nil, err
	}
	n, err := v.ExtendKeyrings(RosterRecipients(&resp.Roster, resp.UserID, id.Recipient()))
	if err != nil {
		return nil, err
	}
	if err := v.SetRosterVersion(resp.Roster.Version); err != nil {
		return nil, err
	}
	if js, err := json.Marshal(resp.Roster); err == nil {
		if err := v.PutLocal(RosterKey, js); err != nil {
			return nil, err
		}
	}
	return &Enrolment{EnrollResponse: *resp, Extended: n}, nil
}

// NewVaultSyncer builds a syncer for an unlocked vault from its stored
// enrolment (store.ErrNotEnrolled if it has none). extra adjusts the client
// configuration (tests set retries); it may be nil.
func NewVaultSyncer(v *store.Vault, extra func(*Config)) (*Syncer, error) {
	sc, err := v.SyncConfig()
	if err != nil {
		return nil, err
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
