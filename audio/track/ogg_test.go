package track

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/fieldcase/fieldcase/audio/internal/ogg"
)

// constSource hands back chunks of one repeated packet, as the timeline
// expects them.
type constSource struct {
	tl  *Timeline
	pkt []byte
}

func (s constSource) ReadChunk(_ context.Context, take, index uint32) (Chunk, error) {
	for _, tk := range s.tl.Takes() {
		if tk.ID == take {
			c := Chunk{Take: take, Index: index, Packets: make([][]byte, tk.Chunks[index])}
			for i := range c.Packets {
				c.Packets[i] = s.pkt
			}
			return c, nil
		}
	}
	return Chunk{}, ErrInvalidChunk
}

// WriteOgg needs no Opus library: it copies packets, and names the vendor
// it is given.
func TestWriteOggVendor(t *testing.T) {
	var tl Timeline
	apply(t, &tl, []edit{{"append", 0, 120}, {"insert", sec, 30}})
	var buf bytes.Buffer
	if err := WriteOgg(context.Background(), &buf, &tl, constSource{&tl, []byte{0xf8, 0xff, 0xfe}}, "test vendor"); err != nil {
		t.Fatal(err)
	}
	r := ogg.NewReader(&buf)
	if _, err := r.ReadPacket(); err != nil {
		t.Fatal(err)
	}
	tags, err := r.ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint32(tags.Data[8:]); string(tags.Data[12:12+n]) != "test vendor" {
		t.Errorf("OpusTags %q, want vendor %q", tags.Data, "test vendor")
	}
	n, last := 0, int64(0)
	for {
		p, err := r.ReadPacket()
		if err != nil {
			break
		}
		if n++; p.Granule != ogg.NoGranule {
			last = p.Granule
		}
	}
	if n != 150 || last != 150*OpusFrame {
		t.Errorf("%d audio packets, final granule %d; want 150, %d", n, last, 150*OpusFrame)
	}
}
