package store

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/fieldcase/fieldcase/internal/kat"
)

type keyringSigIn struct {
	VaultID  string `json:"vault_id"`
	Sealed   string `json:"sealed"`    // hex: the sealed keyring cache (any bytes: only its hash is signed)
	SignSeed string `json:"sign_seed"` // hex Ed25519 seed of the device: a test vector, not a secret
}

// TestKeyringCacheSigVectors pins what a device signs of its vault's
// keyring cache: a change would make every vault refuse to unlock.
func TestKeyringCacheSigVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[keyringSigIn] {
		h := sha256.Sum256([]byte("kat seed device"))
		return []kat.Vector[keyringSigIn]{{Name: "keyring cache", In: keyringSigIn{VaultID: "01JQ3ZVAULT000000000000001",
			Sealed: hex.EncodeToString([]byte("an age file")), SignSeed: hex.EncodeToString(h[:])}}}
	}
	kat.Run(t, "testdata/vectors/keyring-cache-sig.json", "the vault's keyring cache signature (store)",
		"sig = Ed25519 over \"fieldcase keyring cache v1\\x00\" ‖ vault id ‖ 0 ‖ SHA-256(sealed keyring)",
		gen, func(t *testing.T, in keyringSigIn) map[string]string {
			msg := keyringSigMsg(in.VaultID, kat.Bytes(t, in.Sealed))
			priv := ed25519.NewKeyFromSeed(kat.Bytes(t, in.SignSeed))
			return map[string]string{"message": kat.Hex(msg), "sig": kat.Hex(ed25519.Sign(priv, msg))}
		})
}
