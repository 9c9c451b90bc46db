package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/trust"
)

// The caseload-weighting policy is agency policy, signed like due rules:
// the agency signs one for every team, a supervisor their team's own. A
// hostile server rewrites the policy it keeps, forges policies (with keys
// of its own, as the agency and in the supervisor's laptop's name, and one
// a caseworker's laptop really signed) and rolls the newest back: every
// device refuses the forgeries, names them, and weighs caseloads by the
// newest policy it verified.
func TestHostilePolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	newCase(t, ada, "A-1")
	syncRounds(t, ada, sam)
	// capacity is the weighted capacity sam's team view gives ada, and the
	// policy version it shows.
	capacity := func(d *syncharness.Device) (float64, int) {
		t.Helper()
		tv, err := d.Syncer.Team(ctx)
		if err != nil {
			t.Fatalf("%s's team view: %v", d.Name, err)
		}
		ws, err := caseload.Build(d.V, tv, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(ws, func(w caseload.Worker) bool { return w.Name == "ada" })
		if i < 0 {
			t.Fatalf("ada not in the team view: %+v", ws)
		}
		return ws[i].Capacity, tv.PolicyVersion
	}
	withCapacity := func(c float64) []byte {
		p := record.DefaultPolicy()
		p.Capacity, p.Version = c, 7 // the statement's version replaces an edit's
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}

	// No signed policy yet: the default, whatever the server says (here,
	// through a proxy that puts a policy of its own in every team view).
	north := sam.V.Roster().Users[sam.V.Roster().Devices[sam.V.DeviceID()].User].Team
	sam.UseURL(teamViewProxy(t, s, withCapacity(1)))
	if c, v := capacity(sam); c != record.DefaultPolicy().Capacity || v != 0 {
		t.Errorf("without a signed policy: capacity %v (v%d), want the default %v", c, v, record.DefaultPolicy().Capacity)
	}

	// The agency's policy, for every team.
	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, withCapacity(20), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := s.Admin("policy", "set", file); !strings.Contains(out, "version 1") {
		t.Fatalf("policy set: %s", out)
	}
	syncRounds(t, ada, sam)
	if c, v := capacity(sam); c != 20 || v != 1 {
		t.Errorf("under the agency's policy: capacity %v (v%d), want 20 (v1)", c, v)
	}

	// A caseworker may not set the team's policy; the supervisor may, from
	// the version in force only.
	if _, err := ada.Syncer.SetPolicy(ctx, withCapacity(2), 1); !errors.Is(err, trust.ErrNotAllowed) {
		t.Errorf("a caseworker set the policy: %v", err)
	}
	for i, c := range []float64{25, 30} {
		if v, err := sam.Syncer.SetPolicy(ctx, withCapacity(c), 1); err != nil || v != i+1 {
			t.Fatalf("sam sets the team's policy (capacity %v): v%d, %v", c, v, err)
		}
	}
	var pe *protocol.Error
	if _, err := sam.Syncer.SetPolicy(ctx, withCapacity(40), 1); !errors.As(err, &pe) || pe.Code != protocol.CodeConflict {
		t.Errorf("an edit from a stale version: %v, want a conflict", err)
	}
	syncRounds(t, ada, sam)
	if c, v := capacity(sam); c != 30 || v != 2 {
		t.Errorf("under the team's policy: capacity %v (v%d), want 30 (v2)", c, v)
	}
	if p, ok := ada.V.Roster().PolicyFor(north); !ok || p.Version != 2 || p.Policy.Capacity != 30 {
		t.Errorf("ada's laptop has policy %+v, want sam's v2", p)
	}

	// The server forges policies: as the agency and as Sam's laptop with
	// keys of its own, and one Ada's laptop really signed (a caseworker
	// may not), all far above v2.
	op := syncharness.NewOperator(t)
	lax := func(v uint64) []byte {
		p := record.DefaultPolicy()
		p.Capacity = 1000
		js, err := trust.PolicyJSON(p, v)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	st := func(team string, v uint64) trust.Statement {
		return trust.Statement{Kind: trust.KindPolicy, Issued: time.Now(), Team: team, Version: v, Policy: lax(v)}
	}
	adaID, err := ada.V.Identity()
	if err != nil {
		t.Fatal(err)
	}
	forged := []trust.Signed{
		op.Agency.Sign(st("", 50)),
		op.Agency.Sign(st(north, 50)),
		op.SignAsDevice(sam.V.DeviceID(), st(north, 51)),
		trust.SignAsDevice(ada.V.DeviceID(), adaID.Sign, st(north, 52)),
	}
	s.Tamper(func(tx server.Tx) error { return syncharness.InjectStatements(tx, forged...) })
	for _, d := range []*syncharness.Device{ada, sam} {
		sum := d.MustSync()
		for _, f := range forged {
			if !slices.ContainsFunc(sum.Trust.Problems, func(p trust.Problem) bool { return p.Statement == f.ID() && p.Kind == trust.KindPolicy }) {
				t.Errorf("%s: forged policy %.12s not reported; problems %v", d.Name, f.ID(), sum.Trust.Problems)
			}
		}
	}
	if c, v := capacity(sam); c != 30 || v != 2 {
		t.Errorf("after forged policies: capacity %v (v%d), want 30 (sam's v2)", c, v)
	}

	// The server rolls back: it serves the roster without v2. Sam's laptop
	// keeps v2; a new laptop enrolled through the lying server names the
	// withheld statement from the log rather than trusting v1 quietly.
	rollback := rollbackProxy(t, s, trust.KindPolicy, north, 2)
	sam.UseURL(rollback)
	s.Admin("policy", "set", file) // the roster changes: devices fetch it
	if _, err := sam.Sync(); err != nil && !errors.Is(err, client.ErrLogAlarm) {
		t.Fatalf("sam's sync through the rolling-back server: %v", err)
	}
	if c, v := capacity(sam); c != 30 || v != 2 {
		t.Errorf("after the rollback: capacity %v (v%d), want 30 (sam's v2)", c, v)
	}
	sam2 := s.NewDevice("sam2", rollback, "sam", "supervisor", "north")
	if got, _ := sam2.V.Roster().PolicyFor(north); got.Version == 2 {
		t.Fatal("the rollback proxy let v2 through")
	}
	_, err = sam2.Sync()
	missing, merr := sam2.V.MissingStatements()
	if err == nil || merr != nil || len(missing) == 0 {
		t.Errorf("a laptop handed the rolled-back policy does not say so: sync %v, missing %v (%v)", err, missing, merr)
	}
}

// teamViewProxy is a proxy in front of s that puts policy, at version 99,
// into every team view it hands over: the server's own word.
func teamViewProxy(t *testing.T, s *syncharness.Server, policy []byte) string {
	t.Helper()
	p, err := faultproxy.New(faultproxy.Config{Target: s.URL, Seed: 1,
		Rewrite: func(r *http.Request, _ []byte, status int, body []byte) []byte {
			if status != http.StatusOK || r.URL.Path != protocol.PathTeam {
				return body
			}
			var tv protocol.TeamView
			if json.Unmarshal(body, &tv) != nil {
				return body
			}
			tv.Policy, tv.PolicyVersion = policy, 99
			out, _ := json.Marshal(tv)
			return out
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.URL()
}
