package trust

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/kat"
)

// TestPreKeyVectors pins the pre-key statement's encoding, signed message,
// signature and id (prekey.go).
func TestPreKeyVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[statementIn] {
		dev := "01JQ3ZM1A2B3C4D5E6F7G8H9JK"
		return []kat.Vector[statementIn]{{Name: "pre-key", In: statementIn{SignedBy: "device", Seed: katSeed("device " + dev), DeviceID: dev,
			Statement: Statement{Kind: KindPreKey, Issued: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC), Device: dev,
				Recipient: "age1pq1 (any recipient text; the statement carries it as it is)", Version: 7}}}}
	}
	kat.Run(t, "testdata/vectors/prekey.json", "pre-key statements (trust.KindPreKey)",
		"sig = Ed25519 over \"fieldcase statement v1\\x00\" ‖ signer ‖ body. The seed here is a fixed test vector, not a secret.",
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
			s := SignAsDevice(in.DeviceID, func(m []byte) []byte { return ed25519.Sign(priv, m) }, in.Statement)
			if !s.Verify(priv.Public().(ed25519.PublicKey)) {
				t.Errorf("the signature does not verify")
			}
			return map[string]string{"body": kat.Hex(body), "signer": s.Signer,
				"signed_message": kat.Hex(signedMessage(s.Signer, s.Body)), "sig": kat.Hex(s.Sig), "id": s.ID()}
		})
}
