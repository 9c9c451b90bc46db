package crypto

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/internal/kat"
)

// The vectors' case keys are fixed bytes, made from a label so the files
// say where they come from. They are test vectors, not secrets.
func katKey(label string) string {
	h := sha256.Sum256([]byte("kat case key " + label))
	return hex.EncodeToString(h[:])
}

func katCaseKey(t *testing.T, caseID string, epoch uint32, rawHex string) *CaseKey {
	var raw [KeySize]byte
	if b := kat.Bytes(t, rawHex); len(b) != KeySize {
		t.Fatalf("vector key of %d bytes", len(b))
	} else {
		copy(raw[:], b)
	}
	return caseKeyFromRaw(caseID, epoch, raw)
}

type sealIn struct {
	Key       string `json:"key"` // hex raw case key
	CaseID    string `json:"case_id"`
	Epoch     uint32 `json:"epoch"`
	RecordID  string `json:"record_id"`
	Purpose   byte   `json:"purpose"`
	Chunk     uint32 `json:"chunk"`
	Last      bool   `json:"last"`
	Nonce     string `json:"nonce"`     // hex, 24 bytes
	Plaintext string `json:"plaintext"` // hex
}

// TestSealVectors pins sealing: the associated data of a place, the subkey
// derivation and XChaCha20-Poly1305 (a body sealed with a given nonce), and
// the header. Seal draws its nonce at random, so the test also checks that
// what Seal writes has the pinned header and opens to the plaintext.
func TestSealVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[sealIn] {
		nonce := func(l string) string { h := sha256.Sum256([]byte("kat nonce " + l)); return hex.EncodeToString(h[:24]) }
		return []kat.Vector[sealIn]{
			{Name: "record body", In: sealIn{Key: katKey("a"), CaseID: "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", Epoch: 1,
				RecordID: "01JQ3ZP0NOTE00000000000001", Purpose: byte(PurposeRecord), Nonce: nonce("1"),
				Plaintext: hex.EncodeToString([]byte("\x03\x02\x01\x1b{\"text\":\"Visited at home.\"}\x00\x00\x00"))}},
			{Name: "record body, later epoch", In: sealIn{Key: katKey("b"), CaseID: "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", Epoch: 70000,
				RecordID: "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", Purpose: byte(PurposeRecord), Nonce: nonce("2"),
				Plaintext: hex.EncodeToString([]byte("\x03\x01\x01\x02{}"))}},
			{Name: "audio chunk, not last", In: sealIn{Key: katKey("a"), CaseID: "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", Epoch: 1,
				RecordID: "01JQ3ZP0REC000000000000001.t2", Purpose: byte(PurposeAudio), Chunk: 17, Nonce: nonce("3"),
				Plaintext: hex.EncodeToString([]byte("OggS-ish opus packets"))}},
			{Name: "audio chunk, last", In: sealIn{Key: katKey("a"), CaseID: "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", Epoch: 1,
				RecordID: "01JQ3ZP0REC000000000000001.t2", Purpose: byte(PurposeAudio), Chunk: 18, Last: true, Nonce: nonce("4"),
				Plaintext: hex.EncodeToString([]byte("the last packets"))}},
			{Name: "device-local metadata, empty", In: sealIn{Key: katKey("vault"), CaseID: "01JQ3ZVAULT000000000000001", Epoch: 0,
				RecordID: "profile/2", Purpose: byte(PurposeMeta), Nonce: nonce("5"), Plaintext: ""}},
		}
	}
	kat.Run(t, "testdata/vectors/seal.json", "sealing (crypto.Seal: associated data, subkeys, XChaCha20-Poly1305, header)",
		"sealed = version(1) ‖ epoch(4, big-endian) ‖ nonce(24) ‖ XChaCha20-Poly1305(subkey of purpose, ad). "+
			"Keys here are fixed test vectors, not secrets.",
		gen, func(t *testing.T, in sealIn) map[string]string {
			k := katCaseKey(t, in.CaseID, in.Epoch, in.Key)
			p := Place{CaseID: in.CaseID, RecordID: in.RecordID, Purpose: Purpose(in.Purpose), Chunk: in.Chunk, Last: in.Last}
			plain := kat.Bytes(t, in.Plaintext)
			nonce := kat.Bytes(t, in.Nonce)
			sealed := []byte{sealVersion, byte(in.Epoch >> 24), byte(in.Epoch >> 16), byte(in.Epoch >> 8), byte(in.Epoch)}
			sealed = append(sealed, nonce...)
			sealed = k.aead(p.Purpose).Seal(sealed, nonce, plain, p.ad(in.Epoch))
			opened, err := Open(k, p, sealed)
			if err != nil {
				t.Errorf("the pinned sealed body does not open: %v", err)
			}
			fresh := Seal(k, p, plain)
			if again, err := Open(k, p, fresh); err != nil || string(again) != string(plain) {
				t.Errorf("Seal's output does not open to its plaintext: %v", err)
			}
			if len(fresh) != len(sealed) || string(fresh[:headerSize]) != string(sealed[:headerSize]) {
				t.Errorf("Seal writes header %x and %d bytes; pinned: %x and %d", fresh[:headerSize], len(fresh), sealed[:headerSize], len(sealed))
			}
			return map[string]string{"ad": kat.Hex(p.ad(in.Epoch)), "sealed": kat.Hex(sealed), "opened": kat.Hex(opened)}
		})
}

type macIn struct {
	Key     string `json:"key"` // hex raw case key
	Label   string `json:"label"`
	Message string `json:"message"` // hex
}

// TestMACVectors pins NewMAC's subkey and tag: the vault's heads entries
// and counters are tagged with it, so a change would call every vault file
// tampered.
func TestMACVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[macIn] {
		return []kat.Vector[macIn]{
			{Name: "heads", In: macIn{Key: katKey("vault"), Label: "heads", Message: hex.EncodeToString([]byte("case/record\x00entry"))}},
			{Name: "empty message", In: macIn{Key: katKey("vault"), Label: "meta", Message: ""}},
		}
	}
	kat.Run(t, "testdata/vectors/mac.json", "vault tags (crypto.CaseKey.NewMAC)",
		"HMAC-SHA256 under HKDF(key, \"fieldcase mac v1 \" ‖ label). Keys here are fixed test vectors, not secrets.",
		gen, func(t *testing.T, in macIn) map[string]string {
			m := katCaseKey(t, "v", 0, in.Key).NewMAC(in.Label)
			m.Write(kat.Bytes(t, in.Message))
			return map[string]string{"tag": kat.Hex(m.Sum(nil))}
		})
}

type identityIn struct {
	Identity   string `json:"identity"`   // Identity.Export
	Locked     string `json:"locked"`     // hex: LockIdentity of it (age scrypt)
	Passphrase string `json:"passphrase"` // of Locked
	Message    string `json:"message"`    // hex, signed
	Wrapped    string `json:"wrapped"`    // hex: WrapKey of a case key to it (age)
	WrapCase   string `json:"wrap_case"`  // the wrapped key's case
	WrapEpoch  uint32 `json:"wrap_epoch"` // and epoch
	Keyring    string `json:"keyring"`    // hex: SealKeyring to it (age)
}

// TestIdentityVectors pins a device identity's exported and locked forms
// (what the vault's meta bucket holds), its signatures, and the two age
// payloads it opens: a wrapped case key (inside every keyring record) and
// the sealed keyring cache. age draws fresh keys for each file, so the
// files are inputs, and what opening them gives is pinned.
func TestIdentityVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[identityIn] {
		id, err := NewIdentity()
		if err != nil {
			t.Fatal(err)
		}
		const pass = "kat vector passphrase"
		locked, err := LockIdentity(id, pass, 10)
		if err != nil {
			t.Fatal(err)
		}
		k1 := katCaseKey(t, "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", 1, katKey("a"))
		wrapped, err := WrapKey(katCaseKey(t, "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", 3, katKey("c")), id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		kr := NewKeyring()
		kr.Add(k1)
		kr.Add(katCaseKey(t, "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", 2, katKey("b")))
		kr.Add(katCaseKey(t, "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", 2, katKey("b raced"))) // a raced rotation: two keys of one epoch
		kr.Add(katCaseKey(t, "01JQ3ZOTHERCASE00000000001", 1, katKey("other")))
		sealedKR, err := SealKeyring(kr, id)
		if err != nil {
			t.Fatal(err)
		}
		return []kat.Vector[identityIn]{{Name: "device identity", In: identityIn{Identity: id.Export(),
			Locked: hex.EncodeToString(locked), Passphrase: pass, Message: hex.EncodeToString([]byte("fieldcase rev sig v1\x00 anything")),
			Wrapped: hex.EncodeToString(wrapped), WrapCase: "01JQ3ZK6W8Y4V1N5M2B7C9D0EF", WrapEpoch: 3,
			Keyring: hex.EncodeToString(sealedKR)}}}
	}
	kat.Run(t, "testdata/vectors/identity.json", "device identity, wrapped case keys and the sealed keyring (age payloads)",
		"The identity, its passphrase and every key here are fixed test vectors, not secrets.",
		gen, func(t *testing.T, in identityIn) map[string]string {
			id, err := ParseIdentityString(in.Identity)
			if err != nil {
				t.Fatalf("the vector's identity does not parse: %v", err)
			}
			out := map[string]string{
				"recipient_fingerprint": Fingerprint(id.Recipient()),
				"signing_public_key":    kat.Hex(id.SigningPublicKey()),
				"sig":                   kat.Hex(id.Sign(kat.Bytes(t, in.Message))),
			}
			if id.Export() != in.Identity {
				t.Errorf("the identity exports to other text")
			}
			unlocked, err := UnlockIdentity(kat.Bytes(t, in.Locked), in.Passphrase)
			if err != nil {
				t.Fatalf("the locked identity does not unlock: %v", err)
			}
			out["locked_signing_public_key"] = kat.Hex(unlocked.SigningPublicKey())
			out["locked_recipient_fingerprint"] = Fingerprint(unlocked.Recipient())

			plain, err := ageDecrypt(kat.Bytes(t, in.Wrapped), id.age)
			if err != nil {
				t.Fatal(err)
			}
			out["wrapped_plaintext"] = kat.Hex(plain)
			k, err := UnwrapKey(kat.Bytes(t, in.Wrapped), id, in.WrapCase, in.WrapEpoch)
			if err != nil {
				t.Fatalf("the wrapped key does not unwrap: %v", err)
			}
			out["wrapped_key"] = kat.Hex(k.raw[:])

			plain, err = ageDecrypt(kat.Bytes(t, in.Keyring), id.age)
			if err != nil {
				t.Fatal(err)
			}
			out["keyring_plaintext_length"] = fmt.Sprint(len(plain))
			kr, err := OpenKeyring(kat.Bytes(t, in.Keyring), id)
			if err != nil {
				t.Fatalf("the sealed keyring does not open: %v", err)
			}
			var keys []string
			for _, c := range kr.Cases() {
				for e := range uint32(8) {
					for _, k := range kr.All(c, e) {
						keys = append(keys, fmt.Sprintf("%s/%d/%x", c, e, k.raw))
					}
				}
			}
			slices.Sort(keys)
			out["keyring_keys"] = strings.Join(keys, " ")
			return out
		})
}
