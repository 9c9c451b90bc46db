package protocol_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/fieldcase/fieldcase/internal/kat"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

type batchIn struct {
	Header    string   `json:"header"`    // JSON, or empty for none
	Revisions []string `json:"revisions"` // hex: each revision's canonical encoding
	Blobs     []string `json:"blobs"`     // hex: blob contents, for a blob batch
}

// TestBatchVectors pins the binary revision batch (FCB1) that carries every
// push and pull, and the blob batch (FCO1) that uploads audio chunks.
func TestBatchVectors(t *testing.T) {
	gen := func(t *testing.T) []kat.Vector[batchIn] {
		h := sha256.Sum256([]byte("kat seed device"))
		priv := ed25519.NewKeyFromSeed(h[:])
		var encs []string
		var parent []record.RevID
		for i, body := range []string{"first sealed body", "", "third, a tombstone"} {
			r := &record.Revision{RecordID: "01JQ3ZP0NOTE00000000000001", Kind: record.KindNote, CaseID: "01JQ3ZK6W8Y4V1N5M2B7C9D0EF",
				Parents: parent, Generation: uint64(i + 1), HLC: record.HLC(0x0193_1f2e_3d4c<<16 | uint64(i)),
				Device: "01JQ3ZM1A2B3C4D5E6F7G8H9JK", Seq: uint64(10 + i), Deleted: i == 2, Body: []byte(body)}
			r.Seal()
			if i != 1 {
				r.Sign(func(m []byte) []byte { return ed25519.Sign(priv, m) })
			}
			enc, err := r.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			encs = append(encs, hex.EncodeToString(enc))
			parent = []record.RevID{r.Rev}
		}
		push, _ := json.Marshal(protocol.PushHeader{})
		pull, _ := json.Marshal(protocol.PullHeader{NextCursor: "3.1200", HasMore: true, AckedSeq: 11, RosterVersion: 4})
		return []kat.Vector[batchIn]{
			{Name: "push of three revisions", In: batchIn{Header: string(push), Revisions: encs}},
			{Name: "pull page", In: batchIn{Header: string(pull), Revisions: encs[:2]}},
			{Name: "empty, no header", In: batchIn{}},
			{Name: "blob batch", In: batchIn{Blobs: []string{hex.EncodeToString([]byte("sealed chunk 0")), ""}}},
		}
	}
	kat.Run(t, "testdata/vectors/batch.json", "revision batch (FCB1) and blob batch (FCO1)",
		"FCB1 ‖ header length ‖ header JSON ‖ count ‖ count × (length ‖ revision); "+
			"FCO1 ‖ count ‖ count × (id ‖ length ‖ bytes). The signing seed behind the revisions is a fixed test vector.",
		gen, func(t *testing.T, in batchIn) map[string]string {
			out := map[string]string{}
			if in.Blobs != nil {
				var blobs []protocol.Blob
				for _, b := range in.Blobs {
					data := kat.Bytes(t, b)
					blobs = append(blobs, protocol.Blob{ID: sha256.Sum256(data), Data: data})
				}
				enc := protocol.EncodeBlobs(blobs)
				back, err := protocol.DecodeBlobs(enc)
				if err != nil || len(back) != len(blobs) {
					t.Errorf("the blob batch decodes to %d blobs, %v", len(back), err)
				}
				out["blob_batch"] = kat.Hex(enc)
				return out
			}
			var revs []*record.Revision
			for _, e := range in.Revisions {
				r, rest, err := record.UnmarshalRevision(kat.Bytes(t, e))
				if err != nil || len(rest) != 0 {
					t.Fatalf("a vector revision does not decode: %v", err)
				}
				revs = append(revs, r)
			}
			var hdr any
			if in.Header != "" {
				hdr = json.RawMessage(in.Header)
			}
			b, err := protocol.EncodeBatch(hdr, revs)
			if err != nil {
				t.Fatal(err)
			}
			var gotHdr json.RawMessage
			back, err := protocol.DecodeBatch(b, &gotHdr, protocol.MaxPushRevisions)
			if err != nil || len(back) != len(revs) {
				t.Fatalf("the batch decodes to %d revisions, %v", len(back), err)
			}
			for i := range back {
				if back[i].Rev != revs[i].Rev {
					t.Errorf("revision %d decodes as %s, want %s", i, back[i].Rev.Short(), revs[i].Rev.Short())
				}
			}
			out["batch"] = kat.Hex(b)
			out["header"] = string(gotHdr)
			return out
		})
}
