package ogg

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestCRC(t *testing.T) {
	// CRC-32/POSIX of "123456789" is 0x765e7680; it differs from Ogg's only
	// by the final xor.
	if got, want := crc(0, []byte("123456789")), ^uint32(0x765e7680); got != want {
		t.Errorf("crc = %#x, want %#x", got, want)
	}
}

type wpacket struct {
	size    int
	granule int64
	flush   bool // flush the page after this packet
}

func fill(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		packets   []wpacket
		wantPages int
	}{
		{"empty stream", nil, 1},
		{"one packet", []wpacket{{size: 19, granule: 0}}, 1},
		{"zero-length packet", []wpacket{{size: 0, granule: 5}, {size: 3, granule: 6}}, 1},
		{"lacing edges", []wpacket{{size: 254, granule: 1}, {size: 255, granule: 2}, {size: 256, granule: 3}, {size: 510, granule: 4}}, 1},
		{"flushed pages", []wpacket{{size: 19, flush: true}, {size: 40, flush: true}, {size: 60, granule: 960}, {size: 61, granule: 1920}}, 3},
		{"packet spanning pages", []wpacket{{size: 100, granule: 1}, {size: 70000, granule: 2}, {size: 10, granule: 3}}, 2},
		{"page full at packet end", func() []wpacket {
			var ps []wpacket
			for i := range 256 {
				ps = append(ps, wpacket{size: 10, granule: int64(i + 1)})
			}
			return ps
		}(), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, 0x1234)
			for i, p := range tt.packets {
				if err := w.WritePacket(fill(p.size, byte(i)), p.granule); err != nil {
					t.Fatal(err)
				}
				if p.flush {
					if err := w.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.WritePacket([]byte{1}, 0); err == nil {
				t.Errorf("WritePacket after Close: got nil error")
			}

			// Pages: BOS first, EOS last, every page valid.
			r := NewReader(bytes.NewReader(buf.Bytes()))
			var pages []Page
			for {
				p, err := r.ReadPage()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("ReadPage: %v", err)
				}
				pages = append(pages, p)
			}
			if len(pages) != tt.wantPages {
				t.Errorf("got %d pages, want %d", len(pages), tt.wantPages)
			}
			if pages[0].Flags&FlagBOS == 0 || pages[len(pages)-1].Flags&FlagEOS == 0 {
				t.Errorf("first page flags %#x, last %#x: want BOS then EOS", pages[0].Flags, pages[len(pages)-1].Flags)
			}

			r = NewReader(bytes.NewReader(buf.Bytes()))
			for i, want := range tt.packets {
				got, err := r.ReadPacket()
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if !bytes.Equal(got.Data, fill(want.size, byte(i))) {
					t.Errorf("packet %d: data differs (len %d, want %d)", i, len(got.Data), want.size)
				}
				if got.Granule != NoGranule && got.Granule != want.granule {
					t.Errorf("packet %d: granule %d, want %d", i, got.Granule, want.granule)
				}
			}
			if got, err := r.ReadPacket(); err != io.EOF {
				t.Errorf("after last packet: got %d bytes, %v; want io.EOF", len(got.Data), err)
			}
		})
	}
}

func TestLastPacketGranule(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, 7)
	for i := range 5 {
		if err := w.WritePacket([]byte{byte(i)}, int64(960*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf)
	for i := range 5 {
		p, err := r.ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		want := int64(NoGranule)
		if i == 4 {
			want = 4800
		}
		if p.Granule != want {
			t.Errorf("packet %d: granule %d, want %d", i, p.Granule, want)
		}
		if p.EOS != true || p.BOS != true {
			t.Errorf("packet %d: BOS %v EOS %v, want both (single page)", i, p.BOS, p.EOS)
		}
	}
}

// stream builds a valid three-page stream for the corruption tests.
func stream(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, 1)
	for i, size := range []int{30, 300, 70000, 5} {
		if err := w.WritePacket(fill(size, byte(i)), int64(i)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			_ = w.Flush()
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(b []byte) error {
	r := NewReader(bytes.NewReader(b))
	for {
		if _, err := r.ReadPacket(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func TestReaderRejects(t *testing.T) {
	good := stream(t)
	if err := readAll(good); err != nil {
		t.Fatalf("valid stream: %v", err)
	}
	second := 27 + 1 + 30 // offset of the second page
	tests := []struct {
		name string
		edit func(b []byte) []byte
	}{
		{"bad capture pattern", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"bad version", func(b []byte) []byte { b[4] = 1; return b }},
		{"flipped body bit", func(b []byte) []byte { b[40] ^= 1; return b }},
		{"truncated header", func(b []byte) []byte { return b[:10] }},
		{"truncated body", func(b []byte) []byte { return b[:len(b)-3] }},
		{"missing middle page", func(b []byte) []byte {
			return append(b[:second:second], b[second+27+len(pageLacing(b[second:]))+pageSize(b[second:]):]...)
		}},
		{"first page without BOS", func(b []byte) []byte { return b[second:] }},
		{"duplicated page", func(b []byte) []byte { return append(b[:second:second], b...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.edit(append([]byte(nil), good...))
			if err := readAll(b); !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func pageLacing(b []byte) []byte { return b[27 : 27+int(b[26])] }

func pageSize(b []byte) int {
	n := 0
	for _, l := range pageLacing(b) {
		n += int(l)
	}
	return n
}

func FuzzReader(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf, 9)
	_ = w.WritePacket([]byte("OpusHead\x01\x01\x38\x01\x80\x3e\x00\x00\x00\x00\x00"), 0)
	_ = w.Flush()
	_ = w.WritePacket(fill(600, 3), 960)
	_ = w.WritePacket([]byte{0xf8}, 1920)
	_ = w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("OggS"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b))
		total := 0
		for {
			p, err := r.ReadPacket()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v does not wrap ErrInvalid", err)
				}
				return
			}
			total += len(p.Data)
			if total > len(b) {
				t.Fatalf("read %d packet bytes from %d input bytes", total, len(b))
			}
		}
	})
}
