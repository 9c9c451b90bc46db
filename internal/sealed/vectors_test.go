package sealed

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/kat"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

type bodyIn struct {
	Kind     string `json:"kind"`
	RecordID string `json:"record_id"`
	Sealed   string `json:"sealed"` // hex: Seal's output
}

type keyringIn struct {
	Identity string   `json:"identity"` // crypto.Identity.Export of a member's device
	CaseID   string   `json:"case_id"`
	Keyring  string   `json:"keyring"` // hex: a keyring record's body (Keyring.Marshal)
	Bodies   []bodyIn `json:"bodies"`  // bodies sealed under the case key it carries
}

// TestKeyringBodyVectors pins a keyring record's body (its version, epoch,
// membership JSON and wrapped key) and the format of record bodies sealed
// under the key it carries (format 3: kind, inner format, length, content,
// Padmé zeros; raw and zstd inside). Keys and sealing nonces are random,
// so the age file and the sealed bodies are inputs, and what opening them
// gives is pinned.
func TestKeyringBodyVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[keyringIn] {
		id, err := crypto.NewIdentity()
		if err != nil {
			t.Fatal(err)
		}
		const caseID = "01JQ3ZK6W8Y4V1N5M2B7C9D0EF"
		var out []kat.Vector[keyringIn]
		for _, m := range []trust.Membership{{}, {Team: "north", Members: []string{"u-ada", "u-bo"}, Typists: []string{"u-ty"},
			Cutoffs: map[string]uint64{"01JQ3ZM1A2B3C4D5E6F7G8H9JK": 41}, CutoffLog: 1234, Salt: []byte("sixteen byte slt")}} {
			epoch := uint32(1)
			if !m.IsZero() {
				epoch = 2
			}
			k := crypto.NewCaseKey(caseID, epoch)
			wrapped, err := crypto.WrapKey(k, id.Recipient())
			if err != nil {
				t.Fatal(err)
			}
			in := keyringIn{Identity: id.Export(), CaseID: caseID,
				Keyring: hex.EncodeToString(Keyring{Epoch: epoch, Wrapped: wrapped, Membership: m}.Marshal())}
			seal := func(kind record.Kind, recID string, v any) {
				b, err := Seal(k, caseID, recID, kind, v)
				if err != nil {
					t.Fatal(err)
				}
				in.Bodies = append(in.Bodies, bodyIn{Kind: string(kind), RecordID: recID, Sealed: hex.EncodeToString(b)})
			}
			seal(record.KindCase, caseID, &record.Case{Ref: "FC-0001", Subject: "A. Child", Status: "open", Risk: "medium"})
			seal(record.KindNote, "01JQ3ZP0NOTE00000000000001", &record.Note{Text: "Visited at home; all well."})
			seal(record.KindNote, "01JQ3ZP0NOTE00000000000002", &record.Note{Text: strings.Repeat("A long note, compressed. ", 40)})
			seal(record.KindPolicy, "01JQ3ZP0POLICY000000000001", record.DefaultPolicy())
			name := "keyring v1 (no membership)"
			if !m.IsZero() {
				name = "keyring v2 (membership)"
			}
			out = append(out, kat.Vector[keyringIn]{Name: name, In: in})
		}
		return out
	}
	kat.Run(t, "testdata/vectors/keyring-and-bodies.json", "keyring record bodies and sealed record bodies (internal/sealed)",
		"keyring = version ‖ epoch(4) ‖ [membership length ‖ membership JSON] ‖ age file; "+
			"a body's plaintext = 3 ‖ kind ‖ inner format ‖ length ‖ content ‖ zeros to a Padmé length. "+
			"The identity and keys here are fixed test vectors, not secrets.",
		gen, func(t *testing.T, in keyringIn) map[string]string {
			id, err := crypto.ParseIdentityString(in.Identity)
			if err != nil {
				t.Fatal(err)
			}
			raw := kat.Bytes(t, in.Keyring)
			kr, err := DecodeKeyring(raw)
			if err != nil {
				t.Fatalf("the keyring body does not decode: %v", err)
			}
			if again := kr.Marshal(); string(again) != string(raw) {
				t.Errorf("the keyring body encodes to other bytes")
			}
			m, _ := json.Marshal(kr.Membership)
			out := map[string]string{"epoch": fmt.Sprint(kr.Epoch), "membership": string(m),
				"header": kat.Hex(raw[:len(raw)-len(kr.Wrapped)])}
			key, err := kr.Unwrap(id, in.CaseID)
			if err != nil {
				t.Fatalf("the keyring's key does not unwrap: %v", err)
			}
			for i, b := range in.Bodies {
				sealedBody := kat.Bytes(t, b.Sealed)
				plain, err := crypto.Open(key, Place(in.CaseID, b.RecordID), sealedBody)
				if err != nil {
					t.Fatalf("body %d does not open: %v", i, err)
				}
				js, err := Open(key, in.CaseID, b.RecordID, record.Kind(b.Kind), sealedBody)
				if err != nil {
					t.Fatalf("body %d does not decode: %v", i, err)
				}
				if _, err := Value(record.Kind(b.Kind), js); err != nil {
					t.Errorf("body %d: %v", i, err)
				}
				p := fmt.Sprintf("body %d ", i)
				out[p+"json"] = string(js)
				out[p+"plaintext length"] = fmt.Sprint(len(plain))
				out[p+"plaintext head"] = kat.Hex(plain[:3]) // format, kind, inner format
				if plain[2] == bodyRaw {
					out[p+"plaintext"] = kat.Hex(plain) // zstd's bytes may differ between versions; raw ones may not
				}
			}
			return out
		})
}

type padIn struct {
	Kind string `json:"kind"`
	JSON string `json:"json"`
}

// TestPaddedBodyVectors pins the plaintext Seal writes for raw JSON
// contents, with their Padmé lengths.
func TestPaddedBodyVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[padIn] {
		var out []kat.Vector[padIn]
		for _, n := range []int{0, 1, 20, 60, 127, 128, 190} {
			out = append(out, kat.Vector[padIn]{Name: fmt.Sprintf("note of %d characters", n),
				In: padIn{Kind: "note", JSON: fmt.Sprintf(`{"text":%q}`, strings.Repeat("x", n))}})
		}
		out = append(out, kat.Vector[padIn]{Name: "audit event", In: padIn{Kind: "audit", JSON: `{"action":"open"}`}})
		return out
	}
	kat.Run(t, "testdata/vectors/padded-body.json", "padded body plaintext (internal/sealed, format 3, raw inside)",
		"3 ‖ kind code ‖ 1 (raw) ‖ length (uvarint) ‖ JSON ‖ zeros to padme(length of all before the zeros)",
		gen, func(t *testing.T, in padIn) map[string]string {
			k := record.Kind(in.Kind)
			plain := pad(KindCode(k), bodyRaw, []byte(in.JSON))
			js, err := DecodePlain(plain, k)
			if err != nil || string(js) != in.JSON {
				t.Errorf("the plaintext decodes to %q, %v", js, err)
			}
			return map[string]string{"plaintext": kat.Hex(plain)}
		})
}
