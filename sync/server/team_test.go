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
		names = append(names, u.Name+":"+u.Role)
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

func TestTeamPolicyVersions(t *testing.T) {
	e := newEnv(t)
	e.user("sam", protocol.RoleSupervisor, "north")
	e.user("sue", protocol.RoleSupervisor, "north")
	e.user("ada", protocol.RoleCaseworker, "north")
	sam, _ := e.device("sam")
	sue, _ := e.device("sue")
	ada, _ := e.device("ada")
	pol, _ := json.Marshal(record.DefaultPolicy())
	var resp protocol.PolicyResponse
	if err := doJSON(t, sam, "PUT", protocol.PathTeamPolicy, protocol.PolicyUpdate{Policy: pol, Version: 0}, &resp); err != nil || resp.Version != 1 {
		t.Fatalf("first policy: %+v, %v", resp, err)
	}
	// Sue edited from version 0 too: refused, not silently overwritten.
	err := doJSON(t, sue, "PUT", protocol.PathTeamPolicy, protocol.PolicyUpdate{Policy: pol, Version: 0}, nil)
	wantStatus(t, "stale policy edit", err, http.StatusConflict, protocol.CodeConflict)
	if err := doJSON(t, sue, "PUT", protocol.PathTeamPolicy, protocol.PolicyUpdate{Policy: pol, Version: 1}, &resp); err != nil || resp.Version != 2 {
		t.Errorf("edit after reload: %+v, %v", resp, err)
	}
	bad := []byte(`{"capacity":0}`)
	wantStatus(t, "invalid policy", doJSON(t, sam, "PUT", protocol.PathTeamPolicy, protocol.PolicyUpdate{Policy: bad, Version: 2}, nil), http.StatusBadRequest, protocol.CodeBadRequest)
	wantStatus(t, "caseworker edits policy", doJSON(t, ada, "PUT", protocol.PathTeamPolicy, protocol.PolicyUpdate{Policy: pol, Version: 2}, nil), http.StatusForbidden, "")
	var view protocol.TeamView
	doJSON(t, sam, "GET", protocol.PathTeam, nil, &view)
	if view.PolicyVersion != 2 || len(view.Policy) == 0 {
		t.Errorf("team view policy version %d", view.PolicyVersion)
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
