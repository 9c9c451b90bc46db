// Package wire is the canonical binary encoding that the formats two parties
// must agree on forever are written in (revisions, signed statements):
// uvarints in their minimal form only, length-prefixed strings and bytes.
// One value has exactly one encoding, so hashes and signatures over it are
// stable. A Decoder latches its first error, so a caller checks once.
package wire

import "encoding/binary"

// AppendUvarint appends v as a uvarint.
func AppendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// AppendString appends s with its length.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends p with its length.
func AppendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// AppendBool appends a byte 1 or 0.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// Decoder reads values from B in the order they were appended.
type Decoder struct {
	B   []byte
	err bool
}

// Failed reports whether anything read so far was missing or malformed.
func (d *Decoder) Failed() bool { return d.err }

// Fail marks the input malformed.
func (d *Decoder) Fail() { d.err = true; d.B = nil }

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if d.err || len(d.B) < 1 {
		d.Fail()
		return 0
	}
	c := d.B[0]
	d.B = d.B[1:]
	return c
}

// Bool reads a byte that must be 0 or 1.
func (d *Decoder) Bool() bool {
	switch d.Byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.Fail()
	return false
}

// Fixed reads n bytes; the result aliases the input.
func (d *Decoder) Fixed(n int) []byte {
	if d.err || n < 0 || len(d.B) < n {
		d.Fail()
		return nil
	}
	v := d.B[:n:n]
	d.B = d.B[n:]
	return v
}

// Uvarint reads a uvarint, accepting only its minimal encoding.
func (d *Decoder) Uvarint() uint64 {
	if d.err {
		return 0
	}
	v, n := binary.Uvarint(d.B)
	if n <= 0 || n != UvarintLen(v) {
		d.Fail()
		return 0
	}
	d.B = d.B[n:]
	return v
}

// String reads a length-prefixed string of at most max bytes.
func (d *Decoder) String(max int) string {
	return string(d.Bytes(max))
}

// Bytes reads length-prefixed bytes, at most max of them; the result aliases
// the input.
func (d *Decoder) Bytes(max int) []byte {
	n := d.Uvarint()
	if n > uint64(max) {
		d.Fail()
		return nil
	}
	return d.Fixed(int(n))
}

// End fails unless everything was read.
func (d *Decoder) End() {
	if len(d.B) != 0 {
		d.Fail()
	}
}

// UvarintLen is the length of v's minimal uvarint encoding.
func UvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
