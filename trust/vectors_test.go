package trust

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/kat"
)

// katSeed is a fixed Ed25519 seed made from a label: a test vector, not a
// secret.
func katSeed(label string) string {
	h := sha256.Sum256([]byte("kat seed " + label))
	return hex.EncodeToString(h[:])
}

type statementIn struct {
	Statement  Statement `json:"statement"`
	SignedBy   string    `json:"signed_by"`   // "agency", "device" or "code"
	Seed       string    `json:"seed"`        // hex Ed25519 seed of the agency or the device
	DeviceID   string    `json:"device_id"`   // the signing device
	CodeSecret string    `json:"code_secret"` // hex, 10 bytes: the enrolment code's secret
}

// TestStatementVectors pins every statement kind's canonical encoding, the
// message each signer signs, the Ed25519 signatures and the statement ids,
// and the enrolment code's text, key and grant id.
func TestStatementVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[statementIn] {
		issued := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
		agency := katSeed("agency")
		dev := "01JQ3ZM1A2B3C4D5E6F7G8H9JK"
		code := hex.EncodeToString([]byte("kat code s"))
		codeKey := Code{Secret: [10]byte(kat.Bytes(t, code))}.Key().Public().(ed25519.PublicKey)
		devPub := ed25519.NewKeyFromSeed(kat.Bytes(t, katSeed("device "+dev))).Public().(ed25519.PublicKey)
		v := func(name, by string, s Statement) kat.Vector[statementIn] {
			in := statementIn{Statement: s, SignedBy: by}
			switch by {
			case "agency":
				in.Seed = agency
			case "device":
				in.Seed, in.DeviceID = katSeed("device "+dev), dev
			case "code":
				in.CodeSecret = code
			}
			return kat.Vector[statementIn]{Name: name, In: in}
		}
		return []kat.Vector[statementIn]{
			v("team", "agency", Statement{Kind: KindTeam, Issued: issued, Team: "north", Name: "North team"}),
			v("user", "agency", Statement{Kind: KindUser, Issued: issued, User: "u-ada", Name: "Ada Lovelace", Role: RoleSupervisor, Team: "north", Version: 3}),
			v("grant by the agency", "agency", Statement{Kind: KindGrant, Issued: issued, Grant: GrantIDOf(codeKey), User: "u-ada", Key: codeKey,
				Expires: issued.Add(72 * time.Hour)}),
			v("grant by a device (pairing)", "device", Statement{Kind: KindGrant, Issued: issued, Grant: GrantIDOf(codeKey), User: "u-ada", Key: codeKey,
				Expires: issued.Add(time.Hour)}),
			v("device, signed with the code's key", "code", Statement{Kind: KindDevice, Issued: issued, Device: dev, Name: "Ada's laptop",
				Recipient: "age1pq1 (any recipient text; the statement carries it as it is)", Key: devPub, Grant: GrantIDOf(codeKey)}),
			v("revocation without a log size", "agency", Statement{Kind: KindRevoke, Issued: issued, Device: dev, AfterSeq: 41, Reason: "stolen"}),
			v("revocation with a log size", "device", Statement{Kind: KindRevoke, Issued: issued, Device: "01JQ3ZOTHERDEVICE000000001", AfterSeq: 7,
				Reason: "lost on a train", LogSize: 123456}),
			v("recovery recipient", "agency", Statement{Kind: KindRecovery, Issued: issued, Recipient: "age1pq1 recovery", Version: 2}),
		}
	}
	kat.Run(t, "testdata/vectors/statement.json", "signed statements (trust.Statement, trust.Signed)",
		"sig = Ed25519 over \"fieldcase statement v1\\x00\" ‖ signer ‖ body. The seeds and code secret here are fixed test vectors, not secrets.",
		gen, func(t *testing.T, in statementIn) map[string]string {
			body := in.Statement.Marshal()
			back, err := UnmarshalStatement(body)
			if err != nil {
				t.Fatalf("the statement does not decode: %v", err)
			}
			if string(back.Marshal()) != string(body) {
				t.Errorf("the statement decodes to another")
			}
			out := map[string]string{"body": kat.Hex(body)}
			var s Signed
			var pub ed25519.PublicKey
			switch in.SignedBy {
			case "agency":
				k := &AgencyKey{priv: ed25519.NewKeyFromSeed(kat.Bytes(t, in.Seed))}
				s, pub = k.Sign(in.Statement), k.Public()
				out["agency_key"] = FormatAgencyKey(pub)
				out["agency_fingerprint"] = AgencyFingerprint(pub)
			case "device":
				priv := ed25519.NewKeyFromSeed(kat.Bytes(t, in.Seed))
				s = SignAsDevice(in.DeviceID, func(m []byte) []byte { return ed25519.Sign(priv, m) }, in.Statement)
				pub = priv.Public().(ed25519.PublicKey)
			case "code":
				c := Code{Secret: [10]byte(kat.Bytes(t, in.CodeSecret))}
				s, pub = SignWithCode(c, in.Statement), c.Key().Public().(ed25519.PublicKey)
				out["code_public_key"] = kat.Hex(pub)
				out["grant_id"] = c.GrantID()
			default:
				t.Fatalf("signed by %q", in.SignedBy)
			}
			if !s.Verify(pub) {
				t.Errorf("the signature does not verify")
			}
			out["signer"] = s.Signer
			out["signed_message"] = kat.Hex(signedMessage(s.Signer, s.Body))
			out["sig"] = kat.Hex(s.Sig)
			out["id"] = s.ID()
			return out
		})
}

type bindingIn struct {
	Agency   string `json:"agency"`    // hex Ed25519 seed
	Code     string `json:"code"`      // hex, 10 bytes: an enrolment code's secret
	Device   string `json:"device"`    // a device id
	Salt     string `json:"salt"`      // hex: a case's salt
	CaseID   string `json:"case_id"`   // the id NewCaseID made of it
	RecordID string `json:"record_id"` // an id NewRecordID made for the device
}

// TestBindingVectors pins what ties ids and codes to keys: the enrolment
// code's text (and its agency digest), a case id's binding to its creating
// device, and a record id's binding to its writer.
func TestBindingVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[bindingIn] {
		dev := "01JQ3ZM1A2B3C4D5E6F7G8H9JK"
		caseID, salt := NewCaseID(dev, time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC))
		return []kat.Vector[bindingIn]{{Name: "a device's case and record", In: bindingIn{Agency: katSeed("agency"),
			Code: hex.EncodeToString([]byte("kat code s")), Device: dev,
			Salt: hex.EncodeToString(salt), CaseID: caseID, RecordID: NewRecordID(dev, time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC))}}}
	}
	kat.Run(t, "testdata/vectors/binding.json", "enrolment codes, case and record id bindings (trust)",
		"The seed and code secret here are fixed test vectors, not secrets.",
		gen, func(t *testing.T, in bindingIn) map[string]string {
			agency := ed25519.NewKeyFromSeed(kat.Bytes(t, in.Agency)).Public().(ed25519.PublicKey)
			c := Code{Secret: [10]byte(kat.Bytes(t, in.Code))}
			d := agencyDigest(agency)
			copy(c.Agency[:], d[:10])
			if !c.MatchesAgency(agency) {
				t.Errorf("the code does not match its agency")
			}
			parsed, err := ParseCode(c.String())
			if err != nil || parsed != c {
				t.Errorf("the code's text parses to %v, %v", parsed, err)
			}
			salt := kat.Bytes(t, in.Salt)
			if !BindsCase(in.CaseID, in.Device, salt) || BindsCase(in.CaseID, in.Device+"x", salt) {
				t.Errorf("the case id's binding does not hold for its device alone")
			}
			if !BindsRecord(in.RecordID, in.Device) || BindsRecord(in.RecordID, in.Device+"x") {
				t.Errorf("the record id's binding does not hold for its device alone")
			}
			cb := caseBinding(in.Device, salt)
			return map[string]string{"code": c.String(), "code_key": kat.Hex(c.Key().Public().(ed25519.PublicKey)),
				"grant_id": c.GrantID(), "case_binding": kat.Hex(cb[:])}
		})
}
