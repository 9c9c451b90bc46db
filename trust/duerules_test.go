package trust_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/trust"
)

func dueRules(team string, version uint64, rules ...trust.DueRule) trust.Statement {
	return trust.Statement{Kind: trust.KindDueRules, Team: team, Version: version, Rules: rules}
}

// Due rules are the agency's: signed by it (any team, or all), or by a
// supervisor's device for their own team; the highest version wins per
// team; anything else is refused and named.
func TestRosterDueRules(t *testing.T) {
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

	a.sign(dueRules("", 1, trust.DueRule{Key: "normal", Days: 5}, trust.DueRule{Key: "urgent", Days: 1}))
	a.sign(dueRules("", 2, trust.DueRule{Key: "normal", Days: 4}, trust.DueRule{Key: "urgent", Days: 1}))
	samV3 := trust.SignAsDevice(sam.id, sam.sign, dueRules("north", 3, trust.DueRule{Key: "court report", Days: 3}))
	// The server's own key, in the agency's name; a caseworker; another
	// team's supervisor; a supervisor for the whole agency.
	forged := server.Sign(dueRules("", 9, trust.DueRule{Key: "normal", Days: 60}))
	forged.Signer = trust.SignerAgency
	caseworker := trust.SignAsDevice(ada.id, ada.sign, dueRules("north", 7, trust.DueRule{Key: "normal", Days: 60}))
	otherTeam := trust.SignAsDevice(sue.id, sue.sign, dueRules("north", 8, trust.DueRule{Key: "normal", Days: 60}))
	agencyWide := trust.SignAsDevice(sam.id, sam.sign, dueRules("", 8, trust.DueRule{Key: "normal", Days: 60}))
	a.all = append(a.all, samV3, forged, caseworker, otherTeam, agencyWide)
	refused := map[string]string{
		forged.ID():     "not the agency's",
		caseworker.ID(): "not a supervisor of that team",
		otherTeam.ID():  "not a supervisor of that team",
		agencyWide.ID(): "not a supervisor of that team",
	}

	r := a.eval()
	all, ok := r.DueRulesFor("south")
	if !ok || all.Version != 2 || all.Signer != trust.SignerAgency || len(all.Rules) != 2 || all.Rules[0] != (trust.DueRule{Key: "normal", Days: 4}) {
		t.Errorf("south's rules (the agency's, v2): %+v, %v", all, ok)
	}
	north, ok := r.DueRulesFor("north")
	if !ok || north.Version != 3 || north.Signer != trust.SignerDevice(sam.id) || len(north.Rules) != 1 || north.Rules[0].Key != "court report" {
		t.Errorf("north's rules (sam's, v3): %+v, %v", north, ok)
	}
	for id, why := range refused {
		found := false
		for _, p := range r.Problems {
			if p.Statement == id && strings.Contains(p.What, why) {
				found = true
			}
		}
		if !found || r.Accepted[id] {
			t.Errorf("statement %.12s not refused with %q; problems %v", id, why, r.Problems)
		}
	}

	// Sam's laptop is revoked: its rules stop counting, the agency's apply.
	a.sign(trust.Statement{Kind: trust.KindRevoke, Device: sam.id, Reason: "stolen"})
	if got, _ := a.eval().DueRulesFor("north"); got.Version != 2 || got.Team != "" {
		t.Errorf("after sam's laptop is revoked north has %+v, want the agency-wide v2", got)
	}

	// Two different rules of one version: neither (fail closed).
	b := newAgency(t)
	b.sign(dueRules("", 1, trust.DueRule{Key: "normal", Days: 5}))
	b.sign(dueRules("", 1, trust.DueRule{Key: "normal", Days: 6}))
	if got, ok := b.eval().DueRulesFor(""); ok {
		t.Errorf("two version-1 rules: %+v trusted", got)
	}
	if _, ok := (*trust.Roster)(nil).DueRulesFor("north"); ok {
		t.Error("a nil roster has due rules")
	}
}

// Due rules have one encoding, pinned here (devices and the server must
// agree on it forever): keys known, in order, once; days bounded.
func TestDueRulesEncoding(t *testing.T) {
	pinned := trust.Statement{Kind: trust.KindDueRules, Issued: time.Unix(1_800_000_000, 0), Team: "north", Version: 3,
		Rules: []trust.DueRule{{Key: "court report", Days: 3}, {Key: "normal", Days: 5}, {Key: "urgent", Days: 1}}}
	// version 1, kind 7, issued+1, "north", version 3, 3 rules: "court report" 3, "normal" 5, "urgent" 1
	const want = "010781a4a7da06056e6f72746803030c636f757274207265706f727403066e6f726d616c0506757267656e7401"
	if got := hex.EncodeToString(pinned.Marshal()); got != want {
		t.Errorf("encoding changed:\n got %s\nwant %s", got, want)
	}
	good := dueRules("north", 4, trust.DueRule{Key: "court report", Days: 3}, trust.DueRule{Key: "normal", Days: 5}, trust.DueRule{Key: "urgent", Days: 0})
	st, err := trust.UnmarshalStatement(good.Marshal())
	if err != nil || st.Team != "north" || st.Version != 4 || len(st.Rules) != 3 || st.Rules[2] != (trust.DueRule{Key: "urgent", Days: 0}) {
		t.Fatalf("round trip: %+v, %v", st, err)
	}
	if !bytes.Equal(st.Marshal(), good.Marshal()) {
		t.Error("re-encoding differs")
	}
	for name, bad := range map[string]trust.Statement{
		"no rules":      dueRules("", 1),
		"version 0":     dueRules("", 0, trust.DueRule{Key: "normal", Days: 5}),
		"unknown key":   dueRules("", 1, trust.DueRule{Key: "soon", Days: 5}),
		"out of order":  dueRules("", 1, trust.DueRule{Key: "urgent", Days: 1}, trust.DueRule{Key: "normal", Days: 5}),
		"twice":         dueRules("", 1, trust.DueRule{Key: "normal", Days: 1}, trust.DueRule{Key: "normal", Days: 5}),
		"too many days": dueRules("", 1, trust.DueRule{Key: "normal", Days: trust.MaxDueDays + 1}),
	} {
		if _, err := trust.UnmarshalStatement(bad.Marshal()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
