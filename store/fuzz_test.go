package store

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/record"
)

// Decoders of bytes read from the vault file must never panic, whatever the
// bytes; what they accept must encode back to the same bytes.

func FuzzParseHeads(f *testing.F) {
	f.Add(headsEntry{Kind: record.KindNote, Heads: []head{{Rev: record.RevID{1}, Gen: 2, HLC: 3}}}.marshal())
	f.Add(headsEntry{Kind: record.KindCase, Heads: []head{{Gen: 1}, {Gen: 2, Deleted: true}}}.marshal())
	f.Add([]byte{1, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := unmarshalHeads(b)
		if err != nil {
			return
		}
		if got := e.marshal(); !bytes.Equal(got, b) {
			// Non-minimal varints decode too; the re-encoding must then be
			// shorter and decode to the same entry.
			e2, err := unmarshalHeads(got)
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
