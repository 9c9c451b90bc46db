package track

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/fieldcase/fieldcase/audio/internal/ogg"
)

// oggPagePackets is how many packets go in one Ogg page: one second, the
// seek granularity RFC 7845 §6 suggests.
const oggPagePackets = FrameRate

// WriteOgg writes the timeline as an Ogg Opus file (RFC 7845) to w, with the
// chunks read from src. The packets are copied as they are, not re-encoded,
// so no Opus library is needed. vendor names the encoder in the comment
// header (RFC 7845 §5.2; any string will do). Players report the file's
// length as the timeline's Duration less the 6.5 ms encoder delay. An empty
// timeline gives ErrInvalidTimeline.
func WriteOgg(ctx context.Context, w io.Writer, tl *Timeline, src ChunkSource, vendor string) error {
	tl = tl.Clone()
	if tl.Packets() == 0 {
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
	head = binary.LittleEndian.AppendUint16(head, PreSkip)
	head = binary.LittleEndian.AppendUint32(head, SampleRate)
	head = append(head, 0, 0, 0)
	// Comment header (§5.2): vendor string, no user comments.
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

	pr := NewPacketReader(src)
	var (
		granule int64
		count   int
	)
	for _, sg := range tl.Segments() {
		for p := sg.Start; p < sg.Start+sg.Packets; p++ {
			if count%oggPagePackets == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			pkt, err := pr.Packet(ctx, sg.Take, p)
			if err != nil {
				return err
			}
			granule += OpusFrame
			if err := ow.WritePacket(pkt, granule); err != nil {
				return err
			}
			if count++; count%oggPagePackets == 0 && count < tl.Packets() {
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

// PacketReader reads the packets of takes from a ChunkSource, keeping the
// last chunk it read so that reading a take in order loads each chunk once.
// It checks each chunk against the take and each packet it returns.
type PacketReader struct {
	src    ChunkSource
	cur    Chunk
	loaded bool
}

// NewPacketReader returns a PacketReader reading from src.
func NewPacketReader(src ChunkSource) *PacketReader { return &PacketReader{src: src} }

// Packet returns packet pos of tk (0 ≤ pos < tk.Packets()).
func (r *PacketReader) Packet(ctx context.Context, tk Take, pos int) ([]byte, error) {
	ci, pi := chunkOf(tk.Chunks, pos)
	if pos < 0 || ci >= len(tk.Chunks) {
		return nil, fmt.Errorf("%w: take %d has no packet %d", ErrInvalidChunk, tk.ID, pos)
	}
	if !r.loaded || r.cur.Take != tk.ID || r.cur.Index != uint32(ci) {
		c, err := r.src.ReadChunk(ctx, tk.ID, uint32(ci))
		if err != nil {
			return nil, fmt.Errorf("reading chunk %d of take %d: %w", ci, tk.ID, err)
		}
		if c.Take != tk.ID || c.Index != uint32(ci) || len(c.Packets) != tk.Chunks[ci] {
			return nil, fmt.Errorf("%w: asked for take %d chunk %d (%d packets), got take %d chunk %d (%d packets)",
				ErrInvalidChunk, tk.ID, ci, tk.Chunks[ci], c.Take, c.Index, len(c.Packets))
		}
		r.cur, r.loaded = c, true
	}
	p := r.cur.Packets[pi]
	if err := CheckPacket(p); err != nil {
		return nil, fmt.Errorf("%w: take %d chunk %d packet %d: %v", ErrInvalidChunk, tk.ID, ci, pi, err)
	}
	return p, nil
}
