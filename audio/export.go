package audio

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/fieldcase/fieldcase/audio/internal/ogg"
	opus "gopkg.in/hraban/opus.v2"
)

// oggPagePackets is how many packets go in one Ogg page: one second, the
// seek granularity RFC 7845 §6 suggests.
const oggPagePackets = frameRate

// WriteOgg writes the timeline as an Ogg Opus file (RFC 7845) to w, with the
// chunks read from src. The packets are copied as they are, not re-encoded.
// Players report its length as the timeline's Duration less the 6.5 ms
// encoder delay. An empty timeline gives ErrInvalidTimeline.
func WriteOgg(ctx context.Context, w io.Writer, tl *Timeline, src ChunkSource) error {
	tl = tl.clone()
	if tl.packets() == 0 {
		// Players reject an Ogg Opus stream without audio.
		return fmt.Errorf("%w: nothing to export", ErrInvalidTimeline)
	}
	var serial [4]byte
	_, _ = rand.Read(serial[:])
	bw := bufio.NewWriter(w)
	ow := ogg.NewWriter(bw, binary.LittleEndian.Uint32(serial[:]))

	// Identification header (RFC 7845 §5.1): version 1, mono, pre-skip,
	// input rate, zero output gain, channel mapping family 0.
	head := []byte("OpusHead\x01\x01")
	head = binary.LittleEndian.AppendUint16(head, preSkip48)
	head = binary.LittleEndian.AppendUint32(head, SampleRate)
	head = append(head, 0, 0, 0)
	// Comment header (§5.2): vendor string, no user comments.
	vendor := opus.Version()
	tags := []byte("OpusTags")
	tags = binary.LittleEndian.AppendUint32(tags, uint32(len(vendor)))
	tags = append(tags, vendor...)
	tags = binary.LittleEndian.AppendUint32(tags, 0)
	for _, h := range [][]byte{head, tags} {
		if err := ow.WritePacket(h, 0); err != nil {
			return err
		}
		if err := ow.Flush(); err != nil { // each header ends its page
			return err
		}
	}

	var (
		chunk   Chunk
		loaded  bool
		granule int64
		count   int
	)
	for _, sg := range tl.segs {
		tk := tl.take(sg.take)
		for p := sg.start; p < sg.start+sg.n; p++ {
			if count%oggPagePackets == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			pkt, err := packetAt(ctx, src, tk, p, &chunk, &loaded)
			if err != nil {
				return err
			}
			granule += opusFrame
			if err := ow.WritePacket(pkt, granule); err != nil {
				return err
			}
			if count++; count%oggPagePackets == 0 && count < tl.packets() {
				if err := ow.Flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := ow.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing ogg: %w", err)
	}
	return nil
}

// WriteWAV decodes the timeline and writes it to w as a WAV file of
// SampleRate mono 16-bit PCM, the same audio an Ogg Opus decoder would give
// for WriteOgg's output.
func WriteWAV(ctx context.Context, w io.Writer, tl *Timeline, src ChunkSource) error {
	s := newPCMStream(tl.clone(), src, SampleRate, true)
	n := s.length()
	if 36+2*int64(n) > 1<<32-1 {
		return fmt.Errorf("timeline of %v too long for a wav file", tl.Duration())
	}
	bw := bufio.NewWriter(w)
	hdr := make([]byte, 0, 44)
	hdr = append(hdr, "RIFF"...)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(36+2*n))
	hdr = append(hdr, "WAVEfmt "...)
	hdr = binary.LittleEndian.AppendUint32(hdr, 16)
	hdr = binary.LittleEndian.AppendUint16(hdr, 1) // PCM
	hdr = binary.LittleEndian.AppendUint16(hdr, 1) // mono
	hdr = binary.LittleEndian.AppendUint32(hdr, SampleRate)
	hdr = binary.LittleEndian.AppendUint32(hdr, SampleRate*2)
	hdr = binary.LittleEndian.AppendUint16(hdr, 2)
	hdr = binary.LittleEndian.AppendUint16(hdr, 16)
	hdr = append(hdr, "data"...)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(2*n))
	if _, err := bw.Write(hdr); err != nil {
		return fmt.Errorf("writing wav: %w", err)
	}
	pcm := make([]int16, FrameSamples)
	out := make([]byte, 2*FrameSamples)
	for written := 0; ; {
		if written%(SampleRate) < FrameSamples {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k, err := s.next(ctx, pcm)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		for i, v := range pcm[:k] {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
		}
		if _, err := bw.Write(out[:2*k]); err != nil {
			return fmt.Errorf("writing wav: %w", err)
		}
		written += k
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing wav: %w", err)
	}
	return nil
}
