package audio

import (
	"bytes"
	"errors"
	"testing"
)

// realPackets encodes n frames of a tone and returns the packets.
func realPackets(t testing.TB, n int) [][]byte {
	t.Helper()
	e, err := newOpusEncoder(SampleRate, 0, MaxChunkPackets, 0)
	if err != nil {
		t.Fatal(err)
	}
	pcm := tone(440, 0.3, 1)
	var ps [][]byte
	for i := range n {
		off := (i * FrameSamples) % (len(pcm) - FrameSamples)
		if _, _, err := e.encode(pcm[off : off+FrameSamples]); err != nil {
			t.Fatal(err)
		}
	}
	ps = e.cur
	return ps
}

func TestChunkRoundTrip(t *testing.T) {
	pkts := realPackets(t, 50)
	tests := []struct {
		name string
		c    Chunk
	}{
		{"empty last chunk", Chunk{Take: 3, Index: 7, Last: true}},
		{"one packet", Chunk{Take: 0, Index: 0, Packets: pkts[:1], Samples: FrameSamples}},
		{"one second", Chunk{Take: 1, Index: 1, Packets: pkts, Samples: 50 * FrameSamples}},
		{"large ids", Chunk{Take: 1<<32 - 2, Index: 1<<32 - 1, Packets: pkts[:3], Samples: 3 * FrameSamples, Last: true}},
		{"silence packet", Chunk{Packets: [][]byte{{0xf8}}, Samples: FrameSamples}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.c.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalChunk(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Take != tt.c.Take || got.Index != tt.c.Index || got.Last != tt.c.Last || got.Samples != tt.c.Samples || len(got.Packets) != len(tt.c.Packets) {
				t.Fatalf("got %+v, want %+v", got, tt.c)
			}
			for i := range got.Packets {
				if !bytes.Equal(got.Packets[i], tt.c.Packets[i]) {
					t.Errorf("packet %d differs", i)
				}
			}
		})
	}
}

func TestChunkOverhead(t *testing.T) {
	c := Chunk{Take: 2, Index: 100, Packets: realPackets(t, 50)}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	payload := 0
	for _, p := range c.Packets {
		payload += len(p)
	}
	// version, flags, take, index (2), count: 6 bytes, then 1 or 2 length
	// bytes per packet.
	if over := len(b) - payload; over > 6+2*50 {
		t.Errorf("framing overhead %d bytes for 50 packets, want at most %d", over, 6+2*50)
	}
}

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
// (regenerate with go test -run TestFuzzCorpus -gencorpus).
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
