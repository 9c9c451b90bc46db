package audio

import (
	"bytes"
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
