package audio

import (
	"context"
	"fmt"
	"io"

	opus "gopkg.in/hraban/opus.v2"
)

// prerollPackets is how many packets before a cut point are decoded and
// thrown away so the decoder has converged when the kept audio starts; RFC
// 7845 §4.6 recommends at least 80 ms.
const prerollPackets = 4

// pcmStream decodes a timeline into PCM at rate (16 or 48 kHz), packet by
// packet. At the start of every segment it resets the decoder and decodes a
// few packets of the take before it, so that edits sound clean. Output from
// position 0 starts after the encoder delay (pre-skip), as an Ogg Opus
// decoder's would, so the stream is Duration minus 6.5 ms long.
type pcmStream struct {
	tl    *Timeline
	src   ChunkSource
	rate  int
	frame int  // samples per packet at rate
	trim  bool // drop the encoder delay at position 0

	dec     *opus.Decoder
	seg     int  // current segment
	off     int  // next packet within it
	fresh   bool // the decoder must be reset before the next packet
	skip    int  // samples still to drop (pre-skip)
	chunk   Chunk
	loaded  bool
	scratch []int16
}

func newPCMStream(tl *Timeline, src ChunkSource, rate int, trim bool) *pcmStream {
	s := &pcmStream{tl: tl, src: src, rate: rate, frame: rate / frameRate, trim: trim}
	s.scratch = make([]int16, s.frame)
	s.seek(0)
	return s
}

// length returns the number of samples the whole stream yields.
func (s *pcmStream) length() int {
	n := s.tl.packets() * s.frame
	if s.trim {
		n -= s.preSkip()
	}
	return max(n, 0)
}

func (s *pcmStream) preSkip() int { return preSkip48 * s.rate / opusRate }

// seek moves to packet position p (0 ≤ p ≤ packets).
func (s *pcmStream) seek(p int) {
	s.seg, s.off = len(s.tl.segs), 0
	rest := p
	for i, sg := range s.tl.segs {
		if rest < sg.n {
			s.seg, s.off = i, rest
			break
		}
		rest -= sg.n
	}
	s.fresh = true
	s.skip = 0
	if p == 0 && s.trim {
		s.skip = s.preSkip()
	}
}

// next decodes the next packet into pcm (len ≥ frame) and returns the
// number of samples written, or io.EOF at the end of the timeline.
func (s *pcmStream) next(ctx context.Context, pcm []int16) (int, error) {
	if s.seg >= len(s.tl.segs) {
		return 0, io.EOF
	}
	sg := s.tl.segs[s.seg]
	pos := sg.start + s.off
	if s.fresh {
		if err := s.reset(ctx, sg.take, pos); err != nil {
			return 0, err
		}
	}
	n, err := s.decode(ctx, sg.take, pos, pcm[:s.frame])
	if err != nil {
		return 0, err
	}
	if s.off++; s.off == sg.n {
		s.seg, s.off, s.fresh = s.seg+1, 0, true
	}
	if s.skip > 0 {
		k := min(s.skip, n)
		copy(pcm, pcm[k:n])
		n -= k
		s.skip -= k
	}
	return n, nil
}

// reset starts a new decoder and primes it with the packets of take that
// precede packet pos.
func (s *pcmStream) reset(ctx context.Context, take uint32, pos int) error {
	dec, err := opus.NewDecoder(s.rate, 1)
	if err != nil {
		return fmt.Errorf("creating opus decoder: %w", err)
	}
	s.dec = dec
	s.fresh = false
	for p := max(pos-prerollPackets, 0); p < pos; p++ {
		if _, err := s.decode(ctx, take, p, s.scratch); err != nil {
			return err
		}
	}
	return nil
}

func (s *pcmStream) decode(ctx context.Context, take uint32, pos int, pcm []int16) (int, error) {
	pkt, err := s.packet(ctx, take, pos)
	if err != nil {
		return 0, err
	}
	n, err := s.dec.Decode(pkt, pcm)
	if err != nil {
		return 0, fmt.Errorf("%w: take %d packet %d: decoding: %v", ErrInvalidChunk, take, pos, err)
	}
	if n != s.frame {
		return 0, fmt.Errorf("%w: take %d packet %d decodes to %d samples, want %d", ErrInvalidChunk, take, pos, n, s.frame)
	}
	return n, nil
}

// packet returns packet pos of take, loading its chunk from the source when
// it is not the one at hand.
func (s *pcmStream) packet(ctx context.Context, take uint32, pos int) ([]byte, error) {
	return packetAt(ctx, s.src, s.tl.take(take), pos, &s.chunk, &s.loaded)
}

// packetAt returns packet pos of tk, using *cur as a one-chunk cache.
func packetAt(ctx context.Context, src ChunkSource, tk Take, pos int, cur *Chunk, loaded *bool) ([]byte, error) {
	ci, pi := chunkOf(tk.Chunks, pos)
	if ci >= len(tk.Chunks) {
		return nil, fmt.Errorf("%w: take %d has no packet %d", ErrInvalidChunk, tk.ID, pos)
	}
	if !*loaded || cur.Take != tk.ID || cur.Index != uint32(ci) {
		c, err := src.ReadChunk(ctx, tk.ID, uint32(ci))
		if err != nil {
			return nil, fmt.Errorf("reading chunk %d of take %d: %w", ci, tk.ID, err)
		}
		if c.Take != tk.ID || c.Index != uint32(ci) || len(c.Packets) != tk.Chunks[ci] {
			return nil, fmt.Errorf("%w: asked for take %d chunk %d (%d packets), got take %d chunk %d (%d packets)",
				ErrInvalidChunk, tk.ID, ci, tk.Chunks[ci], c.Take, c.Index, len(c.Packets))
		}
		*cur, *loaded = c, true
	}
	p := cur.Packets[pi]
	if err := checkPacket(p); err != nil {
		return nil, fmt.Errorf("%w: take %d chunk %d packet %d: %v", ErrInvalidChunk, tk.ID, ci, pi, err)
	}
	return p, nil
}
