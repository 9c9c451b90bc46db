package transparency_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/internal/kat"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
)

// entryIn is a log entry as a vector gives it.
type entryIn struct {
	Kind      byte   `json:"kind"`
	Rev       string `json:"rev,omitempty"` // hex
	CaseID    string `json:"case_id,omitempty"`
	RecordID  string `json:"record_id,omitempty"`
	RecKind   string `json:"rec_kind,omitempty"`
	Epoch     uint32 `json:"epoch,omitempty"`
	Device    string `json:"device,omitempty"`
	Seq       uint64 `json:"seq,omitempty"`
	Statement string `json:"statement,omitempty"`
	Head      string `json:"head,omitempty"` // hex
}

type logIn struct {
	LogSKey     string    `json:"log_skey"` // note private key: a test vector, not a secret
	LogVKey     string    `json:"log_vkey"`
	Origin      string    `json:"origin"`
	WitnessDev  string    `json:"witness_device"`
	WitnessSeed string    `json:"witness_seed"` // hex Ed25519 seed of the witnessing device
	Entries     []entryIn `json:"entries"`
	ReceiptTime string    `json:"receipt_time"` // RFC 3339, milliseconds
}

func seed(label string) string {
	h := sha256.Sum256([]byte("kat seed " + label))
	return hex.EncodeToString(h[:])
}

// TestLogVectors pins the change log both ends agree on: each entry's
// encoding, leaf and leaf hash, the case tag, the audit-head signature, the
// tree's root (tlog), an inclusion and a consistency proof, the checkpoint
// text, its note signature by the log and a device's cosignature, and a
// receipt's signature.
func TestLogVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[logIn] {
		skey, vkey, err := transparency.GenerateLogKey("fieldcase-log.kat")
		if err != nil {
			t.Fatal(err)
		}
		dev := "01JQ3ZM1A2B3C4D5E6F7G8H9JK"
		caseID := "01JQ3ZK6W8Y4V1N5M2B7C9D0EF"
		rev := func(l string) string { h := sha256.Sum256([]byte(l)); return hex.EncodeToString(h[:]) }
		in := logIn{LogSKey: skey, LogVKey: vkey, Origin: "fieldcase/kat-server", WitnessDev: dev, WitnessSeed: seed("device " + dev),
			ReceiptTime: "2026-03-14T09:26:53.589Z"}
		in.Entries = []entryIn{
			{Kind: byte(transparency.KindStatement), Statement: rev("a statement's id")},
			{Kind: byte(transparency.KindRevision), Rev: rev("r1"), CaseID: caseID, RecordID: caseID, RecKind: "case", Epoch: 1, Device: dev, Seq: 1},
			{Kind: byte(transparency.KindRevision), Rev: rev("r2"), CaseID: caseID, RecordID: record.KeyringID(caseID, 1), RecKind: "keyring", Epoch: 1, Device: dev, Seq: 2},
			{Kind: byte(transparency.KindRevision), Rev: rev("r3"), CaseID: caseID, RecordID: "01JQ3ZP0NOTE00000000000001", RecKind: "note", Epoch: 70000, Device: dev, Seq: 300},
			{Kind: byte(transparency.KindAuditHead), CaseID: caseID, Device: dev, Seq: 12, Head: rev("audit head")},
		}
		return []kat.Vector[logIn]{{Name: "a log of five entries", In: in}}
	}
	kat.Run(t, "testdata/vectors/log.json", "the change log (transparency: entries, leaves, tree, checkpoints, receipts)",
		"The log key and the witness seed here are fixed test vectors, not secrets.",
		gen, computeLog)
}

func computeLog(t *testing.T, in logIn) map[string]string {
	out := map[string]string{}
	wpriv := ed25519.NewKeyFromSeed(kat.Bytes(t, in.WitnessSeed))
	wsign := func(m []byte) []byte { return ed25519.Sign(wpriv, m) }
	var hashes []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	var entries []transparency.Entry
	for i, ei := range in.Entries {
		e := transparency.Entry{Kind: transparency.Kind(ei.Kind), CaseID: ei.CaseID, RecordID: ei.RecordID,
			RecKind: record.Kind(ei.RecKind), Epoch: ei.Epoch, Device: ei.Device, Seq: ei.Seq, Statement: ei.Statement}
		if ei.Rev != "" {
			e.Rev = record.RevID(kat.Bytes(t, ei.Rev))
		}
		if ei.Head != "" {
			e.Head = [32]byte(kat.Bytes(t, ei.Head))
			e.Sig = wsign(transparency.AuditHeadMessage(e.Device, e.CaseID, e.Seq, e.Head))
			out[entryKey(i, "audit_head_message")] = kat.Hex(transparency.AuditHeadMessage(e.Device, e.CaseID, e.Seq, e.Head))
			if !e.VerifyAuditHead(wpriv.Public().(ed25519.PublicKey)) {
				t.Errorf("entry %d: the audit head's signature does not verify", i)
			}
		}
		full := e.Marshal()
		back, err := transparency.UnmarshalEntry(full)
		if err != nil || string(back.Marshal()) != string(full) {
			t.Errorf("entry %d does not decode to itself: %v", i, err)
		}
		leaf, err := transparency.ParseLeaf(e.Leaf())
		if err != nil || string(leaf.Data()) != string(e.Leaf()) {
			t.Errorf("entry %d's leaf does not parse to itself: %v", i, err)
		}
		if e.CaseID != "" {
			tag := transparency.CaseTag(e.CaseID)
			out["case_tag "+e.CaseID] = kat.Hex(tag[:])
		}
		h := e.Hash()
		out[entryKey(i, "encoding")] = kat.Hex(full)
		out[entryKey(i, "leaf")] = kat.Hex(e.Leaf())
		out[entryKey(i, "leaf_hash")] = kat.Hex(h[:])
		sh, err := tlog.StoredHashes(int64(i), e.Leaf(), reader)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, sh...)
		entries = append(entries, e)
	}
	n := int64(len(entries))
	root, err := tlog.TreeHash(n, reader)
	if err != nil {
		t.Fatal(err)
	}
	out["root"] = kat.Hex(root[:])
	older, err := tlog.TreeHash(n-2, reader)
	if err != nil {
		t.Fatal(err)
	}
	cp := transparency.Checkpoint{Origin: in.Origin, Size: n, Root: root}
	incl, err := tlog.ProveRecord(n, 1, reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := transparency.CheckInclusion(cp, 1, entries[1], transparency.Proof(incl)); err != nil {
		t.Error(err)
	}
	out["inclusion_proof 1"] = joinHashes(incl)
	cons, err := tlog.ProveTree(n, n-2, reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := transparency.CheckConsistency(transparency.Checkpoint{Origin: in.Origin, Size: n - 2, Root: older}, cp, transparency.Proof(cons)); err != nil {
		t.Error(err)
	}
	out["consistency_proof"] = joinHashes(cons)
	out["checkpoint"] = cp.Text()

	key, err := transparency.NewLogKey(in.LogSKey, in.LogVKey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := key.Sign(cp)
	if err != nil {
		t.Fatal(err)
	}
	out["signed_checkpoint"] = string(signed)
	w, err := transparency.WitnessSigner(in.WitnessDev, wpriv.Public().(ed25519.PublicKey), wsign)
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := transparency.Cosign(signed, w)
	if err != nil {
		t.Fatal(err)
	}
	out["cosigned_checkpoint"] = string(cosigned)
	wv, err := transparency.WitnessVerifier(in.WitnessDev, wpriv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if got, by, err := transparency.Open(cosigned, in.LogVKey, wv); err != nil || got != cp || len(by) != 1 {
		t.Errorf("the cosigned checkpoint opens to %+v, %v, %v", got, by, err)
	}
	at, err := time.Parse(time.RFC3339Nano, in.ReceiptTime)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := key.SignReceipt(entries[1].Rev, 1, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Verify(in.LogVKey); err != nil {
		t.Error(err)
	}
	out["receipt_sig"] = kat.Hex(rc.Sig)
	return out
}

func entryKey(i int, what string) string { return "entry " + string(rune('0'+i)) + " " + what }

func joinHashes(hs []tlog.Hash) string {
	var s []string
	for _, h := range hs {
		s = append(s, hex.EncodeToString(h[:]))
	}
	return strings.Join(s, " ")
}
