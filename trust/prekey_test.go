package trust_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/trust"
)

// preKey has d sign pre-key version v (to a fresh recipient) and returns it.
func (a *agency) preKey(d *testDevice, v uint64) (trust.Signed, string) {
	rec := recipient(a.t)
	sg := trust.SignAsDevice(d.id, d.sign, trust.Statement{Kind: trust.KindPreKey, Issued: time.Unix(1_800_000_000+int64(v), 0),
		Device: d.id, Recipient: rec, Version: v})
	a.all = append(a.all, sg)
	return sg, rec
}

// A device's newest pre-key is what its case keys go to; an older one
// (replayed), one signed by another device or the agency, and a revoked
// device's count for nothing; a conflict at the top version falls back to
// the long-term recipient.
func TestPreKeys(t *testing.T) {
	a := newAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	a.user("ada", trust.RoleCaseworker, "north", 1)
	a.user("sam", trust.RoleSupervisor, "north", 1)
	ada := a.device("ada1", "ada")
	sam := a.device("sam1", "sam")
	m := trust.Membership{Team: "north", Members: []string{"ada"}}

	r := a.eval()
	longTerm := r.Devices["ada1"].Recipient
	if !slices.Contains(trust.Recipients(r, m), longTerm) {
		t.Fatal("without a pre-key, keys do not go to the long-term recipient")
	}
	_, rec1 := a.preKey(ada, 1)
	old := slices.Clone(a.all)
	_, rec2 := a.preKey(ada, 2)
	r = a.eval()
	if got := r.PreKeys["ada1"]; got.Version != 2 || got.Recipient != rec2 {
		t.Fatalf("ada1's pre-key: version %d, want 2", got.Version)
	}
	rs := trust.Recipients(r, m)
	if !slices.Contains(rs, rec2) || slices.Contains(rs, rec1) || slices.Contains(rs, longTerm) {
		t.Errorf("recipients hold the newest pre-key %v, the old %v, the long-term %v; want only the newest",
			slices.Contains(rs, rec2), slices.Contains(rs, rec1), slices.Contains(rs, longTerm))
	}
	if len(r.Problems) != 0 {
		t.Errorf("problems: %v", r.Problems)
	}
	// The set without version 2 (a server withholding it): version 1.
	if got := trust.Evaluate(a.key.Public(), old).PreKeys["ada1"]; got.Recipient != rec1 {
		t.Errorf("withheld: pre-key version %d, want 1", got.Version)
	}

	// Another device, the agency and a forger cannot set ada1's pre-key.
	evil := recipient(t)
	forged := []trust.Signed{
		trust.SignAsDevice(sam.id, sam.sign, trust.Statement{Kind: trust.KindPreKey, Device: "ada1", Recipient: evil, Version: 9}),
		a.key.Sign(trust.Statement{Kind: trust.KindPreKey, Device: "ada1", Recipient: evil, Version: 10}),
		trust.SignAsDevice("ada1", sam.sign, trust.Statement{Kind: trust.KindPreKey, Device: "ada1", Recipient: evil, Version: 11}),
	}
	r = trust.Evaluate(a.key.Public(), append(slices.Clone(a.all), forged...))
	if r.PreKeys["ada1"].Recipient != rec2 {
		t.Errorf("a forged pre-key won: version %d", r.PreKeys["ada1"].Version)
	}
	for _, f := range forged {
		if !slices.ContainsFunc(r.Problems, func(p trust.Problem) bool { return p.Statement == f.ID() }) {
			t.Errorf("forged pre-key %s not named among the problems %v", f.ID()[:12], r.Problems)
		}
	}
	if slices.Contains(trust.Recipients(r, m), evil) {
		t.Error("a forged pre-key is a recipient")
	}

	// Two different pre-keys of one version: neither; the long-term one.
	conflict := slices.Clone(a.all)
	conflict = append(conflict, trust.SignAsDevice(ada.id, ada.sign, trust.Statement{Kind: trust.KindPreKey, Device: "ada1", Recipient: recipient(t), Version: 2}))
	r = trust.Evaluate(a.key.Public(), conflict)
	if _, ok := r.PreKeys["ada1"]; ok || !slices.Contains(trust.Recipients(r, m), longTerm) {
		t.Errorf("a conflict at the top version: pre-key %+v kept", r.PreKeys["ada1"])
	}

	// Revoked: no pre-key, no recipient.
	a.sign(trust.Statement{Kind: trust.KindRevoke, Device: "ada1", AfterSeq: 1})
	r = a.eval()
	if _, ok := r.PreKeys["ada1"]; ok {
		t.Error("a revoked device keeps its pre-key")
	}
	for _, rc := range trust.Recipients(r, m) {
		if rc == rec2 || rc == longTerm {
			t.Error("a revoked device is still a recipient")
		}
	}
}

func TestPreKeyStatementChecks(t *testing.T) {
	for _, st := range []trust.Statement{
		{Kind: trust.KindPreKey, Device: "d1", Recipient: "age1xyz", Version: 1},
		{Kind: trust.KindPreKey, Device: "d1", Recipient: "age1pq1xyz", Version: 0},
		{Kind: trust.KindPreKey, Device: "", Recipient: "age1pq1xyz", Version: 1},
	} {
		if _, err := trust.UnmarshalStatement(st.Marshal()); err == nil {
			t.Errorf("%+v accepted", st)
		}
	}
	st := trust.Statement{Kind: trust.KindPreKey, Issued: time.Unix(1_800_000_000, 0).UTC(), Device: "d1", Recipient: "age1pq1xyz", Version: 3}
	got, err := trust.UnmarshalStatement(st.Marshal())
	if err != nil || got.Device != st.Device || got.Recipient != st.Recipient || got.Version != 3 || !got.Issued.Equal(st.Issued) {
		t.Errorf("round trip: %+v, %v", got, err)
	}
	if !strings.Contains(st.Kind.String(), "pre-key") {
		t.Errorf("kind name %q", st.Kind)
	}
}
