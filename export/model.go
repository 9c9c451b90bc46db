package export

import (
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// Format names the documents this package writes, in their "format"
// field, and their version.
const (
	FormatCase      = "fieldcase.export"
	FormatOmissions = "fieldcase.omissions"
	Version         = 1
)

// Case is one case as an export holds it: the current version of each of
// its records (each version side by side when a record is in conflict).
// Its JSON form is the export's documented format
// (docs/schema/fieldcase-export.schema.json).
type Case struct {
	Format   string    `json:"format"`
	Version  int       `json:"version"`
	Exported time.Time `json:"exported"`
	// Producer says what decrypted the case: a laptop and its user, or the
	// agency's recovery export.
	Producer string `json:"producer"`
	// SubjectAccess is set when the case was redacted for a subject access
	// request (Redact); the omissions are listed beside the export.
	SubjectAccess bool `json:"subject_access"`

	Case       CaseRecord  `json:"case"`
	Notes      []Note      `json:"notes"`
	Consents   []Consent   `json:"consents"`
	Tasks      []Task      `json:"tasks"`
	Recordings []Recording `json:"recordings"`
}

// Meta is what every exported record carries besides its body.
type Meta struct {
	ID      string    `json:"id"`
	Rev     string    `json:"rev"`
	Updated time.Time `json:"updated"`
	// Versions is how many versions of the record stand side by side (two
	// offline edits not yet merged); 1 normally. Each version is its own
	// entry with the same id.
	Versions int `json:"versions"`
}

// CaseRecord is the case record.
type CaseRecord struct {
	Meta
	Ref        string            `json:"ref"`
	Subject    string            `json:"subject"`
	DOB        record.Date       `json:"dob"`
	Address    string            `json:"address"`
	Status     record.CaseStatus `json:"status"`
	Risk       string            `json:"risk"`
	Team       string            `json:"team"`
	Workers    []string          `json:"workers"`
	NextVisit  record.Date       `json:"next_visit"`
	Summary    string            `json:"summary"`
	Opened     record.Date       `json:"opened"`
	People     []Person          `json:"people"`
	CourtDates []CourtDate       `json:"court_dates"`
	Weights    Weights           `json:"weights"`
}

// Person is someone in the case besides its subject.
type Person struct {
	Name  string      `json:"name"`
	Role  string      `json:"role"`
	DOB   record.Date `json:"dob"`
	Phone string      `json:"phone"`
}

// CourtDate is a hearing.
type CourtDate struct {
	Date    record.Date `json:"date"`
	Hearing string      `json:"hearing"`
	Court   string      `json:"court"`
}

// Weights are the case's caseload-weighting factors (about the work, not
// the person).
type Weights struct {
	Children   int    `json:"children"`
	Complexity int    `json:"complexity"`
	CourtStage string `json:"court_stage"`
	TravelMins int    `json:"travel_mins"`
}

// Note is a case note.
type Note struct {
	Meta
	Kind      string      `json:"kind"`
	Date      record.Date `json:"date"`
	Time      string      `json:"time"`
	Place     string      `json:"place"`
	Attendees []string    `json:"attendees"`
	Author    string      `json:"author"`
	Text      string      `json:"text"`
}

// Consent is one consent decision.
type Consent struct {
	Meta
	Person       string      `json:"person"`
	Scope        []string    `json:"scope"`
	Decision     string      `json:"decision"`
	Date         record.Date `json:"date"`
	CapacityNote string      `json:"capacity_note"`
	ReviewDate   record.Date `json:"review_date"`
}

// Task is a task or a planned visit.
type Task struct {
	Meta
	Title  string      `json:"title"`
	Kind   string      `json:"kind"`
	Due    record.Date `json:"due"`
	Done   bool        `json:"done"`
	DoneOn record.Date `json:"done_on"`
}

// Recording is a dictation's manifest: what it is and where it stands, not
// its audio (which 'fieldcase recording export' writes, and which cannot
// be redacted).
type Recording struct {
	Meta
	Title         string                 `json:"title"`
	WorkType      string                 `json:"work_type"`
	Priority      record.Priority        `json:"priority"`
	Status        record.RecordingStatus `json:"status"`
	Recorded      string                 `json:"recorded"`
	DurationMS    int64                  `json:"duration_ms"`
	Author        string                 `json:"author"`
	Transcript    string                 `json:"transcript"`
	Submitted     string                 `json:"submitted"`
	Due           record.Date            `json:"due"`
	Transcribed   string                 `json:"transcribed"`
	TranscribedBy string                 `json:"transcribed_by"`
}

// NewCase starts an export of the case record c (its current version,
// meta m).
func NewCase(m Meta, c record.Case, exported time.Time, producer string) *Case {
	m = m.norm()
	out := &Case{Format: FormatCase, Version: Version, Exported: exported.Round(0).UTC(), Producer: producer,
		Notes: []Note{}, Consents: []Consent{}, Tasks: []Task{}, Recordings: []Recording{}}
	out.Case = CaseRecord{Meta: m, Ref: c.Ref, Subject: c.Subject, DOB: c.DOB, Address: text(c.Address), Status: c.Status,
		Risk: c.Risk, Team: c.Team, Workers: nonNil(c.Workers), NextVisit: c.NextVisit, Summary: text(c.Summary), Opened: c.Opened,
		People: []Person{}, CourtDates: []CourtDate{},
		Weights: Weights{Children: c.Weights.Children, Complexity: c.Weights.Complexity, CourtStage: c.Weights.CourtStage, TravelMins: c.Weights.TravelMins}}
	for _, p := range c.People {
		out.Case.People = append(out.Case.People, Person{Name: p.Name, Role: p.Role, DOB: p.DOB, Phone: p.Phone})
	}
	for _, cd := range c.CourtDates {
		out.Case.CourtDates = append(out.Case.CourtDates, CourtDate{Date: cd.Date, Hearing: cd.Hearing, Court: cd.Court})
	}
	return out
}

// AddNote adds a note's version.
func (c *Case) AddNote(m Meta, n record.Note) {
	m = m.norm()
	c.Notes = append(c.Notes, Note{Meta: m, Kind: n.Kind, Date: n.Date, Time: n.Time, Place: text(n.Place),
		Attendees: nonNil(n.Attendees), Author: n.Author, Text: text(n.Text)})
}

// AddConsent adds a consent decision.
func (c *Case) AddConsent(m Meta, d record.Consent) {
	m = m.norm()
	c.Consents = append(c.Consents, Consent{Meta: m, Person: d.Person, Scope: nonNil(d.Scope), Decision: d.Decision,
		Date: d.Date, CapacityNote: text(d.CapacityNote), ReviewDate: d.ReviewDate})
}

// AddTask adds a task's version.
func (c *Case) AddTask(m Meta, t record.Task) {
	m = m.norm()
	c.Tasks = append(c.Tasks, Task{Meta: m, Title: t.Title, Kind: t.Kind, Due: t.Due, Done: t.Done, DoneOn: t.DoneOn})
}

// AddRecording adds a recording's manifest (its audio stays out).
func (c *Case) AddRecording(m Meta, r record.Recording) {
	m = m.norm()
	c.Recordings = append(c.Recordings, Recording{Meta: m, Title: r.Title, WorkType: r.WorkType, Priority: r.Priority,
		Status: r.Status, Recorded: r.Recorded, DurationMS: r.DurationMS, Author: r.Author, Transcript: r.Transcript,
		Submitted: r.Submitted, Due: r.Due, Transcribed: r.Transcribed, TranscribedBy: r.TranscribedBy})
}

// text is free text as exports hold it: line breaks as LF (a CSV reader
// turns a quoted CRLF into LF, and the formats must agree).
func text(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return append([]string{}, s...)
}

// norm is m as exports hold it: the time in UTC, at least one version.
func (m Meta) norm() Meta {
	m.Updated = m.Updated.Round(0).UTC()
	m.Versions = max(m.Versions, 1)
	return m
}
