package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"testing"
)

// memStore is an in-memory vault stand-in: it keeps each chunk in its
// binary encoding, as the vault does, and hands chunks back decoded.
type memStore struct {
	mu     sync.Mutex
	chunks map[[2]uint32][]byte
	order  []Chunk // chunks as written, decoded again
}

func newMemStore() *memStore { return &memStore{chunks: map[[2]uint32][]byte{}} }

func (m *memStore) WriteChunk(_ context.Context, c Chunk) error {
	b, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	back, err := UnmarshalChunk(b)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chunks[[2]uint32{c.Take, c.Index}] = b
	m.order = append(m.order, back)
	return nil
}

func (m *memStore) ReadChunk(_ context.Context, take, index uint32) (Chunk, error) {
	m.mu.Lock()
	b, ok := m.chunks[[2]uint32{take, index}]
	m.mu.Unlock()
	if !ok {
		return Chunk{}, fmt.Errorf("no chunk %d of take %d", index, take)
	}
	return UnmarshalChunk(b)
}

func (m *memStore) written() []Chunk {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Chunk(nil), m.order...)
}

// tone returns d seconds of a sine at freq Hz and amplitude amp (0..1) at
// SampleRate.
func tone(freq, amp, seconds float64) []int16 {
	n := int(seconds * SampleRate)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/SampleRate))
	}
	return pcm
}

// power returns the Goertzel power of freq in pcm, normalised so that a
// full-scale sine gives about 0 dB.
func power(pcm []int16, freq float64) float64 {
	if len(pcm) == 0 {
		return SilenceDBFS
	}
	w := 2 * math.Pi * freq / SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range pcm {
		s := float64(v)/32768 + coeff*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	amp := 2 * math.Sqrt(max(p, 0)) / float64(len(pcm))
	return dbfs(amp * 32768)
}

// dominant returns which of freqs is strongest in pcm.
func dominant(pcm []int16, freqs ...float64) float64 {
	best, bestP := 0.0, math.Inf(-1)
	for _, f := range freqs {
		if p := power(pcm, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

func rms(pcm []int16) float64 {
	r, _ := levels(pcm)
	return r
}

// encodeTake encodes pcm as take id into store.
func encodeTake(t testing.TB, store *memStore, id uint32, pcm []int16) Take {
	t.Helper()
	ctx := context.Background()
	enc, err := NewEncoder(id, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Write(ctx, pcm); err != nil {
		t.Fatal(err)
	}
	take, err := enc.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return take
}

// parseWAV returns the samples of a 16 kHz mono 16-bit WAV file.
func parseWAV(t testing.TB, b []byte) []int16 {
	t.Helper()
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " {
		t.Fatalf("not a WAV file (%d bytes)", len(b))
	}
	if ch, rate, bits := binary.LittleEndian.Uint16(b[22:]), binary.LittleEndian.Uint32(b[24:]), binary.LittleEndian.Uint16(b[34:]); ch != 1 || rate != SampleRate || bits != 16 {
		t.Fatalf("WAV format: %d channels, %d Hz, %d bits; want 1, %d, 16", ch, rate, bits, SampleRate)
	}
	// Find the data chunk (sox and friends may add others).
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if id == "data" {
			if off+size > len(b) {
				size = (len(b) - off) &^ 1 // streamed WAVs leave the size open
			}
			pcm := make([]int16, size/2)
			_ = binary.Read(bytes.NewReader(b[off:off+size]), binary.LittleEndian, pcm)
			return pcm
		}
		off += size + size&1
	}
	t.Fatal("WAV file has no data chunk")
	return nil
}

// window returns pcm between from and to seconds.
func window(pcm []int16, from, to float64) []int16 {
	a, b := int(from*SampleRate), int(to*SampleRate)
	a, b = min(max(a, 0), len(pcm)), min(max(b, 0), len(pcm))
	return pcm[a:b]
}
