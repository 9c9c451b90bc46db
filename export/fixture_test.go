package export

import (
	"fmt"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// Names in the fixture. The subject is Liam Doyle; his father shares his
// surname, which stays (it is the subject's own); everyone else is a third
// party except the staff.
const (
	subject   = "Liam Doyle"
	father    = "Kevin Doyle"
	mother    = "Siân Ó Briain"
	teacher   = "Priya Raghunathan"
	neighbour = "Tomasz Wiśniewski" // named only in free text, given by the officer
	worker    = "Ruth Adeyemi"
	typist    = "Gwen Morgan"
)

// thirdParties and their parts that must not survive redaction (Doyle is
// the subject's surname as well, so it stays).
var thirdPartyStrings = []string{father, "Kevin", mother, "Siân", "Ó Briain", "Briain", teacher, "Priya", "Raghunathan", neighbour, "Tomasz", "Wiśniewski"}

var fixtureNow = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

func fixMeta(n int, versions int) Meta {
	return Meta{ID: record.NewID(), Rev: fmt.Sprintf("%064x", n), Updated: fixtureNow.Add(-time.Duration(n) * time.Hour), Versions: versions}
}

// fixture is a case with every kind of record, names in every free-text
// field, cells a spreadsheet would run as formulas, a record in conflict
// and awkward text (quotes, line breaks, a CRLF, commas, non-ASCII).
func fixture() *Case {
	c := NewCase(fixMeta(1, 1), record.Case{
		Ref: "GAL-2026-0142", Subject: subject, DOB: "2015-06-01", Address: "12 Quay St, Cardiff",
		Status: "open", Risk: "high", Team: "Cardiff North", Workers: []string{worker},
		NextVisit: "2026-03-20", Summary: "Referred by school. " + father + " (father) and " + mother + " separated; Kevin's new partner not known.",
		Opened: "2025-11-02",
		People: []record.Person{
			{Name: subject, Role: "child", DOB: "2015-06-01"},
			{Name: father, Role: "father", Phone: "+44 7700 900123"},
			{Name: mother, Role: "mother", DOB: "1988-02-29", Phone: "=HYPERLINK(\"http://evil.example\",\"x\")"},
			{Name: teacher, Role: "teacher"},
		},
		CourtDates: []record.CourtDate{{Date: "2026-01-10", Hearing: "CMH, " + father + " to attend", Court: "Cardiff Family Court"}, {Date: "2026-04-02", Hearing: "IRH"}},
		Weights:    record.Weights{Children: 2, Complexity: 3, CourtStage: "proceedings", TravelMins: 25},
	}, fixtureNow, "fieldcase on "+worker+"'s laptop (device D1)")
	c.AddNote(fixMeta(2, 1), record.Note{Kind: "visit", Date: "2026-03-01", Time: "15:04", Place: mother + "'s flat",
		Attendees: []string{subject, mother, worker}, Author: worker,
		Text: "Liam was calm. His mother, Siân, said \"Kevin\" had not visited.\r\nNeighbour " + neighbour + " helps; SIÂN Ó BRIAIN agreed a plan,\n=1+1 is not a formula here."})
	phone := fixMeta(3, 1)
	phone.ID += ".x_y:z" // record ids may hold characters a FHIR id may not
	c.AddNote(phone, record.Note{Kind: "phone", Date: "2026-03-03", Attendees: []string{teacher}, Author: worker,
		Text: "-Call from Ms Raghunathan: attendance 78%. @school\ttabs"})
	c.AddNote(fixMeta(4, 1), record.Note{Kind: "supervision", Date: "2026-03-05", Place: "office", Attendees: []string{worker, "Ann Team-Manager"}, Author: "Ann Team-Manager",
		Text: "+Discussed risk; Mr Doyle (father) to be assessed."})
	court := fixMeta(5, 2)
	c.AddNote(court, record.Note{Kind: "court", Date: "2026-01-10", Attendees: []string{subject, father}, Author: worker, Text: "Hearing adjourned. 'Kevin' shouted."})
	court2 := court
	court2.Rev = fmt.Sprintf("%064x", 6)
	c.AddNote(court2, record.Note{Kind: "court", Date: "2026-01-10", Attendees: []string{father}, Author: worker, Text: "Hearing adjourned (edited on another laptop)."})
	c.AddConsent(fixMeta(7, 1), record.Consent{Person: subject, Scope: []string{"health", "school"}, Decision: "given", Date: "2026-02-01",
		CapacityNote: "Gillick competent; discussed with Siân present", ReviewDate: "2026-08-01"})
	c.AddConsent(fixMeta(8, 1), record.Consent{Person: mother, Scope: []string{"police"}, Decision: "refused", Date: "2026-02-02"})
	c.AddConsent(fixMeta(9, 1), record.Consent{Person: father, Scope: []string{"health"}, Decision: "withdrawn", Date: "2026-02-03", CapacityNote: "by phone"})
	c.AddTask(fixMeta(10, 1), record.Task{Title: "Visit Kevin Doyle at his flat", Kind: "visit", Due: "2026-03-21"})
	c.AddTask(fixMeta(11, 1), record.Task{Title: "@Chase school report", Kind: "task", Due: "2026-03-10", Done: true, DoneOn: "2026-03-09"})
	rec := fixMeta(12, 1)
	c.AddRecording(rec, record.Recording{Title: "Visit with Siân", WorkType: "visit note", Priority: "normal", Status: "transcribed",
		Recorded: "2026-03-01T16:10:05.123456789Z", DurationMS: 754000, Author: worker, Transcript: c.Notes[0].ID,
		Submitted: "2026-03-01T17:00:00Z", Due: "2026-03-04", Transcribed: "2026-03-02T10:00:00+01:00", TranscribedBy: typist})
	c.AddRecording(fixMeta(13, 1), record.Recording{WorkType: "letter", Priority: "urgent", Status: "draft", Recorded: "2026-03-13T08:00:00Z", DurationMS: 1000, Author: worker})
	return c
}
