package record

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Date is a calendar date in ISO form ("2006-01-02"), or "" when unset.
type Date string

const dateLayout = "2006-01-02"

// ParseDate accepts "" or an ISO date.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if _, err := time.Parse(dateLayout, s); err != nil {
		return "", fmt.Errorf("%w: date %q is not YYYY-MM-DD", ErrInvalid, s)
	}
	return Date(s), nil
}

// DateOf is the date of t in t's location.
func DateOf(t time.Time) Date { return Date(t.Format(dateLayout)) }

// Time is the date at midnight UTC; the zero time when unset or malformed.
func (d Date) Time() time.Time {
	t, _ := time.Parse(dateLayout, string(d))
	return t
}

// IsZero reports an unset date.
func (d Date) IsZero() bool { return d == "" }

// Before reports whether d is set and earlier than e.
func (d Date) Before(e Date) bool { return d != "" && e != "" && d < e }

func (d Date) valid() error {
	if d == "" {
		return nil
	}
	_, err := ParseDate(string(d))
	return err
}

// CaseStatus is a case's status (Case.Status).
type CaseStatus string

// Case statuses (Case.Status).
const (
	CaseOpen    CaseStatus = "open"
	CasePending CaseStatus = "pending"
	CaseClosed  CaseStatus = "closed"
)

// Valid reports one of CaseStatuses.
func (s CaseStatus) Valid() bool { return slices.Contains(CaseStatuses, s) }

// Allowed values of enumerated fields.
var (
	Risks          = []string{"low", "medium", "high"}
	CaseStatuses   = []CaseStatus{CaseOpen, CasePending, CaseClosed}
	NoteKinds      = []string{"visit", "phone", "court", "supervision"}
	Decisions      = []string{"given", "refused", "withdrawn"}
	ConsentScopes  = []string{"health", "school", "court", "police", "housing", "family", "other"}
	CourtStages    = []string{"none", "pre-proceedings", "proceedings", "final"}
	ComplexityLvls = []int{1, 2, 3}
)

func oneOf[T ~string](field string, v T, allowed []T) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%w: %s %q is not one of %s", ErrInvalid, field, v, joinOf(allowed))
}

// joinOf lists allowed values for people: "a, b, c".
func joinOf[T ~string](allowed []T) string {
	ss := make([]string, len(allowed))
	for i, a := range allowed {
		ss[i] = string(a)
	}
	return strings.Join(ss, ", ")
}

// Person is someone in a case: the subject's family and others around them.
type Person struct {
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"` // child, mother, father, carer, sibling, teacher…
	DOB   Date   `json:"dob,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// CourtDate is a hearing in a case.
type CourtDate struct {
	Date    Date   `json:"date"`
	Hearing string `json:"hearing,omitempty"`
	Court   string `json:"court,omitempty"`
}

// Weights are a case's caseload-weighting factors.
type Weights struct {
	Children   int    `json:"children,omitempty"`
	Complexity int    `json:"complexity,omitempty"` // 1 (routine) – 3 (complex)
	CourtStage string `json:"court_stage,omitempty"`
	TravelMins int    `json:"travel_mins,omitempty"` // one way
}

// Case is the body of a case record.
type Case struct {
	Ref        string      `json:"ref"`
	Subject    string      `json:"subject"`
	DOB        Date        `json:"dob,omitempty"`
	People     []Person    `json:"people,omitempty"`
	Address    string      `json:"address,omitempty"`
	Status     CaseStatus  `json:"status"`
	Risk       string      `json:"risk"`
	Team       string      `json:"team,omitempty"`
	Workers    []string    `json:"workers,omitempty"`
	NextVisit  Date        `json:"next_visit,omitempty"`
	CourtDates []CourtDate `json:"court_dates,omitempty"`
	Weights    Weights     `json:"weights,omitzero"`
	Summary    string      `json:"summary,omitempty"`
	Opened     Date        `json:"opened,omitempty"`
	// CaseType and Closed feed the retention policy (retention.go): the
	// case type picks its rule, Closed is when it was closed.
	CaseType string `json:"case_type,omitempty"`
	Closed   Date   `json:"closed,omitempty"`
}

// Normalize fills defaults a new case needs.
func (c *Case) Normalize() {
	c.Ref = strings.TrimSpace(c.Ref)
	c.Subject = strings.TrimSpace(c.Subject)
	if c.Status == "" {
		c.Status = CaseOpen
	}
	if c.Risk == "" {
		c.Risk = "medium"
	}
}

// Validate checks a case body.
func (c *Case) Validate() error {
	if c.Ref == "" {
		return fmt.Errorf("%w: a case needs a reference", ErrInvalid)
	}
	if len(c.Ref) > 40 || strings.ContainsAny(c.Ref, "\n\t") {
		return fmt.Errorf("%w: reference %q too long or has tabs/newlines", ErrInvalid, c.Ref)
	}
	if c.Subject == "" {
		return fmt.Errorf("%w: case %s needs a subject", ErrInvalid, c.Ref)
	}
	if err := oneOf("risk", c.Risk, Risks); err != nil {
		return err
	}
	if err := oneOf("status", c.Status, CaseStatuses); err != nil {
		return err
	}
	for _, d := range []Date{c.DOB, c.NextVisit, c.Opened, c.Closed} {
		if err := d.valid(); err != nil {
			return err
		}
	}
	for _, p := range c.People {
		if err := p.DOB.valid(); err != nil {
			return err
		}
	}
	for _, cd := range c.CourtDates {
		if err := cd.Date.valid(); err != nil {
			return err
		}
	}
	if c.Weights.CourtStage != "" {
		if err := oneOf("court stage", c.Weights.CourtStage, CourtStages); err != nil {
			return err
		}
	}
	if c.Weights.Complexity != 0 && !slices.Contains(ComplexityLvls, c.Weights.Complexity) {
		return fmt.Errorf("%w: complexity %d is not 1, 2 or 3", ErrInvalid, c.Weights.Complexity)
	}
	return nil
}

// NextCourtDate is the first court date on or after today, or "".
func (c *Case) NextCourtDate(today Date) Date {
	var best Date
	for _, cd := range c.CourtDates {
		if cd.Date >= today && (best == "" || cd.Date < best) {
			best = cd.Date
		}
	}
	return best
}

// Note is the body of a case note.
type Note struct {
	Kind      string   `json:"kind"`
	Date      Date     `json:"date"`
	Time      string   `json:"time,omitempty"` // "15:04"
	Place     string   `json:"place,omitempty"`
	Attendees []string `json:"attendees,omitempty"`
	Text      string   `json:"text"`
	Author    string   `json:"author,omitempty"`
}

// Normalize fills defaults.
func (n *Note) Normalize(today Date) {
	if n.Kind == "" {
		n.Kind = "visit"
	}
	if n.Date == "" {
		n.Date = today
	}
}

// Validate checks a note body.
func (n *Note) Validate() error {
	if err := oneOf("note kind", n.Kind, NoteKinds); err != nil {
		return err
	}
	if n.Date == "" {
		return fmt.Errorf("%w: a note needs a date", ErrInvalid)
	}
	if err := n.Date.valid(); err != nil {
		return err
	}
	if n.Time != "" {
		if _, err := time.Parse("15:04", n.Time); err != nil {
			return fmt.Errorf("%w: time %q is not HH:MM", ErrInvalid, n.Time)
		}
	}
	if strings.TrimSpace(n.Text) == "" {
		return fmt.Errorf("%w: a note needs text", ErrInvalid)
	}
	return nil
}

// Consent is one consent decision: given, refused or withdrawn. Decisions are
// events: a later decision of the same person and scope supersedes an earlier
// one, and none is ever edited, so consents cannot conflict.
type Consent struct {
	Person       string   `json:"person"`
	Scope        []string `json:"scope"`
	Decision     string   `json:"decision"`
	Date         Date     `json:"date"`
	CapacityNote string   `json:"capacity_note,omitempty"`
	ReviewDate   Date     `json:"review_date,omitempty"`
}

// Validate checks a consent body.
func (c *Consent) Validate() error {
	if strings.TrimSpace(c.Person) == "" {
		return fmt.Errorf("%w: a consent record needs a person", ErrInvalid)
	}
	if len(c.Scope) == 0 {
		return fmt.Errorf("%w: a consent record needs a scope (%s)", ErrInvalid, strings.Join(ConsentScopes, ", "))
	}
	for _, s := range c.Scope {
		if err := oneOf("scope", s, ConsentScopes); err != nil {
			return err
		}
	}
	if err := oneOf("decision", c.Decision, Decisions); err != nil {
		return err
	}
	if c.Date == "" {
		return fmt.Errorf("%w: a consent record needs a date", ErrInvalid)
	}
	if err := c.Date.valid(); err != nil {
		return err
	}
	return c.ReviewDate.valid()
}

// Task is a visit or task due on a case.
type Task struct {
	Title  string `json:"title"`
	Kind   string `json:"kind,omitempty"` // visit, task
	Due    Date   `json:"due"`
	Done   bool   `json:"done,omitempty"`
	DoneOn Date   `json:"done_on,omitempty"`
}

// Validate checks a task body.
func (t *Task) Validate() error {
	if strings.TrimSpace(t.Title) == "" {
		return fmt.Errorf("%w: a task needs a title", ErrInvalid)
	}
	if t.Kind != "" {
		if err := oneOf("task kind", t.Kind, []string{"visit", "task"}); err != nil {
			return err
		}
	}
	if err := t.Due.valid(); err != nil {
		return err
	}
	return t.DoneOn.valid()
}

// Priority is a recording's priority (Recording.Priority).
type Priority string

// Recording priorities (Recording.Priority), least pressing first.
const (
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Valid reports one of Priorities.
func (p Priority) Valid() bool { return slices.Contains(Priorities, p) }

// RecordingStatus is a recording's place in the workflow (Recording.Status).
type RecordingStatus string

// Valid reports one of RecordingStatuses.
func (s RecordingStatus) Valid() bool { return slices.Contains(RecordingStatuses, s) }

// Recording statuses (Recording.Status), in the order of the workflow; a
// machine draft's correction (StatusCorrection) comes between submitted and
// transcribed.
const (
	StatusDraft       RecordingStatus = "draft"
	StatusSubmitted   RecordingStatus = "submitted"
	StatusTranscribed RecordingStatus = "transcribed"
)

// Recording workflow values.
var (
	WorkTypes          = []string{"visit note", "court report", "letter", "other"}
	Priorities         = []Priority{PriorityNormal, PriorityHigh, PriorityUrgent}
	RecordingStatuses  = []RecordingStatus{StatusDraft, StatusSubmitted, StatusCorrection, StatusTranscribed}
	DefaultRecordCodec = "opus"
)

// ChunkRef names one sealed audio chunk of a recording: its place (take,
// index, last) and its id, the SHA-256 of the sealed bytes, by which it
// travels and is verified.
type ChunkRef struct {
	Take  uint32 `json:"take"`
	Index uint32 `json:"index"`
	Last  bool   `json:"last,omitempty"`
	ID    RevID  `json:"id"`
}

// Recording is the body of a recording record: its manifest. The audio is
// in chunks stored apart (blobs); Timeline says how their packets form the
// recording, in the audio package's encoding, opaque here.
type Recording struct {
	Title       string          `json:"title,omitempty"`
	WorkType    string          `json:"work_type"`
	Priority    Priority        `json:"priority"`
	Status      RecordingStatus `json:"status"`
	Recorded    string          `json:"recorded"` // RFC 3339, when recording began
	DurationMS  int64           `json:"duration_ms"`
	Codec       string          `json:"codec"`
	SampleRate  int             `json:"sample_rate"`
	Timeline    []byte          `json:"timeline,omitempty"`
	Chunks      []ChunkRef      `json:"chunks,omitempty"`
	Interrupted bool            `json:"interrupted,omitempty"` // cut short by a crash; holds what was committed
	Author      string          `json:"author,omitempty"`
	Transcript  string          `json:"transcript,omitempty"` // id of the note holding the transcript
	Submitted   string          `json:"submitted,omitempty"`  // RFC 3339, when it was submitted for typing
	Due         Date            `json:"due,omitempty"`        // when its transcript is due (set at submission)
	// Transcribed is when its transcript was saved (RFC 3339), by
	// TranscribedBy (the typist's name). CorrectedDraft says the
	// transcript began as the machine draft: TranscribedBy corrected it.
	Transcribed    string `json:"transcribed,omitempty"`
	TranscribedBy  string `json:"transcribed_by,omitempty"`
	CorrectedDraft bool   `json:"corrected_draft,omitempty"`
	// Draft is the machine draft of the transcript (status correction
	// while a typist corrects it), kept after the transcript is saved.
	Draft *MachineDraft `json:"draft,omitempty"`
}

// Validate checks a recording manifest.
func (r *Recording) Validate() error {
	if err := oneOf("work type", r.WorkType, WorkTypes); err != nil {
		return err
	}
	if err := oneOf("priority", r.Priority, Priorities); err != nil {
		return err
	}
	if err := oneOf("status", r.Status, RecordingStatuses); err != nil {
		return err
	}
	if r.DurationMS < 0 {
		return fmt.Errorf("%w: negative duration", ErrInvalid)
	}
	if len(r.Chunks) > 1<<20 {
		return fmt.Errorf("%w: %d chunks", ErrInvalid, len(r.Chunks))
	}
	for name, t := range map[RecordingStatus]string{StatusSubmitted: r.Submitted, StatusTranscribed: r.Transcribed} {
		if t == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, t); err != nil {
			return fmt.Errorf("%w: %s %q is not an RFC 3339 time", ErrInvalid, name, t)
		}
	}
	if r.Draft != nil {
		if err := r.Draft.Validate(r.DurationMS); err != nil {
			return err
		}
	} else if r.Status == StatusCorrection {
		return fmt.Errorf("%w: a recording pending correction needs its machine draft", ErrInvalid)
	}
	return r.Due.valid()
}
