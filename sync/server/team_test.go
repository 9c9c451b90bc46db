package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
	"github.com/fieldcase/fieldcase/trust"
)

func doJSON(t *testing.T, c *servertest.Client, method, path string, in, out any) error {
	t.Helper()
	body, _ := json.Marshal(in)
	b, _, err := c.Do(context.Background(), method, path, http.Header{"Content-Type": {protocol.MediaJSON}}, body)
	if err == nil && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return err
}

func pulledCases(t *testing.T, c *servertest.Client) map[string]int {
	t.Helper()
	revs, _, err := c.PullAll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	// Distinct revisions: a device pulling from the start sees a case's
	// original entries and those re-announced to it (applied once).
	seen := map[record.RevID]bool{}
	out := map[string]int{}
	for _, r := range revs {
		if !seen[r.Rev] {
			seen[r.Rev] = true
			out[r.CaseID]++
		}
	}
	return out
}

func casePath(p, caseID string) string { return strings.Replace(p, "{case}", caseID, 1) }

func TestTeamView(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("tia", protocol.RoleTypist, "north")
	e.user("zed", protocol.RoleCaseworker, "south")
	ada, aw := e.device("ada")
	sam, _ := e.device("sam")
	tia, _ := e.device("tia")
	zed, zw := e.device("zed")
	ada.Push(e.ctx, nil, aw.NewCase("CA")...)
	zed.Push(e.ctx, nil, zw.NewCase("CZ")...)

	var view protocol.TeamView
	if err := doJSON(t, sam, "GET", protocol.PathTeam, nil, &view); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range view.Users {
		names = append(names, u.Name+":"+string(u.Role))
		if len(u.Devices) != 1 || u.Devices[0].Recipient == "" {
			t.Errorf("%s devices: %+v", u.Name, u.Devices)
		}
	}
	slices.Sort(names)
	if strings.Join(names, " ") != "ada:caseworker sam:supervisor tia:typist" || view.Team != "north" {
		t.Errorf("team view users %v team %q", names, view.Team)
	}
	if len(view.Cases) != 1 || view.Cases[0].ID != "CA" || len(view.Cases[0].Members) != 1 {
		t.Errorf("team view cases %+v", view.Cases)
	}
	for _, c := range []*servertest.Client{ada, tia, zed} {
		wantStatus(t, "team view by a non-supervisor", doJSON(t, c, "GET", protocol.PathTeam, nil, nil), http.StatusForbidden, protocol.CodeForbidden)
	}
}

// TestPolicyEndpoint: a supervisor's device signs its team's weighting
// policy; the server stores it only as every device will accept it, and
// keeps no policy of its own (the team view's policy fields are no longer
// set: devices take the verified one from the roster).
func TestPolicyEndpoint(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("sol", protocol.RoleSupervisor, "south")
	ada, _ := e.device("ada")
	sam, _ := e.device("sam")
	sol, _ := e.device("sol")
	policy := func(team string, version uint64, capacity float64) trust.Statement {
		p := record.DefaultPolicy()
		p.Capacity = capacity
		js, err := trust.PolicyJSON(p, version)
		if err != nil {
			t.Fatal(err)
		}
		return trust.Statement{Kind: trust.KindPolicy, Team: team, Version: version, Policy: js}
	}
	if err := sam.Policy(e.ctx, sam.SignStatement(policy(teamID("north"), 1, 20))); err != nil {
		t.Fatalf("sam sets north's policy: %v", err)
	}
	if got, ok := e.roster(ada).PolicyFor(teamID("north")); !ok || got.Version != 1 || got.Policy.Capacity != 20 {
		t.Errorf("ada is served north's policy %+v, %v", got, ok)
	}
	wantStatus(t, "a caseworker's", ada.Policy(e.ctx, ada.SignStatement(policy(teamID("north"), 2, 99))), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "another team's supervisor", sol.Policy(e.ctx, sol.SignStatement(policy(teamID("north"), 2, 99))), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "a supervisor's for every team", sam.Policy(e.ctx, sam.SignStatement(policy("", 2, 99))), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "sent by another device", sol.Policy(e.ctx, sam.SignStatement(policy(teamID("north"), 2, 99))), http.StatusForbidden, protocol.CodeForbidden)
	wantStatus(t, "the same version again, changed", sam.Policy(e.ctx, sam.SignStatement(policy(teamID("north"), 1, 99))), http.StatusConflict, protocol.CodeConflict)
	wantStatus(t, "due rules sent as a policy", sam.Policy(e.ctx, sam.SignStatement(trust.Statement{Kind: trust.KindDueRules, Team: teamID("north"), Version: 5,
		Rules: []trust.DueRule{{Key: "normal", Days: 5}}})), http.StatusBadRequest, protocol.CodeBadRequest)
	noncanon := policy(teamID("north"), 2, 99)
	noncanon.Policy = append([]byte(" "), noncanon.Policy...)
	wantStatus(t, "a policy not in its canonical encoding", sam.Policy(e.ctx, sam.SignStatement(noncanon)), http.StatusBadRequest, protocol.CodeBadRequest)
	if got, _ := e.roster(ada).PolicyFor(teamID("north")); got.Version != 1 || got.Policy.Capacity != 20 {
		t.Errorf("after the refusals north's policy is %+v", got)
	}
	var view protocol.TeamView
	if err := doJSON(t, sam, "GET", protocol.PathTeam, nil, &view); err != nil || view.PolicyVersion != 0 || len(view.Policy) != 0 {
		t.Errorf("the server's team view carries a policy of its own: v%d %s, %v", view.PolicyVersion, view.Policy, err)
	}
	if err := doJSON(t, sam, "PUT", "/v1/team/policy", map[string]any{"policy": record.DefaultPolicy(), "version": 0}, nil); err == nil {
		t.Error("the server still takes an unsigned policy (PUT /v1/team/policy)")
	}
}

// Reassignment: a new member gets the whole history; a removed one gets
// nothing written after; only the team's supervisor may do it.
func TestCaseMembers(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("bob", protocol.RoleCaseworker, "north")
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("sol", protocol.RoleSupervisor, "south")
	ada, aw := e.device("ada")
	bob, bw := e.device("bob")
	sam, _ := e.device("sam")
	sol, _ := e.device("sol")
	history := aw.NewCase("C1")
	ada.Push(e.ctx, nil, history...)
	if got := pulledCases(t, bob)["C1"]; got != 0 {
		t.Fatalf("bob sees %d revisions before being added", got)
	}
	path := casePath(protocol.PathMembers, "C1")
	wantStatus(t, "a caseworker reassigns", doJSON(t, ada, "POST", path, protocol.MembersUpdate{Add: []string{"bob"}}, nil), http.StatusForbidden, "")
	wantStatus(t, "another team's supervisor", doJSON(t, sol, "POST", path, protocol.MembersUpdate{Add: []string{"bob"}}, nil), http.StatusForbidden, "")
	wantStatus(t, "unknown user", doJSON(t, sam, "POST", path, protocol.MembersUpdate{Add: []string{"nobody"}}, nil), http.StatusBadRequest, "")
	var tc protocol.TeamCase
	if err := doJSON(t, sam, "POST", path, protocol.MembersUpdate{Add: []string{"bob"}, Remove: []string{"ada"}}, &tc); err != nil {
		t.Fatal(err)
	}
	if len(tc.Members) != 1 {
		t.Errorf("members after reassignment: %v", tc.Members)
	}
	if got := pulledCases(t, bob)["C1"]; got != len(history) {
		t.Errorf("bob pulled %d of the case's %d revisions", got, len(history))
	}
	later := bw.Rev(record.KindNote, "C1", "N1")
	if r, err := bob.Push(e.ctx, nil, later); err != nil || r.Results[0].Status != protocol.StatusStored {
		t.Fatalf("bob writes after reassignment: %+v %v", r, err)
	}
	if got := pulledCases(t, ada)["C1"]; got != 0 {
		t.Errorf("ada, removed, still pulls %d revisions of the case", got)
	}
	r, _ := ada.Push(e.ctx, nil, aw.Rev(record.KindNote, "C1", "N2"))
	if r.Results[0].Status != protocol.StatusRejected || !r.Results[0].Permanent {
		t.Errorf("ada, removed, writes: %+v", r.Results[0])
	}
	wantStatus(t, "unknown case", doJSON(t, sam, "POST", casePath(protocol.PathMembers, "NOPE"), protocol.MembersUpdate{Add: []string{"bob"}}, nil), http.StatusNotFound, "")
}

// A case opened for transcription: the team's typists read it and add
// transcripts, nothing else; closed, they lose it again.
func TestTranscriptionAccess(t *testing.T) {
	e := newEnv(t)
	e.user("ada", protocol.RoleCaseworker, "north")
	e.user("tia", protocol.RoleTypist, "north")
	e.user("tom", protocol.RoleTypist, "south")
	ada, aw := e.device("ada")
	tia, tw := e.device("tia")
	tom, _ := e.device("tom")
	history := aw.NewCase("C1")
	ada.Push(e.ctx, nil, history...)
	if got := pulledCases(t, tia)["C1"]; got != 0 {
		t.Fatalf("typist sees a case not open for transcription")
	}
	path := casePath(protocol.PathTranscription, "C1")
	wantStatus(t, "typist opens it herself", doJSON(t, tia, "POST", path, protocol.TranscriptionUpdate{Open: true}, nil), http.StatusForbidden, "")
	if err := doJSON(t, ada, "POST", path, protocol.TranscriptionUpdate{Open: true}, nil); err != nil {
		t.Fatal(err)
	}
	if got := pulledCases(t, tia)["C1"]; got != len(history) {
		t.Errorf("typist pulled %d of %d", got, len(history))
	}
	if got := pulledCases(t, tom)["C1"]; got != 0 {
		t.Errorf("another team's typist pulled %d", got)
	}
	r, err := tia.Push(e.ctx, nil, tw.Rev(record.KindNote, "C1", trust.NewRecordID(tw.Device, time.Now())), tw.Rev(record.KindCase, "C1", "C1", history[1]))
	if err != nil {
		t.Fatal(err)
	}
	if r.Results[0].Status != protocol.StatusStored {
		t.Errorf("typist's transcript note: %+v", r.Results[0])
	}
	if r.Results[1].Status != protocol.StatusRejected || !r.Results[1].Permanent {
		t.Errorf("typist editing the case record: %+v", r.Results[1])
	}
	doJSON(t, ada, "POST", path, protocol.TranscriptionUpdate{Open: false}, nil)
	r, _ = tia.Push(e.ctx, nil, tw.Rev(record.KindNote, "C1", trust.NewRecordID(tw.Device, time.Now())))
	if r.Results[0].Status != protocol.StatusRejected {
		t.Errorf("typist writes after the case was closed: %+v", r.Results[0])
	}
}
