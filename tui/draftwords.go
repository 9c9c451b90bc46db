package tui

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fieldcase/fieldcase/record"
)

// draftParagraphGap is the pause between two words of a machine draft at
// which the editor starts a new line: a draft is one run of words, and a
// 30-minute one in a single line is unreadable (and slow to wrap).
const draftParagraphGap = time.Second

// draftText is the text the transcript editor opens a machine draft with:
// its words, a new line at each long pause. The n-th word of it (split at
// white space) is the draft's n-th word.
func draftText(d *record.MachineDraft) string {
	if len(d.Words) == 0 {
		return d.Text
	}
	var b strings.Builder
	for i, w := range d.Words {
		if i > 0 {
			if time.Duration(w.S-d.Words[i-1].E)*time.Millisecond >= draftParagraphGap {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(w.W)
	}
	return b.String()
}

// wordSpan is where a word of the text being corrected is on the
// recording; ok is false for a word typed in where the draft had none.
type wordSpan struct {
	s, e time.Duration
	ok   bool
}

// draftWords ties the words of the text being corrected to the machine
// draft's times. As the typist edits, the words before and after the
// change keep their times; words typed in place of others take the span
// of the words they replaced. An edit is usually a keystroke, so this is a
// scan of the text, not an alignment of two texts.
type draftWords struct {
	text  string
	words []string // the text's words, split at white space
	spans []wordSpan
}

func newDraftWords(d *record.MachineDraft, text string) *draftWords {
	dw := &draftWords{text: text, words: strings.Fields(text)}
	dw.spans = make([]wordSpan, len(dw.words))
	if len(d.Words) == len(dw.words) {
		for i, w := range d.Words {
			dw.spans[i] = wordSpan{time.Duration(w.S) * time.Millisecond, time.Duration(w.E) * time.Millisecond, true}
		}
	}
	return dw
}

// update follows an edit: text is the whole text now.
func (dw *draftWords) update(text string) {
	if text == dw.text {
		return
	}
	words := strings.Fields(text)
	p := 0 // words the same from the start
	for p < len(words) && p < len(dw.words) && words[p] == dw.words[p] {
		p++
	}
	q := 0 // and from the end, not overlapping them
	for q < len(words)-p && q < len(dw.words)-p && words[len(words)-1-q] == dw.words[len(dw.words)-1-q] {
		q++
	}
	spans := make([]wordSpan, len(words))
	copy(spans, dw.spans[:p])
	copy(spans[len(words)-q:], dw.spans[len(dw.words)-q:])
	// The words that changed share out the span of those they replaced.
	var merged wordSpan
	for _, s := range dw.spans[p : len(dw.words)-q] {
		if !s.ok {
			continue
		}
		if !merged.ok {
			merged = s
		}
		merged.e = s.e
	}
	if n := len(words) - q - p; merged.ok && n > 0 {
		step := (merged.e - merged.s) / time.Duration(n)
		for k := range n {
			spans[p+k] = wordSpan{merged.s + time.Duration(k)*step, merged.s + time.Duration(k+1)*step, true}
		}
	}
	dw.text, dw.words, dw.spans = text, words, spans
}

// at is the index of the word at rune column col of line row of the text
// (the word the cursor is in or just after; else the next one), -1 when
// there is none.
func (dw *draftWords) at(row, col int) int {
	n, inWord := 0, false
	line, c := 0, 0
	for _, r := range dw.text {
		if line == row && c == col {
			break
		}
		space := unicode.IsSpace(r)
		if !space && !inWord {
			n++
		}
		inWord = !space
		if r == '\n' {
			line, c = line+1, 0
			if line > row {
				break
			}
			continue
		}
		c++
	}
	i := n
	if inWord {
		i = n - 1
	}
	if i >= len(dw.words) {
		i = len(dw.words) - 1
	}
	return i
}

// startOf is where word i starts on the recording: its own time, else the
// end of the nearest timed word before it.
func (dw *draftWords) startOf(i int) (time.Duration, bool) {
	for j := i; j >= 0 && j < len(dw.spans); j-- {
		if s := dw.spans[j]; s.ok {
			if j == i {
				return s.s, true
			}
			return s.e, true
		}
	}
	return 0, false
}

// playing is the index of the word heard at pos, -1 when none is: the
// last word to start at or before it, if it has not ended long before.
func (dw *draftWords) playing(pos time.Duration) int {
	best := -1
	for j, sp := range dw.spans {
		if !sp.ok {
			continue
		}
		if sp.s > pos {
			break // times never go back
		}
		best = j
	}
	if best < 0 || pos > dw.spans[best].e+draftParagraphGap/2 {
		return -1
	}
	return best
}

// context is up to width cells of the text around word i: the words
// before it, the word itself and those after, as three strings.
func (dw *draftWords) context(i, width int) (before, word, after string) {
	word = dw.words[i]
	room := max(width-utf8.RuneCountInString(word)-2, 0)
	var b, a []string
	left, right := room/2, room-room/2
	for j := i - 1; j >= 0 && left > utf8.RuneCountInString(dw.words[j]); j-- {
		b = append([]string{dw.words[j]}, b...)
		left -= utf8.RuneCountInString(dw.words[j]) + 1
	}
	for j := i + 1; j < len(dw.words) && right > utf8.RuneCountInString(dw.words[j]); j++ {
		a = append(a, dw.words[j])
		right -= utf8.RuneCountInString(dw.words[j]) + 1
	}
	if len(b) > 0 {
		before = strings.Join(b, " ") + " "
	}
	if len(a) > 0 {
		after = " " + strings.Join(a, " ")
	}
	return before, word, after
}
