package export

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/fieldcase/fieldcase/record"
)

// FileFHIR is the FHIR export's file: one Bundle.
const FileFHIR = "bundle.json"

// Systems and extensions of fieldcase's own in FHIR resources (URNs: they
// name, they are not fetched). docs/EXPORTS.md defines each.
const (
	SystemRecord   = "urn:fieldcase:record"   // a record's id
	SystemRevision = "urn:fieldcase:revision" // the revision exported
	SystemCaseRef  = "urn:fieldcase:case-ref" // the agency's case reference
	SystemNoteKind = "urn:fieldcase:note-kind"
	SystemScope    = "urn:fieldcase:consent-scope"
	SystemWorkType = "urn:fieldcase:work-type"
	extPrefix      = "urn:fieldcase:fhir:extension:"
	ExtRisk        = extPrefix + "risk"
	ExtWeights     = extPrefix + "caseload-weights"
	ExtAttendee    = extPrefix + "attendee"
	ExtCapacity    = extPrefix + "capacity-note"
	ExtReview      = extPrefix + "review-date"
	ExtRecording   = extPrefix + "recording"
	ExtVersions    = extPrefix + "versions"

	actCode       = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	partType      = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	consentScope  = "http://terminology.hl7.org/CodeSystem/consentscope"
	loinc         = "http://loinc.org"
	textPlainUTF8 = "text/plain; charset=utf-8"
)

// WriteFHIR writes c as an HL7 FHIR R4 Bundle of type collection (the
// mapping is docs/EXPORTS.md).
func WriteFHIR(w io.Writer, c *Case) error {
	b, err := FHIRBundle(c)
	if err != nil {
		return err
	}
	return WriteJSON(w, b)
}

// FHIRBundle maps c to FHIR R4 resources in a collection Bundle.
func FHIRBundle(c *Case) (*fhir.Bundle, error) {
	m := &mapper{c: c, bundle: &fhir.Bundle{Type: fhir.BundleTypeCollection, Timestamp: ptr(instant(c.Exported)),
		Identifier: &fhir.Identifier{System: ptr(SystemRecord), Value: ptr(c.Case.ID + "-" + c.Exported.UTC().Format("20060102T150405Z"))}}}
	m.patient = "Patient/" + fhirID(c.Case.Meta)
	m.transcripts = map[string]string{}
	for _, r := range c.Recordings {
		if r.Transcript != "" {
			m.transcripts[r.Transcript] = "DocumentReference/" + fhirID(r.Meta)
		}
	}
	steps := []func() error{m.patientAndPeople, m.carePlan, m.notes, m.consents, m.tasks, m.recordings}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return m.bundle, nil
}

type mapper struct {
	c           *Case
	bundle      *fhir.Bundle
	patient     string            // the reference to the subject's Patient
	people      map[string]string // a person's name (key) → RelatedPerson reference
	transcripts map[string]string // a transcript note's id → its recording's reference
}

// add puts a resource into the bundle.
func (m *mapper) add(res json.Marshaler) error {
	b, err := res.MarshalJSON()
	if err != nil {
		return err
	}
	m.bundle.Entry = append(m.bundle.Entry, fhir.BundleEntry{Resource: b})
	return nil
}

func (m *mapper) patientAndPeople() error {
	cr := m.c.Case
	p := fhir.Patient{Id: ptr(fhirID(cr.Meta)), Meta: meta(cr.Meta), Identifier: identifiers(cr.Meta),
		Name: []fhir.HumanName{{Text: ptr(cr.Subject)}}, BirthDate: optional(string(cr.DOB))}
	if cr.Address != "" {
		p.Address = []fhir.Address{{Text: ptr(cr.Address)}}
	}
	if err := m.add(p); err != nil {
		return err
	}
	m.people = map[string]string{key(cr.Subject): m.patient}
	for i, pp := range cr.People {
		id := safeID(fmt.Sprintf("%s-p%d", cr.ID, i+1))
		rp := fhir.RelatedPerson{Id: ptr(id), Patient: fhir.Reference{Reference: ptr(m.patient)},
			Name: []fhir.HumanName{{Text: ptr(pp.Name)}}, BirthDate: optional(string(pp.DOB))}
		if pp.Role != "" {
			rp.Relationship = []fhir.CodeableConcept{{Text: ptr(pp.Role)}}
		}
		if pp.Phone != "" {
			rp.Telecom = []fhir.ContactPoint{{System: ptr(fhir.ContactPointSystemPhone), Value: ptr(pp.Phone)}}
		}
		if err := m.add(rp); err != nil {
			return err
		}
		if _, ok := m.people[key(pp.Name)]; !ok {
			m.people[key(pp.Name)] = "RelatedPerson/" + id
		}
	}
	return nil
}

func (m *mapper) carePlan() error {
	cr := m.c.Case
	status := map[record.CaseStatus]fhir.RequestStatus{record.CaseOpen: fhir.RequestStatusActive, record.CasePending: fhir.RequestStatusOnHold,
		record.CaseClosed: fhir.RequestStatusCompleted}[cr.Status]
	if _, ok := map[record.CaseStatus]bool{record.CaseOpen: true, record.CasePending: true, record.CaseClosed: true}[cr.Status]; !ok {
		status = fhir.RequestStatusUnknown
	}
	cp := fhir.CarePlan{Id: ptr(fhirID(cr.Meta)), Meta: meta(cr.Meta),
		Identifier: append(identifiers(cr.Meta), fhir.Identifier{System: ptr(SystemCaseRef), Value: ptr(cr.Ref)}),
		Status:     status, Intent: fhir.CarePlanIntentPlan, Title: ptr("Case " + cr.Ref),
		Category:    []fhir.CodeableConcept{{Text: ptr("social care case")}},
		Description: optional(cr.Summary), Subject: fhir.Reference{Reference: ptr(m.patient)},
		Extension: versions(cr.Meta)}
	if cr.Risk != "" {
		cp.Extension = append(cp.Extension, fhir.Extension{Url: ExtRisk, ValueCode: ptr(cr.Risk)})
	}
	if w := cr.Weights; w != (Weights{}) {
		ext := fhir.Extension{Url: ExtWeights}
		for _, sub := range []struct {
			name string
			n    int
		}{{"children", w.Children}, {"complexity", w.Complexity}, {"travelMinutes", w.TravelMins}} {
			if sub.n != 0 {
				ext.Extension = append(ext.Extension, fhir.Extension{Url: sub.name, ValueInteger: ptr(sub.n)})
			}
		}
		if w.CourtStage != "" {
			ext.Extension = append(ext.Extension, fhir.Extension{Url: "courtStage", ValueCode: ptr(w.CourtStage)})
		}
		cp.Extension = append(cp.Extension, ext)
	}
	if cr.Opened != "" {
		cp.Period = &fhir.Period{Start: ptr(string(cr.Opened))}
	}
	if cr.Team != "" {
		cp.CareTeam = []fhir.Reference{{Display: ptr(cr.Team)}}
	}
	for _, w := range cr.Workers {
		cp.Contributor = append(cp.Contributor, fhir.Reference{Display: ptr(w)})
	}
	today := m.c.Exported.Format("2006-01-02")
	if cr.NextVisit != "" {
		cp.Activity = append(cp.Activity, fhir.CarePlanActivity{Detail: &fhir.CarePlanActivityDetail{
			Kind: ptr(fhir.CarePlanActivityKindAppointment), Code: &fhir.CodeableConcept{Text: ptr("next visit")},
			Status: fhir.CarePlanActivityStatusScheduled, ScheduledPeriod: &fhir.Period{Start: ptr(string(cr.NextVisit))}}})
	}
	for _, cd := range cr.CourtDates {
		st := fhir.CarePlanActivityStatusScheduled
		if string(cd.Date) < today {
			st = fhir.CarePlanActivityStatusCompleted
		}
		d := &fhir.CarePlanActivityDetail{Kind: ptr(fhir.CarePlanActivityKindAppointment),
			Code: &fhir.CodeableConcept{Text: ptr("court hearing")}, Status: st, Description: optional(cd.Hearing)}
		if cd.Date != "" {
			d.ScheduledPeriod = &fhir.Period{Start: ptr(string(cd.Date))}
		}
		if cd.Court != "" {
			d.Location = &fhir.Reference{Display: ptr(cd.Court)}
		}
		cp.Activity = append(cp.Activity, fhir.CarePlanActivity{Detail: d})
	}
	for _, t := range m.c.Tasks {
		cp.Activity = append(cp.Activity, fhir.CarePlanActivity{Reference: &fhir.Reference{Reference: ptr("Task/" + fhirID(t.Meta))}})
	}
	return m.add(cp)
}

// encounterClass is the v3 ActCode class of a note's contact.
var encounterClass = map[string][2]string{
	"visit": {"HH", "home health"},
	"phone": {"VR", "virtual"},
	"court": {"FLD", "field"},
}

func (m *mapper) notes() error {
	for _, n := range m.c.Notes {
		id := fhirID(n.Meta)
		start := noteTime(n)
		var encounter string
		var attendees []fhir.Extension
		if class, ok := encounterClass[n.Kind]; ok {
			e := fhir.Encounter{Id: ptr(id), Meta: meta(n.Meta), Identifier: identifiers(n.Meta),
				Status: fhir.EncounterStatusFinished,
				Class:  fhir.Coding{System: ptr(actCode), Code: ptr(class[0]), Display: ptr(class[1])},
				Type:   []fhir.CodeableConcept{noteKind(n.Kind)}, Subject: &fhir.Reference{Reference: ptr(m.patient)},
				Period: &fhir.Period{Start: ptr(start)}}
			for _, a := range n.Attendees {
				ref := fhir.Reference{Display: ptr(a)}
				if r, ok := m.people[key(a)]; ok && r != m.patient { // the subject is the encounter's subject
					ref.Reference = ptr(r)
				}
				e.Participant = append(e.Participant, fhir.EncounterParticipant{Individual: &ref})
			}
			if n.Place != "" {
				e.Location = []fhir.EncounterLocation{{Location: fhir.Reference{Display: ptr(n.Place)}}}
			}
			if err := m.add(e); err != nil {
				return err
			}
			encounter = "Encounter/" + id
		} else {
			// A supervision has no encounter with the subject: who was
			// there, and where, go on the document.
			for _, a := range n.Attendees {
				attendees = append(attendees, fhir.Extension{Url: ExtAttendee, ValueString: ptr(a)})
			}
			if n.Place != "" {
				attendees = append(attendees, fhir.Extension{Url: extPrefix + "place", ValueString: ptr(n.Place)})
			}
		}
		d := fhir.DocumentReference{Id: ptr(id), Meta: meta(n.Meta), Identifier: identifiers(n.Meta),
			Extension: append(versions(n.Meta), attendees...),
			Status:    fhir.DocumentReferenceStatusCurrent, DocStatus: ptr(fhir.CompositionStatusFinal),
			Type:     &fhir.CodeableConcept{Coding: []fhir.Coding{{System: ptr(loinc), Code: ptr("11506-3"), Display: ptr("Progress note")}}, Text: ptr("case note")},
			Category: []fhir.CodeableConcept{noteKind(n.Kind)},
			Subject:  &fhir.Reference{Reference: ptr(m.patient)}, Date: ptr(instant(n.Updated)),
			Content: []fhir.DocumentReferenceContent{{Attachment: fhir.Attachment{ContentType: ptr(textPlainUTF8),
				Data: ptr(base64.StdEncoding.EncodeToString([]byte(n.Text))), Title: ptr(n.Kind + " note " + string(n.Date)), Creation: ptr(start)}}},
			Context: &fhir.DocumentReferenceContext{Period: &fhir.Period{Start: ptr(start)}}}
		if n.Author != "" {
			d.Author = []fhir.Reference{{Display: ptr(n.Author)}}
		}
		if encounter != "" {
			d.Context.Encounter = []fhir.Reference{{Reference: ptr(encounter)}}
		}
		if rec, ok := m.transcripts[n.ID]; ok {
			d.RelatesTo = []fhir.DocumentReferenceRelatesTo{{Code: fhir.DocumentRelationshipTypeTransforms, Target: fhir.Reference{Reference: ptr(rec)}}}
		}
		if err := m.add(d); err != nil {
			return err
		}
	}
	return nil
}

func (m *mapper) consents() error {
	for _, d := range m.c.Consents {
		state, rule, provision := fhir.ConsentStateActive, "OPTIN", fhir.ConsentProvisionTypePermit
		switch d.Decision {
		case "refused":
			state, rule, provision = fhir.ConsentStateRejected, "OPTOUT", fhir.ConsentProvisionTypeDeny
		case "withdrawn":
			state, rule, provision = fhir.ConsentStateInactive, "OPTOUT", fhir.ConsentProvisionTypeDeny
		}
		performer := fhir.Reference{Display: ptr(d.Person)}
		if r, ok := m.people[key(d.Person)]; ok {
			performer.Reference = ptr(r)
		}
		c := fhir.Consent{Id: ptr(fhirID(d.Meta)), Meta: meta(d.Meta), Identifier: identifiers(d.Meta), Extension: versions(d.Meta),
			Status: state,
			Scope:  fhir.CodeableConcept{Coding: []fhir.Coding{{System: ptr(consentScope), Code: ptr("patient-privacy"), Display: ptr("Privacy Consent")}}},
			Category: []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: ptr(loinc), Code: ptr("59284-0"), Display: ptr("Patient Consent")}},
				Text: ptr("consent to share information")}},
			Patient: &fhir.Reference{Reference: ptr(m.patient)}, DateTime: optional(string(d.Date)),
			Performer:  []fhir.Reference{performer},
			PolicyRule: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: ptr(actCode), Code: ptr(rule)}}, Text: ptr(d.Decision)},
			Provision:  &fhir.ConsentProvision{Type: ptr(provision)}}
		for _, s := range d.Scope {
			c.Provision.Actor = append(c.Provision.Actor, fhir.ConsentProvisionActor{
				Role:      fhir.CodeableConcept{Coding: []fhir.Coding{{System: ptr(partType), Code: ptr("IRCP"), Display: ptr("information recipient")}}},
				Reference: fhir.Reference{Display: ptr(s), Identifier: &fhir.Identifier{System: ptr(SystemScope), Value: ptr(s)}}})
		}
		if d.CapacityNote != "" {
			c.Extension = append(c.Extension, fhir.Extension{Url: ExtCapacity, ValueString: ptr(d.CapacityNote)})
		}
		if d.ReviewDate != "" {
			c.Extension = append(c.Extension, fhir.Extension{Url: ExtReview, ValueDate: ptr(string(d.ReviewDate))})
		}
		if err := m.add(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *mapper) tasks() error {
	for _, t := range m.c.Tasks {
		st := fhir.TaskStatusRequested
		if t.Done {
			st = fhir.TaskStatusCompleted
		}
		kind := t.Kind
		if kind == "" {
			kind = "task"
		}
		ft := fhir.Task{Id: ptr(fhirID(t.Meta)), Meta: meta(t.Meta), Identifier: identifiers(t.Meta), Extension: versions(t.Meta),
			Status: st, Intent: "plan", Code: &fhir.CodeableConcept{Text: ptr(kind)}, Description: ptr(t.Title),
			For: &fhir.Reference{Reference: ptr(m.patient)}, LastModified: ptr(instant(t.Updated)),
			BasedOn: []fhir.Reference{{Reference: ptr("CarePlan/" + fhirID(m.c.Case.Meta))}}}
		if t.Due != "" {
			ft.Restriction = &fhir.TaskRestriction{Period: &fhir.Period{End: ptr(string(t.Due))}}
		}
		if t.DoneOn != "" {
			ft.ExecutionPeriod = &fhir.Period{End: ptr(string(t.DoneOn))}
		}
		if err := m.add(ft); err != nil {
			return err
		}
	}
	return nil
}

func (m *mapper) recordings() error {
	for _, r := range m.c.Recordings {
		doc := fhir.CompositionStatusPreliminary
		if r.Status == record.StatusTranscribed {
			doc = fhir.CompositionStatusFinal
		}
		ext := fhir.Extension{Url: ExtRecording}
		sub := func(name, code, str string) {
			switch {
			case code != "":
				ext.Extension = append(ext.Extension, fhir.Extension{Url: name, ValueCode: ptr(code)})
			case str != "":
				ext.Extension = append(ext.Extension, fhir.Extension{Url: name, ValueString: ptr(str)})
			}
		}
		sub("priority", string(r.Priority), "")
		sub("status", string(r.Status), "")
		ext.Extension = append(ext.Extension, fhir.Extension{Url: "duration", ValueDuration: &fhir.Duration{
			Value: ptr(json.Number(fmt.Sprint(r.DurationMS))), Unit: ptr("ms"), System: ptr("http://unitsofmeasure.org"), Code: ptr("ms")}})
		for _, t := range [][2]string{{string(record.StatusSubmitted), r.Submitted}, {string(record.StatusTranscribed), r.Transcribed}} {
			if v := dateTime(t[1]); v != "" {
				ext.Extension = append(ext.Extension, fhir.Extension{Url: t[0], ValueDateTime: ptr(v)})
			}
		}
		if r.Due != "" {
			ext.Extension = append(ext.Extension, fhir.Extension{Url: "due", ValueDate: ptr(string(r.Due))})
		}
		sub("transcribedBy", "", r.TranscribedBy)
		d := fhir.DocumentReference{Id: ptr(fhirID(r.Meta)), Meta: meta(r.Meta), Identifier: identifiers(r.Meta),
			Extension: append(versions(r.Meta), ext),
			Status:    fhir.DocumentReferenceStatusCurrent, DocStatus: ptr(doc),
			Type: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: ptr(SystemWorkType), Code: ptr(r.WorkType)}},
				Text: ptr("dictation: " + r.WorkType)},
			Subject: &fhir.Reference{Reference: ptr(m.patient)}, Date: ptr(instant(r.Updated)), Description: optional(r.Title),
			Content: []fhir.DocumentReferenceContent{{Attachment: fhir.Attachment{ContentType: ptr("audio/ogg"),
				Title: ptr(cmpOr(r.Title, "dictation")), Creation: optional(dateTime(r.Recorded))}}}}
		if r.Author != "" {
			d.Author = []fhir.Reference{{Display: ptr(r.Author)}}
		}
		if err := m.add(d); err != nil {
			return err
		}
	}
	return nil
}

// fhirID is a record's resource id: its record id, and the start of its
// revision too when versions of the record stand side by side (each is a
// resource).
func fhirID(m Meta) string {
	if m.Versions > 1 && len(m.Rev) >= 12 {
		return safeID(m.ID + "-" + m.Rev[:12])
	}
	return safeID(m.ID)
}

// safeID is s when it is a valid FHIR id (1–64 of [A-Za-z0-9.-]);
// otherwise (a record id may hold '_' and ':', and be 64 long) a digest of
// it, the same for the same s. The record's own id is in its identifier.
func safeID(s string) string {
	ok := len(s) > 0 && len(s) <= 64
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '.'
	}
	if ok {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "fc-" + hex.EncodeToString(sum[:20])
}

func identifiers(m Meta) []fhir.Identifier {
	out := []fhir.Identifier{{System: ptr(SystemRecord), Value: ptr(m.ID)}}
	if m.Rev != "" {
		out = append(out, fhir.Identifier{System: ptr(SystemRevision), Value: ptr(m.Rev)})
	}
	return out
}

func versions(m Meta) []fhir.Extension {
	if m.Versions <= 1 {
		return nil
	}
	return []fhir.Extension{{Url: ExtVersions, ValueInteger: ptr(m.Versions)}}
}

func meta(m Meta) *fhir.Meta {
	if m.Updated.IsZero() {
		return nil
	}
	return &fhir.Meta{LastUpdated: ptr(instant(m.Updated))}
}

func noteKind(kind string) fhir.CodeableConcept {
	return fhir.CodeableConcept{Coding: []fhir.Coding{{System: ptr(SystemNoteKind), Code: ptr(kind)}}, Text: ptr(kind)}
}

// noteTime is when a note's contact was: its date, and its time in this
// machine's zone when it has one.
func noteTime(n Note) string {
	if n.Time == "" {
		return string(n.Date)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", string(n.Date)+" "+n.Time, time.Local)
	if err != nil {
		return string(n.Date)
	}
	return t.Format(time.RFC3339)
}

// instant is a FHIR instant: seconds, milliseconds and a zone.
func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// dateTime is an RFC 3339 time as a FHIR dateTime, or "" when it is not one.
func dateTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return ""
	}
	return instant(t)
}

func ptr[T any](v T) *T { return &v }

func optional(s string) *string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
