// Package ogg writes and reads Ogg bitstreams (RFC 3533) that carry one
// logical stream, the way an Ogg Opus file (RFC 7845) does.
//
// The Writer lays packets out in pages with correct lacing, continuation
// flags, granule positions, sequence numbers and CRCs. The Reader checks all
// of those and reassembles packets; it never panics and bounds what it
// allocates, whatever its input.
package ogg

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Page header flags.
const (
	FlagContinued = 0x01 // the page's first segment continues a packet
	FlagBOS       = 0x02 // first page of the logical stream
	FlagEOS       = 0x04 // last page of the logical stream
)

const (
	headerSize  = 27
	maxSegments = 255
	// MaxPacket bounds the size of a packet the Reader reassembles.
	MaxPacket = 1 << 20
	// NoGranule is the granule position of a page on which no packet ends.
	NoGranule = -1
)

// ErrInvalid reports a malformed or inconsistent Ogg bitstream.
var ErrInvalid = errors.New("invalid ogg stream")

var crcTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// crc computes the Ogg CRC-32 (polynomial 0x04c11db7, no reflection, zero
// initial value and no final xor).
func crc(c uint32, b []byte) uint32 {
	for _, x := range b {
		c = c<<8 ^ crcTable[byte(c>>24)^x]
	}
	return c
}

// Page is one Ogg page.
type Page struct {
	Flags   byte
	Granule int64 // NoGranule when no packet ends on the page
	Serial  uint32
	Seq     uint32
	Lacing  []byte // segment table
	Body    []byte
}

// appendPage encodes p, CRC included.
func appendPage(dst []byte, p *Page) []byte {
	start := len(dst)
	dst = append(dst, "OggS"...)
	dst = append(dst, 0, p.Flags)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(p.Granule))
	dst = binary.LittleEndian.AppendUint32(dst, p.Serial)
	dst = binary.LittleEndian.AppendUint32(dst, p.Seq)
	dst = append(dst, 0, 0, 0, 0) // CRC, filled below
	dst = append(dst, byte(len(p.Lacing)))
	dst = append(dst, p.Lacing...)
	dst = append(dst, p.Body...)
	binary.LittleEndian.PutUint32(dst[start+22:], crc(0, dst[start:]))
	return dst
}

// Writer lays packets of one logical stream out in Ogg pages.
type Writer struct {
	w       io.Writer
	serial  uint32
	seq     uint32
	page    Page
	pending bool  // page holds at least one segment
	granule int64 // of the last packet written
	buf     []byte
	err     error
	closed  bool
}

// NewWriter returns a Writer for the logical stream with the given serial
// number. Its first page carries the BOS flag.
func NewWriter(w io.Writer, serial uint32) *Writer {
	return &Writer{w: w, serial: serial, page: Page{Flags: FlagBOS, Granule: NoGranule}}
}

// WritePacket adds packet p, whose last sample is at granule position
// granule. Full pages are written out as they fill; a packet may span pages.
func (w *Writer) WritePacket(p []byte, granule int64) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("%w: packet written after close", ErrInvalid)
	}
	for off := 0; ; {
		if len(w.page.Lacing) == maxSegments {
			if err := w.emit(0); err != nil {
				return err
			}
			if off > 0 {
				w.page.Flags |= FlagContinued
			}
		}
		n := min(len(p)-off, 255)
		w.page.Lacing = append(w.page.Lacing, byte(n))
		w.page.Body = append(w.page.Body, p[off:off+n]...)
		w.pending = true
		off += n
		if n < 255 {
			break // a lacing value below 255 ends the packet
		}
	}
	w.page.Granule = granule
	w.granule = granule
	return nil
}

// Flush writes out the current page, if it holds anything, so that the next
// packet starts a new page.
func (w *Writer) Flush() error {
	if w.err != nil || !w.pending {
		return w.err
	}
	return w.emit(0)
}

// Close writes out the current page with the EOS flag. When nothing is
// pending it writes an empty EOS page whose granule position is that of the
// last packet.
func (w *Writer) Close() error {
	if w.err != nil || w.closed {
		return w.err
	}
	w.closed = true
	return w.emit(FlagEOS)
}

func (w *Writer) emit(flags byte) error {
	w.page.Flags |= flags
	w.page.Serial = w.serial
	w.page.Seq = w.seq
	if !w.pending && flags&FlagEOS != 0 {
		w.page.Granule = w.granule
	}
	w.buf = appendPage(w.buf[:0], &w.page)
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = fmt.Errorf("writing ogg page: %w", err)
		return w.err
	}
	w.seq++
	w.page = Page{Granule: NoGranule, Lacing: w.page.Lacing[:0], Body: w.page.Body[:0]}
	w.pending = false
	return nil
}

// Reader reads the pages and packets of a single logical Ogg stream.
type Reader struct {
	r       *bufio.Reader
	started bool
	serial  uint32
	seq     uint32
	eos     bool

	// packet reassembly state
	page    Page
	seg     int    // next segment of page to consume
	off     int    // body offset of that segment
	partial []byte // packet continued on the next page
	inPart  bool
	hdr     [headerSize + maxSegments]byte
}

// NewReader returns a Reader of the Ogg stream in r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReader(r), seg: -1}
}

// ReadPage returns the next page. It checks the capture pattern, version,
// CRC, serial number (one logical stream) and sequence numbers. It returns
// io.EOF at a clean end of input and an error wrapping ErrInvalid otherwise.
func (r *Reader) ReadPage() (Page, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:headerSize]); err != nil {
		if err == io.EOF {
			return Page{}, io.EOF
		}
		return Page{}, fmt.Errorf("%w: truncated page header: %w", ErrInvalid, err)
	}
	h := r.hdr[:headerSize]
	if string(h[:4]) != "OggS" {
		return Page{}, fmt.Errorf("%w: missing capture pattern", ErrInvalid)
	}
	if h[4] != 0 {
		return Page{}, fmt.Errorf("%w: unknown version %d", ErrInvalid, h[4])
	}
	p := Page{
		Flags:   h[5],
		Granule: int64(binary.LittleEndian.Uint64(h[6:])),
		Serial:  binary.LittleEndian.Uint32(h[14:]),
		Seq:     binary.LittleEndian.Uint32(h[18:]),
	}
	if p.Flags&^(FlagContinued|FlagBOS|FlagEOS) != 0 {
		return Page{}, fmt.Errorf("%w: unknown flags %#x", ErrInvalid, p.Flags)
	}
	want := binary.LittleEndian.Uint32(h[22:])
	nseg := int(h[26])
	lacing := r.hdr[headerSize : headerSize+nseg]
	if _, err := io.ReadFull(r.r, lacing); err != nil {
		return Page{}, fmt.Errorf("%w: truncated segment table: %w", ErrInvalid, noEOF(err))
	}
	size := 0
	for _, l := range lacing {
		size += int(l)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r.r, body); err != nil {
		return Page{}, fmt.Errorf("%w: truncated page body: %w", ErrInvalid, noEOF(err))
	}
	h[22], h[23], h[24], h[25] = 0, 0, 0, 0
	c := crc(crc(0, r.hdr[:headerSize+nseg]), body)
	if c != want {
		return Page{}, fmt.Errorf("%w: page %d: bad checksum", ErrInvalid, p.Seq)
	}
	switch {
	case !r.started:
		if p.Flags&FlagBOS == 0 {
			return Page{}, fmt.Errorf("%w: first page lacks BOS flag", ErrInvalid)
		}
		r.started, r.serial = true, p.Serial
	case p.Flags&FlagBOS != 0:
		return Page{}, fmt.Errorf("%w: BOS flag after the first page", ErrInvalid)
	case p.Serial != r.serial:
		return Page{}, fmt.Errorf("%w: second logical stream %#x", ErrInvalid, p.Serial)
	case r.eos:
		return Page{}, fmt.Errorf("%w: page after EOS", ErrInvalid)
	case p.Seq != r.seq+1:
		return Page{}, fmt.Errorf("%w: page %d follows page %d", ErrInvalid, p.Seq, r.seq)
	}
	r.seq = p.Seq
	r.eos = p.Flags&FlagEOS != 0
	p.Lacing = append([]byte(nil), lacing...)
	p.Body = body
	return p, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Packet is one reassembled packet.
type Packet struct {
	Data []byte
	// Granule is the granule position of the page on which the packet ends
	// if it is the last packet to end there, and NoGranule otherwise.
	Granule int64
	// BOS and EOS are the flags of the page on which the packet ends.
	BOS, EOS bool
}

// ReadPacket returns the next packet. It returns io.EOF at the end of the
// stream, and an error wrapping ErrInvalid for a packet continued on a page
// that does not continue it, a page that continues no packet, a stream cut
// in the middle of a packet, or a packet longer than MaxPacket.
func (r *Reader) ReadPacket() (Packet, error) {
	for {
		if r.seg < 0 || r.seg >= len(r.page.Lacing) {
			p, err := r.ReadPage()
			if err == io.EOF {
				if r.inPart {
					return Packet{}, fmt.Errorf("%w: stream ends inside a packet", ErrInvalid)
				}
				return Packet{}, io.EOF
			}
			if err != nil {
				return Packet{}, err
			}
			cont := p.Flags&FlagContinued != 0
			if cont != r.inPart {
				if cont {
					return Packet{}, fmt.Errorf("%w: page %d continues no packet", ErrInvalid, p.Seq)
				}
				return Packet{}, fmt.Errorf("%w: page %d does not continue the open packet", ErrInvalid, p.Seq)
			}
			r.page, r.seg, r.off = p, 0, 0
			continue
		}
		// Gather segments up to the end of a packet or of the page.
		for r.seg < len(r.page.Lacing) {
			n := int(r.page.Lacing[r.seg])
			if len(r.partial)+n > MaxPacket {
				return Packet{}, fmt.Errorf("%w: packet longer than %d bytes", ErrInvalid, MaxPacket)
			}
			r.partial = append(r.partial, r.page.Body[r.off:r.off+n]...)
			r.inPart = true
			r.seg++
			r.off += n
			if n < 255 {
				pkt := Packet{Data: r.partial, Granule: NoGranule,
					BOS: r.page.Flags&FlagBOS != 0, EOS: r.page.Flags&FlagEOS != 0}
				if r.lastEnd() {
					pkt.Granule = r.page.Granule
				}
				r.partial, r.inPart = nil, false
				return pkt, nil
			}
		}
	}
}

// lastEnd reports whether no packet ends after the current segment position.
func (r *Reader) lastEnd() bool {
	for _, l := range r.page.Lacing[r.seg:] {
		if l < 255 {
			return false
		}
	}
	return true
}
