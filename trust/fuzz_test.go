package trust_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/trust"
)

// FuzzUnmarshalStatement: any bytes either fail to decode or decode to a
// statement whose encoding is exactly those bytes (one encoding per value:
// signatures over it are stable).
func FuzzUnmarshalStatement(f *testing.F) {
	k, _ := trust.GenerateAgencyKey()
	c := trust.NewCode(k.Public())
	for _, st := range []trust.Statement{
		{Kind: trust.KindTeam, Team: "north", Name: "North"},
		{Kind: trust.KindUser, User: "ada", Name: "Ada", Role: trust.RoleCaseworker, Team: "north", Version: 3},
		{Kind: trust.KindGrant, Grant: c.GrantID(), User: "ada", Key: c.Key().Public().(ed25519.PublicKey), Expires: time.Unix(1_900_000_000, 0)},
		{Kind: trust.KindDevice, Device: "d1", Name: "laptop", Recipient: "age1pq1xyz", Key: make([]byte, 32), Grant: c.GrantID()},
		{Kind: trust.KindRevoke, Device: "d1", AfterSeq: 12, Reason: "lost"},
		{Kind: trust.KindRevoke, Device: "d1", AfterSeq: 12, Reason: "lost", LogSize: 300},
		{Kind: trust.KindRecovery, Recipient: "age1pq1abc", Version: 2},
		{Kind: trust.KindDueRules, Team: "north", Version: 2, Rules: []trust.DueRule{{Key: "court report", Days: 3}, {Key: "normal", Days: 5}}},
		{Kind: trust.KindRetention, Version: 2, Doc: []byte(`{"approvals":2,"default":[{"from":"closed","years":6}]}`)},
		{Kind: trust.KindHold, Case: "c1", Team: "north", Ref: "FD1", Name: "court", Reason: "r"},
		{Kind: trust.KindRelease, Case: "c1", Team: "north", Ref: strings.Repeat("a", 64)},
		{Kind: trust.KindDestroy, Case: "c1", Team: "north", Version: 2, Due: time.Unix(1_700_000_000, 0)},
		{Kind: trust.KindPolicy, Team: "north", Version: 1, Policy: policyJSON(f, 14, 1)},
		{Kind: trust.KindPreKey, Device: "d1", Recipient: "age1pq1xyz", Version: 4},
	} {
		f.Add(st.Marshal())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := trust.UnmarshalStatement(b)
		if err != nil {
			return
		}
		if again := st.Marshal(); !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v re-encodes to %x, not %x", st, again, b)
		}
	})
}

// FuzzEvaluate: whatever statements a server sends (here: JSON lists of
// signed statements, mutated), evaluating them never panics and never
// trusts a device without a chain to the agency key.
func FuzzEvaluate(f *testing.F) {
	k, _ := trust.GenerateAgencyKey()
	c := trust.NewCode(k.Public())
	user := k.Sign(trust.Statement{Kind: trust.KindUser, User: "ada", Role: trust.RoleCaseworker, Team: "north", Version: 1})
	grant := k.Sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: "ada", Key: c.Key().Public().(ed25519.PublicKey)})
	dev := trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: "d1", Recipient: "age1pq1xyz", Key: make([]byte, 32), Grant: c.GrantID()})
	js, _ := json.Marshal([]trust.Signed{user, grant, dev})
	f.Add(js)
	f.Fuzz(func(t *testing.T, b []byte) {
		var ss []trust.Signed
		if json.Unmarshal(b, &ss) != nil || len(ss) > 50 {
			return
		}
		r := trust.Evaluate(k.Public(), ss)
		for id, d := range r.Devices {
			if _, ok := r.Users[d.User]; !ok {
				t.Fatalf("device %s trusted for a user who is not", id)
			}
		}
	})
}

func FuzzParseCode(f *testing.F) {
	k, _ := trust.GenerateAgencyKey()
	f.Add(trust.NewCode(k.Public()).String())
	f.Add("k7qd 3mxa p2vh 0r8t 6wzn 1cje 4bfs 9gym")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := trust.ParseCode(s)
		if err != nil {
			return
		}
		again, err := trust.ParseCode(c.String())
		if err != nil || again != c {
			t.Fatalf("%q parses to a code whose text %q reads back as %v, %v", s, c.String(), again, err)
		}
	})
}
