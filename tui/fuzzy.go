package tui

import (
	"strings"
	"unicode"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// filterKey handles a key while a list screen's filter is being typed: esc
// clears and closes it, enter closes it keeping the text, the arrows and
// pages move the list's cursor (move, page rows at a time), and any other
// key edits it. refilter runs when the text changed (cleared: by esc, so
// the list keeps its row; else the list goes to its best match).
func filterKey(msg tea.KeyPressMsg, k navKeys, f *textinput.Model, filtering *bool, move func(int), page int, refilter func(cleared bool)) tea.Cmd {
	switch msg.String() {
	case "esc":
		*filtering = false
		f.Blur()
		f.Reset()
		refilter(true)
		return nil
	case "enter":
		*filtering = false
		f.Blur()
		return nil
	case "up", "down", "pgup", "pgdown":
		switch {
		case key.Matches(msg, k.Up):
			move(-1)
		case key.Matches(msg, k.Down):
			move(1)
		case key.Matches(msg, k.PageUp):
			move(-page)
		case key.Matches(msg, k.PageDown):
			move(page)
		}
		return nil
	}
	before := f.Value()
	var cmd tea.Cmd
	*f, cmd = f.Update(msg)
	if f.Value() != before {
		refilter(false)
	}
	return cmd
}

// fuzzyWords matches every word of a query (split on spaces) against text,
// in any order, and adds up their scores: "ashdown amelia" finds "Amelia
// Ashdown".
func fuzzyWords(words [][]rune, text []rune) (int, bool) {
	total := 0
	for _, w := range words {
		s, ok := fuzzyScore(w, text)
		if !ok {
			return 0, false
		}
		total += s
	}
	return total, true
}

// splitWords splits a lower-case query into words.
func splitWords(q string) [][]rune {
	var out [][]rune
	for _, f := range strings.Fields(q) {
		out = append(out, []rune(f))
	}
	return out
}

// fuzzyScore matches pattern against text, both already lower-case: every
// rune of pattern must occur in text in order. Higher scores are better
// matches: a substring beats scattered letters, a match at the start of a
// word beats one inside it, and runs of consecutive letters count extra.
func fuzzyScore(pattern, text []rune) (int, bool) {
	if len(pattern) == 0 {
		return 0, true
	}
	best, found := 0, false
	// Try each place the first rune occurs (bounded, for long texts), and
	// match greedily from there.
	tries := 0
	for start := 0; start < len(text) && tries < 8; start++ {
		if text[start] != pattern[0] {
			continue
		}
		tries++
		score, ok := greedy(pattern, text, start)
		if !ok {
			break // a later start cannot match if this one could not
		}
		if !found || score > best {
			best, found = score, true
		}
	}
	return best, found
}

func greedy(pattern, text []rune, start int) (int, bool) {
	score, pi, last := 0, 0, -1
	for i := start; i < len(text) && pi < len(pattern); i++ {
		if text[i] != pattern[pi] {
			continue
		}
		s := 1
		switch {
		case i == 0:
			s += 12
		case isBoundary(text[i-1]):
			s += 6
		}
		if last >= 0 {
			if i == last+1 {
				s += 8
			} else {
				s -= min(2*(i-last-1), 6)
			}
		}
		score += s
		last = i
		pi++
	}
	return score, pi == len(pattern)
}

func isBoundary(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
