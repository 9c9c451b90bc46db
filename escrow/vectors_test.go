package escrow

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/fieldcase/fieldcase/internal/kat"
)

func katSeed(label string) []byte {
	h := sha256.Sum256([]byte("kat seed " + label))
	return h[:]
}

type messageIn struct {
	Deposit *Deposit `json:"deposit,omitempty"`
	Receipt *Receipt `json:"receipt,omitempty"`
	Seed    string   `json:"seed"` // hex Ed25519 seed of the signer (device or service)
}

// TestMessageVectors pins what a device signs for a deposit and what the
// escrow service signs for a receipt: laptops and services of different
// versions must agree on them.
func TestMessageVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[messageIn] {
		dev := hex.EncodeToString(katSeed("device"))
		svc := hex.EncodeToString(katSeed("escrow service"))
		return []kat.Vector[messageIn]{
			{Name: "deposit", In: messageIn{Seed: dev, Deposit: &Deposit{CaseID: "01JQ3ZM1A2B3C4D5E6F7G8H9JK", Device: "01JQ3ZDEVICE00000000000001",
				Salt: []byte("sixteen byte slt"), Recipient: "age1pq1 (the escrow key's public half)", Wrapped: []byte("age-encryption.org/v1 …")}}},
			{Name: "deposit receipt", In: messageIn{Seed: svc, Receipt: &Receipt{CaseID: "01JQ3ZM1A2B3C4D5E6F7G8H9JK", What: Deposited, Recipient: "age1pq1 (the escrow key's public half)"}}},
			{Name: "destruction receipt", In: messageIn{Seed: svc, Receipt: &Receipt{CaseID: "01JQ3ZM1A2B3C4D5E6F7G8H9JK", What: Destroyed}}},
		}
	}
	kat.Run(t, "testdata/vectors/messages.json", "escrow deposits and receipts (escrow.Deposit, escrow.Receipt)",
		"sig = Ed25519 over message. The seeds here are fixed test vectors, not secrets.",
		gen, func(t *testing.T, in messageIn) map[string]string {
			priv := ed25519.NewKeyFromSeed(kat.Bytes(t, in.Seed))
			var msg []byte
			switch {
			case in.Deposit != nil:
				msg = in.Deposit.Message()
			case in.Receipt != nil:
				msg = in.Receipt.Message()
			default:
				t.Fatal("a vector with no message")
			}
			return map[string]string{"message": kat.Hex(msg), "sig": kat.Hex(ed25519.Sign(priv, msg))}
		})
}
