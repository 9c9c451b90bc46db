package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/demo"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// demoProfile is who the supervisor's demo vault belongs to, the one that
// keeps the demo team view.
var demoProfile = demo.Supervisor.Profile()

// storeDemoTeam keeps a fictional team view in a demo vault, as a
// supervisor's laptop keeps the last one fetched: one user per worker named
// on the demo cases, with laptops that last synced at telling times (one
// recently, one yesterday, one days ago, one never).
func storeDemoTeam(v *store.Vault, now time.Time) error {
	cases, err := v.Cases()
	if err != nil {
		return err
	}
	ids := map[string]string{} // worker name → user id
	tv := protocol.TeamView{Team: demoProfile.Team, PolicyVersion: 1}
	for _, c := range cases {
		tc := protocol.TeamCase{ID: c.ID}
		for _, w := range c.Value.Workers {
			id, ok := ids[w]
			if !ok {
				id = fmt.Sprintf("demo-user-%d", len(ids)+1) // i18n: an id, not for people
				ids[w] = id
			}
			tc.Members = append(tc.Members, id)
		}
		tv.Cases = append(tv.Cases, tc)
	}
	names := make([]string, 0, len(ids))
	for w := range ids {
		names = append(names, w)
	}
	slices.Sort(names)
	ago := []time.Duration{2 * time.Hour, 26 * time.Hour, 5 * 24 * time.Hour, 0}
	for i, w := range names {
		u := protocol.TeamUser{ID: ids[w], Name: w, Role: protocol.RoleCaseworker}
		d := protocol.TeamDevice{ID: fmt.Sprintf("demo-device-%d", i+1), Name: w + "'s laptop"} // i18n: fictional data, English like the rest of the demo
		if a := ago[i%len(ago)]; a > 0 {
			d.LastSync = now.Add(-a).UTC().Truncate(time.Minute)
		}
		u.Devices = []protocol.TeamDevice{d}
		tv.Users = append(tv.Users, u)
	}
	tv.Users = append(tv.Users, protocol.TeamUser{ID: "demo-supervisor", Name: demoProfile.Name, Role: protocol.RoleSupervisor})
	// The demo's four workers share 200 cases, far beyond a real team's
	// load; the demo agency's capacities are set so the bars tell apart
	// who is over and who has room, rather than all reading 800 %.
	p := record.DefaultPolicy()
	p.Capacity = 120
	p.Capacities = map[string]float64{"S. Patel": 160}
	pol, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tv.Policy = pol
	js, err := json.Marshal(tv)
	if err != nil {
		return err
	}
	return v.PutLocal(client.TeamKey, js)
}

// demoTeamView is the team view of a demo vault, where the TUI's team
// screens read it (demoTeam.Stored): only a supervisor's demo keeps one.
func demoTeamView(l *i18n.Locale, v *store.Vault) (*protocol.TeamView, error) {
	if p := v.Profile(); p.Role != protocol.RoleSupervisor && p.Role != protocol.RoleAdmin {
		return nil, cli.WithHint(l.Error("demo.team_supervisors", "Name", p.Name, "Role", p.Role), l.T("demo.team_supervisors_hint"))
	}
	tv, err := demoTeam{v}.Stored()
	if err != nil {
		return nil, err
	}
	if tv == nil {
		return nil, cli.WithHint(l.Error("demo.no_team"), l.T("demo.no_team_hint"))
	}
	return tv, nil
}

// errDemoServer is what a demo vault answers when a screen needs the case
// server.
var errDemoServer = fmt.Errorf("a demo vault has no case server (%w)", client.ErrOffline) // i18n: shown by the TUI's team screens, which word their own errors (tui/)

// demoTeam serves the team screens of a demo vault from the kept view;
// whatever needs the server says it is a demo.
type demoTeam struct{ v *store.Vault }

func (d demoTeam) Refresh(context.Context) (*protocol.TeamView, error) { return nil, errDemoServer }
func (d demoTeam) Stored() (*protocol.TeamView, error)                 { return client.StoredTeam(d.v) }
func (d demoTeam) Assign(context.Context, string, []string, []string) (*protocol.TeamCase, error) {
	return nil, errDemoServer
}
func (d demoTeam) SetPolicy(context.Context, record.Policy, int) (int, error) {
	return 0, errDemoServer
}
