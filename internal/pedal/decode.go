package pedal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EventSize is the size of a struct input_event on this machine: a
// struct timeval, then u16 type, u16 code and s32 value (24 bytes on
// 64-bit Linux).
const EventSize = int(unsafe.Sizeof(unix.Timeval{})) + 8

// ErrTruncated says a stream ended inside a record.
var ErrTruncated = errors.New("the stream ended inside an input event")

// Reader yields the key events of a pedal, mapped to pedals. A code the
// mapping does not know comes with Pedal None (so a test can show it).
type Reader interface {
	Next() (Event, error)
}

// EvdevReader decodes Linux input events (struct input_event, native byte
// order) as read from /dev/input/event*. Only key events count: presses
// (value 1) and releases (0); auto-repeats (2), other event types
// (EV_SYN, EV_MSC scan codes…) and unknown values are skipped.
type EvdevReader struct {
	r   io.Reader
	m   Mapping
	buf []byte
}

// NewEvdevReader reads events from r, mapping codes with m.
func NewEvdevReader(r io.Reader, m Mapping) *EvdevReader {
	return &EvdevReader{r: r, m: m, buf: make([]byte, EventSize)}
}

// Next returns the next key press or release. At the end of the stream it
// returns io.EOF; a stream that ends inside a record gives ErrTruncated.
func (d *EvdevReader) Next() (Event, error) {
	for {
		n, err := io.ReadFull(d.r, d.buf)
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return Event{}, fmt.Errorf("%w (%d of %d bytes)", ErrTruncated, n, EventSize)
		case err != nil:
			return Event{}, err
		}
		ts := EventSize - 8
		typ := binary.NativeEndian.Uint16(d.buf[ts:])
		code := binary.NativeEndian.Uint16(d.buf[ts+2:])
		value := int32(binary.NativeEndian.Uint32(d.buf[ts+4:]))
		if typ != unix.EV_KEY || (value != 0 && value != 1) {
			continue
		}
		return Event{Pedal: d.m[code], Down: value == 1, Code: code}, nil
	}
}

// AppendEvdev appends one input event as the kernel writes it (time zero):
// for tests and recorded streams.
func AppendEvdev(b []byte, typ, code uint16, value int32) []byte {
	b = append(b, make([]byte, EventSize-8)...)
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, code)
	return binary.NativeEndian.AppendUint32(b, uint32(value))
}

// AppendKey appends a key press or release and the EV_SYN that ends its
// report, as a device sends them.
func AppendKey(b []byte, code uint16, down bool) []byte {
	v := int32(0)
	if down {
		v = 1
	}
	b = AppendEvdev(b, unix.EV_KEY, code, v)
	return AppendEvdev(b, 0, 0, 0) // EV_SYN / SYN_REPORT
}

// HIDReader decodes the raw input reports of a pedal read through hidraw,
// for pedals (the IN-USB-2 among them) whose report is a bitmask of the
// pedals held in its first byte: bit 0 the left pedal, bit 1 the middle,
// bit 2 the right. Each bit that changes is an event, with code BTN_0 plus
// the bit's number, so the default mapping fits.
type HIDReader struct {
	r       io.Reader
	m       Mapping
	size    int
	buf     []byte
	prev    byte
	pending []Event
}

// NewHIDReader reads reports of size bytes from r (1 for a recording
// of the first bytes; a hidraw device gives one report per read, and a
// read of one byte takes its first byte and drops the rest).
func NewHIDReader(r io.Reader, m Mapping, size int) *HIDReader {
	size = max(1, size)
	return &HIDReader{r: r, m: m, size: size, buf: make([]byte, size)}
}

// Next returns the next press or release. At the end of the stream it
// returns io.EOF; a stream that ends inside a report gives ErrTruncated.
func (d *HIDReader) Next() (Event, error) {
	for len(d.pending) == 0 {
		n, err := io.ReadFull(d.r, d.buf)
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return Event{}, fmt.Errorf("%w (%d of %d bytes of a report)", ErrTruncated, n, d.size)
		case err != nil:
			return Event{}, err
		}
		cur := d.buf[0]
		changed := cur ^ d.prev
		d.prev = cur
		// Releases first, then presses: a report that swaps one pedal for
		// another (rare, both feet) then never holds both.
		for _, down := range []bool{false, true} {
			for bit := range 8 {
				mask := byte(1) << bit
				if changed&mask == 0 || (cur&mask != 0) != down {
					continue
				}
				code := BTN0 + uint16(bit)
				d.pending = append(d.pending, Event{Pedal: d.m[code], Down: down, Code: code})
			}
		}
	}
	ev := d.pending[0]
	d.pending = d.pending[1:]
	return ev, nil
}
