package pdftext

import (
	"fmt"
	"io"
	"strconv"
)

// delim is an array or dictionary bracket.
type delim string

// lexer reads PDF tokens (ISO 32000-1 §7.2, §7.3) from b at i.
type lexer struct {
	b []byte
	i int
}

func isSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// next returns the next token: int64, float64, name, str, keywrd or delim;
// io.EOF at the end.
func (l *lexer) next() (any, error) {
	for l.i < len(l.b) {
		c := l.b[l.i]
		if isSpace(c) {
			l.i++
			continue
		}
		if c == '%' {
			for l.i < len(l.b) && l.b[l.i] != '\n' && l.b[l.i] != '\r' {
				l.i++
			}
			continue
		}
		break
	}
	if l.i >= len(l.b) {
		return nil, io.EOF
	}
	c := l.b[l.i]
	switch {
	case c == '[' || c == ']' || c == '{' || c == '}':
		l.i++
		return delim(string(c)), nil
	case c == '<' && l.i+1 < len(l.b) && l.b[l.i+1] == '<':
		l.i += 2
		return delim("<<"), nil
	case c == '>' && l.i+1 < len(l.b) && l.b[l.i+1] == '>':
		l.i += 2
		return delim(">>"), nil
	case c == '<':
		return l.hexString()
	case c == '(':
		return l.literal()
	case c == '/':
		return l.name()
	case c == ')' || c == '>':
		return nil, fmt.Errorf("%w: stray %q at %d", ErrFormat, c, l.i)
	}
	start := l.i
	for l.i < len(l.b) && !isSpace(l.b[l.i]) && !isDelim(l.b[l.i]) {
		l.i++
	}
	word := string(l.b[start:l.i])
	if n, err := strconv.ParseInt(word, 10, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(word, 64); err == nil && (word[0] == '.' || word[0] == '-' || word[0] == '+' || (word[0] >= '0' && word[0] <= '9')) {
		return f, nil
	}
	return keywrd(word), nil
}

func (l *lexer) name() (any, error) {
	l.i++ // '/'
	var out []byte
	for l.i < len(l.b) && !isSpace(l.b[l.i]) && !isDelim(l.b[l.i]) {
		c := l.b[l.i]
		if c == '#' {
			if l.i+2 >= len(l.b) {
				return nil, fmt.Errorf("%w: bad name escape", ErrFormat)
			}
			v, err := strconv.ParseUint(string(l.b[l.i+1:l.i+3]), 16, 8)
			if err != nil {
				return nil, fmt.Errorf("%w: bad name escape", ErrFormat)
			}
			out = append(out, byte(v))
			l.i += 3
			continue
		}
		out = append(out, c)
		l.i++
	}
	return name(out), nil
}

func (l *lexer) hexString() (any, error) {
	l.i++ // '<'
	var out []byte
	var hi byte
	half := false
	for {
		if l.i >= len(l.b) {
			return nil, fmt.Errorf("%w: unterminated hex string", ErrFormat)
		}
		c := l.b[l.i]
		l.i++
		if c == '>' {
			break
		}
		if isSpace(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, fmt.Errorf("%w: bad hex string", ErrFormat)
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return str(out), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// literal reads a (string), with nested parentheses and escapes.
func (l *lexer) literal() (any, error) {
	l.i++ // '('
	var out []byte
	depth := 1
	for {
		if l.i >= len(l.b) {
			return nil, fmt.Errorf("%w: unterminated string", ErrFormat)
		}
		c := l.b[l.i]
		l.i++
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return str(out), nil
			}
		case '\r':
			// An end of line in a string is a line feed, whatever it was.
			if l.i < len(l.b) && l.b[l.i] == '\n' {
				l.i++
			}
			c = '\n'
		case '\\':
			if l.i >= len(l.b) {
				return nil, fmt.Errorf("%w: unterminated string", ErrFormat)
			}
			e := l.b[l.i]
			l.i++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '(', ')', '\\':
				c = e
			case '\r', '\n':
				if e == '\r' && l.i < len(l.b) && l.b[l.i] == '\n' {
					l.i++
				}
				continue // a line continuation
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.i < len(l.b) && l.b[l.i] >= '0' && l.b[l.i] <= '7'; k++ {
						v = v*8 + int(l.b[l.i]-'0')
						l.i++
					}
					c = byte(v)
				} else {
					c = e // an unknown escape: the backslash is dropped
				}
			}
		}
		out = append(out, c)
	}
}

// value reads one object: arrays, dictionaries and references whole.
func (l *lexer) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deep", ErrFormat)
	}
	tok, err := l.next()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case delim:
		switch t {
		case "[":
			var a array
			for {
				save := l.i
				tok, err := l.next()
				if err != nil {
					return nil, fmt.Errorf("%w: unterminated array", ErrFormat)
				}
				if tok == delim("]") {
					return a, nil
				}
				l.i = save
				v, err := l.value(depth + 1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
		case "<<":
			d := dict{}
			for {
				tok, err := l.next()
				if err != nil {
					return nil, fmt.Errorf("%w: unterminated dictionary", ErrFormat)
				}
				if tok == delim(">>") {
					return d, nil
				}
				k, ok := tok.(name)
				if !ok {
					return nil, fmt.Errorf("%w: dictionary key is not a name", ErrFormat)
				}
				v, err := l.value(depth + 1)
				if err != nil {
					return nil, err
				}
				d[string(k)] = v
			}
		}
		return nil, fmt.Errorf("%w: unexpected %q", ErrFormat, string(t))
	case int64:
		// "num gen R" is a reference.
		save := l.i
		if t2, err := l.next(); err == nil {
			if gen, ok := t2.(int64); ok {
				if t3, err := l.next(); err == nil && t3 == keywrd("R") && t >= 0 && t <= maxObjects && gen >= 0 && gen < 1<<16 {
					return ref{int(t), int(gen)}, nil
				}
			}
		}
		l.i = save
		return t, nil
	}
	return tok, nil
}
