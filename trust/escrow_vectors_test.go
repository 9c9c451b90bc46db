package trust

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/kat"
)

// TestEscrowStatementVectors pins the escrow service statement's encoding,
// signature and id (kind 21), beside TestStatementVectors' kinds.
func TestEscrowStatementVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[statementIn] {
		issued := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
		receipt := ed25519.NewKeyFromSeed(kat.Bytes(t, katSeed("escrow receipt"))).Public().(ed25519.PublicKey)
		v := func(name string, s Statement) kat.Vector[statementIn] {
			return kat.Vector[statementIn]{Name: name, In: statementIn{Statement: s, SignedBy: "agency", Seed: katSeed("agency")}}
		}
		return []kat.Vector[statementIn]{
			v("escrow service", Statement{Kind: KindEscrow, Issued: issued, URL: "https://escrow.agency.example:8444", Version: 1}),
			v("escrow service with a receipt key", Statement{Kind: KindEscrow, Issued: issued, URL: "https://escrow2.agency.example/", Key: receipt, Version: 2}),
		}
	}
	kat.Run(t, "testdata/vectors/escrow_statement.json", "escrow service statements (trust.KindEscrow)",
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
			k := &AgencyKey{priv: ed25519.NewKeyFromSeed(kat.Bytes(t, in.Seed))}
			s := k.Sign(in.Statement)
			if !s.Verify(k.Public()) {
				t.Errorf("the signature does not verify")
			}
			return map[string]string{"body": kat.Hex(body), "signed_message": kat.Hex(signedMessage(s.Signer, s.Body)), "sig": kat.Hex(s.Sig), "id": s.ID()}
		})
}
