package boltstore

import (
	"testing"

	"github.com/fieldcase/fieldcase/sync/server"
)

// FuzzDecodeChange: a damaged change log entry is an error, never a panic,
// and whatever decodes survives an encode-decode round trip.
func FuzzDecodeChange(f *testing.F) {
	f.Add(encodeChange(server.Change{CaseID: "C1"}))
	f.Add(encodeChange(server.Change{CaseID: "C1", Target: "U1"}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, err := decodeChange(1, b)
		if err != nil {
			return
		}
		again, err := decodeChange(1, encodeChange(ch))
		if err != nil || again != ch {
			t.Fatalf("decode(%x) = %+v, round trip = %+v, %v", b, ch, again, err)
		}
	})
}
