package sealed

import (
	"unicode/utf8"

	"github.com/fieldcase/fieldcase/record"
)

// decodeNote decodes a note body as encoding/json.Marshal writes it, about
// five times faster than json.Unmarshal: LoadNotes decodes every note of the
// vault after unlock, and encoding/json was a quarter of that. It takes only
// what it can decode exactly as json.Unmarshal would — an object with the
// note's own field names, each at most once, string values (attendees an
// array of strings), the escapes \" \\ \/ \b \f \n \r \t and \u outside the
// surrogates, valid UTF-8 — and reports false for anything else (another
// field, a null, a number, other spelling of a name, invalid JSON), which
// the caller then hands to json.Unmarshal. FuzzDecodeNote holds the two to
// the same result.
func decodeNote(js []byte, n *record.Note) bool {
	d := noteDecoder{b: js}
	d.space()
	if !d.byte('{') {
		return false
	}
	var seen uint8
	d.space()
	if d.byte('}') {
		return d.end()
	}
	for {
		d.space()
		key, ok := d.str()
		if !ok {
			return false
		}
		d.space()
		if !d.byte(':') {
			return false
		}
		d.space()
		var bit uint8
		var dst *string
		switch key {
		case "kind":
			bit, dst = 1, &n.Kind
		case "date":
			bit, dst = 2, (*string)(&n.Date)
		case "time":
			bit, dst = 4, &n.Time
		case "place":
			bit, dst = 8, &n.Place
		case "text":
			bit, dst = 16, &n.Text
		case "author":
			bit, dst = 32, &n.Author
		case "attendees":
			bit = 64
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		if dst != nil {
			if *dst, ok = d.str(); !ok {
				return false
			}
		} else if n.Attendees, ok = d.strs(); !ok {
			return false
		}
		d.space()
		if d.byte('}') {
			return d.end()
		}
		if !d.byte(',') {
			return false
		}
	}
}

type noteDecoder struct {
	b []byte
	i int
}

func (d *noteDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *noteDecoder) byte(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only white space follows.
func (d *noteDecoder) end() bool {
	d.space()
	return d.i == len(d.b)
}

// strs reads an array of strings.
func (d *noteDecoder) strs() ([]string, bool) {
	if !d.byte('[') {
		return nil, false
	}
	out := []string{} // an empty array is an empty slice, as json.Unmarshal makes it
	d.space()
	if d.byte(']') {
		return out, true
	}
	for {
		d.space()
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		d.space()
		if d.byte(']') {
			return out, true
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

// str reads a string: one copy of its bytes when it has no escape.
func (d *noteDecoder) str() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			raw := d.b[start:d.i]
			d.i++
			if !utf8.Valid(raw) {
				return "", false // json.Unmarshal replaces invalid bytes: leave it to it
			}
			return string(raw), true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		}
		d.i++
	}
	return "", false
}

// escaped finishes a string that has an escape at d.i, started at start.
func (d *noteDecoder) escaped(start int) (string, bool) {
	buf := make([]byte, 0, d.i-start+64)
	buf = append(buf, d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(buf) {
				return "", false
			}
			return string(buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			return "", false
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			if d.i+4 > len(d.b) {
				return "", false
			}
			var r rune
			for _, h := range d.b[d.i : d.i+4] {
				switch {
				case h >= '0' && h <= '9':
					r = r<<4 | rune(h-'0')
				case h >= 'a' && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case h >= 'A' && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					return "", false
				}
			}
			if r >= 0xD800 && r <= 0xDFFF {
				return "", false // surrogates (pairs or not): json.Unmarshal's rules
			}
			buf = utf8.AppendRune(buf, r)
			d.i += 4
		default:
			return "", false
		}
	}
	return "", false
}
