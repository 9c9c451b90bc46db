package store

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/trust"
)

// testAgency enrols test vaults under a real agency key, as a server's
// enrolment would, without a server: users signed by the agency, a grant
// per device, the device statement signed with the code's key.
type testAgency struct {
	t          testing.TB
	key        *trust.AgencyKey
	statements []trust.Signed
	vaults     []*Vault
}

func newTestAgency(t testing.TB) *testAgency {
	t.Helper()
	k, err := trust.GenerateAgencyKey()
	if err != nil {
		t.Fatal(err)
	}
	return &testAgency{t: t, key: k}
}

func (a *testAgency) sign(s trust.Statement) trust.Signed {
	s.Issued = time.Now()
	sg := a.key.Sign(s)
	a.statements = append(a.statements, sg)
	return sg
}

// enrol makes v the device of a new user (id = name) with role in team,
// pins the agency in v and gives every enrolled vault every statement.
func (a *testAgency) enrol(v *Vault, user string, role trust.Role, team string) {
	a.t.Helper()
	a.sign(trust.Statement{Kind: trust.KindUser, User: user, Name: user, Role: role, Team: team, Version: 1})
	a.device(v, user)
	if err := v.SetProfile(Profile{Name: user, UserID: user, Team: team, Role: role}); err != nil {
		a.t.Fatal(err)
	}
}

// device enrols v as a further device of an existing user.
func (a *testAgency) device(v *Vault, user string) {
	a.t.Helper()
	c := trust.NewCode(a.key.Public())
	a.sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: user,
		Key: c.Key().Public().(ed25519.PublicKey), Expires: time.Now().Add(time.Hour)})
	id, err := v.Identity()
	if err != nil {
		a.t.Fatal(err)
	}
	a.statements = append(a.statements, trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice,
		Device: v.DeviceID(), Name: user + "'s laptop", Recipient: id.Recipient(),
		Key: id.SigningPublicKey(), Grant: c.GrantID(), Issued: time.Now()}))
	if err := v.PinAgency(a.key.Public()); err != nil {
		a.t.Fatal(err)
	}
	a.vaults = append(a.vaults, v)
	a.share()
}

// share gives every enrolled vault every statement so far.
func (a *testAgency) share() {
	a.t.Helper()
	for _, v := range a.vaults {
		if _, err := v.AddStatements(a.statements); err != nil {
			a.t.Fatal(err)
		}
	}
}

// pullAll applies everything from's outbox holds to each of to, as a pull
// would, and fails the test on any quarantine.
func pullAll(t testing.TB, from *Vault, to ...*Vault) {
	t.Helper()
	revs, err := from.Outbox(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range to {
		res, err := v.ApplyPage(revs, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Quarantined > 0 {
			q, _ := v.Quarantine()
			t.Fatalf("%d revisions quarantined: %+v", res.Quarantined, q)
		}
	}
}
