package trust_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

const lcCase = "01JQ3ZP0CASE00000000000001"

func policyDoc(t *testing.T, approvals int) []byte {
	t.Helper()
	p := record.DefaultRetentionPolicy()
	p.Approvals = approvals
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lifecycleAgency is a team with two supervisors (sam with two laptops,
// kim), a caseworker, and a retention policy of version 1.
func lifecycleAgency(t *testing.T, approvals int) (*agency, map[string]*testDevice) {
	a := newAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	a.user("sam", trust.RoleSupervisor, "north", 1)
	a.user("kim", trust.RoleSupervisor, "north", 1)
	a.user("ada", trust.RoleCaseworker, "north", 1)
	a.user("sue", trust.RoleSupervisor, "south", 1)
	a.sign(trust.Statement{Kind: trust.KindRetention, Version: 1, Doc: policyDoc(t, approvals)})
	sam1 := a.device("sam1", "sam")
	devs := map[string]*testDevice{"sam1": sam1, "sam2": a.pair(sam1, "sam2"), "kim1": a.device("kim1", "kim"),
		"ada1": a.device("ada1", "ada"), "sue1": a.device("sue1", "sue")}
	return a, devs
}

func (a *agency) byDevice(d *testDevice, s trust.Statement, at int64) trust.Signed {
	s.Issued = time.Unix(at, 0)
	sg := trust.SignAsDevice(d.id, d.sign, s)
	a.all = append(a.all, sg)
	return sg
}

func approve(team string) trust.Statement {
	return trust.Statement{Kind: trust.KindDestroy, Case: lcCase, Team: team, Version: 1, Due: time.Unix(1_700_000_000, 0), Reason: "past retention"}
}

func TestLifecycleStatementsRoundTrip(t *testing.T) {
	for _, s := range []trust.Statement{
		{Kind: trust.KindRetention, Version: 3, Doc: policyDoc(t, 2)},
		{Kind: trust.KindHold, Case: lcCase, Team: "north", Ref: "FD26P00123", Name: "Family Court at Leeds", Reason: "care proceedings"},
		{Kind: trust.KindRelease, Case: lcCase, Team: "north", Ref: strings.Repeat("ab", 32), Reason: "proceedings ended"},
		{Kind: trust.KindDestroy, Case: lcCase, Team: "north", Version: 3, Due: time.Unix(1_700_000_000, 0).UTC(), Reason: "r"},
	} {
		s.Issued = time.Unix(1_800_000_000, 0).UTC()
		got, err := trust.UnmarshalStatement(s.Marshal())
		if err != nil {
			t.Fatalf("%s: %v", s.Kind, err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", s.Kind, got, s)
		}
	}
	for _, s := range []trust.Statement{
		{Kind: trust.KindRetention, Version: 1, Doc: []byte(`{"approvals":5,"default":[{"from":"closed","years":6}]}`)},
		{Kind: trust.KindRetention, Version: 1, Doc: []byte(`{"approvals":1,"default":[{"from":"closed","years":6}],"purge":true}`)},
		{Kind: trust.KindRetention, Version: 0, Doc: policyDoc(t, 1)},
		{Kind: trust.KindHold, Case: lcCase, Team: "north"},
		{Kind: trust.KindRelease, Case: lcCase, Team: "north", Ref: "x"},
		{Kind: trust.KindDestroy, Case: lcCase, Team: "north"},
	} {
		if _, err := trust.UnmarshalStatement(s.Marshal()); err == nil {
			t.Errorf("malformed %s accepted: %+v", s.Kind, s)
		}
	}
}

func TestRetentionPolicyStatement(t *testing.T) {
	a, devs := lifecycleAgency(t, 1)
	r := a.eval()
	if r.Retention.Policy == nil || r.Retention.Version != 1 || r.Retention.Policy.Approvals != 1 {
		t.Fatalf("policy v1 not proven: %+v", r.Retention)
	}
	// A newer version replaces it; the older one stays known (approvals may name it).
	a.sign(trust.Statement{Kind: trust.KindRetention, Version: 2, Doc: policyDoc(t, 2)})
	r = a.eval()
	if r.Retention.Version != 2 || r.Retention.Policy.Approvals != 2 || len(r.Retention.Policies) != 2 {
		t.Fatalf("v2: %+v", r.Retention)
	}
	// Forged: signed by another agency key, or by a supervisor's device.
	other := newAgency(t)
	forged := other.key.Sign(trust.Statement{Kind: trust.KindRetention, Version: 9, Doc: policyDoc(t, 1)})
	a.all = append(a.all, forged)
	a.byDevice(devs["sam1"], trust.Statement{Kind: trust.KindRetention, Version: 10, Doc: policyDoc(t, 1)}, 1_800_000_100)
	r = a.eval()
	if r.Retention.Version != 2 || len(r.Problems) != 2 {
		t.Fatalf("forged policies counted: version %d, problems %v", r.Retention.Version, r.Problems)
	}
	// Two different policies of the top version: none is trusted (nothing is due).
	a.sign(trust.Statement{Kind: trust.KindRetention, Version: 2, Doc: policyDoc(t, 1)})
	if r = a.eval(); r.Retention.Policy != nil {
		t.Fatalf("conflicting v2 trusted: %+v", r.Retention.Policy)
	}
}

func TestLegalHoldBlocksDestruction(t *testing.T) {
	a, devs := lifecycleAgency(t, 1)
	hold := a.sign(trust.Statement{Kind: trust.KindHold, Case: lcCase, Team: "north", Ref: "FD26P00123", Name: "Family Court", Reason: "care proceedings"})
	a.byDevice(devs["sam1"], approve("north"), 1_800_000_100)
	r := a.eval()
	if len(r.Problems) != 0 {
		t.Fatalf("problems: %v", r.Problems)
	}
	if _, ok := r.Retention.Destroyed[lcCase]; ok || len(r.Retention.Active(lcCase)) != 1 {
		t.Fatalf("a held case is destroyed: %+v", r.Retention)
	}
	// A supervisor may not release the agency's hold.
	a.byDevice(devs["kim1"], trust.Statement{Kind: trust.KindRelease, Case: lcCase, Team: "north", Ref: hold.ID(), Reason: "done"}, 1_800_000_200)
	if r = a.eval(); len(r.Retention.Active(lcCase)) != 1 || len(r.Problems) != 1 {
		t.Fatalf("supervisor released the agency's hold: %+v %v", r.Retention.Holds, r.Problems)
	}
	// The agency releases it: the approval given while held does not count.
	rel := trust.Statement{Kind: trust.KindRelease, Case: lcCase, Team: "north", Ref: hold.ID(), Reason: "proceedings ended"}
	rel.Issued = time.Unix(1_800_000_300, 0)
	a.all = append(a.all, a.key.Sign(rel))
	r = a.eval()
	if len(r.Retention.Active(lcCase)) != 0 {
		t.Fatal("hold not released")
	}
	if _, ok := r.Retention.Destroyed[lcCase]; ok {
		t.Fatal("an approval given while the case was held destroyed it once released")
	}
	a.byDevice(devs["sam1"], approve("north"), 1_800_000_400)
	if d, ok := a.eval().Retention.Destroyed[lcCase]; !ok || len(d.Approvals) != 1 || d.Approvals[0].User != "sam" {
		t.Fatalf("fresh approval after the release: %+v %v", d, ok)
	}
}

func TestSupervisorHoldSurvivesRevocation(t *testing.T) {
	a, devs := lifecycleAgency(t, 1)
	a.byDevice(devs["kim1"], trust.Statement{Kind: trust.KindHold, Case: lcCase, Team: "north", Ref: "inquiry 7"}, 1_800_000_100)
	a.sign(trust.Statement{Kind: trust.KindRevoke, Device: "kim1", Reason: "lost"})
	a.byDevice(devs["sam1"], approve("north"), 1_800_000_200)
	r := a.eval()
	if len(r.Retention.Active(lcCase)) != 1 {
		t.Fatalf("the hold of a revoked laptop stopped holding: %+v", r.Retention.Holds)
	}
	if _, ok := r.Retention.Destroyed[lcCase]; ok {
		t.Fatal("destroyed while held")
	}
}

func TestTwoPersonApproval(t *testing.T) {
	a, devs := lifecycleAgency(t, 2)
	a.byDevice(devs["sam1"], approve("north"), 1_800_000_100)
	a.byDevice(devs["sam2"], approve("north"), 1_800_000_110) // the same person on another laptop
	a.byDevice(devs["ada1"], approve("north"), 1_800_000_120) // a caseworker
	a.byDevice(devs["sue1"], approve("north"), 1_800_000_130) // another team's supervisor
	r := a.eval()
	if _, ok := r.Retention.Destroyed[lcCase]; ok {
		t.Fatalf("destroyed with one supervisor of the team: %+v", r.Retention.Destroyed[lcCase])
	}
	if len(r.Problems) != 2 {
		t.Errorf("problems %v, want the caseworker's and the other team's approvals", r.Problems)
	}
	a.byDevice(devs["kim1"], approve("north"), 1_800_000_200)
	d, ok := a.eval().Retention.Destroyed[lcCase]
	if !ok || len(d.Approvals) != 2 || d.Approvals[0].User != "kim" || d.Approvals[1].User != "sam" || d.PolicyVersion != 1 {
		t.Fatalf("two supervisors: %+v %v", d, ok)
	}
	// A revoked laptop's approval counts for nothing.
	a.sign(trust.Statement{Kind: trust.KindRevoke, Device: "kim1", Reason: "lost"})
	if _, ok := a.eval().Retention.Destroyed[lcCase]; ok {
		t.Fatal("a revoked laptop's approval counted")
	}
}

// An approval counts under the policy it names and the newest: once the
// agency signs a four-eyes rule, one approval given under the older, laxer
// policy (by a laptop the newer one was kept from) destroys nothing; and
// while the newest version is in conflict, nothing is destroyed.
func TestApprovalsUnderNewestPolicy(t *testing.T) {
	a, devs := lifecycleAgency(t, 1)
	a.byDevice(devs["sam1"], approve("north"), 1_800_000_100)
	if _, ok := a.eval().Retention.Destroyed[lcCase]; !ok {
		t.Fatal("one approval under a one-approver policy destroyed nothing")
	}
	a.sign(trust.Statement{Kind: trust.KindRetention, Version: 2, Doc: policyDoc(t, 2)})
	if d, ok := a.eval().Retention.Destroyed[lcCase]; ok {
		t.Fatalf("one approval under version 1 destroyed the case under version 2's four-eyes rule: %+v", d)
	}
	kim := approve("north")
	kim.Version = 2
	a.byDevice(devs["kim1"], kim, 1_800_000_200)
	d, ok := a.eval().Retention.Destroyed[lcCase]
	if !ok || len(d.Approvals) != 2 || d.PolicyVersion != 2 {
		t.Fatalf("two approvers, the second under version 2: %+v %v", d, ok)
	}
	// Two different policies of version 3: no policy, nothing destroyed.
	a.sign(trust.Statement{Kind: trust.KindRetention, Version: 3, Doc: policyDoc(t, 1)})
	a.sign(trust.Statement{Kind: trust.KindRetention, Version: 3, Doc: policyDoc(t, 2)})
	if d, ok := a.eval().Retention.Destroyed[lcCase]; ok {
		t.Fatalf("destroyed while the newest policy is in conflict: %+v", d)
	}
}
