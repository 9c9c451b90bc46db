package track

import (
	"bytes"
	"errors"
	"testing"
)

func TestUnmarshalChunkRejects(t *testing.T) {
	good, err := Chunk{Take: 1, Index: 2, Packets: [][]byte{{0xf8, 1, 2}, {0xf8}}}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{2}, good[1:]...)},
		{"unknown flag", append([]byte{1, 2}, good[2:]...)},
		{"truncated header", good[:3]},
		{"truncated packet", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"count beyond input", []byte{1, 0, 0, 0, 5, 1, 0xf8}},
		{"count beyond limit", []byte{1, 0, 0, 0, 0xb9, 0x17}}, // 3001
		{"zero-length packet", []byte{1, 0, 0, 0, 1, 0}},
		{"oversized packet", append([]byte{1, 0, 0, 0, 1, 0xdd, 0x0b}, make([]byte, 1501)...)},
		{"10 ms packet", []byte{1, 0, 0, 0, 1, 1, 0x00}},
		{"40 ms packet", []byte{1, 0, 0, 0, 1, 1, 0x10}},
		{"code 3 without count", []byte{1, 0, 0, 0, 1, 1, 0xfb}},
		{"non-minimal varint", []byte{1, 0, 0x80, 0x00, 0, 0}},
		{"take beyond 32 bits", []byte{1, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := UnmarshalChunk(tt.b); !errors.Is(err, ErrInvalidChunk) {
				t.Errorf("got %+v, %v; want ErrInvalidChunk", c, err)
			}
		})
	}
}

func TestMarshalChunkRejects(t *testing.T) {
	for _, c := range []Chunk{
		{Packets: [][]byte{{}}},
		{Packets: [][]byte{{0x00}}}, // 10 ms
		{Packets: make([][]byte, MaxChunkPackets+1)},
	} {
		if _, err := c.MarshalBinary(); !errors.Is(err, ErrInvalidChunk) {
			t.Errorf("MarshalBinary(%d packets) = %v, want ErrInvalidChunk", len(c.Packets), err)
		}
	}
}

func TestPacketSamples(t *testing.T) {
	tests := []struct {
		p    []byte
		want int // 0: error
	}{
		{[]byte{0x08}, 960},           // SILK NB 20 ms
		{[]byte{0x48}, 960},           // SILK WB 20 ms, config 9
		{[]byte{0x00}, 480},           // SILK 10 ms
		{[]byte{0x18}, 2880},          // SILK 60 ms
		{[]byte{0x68}, 960},           // hybrid SWB 20 ms (config 13)
		{[]byte{0x60}, 480},           // hybrid 10 ms
		{[]byte{0xf8}, 960},           // CELT FB 20 ms
		{[]byte{0x80}, 120},           // CELT 2.5 ms
		{[]byte{0x01, 1, 2}, 960},     // two 10 ms frames, equal sizes
		{[]byte{0x01, 1}, 0},          // odd payload for equal frames
		{[]byte{0x02, 1, 2}, 960},     // two 10 ms frames
		{[]byte{0x03, 0x02}, 960},     // code 3, two 10 ms frames
		{[]byte{0x03, 0x00}, 0},       // code 3, zero frames
		{[]byte{0x1b, 0x03}, 0},       // 3 × 60 ms > 120 ms
		{[]byte{0x83, 0x30, 0}, 5760}, // 48 × 2.5 ms = 120 ms
		{nil, 0},
	}
	for _, tt := range tests {
		got, err := packetSamples48(tt.p)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("packetSamples48(%x) = %d, want an error", tt.p, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("packetSamples48(%x) = %d, %v; want %d", tt.p, got, err, tt.want)
		}
	}
}

// FuzzUnmarshalChunk's seed corpus is testdata/fuzz/FuzzUnmarshalChunk
// (regenerate from real encodings with go test ./audio -run TestFuzzCorpus
// -gencorpus).
func FuzzUnmarshalChunk(f *testing.F) {
	f.Add([]byte{1, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := UnmarshalChunk(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidChunk) {
				t.Fatalf("error %v does not wrap ErrInvalidChunk", err)
			}
			return
		}
		// Valid input has exactly one encoding.
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encoding a decoded chunk: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, b)
		}
	})
}
