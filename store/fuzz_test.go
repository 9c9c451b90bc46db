package store

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

// Decoders of bytes read from the vault file must never panic, whatever the
// bytes; what they accept must encode back to the same bytes.

// FuzzParseHeads feeds stored heads values of both versions: a format-2
// value is accepted only with its tag for its key, and what is accepted
// encodes back to an entry that parses the same.
func FuzzParseHeads(f *testing.F) {
	mac := newVaultMAC(crypto.NewCaseKey("v", 0))
	key := []byte("case/record")
	v2 := &Vault{format: 2}
	entries := []headsEntry{
		{Kind: record.KindNote, Heads: []head{{Rev: record.RevID{1}, Gen: 2, HLC: 3}}},
		{Kind: record.KindCase, Heads: []head{{Gen: 1}, {Gen: 2, Deleted: true}}},
	}
	for _, e := range entries {
		f.Add(mac.headsValue(key, e))
		f.Add(e.marshal(headsV1))
	}
	f.Add([]byte{1, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Format 1, no tag.
		if e, err := unmarshalHeads(b, headsV1); err == nil {
			if got := e.marshal(headsV1); !bytes.Equal(got, b) {
				// Non-minimal varints decode too; the re-encoding must then be
				// shorter and decode to the same entry.
				e2, err := unmarshalHeads(got, headsV1)
				if err != nil || len(e2.Heads) != len(e.Heads) || e2.Kind != e.Kind {
					t.Fatalf("heads entry does not round trip")
				}
			}
		}
		// Format 2: the tag first.
		body, ver, err := v2.openHeads(mac, key, b)
		if err != nil {
			return
		}
		if _, _, err := v2.openHeads(mac, []byte("case/other"), b); err == nil {
			t.Fatalf("a heads value authenticates under two record keys")
		}
		e, err := unmarshalHeads(body, ver)
		if err != nil {
			return
		}
		var arena []Head
		if k, hs, err := decodeHeads(body, ver, &arena); err != nil || k != e.Kind || len(hs) != len(e.Heads) {
			t.Fatalf("decodeHeads and unmarshalHeads disagree")
		}
		got := mac.headsValue(key, e)
		if _, _, err := v2.openHeads(mac, key, got); err != nil {
			t.Fatalf("re-encoded entry does not authenticate: %v", err)
		}
		if !bytes.Equal(got, b) {
			e2, err := unmarshalHeads(got[:len(got)-macSize], headsV2)
			if err != nil || len(e2.Heads) != len(e.Heads) || e2.Kind != e.Kind {
				t.Fatalf("heads entry does not round trip")
			}
		}
	})
}

// FuzzImport feeds arbitrary JSON Lines to a vault: an import either applies
// or is refused whole, and never panics.
func FuzzImport(f *testing.F) {
	f.Add(`{"type":"case","ref":"R-1","subject":"A"}` + "\n" + `{"type":"note","case":"R-1","text":"t"}`)
	f.Add(`{"type":"consent","case":"R-1","person":"p","scope":["health"],"decision":"given"}`)
	f.Add(`{"type":"task"}`)
	v := MustCreate(f)
	f.Fuzz(func(t *testing.T, in string) {
		before, _ := v.Stats()
		_, err := v.Import(strings.NewReader(in))
		if err != nil {
			if after, _ := v.Stats(); after != before {
				t.Fatalf("failed import changed the vault: %+v → %+v", before, after)
			}
		}
	})
}

// FuzzSnapshot feeds search snapshots (sealed, but decoded by code that
// must not panic whatever it is given): what decodes answers queries
// without panicking and encodes back to what decodes the same.
func FuzzSnapshot(f *testing.F) {
	seg := newSegment()
	seg.add("n1", &record.Note{Kind: "visit", Text: "kitchen garden école abcdefghij"}, nil)
	seg.add("n2", &record.Note{Kind: "phone", Text: "garden benefits"}, nil)
	seg.freeze()
	keep := []liveDoc{{seg, 0, "n1"}, {seg, 1, "n2"}}
	entries := []snapEntry{
		{id: "n1", rev: record.RevID{1}, note: &record.Note{Kind: "visit", Date: "2026-01-02", Attendees: []string{"a"}}, doc: 0},
		{id: "n2", rev: record.RevID{2}, note: &record.Note{Kind: "phone"}, doc: 1},
		{id: "n2", rev: record.RevID{3}, deleted: true, doc: -1},
	}
	f.Add(encodeSnapshot(entries, mergeSegments([]*segment{seg}, keep)))
	f.Add([]byte("FCSX\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		snap, err := decodeSnapshot(b, func(b []byte) string { return string(b) })
		if err != nil {
			return
		}
		ix := newSearchIndex()
		ix.addSegment(snap.seg)
		for _, q := range []string{"garden", "ki", "école abc", "a b"} {
			ix.query(q)
		}
		for _, w := range snap.seg.words {
			ix.query(w)
		}
		again, err := decodeSnapshot(encodeSnapshot(snap.entries, snap.seg), func(b []byte) string { return string(b) })
		if err != nil || len(again.entries) != len(snap.entries) || !slices.Equal(again.seg.words, snap.seg.words) {
			t.Fatalf("a decoded snapshot does not round trip: %v", err)
		}
	})
}
