package main

// Personal data (names, addresses, dates of birth, narrative, health
// details) never needs to go on a command line, where every user of the
// computer can read it while the command runs (/proc/PID/cmdline, ps) and
// the shell keeps it in its history. Each command that records such data
// takes its fields three ways:
//
//   - a form: --form FILE, or --form - for standard input; TOML (key =
//     "value" lines) or one JSON object, keyed by the flags' names;
//   - on a terminal, with a required field missing and no form, prompts
//     for it and for every personal field not given;
//   - the flags themselves, which older scripts use; their help says they
//     are visible, and typing one on a terminal draws a warning.
//
// A command's fields are its flags tagged form:"KEY[,date][,time][,lines]"
// (KEY is the field's name in a form; date: a date as people type them,
// 14/12/2026 in the agency's order, 2026-12-14, tomorrow, +7d, mon… (see
// package when), read as the form is read and as it is typed and kept as
// YYYY-MM-DD; time: a time of day, 14:30 or 2pm, kept as HH:MM; lines:
// several lines at the prompt),
// each a *string or a []string that stays nil until given. personal:"" marks the flags that carry personal data,
// prompt:"…" is the question asked for a field, oneof:"a,b" the values a
// list's elements may take.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/when"
)

// visibleNote ends the help of every flag tagged personal.
const visibleNote = "(visible to other users of this computer: prefer --form)"

// maxForm bounds a form read from a file or standard input.
const maxForm = 1 << 20

// formFlag is --form, which every data-entry command takes.
type formFlag struct {
	Form string `help:"Read the fields from a TOML or JSON file (- for standard input) instead of flags, so that personal data stays off the command line." placeholder:"FILE|-"`
}

// formField is one field of a data-entry command.
type formField struct {
	key      string        // its name in a form: "capacity_note"
	flag     string        // its flag, "capacity-note"; "" for a field only a form gives
	target   reflect.Value // a *string or a []string, nil until given
	enum     []string      // the values a flag's enum allows, if any
	personal bool
	date     bool
	clock    bool
	lines    bool
	prompt   string // the question, in English
	// promptKey is the question's key in other catalogues,
	// help.prompt.<command words>.<flag>, as TestHelpCatalogue requires.
	promptKey string
}

// given says whether the field has a value (from its flag, so far).
func (f formField) given() bool {
	if f.isList() {
		return f.target.Len() > 0
	}
	return !f.target.IsNil()
}

// set gives the field values: one for a *string, any number for a list.
func (f formField) set(vals []string) {
	if f.target.Kind() == reflect.Slice {
		f.target.Set(reflect.ValueOf(slices.Clone(vals)))
		return
	}
	s := vals[0]
	f.target.Set(reflect.ValueOf(&s))
}

func (f formField) isList() bool { return f.target.Kind() == reflect.Slice }

// what names the field to the user: its flag, or its form key.
func (f formField) what() string {
	if f.flag != "" {
		return "--" + f.flag
	}
	return f.key
}

// check validates one value as the flag's own parsing would: an enum's
// values, a date's or a time's form. It returns the value to keep: a date
// as YYYY-MM-DD (read in order, from today), a time as HH:MM, anything
// else as given. The error does not name the field. Whole records are
// checked by record's Validate when they are saved, as for flags.
func (f formField) check(l *i18n.Locale, v string, order when.DateOrder) (string, error) {
	parts := []string{v}
	if f.isList() {
		parts = splitList([]string{v})
	}
	for _, p := range parts {
		if len(f.enum) > 0 && !slices.Contains(f.enum, p) {
			quoted := make([]string, len(f.enum))
			for i, e := range f.enum {
				quoted[i] = fmt.Sprintf("%q", e)
			}
			return "", l.Error("form.not_one_of", "Values", strings.Join(quoted, ","), "Got", strconv.Quote(p))
		}
	}
	switch {
	case f.date && v != "":
		d, err := when.ParseDate(v, time.Now(), order)
		return string(d), err
	case f.clock && v != "":
		return when.ParseTime(v)
	}
	return v, nil
}

// splitList splits a list's values at commas, as --scope health,school.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// formFields lists the fields of a command: its flags tagged form.
func formFields(n *kong.Node) []formField {
	var fs []formField
	for _, fl := range n.Flags {
		tag, ok := fl.Tag.Get("form"), fl.Tag.Has("form")
		if !ok {
			continue
		}
		key, opts, _ := strings.Cut(tag, ",")
		f := formField{
			key: key, flag: fl.Name, target: fl.Target,
			personal: fl.Tag.Has("personal"), prompt: fl.Tag.Get("prompt"),
			promptKey: "help.prompt." + strings.Join(append(commandWords(n), fl.Name), "."),
			date:      slices.Contains(strings.Split(opts, ","), "date"), clock: slices.Contains(strings.Split(opts, ","), "time"),
			lines: slices.Contains(strings.Split(opts, ","), "lines"),
		}
		if fl.Enum != "" {
			f.enum = fl.EnumSlice()
		} else if oneof := fl.Tag.Get("oneof"); oneof != "" { // a list's values, which kong's enum would not split
			f.enum = strings.Split(oneof, ",")
		}
		fs = append(fs, f)
	}
	return fs
}

// entry gathers the fields of one data-entry command.
type entry struct {
	a       *app
	command string // "case add"
	fields  []formField
	missing []string    // required keys with no value
	ask     []formField // asked for on the terminal by prompt
	in      *bufio.Reader
}

// formOnly is a field a command takes only in a form (a note's text, which
// its flag --text-file reads from a file); ptr stays nil until given.
func formOnly(key string, ptr **string, personal, lines bool) formField {
	return formField{key: key, target: reflect.ValueOf(ptr).Elem(), personal: personal, lines: lines}
}

// entry reads the form (path: the --form flag's value, "" for none) of the
// command kctx selected into its fields, and settles what is still missing
// of the required ones (form keys). On a terminal, without a form, what is
// missing is asked for later by prompt (after the vault is unlocked, so
// nothing is typed in vain), along with every personal field not given;
// elsewhere it is an error now.
func (a *app) entry(kctx *kong.Context, path string, required []string, extra ...formField) (*entry, error) {
	e := &entry{a: a, command: strings.Join(commandWords(kctx.Selected()), " "), fields: append(formFields(kctx.Selected()), extra...)}
	if path != "" {
		if err := e.readForm(path); err != nil {
			return nil, err
		}
	}
	for _, key := range required {
		if !e.field(key).given() {
			e.missing = append(e.missing, key)
		}
	}
	if len(e.missing) == 0 {
		return e, nil
	}
	if path == "" && isTTY(a.stdin) && isTTY(a.stderr) {
		for _, f := range e.fields {
			if !f.given() && (f.personal || slices.Contains(required, f.key)) {
				e.ask = append(e.ask, f)
			}
		}
		e.in = bufio.NewReader(a.stdin)
		return e, nil
	}
	l := a.lang()
	msg := l.Error("form.missing", "Fields", joinAnd(l, e.missing))
	if path != "" {
		return nil, cli.WithHint(msg, l.T("form.missing_in_form_hint", "Field", e.missing[0], "Command", e.command))
	}
	return nil, cli.WithHint(msg, l.T("form.missing_hint", "Command", e.command))
}

func (e *entry) field(key string) formField {
	for _, f := range e.fields {
		if f.key == key {
			return f
		}
	}
	panic("no form field " + key) // a command asked for a field it does not have
}

// asking says whether prompt will ask for fields.
func (e *entry) asking() bool { return len(e.ask) > 0 }

func (e *entry) keys() string {
	ks := make([]string, len(e.fields))
	for i, f := range e.fields {
		ks[i] = f.key
	}
	return strings.Join(ks, ", ")
}

// readForm reads a form from a file, or from standard input for "-", into
// the fields not given as flags.
func (e *entry) readForm(path string) error {
	var r io.Reader
	l := e.a.lang()
	src := l.T("form.file", "Path", path)
	if path == "-" {
		if isTTY(e.a.stdin) {
			return cli.WithHint(l.Error("form.stdin_terminal"), l.T("form.stdin_terminal_hint"))
		}
		r, src = e.a.stdin, l.T("form.stdin")
	} else {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%s: %w", l.T("form.reading"), err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxForm+1))
	if err != nil {
		return fmt.Errorf("%s: %w", l.T("form.reading_src", "Source", src), err)
	}
	if len(b) > maxForm {
		return l.Error("form.too_long", "Source", src, "KiB", maxForm>>10)
	}
	values, err := parseForm(l, b)
	if err != nil {
		return cli.WithHint(fmt.Errorf("%s: %w", src, err), l.T("form.syntax_hint", "Command", e.command))
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		i := slices.IndexFunc(e.fields, func(f formField) bool { return f.key == k })
		if i < 0 {
			return cli.WithHint(l.Error("form.unknown_field", "Source", src, "Field", strconv.Quote(k)), l.T("form.unknown_field_hint", "Command", e.command, "Fields", e.keys()))
		}
		f := e.fields[i]
		vals, err := formValue(l, values[k], f.isList())
		if err != nil {
			return fmt.Errorf("%s: %s: %w", src, k, err)
		}
		if f.given() {
			return cli.WithHint(l.Error("form.twice", "Field", k, "Flag", f.what()), l.T("form.twice_hint"))
		}
		for i, v := range vals {
			if vals[i], err = f.check(l, v, e.a.dateOrder()); err != nil {
				return fmt.Errorf("%s: %s: %w", src, k, err)
			}
		}
		f.set(vals)
	}
	return nil
}

// parseForm decodes a form: a JSON object when it starts with "{", TOML
// otherwise.
func parseForm(l *i18n.Locale, b []byte) (map[string]any, error) {
	if !utf8.Valid(b) {
		return nil, l.Error("form.not_utf8")
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	values := map[string]any{}
	if bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{")) {
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&values); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("%s: %v", l.T("form.line", "Line", bytes.Count(b[:se.Offset], []byte("\n"))+1), se)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, l.Error("form.json_not_closed")
			}
			return nil, err
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, l.Error("form.json_more")
		}
		return values, nil
	}
	if _, err := toml.Decode(string(b), &values); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, errors.New(strings.TrimPrefix(pe.Error(), "toml: ")) // i18n: the TOML parser's own words, in English
		}
		return nil, err
	}
	return values, nil
}

// formValue is a form's value as text: one string, or a list of strings
// for a list field. A TOML date (dob = 2015-04-01) is a date's text.
func formValue(l *i18n.Locale, v any, list bool) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case time.Time:
		// BurntSushi/toml gives a date without a time this location.
		if v.Location().String() != "date-local" {
			return nil, l.Error("form.date_and_time")
		}
		return []string{v.Format("2006-01-02")}, nil
	case []any:
		if !list {
			return nil, l.Error("form.list")
		}
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, l.Error("form.list_holds", "Kind", kindOf(l, e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, l.Error("form.want_text", "Kind", kindOf(l, v))
}

// kindOf names a decoded value's kind the way a form's writer sees it.
func kindOf(l *i18n.Locale, v any) string {
	switch v.(type) {
	case bool:
		return l.T("form.kind.bool")
	case int64, float64, json.Number:
		return l.T("form.kind.number")
	case map[string]any:
		return l.T("form.kind.table")
	case nil:
		return "null"
	case []any:
		return l.T("form.kind.list")
	case time.Time:
		return l.T("form.kind.date")
	}
	return fmt.Sprintf("%T", v)
}

// prompt asks on the terminal for the fields entry settled on: a required
// one until it has a value, an optional one once (Enter skips it). Ctrl+C,
// or Ctrl+D, cancels with nothing saved.
func (e *entry) prompt() error {
	if !e.asking() {
		return nil
	}
	w := e.a.stderr
	l := e.a.lang()
	fmt.Fprintln(w, l.T("form.asking"))
	for _, f := range e.ask {
		required := slices.Contains(e.missing, f.key)
		label := f.prompt
		if l.Has(f.promptKey) {
			label = l.T(f.promptKey) // i18n: help.prompt.* keys come from the model (formFields)
		}
		if label == "" {
			label = strings.ReplaceAll(f.key, "_", " ")
		}
		if f.date {
			label = l.T("form.date_label", "Label", label, "Example", e.a.dateOrder().Example())
		}
		for {
			var vals []string
			var err error
			if f.lines {
				vals, err = e.readLines(label, required)
			} else {
				vals, err = e.readAnswer(label, required, f.isList())
			}
			if err != nil {
				return err
			}
			if len(vals) == 0 {
				if required {
					fmt.Fprintln(w, l.T("form.required", "Label", label))
					continue
				}
				break
			}
			bad := false
			for i, v := range vals {
				if vals[i], err = f.check(l, v, e.a.dateOrder()); err != nil {
					fmt.Fprintln(w, l.T("form.try_again", "Label", label, "Reason", when.Reason(err)))
					bad = true
					break
				}
			}
			if bad {
				continue
			}
			f.set(vals)
			break
		}
	}
	return nil
}

// readAnswer asks one line; a list's answer is split at commas.
func (e *entry) readAnswer(label string, required, list bool) ([]string, error) {
	ask := e.a.lang().T("form.ask", "Label", label)
	if !required {
		ask = e.a.lang().T("form.ask_optional", "Label", label)
	}
	fmt.Fprint(e.a.stderr, ask+" ")
	line, err := e.readLine()
	if err != nil {
		return nil, err
	}
	var vals []string
	parts := []string{line}
	if list {
		parts = strings.Split(line, ",")
	}
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			vals = append(vals, p)
		}
	}
	return vals, nil
}

// readLines asks for several lines, up to an empty one.
func (e *entry) readLines(label string, required bool) ([]string, error) {
	ask := e.a.lang().T("form.ask_lines", "Label", label)
	if !required {
		ask = e.a.lang().T("form.ask_lines_optional", "Label", label)
	}
	fmt.Fprintln(e.a.stderr, ask)
	var lines []string
	for {
		fmt.Fprint(e.a.stderr, "> ")
		line, err := e.readLine()
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(line) == "" {
			break
		}
		lines = append(lines, strings.TrimRight(line, " \t"))
	}
	if len(lines) == 0 {
		return nil, nil
	}
	return []string{strings.Join(lines, "\n")}, nil
}

// readLine reads one line typed on the terminal (standard input, in the
// terminal's own line editing). Ctrl+D cancels; so does Ctrl+C, whose
// SIGINT cancels a.ctx while the read waits.
func (e *entry) readLine() (string, error) {
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		l, err := e.in.ReadString('\n')
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			fmt.Fprintln(e.a.stderr)
			if errors.Is(r.err, io.EOF) {
				return "", cli.ErrCancelled
			}
			return "", fmt.Errorf("%s: %w", e.a.lang().T("form.reading_answer"), r.err)
		}
		return strings.TrimRight(r.line, "\r\n"), nil
	case <-e.a.ctx.Done(): // the reader stays blocked; the process is ending
		fmt.Fprintln(e.a.stderr)
		return "", cli.ErrCancelled
	}
}

// markPersonalFlags ends the help of every flag tagged personal with
// visibleNote (a kong.PostBuild option), so no such flag can miss it.
func markPersonalFlags(note string) func(k *kong.Kong) error {
	return func(k *kong.Kong) error { markPersonal(k, note); return nil }
}

func markPersonal(k *kong.Kong, note string) {
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			if f.Tag.Has("personal") {
				f.Help = strings.TrimSuffix(f.Help, ".") + " " + note + "."
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(k.Model.Node)
}

// warnPersonalFlags tells someone who typed personal data as flags on a
// terminal who else can read it; scripts without a terminal are not
// nagged.
func (a *app) warnPersonalFlags(kctx *kong.Context) {
	if !isTTY(a.stderr) {
		return
	}
	var names []string
	for _, p := range kctx.Path {
		if p.Flag != nil && !p.Resolved && p.Flag.Tag.Has("personal") && !slices.Contains(names, "--"+p.Flag.Name) {
			names = append(names, "--"+p.Flag.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	l := a.lang()
	fmt.Fprintf(a.stderr, "fieldcase: %s\n", l.T("form.warning", "Flags", joinAnd(l, names), "Exposure", exposure(l, processesHidden(readMountinfo())))) // i18n: the program's name, as its error path writes it
	fmt.Fprintln(a.stderr, l.T("cli.hint", "Hint", l.T("form.warning_hint", "Command", strings.Join(commandWords(kctx.Selected()), " "))))
}

// exposure says who can read a command line.
func exposure(l *i18n.Locale, procHidden bool) string {
	if procHidden {
		return l.T("form.exposure_history")
	}
	return l.T("form.exposure")
}

func joinAnd(l *i18n.Locale, s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return l.T("form.and", "List", strings.Join(s[:len(s)-1], ", "), "Last", s[len(s)-1])
}

func readMountinfo() string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	return string(b)
}

// processesHidden says whether /proc, as mountinfo (proc(5)) describes its
// mounts, hides processes from other users (hidepid=1 or 2, noaccess,
// invisible, ptraceable): then they cannot read a command line.
func processesHidden(mountinfo string) bool {
	hidden := false
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || f[4] != "/proc" || g[0] != "proc" {
			continue
		}
		hidden = false // a later mount on /proc hides the earlier one
		for _, opt := range strings.Split(g[2], ",") {
			if v, ok := strings.CutPrefix(opt, "hidepid="); ok {
				hidden = v != "0" && v != "off"
			}
		}
	}
	return hidden
}

// orEmpty is a field's value, "" when not given.
func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
