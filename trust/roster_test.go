package trust_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// agency is a test agency: its key and the statements issued so far.
type agency struct {
	t   *testing.T
	key *trust.AgencyKey
	all []trust.Signed
}

func newAgency(t *testing.T) *agency {
	t.Helper()
	k, err := trust.GenerateAgencyKey()
	if err != nil {
		t.Fatal(err)
	}
	return &agency{t: t, key: k}
}

func (a *agency) sign(s trust.Statement) trust.Signed {
	s.Issued = time.Unix(1_800_000_000, 0)
	sg := a.key.Sign(s)
	a.all = append(a.all, sg)
	return sg
}

func (a *agency) user(id string, role trust.Role, team string, version uint64) {
	a.sign(trust.Statement{Kind: trust.KindUser, User: id, Name: id, Role: role, Team: team, Version: version})
}

// device enrols a device for user under a fresh agency grant.
func (a *agency) device(id, user string) *testDevice {
	c := trust.NewCode(a.key.Public())
	a.sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: user,
		Key: c.Key().Public().(ed25519.PublicKey), Expires: time.Unix(1_900_000_000, 0)})
	return a.enrolWith(c, id, user)
}

type testDevice struct {
	id   string
	user string
	priv ed25519.PrivateKey
}

func (d *testDevice) sign(msg []byte) []byte { return ed25519.Sign(d.priv, msg) }

func recipient(t testing.TB) string {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}

func (a *agency) enrolWith(c trust.Code, id, user string) *testDevice {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	d := &testDevice{id: id, user: user, priv: priv}
	a.all = append(a.all, trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: id,
		Name: id + "'s laptop", Recipient: recipient(a.t), Key: priv.Public().(ed25519.PublicKey), Grant: c.GrantID()}))
	return d
}

// pair has a trusted device issue a pairing code for its own user and
// enrols a new device with it.
func (a *agency) pair(by *testDevice, id string) *testDevice {
	c := trust.NewCode(a.key.Public())
	a.all = append(a.all, trust.SignAsDevice(by.id, by.sign, trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(),
		User: by.user, Key: c.Key().Public().(ed25519.PublicKey), Expires: time.Unix(1_900_000_000, 0)}))
	return a.enrolWith(c, id, by.user)
}

func (a *agency) eval() *trust.Roster { return trust.Evaluate(a.key.Public(), a.all) }

func TestRosterHappyPath(t *testing.T) {
	a := newAgency(t)
	a.sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North"})
	a.user("ada", trust.RoleCaseworker, "north", 1)
	a.user("sam", trust.RoleSupervisor, "north", 1)
	rec := recipient(t)
	a.sign(trust.Statement{Kind: trust.KindRecovery, Recipient: rec, Version: 1})
	ada1 := a.device("ada1", "ada")
	a.pair(ada1, "ada2")
	a.device("sam1", "sam")

	r := a.eval()
	if len(r.Problems) != 0 {
		t.Fatalf("problems: %v", r.Problems)
	}
	for _, id := range []string{"ada1", "ada2", "sam1"} {
		if _, ok := r.Writer(id); !ok {
			t.Errorf("device %s not trusted", id)
		}
	}
	if got := len(r.DevicesOf("ada")); got != 2 {
		t.Errorf("ada has %d devices, want 2", got)
	}
	if r.Recovery != rec {
		t.Errorf("recovery = %.20s…, want the agency's", r.Recovery)
	}
	if r.Teams["north"].Name != "North" {
		t.Errorf("team name %q", r.Teams["north"].Name)
	}
	if len(r.Accepted) != len(a.all) {
		t.Errorf("%d of %d statements accepted", len(r.Accepted), len(a.all))
	}
}

// The statements a hostile server can make or replay, each refused.
func TestRosterRefusesWhatTheServerForges(t *testing.T) {
	server, _ := trust.GenerateAgencyKey() // the server's own key, not the agency's
	cases := []struct {
		name  string
		build func(a *agency) []trust.Signed
		check func(t *testing.T, r *trust.Roster)
	}{
		{"a user signed by another key", func(a *agency) []trust.Signed {
			return []trust.Signed{server.Sign(trust.Statement{Kind: trust.KindUser, User: "mallory", Role: trust.RoleSupervisor, Team: "north", Version: 1})}
		}, func(t *testing.T, r *trust.Roster) {
			if _, ok := r.Users["mallory"]; ok {
				t.Error("forged user trusted")
			}
		}},
		{"a recovery recipient signed by another key", func(a *agency) []trust.Signed {
			return []trust.Signed{server.Sign(trust.Statement{Kind: trust.KindRecovery, Recipient: recipient(t), Version: 99})}
		}, func(t *testing.T, r *trust.Roster) {
			if r.Recovery == "" || r.RecoveryVersion != 1 {
				t.Errorf("recovery %d replaced by a forged one", r.RecoveryVersion)
			}
		}},
		{"an operator-enrolled device (grant by the server)", func(a *agency) []trust.Signed {
			c := trust.NewCode(a.key.Public())
			g := server.Sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: "ada", Key: c.Key().Public().(ed25519.PublicKey)})
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			d := trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: "evil", Recipient: recipient(t), Key: priv.Public().(ed25519.PublicKey), Grant: c.GrantID()})
			return []trust.Signed{g, d}
		}, func(t *testing.T, r *trust.Roster) {
			if _, ok := r.Devices["evil"]; ok {
				t.Error("operator-enrolled device trusted")
			}
		}},
		{"a device statement under a real grant without the code", func(a *agency) []trust.Signed {
			// The server knows the grant (and its public key) but not the
			// code's secret: it signs with a key of its own.
			c := trust.NewCode(a.key.Public())
			a.sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: "ada", Key: c.Key().Public().(ed25519.PublicKey)})
			other := trust.NewCode(a.key.Public())
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			st := trust.Statement{Kind: trust.KindDevice, Device: "evil", Recipient: recipient(t), Key: priv.Public().(ed25519.PublicKey), Grant: c.GrantID()}
			forged := trust.SignWithCode(other, st)
			forged.Signer = trust.SignerGrant(c.GrantID())
			return []trust.Signed{forged}
		}, func(t *testing.T, r *trust.Roster) {
			if _, ok := r.Devices["evil"]; ok {
				t.Error("device enrolled without the code")
			}
		}},
		{"an older user statement replayed", func(a *agency) []trust.Signed {
			return nil // the agency's own history holds both versions
		}, func(t *testing.T, r *trust.Roster) {
			if r.Users["bob"].Role != trust.RoleCaseworker {
				t.Errorf("bob is a %s: the older (supervisor) statement won", r.Users["bob"].Role)
			}
		}},
		{"a body altered after signing", func(a *agency) []trust.Signed {
			s := a.key.Sign(trust.Statement{Kind: trust.KindUser, User: "eve", Role: trust.RoleCaseworker, Team: "north", Version: 1})
			st, _ := s.Open()
			st.Role = trust.RoleSupervisor
			s.Body = st.Marshal()
			return []trust.Signed{s}
		}, func(t *testing.T, r *trust.Roster) {
			if _, ok := r.Users["eve"]; ok {
				t.Error("altered statement trusted")
			}
		}},
		{"a grant for a user by another user's device", func(a *agency) []trust.Signed {
			sam := a.device("sam1", "sam")
			c := trust.NewCode(a.key.Public())
			g := trust.SignAsDevice(sam.id, sam.sign, trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: "ada", Key: c.Key().Public().(ed25519.PublicKey)})
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			d := trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: "sams-pick", Recipient: recipient(t), Key: priv.Public().(ed25519.PublicKey), Grant: c.GrantID()})
			return append(a.all, g, d)
		}, func(t *testing.T, r *trust.Roster) {
			if _, ok := r.Devices["sams-pick"]; ok {
				t.Error("a supervisor's device enrolled a device for a caseworker")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAgency(t)
			a.user("ada", trust.RoleCaseworker, "north", 1)
			a.user("sam", trust.RoleSupervisor, "north", 1)
			a.user("bob", trust.RoleSupervisor, "north", 1)
			a.user("bob", trust.RoleCaseworker, "north", 2)
			a.sign(trust.Statement{Kind: trust.KindRecovery, Recipient: recipient(t), Version: 1})
			a.device("ada1", "ada")
			extra := c.build(a)
			r := trust.Evaluate(a.key.Public(), append(slices.Clone(a.all), extra...))
			c.check(t, r)
			if _, ok := r.Writer("ada1"); !ok {
				t.Error("the real device lost its trust")
			}
		})
	}
}

func TestRosterConflictsFailClosed(t *testing.T) {
	a := newAgency(t)
	a.user("ada", trust.RoleCaseworker, "north", 1)
	a.user("ada", trust.RoleSupervisor, "north", 1) // same version, different content
	a.sign(trust.Statement{Kind: trust.KindRecovery, Recipient: recipient(t), Version: 3})
	a.sign(trust.Statement{Kind: trust.KindRecovery, Recipient: recipient(t), Version: 3})
	r := a.eval()
	if _, ok := r.Users["ada"]; ok {
		t.Error("a user with two conflicting statements is trusted")
	}
	if r.Recovery != "" {
		t.Error("one of two conflicting recovery recipients is trusted")
	}
	if len(r.Problems) < 2 {
		t.Errorf("problems %v, want both conflicts named", r.Problems)
	}
}

func TestRosterCodeUsedTwice(t *testing.T) {
	a := newAgency(t)
	a.user("ada", trust.RoleCaseworker, "north", 1)
	c := trust.NewCode(a.key.Public())
	a.sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: "ada", Key: c.Key().Public().(ed25519.PublicKey)})
	a.enrolWith(c, "ada1", "ada")
	a.enrolWith(c, "thief", "ada") // someone who saw the code
	r := a.eval()
	for _, id := range []string{"ada1", "thief"} {
		if _, ok := r.Devices[id]; ok {
			t.Errorf("device %s trusted though its code enrolled two devices", id)
		}
	}
	if !slices.ContainsFunc(r.Problems, func(p trust.Problem) bool { return strings.Contains(p.What, "more than one device") }) {
		t.Errorf("problems %v do not say the code was used twice", r.Problems)
	}
}

func TestRosterRevocation(t *testing.T) {
	a := newAgency(t)
	a.user("ada", trust.RoleCaseworker, "north", 1)
	a.user("bob", trust.RoleCaseworker, "north", 1)
	a.user("cat", trust.RoleCaseworker, "south", 1)
	a.user("sam", trust.RoleSupervisor, "north", 1)
	ada1 := a.device("ada1", "ada")
	ada2 := a.pair(ada1, "ada2") // paired by ada1
	bob1 := a.device("bob1", "bob")
	sam1 := a.device("sam1", "sam")
	cat1 := a.device("cat1", "cat")
	_ = ada2

	// Bob's device cannot revoke Ada's, Cat's supervisor-less device cannot
	// revoke anyone in north; Sam (north's supervisor) can.
	a.all = append(a.all,
		trust.SignAsDevice(bob1.id, bob1.sign, trust.Statement{Kind: trust.KindRevoke, Device: "ada1"}),
		trust.SignAsDevice(cat1.id, cat1.sign, trust.Statement{Kind: trust.KindRevoke, Device: "bob1"}))
	r := a.eval()
	if r.Devices["ada1"].Revoked || r.Devices["bob1"].Revoked {
		t.Fatal("a revocation by a device without the right stood")
	}
	a.all = append(a.all, trust.SignAsDevice(sam1.id, sam1.sign, trust.Statement{Kind: trust.KindRevoke, Device: "ada1", AfterSeq: 40}))
	r = a.eval()
	d := r.Devices["ada1"]
	if !d.Revoked || d.AfterSeq != 40 {
		t.Fatalf("ada1 = %+v, want revoked after 40", d)
	}
	// ada2 was paired by ada1: a thief with ada1 could have issued that
	// code, so it is no longer trusted either.
	if _, ok := r.Devices["ada2"]; ok {
		t.Error("a device paired by a revoked device is still trusted")
	}
	// The agency's revocation of the same device with a lower cutoff wins.
	a.sign(trust.Statement{Kind: trust.KindRevoke, Device: "ada1", AfterSeq: 12})
	if got := a.eval().Devices["ada1"].AfterSeq; got != 12 {
		t.Errorf("cutoff %d, want the strictest (12)", got)
	}
}

// A revocation signed with the log's size refuses the device's revisions
// logged at or after it, whatever sequence number they claim: the number
// is the writer's word, the log's order is not.
func TestRevocationLogSize(t *testing.T) {
	a := newAgency(t)
	a.user("ada", trust.RoleCaseworker, "north", 1)
	a.user("sam", trust.RoleSupervisor, "north", 1)
	a.device("ada1", "ada")
	sam1 := a.device("sam1", "sam")
	rv := trust.Statement{Kind: trust.KindRevoke, Device: "ada1", AfterSeq: 40, Reason: "stolen", LogSize: 500}
	back, err := trust.UnmarshalStatement(rv.Marshal())
	if err != nil || back.LogSize != 500 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	// An explicit zero size is not the canonical encoding of "no size".
	if _, err := trust.UnmarshalStatement(append(trust.Statement{Kind: trust.KindRevoke, Device: "ada1"}.Marshal(), 0)); err == nil {
		t.Error("a revocation with an explicit zero log size decoded")
	}
	a.all = append(a.all, trust.SignAsDevice(sam1.id, sam1.sign, rv))
	r := a.eval()
	d := r.Devices["ada1"]
	if !d.Revoked || d.LogSize != 500 {
		t.Fatalf("ada1 = %+v, want revoked at log size 500", d)
	}
	wr, ok := r.Writer("ada1")
	if !ok {
		t.Fatal("no writer for ada1")
	}
	m := trust.Membership{Team: "north", Members: []string{"ada"}}
	caseID := "case1"
	w := trust.Write{RecordID: trust.NewRecordID("ada1", time.Now()), CaseID: caseID, Kind: record.KindNote, Generation: 1, Device: "ada1", Seq: 7}
	for _, c := range []struct {
		index int64
		ok    bool
	}{{-1, false}, {0, true}, {499, true}, {500, false}, {9000, false}} {
		w.LogIndex = c.index
		err := trust.MayWrite(wr, w, m)
		if (err == nil) != c.ok {
			t.Errorf("seq 7 logged at %d: %v, want allowed %v", c.index, err, c.ok)
		}
	}
	// A second revocation with a smaller size tightens it; one without a
	// size leaves it.
	a.sign(trust.Statement{Kind: trust.KindRevoke, Device: "ada1", AfterSeq: 40})
	if got := a.eval().Devices["ada1"].LogSize; got != 500 {
		t.Errorf("log size %d after a revocation without one, want 500", got)
	}
	a.sign(trust.Statement{Kind: trust.KindRevoke, Device: "ada1", AfterSeq: 45, LogSize: 120})
	if got := a.eval().Devices["ada1"]; got.LogSize != 120 || got.AfterSeq != 40 {
		t.Errorf("revocation %+v, want the strictest of each (40, 120)", got)
	}
}

func TestEvaluateIgnoresOrder(t *testing.T) {
	a := newAgency(t)
	a.user("ada", trust.RoleCaseworker, "north", 1)
	a.user("sam", trust.RoleSupervisor, "north", 1)
	ada1 := a.device("ada1", "ada")
	a.pair(ada1, "ada2")
	sam1 := a.device("sam1", "sam")
	a.all = append(a.all, trust.SignAsDevice(sam1.id, sam1.sign, trust.Statement{Kind: trust.KindRevoke, Device: "ada1", AfterSeq: 3}))
	want := a.eval()
	for i := 0; i < 20; i++ {
		shuffled := slices.Clone(a.all)
		for j := range shuffled {
			k := j + int(randUint(uint64(len(shuffled)-j)))
			shuffled[j], shuffled[k] = shuffled[k], shuffled[j]
		}
		got := trust.Evaluate(a.key.Public(), shuffled)
		if len(got.Devices) != len(want.Devices) || len(got.Accepted) != len(want.Accepted) {
			t.Fatalf("order %d: %d devices, %d accepted; want %d, %d", i, len(got.Devices), len(got.Accepted), len(want.Devices), len(want.Accepted))
		}
		for id, d := range want.Devices {
			if g := got.Devices[id]; g.Revoked != d.Revoked || g.AfterSeq != d.AfterSeq {
				t.Fatalf("order %d: device %s = %+v, want %+v", i, id, g, d)
			}
		}
	}
}

func randUint(n uint64) uint64 {
	var b [8]byte
	rand.Read(b[:])
	v := uint64(0)
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v % n
}

func TestCodeRoundTrip(t *testing.T) {
	k, _ := trust.GenerateAgencyKey()
	c := trust.NewCode(k.Public())
	s := c.String()
	if len(s) != 39 || strings.Count(s, "-") != 7 {
		t.Fatalf("code %q: want 8 groups of 4", s)
	}
	typed := strings.ToLower(strings.ReplaceAll(s, "-", " "))
	got, err := trust.ParseCode(typed)
	if err != nil || got != c {
		t.Fatalf("ParseCode(%q) = %v, %v; want the code back", typed, got, err)
	}
	if !got.MatchesAgency(k.Public()) {
		t.Error("code does not match its agency")
	}
	other, _ := trust.GenerateAgencyKey()
	if got.MatchesAgency(other.Public()) {
		t.Error("code matches another agency")
	}
	for _, bad := range []string{"", "K7QD", s + "X", strings.Replace(s, s[:1], "U", 1)} {
		if _, err := trust.ParseCode(bad); err == nil {
			t.Errorf("ParseCode(%q) accepted", bad)
		}
	}
}

func TestAgencyKeyFile(t *testing.T) {
	k, _ := trust.GenerateAgencyKey()
	pass := "correct horse battery staple " + t.Name()
	file, err := k.Encrypt(pass)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(file), "FIELDCASE-AGENCY-KEY") {
		t.Fatal("key file holds the key in the clear")
	}
	back, err := trust.DecryptAgencyKey(file, pass)
	if err != nil || !back.Public().Equal(k.Public()) {
		t.Fatalf("DecryptAgencyKey = %v", err)
	}
	if _, err := trust.DecryptAgencyKey(file, "wrong"); err != trust.ErrWrongPassphrase {
		t.Errorf("wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	pub, err := trust.ParseAgencyKey(trust.FormatAgencyKey(k.Public()))
	if err != nil || !pub.Equal(k.Public()) {
		t.Errorf("agency key text round trip: %v", err)
	}
	if fp := trust.AgencyFingerprint(k.Public()); len(fp) != 23 {
		t.Errorf("fingerprint %q", fp)
	}
}

func TestRosterGrants(t *testing.T) {
	a := newAgency(t)
	a.user("ada", trust.RoleCaseworker, "north", 1)
	ada1 := a.device("ada1", "ada")
	a.pair(ada1, "ada2")
	r := a.eval()
	if len(r.Grants) != 2 {
		t.Fatalf("%d grants, want the agency's and the pairing one", len(r.Grants))
	}
	signers := map[string]bool{}
	for _, g := range r.Grants {
		signers[g.Signer] = true
		if g.User != "ada" || len(g.Key) != ed25519.PublicKeySize {
			t.Errorf("grant %+v", g)
		}
	}
	if !signers[trust.SignerAgency] || !signers[trust.SignerDevice("ada1")] {
		t.Errorf("grant signers %v", signers)
	}
}
