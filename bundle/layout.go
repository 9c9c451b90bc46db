package bundle

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// The sections of a bundle. PD27A's sections for children proceedings
// (preliminary documents, applications and orders, statements, care plans,
// reports, other documents) are for the whole court file; a case record
// kept by a social worker or guardian fills a bundle of its own, in these.
const (
	secPreliminary = "A"
	secChronology  = "B"
	secConsents    = "C"
	secTranscripts = "D"
	secRecordings  = "E"
	secIntegrity   = "F"
)

// layout builds the sections and their entries from the records.
func (w *writer) layout() []*section {
	secs := []*section{
		{Letter: secPreliminary, Title: "Preliminary documents"},
		{Letter: secChronology, Title: "Chronology: case notes, visits and tasks", Empty: "No notes, visits or tasks in this bundle's range."},
		{Letter: secConsents, Title: "Consent decisions", Empty: "No consent decisions in this bundle's range."},
		{Letter: secTranscripts, Title: "Transcripts of recordings", Empty: "No transcripts in this bundle's range."},
		{Letter: secRecordings, Title: "Recordings", Empty: "No recordings in this bundle's range."},
		{Letter: secIntegrity, Title: "Evidence of integrity"},
	}
	sec := map[string]*section{}
	for _, s := range secs {
		sec[s.Letter] = s
	}
	transcripts := map[string]*shown{} // note id → its recording
	for _, s := range w.records {
		if r, ok := s.Value.(*record.Recording); ok && r.Transcript != "" {
			transcripts[r.Transcript] = s
		}
	}
	sec[secPreliminary].items = append(sec[secPreliminary].items, w.aboutItem())
	var chron, consents, trans, recs, audit []*shown
	for _, s := range w.records {
		switch v := s.Value.(type) {
		case *record.Case:
			sec[secPreliminary].items = append(sec[secPreliminary].items, w.caseItem(s, v))
		case *record.Note:
			if transcripts[s.Rev.RecordID] != nil {
				trans = append(trans, s)
			} else {
				chron = append(chron, s)
			}
		case *record.Task:
			chron = append(chron, s)
		case *record.Consent:
			consents = append(consents, s)
		case *record.Recording:
			recs = append(recs, s)
		case *record.AuditEvent:
			audit = append(audit, s)
		}
	}
	for _, l := range [][]*shown{chron, consents, trans, recs, audit} {
		slices.SortStableFunc(l, byDate)
	}
	for _, s := range chron {
		switch v := s.Value.(type) {
		case *record.Note:
			sec[secChronology].items = append(sec[secChronology].items, w.noteItem(s, v, nil))
		case *record.Task:
			sec[secChronology].items = append(sec[secChronology].items, w.taskItem(s, v))
		}
	}
	for _, s := range consents {
		sec[secConsents].items = append(sec[secConsents].items, w.consentItem(s, s.Value.(*record.Consent)))
	}
	for _, s := range trans {
		sec[secTranscripts].items = append(sec[secTranscripts].items, w.noteItem(s, s.Value.(*record.Note), transcripts[s.Rev.RecordID]))
	}
	for _, s := range recs {
		sec[secRecordings].items = append(sec[secRecordings].items, w.recordingItem(s, s.Value.(*record.Recording)))
	}
	// Re-order the records as the PDF shows them: the manifest follows.
	var order []*shown
	for _, l := range [][]*shown{filterCase(w.records), chron, consents, trans, recs, audit} {
		order = append(order, l...)
	}
	w.records = order
	slices.SortStableFunc(w.deletions, func(a, b *shown) int { return cmpHLC(a, b) })
	f := sec[secIntegrity]
	f.items = append(f.items, w.checkItem(), w.signersItem(), w.logItem())
	if len(w.deletions) > 0 {
		f.items = append(f.items, w.deletionsItem())
	}
	if len(audit) > 0 {
		f.items = append(f.items, w.auditItem(audit))
	}
	return secs
}

func filterCase(l []*shown) []*shown {
	var out []*shown
	for _, s := range l {
		if s.Rev.Kind == record.KindCase {
			out = append(out, s)
		}
	}
	return out
}

func cmpHLC(a, b *shown) int {
	if a.Rev.HLC != b.Rev.HLC {
		if a.Rev.HLC < b.Rev.HLC {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Rev.RecordID, b.Rev.RecordID)
}

// frontLines are the front sheet's lines under "Court bundle".
func (w *writer) frontLines() []string {
	lines := []string{"Case " + w.src.Ref}
	for _, s := range w.records {
		if c, ok := s.Value.(*record.Case); ok {
			if c.Subject != "" {
				lines = append(lines, "Concerning: "+c.Subject)
			}
			if next := c.NextCourtDate(record.DateOf(w.now)); next != "" {
				for _, cd := range c.CourtDates {
					if cd.Date == next {
						lines = append(lines, strings.TrimSpace(fmt.Sprintf("Next hearing: %s %s %s", cd.Date, cd.Hearing, atCourt(cd.Court))))
					}
				}
			}
			break
		}
	}
	lines = append(lines, "Records "+w.rangeText(), "Made "+w.now.Format("2 January 2006 at 15:04 UTC")+" by "+w.src.Producer)
	return lines
}

func atCourt(c string) string {
	if c == "" {
		return ""
	}
	return "at " + c
}

func (w *writer) rangeText() string {
	switch {
	case w.src.From == "" && w.src.To == "":
		return "of the whole case"
	case w.src.From == "":
		return "up to " + string(w.src.To)
	case w.src.To == "":
		return "from " + string(w.src.From)
	}
	return "from " + string(w.src.From) + " to " + string(w.src.To)
}

// author is who wrote a revision, as the agency's signed roster says.
func (w *writer) author(rev *record.Revision) string {
	wr, ok := w.roster.Writer(rev.Device)
	if !ok {
		return "device " + rev.Device + ", which the agency's statements do not prove"
	}
	return wr.User.Name + " (" + string(wr.User.Role) + ")"
}

// written says who wrote a revision and when, for the line under a title.
func (w *writer) written(s *shown) string {
	line := "Written by " + w.author(s.Rev) + ", " + when(s.Rev.HLC) + "."
	if wr, ok := w.roster.Writer(s.Rev.Device); ok && wr.Device.Name != "" {
		line = "Written by " + w.author(s.Rev) + " on " + wr.Device.Name + ", " + when(s.Rev.HLC) + "."
	}
	if s.Versions > 1 {
		line += fmt.Sprintf(" One of %d versions that stand side by side (two edits made apart, both kept).", s.Versions)
	}
	return line
}

func when(h record.HLC) string { return h.Time().UTC().Format("2 January 2006 at 15:04 UTC") }

func (w *writer) byName(rev *record.Revision) string {
	if wr, ok := w.roster.Writer(rev.Device); ok {
		return wr.User.Name
	}
	return "unknown device"
}

func (w *writer) aboutItem() *item {
	return &item{title: "About this bundle", draw: func(d *doc) {
		d.text(fmt.Sprintf("This bundle holds the record of case %s %s, as kept in fieldcase, the agency's case-recording system. It was made on %s by %s.",
			w.src.Ref, w.rangeText(), w.now.Format("2 January 2006 at 15:04 UTC"), w.src.Producer))
		d.gap()
		d.text("Section A holds this page and the case summary; B the case notes, visits and tasks in date order; C the consent decisions; D the typed transcripts of recordings; E the recordings themselves, which are in the folder beside this file as Ogg Opus audio; F the evidence that the records are what their authors wrote.")
		d.gap()
		d.text("Each entry says who wrote it — the name the agency's signed roster gives the person whose laptop signed it — and when. Under each title, a record and revision number name the signed original in manifest.json, beside this file. README.txt, also beside it, says how anyone can check every signature again with the fieldcase-verify program, without the case server and without access to the case.")
	}}
}

func (w *writer) caseItem(s *shown, c *record.Case) *item {
	return &item{title: "Case summary", date: string(c.Opened), by: w.byName(s.Rev), draw: func(d *doc) {
		d.meta(w.written(s))
		d.refLines(&ref{&s.entry})
		d.pdf.Ln(2)
		d.field("Reference", c.Ref)
		d.field("Subject", c.Subject)
		d.field("Date of birth", string(c.DOB))
		d.field("Address", c.Address)
		d.field("Status", string(c.Status))
		d.field("Risk", c.Risk)
		d.field("Team", c.Team)
		d.field("Workers", strings.Join(c.Workers, ", "))
		d.field("Opened", string(c.Opened))
		d.field("Next visit", string(c.NextVisit))
		for _, cd := range c.CourtDates {
			d.field("Court date", strings.TrimSpace(fmt.Sprintf("%s %s %s", cd.Date, cd.Hearing, atCourt(cd.Court))))
		}
		for _, p := range c.People {
			var parts []string
			for _, x := range []string{p.Role, string(p.DOB), p.Phone} {
				if x != "" {
					parts = append(parts, x)
				}
			}
			v := p.Name
			if len(parts) > 0 {
				v += " (" + strings.Join(parts, ", ") + ")"
			}
			d.field("Person", v)
		}
		if c.Summary != "" {
			d.pdf.Ln(2)
			d.text(c.Summary)
		}
	}}
}

var noteKinds = map[string]string{"visit": "Visit note", "phone": "Phone call", "court": "Court note", "supervision": "Supervision note"}

func (w *writer) noteItem(s *shown, n *record.Note, rec *shown) *item {
	kind := noteKinds[n.Kind]
	if kind == "" {
		kind = "Note"
	}
	title := strings.TrimSpace(fmt.Sprintf("%s, %s %s", kind, n.Date, n.Time))
	if rec != nil {
		r := rec.Value.(*record.Recording)
		title = "Transcript of " + recordingName(r) + ", " + string(n.Date)
	}
	return &item{title: title, date: string(n.Date), by: w.byName(s.Rev), draw: func(d *doc) {
		d.meta(w.written(s))
		d.refLines(&ref{&s.entry})
		d.pdf.Ln(2)
		if rec != nil {
			d.field("Recording", rec.Rev.RecordID+recordingFile(rec))
		}
		d.field("Place", n.Place)
		d.field("Present", strings.Join(n.Attendees, ", "))
		d.text(n.Text)
	}}
}

func recordingName(r *record.Recording) string {
	if r.Title != "" {
		return "“" + r.Title + "”"
	}
	return "the " + r.WorkType + " recording"
}

func recordingFile(s *shown) string {
	if s.file == "" {
		return ""
	}
	return " (audio in " + s.file + ")"
}

func (w *writer) taskItem(s *shown, t *record.Task) *item {
	what := "Task"
	if t.Kind == "visit" {
		what = "Visit planned"
	}
	title := what + ": " + t.Title
	return &item{title: title, date: string(t.Due), by: w.byName(s.Rev), draw: func(d *doc) {
		d.meta(w.written(s))
		d.refLines(&ref{&s.entry})
		d.pdf.Ln(2)
		d.field("Due", string(t.Due))
		if t.Done {
			d.field("Done", cmpOr(string(t.DoneOn), "yes"))
		} else {
			d.field("Done", "not yet")
		}
	}}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (w *writer) consentItem(s *shown, c *record.Consent) *item {
	title := fmt.Sprintf("%s: consent %s, %s", c.Person, c.Decision, c.Date)
	return &item{title: title, date: string(c.Date), by: w.byName(s.Rev), draw: func(d *doc) {
		d.meta(w.written(s))
		d.refLines(&ref{&s.entry})
		d.pdf.Ln(2)
		d.field("Whose decision", c.Person)
		d.field("Decision", c.Decision)
		d.field("For", strings.Join(c.Scope, ", "))
		d.field("Date", string(c.Date))
		d.field("Capacity", c.CapacityNote)
		d.field("Review by", string(c.ReviewDate))
	}}
}

func (w *writer) recordingItem(s *shown, r *record.Recording) *item {
	date := ""
	if t, err := time.Parse(time.RFC3339, r.Recorded); err == nil {
		date = t.UTC().Format("2006-01-02 15:04 UTC")
	}
	title := "Recording " + recordingName(r) + ", " + date
	return &item{title: title, date: date, by: w.byName(s.Rev), draw: func(d *doc) {
		d.meta(w.written(s))
		d.refLines(&ref{&s.entry})
		d.pdf.Ln(2)
		d.field("Work type", r.WorkType)
		d.field("Started", date)
		d.field("Length", (time.Duration(r.DurationMS) * time.Millisecond).Round(time.Second).String())
		d.field("Status", string(r.Status))
		if r.Interrupted {
			d.field("Note", "the recording was cut short (the laptop stopped); it holds what was saved")
		}
		if s.audio != nil {
			d.field("Audio file", s.audio.Name+" (Ogg Opus, "+fmt.Sprint(s.audio.Size)+" bytes)")
			d.field("SHA-256", s.audio.SHA256)
		} else {
			d.field("Audio file", "none in this bundle")
		}
		if r.Transcript != "" {
			d.field("Transcript", "note "+r.Transcript+" (section D)")
		}
	}}
}

func (w *writer) checkItem() *item {
	return &item{title: "How to check this bundle", draw: func(d *doc) {
		d.text("Every entry of this bundle was written on a laptop that signed it with its own key, and the agency — not the case server — signed statements saying which laptop belongs to whom. manifest.json, beside this file, holds each entry's signed original (encrypted: the text here is what the laptop that made this bundle decrypted), its signature, the agency's statements, and the SHA-256 of every file of the bundle.")
		d.gap()
		d.text("The fieldcase-verify program checks all of it again from the files alone: that no file was changed, that each signature is the writing laptop's, that the agency vouched for that laptop, that the server's log holds each revision where its receipt says, and that each entry of this PDF is one of the signed revisions. Run: fieldcase-verify FOLDER. README.txt says more.")
		d.gap()
		d.text("The agency's key has the fingerprint " + trust.AgencyFingerprint(w.src.Agency) + ". Ask the agency to confirm it: a bundle made under another key proves nothing about this agency.")
	}}
}

func (w *writer) signersItem() *item {
	devs := map[string]bool{}
	for _, s := range append(slices.Clip(w.records), w.deletions...) {
		devs[s.Rev.Device] = true
	}
	ids := make([]string, 0, len(devs))
	for id := range devs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return &item{title: "Who signed these records", draw: func(d *doc) {
		d.text("The laptops that signed the entries of this bundle, as the agency's signed statements prove them:")
		d.gap()
		for _, id := range ids {
			wr, ok := w.roster.Writer(id)
			if !ok {
				d.field("Device "+id, "not proved by the agency's statements")
				continue
			}
			team := wr.User.Team
			if t, ok := w.roster.Teams[team]; ok && t.Name != "" {
				team = t.Name
			}
			v := fmt.Sprintf("%s, %s in team %s; laptop “%s”, enrolled %s", wr.User.Name, wr.User.Role, team, wr.Device.Name, wr.Device.Issued.UTC().Format("2 January 2006"))
			if wr.Device.Revoked {
				v += fmt.Sprintf("; revoked (its writes up to number %d stand)", wr.Device.AfterSeq)
			}
			d.field("Device "+id, v)
		}
	}}
}

func (w *writer) logItem() *item {
	return &item{title: "The case server's log", draw: func(d *doc) {
		if w.src.Evidence == nil {
			d.text("This bundle carries no evidence from the case server's log: its producer kept none. The signatures above still prove who wrote each entry; what the log would add is proof that the server held each revision, and when.")
			return
		}
		d.text(fmt.Sprintf("The case server keeps an append-only log of every revision it stores, and signs checkpoints of it. This bundle carries one checkpoint, a proof that each revision is in it, and the server's signed receipt for each revision it acknowledged: %d of %d revisions are proved in the log, %d with a receipt.",
			w.res.Logged, len(w.records)+len(w.deletions), w.res.Receipts))
		d.gap()
		d.field("Log", w.cp.Origin)
		d.field("Entries", fmt.Sprint(w.cp.Size))
		d.field("Root", fmt.Sprintf("%x", w.cp.Root[:]))
		if len(w.witnesses) == 0 {
			d.field("Witnesses", "none: the checkpoint is the server's own word")
		} else {
			var names []string
			for _, wit := range w.witnesses {
				id := strings.TrimPrefix(wit, "fieldcase-witness.")
				if wr, ok := w.roster.Writer(id); ok {
					names = append(names, wr.User.Name+" ("+string(wr.User.Role)+")")
				}
			}
			d.field("Witnesses", strings.Join(names, ", ")+": their laptops checked this checkpoint and cosigned it")
		}
	}}
}

func (w *writer) deletionsItem() *item {
	return &item{title: "Deleted records", draw: func(d *doc) {
		d.text("Records are never erased without trace: a deletion is itself a signed revision. These records were deleted:")
		d.gap()
		for _, s := range w.deletions {
			d.meta(fmt.Sprintf("A %s deleted by %s, %s.", s.Rev.Kind, w.author(s.Rev), when(s.Rev.HLC)))
			d.refLines(&ref{&s.entry})
			d.pdf.Ln(2)
		}
	}}
}

func (w *writer) auditItem(events []*shown) *item {
	return &item{title: "Access history (audit trail)", draw: func(d *doc) {
		d.text("Each laptop records who opened, exported or changed access to the case, as signed events in a chain: a missing or edited event breaks it. The events of this bundle's range:")
		d.gap()
		for _, s := range events {
			ev := s.Value.(*record.AuditEvent)
			line := fmt.Sprintf("%s — %s by %s", ev.At.UTC().Format("2006-01-02 15:04:05 UTC"), ev.Action, w.author(s.Rev))
			if ev.Detail != "" {
				line += ": " + ev.Detail
			}
			d.meta(line)
			d.refLines(&ref{&s.entry})
			d.pdf.Ln(1)
		}
	}}
}
