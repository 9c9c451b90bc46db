package tui

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// searchLimit caps the results of one search.
const searchLimit = 200

// search finds notes across every case as you type; enter opens the case at
// the note.
type search struct {
	env     *env
	input   textinput.Model
	seq     int // the latest query sent
	hits    []store.Hit
	more    bool
	query   string // the query hits answer
	partial bool   // notes were still loading
	err     error
	nav     listNav // over the hits, each drawn on two lines
	w, h    int
}

// searchResultsMsg answers query number seq.
type searchResultsMsg struct {
	seq     int
	query   string
	hits    []store.Hit
	more    bool // more notes match than are shown
	partial bool
	err     error
}

func searchCmd(v *store.Vault, q string, seq int) tea.Cmd {
	return func() tea.Msg {
		hs, err := v.Search(q, searchLimit+1)
		if err != nil {
			return searchResultsMsg{seq: seq, query: q, err: err}
		}
		more := len(hs) > searchLimit
		if more {
			hs = hs[:searchLimit]
		}
		// Newest first; notes of one day by case and text, never by their
		// random ids.
		slices.SortStableFunc(hs, func(a, b store.Hit) int {
			return cmp.Or(cmp.Compare(b.Date, a.Date), cmp.Compare(a.Ref, b.Ref), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Snippet, b.Snippet))
		})
		return searchResultsMsg{seq: seq, query: q, hits: hs, more: more, partial: !v.NotesLoaded()}
	}
}

func newSearch(e *env) *search {
	in := textinput.New()
	in.Prompt = e.l.T("tui.search.prompt") + " "
	in.Placeholder = e.l.T("tui.search.placeholder")
	in.SetStyles(e.st.textinputStyles())
	return &search{env: e, input: in}
}

func (s *search) Init() tea.Cmd {
	cmd := s.input.Focus()
	if q := strings.TrimSpace(s.input.Value()); q != "" {
		s.seq++
		return tea.Batch(cmd, s.env.io(searchCmd(s.env.vault, q, s.seq)))
	}
	return cmd
}

func (s *search) Title() string { return s.env.l.T("tui.search.title") }

func (s *search) Typing() bool { return true }

func (s *search) SetSize(w, h int) {
	s.w, s.h = w, h
	s.input.SetWidth(max(10, w-len(s.input.Prompt)-1))
	s.nav.SetHeight(s.perPage())
}

func (s *search) ShortHelp() []key.Binding {
	return s.env.keys.search.ShortHelp()
}

func (s *search) FullHelp() [][]key.Binding {
	return s.env.keys.search.FullHelp()
}

func (s *search) Update(msg tea.Msg) (component, tea.Cmd) {
	k := s.env.keys.search
	switch msg := msg.(type) {
	case searchResultsMsg:
		if msg.seq != s.seq {
			return s, nil // an answer to an older query
		}
		s.hits, s.more, s.query, s.partial, s.err = msg.hits, msg.more, msg.query, msg.partial, msg.err
		s.nav.Clamp(len(s.hits))
		s.nav.Reset()
		return s, nil
	case notesLoadedMsg:
		if s.partial {
			return s, s.Init()
		}
		return s, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Back):
			return s, back("", false)
		case key.Matches(msg, k.Open):
			if s.nav.Cursor() < len(s.hits) {
				h := s.hits[s.nav.Cursor()]
				return s, cmdOf(openCase(h.CaseID, h.NoteID))
			}
			return s, nil
		case key.Matches(msg, k.Choose):
			if ks := msg.String(); ks == "up" || ks == "ctrl+p" { // i18n: keys' names
				s.nav.Move(-1)
			} else {
				s.nav.Move(1)
			}
			return s, nil
		case key.Matches(msg, k.PageUp):
			s.nav.Page(-1)
			return s, nil
		case key.Matches(msg, k.PageDown):
			s.nav.Page(1)
			return s, nil
		}
	}
	before := s.input.Value()
	var cmd tea.Cmd
	s.input, cmd = s.input.Update(msg)
	if q := strings.TrimSpace(s.input.Value()); s.input.Value() != before {
		s.seq++
		if q == "" {
			s.hits, s.query = nil, ""
			s.nav.Clamp(0)
			return s, cmd
		}
		return s, tea.Batch(cmd, s.env.io(searchCmd(s.env.vault, q, s.seq)))
	}
	return s, cmd
}

func (s *search) perPage() int { return max(1, (s.h-3)/2) }

func (s *search) View() string {
	st, l := s.env.st, s.env.l
	var b strings.Builder
	b.WriteString(fitLine(s.input.View(), s.w) + "\n")
	q := strings.TrimSpace(s.input.Value())
	status := ""
	switch {
	case s.err != nil:
		status = st.Error.Render(l.T("tui.search.failed", "Err", s.err.Error()))
	case q == "":
		status = st.Muted.Render(l.T("tui.search.empty"))
	case s.query != q:
		status = st.Muted.Render(l.T("tui.search.searching"))
	case len(s.hits) == 0:
		status = l.T("tui.search.no_match", "Query", q)
	default:
		status = l.N("tui.search.found", len(s.hits))
		if s.more {
			status = l.N("tui.search.more", searchLimit)
		}
	}
	if s.partial {
		status += st.Warn.Render("  " + l.T("tui.search.partial"))
	}
	kindW := 11
	for _, k := range record.NoteKinds {
		kindW = max(kindW, ansiWidth(valueWord(l, k)))
	}
	b.WriteString(fitLine(status, s.w) + "\n")
	start, end := s.nav.Visible()
	words := queryWords(q)
	for i := start; i < end; i++ {
		h := s.hits[i]
		head := cell(h.Ref, 10) + " " + string(h.Date) + " " + cell(valueWord(l, h.Kind), kindW) + " " + h.Subject
		snip := "    " + highlight(st, h.Snippet, words)
		b.WriteString(listRow(st, head, s.nav.Selected(i), s.w) + "\n")
		b.WriteString(fitLine(snip, s.w) + "\n")
	}
	return b.String()
}

func queryWords(q string) []string {
	return strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// highlight marks the words of the query in text.
func highlight(st *styles, text string, words []string) string {
	if len(words) == 0 {
		return text
	}
	lower := strings.ToLower(text)
	if len(lower) != len(text) {
		return text // case mapping changed byte lengths: don't risk cutting runes
	}
	mark := make([]bool, len(text))
	for _, w := range words {
		if len([]rune(w)) < 2 {
			continue
		}
		for i := 0; ; {
			j := strings.Index(lower[i:], w)
			if j < 0 {
				break
			}
			for k := i + j; k < i+j+len(w); k++ {
				mark[k] = true
			}
			i += j + len(w)
		}
	}
	var b strings.Builder
	start := 0
	for i := 1; i <= len(text); i++ {
		if i == len(text) || mark[i] != mark[start] {
			seg := text[start:i]
			if mark[start] {
				seg = st.Match.Render(seg)
			}
			b.WriteString(seg)
			start = i
		}
	}
	return b.String()
}
