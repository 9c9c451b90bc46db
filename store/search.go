package store

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fieldcase/fieldcase/record"
)

// searchIndex is an in-memory inverted index over decrypted note text, in
// segments: LoadNotes builds one segment per worker in parallel (or loads
// the sealed snapshot a checkpoint wrote, sindex.go), and later edits go to
// a live segment. Each note's doc remembers the revision whose text it
// indexed, which is what a snapshot says it covers.
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
//
// The term dictionary keys a word of up to eight bytes (most words) by the
// word itself packed into a uint64 (words hold no zero byte, so the packing
// is exact) in a table of its own (shortDict): a lookup multiplies one
// integer and probes an array, where a map[string]uint32 lookup (hashing
// the string) was a third of LoadNotes' CPU. Longer words are keyed by
// their text in a map.
type segment struct {
	docs     []string
	short    shortDict
	long     map[string]uint32
	words    []string // term number → word, for prefix queries
	postings [][]byte
	last     []uint32
}

// packWord is w (at most 8 bytes, none zero) as a non-zero integer.
func packWord(w []byte) uint64 {
	var k uint64
	for i, c := range w {
		k |= uint64(c) << (8 * i)
	}
	return k
}

// shortDict maps packed words to term numbers: open addressing with linear
// probing, kept at most half full, keys hashed by multiplying with a random
// odd number (multiply-shift), so notes written to collide cannot be made
// for it. Zero marks an empty slot (no packed word is zero).
type shortDict struct {
	keys  []uint64
	terms []uint32
	n     int
	mul   uint64
	shift uint
}

func newShortDict() shortDict {
	d := shortDict{mul: rand.Uint64() | 1}
	d.resize(1024)
	return d
}

func (d *shortDict) get(k uint64) (uint32, bool) {
	mask := len(d.keys) - 1
	for i := int((k * d.mul) >> d.shift); ; i = (i + 1) & mask {
		switch d.keys[i] {
		case k:
			return d.terms[i], true
		case 0:
			return 0, false
		}
	}
}

// put adds k (not present) as term t.
func (d *shortDict) put(k uint64, t uint32) {
	if 2*(d.n+1) > len(d.keys) {
		d.resize(2 * len(d.keys))
	}
	d.n++
	mask := len(d.keys) - 1
	i := int((k * d.mul) >> d.shift)
	for d.keys[i] != 0 {
		i = (i + 1) & mask
	}
	d.keys[i], d.terms[i] = k, t
}

// resize rehashes into size slots (a power of two).
func (d *shortDict) resize(size int) {
	keys, terms := d.keys, d.terms
	d.keys, d.terms, d.n = make([]uint64, size), make([]uint32, size), 0
	d.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for i, k := range keys {
		if k != 0 {
			d.put(k, terms[i])
		}
	}
}

// term finds w's term number; ok is false when w is not in the dictionary.
func (s *segment) term(w []byte) (uint32, bool) {
	if len(w) <= 8 {
		return s.short.get(packWord(w))
	}
	t, ok := s.long[string(w)] // no allocation for a lookup
	return t, ok
}

// newTerm adds w to the dictionary (it is not there) and returns its number.
func (s *segment) newTerm(w []byte) uint32 {
	t := uint32(len(s.words))
	word := string(w)
	if len(w) <= 8 {
		s.short.put(packWord(w), t)
	} else {
		s.long[word] = t
	}
	s.words = append(s.words, word)
	s.postings = append(s.postings, nil)
	s.last = append(s.last, 0)
	return t
}

type docRef struct {
	seg *segment
	doc uint32
	rev record.RevID // the revision whose text was indexed
}

func newSegment() *segment {
	return &segment{short: newShortDict(), long: map[string]uint32{}}
}

func newSearchIndex() *searchIndex {
	live := newSegment()
	return &searchIndex{segs: []*segment{live}, live: live, byID: map[string]docRef{}}
}

// add indexes a note's words as a new doc of s.
func (s *segment) add(id string, n *record.Note, buf []byte) []byte {
	doc := uint32(len(s.docs))
	s.docs = append(s.docs, id)
	emit := func(w []byte) {
		t, ok := s.term(w)
		if !ok {
			t = s.newTerm(w)
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

// put indexes the text of a note's revision rev, replacing what was
// indexed for it.
func (ix *searchIndex) put(id string, rev record.RevID, n *record.Note) {
	ix.remove(id)
	ix.live.add(id, n, nil)
	ix.byID[id] = docRef{ix.live, uint32(len(ix.live.docs) - 1), rev}
}

func (ix *searchIndex) remove(id string) {
	if r, ok := ix.byID[id]; ok {
		r.seg.docs[r.doc] = ""
		delete(ix.byID, id)
	}
}

// adopt registers doc d of a segment built elsewhere (revision rev's text)
// as id's current text.
func (ix *searchIndex) adopt(s *segment, d uint32, rev record.RevID) {
	id := s.docs[d]
	ix.remove(id)
	ix.byID[id] = docRef{s, d, rev}
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
		} else if t, ok := s.term([]byte(w)); ok {
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
	for t, w := range s.words {
		if strings.HasPrefix(w, p) {
			if lists++; lists == 1 {
				all = s.docsOf(uint32(t))
				continue
			}
			all = append(all, s.docsOf(uint32(t))...)
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
