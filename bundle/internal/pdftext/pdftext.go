// Package pdftext reads the text runs and page labels of a PDF as fieldcase
// writes one, so that the bundle verifier can check what each page shows
// without a PDF library or cgo: a classic cross-reference table, pages
// whose content streams are uncompressed or Flate-compressed, and text set
// in Type 0 fonts whose character codes are the text's UTF-16 code units
// (Identity-H with Unicode CIDs, as codeberg.org/go-pdf/fpdf writes text in
// an embedded TrueType font). Anything else is an error, never a guess:
// this is a checker, not a general PDF reader.
package pdftext

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
)

// ErrFormat means the bytes are not a PDF this package reads.
var ErrFormat = errors.New("not a PDF this checker reads")

// Limits against hostile input.
const (
	maxDepth   = 32
	maxPages   = 100000
	maxStream  = 64 << 20  // decompressed bytes of one content stream
	maxTotal   = 512 << 20 // decompressed bytes of all of them
	maxObjects = 10000000
)

// Run is one text-showing operator's text (Tj, TJ, ' or "), and the font
// size it is set in (the Tf operator's, in points).
type Run struct {
	Text string
	Size float64
}

// Page is one page's text.
type Page struct {
	// Runs are the page's text runs, in the order the content stream sets
	// them.
	Runs []Run
	// Err is why the page's content could not be read; Runs is then
	// what was read before it.
	Err error
}

// Doc is a PDF's pages and page labels.
type Doc struct {
	Pages []Page
	// Labels are the page labels the catalog's /PageLabels gives, one per
	// page; nil when it has none.
	Labels []string
}

// Read reads a PDF's text and page labels.
func Read(b []byte) (*Doc, error) {
	r := &reader{b: b, visited: map[int]bool{}, budget: maxTotal}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		return nil, fmt.Errorf("%w: no PDF header", ErrFormat)
	}
	trailer, err := r.xref()
	if err != nil {
		return nil, err
	}
	root, err := r.resolve(trailer["Root"], 0)
	if err != nil {
		return nil, err
	}
	cat, ok := root.(dict)
	if !ok {
		return nil, fmt.Errorf("%w: no catalog", ErrFormat)
	}
	doc := &Doc{}
	var pages []dict
	if err := r.pages(cat["Pages"], &pages, 0); err != nil {
		return nil, err
	}
	for _, pg := range pages {
		runs, err := r.pageText(pg)
		doc.Pages = append(doc.Pages, Page{Runs: runs, Err: err})
	}
	if pl, ok := cat["PageLabels"]; ok {
		labels, err := r.labels(pl, len(pages))
		if err != nil {
			return nil, err
		}
		doc.Labels = labels
	}
	return doc, nil
}

// Objects.
type (
	name   string
	dict   map[string]any
	array  []any
	ref    struct{ num, gen int }
	str    []byte
	keywrd string
	stream struct {
		d    dict
		data []byte
	}
)

type reader struct {
	b       []byte
	offsets map[int]int
	visited map[int]bool // page tree nodes walked: a cycle is refused
	budget  int64        // decompressed bytes left for the whole document
}

// xref reads the cross-reference table that startxref points at, and the
// trailer after it.
func (r *reader) xref() (dict, error) {
	i := bytes.LastIndex(r.b, []byte("startxref"))
	if i < 0 {
		return nil, fmt.Errorf("%w: no startxref", ErrFormat)
	}
	l := &lexer{b: r.b, i: i + len("startxref")}
	tok, err := l.next()
	n, ok := tok.(int64)
	if err != nil || !ok || n < 0 || n >= int64(len(r.b)) {
		return nil, fmt.Errorf("%w: bad startxref", ErrFormat)
	}
	l = &lexer{b: r.b, i: int(n)}
	if tok, err := l.next(); err != nil || tok != keywrd("xref") {
		return nil, fmt.Errorf("%w: no xref table at %d", ErrFormat, n)
	}
	r.offsets = map[int]int{}
	for {
		tok, err := l.next()
		if err != nil {
			return nil, err
		}
		if tok == keywrd("trailer") {
			break
		}
		first, ok1 := tok.(int64)
		t2, err := l.next()
		count, ok2 := t2.(int64)
		if err != nil || !ok1 || !ok2 || first < 0 || count < 0 || first+count > maxObjects {
			return nil, fmt.Errorf("%w: bad xref subsection", ErrFormat)
		}
		for k := int64(0); k < count; k++ {
			off, e1 := l.next()
			_, e2 := l.next()
			kind, e3 := l.next()
			o, ok := off.(int64)
			if e1 != nil || e2 != nil || e3 != nil || !ok {
				return nil, fmt.Errorf("%w: bad xref entry", ErrFormat)
			}
			if kind == keywrd("n") {
				if o < 0 || o >= int64(len(r.b)) {
					return nil, fmt.Errorf("%w: xref entry out of the file", ErrFormat)
				}
				r.offsets[int(first+k)] = int(o)
			}
		}
	}
	v, err := l.value(0)
	if err != nil {
		return nil, err
	}
	d, ok := v.(dict)
	if !ok {
		return nil, fmt.Errorf("%w: no trailer", ErrFormat)
	}
	return d, nil
}

// object reads indirect object num.
func (r *reader) object(num int) (any, error) {
	off, ok := r.offsets[num]
	if !ok {
		return nil, fmt.Errorf("%w: object %d missing", ErrFormat, num)
	}
	l := &lexer{b: r.b, i: off}
	n, e1 := l.next()
	_, e2 := l.next()
	kw, e3 := l.next()
	if e1 != nil || e2 != nil || e3 != nil || n != int64(num) || kw != keywrd("obj") {
		return nil, fmt.Errorf("%w: object %d is not where the xref says", ErrFormat, num)
	}
	v, err := l.value(0)
	if err != nil {
		return nil, err
	}
	save := l.i
	if tok, err := l.next(); err == nil && tok == keywrd("stream") {
		d, ok := v.(dict)
		if !ok {
			return nil, fmt.Errorf("%w: object %d: a stream without a dictionary", ErrFormat, num)
		}
		length, err := r.resolve(d["Length"], 0)
		ln, ok := length.(int64)
		if err != nil || !ok || ln < 0 {
			return nil, fmt.Errorf("%w: object %d: stream length", ErrFormat, num)
		}
		start := l.i
		if start < len(r.b) && r.b[start] == '\r' {
			start++
		}
		if start < len(r.b) && r.b[start] == '\n' {
			start++
		}
		if int64(start)+ln > int64(len(r.b)) {
			return nil, fmt.Errorf("%w: object %d: stream runs past the end", ErrFormat, num)
		}
		return stream{d: d, data: r.b[start : start+int(ln)]}, nil
	}
	l.i = save
	return v, nil
}

// resolve follows references.
func (r *reader) resolve(v any, depth int) (any, error) {
	for ; depth < maxDepth; depth++ {
		rf, ok := v.(ref)
		if !ok {
			return v, nil
		}
		var err error
		if v, err = r.object(rf.num); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: references too deep", ErrFormat)
}

// pages walks the page tree in order.
func (r *reader) pages(v any, out *[]dict, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: page tree too deep", ErrFormat)
	}
	if rf, ok := v.(ref); ok {
		if r.visited[rf.num] {
			return fmt.Errorf("%w: the page tree has a cycle", ErrFormat)
		}
		r.visited[rf.num] = true
	}
	o, err := r.resolve(v, 0)
	if err != nil {
		return err
	}
	d, ok := o.(dict)
	if !ok {
		return fmt.Errorf("%w: a page tree node is not a dictionary", ErrFormat)
	}
	switch d["Type"] {
	case name("Page"):
		if len(*out) >= maxPages {
			return fmt.Errorf("%w: too many pages", ErrFormat)
		}
		*out = append(*out, d)
		return nil
	case name("Pages"):
		kids, err := r.resolve(d["Kids"], 0)
		if err != nil {
			return err
		}
		ks, ok := kids.(array)
		if !ok {
			return fmt.Errorf("%w: page tree without kids", ErrFormat)
		}
		for _, k := range ks {
			if err := r.pages(k, out, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: page tree node of type %v", ErrFormat, d["Type"])
}

// pageText reads the text runs of a page's content.
func (r *reader) pageText(pg dict) ([]Run, error) {
	c, err := r.resolve(pg["Contents"], 0)
	if err != nil {
		return nil, err
	}
	var parts []any
	switch c := c.(type) {
	case array:
		parts = c
	case stream:
		parts = []any{c}
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: page contents", ErrFormat)
	}
	var content []byte
	for _, p := range parts {
		o, err := r.resolve(p, 0)
		if err != nil {
			return nil, err
		}
		s, ok := o.(stream)
		if !ok {
			return nil, fmt.Errorf("%w: page contents are not a stream", ErrFormat)
		}
		data, err := decode(s)
		if err != nil {
			return nil, err
		}
		if r.budget -= int64(len(data)); r.budget < 0 {
			return nil, fmt.Errorf("%w: content streams too large", ErrFormat)
		}
		content = append(append(content, data...), '\n')
	}
	return textRuns(content)
}

// decode undoes a stream's filter (none or FlateDecode).
func decode(s stream) ([]byte, error) {
	switch f := s.d["Filter"]; f {
	case nil:
		return s.data, nil
	case name("FlateDecode"):
		zr, err := zlib.NewReader(bytes.NewReader(s.data))
		if err != nil {
			return nil, fmt.Errorf("content stream does not decompress: %v", err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxStream+1))
		if err == nil {
			err = zr.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("content stream does not decompress: %v", err)
		}
		if len(out) > maxStream {
			return nil, fmt.Errorf("%w: content stream too large", ErrFormat)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: stream filter %v", ErrFormat, f)
	}
}

// textRuns runs through a content stream, keeping the text each showing
// operator sets, with the font size in force (Tf, saved by q and restored
// by Q).
func textRuns(content []byte) ([]Run, error) {
	l := &lexer{b: content}
	var operands []any
	var runs []Run
	size := 0.0
	var saved []float64
	show := func(v any) error {
		s, err := text(v)
		if err == nil {
			runs = append(runs, Run{Text: s, Size: size})
		}
		return err
	}
	for {
		v, err := l.value(0)
		if err == io.EOF {
			return runs, nil
		}
		if err != nil {
			return runs, err
		}
		kw, ok := v.(keywrd)
		if !ok {
			if len(operands) > 64 {
				return runs, fmt.Errorf("%w: too many operands", ErrFormat)
			}
			operands = append(operands, v)
			continue
		}
		switch kw {
		case "q":
			if len(saved) > maxDepth {
				return runs, fmt.Errorf("%w: graphics states nested too deep", ErrFormat)
			}
			saved = append(saved, size)
		case "Q":
			if len(saved) > 0 {
				size, saved = saved[len(saved)-1], saved[:len(saved)-1]
			}
		case "Tf":
			if len(operands) >= 2 {
				switch n := operands[len(operands)-1].(type) {
				case int64:
					size = float64(n)
				case float64:
					size = n
				}
			}
		case "Tj", "'":
			if len(operands) >= 1 {
				if err := show(operands[len(operands)-1]); err != nil {
					return runs, err
				}
			}
		case `"`:
			if len(operands) >= 3 {
				if err := show(operands[2]); err != nil {
					return runs, err
				}
			}
		case "TJ":
			if len(operands) >= 1 {
				a, ok := operands[len(operands)-1].(array)
				if !ok {
					return runs, fmt.Errorf("%w: TJ without an array", ErrFormat)
				}
				var run string
				for _, x := range a {
					if _, ok := x.(str); ok {
						s, err := text(x)
						if err != nil {
							return runs, err
						}
						run += s
					}
				}
				runs = append(runs, Run{Text: run, Size: size})
			}
		}
		operands = operands[:0]
	}
}

// text decodes a string set in a Type 0 font with Unicode CIDs: UTF-16BE.
func text(v any) (string, error) {
	s, ok := v.(str)
	if !ok {
		return "", fmt.Errorf("%w: text operand is not a string", ErrFormat)
	}
	if len(s)%2 != 0 {
		return "", fmt.Errorf("%w: text is not in two-byte codes", ErrFormat)
	}
	u := make([]uint16, len(s)/2)
	for i := range u {
		u[i] = uint16(s[2*i])<<8 | uint16(s[2*i+1])
	}
	return string(utf16.Decode(u)), nil
}

// labels computes each page's label from a /PageLabels number tree (its
// /Nums array; /Kids are not used by fieldcase and are refused).
func (r *reader) labels(v any, n int) ([]string, error) {
	o, err := r.resolve(v, 0)
	if err != nil {
		return nil, err
	}
	d, ok := o.(dict)
	if !ok {
		return nil, fmt.Errorf("%w: page labels", ErrFormat)
	}
	nums, err := r.resolve(d["Nums"], 0)
	if err != nil {
		return nil, err
	}
	a, ok := nums.(array)
	if !ok || len(a)%2 != 0 {
		return nil, fmt.Errorf("%w: page labels without /Nums", ErrFormat)
	}
	type rng struct {
		start        int
		style        name
		prefix       string
		first        int
		hasStyleSpec bool
	}
	var rs []rng
	for i := 0; i < len(a); i += 2 {
		start, ok := a[i].(int64)
		if !ok || start < 0 || (len(rs) > 0 && int(start) <= rs[len(rs)-1].start) || (len(rs) == 0 && start != 0) {
			return nil, fmt.Errorf("%w: page label ranges", ErrFormat)
		}
		ld, err := r.resolve(a[i+1], 0)
		if err != nil {
			return nil, err
		}
		dd, ok := ld.(dict)
		if !ok {
			return nil, fmt.Errorf("%w: page label", ErrFormat)
		}
		x := rng{start: int(start), first: 1}
		if s, ok := dd["S"].(name); ok {
			x.style, x.hasStyleSpec = s, true
		}
		if p, ok := dd["P"].(str); ok {
			x.prefix = string(p)
		}
		if st, ok := dd["St"].(int64); ok && st > 0 && st < 1<<30 {
			x.first = int(st)
		}
		rs = append(rs, x)
	}
	out := make([]string, n)
	for p := range out {
		k := -1
		for j := range rs {
			if rs[j].start <= p {
				k = j
			}
		}
		if k < 0 {
			continue
		}
		x := rs[k]
		num := x.first + p - x.start
		switch {
		case !x.hasStyleSpec:
			out[p] = x.prefix
		case x.style == "D":
			out[p] = x.prefix + strconv.Itoa(num)
		case x.style == "r":
			out[p] = x.prefix + roman(num)
		default:
			return nil, fmt.Errorf("%w: page label style %s", ErrFormat, x.style)
		}
	}
	return out, nil
}

func roman(n int) string {
	if n <= 0 || n >= 4000 {
		return strconv.Itoa(n)
	}
	vals := []int{1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1}
	syms := []string{"m", "cm", "d", "cd", "c", "xc", "l", "xl", "x", "ix", "v", "iv", "i"}
	var b []byte
	for i, v := range vals {
		for n >= v {
			b = append(b, syms[i]...)
			n -= v
		}
	}
	return string(b)
}
