package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/trust"
)

// Issue 14: due-date rules are agency policy. The agency signs rules for
// every team, a supervisor signs their team's own; the laptop's turnaround
// setting is only the fallback. A hostile server forges rules (with a key
// of its own, as the agency and in the supervisor's laptop's name) and
// rolls them back (serving only an older version): every device refuses
// the forgeries, names them, and keeps dating dictations by the newest
// rules it verified.
func TestHostileDueRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	local := dictation.DueRules{"urgent": 3, "high": 6, "normal": 9}
	mon := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) // a Monday
	caseID := newCase(t, ada, "A-1")
	// submit dictates a court report (normal priority) and submits it on
	// Monday the way the recorder and 'recording submit' do.
	submit := func() (record.Date, dictation.DuePolicy) {
		t.Helper()
		r := dictate(t, ada, caseID, 200*time.Millisecond)
		p, err := r.SubmitByPolicy(mon, "", local)
		if err != nil {
			t.Fatal(err)
		}
		return r.Meta.Due, p
	}

	// No agency rules yet: the laptop's own setting (9 working days).
	if due, p := submit(); p.Source != dictation.DueFromLocal || due != "2026-12-18" {
		t.Errorf("without agency rules: due %s by %+v, want 2026-12-18 by the local setting", due, p)
	}

	// The agency's rules win over the laptop's: a court report within 3.
	if out := s.Admin("due-rules", "set", "urgent=1,high=2,normal=5,court report=3"); !strings.Contains(out, "version 1") {
		t.Fatalf("due-rules set: %s", out)
	}
	syncRounds(t, ada, sam)
	if due, p := submit(); p.Source != dictation.DueFromAgency || p.Version != 1 || p.Team != "" || due != "2026-12-10" {
		t.Errorf("under the agency's rules: due %s by %+v, want 2026-12-10 by agency v1", due, p)
	}

	// A caseworker may not set the team's rules; the supervisor may.
	if _, err := ada.Syncer.SetDueRules(ctx, ada.V, trust.DueRuleList(record.DueRules{"normal": 1})); !errors.Is(err, trust.ErrNotAllowed) {
		t.Errorf("a caseworker set due rules: %v", err)
	}
	for v, rules := range []record.DueRules{{"normal": 4, "court report": 2}, {"normal": 4, "court report": 1}} {
		got, err := sam.Syncer.SetDueRules(ctx, sam.V, trust.DueRuleList(rules))
		if err != nil || got.Version != uint64(v+1) {
			t.Fatalf("sam sets the team's rules: %+v, %v", got, err)
		}
	}
	syncRounds(t, ada, sam)
	due, p := submit()
	if p.Source != dictation.DueFromAgency || p.Version != 2 || p.SignedBy != "sam (supervisor)" || due != "2026-12-08" {
		t.Errorf("under the team's rules: due %s by %+v, want 2026-12-08 by sam's v2", due, p)
	}
	north := ada.V.Roster().Users[ada.V.Roster().Devices[sam.V.DeviceID()].User].Team

	// The server forges rules: as the agency and as Sam's laptop, with
	// keys of its own, at versions far above; and one by Ada's laptop.
	op := syncharness.NewOperator(t)
	lax := trust.DueRuleList(record.DueRules{"urgent": 60, "normal": 60})
	forged := []trust.Signed{
		op.Agency.Sign(trust.Statement{Kind: trust.KindDueRules, Issued: time.Now(), Version: 50, Rules: lax}),
		op.Agency.Sign(trust.Statement{Kind: trust.KindDueRules, Issued: time.Now(), Team: north, Version: 50, Rules: lax}),
		op.SignAsDevice(sam.V.DeviceID(), trust.Statement{Kind: trust.KindDueRules, Issued: time.Now(), Team: north, Version: 51, Rules: lax}),
		op.SignAsDevice(ada.V.DeviceID(), trust.Statement{Kind: trust.KindDueRules, Issued: time.Now(), Team: north, Version: 52, Rules: lax}),
	}
	s.Tamper(func(tx server.Tx) error { return syncharness.InjectStatements(tx, forged...) })
	for _, d := range []*syncharness.Device{ada, sam} {
		sum := d.MustSync()
		for _, f := range forged {
			if !slices.ContainsFunc(sum.Trust.Problems, func(p trust.Problem) bool { return p.Statement == f.ID() }) {
				t.Errorf("%s: forged due rules %.12s not reported; problems %v", d.Name, f.ID(), sum.Trust.Problems)
			}
		}
	}
	if due, p := submit(); p.Version != 2 || due != "2026-12-08" {
		t.Errorf("after forged rules: due %s by %+v, want 2026-12-08 by sam's v2", due, p)
	}

	// The server rolls back: it serves the roster without the newest rules
	// (as after a restore, or to loosen them). Ada's laptop keeps v2; a new
	// laptop enrolled through the lying server names the withheld
	// statement from the log rather than trusting the older rules quietly.
	newest := ada.V.Roster().DueRules[north]
	rollback := rollbackProxy(t, s, trust.KindDueRules, north, newest.Version)
	ada.UseURL(rollback)
	s.Admin("due-rules", "set", "urgent=1,high=2,normal=5,court report=4") // the roster changes: devices fetch it
	if _, err := ada.Sync(); err != nil && !errors.Is(err, client.ErrLogAlarm) {
		t.Fatalf("ada's sync through the rolling-back server: %v", err)
	}
	if got, ok := ada.V.Roster().DueRulesFor(north); !ok || got.Version != 2 {
		t.Errorf("ada's laptop after the rollback has rules %+v, want sam's v2", got)
	}
	if due, p := submit(); p.Version != 2 || due != "2026-12-08" {
		t.Errorf("after the rollback: due %s by %+v, want 2026-12-08 by sam's v2", due, p)
	}
	ada2 := s.NewDevice("ada2", rollback, "ada", "caseworker", "north")
	if got, _ := ada2.V.Roster().DueRulesFor(north); got.Version == 2 {
		t.Fatal("the rollback proxy let v2 through")
	}
	_, err := ada2.Sync()
	missing, merr := ada2.V.MissingStatements()
	if err == nil || merr != nil || len(missing) == 0 {
		t.Errorf("a laptop handed the rolled-back rules does not say so: sync %v, missing %v (%v)", err, missing, merr)
	}
}

// rollbackProxy is a proxy in front of s that leaves out of every roster
// it hands over the statements of kind (due rules, weighting policy) for
// team at version and above.
func rollbackProxy(t *testing.T, s *syncharness.Server, kind trust.Kind, team string, version uint64) string {
	t.Helper()
	return rosterFilter(t, s, func(st trust.Statement) bool {
		return st.Kind == kind && st.Team == team && st.Version >= version
	})
}

// rosterFilter is a proxy in front of s that leaves out of every roster it
// serves (enrolment included) the statements drop picks: the server
// withholding what it likes.
func rosterFilter(t *testing.T, s *syncharness.Server, drop func(trust.Statement) bool) string {
	t.Helper()
	keep := func(ss []trust.Signed) []trust.Signed {
		return slices.DeleteFunc(ss, func(sg trust.Signed) bool {
			st, err := sg.Open()
			return err == nil && drop(st)
		})
	}
	p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Seed: 1,
		Rewrite: func(r *http.Request, _ []byte, status int, body []byte) []byte {
			if status != http.StatusOK {
				return body
			}
			switch r.URL.Path {
			case protocol.PathRoster:
				var resp protocol.Roster
				if json.Unmarshal(body, &resp) != nil {
					return body
				}
				resp.Statements = keep(resp.Statements)
				out, _ := json.Marshal(resp)
				return out
			case protocol.PathEnroll:
				var resp protocol.EnrollResponse
				if json.Unmarshal(body, &resp) != nil {
					return body
				}
				resp.Roster.Statements = keep(resp.Roster.Statements)
				out, _ := json.Marshal(resp)
				return out
			}
			return body
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.URL()
}
