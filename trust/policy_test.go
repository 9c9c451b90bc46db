package trust_test

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// policyJSON is a weighting-policy statement's Policy: the default with
// capacity, at version.
func policyJSON(t testing.TB, capacity float64, version uint64) []byte {
	t.Helper()
	p := record.DefaultPolicy()
	p.Capacity = capacity
	js, err := trust.PolicyJSON(p, version)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func policy(t testing.TB, team string, version uint64, capacity float64) trust.Statement {
	return trust.Statement{Kind: trust.KindPolicy, Team: team, Version: version, Policy: policyJSON(t, capacity, version)}
}

// The weighting policy is the agency's, judged like due rules: signed by
// it (any team, or all), or by a supervisor's device for their own team;
// the highest version wins per team; anything else is refused and named;
// a policy has one encoding.
func TestRosterPolicy(t *testing.T) {
	a := newAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "south", Name: "South"})
	a.user("ada", trust.RoleCaseworker, "north", 1)
	a.user("sam", trust.RoleSupervisor, "north", 1)
	a.user("sue", trust.RoleSupervisor, "south", 1)
	ada := a.device("ada1", "ada")
	sam := a.device("sam1", "sam")
	sue := a.device("sue1", "sue")
	server, _ := trust.GenerateAgencyKey()

	if got, ok := a.eval().PolicyFor("north"); ok {
		t.Errorf("a policy without any statement: %+v", got)
	}
	a.sign(policy(t, "", 1, 20))
	a.sign(policy(t, "", 2, 18))
	samV3 := trust.SignAsDevice(sam.id, sam.sign, policy(t, "north", 3, 30))
	forged := server.Sign(policy(t, "", 9, 1000))
	forged.Signer = trust.SignerAgency
	caseworker := trust.SignAsDevice(ada.id, ada.sign, policy(t, "north", 7, 1000))
	otherTeam := trust.SignAsDevice(sue.id, sue.sign, policy(t, "north", 8, 1000))
	agencyWide := trust.SignAsDevice(sam.id, sam.sign, policy(t, "", 8, 1000))
	a.all = append(a.all, samV3, forged, caseworker, otherTeam, agencyWide)
	refused := map[string]string{
		forged.ID():     "not the agency's",
		caseworker.ID(): "not a supervisor of that team",
		otherTeam.ID():  "not a supervisor of that team",
		agencyWide.ID(): "not a supervisor of that team",
	}
	r := a.eval()
	if p, ok := r.PolicyFor("south"); !ok || p.Version != 2 || p.Signer != trust.SignerAgency || p.Policy.Capacity != 18 || p.Policy.Version != 2 {
		t.Errorf("south's policy (the agency's, v2): %+v, %v", p, ok)
	}
	if p, ok := r.PolicyFor("north"); !ok || p.Version != 3 || p.Signer != trust.SignerDevice(sam.id) || p.Policy.Capacity != 30 {
		t.Errorf("north's policy (sam's, v3): %+v, %v", p, ok)
	}
	for id, why := range refused {
		found := false
		for _, p := range r.Problems {
			if p.Statement == id && p.Kind == trust.KindPolicy && strings.Contains(p.What, why) {
				found = true
			}
		}
		if !found || r.Accepted[id] {
			t.Errorf("statement %.12s not refused with %q; problems %v", id, why, r.Problems)
		}
	}

	// Sam's laptop is revoked: its policy stops counting.
	a.sign(trust.Statement{Kind: trust.KindRevoke, Device: sam.id, Reason: "stolen"})
	if got, _ := a.eval().PolicyFor("north"); got.Version != 2 || got.Team != "" {
		t.Errorf("after sam's laptop is revoked north has %+v, want the agency-wide v2", got)
	}

	// Two different policies of one version: neither (fail closed).
	b := newAgency(t)
	b.sign(policy(t, "", 1, 20))
	b.sign(policy(t, "", 1, 21))
	if got, ok := b.eval().PolicyFor(""); ok {
		t.Errorf("two policies of version 1 gave %+v", got)
	}

	// One encoding: the canonical JSON with the statement's version, valid.
	for name, js := range map[string][]byte{
		"spaced":          append([]byte(" "), policyJSON(t, 20, 4)...),
		"another version": policyJSON(t, 20, 3),
		"no capacity":     []byte(`{"version":4,"base":1,"per_extra_child":0,"complexity":null,"court_stage":null,"risk":null,"travel_per_30_min":0,"capacity":0}`),
		"not JSON":        []byte("capacity=20"),
	} {
		st := trust.Statement{Kind: trust.KindPolicy, Version: 4, Policy: js}
		if _, err := trust.UnmarshalStatement(st.Marshal()); err == nil {
			t.Errorf("%s policy accepted", name)
		}
	}
	if _, err := trust.UnmarshalStatement(policy(t, "north", 4, 20).Marshal()); err != nil {
		t.Errorf("a canonical policy refused: %v", err)
	}
}

// A weighting policy has one encoding, pinned here (devices and the server
// must agree on it forever): the statement's header, then the policy as
// the canonical JSON below (maps sorted by key, its version the
// statement's).
func TestPolicyEncoding(t *testing.T) {
	pinned := trust.Statement{Kind: trust.KindPolicy, Issued: time.Unix(1_800_000_000, 0), Team: "north", Version: 3,
		Policy: policyJSON(t, 14, 3)}
	const js = `{"version":3,"base":1,"per_extra_child":0.25,"complexity":{"1":0,"2":0.5,"3":1},` +
		`"court_stage":{"final":0.5,"none":0,"pre-proceedings":0.25,"proceedings":0.75},` +
		`"risk":{"high":0.75,"low":0,"medium":0.25},"travel_per_30_min":0.25,"capacity":14}`
	// version 1, kind 8, issued+1, "north", version 3, then the JSON with its length
	want := "010881a4a7da06056e6f72746803" + hex.EncodeToString(binary.AppendUvarint(nil, uint64(len(js)))) + hex.EncodeToString([]byte(js))
	if got := hex.EncodeToString(pinned.Marshal()); got != want {
		t.Errorf("encoding changed:\n got %s\nwant %s", got, want)
	}
	st, err := trust.UnmarshalStatement(pinned.Marshal())
	if err != nil || st.Team != "north" || st.Version != 3 || string(st.Policy) != js {
		t.Fatalf("round trip: %+v, %v", st, err)
	}
}
