package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// ErrCSV is returned by ReadCSV for a file that is not what WriteCSV wrote.
var ErrCSV = errors.New("not a fieldcase CSV export")

// The CSV export is one file per record type, each with a header row: a
// data protection officer or an analyst opens each in a spreadsheet, where
// one type's columns fit one sheet (a file per case would mix a note's
// columns with a task's). The case's people and court dates, lists inside
// the case record, get files of their own.
//
// Every cell is quoted; a cell that a spreadsheet would read as a formula
// (it begins with = + - @, a tab or a carriage return) gets a leading
// apostrophe, as OWASP's CSV injection advice says, and so does a cell
// that begins with an apostrophe, so that reading back removes exactly one.
// A list (attendees, scopes, workers) is one cell, an item a line; an item
// holding a line break or a backslash has them escaped (\n, \\), and an
// empty item is \0. Files begin with a UTF-8 byte order mark, which
// spreadsheets need to read names as UTF-8, and end lines with CRLF.
const (
	FileCase       = "case.csv"
	FilePeople     = "people.csv"
	FileCourtDates = "court_dates.csv"
	FileNotes      = "notes.csv"
	FileConsents   = "consents.csv"
	FileTasks      = "tasks.csv"
	FileRecordings = "recordings.csv"
	FileOmissions  = "omissions.csv"
)

const bom = "\ufeff"

// File is one file of an export: its name and what writes it.
type File struct {
	Name  string
	Write func(io.Writer) error
}

// Formats are the export formats Files writes.
var Formats = []string{"json", "csv", "fhir"}

// Files are the files of c's export in format (one of Formats).
func Files(c *Case, format string) ([]File, error) {
	switch format {
	case "json":
		return []File{{Name: "case.json", Write: func(w io.Writer) error { return WriteJSON(w, c) }}}, nil
	case "csv":
		return CSVFiles(c), nil
	case "fhir":
		return []File{{Name: FileFHIR, Write: func(w io.Writer) error { return WriteFHIR(w, c) }}}, nil
	}
	return nil, fmt.Errorf("unknown export format %q (want json, csv or fhir)", format)
}

// CSVFiles are the files of c's CSV export, in order.
func CSVFiles(c *Case) []File {
	return []File{
		{FileCase, func(w io.Writer) error { return writeTable(w, caseCols, []*Case{c}) }},
		{FilePeople, func(w io.Writer) error { return writeTable(w, personCols, ptrs(c.Case.People)) }},
		{FileCourtDates, func(w io.Writer) error { return writeTable(w, courtCols, ptrs(c.Case.CourtDates)) }},
		{FileNotes, func(w io.Writer) error { return writeTable(w, noteCols, ptrs(c.Notes)) }},
		{FileConsents, func(w io.Writer) error { return writeTable(w, consentCols, ptrs(c.Consents)) }},
		{FileTasks, func(w io.Writer) error { return writeTable(w, taskCols, ptrs(c.Tasks)) }},
		{FileRecordings, func(w io.Writer) error { return writeTable(w, recordingCols, ptrs(c.Recordings)) }},
	}
}

// OmissionsCSV is the file listing omissions, for a CSV export.
func OmissionsCSV(list []Omission) File {
	return File{FileOmissions, func(w io.Writer) error { return writeTable(w, omissionCols, ptrs(list)) }}
}

// ReadCSV reads a CSV export back from its files, opened by open (by
// name): it is the check that the export holds exactly what was exported.
func ReadCSV(open func(name string) (io.ReadCloser, error)) (*Case, error) {
	var cases []*Case
	if err := readFile(open, FileCase, caseCols, &cases); err != nil {
		return nil, err
	}
	if len(cases) != 1 {
		return nil, fmt.Errorf("%w: %s has %d rows, want 1", ErrCSV, FileCase, len(cases))
	}
	c := cases[0]
	steps := []error{
		readInto(open, FilePeople, personCols, &c.Case.People),
		readInto(open, FileCourtDates, courtCols, &c.Case.CourtDates),
		readInto(open, FileNotes, noteCols, &c.Notes),
		readInto(open, FileConsents, consentCols, &c.Consents),
		readInto(open, FileTasks, taskCols, &c.Tasks),
		readInto(open, FileRecordings, recordingCols, &c.Recordings),
	}
	if err := errors.Join(steps...); err != nil {
		return nil, err
	}
	return c, nil
}

// ReadOmissionsCSV reads omissions.csv back.
func ReadOmissionsCSV(open func(name string) (io.ReadCloser, error)) ([]Omission, error) {
	var out []Omission
	return out, readInto(open, FileOmissions, omissionCols, &out)
}

// column is one CSV column of a row type T.
type column[T any] struct {
	name string
	get  func(*T) string
	set  func(*T, string) error
}

func str[T any, S ~string](name string, f func(*T) *S) column[T] {
	return column[T]{name, func(t *T) string { return string(*f(t)) }, func(t *T, s string) error { *f(t) = S(s); return nil }}
}

func date[T any](name string, f func(*T) *record.Date) column[T] {
	return column[T]{name, func(t *T) string { return string(*f(t)) }, func(t *T, s string) error { *f(t) = record.Date(s); return nil }}
}

func num[T any](name string, f func(*T) *int) column[T] {
	return column[T]{name, func(t *T) string { return strconv.Itoa(*f(t)) },
		func(t *T, s string) error { n, err := strconv.Atoi(s); *f(t) = n; return err }}
}

func flag[T any](name string, f func(*T) *bool) column[T] {
	return column[T]{name, func(t *T) string { return strconv.FormatBool(*f(t)) },
		func(t *T, s string) error { b, err := strconv.ParseBool(s); *f(t) = b; return err }}
}

func when[T any](name string, f func(*T) *time.Time) column[T] {
	return column[T]{name, func(t *T) string { return f(t).UTC().Format(time.RFC3339Nano) },
		func(t *T, s string) error { v, err := time.Parse(time.RFC3339Nano, s); *f(t) = v.UTC(); return err }}
}

func list[T any](name string, f func(*T) *[]string) column[T] {
	return column[T]{name, func(t *T) string { return joinList(*f(t)) },
		func(t *T, s string) error { v, err := splitList(s); *f(t) = v; return err }}
}

func metaCols[T any](m func(*T) *Meta) []column[T] {
	return []column[T]{
		str("id", func(t *T) *string { return &m(t).ID }),
		str("rev", func(t *T) *string { return &m(t).Rev }),
		when("updated", func(t *T) *time.Time { return &m(t).Updated }),
		num("versions", func(t *T) *int { return &m(t).Versions }),
	}
}

var caseCols = slices.Concat([]column[Case]{
	str("format", func(c *Case) *string { return &c.Format }),
	num("version", func(c *Case) *int { return &c.Version }),
	when("exported", func(c *Case) *time.Time { return &c.Exported }),
	str("producer", func(c *Case) *string { return &c.Producer }),
	flag("subject_access", func(c *Case) *bool { return &c.SubjectAccess }),
}, metaCols(func(c *Case) *Meta { return &c.Case.Meta }), []column[Case]{
	str("ref", func(c *Case) *string { return &c.Case.Ref }),
	str("subject", func(c *Case) *string { return &c.Case.Subject }),
	date("dob", func(c *Case) *record.Date { return &c.Case.DOB }),
	str("address", func(c *Case) *string { return &c.Case.Address }),
	str("status", func(c *Case) *record.CaseStatus { return &c.Case.Status }),
	str("risk", func(c *Case) *string { return &c.Case.Risk }),
	str("team", func(c *Case) *string { return &c.Case.Team }),
	list("workers", func(c *Case) *[]string { return &c.Case.Workers }),
	date("next_visit", func(c *Case) *record.Date { return &c.Case.NextVisit }),
	date("opened", func(c *Case) *record.Date { return &c.Case.Opened }),
	str("summary", func(c *Case) *string { return &c.Case.Summary }),
	num("children", func(c *Case) *int { return &c.Case.Weights.Children }),
	num("complexity", func(c *Case) *int { return &c.Case.Weights.Complexity }),
	str("court_stage", func(c *Case) *string { return &c.Case.Weights.CourtStage }),
	num("travel_mins", func(c *Case) *int { return &c.Case.Weights.TravelMins }),
})

var personCols = []column[Person]{
	str("name", func(p *Person) *string { return &p.Name }),
	str("role", func(p *Person) *string { return &p.Role }),
	date("dob", func(p *Person) *record.Date { return &p.DOB }),
	str("phone", func(p *Person) *string { return &p.Phone }),
}

var courtCols = []column[CourtDate]{
	date("date", func(d *CourtDate) *record.Date { return &d.Date }),
	str("hearing", func(d *CourtDate) *string { return &d.Hearing }),
	str("court", func(d *CourtDate) *string { return &d.Court }),
}

var noteCols = slices.Concat(metaCols(func(n *Note) *Meta { return &n.Meta }), []column[Note]{
	str("kind", func(n *Note) *string { return &n.Kind }),
	date("date", func(n *Note) *record.Date { return &n.Date }),
	str("time", func(n *Note) *string { return &n.Time }),
	str("place", func(n *Note) *string { return &n.Place }),
	list("attendees", func(n *Note) *[]string { return &n.Attendees }),
	str("author", func(n *Note) *string { return &n.Author }),
	str("text", func(n *Note) *string { return &n.Text }),
})

var consentCols = slices.Concat(metaCols(func(d *Consent) *Meta { return &d.Meta }), []column[Consent]{
	str("person", func(d *Consent) *string { return &d.Person }),
	list("scope", func(d *Consent) *[]string { return &d.Scope }),
	str("decision", func(d *Consent) *string { return &d.Decision }),
	date("date", func(d *Consent) *record.Date { return &d.Date }),
	str("capacity_note", func(d *Consent) *string { return &d.CapacityNote }),
	date("review_date", func(d *Consent) *record.Date { return &d.ReviewDate }),
})

var taskCols = slices.Concat(metaCols(func(t *Task) *Meta { return &t.Meta }), []column[Task]{
	str("title", func(t *Task) *string { return &t.Title }),
	str("kind", func(t *Task) *string { return &t.Kind }),
	date("due", func(t *Task) *record.Date { return &t.Due }),
	flag("done", func(t *Task) *bool { return &t.Done }),
	date("done_on", func(t *Task) *record.Date { return &t.DoneOn }),
})

var recordingCols = slices.Concat(metaCols(func(r *Recording) *Meta { return &r.Meta }), []column[Recording]{
	str("title", func(r *Recording) *string { return &r.Title }),
	str("work_type", func(r *Recording) *string { return &r.WorkType }),
	str("priority", func(r *Recording) *record.Priority { return &r.Priority }),
	str("status", func(r *Recording) *record.RecordingStatus { return &r.Status }),
	str("recorded", func(r *Recording) *string { return &r.Recorded }),
	{"duration_ms", func(r *Recording) string { return strconv.FormatInt(r.DurationMS, 10) },
		func(r *Recording, s string) error {
			n, err := strconv.ParseInt(s, 10, 64)
			r.DurationMS = n
			return err
		}},
	str("author", func(r *Recording) *string { return &r.Author }),
	str("transcript", func(r *Recording) *string { return &r.Transcript }),
	str("submitted", func(r *Recording) *string { return &r.Submitted }),
	date("due", func(r *Recording) *record.Date { return &r.Due }),
	str("transcribed", func(r *Recording) *string { return &r.Transcribed }),
	str("transcribed_by", func(r *Recording) *string { return &r.TranscribedBy }),
})

var omissionCols = []column[Omission]{
	str("kind", func(o *Omission) *string { return &o.Kind }),
	str("id", func(o *Omission) *string { return &o.ID }),
	str("field", func(o *Omission) *string { return &o.Field }),
	str("what", func(o *Omission) *string { return &o.What }),
	str("why", func(o *Omission) *string { return &o.Why }),
}

func ptrs[T any](s []T) []*T {
	out := make([]*T, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}

func writeTable[T any](w io.Writer, cols []column[T], rows []*T) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(bom)
	cells := make([]string, len(cols))
	for i, c := range cols {
		cells[i] = c.name
	}
	writeRow(bw, cells)
	for _, r := range rows {
		for i, c := range cols {
			cells[i] = c.get(r)
		}
		writeRow(bw, cells)
	}
	return bw.Flush()
}

// writeRow writes one record, every cell quoted and neutralised.
func writeRow(w *bufio.Writer, cells []string) {
	for i, c := range cells {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteByte('"')
		w.WriteString(strings.ReplaceAll(Neutralise(c), `"`, `""`))
		w.WriteByte('"')
	}
	w.WriteString("\r\n")
}

// Neutralise returns a cell's text as a spreadsheet must not run it: one
// that begins with = + - @, a tab or a carriage return (a formula, or a
// way to start one) gets a leading apostrophe, which spreadsheets show as
// text (OWASP, CSV Injection). One that begins with an apostrophe gets one
// too, so that Restore can take exactly one off.
func Neutralise(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r'", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// Restore undoes Neutralise.
func Restore(cell string) string {
	if len(cell) >= 2 && cell[0] == '\'' && strings.ContainsRune("=+-@\t\r'", rune(cell[1])) {
		return cell[1:]
	}
	return cell
}

func joinList(items []string) string {
	esc := make([]string, len(items))
	for i, s := range items {
		if s == "" {
			esc[i] = `\0`
			continue
		}
		esc[i] = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(s)
	}
	return strings.Join(esc, "\n")
}

func splitList(cell string) ([]string, error) {
	out := []string{}
	if cell == "" {
		return out, nil
	}
	for _, line := range strings.Split(cell, "\n") {
		if line == `\0` {
			out = append(out, "")
			continue
		}
		var b strings.Builder
		for i := 0; i < len(line); i++ {
			if line[i] != '\\' {
				b.WriteByte(line[i])
				continue
			}
			if i+1 == len(line) {
				return nil, fmt.Errorf("%w: a list item ends in a lone backslash", ErrCSV)
			}
			i++
			switch line[i] {
			case '\\':
				b.WriteByte('\\')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				return nil, fmt.Errorf("%w: unknown escape \\%c in a list item", ErrCSV, line[i])
			}
		}
		out = append(out, b.String())
	}
	return out, nil
}

func readInto[T any](open func(string) (io.ReadCloser, error), name string, cols []column[T], dst *[]T) error {
	var rows []*T
	if err := readFile(open, name, cols, &rows); err != nil {
		return err
	}
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	*dst = out
	return nil
}

func readFile[T any](open func(string) (io.ReadCloser, error), name string, cols []column[T], dst *[]*T) error {
	f, err := open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte(bom))))
	r.FieldsPerRecord = len(cols)
	recs, err := r.ReadAll()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCSV, name, err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("%w: %s has no header", ErrCSV, name)
	}
	for i, c := range cols {
		if got := Restore(recs[0][i]); got != c.name {
			return fmt.Errorf("%w: %s column %d is %q, want %q", ErrCSV, name, i+1, got, c.name)
		}
	}
	for n, rec := range recs[1:] {
		row := new(T)
		for i, c := range cols {
			if err := c.set(row, Restore(rec[i])); err != nil {
				return fmt.Errorf("%w: %s row %d column %s: %w", ErrCSV, name, n+2, c.name, err)
			}
		}
		*dst = append(*dst, row)
	}
	return nil
}
