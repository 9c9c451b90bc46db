package record_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/kat"
	"github.com/fieldcase/fieldcase/record"
)

// revisionIn is a revision as a vector gives it.
type revisionIn struct {
	RecordID   string   `json:"record_id"`
	Kind       string   `json:"kind"`
	CaseID     string   `json:"case_id"`
	Parents    []string `json:"parents"` // hex, sorted
	Generation uint64   `json:"generation"`
	HLC        uint64   `json:"hlc"`
	Device     string   `json:"device"`
	Seq        uint64   `json:"seq"`
	Deleted    bool     `json:"deleted"`
	Body       string   `json:"body"`      // hex
	SignSeed   string   `json:"sign_seed"` // hex Ed25519 seed of the device; empty: unsigned
}

// fill is deterministic filler bytes for a vector's body.
func fill(label string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		h := sha256.Sum256([]byte(label + strconv.Itoa(i)))
		out = append(out, h[:]...)
	}
	return out[:n]
}

func seedHex(label string) string {
	h := sha256.Sum256([]byte("kat seed " + label))
	return hex.EncodeToString(h[:])
}

// TestRevisionVectors pins the revision hash (Rev), the revision's binary
// encoding (unsigned: version 1, signed: version 2), the signed message and
// the Ed25519 signature, for every kind, with and without parents and as a
// tombstone.
func TestRevisionVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[revisionIn] {
		const caseID = "01JQ3ZK6W8Y4V1N5M2B7C9D0EF"
		dev := "01JQ3ZM1A2B3C4D5E6F7G8H9JK"
		p1 := sha256.Sum256([]byte("parent 1"))
		p2 := sha256.Sum256([]byte("parent 2"))
		ps := []record.RevID{p1, p2}
		record.SortRevs(ps)
		parents := []string{ps[0].String(), ps[1].String()}
		in := func(name, recID, kind string, parents []string, gen uint64, deleted bool, body []byte, signed bool) kat.Vector[revisionIn] {
			v := revisionIn{RecordID: recID, Kind: kind, CaseID: caseID, Parents: parents, Generation: gen,
				HLC: 0x0193_1f2e_3d4c<<16 | 7, Device: dev, Seq: 42, Deleted: deleted, Body: hex.EncodeToString(body)}
			if signed {
				v.SignSeed = seedHex("device " + dev)
			}
			return kat.Vector[revisionIn]{Name: name, In: v}
		}
		return []kat.Vector[revisionIn]{
			in("case, first revision, unsigned", caseID, "case", nil, 1, false, fill("case", 90), false),
			in("case, first revision, signed", caseID, "case", nil, 1, false, fill("case", 90), true),
			in("note with two parents, signed", "01JQ3ZP0NOTE00000000000001", "note", parents, 7, false, fill("note", 1500), true),
			in("note tombstone, signed", "01JQ3ZP0NOTE00000000000001", "note", parents[:1], 8, true, fill("empty sealed", 45), true),
			in("consent", "01JQ3ZP0CONSENT00000000001", "consent", nil, 1, false, fill("consent", 200), true),
			in("task", "01JQ3ZP0TASK00000000000001", "task", parents[1:], 2, false, fill("task", 130), true),
			in("recording", "01JQ3ZP0REC000000000000001", "recording", nil, 1, false, fill("recording", 300), true),
			in("keyring", record.KeyringID(caseID, 3), "keyring", nil, 1, false, fill("keyring", 2100), true),
			in("audit event", "01JQ3ZP0AUDIT0000000000001", "audit", nil, 1, false, fill("audit", 250), true),
			in("policy", "01JQ3ZP0POLICY000000000001", "policy", nil, 1, false, fill("policy", 400), true),
			in("empty body", "01JQ3ZP0NOTE00000000000002", "note", nil, 1, false, nil, false),
		}
	}
	kat.Run(t, "testdata/vectors/revision.json", "revision (record.Revision: hash, encoding, signature)",
		"Rev = SHA-256 over every field (ComputeRev); encoding = MarshalBinary; sig = Ed25519 over SignedMessage. "+
			"Keys here are fixed test vectors, not secrets.",
		gen, computeRevision)
}

func computeRevision(t *testing.T, in revisionIn) map[string]string {
	r := &record.Revision{RecordID: in.RecordID, Kind: record.Kind(in.Kind), CaseID: in.CaseID,
		Generation: in.Generation, HLC: record.HLC(in.HLC), Device: in.Device, Seq: in.Seq, Deleted: in.Deleted,
		Body: kat.Bytes(t, in.Body)}
	for _, p := range in.Parents {
		id, err := record.ParseRevID(p)
		if err != nil {
			t.Fatal(err)
		}
		r.Parents = append(r.Parents, id)
	}
	r.Seal()
	out := map[string]string{"rev": r.Rev.String(), "signed_message": kat.Hex(r.SignedMessage())}
	if in.SignSeed != "" {
		priv := ed25519.NewKeyFromSeed(kat.Bytes(t, in.SignSeed))
		r.Sign(func(m []byte) []byte { return ed25519.Sign(priv, m) })
		out["public_key"] = kat.Hex(priv.Public().(ed25519.PublicKey))
		out["sig"] = kat.Hex(r.Sig)
		if !r.VerifySig(priv.Public().(ed25519.PublicKey)) {
			t.Errorf("the vector's signature does not verify")
		}
	}
	if err := r.Validate(); err != nil {
		t.Errorf("the vector's revision does not validate: %v", err)
	}
	enc, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	out["encoding"] = kat.Hex(enc)
	back, rest, err := record.UnmarshalRevision(enc)
	if err != nil || len(rest) != 0 {
		t.Fatalf("decoding the vector's encoding: %v (%d bytes left)", err, len(rest))
	}
	if len(back.Body) == 0 {
		back.Body = r.Body // nil and empty are one body
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("decoding the encoding gives\n%+v, want\n%+v", back, r)
	}
	return out
}

type auditIn struct {
	Action   string `json:"action"`
	Detail   string `json:"detail"`
	At       string `json:"at"` // RFC 3339
	Actor    string `json:"actor"`
	Device   string `json:"device"`
	Seq      uint64 `json:"seq"`
	Prev     string `json:"prev"`
	SignSeed string `json:"sign_seed"` // hex Ed25519 seed
}

// TestAuditEventVectors pins an audit event's signed bytes (canonical JSON),
// its chain hash and its signature.
func TestAuditEventVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[auditIn] {
		dev := "01JQ3ZM1A2B3C4D5E6F7G8H9JK"
		first := auditIn{Action: record.AuditOpen, At: "2026-03-14T09:26:53.589Z", Actor: "Ada Lovelace",
			Device: dev, Seq: 1, SignSeed: seedHex("device " + dev)}
		second := auditIn{Action: record.AuditExport, Detail: "court bundle, 3 recordings \u00e9\u00e8 <&>",
			At: "2026-03-14T10:00:00Z", Actor: "Ada Lovelace", Device: dev, Seq: 2, SignSeed: first.SignSeed}
		second.Prev = auditEvent(t, first).Hash()
		return []kat.Vector[auditIn]{{Name: "first event", In: first}, {Name: "second event, chained", In: second}}
	}
	kat.Run(t, "testdata/vectors/audit-event.json", "audit event (record.AuditEvent: signed bytes, chain hash, signature)",
		"Keys here are fixed test vectors, not secrets.", gen, func(t *testing.T, in auditIn) map[string]string {
			e := auditEvent(t, in)
			priv := ed25519.NewKeyFromSeed(kat.Bytes(t, in.SignSeed))
			e.Sign(func(m []byte) []byte { return ed25519.Sign(priv, m) })
			if err := e.Verify(priv.Public().(ed25519.PublicKey)); err != nil {
				t.Error(err)
			}
			return map[string]string{"signed_bytes": string(e.SignedBytes()), "hash": e.Hash(), "sig": kat.Hex(e.Sig)}
		})
}

func auditEvent(t *testing.T, in auditIn) record.AuditEvent {
	at, err := time.Parse(time.RFC3339Nano, in.At)
	if err != nil {
		t.Fatal(err)
	}
	return record.AuditEvent{Action: in.Action, Detail: in.Detail, At: at, Actor: in.Actor, Device: in.Device,
		Seq: in.Seq, Prev: in.Prev}
}
