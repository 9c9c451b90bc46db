package audio

import (
	"context"
	"fmt"

	"github.com/fieldcase/fieldcase/audio/track"
	opus "gopkg.in/hraban/opus.v2"
)

const (
	defaultBitrate      = 24000
	defaultChunkPackets = track.FrameRate // one second
	// complexity 5 of 10 halves libopus's encoding time against its default
	// (9) for about 4% fewer bytes at the same bitrate target; it keeps
	// capture and encoding under 3% of a core.
	complexity = 5
)

// opusEncoder turns 20 ms PCM frames into Opus packets grouped in chunks.
type opusEncoder struct {
	enc          *opus.Encoder
	frame        int // input samples per 20 ms frame
	take         uint32
	chunkPackets int
	index        uint32
	cur          [][]byte
	chunks       []int // packets in each chunk handed out
	buf          []byte
	silence      []byte // a 20 ms packet of digital silence
}

// newOpusEncoder returns an encoder for mono int16 input at rate (16 or
// 48 kHz) producing wideband speech at bitrate bit/s.
func newOpusEncoder(rate, bitrate, chunkPackets int, take uint32) (*opusEncoder, error) {
	if bitrate <= 0 {
		bitrate = defaultBitrate
	}
	if chunkPackets <= 0 {
		chunkPackets = defaultChunkPackets
	}
	if chunkPackets > MaxChunkPackets {
		return nil, fmt.Errorf("%d packets per chunk exceed %d", chunkPackets, MaxChunkPackets)
	}
	enc, err := newOpus(rate, bitrate)
	if err != nil {
		return nil, err
	}
	e := &opusEncoder{enc: enc, frame: rate / track.FrameRate, take: take, chunkPackets: chunkPackets,
		buf: make([]byte, 4000)}
	// The silence packet stands in for frames the capture had to drop, so
	// that the take keeps real time. A separate encoder makes it, so the
	// main encoder's state is untouched.
	sil, err := newOpus(rate, bitrate)
	if err != nil {
		return nil, err
	}
	n, err := sil.Encode(make([]int16, e.frame), e.buf)
	if err != nil {
		return nil, fmt.Errorf("encoding silence: %w", err)
	}
	e.silence = append([]byte(nil), e.buf[:n]...)
	return e, nil
}

func newOpus(rate, bitrate int) (*opus.Encoder, error) {
	enc, err := opus.NewEncoder(rate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("creating opus encoder: %w", err)
	}
	for _, set := range []func() error{
		func() error { return enc.SetBitrate(bitrate) },
		func() error { return enc.SetComplexity(complexity) },
		func() error { return enc.SetMaxBandwidth(opus.Wideband) },
		func() error { return enc.SetDTX(true) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("configuring opus encoder: %w", err)
		}
	}
	return enc, nil
}

// encode adds one frame of e.frame samples. It returns a chunk when one is
// full.
func (e *opusEncoder) encode(pcm []int16) (Chunk, bool, error) {
	n, err := e.enc.Encode(pcm, e.buf)
	if err != nil {
		return Chunk{}, false, fmt.Errorf("encoding opus: %w", err)
	}
	return e.add(append([]byte(nil), e.buf[:n]...))
}

// fill adds a packet of silence in place of a dropped frame.
func (e *opusEncoder) fill() (Chunk, bool, error) { return e.add(e.silence) }

func (e *opusEncoder) add(p []byte) (Chunk, bool, error) {
	e.cur = append(e.cur, p)
	if len(e.cur) < e.chunkPackets {
		return Chunk{}, false, nil
	}
	return e.cut(false), true, nil
}

// cut hands out the packets gathered so far as a chunk.
func (e *opusEncoder) cut(last bool) Chunk {
	c := Chunk{Take: e.take, Index: e.index, Packets: e.cur, Samples: len(e.cur) * FrameSamples, Last: last}
	e.chunks = append(e.chunks, len(e.cur))
	e.index++
	e.cur = make([][]byte, 0, e.chunkPackets)
	return c
}

// pending reports whether packets wait for the next chunk.
func (e *opusEncoder) pending() bool { return len(e.cur) > 0 }

func (e *opusEncoder) result() Take {
	return Take{ID: e.take, Chunks: append([]int(nil), e.chunks...)}
}

// Encoder encodes PCM that is already at hand (a file, a test signal) into a
// take, the way a Recorder encodes what it captures.
type Encoder struct {
	e       *opusEncoder
	sink    Sink
	partial []int16
	done    bool
}

// NewEncoder returns an Encoder writing the chunks of take to sink.
func NewEncoder(take uint32, sink Sink) (*Encoder, error) {
	e, err := newOpusEncoder(SampleRate, 0, 0, take)
	if err != nil {
		return nil, err
	}
	return &Encoder{e: e, sink: sink}, nil
}

// Write encodes pcm, mono samples at SampleRate, writing each chunk to the
// sink once full.
func (enc *Encoder) Write(ctx context.Context, pcm []int16) error {
	if enc.done {
		return fmt.Errorf("encoder closed")
	}
	for len(pcm) > 0 {
		n := min(len(pcm), FrameSamples-len(enc.partial))
		enc.partial = append(enc.partial, pcm[:n]...)
		pcm = pcm[n:]
		if len(enc.partial) < FrameSamples {
			break
		}
		c, full, err := enc.e.encode(enc.partial)
		enc.partial = enc.partial[:0]
		if err != nil {
			return err
		}
		if full {
			if err := enc.sink.WriteChunk(ctx, c); err != nil {
				return fmt.Errorf("writing chunk %d: %w", c.Index, err)
			}
		}
	}
	return nil
}

// Close pads the last frame with silence, writes the final chunk and returns
// the take.
func (enc *Encoder) Close(ctx context.Context) (Take, error) {
	if enc.done {
		return enc.e.result(), nil
	}
	enc.done = true
	if len(enc.partial) > 0 {
		frame := make([]int16, FrameSamples)
		copy(frame, enc.partial)
		c, full, err := enc.e.encode(frame)
		if err != nil {
			return Take{}, err
		}
		if full {
			if err := enc.sink.WriteChunk(ctx, c); err != nil {
				return Take{}, fmt.Errorf("writing chunk %d: %w", c.Index, err)
			}
		}
	}
	c := enc.e.cut(true)
	if err := enc.sink.WriteChunk(ctx, c); err != nil {
		return Take{}, fmt.Errorf("writing chunk %d: %w", c.Index, err)
	}
	return enc.e.result(), nil
}
