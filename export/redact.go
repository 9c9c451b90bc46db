package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrLeaveOut is returned for a record to leave out that the case does not
// have.
var ErrLeaveOut = errors.New("no such record in the case")

// Reasons given for omissions.
const (
	WhyThirdParty = "third party: information about another person"
	WhyChosen     = "left out by the data protection officer"
)

// Kinds a Redaction may leave out whole.
var Kinds = []string{"note", "consent", "task", "recording"}

// Redaction says how to prepare a case for a subject access request.
type Redaction struct {
	// Subject is whose request it is: their name as the case records it.
	// Empty: the case's subject. Everyone else the vault names is a third
	// party, except the agency's staff (the case's workers, notes' and
	// recordings' authors, typists), who act in their role.
	Subject string
	// Names are more third parties' names to take out wherever they
	// appear (a staff member's too, when the officer decides so).
	Names []string
	// LeaveOut are records to leave out whole: record ids, or kinds (note,
	// consent, task, recording) for every record of that kind.
	LeaveOut []string
}

// Omission is one thing left out of a subject access export. It says what
// and why, never the name that was taken out: third parties are numbered.
type Omission struct {
	Kind  string `json:"kind"`  // case, note, consent, task, recording
	ID    string `json:"id"`    // the record's id
	Field string `json:"field"` // the field, or "" for the whole record
	What  string `json:"what"`
	Why   string `json:"why"`
}

// Omissions is the list written beside a subject access export
// (docs/schema/fieldcase-omissions.schema.json).
type Omissions struct {
	Format    string     `json:"format"`
	Version   int        `json:"version"`
	Exported  time.Time  `json:"exported"`
	CaseID    string     `json:"case_id"`
	Omissions []Omission `json:"omissions"`
}

// NewOmissions wraps a list for writing beside the export of c.
func NewOmissions(c *Case, list []Omission) *Omissions {
	return &Omissions{Format: FormatOmissions, Version: Version, Exported: c.Exported, CaseID: c.Case.ID,
		Omissions: append([]Omission{}, list...)}
}

// WriteJSON writes v (a Case or Omissions) as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// party is a third party the vault knows.
type party struct {
	name  string
	label string // "[third party N]"
	role  string // where the vault knows them from
}

// Redact returns a copy of c prepared for the subject access request r,
// and what it left out. c is not changed.
func Redact(c *Case, r Redaction) (*Case, []Omission, error) {
	out, err := clone(c)
	if err != nil {
		return nil, nil, err
	}
	out.SubjectAccess = true
	var om []Omission
	if err := leaveOut(out, r.LeaveOut, &om); err != nil {
		return nil, nil, err
	}
	subject := strings.TrimSpace(r.Subject)
	if subject == "" {
		subject = out.Case.Subject
	}
	forced := map[string]bool{}
	for _, n := range r.Names {
		if n = strings.TrimSpace(n); n != "" {
			forced[key(n)] = true
		}
	}
	staff := map[string]bool{}
	addStaff := func(n string) {
		if k := key(n); k != "" && !forced[k] {
			staff[k] = true
		}
	}
	for _, w := range out.Case.Workers {
		addStaff(w)
	}
	for _, n := range out.Notes {
		addStaff(n.Author)
	}
	for _, rec := range out.Recordings {
		addStaff(rec.Author)
		addStaff(rec.TranscribedBy)
	}
	delete(staff, key(subject))

	// Everyone the vault names who is neither the subject nor staff.
	var parties []*party
	byKey := map[string]*party{}
	third := func(name, role string) *party {
		k := key(name)
		if k == "" || k == key(subject) || staff[k] {
			return nil
		}
		if p := byKey[k]; p != nil {
			return p
		}
		p := &party{name: strings.TrimSpace(name), label: fmt.Sprintf("[third party %d]", len(parties)+1), role: role}
		parties = append(parties, p)
		byKey[k] = p
		return p
	}
	third(out.Case.Subject, "the case's subject")
	for _, p := range out.Case.People {
		third(p.Name, "a person in the case ("+orNone(p.Role)+")")
	}
	for _, n := range out.Notes {
		for _, a := range n.Attendees {
			third(a, "an attendee")
		}
	}
	for _, d := range out.Consents {
		third(d.Person, "a person who made a consent decision")
	}
	for _, n := range r.Names {
		third(n, "named by the data protection officer")
	}
	for _, p := range parties {
		om = append(om, Omission{Kind: "case", ID: out.Case.ID, What: fmt.Sprintf("%s is %s: the name is replaced by %q wherever it appears", p.label, p.role, p.label), Why: WhyThirdParty})
	}

	// The people of the case: only the subject stays.
	var people []Person
	for _, p := range out.Case.People {
		if tp := byKey[key(p.Name)]; tp != nil || key(p.Name) != key(subject) {
			what := "a person in the case"
			if tp != nil {
				what = tp.label
			}
			om = append(om, Omission{Kind: "case", ID: out.Case.ID, Field: "people", What: what + " (" + orNone(p.Role) + "): name, date of birth and phone left out", Why: WhyThirdParty})
			continue
		}
		people = append(people, p)
	}
	out.Case.People = nonNilPeople(people)
	// Other persons' consent decisions.
	out.Consents = slices.DeleteFunc(out.Consents, func(d Consent) bool {
		if key(d.Person) == key(subject) {
			return false
		}
		om = append(om, Omission{Kind: "consent", ID: d.ID, What: "the consent decision of another person", Why: WhyThirdParty})
		return true
	})

	s := newScrubber(subject, parties, staff)
	field := func(kind, id, name string, v *string) {
		n := 0
		*v, n = s.scrub(*v)
		if n > 0 {
			om = append(om, Omission{Kind: kind, ID: id, Field: name, What: fmt.Sprintf("%d mention(s) of third parties replaced", n), Why: WhyThirdParty})
		}
	}
	cr := &out.Case
	field("case", cr.ID, "subject", &cr.Subject)
	field("case", cr.ID, "address", &cr.Address)
	field("case", cr.ID, "summary", &cr.Summary)
	for i := range cr.CourtDates {
		field("case", cr.ID, fmt.Sprintf("court_dates[%d].hearing", i), &cr.CourtDates[i].Hearing)
		field("case", cr.ID, fmt.Sprintf("court_dates[%d].court", i), &cr.CourtDates[i].Court)
	}
	for i := range out.Notes {
		n := &out.Notes[i]
		replaced := 0
		for j, a := range n.Attendees {
			if p := byKey[key(a)]; p != nil {
				n.Attendees[j] = p.label
				replaced++
			}
		}
		if replaced > 0 {
			om = append(om, Omission{Kind: "note", ID: n.ID, Field: "attendees", What: fmt.Sprintf("%d attendee name(s) replaced", replaced), Why: WhyThirdParty})
		}
		field("note", n.ID, "place", &n.Place)
		field("note", n.ID, "text", &n.Text)
	}
	for i := range out.Consents {
		field("consent", out.Consents[i].ID, "capacity_note", &out.Consents[i].CapacityNote)
	}
	for i := range out.Tasks {
		field("task", out.Tasks[i].ID, "title", &out.Tasks[i].Title)
	}
	for i := range out.Recordings {
		field("recording", out.Recordings[i].ID, "title", &out.Recordings[i].Title)
	}
	return out, om, nil
}

// leaveOut removes the records the officer chose.
func leaveOut(c *Case, ids []string, om *[]Omission) error {
	kinds := map[string]bool{}
	want := map[string]bool{}
	for _, s := range ids {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case slices.Contains(Kinds, strings.ToLower(strings.TrimSuffix(s, "s"))):
			kinds[strings.ToLower(strings.TrimSuffix(s, "s"))] = true
		case strings.EqualFold(s, c.Case.ID) || strings.EqualFold(s, "case"):
			return fmt.Errorf("the case record itself cannot be left out: leave out what it holds instead")
		default:
			want[s] = true
		}
	}
	found := map[string]bool{}
	drop := func(kind string, m Meta) bool {
		if !kinds[kind] && !want[m.ID] {
			return false
		}
		found[m.ID] = true
		what := "the whole " + kind
		if kinds[kind] {
			what = "the whole " + kind + " (every " + kind + " was left out)"
		}
		*om = append(*om, Omission{Kind: kind, ID: m.ID, What: what, Why: WhyChosen})
		return true
	}
	c.Notes = slices.DeleteFunc(c.Notes, func(n Note) bool { return drop("note", n.Meta) })
	c.Consents = slices.DeleteFunc(c.Consents, func(d Consent) bool { return drop("consent", d.Meta) })
	c.Tasks = slices.DeleteFunc(c.Tasks, func(t Task) bool { return drop("task", t.Meta) })
	c.Recordings = slices.DeleteFunc(c.Recordings, func(r Recording) bool { return drop("recording", r.Meta) })
	for id := range want {
		if !found[id] {
			return fmt.Errorf("%w: %s (give a record id from the case, or one of %s)", ErrLeaveOut, id, strings.Join(Kinds, ", "))
		}
	}
	return nil
}

// scrubber replaces third parties' names in free text: each full name,
// and each part of it that is not also part of the subject's name, matched
// whole-word and ignoring case. The subject's and
// staff members' full names are matched too, and kept, so that a shared
// first name inside them stays.
type scrubber struct {
	re    *regexp.Regexp
	label map[string]string // lower-cased match → replacement; absent: keep
}

func newScrubber(subject string, parties []*party, staff map[string]bool) *scrubber {
	s := &scrubber{label: map[string]string{}}
	keep := map[string]bool{key(subject): true}
	for k := range staff {
		keep[k] = true
	}
	// Parts of the subject's name stay (a family's shared surname is the
	// subject's own); a part shared with a staff member's name does not
	// (better a colleague's first name replaced than a third party's kept).
	protectedParts := map[string]bool{}
	for _, part := range strings.Fields(key(subject)) {
		protectedParts[part] = true
	}
	var alts []string
	add := func(text string) {
		if text != "" && !slices.Contains(alts, text) {
			alts = append(alts, text)
		}
	}
	for k := range keep {
		add(k)
	}
	partOwners := map[string][]*party{}
	for _, p := range parties {
		k := key(p.name)
		s.label[k] = p.label
		add(k)
		for _, part := range strings.FieldsFunc(k, func(r rune) bool { return unicode.IsSpace(r) || r == '-' }) {
			if utf8.RuneCountInString(part) < 2 || protectedParts[part] {
				continue
			}
			partOwners[part] = append(partOwners[part], p)
		}
	}
	for part, owners := range partOwners {
		if _, full := s.label[part]; full {
			continue
		}
		s.label[part] = owners[0].label
		if len(owners) > 1 {
			s.label[part] = "[third party]"
		}
		add(part)
	}
	if len(s.label) == 0 {
		return s
	}
	// Longest first: the leftmost alternative that matches wins.
	slices.SortFunc(alts, func(a, b string) int { return len(b) - len(a) })
	quoted := make([]string, len(alts))
	for i, a := range alts {
		quoted[i] = regexp.QuoteMeta(a)
		quoted[i] = strings.ReplaceAll(quoted[i], " ", `\s+`)
	}
	s.re = regexp.MustCompile(`(?i)(?:` + strings.Join(quoted, "|") + `)`)
	return s
}

// scrub returns text with third parties' names replaced, and how many.
func (s *scrubber) scrub(text string) (string, int) {
	if s.re == nil || text == "" {
		return text, 0
	}
	var b strings.Builder
	n, pos, last := 0, 0, 0
	for pos <= len(text) {
		loc := s.re.FindStringIndex(text[pos:])
		if loc == nil {
			break
		}
		start, end := pos+loc[0], pos+loc[1]
		if end == start || !boundary(text, start, end) {
			_, size := utf8.DecodeRuneInString(text[start:])
			pos = start + max(size, 1)
			continue
		}
		if label, ok := s.label[key(text[start:end])]; ok {
			b.WriteString(text[last:start])
			b.WriteString(label)
			last = end
			n++
		}
		pos = end
	}
	if n == 0 {
		return text, 0
	}
	b.WriteString(text[last:])
	return b.String(), n
}

// boundary reports whether text[start:end] is a whole word: no letter or
// digit touches it on either side.
func boundary(text string, start, end int) bool {
	if r, _ := utf8.DecodeLastRuneInString(text[:start]); start > 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(text[end:]); end < len(text) && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
		return false
	}
	return true
}

// key is a name as compared: lower case, single spaces.
func key(name string) string { return strings.ToLower(strings.Join(strings.Fields(name), " ")) }

func orNone(s string) string {
	if s == "" {
		return "no role given"
	}
	return s
}

func nonNilPeople(p []Person) []Person {
	if p == nil {
		return []Person{}
	}
	return p
}

func clone(c *Case) (*Case, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var out Case
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
