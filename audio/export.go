package audio

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"

	opus "gopkg.in/hraban/opus.v2"

	"github.com/fieldcase/fieldcase/audio/track"
)

// WriteOgg writes the timeline as an Ogg Opus file (RFC 7845) to w, with the
// chunks read from src, naming libopus's version as the vendor: see
// track.WriteOgg, which needs no cgo.
func WriteOgg(ctx context.Context, w io.Writer, tl *Timeline, src ChunkSource) error {
	return track.WriteOgg(ctx, w, tl, src, opus.Version())
}

// WriteWAV decodes the timeline and writes it to w as a WAV file of
// SampleRate mono 16-bit PCM, the same audio an Ogg Opus decoder would give
// for WriteOgg's output.
func WriteWAV(ctx context.Context, w io.Writer, tl *Timeline, src ChunkSource) error {
	s := newPCMStream(tl.Clone(), src, SampleRate, true)
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
