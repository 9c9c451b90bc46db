package trust

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/kat"
)

// TestLifecycleVectors pins the encodings, signed messages, signatures and
// ids of the retention policy, legal hold, release and destruction
// approval statements (lifecycle.go).
func TestLifecycleVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[statementIn] {
		issued := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
		dev := "01JQ3ZM1A2B3C4D5E6F7G8H9JK"
		c := "01JQ3ZP0CASE00000000000001"
		agency := func(name string, s Statement) kat.Vector[statementIn] {
			return kat.Vector[statementIn]{Name: name, In: statementIn{Statement: s, SignedBy: "agency", Seed: katSeed("agency")}}
		}
		device := func(name string, s Statement) kat.Vector[statementIn] {
			return kat.Vector[statementIn]{Name: name, In: statementIn{Statement: s, SignedBy: "device", Seed: katSeed("device " + dev), DeviceID: dev}}
		}
		return []kat.Vector[statementIn]{
			agency("retention policy", Statement{Kind: KindRetention, Issued: issued, Version: 2,
				Doc: []byte(`{"approvals":2,"default":[{"from":"closed","years":6}],"types":{"child":[{"from":"birth","years":75}]}}`)}),
			agency("legal hold by the agency", Statement{Kind: KindHold, Issued: issued, Case: c, Team: "north", Ref: "FD26P00123",
				Name: "Family Court", Reason: "care proceedings"}),
			device("legal hold by a supervisor", Statement{Kind: KindHold, Issued: issued, Case: c, Team: "north", Ref: "inquiry 7", Name: "the inquiry"}),
			agency("hold release", Statement{Kind: KindRelease, Issued: issued, Case: c, Team: "north",
				Ref: "2c82e568debc169a91508a68839eb68194e517dd39d14a41c5b8bde797326166", Reason: "proceedings ended"}),
			device("destruction approval", Statement{Kind: KindDestroy, Issued: issued, Case: c, Team: "north", Version: 2,
				Due: time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC), Reason: "past retention"}),
		}
	}
	kat.Run(t, "testdata/vectors/lifecycle.json", "lifecycle statements (trust.KindRetention, KindHold, KindRelease, KindDestroy)",
		"sig = Ed25519 over \"fieldcase statement v1\\x00\" ‖ signer ‖ body. The seeds here are fixed test vectors, not secrets.",
		gen, func(t *testing.T, in statementIn) map[string]string {
			body := in.Statement.Marshal()
			back, err := UnmarshalStatement(body)
			if err != nil {
				t.Fatalf("the statement does not decode: %v", err)
			}
			if string(back.Marshal()) != string(body) {
				t.Errorf("the statement decodes to another")
			}
			priv := ed25519.NewKeyFromSeed(kat.Bytes(t, in.Seed))
			var s Signed
			if in.SignedBy == "agency" {
				s = (&AgencyKey{priv: priv}).Sign(in.Statement)
			} else {
				s = SignAsDevice(in.DeviceID, func(m []byte) []byte { return ed25519.Sign(priv, m) }, in.Statement)
			}
			if !s.Verify(priv.Public().(ed25519.PublicKey)) {
				t.Errorf("the signature does not verify")
			}
			return map[string]string{"body": kat.Hex(body), "signer": s.Signer,
				"signed_message": kat.Hex(signedMessage(s.Signer, s.Body)), "sig": kat.Hex(s.Sig), "id": s.ID()}
		})
}
