package store

import (
	"encoding/binary"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fieldcase/fieldcase/record"
)

// searchIndex is an in-memory inverted index over decrypted note text, in
// segments: LoadNotes builds one segment per worker in parallel, and later
// edits go to a live segment. It is never written anywhere: rebuilt at
// unlock, dropped at lock.
type searchIndex struct {
	segs []*segment
	live *segment
	byID map[string]docRef // note id → where its current text is indexed
}

// segment maps words to ascending doc numbers; docs maps doc numbers to note
// ids ("" once the note's text changed or it was deleted). A word's postings
// are found through its term number, so indexing a known word is a map
// lookup (which does not allocate) and an append.
//
// Postings are compact: each term's doc numbers as uvarint gaps (doc+1 minus
// the previous doc+1), mostly one byte a posting where a []uint32 took four
// and its growth slack up to four more; last holds each term's latest doc+1,
// so a word repeated in a note is not appended twice. A finished segment is
// frozen: its postings copied into one exact-sized block, last dropped.
type segment struct {
	docs     []string
	terms    map[string]uint32
	postings [][]byte
	last     []uint32
}

type docRef struct {
	seg *segment
	doc uint32
}

func newSegment() *segment { return &segment{terms: map[string]uint32{}} }

func newSearchIndex() *searchIndex {
	live := newSegment()
	return &searchIndex{segs: []*segment{live}, live: live, byID: map[string]docRef{}}
}

// add indexes a note's words as a new doc of s.
func (s *segment) add(id string, n *record.Note, buf []byte) []byte {
	doc := uint32(len(s.docs))
	s.docs = append(s.docs, id)
	emit := func(w []byte) {
		t, ok := s.terms[string(w)] // no allocation for a lookup
		if !ok {
			t = uint32(len(s.postings))
			s.terms[string(w)] = t
			s.postings = append(s.postings, nil)
			s.last = append(s.last, 0)
		}
		if prev := s.last[t]; prev != doc+1 { // once per note
			s.postings[t] = binary.AppendUvarint(s.postings[t], uint64(doc+1-prev))
			s.last[t] = doc + 1
		}
	}
	buf = tokenize(n.Text, buf, emit)
	buf = tokenize(n.Place, buf, emit)
	for _, a := range n.Attendees {
		buf = tokenize(a, buf, emit)
	}
	return tokenize(n.Kind, buf, emit)
}

// freeze copies a finished segment's postings into one block and drops
// what only adding needs.
func (s *segment) freeze() {
	size := 0
	for _, p := range s.postings {
		size += len(p)
	}
	block := make([]byte, 0, size)
	for i, p := range s.postings {
		start := len(block)
		block = append(block, p...)
		s.postings[i] = block[start:len(block):len(block)]
	}
	s.last = nil
}

// docsOf decodes term t's postings.
func (s *segment) docsOf(t uint32) []uint32 {
	p := s.postings[t]
	out := make([]uint32, 0, len(p))
	var doc uint64
	for len(p) > 0 {
		d, n := binary.Uvarint(p)
		if n <= 0 {
			break // cannot happen: add wrote them
		}
		doc += d
		out = append(out, uint32(doc-1))
		p = p[n:]
	}
	return out
}

// put indexes a note's current text, replacing what was indexed for it.
func (ix *searchIndex) put(id string, n *record.Note) {
	ix.remove(id)
	ix.live.add(id, n, nil)
	ix.byID[id] = docRef{ix.live, uint32(len(ix.live.docs) - 1)}
}

func (ix *searchIndex) remove(id string) {
	if r, ok := ix.byID[id]; ok {
		r.seg.docs[r.doc] = ""
		delete(ix.byID, id)
	}
}

// adopt registers doc d of a segment built elsewhere as id's current text.
func (ix *searchIndex) adopt(s *segment, d uint32) {
	id := s.docs[d]
	ix.remove(id)
	ix.byID[id] = docRef{s, d}
}

func (ix *searchIndex) addSegment(s *segment) {
	ix.segs = append(ix.segs, s)
}

// tokenize calls emit with each lower-cased word (two or more letters or
// digits) of s, built in buf, which it returns for reuse.
func tokenize(s string, buf []byte, emit func([]byte)) []byte {
	buf = buf[:0]
	runes := 0
	flush := func() {
		if runes >= 2 {
			emit(buf)
		}
		buf, runes = buf[:0], 0
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				buf = append(buf, c)
				runes++
			case c >= 'A' && c <= 'Z':
				buf = append(buf, c+'a'-'A')
				runes++
			default:
				flush()
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			buf = utf8.AppendRune(buf, unicode.ToLower(r))
			runes++
		} else {
			flush()
		}
	}
	flush()
	return buf
}

// words splits q into index terms.
func words(q string) []string {
	var out []string
	tokenize(q, nil, func(w []byte) { out = append(out, string(w)) })
	return out
}

// query returns the ids of notes holding every word of q; the last word also
// matches as a prefix, so results follow typing.
func (ix *searchIndex) query(q string) []string {
	ws := words(q)
	if len(ws) == 0 {
		return nil
	}
	var out []string
	for _, s := range ix.segs {
		for _, d := range s.query(ws) {
			if id := s.docs[d]; id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

func (s *segment) query(ws []string) []uint32 {
	var result []uint32
	for i, w := range ws {
		var postings []uint32
		if i == len(ws)-1 {
			postings = s.prefix(w)
		} else if t, ok := s.terms[w]; ok {
			postings = s.docsOf(t)
		}
		if i == 0 {
			result = postings
		} else {
			result = intersect(result, postings)
		}
		if len(result) == 0 {
			return nil
		}
	}
	return result
}

// prefix unions the postings of every term starting with p.
func (s *segment) prefix(p string) []uint32 {
	var all []uint32
	lists := 0
	for w, t := range s.terms {
		if strings.HasPrefix(w, p) {
			if lists++; lists == 1 {
				all = s.docsOf(t)
				continue
			}
			all = append(all, s.docsOf(t)...)
		}
	}
	if lists > 1 {
		slices.Sort(all)
		all = slices.Compact(all)
	}
	return all
}

func intersect(a, b []uint32) []uint32 {
	out := a[:0]
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// snippet is the part of text around the first match of any word of q.
func snippet(text, q string, width int) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= width {
		return text
	}
	lower := strings.ToLower(text)
	pos := -1
	for _, w := range words(q) {
		if p := strings.Index(lower, w); p >= 0 && (pos < 0 || p < pos) {
			pos = p
		}
	}
	if pos < 0 {
		return truncate(text, width)
	}
	start := min(max(0, pos-width/3), len(text)-1) // lower-casing can change byte lengths
	for start > 0 && !utf8.RuneStart(text[start]) {
		start--
	}
	s := truncate(text[start:], width)
	if start > 0 {
		s = "…" + s
	}
	return s
}

func truncate(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
