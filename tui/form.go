package tui

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/when"
	"github.com/fieldcase/fieldcase/record"
)

// form is the field list shared by the case, note, consent and task
// editors: text inputs, choices (←/→), check boxes (space) and multi-line
// areas; tab and shift+tab move between fields. It is a part of a screen,
// not a screen.
//
// Date and time fields read what people type (14/12/2026, tomorrow, +7d,
// mon, 2pm; see package when) and show what they read it as beside the
// input. What is wrong with a field's value is shown under the field, not
// at the top of the screen: when the field is left, and when the form is
// saved (the screen then moves the focus to it); an edit clears it.
type form struct {
	env    *env
	fields []*field
	focus  int
	offset int // first line shown when the form is taller than the screen
	w, h   int
	labelW int
}

type fieldKind int

const (
	fieldText fieldKind = iota
	fieldChoice
	fieldChecks
	fieldArea
)

type field struct {
	label   string // as shown, in the locale's words
	key     string // what a draft keeps the value under, when not label (see keyed)
	hint    string
	kind    fieldKind
	input   textinput.Model
	area    textarea.Model
	choices []string
	choice  int    // fieldChoice: the chosen one; fieldChecks: the one under the cursor
	checked []bool // fieldChecks
	lines   int    // fieldArea: height; 0 takes the space left
	hidden  func() bool
	// parse, for a date or time field, reads its text: the value to keep,
	// what to show it as ("Mon 14 Dec 2026"), or why it cannot be read.
	parse func(s string) (value, shown string, err error)
	// err says what is wrong with the value, shown under the field.
	err string
}

// dateW is the width of a date or time field's input: what is typed
// there is short, and what it is read as is shown after it.
const dateW = 18

// badField is the error of a field whose value is wrong; the form shows
// why under the field.
type badField struct{ fd *field }

func (b *badField) Error() string { return b.fd.label + ": " + b.fd.err }

func newForm(e *env) *form { return &form{env: e, labelW: 14} }

// keyed names the field in the form's drafts by k rather than by its label
// (drafts keep values by the English labels the forms have always had, so a
// draft saved in one language comes back in another).
func (fd *field) keyed(k string) *field {
	fd.key = k
	return fd
}

// draftKey is what a draft keeps the field's value under.
func (fd *field) draftKey() string {
	if fd.key != "" {
		return fd.key
	}
	return fd.label
}

// choiceWord is a choice as the form shows it: a record's enumerated value
// in the locale's words, anything else as it is.
func choiceWord(l *i18n.Locale, c string) string {
	if c == otherPerson {
		return l.T("tui.consentedit.someone_else")
	}
	return valueWord(l, statusWord(l, riskWord(l, c)))
}

func (f *form) text(label, value, hint string) *field {
	in := textinput.New()
	in.Prompt = ""
	in.SetStyles(f.env.st.textinputStyles())
	if hint != "" {
		in.Placeholder = "(" + hint + ")"
	}
	in.SetValue(value)
	in.CursorEnd()
	fd := &field{label: label, hint: hint, kind: fieldText, input: in}
	f.fields = append(f.fields, fd)
	return fd
}

// date is a text field for a date as people type it, read in the
// agency's order from today; what it is read as shows beside it.
func (f *form) date(label string, value record.Date) *field {
	fd := f.text(label, string(value), "")
	e := f.env
	fd.hint = e.l.T("tui.form.date_hint", "Example", e.dateOrder.Example())
	fd.parse = func(s string) (string, string, error) {
		d, err := e.parseDate(s)
		shown := ""
		if !d.IsZero() && !d.Time().IsZero() {
			shown = headerDate(e.l, d.Time()) // as when.Show, in the locale's words
		}
		return string(d), shown, err
	}
	return fd
}

// clock is a text field for a time of day: 14:30, 2pm, 9.15am.
func (f *form) clock(label, value string) *field {
	fd := f.text(label, value, "")
	fd.hint = f.env.l.T("tui.form.time_hint")
	fd.parse = func(s string) (string, string, error) {
		t, err := when.ParseTime(s)
		return t, t, err
	}
	return fd
}

// read is a date or time field's value to keep ("" when empty). A value
// that cannot be read is shown wrong at the field, and the error is a
// *badField (see focusBad).
func (f *form) read(fd *field) (string, error) {
	v, _, err := fd.parse(fd.value())
	if err != nil {
		return "", f.fail(fd, when.Reason(err))
	}
	f.setErr(fd, "")
	return v, nil
}

// fail shows why fd's value is wrong under it, and returns a *badField.
func (f *form) fail(fd *field, why string) error {
	f.setErr(fd, why)
	return &badField{fd}
}

// setErr shows why under fd ("" clears it), making room for it.
func (f *form) setErr(fd *field, why string) {
	if fd.err != why {
		fd.err = why
		f.setSize(f.w, f.h)
	}
}

// focusBad moves the focus to the field err is about, when it is a
// *badField; ok says whether it was.
func (f *form) focusBad(err error) (cmd tea.Cmd, ok bool) {
	var bf *badField
	if !errors.As(err, &bf) {
		return nil, false
	}
	if i := slices.Index(f.fields, bf.fd); i >= 0 {
		return f.setFocus(i), true
	}
	return nil, true
}

// errLines is fd's error as shown: under the input, wrapped.
func (f *form) errLines(fd *field) []string {
	if fd.err == "" {
		return nil
	}
	indent := f.labelW + 1
	if fd.kind == fieldArea {
		indent = 2
	}
	var out []string
	for _, l := range wrap("✗ "+fd.err, max(10, f.w-indent)) { // i18n: a sign
		out = append(out, strings.Repeat(" ", indent)+l)
	}
	return out
}

// lines is how many lines the form takes, areas and errors included.
func (f *form) lines() int {
	n := 0
	for _, fd := range f.fields {
		if !fd.visible() {
			continue
		}
		n += 1 + len(f.errLines(fd))
		if fd.kind == fieldArea {
			n += fd.area.Height()
		}
	}
	return n
}

func (f *form) choice(label string, choices []string, value string) *field {
	fd := &field{label: label, kind: fieldChoice, choices: choices}
	for i, c := range choices {
		if c == value {
			fd.choice = i
		}
	}
	f.fields = append(f.fields, fd)
	return fd
}

// choices are typed values as a choice field's strings.
func choices[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func (f *form) checks(label string, choices []string, checked []string) *field {
	fd := &field{label: label, kind: fieldChecks, choices: choices, checked: make([]bool, len(choices))}
	for i, c := range choices {
		for _, v := range checked {
			if c == v {
				fd.checked[i] = true
			}
		}
	}
	f.fields = append(f.fields, fd)
	return fd
}

func (f *form) area(label, value, hint string, lines int) *field {
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.Prompt = "│ " // i18n: a margin
	ta.CharLimit = 0
	ta.MaxHeight = 0
	ta.SetStyles(f.env.st.textareaStyles())
	ta.SetValue(value)
	fd := &field{label: label, hint: hint, kind: fieldArea, area: ta, lines: lines}
	f.fields = append(f.fields, fd)
	return fd
}

func (fd *field) value() string {
	switch fd.kind {
	case fieldText:
		return fd.input.Value()
	case fieldArea:
		return fd.area.Value()
	case fieldChoice:
		return fd.choices[fd.choice]
	}
	return ""
}

func (fd *field) values() []string {
	var out []string
	for i, c := range fd.choices {
		if fd.checked[i] {
			out = append(out, c)
		}
	}
	return out
}

func (fd *field) visible() bool { return fd.hidden == nil || !fd.hidden() }

// start focuses the first field.
func (f *form) start() tea.Cmd { return f.setFocus(0) }

func (f *form) setFocus(i int) tea.Cmd {
	for _, fd := range f.fields {
		fd.input.Blur()
		fd.area.Blur()
	}
	i = min(max(i, 0), len(f.fields)-1)
	if prev := f.fields[f.focus]; i != f.focus && prev.parse != nil {
		f.read(prev) // a date left wrong says so at once
	}
	f.focus = i
	fd := f.fields[f.focus]
	switch fd.kind {
	case fieldText:
		return fd.input.Focus()
	case fieldArea:
		return fd.area.Focus()
	}
	return nil
}

func (f *form) move(d int) tea.Cmd {
	i := f.focus
	for range f.fields {
		i = (i + d + len(f.fields)) % len(f.fields)
		if f.fields[i].visible() {
			break
		}
	}
	return f.setFocus(i)
}

// update handles a key; changed reports an edit of a value.
func (f *form) update(msg tea.Msg) (cmd tea.Cmd, changed bool) {
	k := f.env.keys.form
	fd := f.fields[f.focus]
	if km, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(km, k.NextField):
			return f.move(1), false
		case key.Matches(km, k.PrevField):
			return f.move(-1), false
		}
		if fd.kind != fieldArea {
			switch km.String() {
			case "up": // i18n: a key's name
				return f.move(-1), false
			case "down", "enter": // i18n: keys' names
				return f.move(1), false
			}
		}
		switch fd.kind {
		case fieldChoice:
			switch {
			case key.Matches(km, k.Choice) && km.String() == "left": // i18n: a key's name
				fd.choice = (fd.choice + len(fd.choices) - 1) % len(fd.choices)
				return nil, true
			case key.Matches(km, k.Choice, k.Toggle):
				fd.choice = (fd.choice + 1) % len(fd.choices)
				return nil, true
			}
			// A letter picks the first choice whose shown word starts with it.
			if t := strings.ToLower(km.Text); t != "" {
				for i, c := range fd.choices {
					if strings.HasPrefix(strings.ToLower(choiceWord(f.env.l, c)), t) {
						fd.choice = i
						return nil, true
					}
				}
			}
			return nil, false
		case fieldChecks:
			switch {
			case key.Matches(km, k.Choice) && km.String() == "left": // i18n: a key's name
				fd.choice = (fd.choice + len(fd.choices) - 1) % len(fd.choices)
			case key.Matches(km, k.Choice):
				fd.choice = (fd.choice + 1) % len(fd.choices)
			case key.Matches(km, k.Toggle), km.String() == "x": // i18n: a key's name
				fd.checked[fd.choice] = !fd.checked[fd.choice]
				return nil, true
			}
			return nil, false
		}
	}
	before := fd.value()
	switch fd.kind {
	case fieldText:
		fd.input, cmd = fd.input.Update(msg)
	case fieldArea:
		fd.area, cmd = fd.area.Update(msg)
	default:
		return nil, false
	}
	if fd.value() == before {
		return cmd, false
	}
	f.setErr(fd, "") // said again when the field is left or saved
	return cmd, true
}

func (f *form) setSize(w, h int) {
	f.w, f.h = w, h
	iw := max(10, w-f.labelW-1)
	fixed := 0
	flex := 0
	for _, fd := range f.fields {
		switch {
		case fd.kind == fieldArea && fd.lines == 0:
			flex++
		case fd.kind == fieldArea:
			fixed += fd.lines + 1
		default:
			fixed += 1
		}
		fixed += len(f.errLines(fd))
	}
	for _, fd := range f.fields {
		switch fd.kind {
		case fieldText:
			fd.input.SetWidth(iw - 1)
			if fd.parse != nil {
				fd.input.SetWidth(min(dateW, iw-1))
			}
		case fieldArea:
			fd.area.SetWidth(max(10, w-2))
			if fd.lines > 0 {
				fd.area.SetHeight(fd.lines)
			} else {
				fd.area.SetHeight(max(3, h-fixed-1))
			}
		}
	}
}

// view renders the fields; the focused one's label stands out. The form
// scrolls to keep the focused field on screen.
func (f *form) view(h int) string {
	st := f.env.st
	var lines []string
	focusTop, focusBottom := 0, 0
	for i, fd := range f.fields {
		if !fd.visible() {
			continue
		}
		focused := i == f.focus
		lbl := st.Label
		mark := "  "
		if focused {
			lbl = st.FocusLbl
			mark = "▸ " // i18n: the cursor
		}
		if focused {
			focusTop = len(lines)
		}
		label := lbl.Render(cell(mark+fd.label, f.labelW))
		switch fd.kind {
		case fieldText:
			line := label + " " + fd.input.View()
			if fd.parse != nil {
				line += " " + f.shown(fd)
			}
			lines = append(lines, fitLine(line, f.w))
		case fieldChoice:
			var parts []string
			for j, c := range fd.choices {
				c = choiceWord(f.env.l, c)
				if c == "" {
					c = "—" // i18n: none
				}
				if j == fd.choice {
					parts = append(parts, st.Selected.Render("‹"+c+"›")) // i18n: brackets
				} else {
					parts = append(parts, " "+c+" ")
				}
			}
			lines = append(lines, fitLine(label+" "+strings.Join(parts, " "), f.w))
		case fieldChecks:
			var parts []string
			for j, c := range fd.choices {
				box := "[ ]"
				if fd.checked[j] {
					box = "[x]" // i18n: a ticked box
				}
				p := box + " " + choiceWord(f.env.l, c)
				if focused && j == fd.choice {
					p = st.Selected.Render(p)
				}
				parts = append(parts, p)
			}
			for j, l := range wrapParts(parts, max(10, f.w-f.labelW-1)) {
				if j == 0 {
					lines = append(lines, fitLine(label+" "+l, f.w))
				} else {
					lines = append(lines, fitLine(strings.Repeat(" ", f.labelW+1)+l, f.w))
				}
			}
		case fieldArea:
			head := label
			if fd.hint != "" {
				head += " " + st.Muted.Render(fd.hint)
			}
			lines = append(lines, fitLine(head, f.w))
			lines = append(lines, strings.Split(fd.area.View(), "\n")...)
		}
		for _, l := range f.errLines(fd) {
			lines = append(lines, fitLine(st.Error.Render(l), f.w))
		}
		if focused {
			focusBottom = len(lines)
		}
	}
	if focusBottom-f.offset > h {
		f.offset = focusBottom - h
	}
	if focusTop < f.offset {
		f.offset = focusTop
	}
	f.offset = max(0, min(f.offset, max(0, len(lines)-h)))
	end := min(len(lines), f.offset+h)
	return strings.Join(lines[f.offset:end], "\n")
}

// shown is what a date or time field's value is read as, beside it: its
// hint when empty, nothing while it cannot be read (nor when it reads as
// typed).
func (f *form) shown(fd *field) string {
	s := strings.TrimSpace(fd.value())
	if s == "" {
		return f.env.st.Muted.Render(fd.hint)
	}
	if _, shown, err := fd.parse(s); err == nil && shown != s {
		return f.env.st.Muted.Render(shown)
	}
	return ""
}

// wrapParts joins parts with spaces into lines of at most w columns.
func wrapParts(parts []string, w int) []string {
	var lines []string
	cur := ""
	for _, p := range parts {
		if cur != "" && ansiWidth(cur)+1+ansiWidth(p) > w {
			lines = append(lines, cur)
			cur = ""
		}
		if cur != "" {
			cur += "  "
		}
		cur += p
	}
	return append(lines, cur)
}

// formValues is what a form's fields hold, by label (a check field's
// checked choices one a line): what a form's draft keeps.
type formValues map[string]string

// snapshot is what the fields hold now.
func (f *form) snapshot() formValues {
	v := make(formValues, len(f.fields))
	for _, fd := range f.fields {
		if fd.kind == fieldChecks {
			v[fd.draftKey()] = strings.Join(fd.values(), "\n")
			continue
		}
		v[fd.draftKey()] = fd.value()
	}
	return v
}

// restore puts values back into the fields they name; a choice no longer
// offered is left as it is.
func (f *form) restore(v formValues) {
	for _, fd := range f.fields {
		s, ok := v[fd.draftKey()]
		if !ok {
			continue
		}
		switch fd.kind {
		case fieldText:
			fd.input.SetValue(s)
			fd.input.CursorEnd()
		case fieldArea:
			fd.area.SetValue(s)
		case fieldChoice:
			if i := slices.Index(fd.choices, s); i >= 0 {
				fd.choice = i
			}
		case fieldChecks:
			on := strings.Split(s, "\n")
			for i, c := range fd.choices {
				fd.checked[i] = slices.Contains(on, c)
			}
		}
	}
	f.setSize(f.w, f.h)
}

func sameValues(a, b formValues) bool { return maps.Equal(a, b) }

// diff is the values that differ from base: what a draft must keep.
func (v formValues) diff(base formValues) map[string]string {
	var out map[string]string
	for k, s := range v {
		if b, ok := base[k]; !ok || b != s {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = s
		}
	}
	return out
}
