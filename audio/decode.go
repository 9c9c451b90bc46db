package audio

import (
	"context"
	"fmt"
	"io"

	opus "gopkg.in/hraban/opus.v2"

	"github.com/fieldcase/fieldcase/audio/track"
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
	segs  []track.Segment
	rate  int
	frame int  // samples per packet at rate
	trim  bool // drop the encoder delay at position 0

	dec     *opus.Decoder
	seg     int  // current segment
	off     int  // next packet within it
	fresh   bool // the decoder must be reset before the next packet
	skip    int  // samples still to drop (pre-skip)
	packets *track.PacketReader
	scratch []int16
}

func newPCMStream(tl *Timeline, src ChunkSource, rate int, trim bool) *pcmStream {
	s := &pcmStream{tl: tl, segs: tl.Segments(), rate: rate, frame: rate / track.FrameRate, trim: trim,
		packets: track.NewPacketReader(src)}
	s.scratch = make([]int16, s.frame)
	s.seek(0)
	return s
}

// length returns the number of samples the whole stream yields.
func (s *pcmStream) length() int {
	n := s.tl.Packets() * s.frame
	if s.trim {
		n -= s.preSkip()
	}
	return max(n, 0)
}

func (s *pcmStream) preSkip() int { return track.PreSkip * s.rate / track.OpusRate }

// seek moves to packet position p (0 ≤ p ≤ packets).
func (s *pcmStream) seek(p int) {
	s.seg, s.off = len(s.segs), 0
	rest := p
	for i, sg := range s.segs {
		if rest < sg.Packets {
			s.seg, s.off = i, rest
			break
		}
		rest -= sg.Packets
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
	if s.seg >= len(s.segs) {
		return 0, io.EOF
	}
	sg := s.segs[s.seg]
	pos := sg.Start + s.off
	if s.fresh {
		if err := s.reset(ctx, sg.Take, pos); err != nil {
			return 0, err
		}
	}
	n, err := s.decode(ctx, sg.Take, pos, pcm[:s.frame])
	if err != nil {
		return 0, err
	}
	if s.off++; s.off == sg.Packets {
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
func (s *pcmStream) reset(ctx context.Context, take Take, pos int) error {
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

func (s *pcmStream) decode(ctx context.Context, take Take, pos int, pcm []int16) (int, error) {
	pkt, err := s.packets.Packet(ctx, take, pos)
	if err != nil {
		return 0, err
	}
	n, err := s.dec.Decode(pkt, pcm)
	if err != nil {
		return 0, fmt.Errorf("%w: take %d packet %d: decoding: %v", ErrInvalidChunk, take.ID, pos, err)
	}
	if n != s.frame {
		return 0, fmt.Errorf("%w: take %d packet %d decodes to %d samples, want %d", ErrInvalidChunk, take.ID, pos, n, s.frame)
	}
	return n, nil
}
