package track

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// Chunk is about one second of encoded audio: consecutive 20 ms Opus packets
// of one take. Chunks of a take are numbered 0, 1, 2, … and the take's final
// chunk has Last set. A final chunk may hold no packets (when the take ended
// exactly on a chunk boundary), and chunks cut short by Pause hold fewer
// packets than the rest.
type Chunk struct {
	Take    uint32   // take the chunk belongs to
	Index   uint32   // position in the take, from 0
	Packets [][]byte // Opus packets of 20 ms each
	Samples int      // audio in the chunk, in samples at SampleRate
	Last    bool     // the take's final chunk
}

// Duration returns the length of the audio in c.
func (c Chunk) Duration() time.Duration {
	return time.Duration(c.Samples) * time.Second / SampleRate
}

// A Sink receives a take's chunks, in order, as they are encoded. The vault
// implements it by sealing and committing each chunk, so that a crash loses
// at most the chunk being written. WriteChunk may keep c (the Recorder does
// not reuse it). When WriteChunk fails the take ends and the error is
// returned by Recorder.Stop or Encoder.Close.
type Sink interface {
	WriteChunk(ctx context.Context, c Chunk) error
}

// A ChunkSource hands back stored chunks for playback and export.
type ChunkSource interface {
	ReadChunk(ctx context.Context, take, index uint32) (Chunk, error)
}

// Chunk encoding, version 1 (all integers are unsigned LEB128 varints):
//
//	version    byte   1
//	flags      byte   bit 0: last chunk; other bits zero
//	take       varint
//	index      varint
//	count      varint number of packets, at most MaxChunkPackets
//	count × (length varint 1..1500, packet bytes)
//
// Nothing may follow the last packet. The vault seals this encoding, so it
// carries no checksum of its own.
const (
	chunkVersion = 1
	flagLast     = 1

	// MaxChunkPackets bounds the packets of one chunk (60 s).
	MaxChunkPackets = 3000
)

// MarshalBinary encodes c in the versioned, length-prefixed form described
// above. It fails if a packet is not a 20 ms Opus packet.
func (c Chunk) MarshalBinary() ([]byte, error) {
	if len(c.Packets) > MaxChunkPackets {
		return nil, fmt.Errorf("%w: %d packets exceed %d", ErrInvalidChunk, len(c.Packets), MaxChunkPackets)
	}
	size := 2 + 3*binary.MaxVarintLen32
	for _, p := range c.Packets {
		size += 2 + len(p)
	}
	b := make([]byte, 0, size)
	var flags byte
	if c.Last {
		flags |= flagLast
	}
	b = append(b, chunkVersion, flags)
	b = binary.AppendUvarint(b, uint64(c.Take))
	b = binary.AppendUvarint(b, uint64(c.Index))
	b = binary.AppendUvarint(b, uint64(len(c.Packets)))
	for i, p := range c.Packets {
		if err := CheckPacket(p); err != nil {
			return nil, fmt.Errorf("%w: packet %d: %v", ErrInvalidChunk, i, err)
		}
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b, nil
}

// UnmarshalChunk decodes a chunk encoded by MarshalBinary. Any other input
// gives an error wrapping ErrInvalidChunk. The packets alias b.
func UnmarshalChunk(b []byte) (Chunk, error) {
	d := decoder{b: b}
	if v := d.byte(); v != chunkVersion {
		if d.err != nil {
			return Chunk{}, fmt.Errorf("%w: empty", ErrInvalidChunk)
		}
		return Chunk{}, fmt.Errorf("%w: unknown version %d", ErrInvalidChunk, v)
	}
	flags := d.byte()
	if flags&^flagLast != 0 {
		return Chunk{}, fmt.Errorf("%w: unknown flags %#x", ErrInvalidChunk, flags)
	}
	c := Chunk{
		Take:  d.uint32(),
		Index: d.uint32(),
		Last:  flags&flagLast != 0,
	}
	n := d.count(MaxChunkPackets, 2)
	if d.err != nil {
		return Chunk{}, fmt.Errorf("%w: %v", ErrInvalidChunk, d.err)
	}
	c.Packets = make([][]byte, n)
	for i := range c.Packets {
		p := d.bytes(1, maxPacketSize)
		if d.err != nil {
			return Chunk{}, fmt.Errorf("%w: packet %d: %v", ErrInvalidChunk, i, d.err)
		}
		if err := CheckPacket(p); err != nil {
			return Chunk{}, fmt.Errorf("%w: packet %d: %v", ErrInvalidChunk, i, err)
		}
		c.Packets[i] = p
	}
	if len(d.b) != 0 {
		return Chunk{}, fmt.Errorf("%w: %d trailing bytes", ErrInvalidChunk, len(d.b))
	}
	c.Samples = n * FrameSamples
	return c, nil
}

// decoder reads the varint encodings of chunks and timelines. After the
// first error every read returns zero and err stays set.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	x := d.b[0]
	d.b = d.b[1:]
	return x
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 {
		// Only the minimal encoding is accepted, so that every value has
		// exactly one encoding.
		d.fail("truncated, overlong or non-minimal varint")
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) uint32() uint32 {
	x := d.uvarint()
	if x > 1<<32-1 {
		d.fail("value %d overflows 32 bits", x)
		return 0
	}
	return uint32(x)
}

// count reads a number of items, each taking at least minSize bytes, and
// checks it against max and against the bytes left, so that a forged count
// cannot make the caller allocate much.
func (d *decoder) count(max int, minSize int) int {
	x := d.uvarint()
	if d.err != nil {
		return 0
	}
	if x > uint64(max) || x > uint64(len(d.b)/minSize) {
		d.fail("count %d too large", x)
		return 0
	}
	return int(x)
}

// int reads a non-negative integer no larger than max.
func (d *decoder) int(max int) int {
	x := d.uvarint()
	if x > uint64(max) {
		d.fail("value %d exceeds %d", x, max)
		return 0
	}
	return int(x)
}

// bytes reads a length-prefixed byte string of min..max bytes.
func (d *decoder) bytes(min, max int) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n < uint64(min) || n > uint64(max) || n > uint64(len(d.b)) {
		d.fail("bad length %d", n)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}
