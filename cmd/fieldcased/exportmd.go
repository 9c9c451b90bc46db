package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// markdown renders the case for people: a court, a subject access request,
// a colleague taking over. Every version of a record in conflict is shown.
func (c *caseExport) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	conflict := func(e entry) string {
		if e.Versions > 1 {
			return fmt.Sprintf(" *(one of %d versions in conflict)*", e.Versions)
		}
		return ""
	}
	p("# %s\n\n", md(c.Ref()))
	p("Exported with the agency recovery identity on %s. Case id %s; team %s; held by %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), c.ID, md(orNone(c.Team)), md(orNone(strings.Join(c.Members, ", "))))
	for _, e := range c.Case {
		cs := e.Value.(*record.Case)
		p("## Case%s\n\n", conflict(e))
		row := func(k, v string) {
			if v != "" {
				p("- **%s:** %s\n", k, md(v))
			}
		}
		row("Subject", cs.Subject)
		row("Date of birth", string(cs.DOB))
		row("Status", string(cs.Status))
		row("Risk", cs.Risk)
		row("Address", cs.Address)
		row("Workers", strings.Join(cs.Workers, ", "))
		row("Opened", string(cs.Opened))
		row("Next visit", string(cs.NextVisit))
		for _, cd := range cs.CourtDates {
			row("Court", strings.TrimSpace(fmt.Sprintf("%s %s %s", cd.Date, cd.Hearing, cd.Court)))
		}
		for _, ps := range cs.People {
			row("Person", strings.TrimSpace(fmt.Sprintf("%s (%s) %s %s", ps.Name, ps.Role, ps.DOB, ps.Phone)))
		}
		if cs.Summary != "" {
			p("\n%s\n", md(cs.Summary))
		}
		p("\n")
	}
	p("## Notes (%d)\n\n", len(c.Notes))
	for _, e := range c.Notes {
		n := e.Value.(*record.Note)
		p("### %s %s — %s%s\n\n", n.Date, n.Time, md(n.Kind), conflict(e))
		if n.Author != "" || n.Place != "" {
			p("*%s*\n\n", md(strings.Trim(strings.Join([]string{n.Author, n.Place, strings.Join(n.Attendees, ", ")}, " · "), " ·")))
		}
		p("%s\n\n", md(n.Text))
	}
	p("## Consent (%d)\n\n", len(c.Consents))
	for _, e := range c.Consents {
		cn := e.Value.(*record.Consent)
		p("- %s: **%s** to %s on %s", md(cn.Person), cn.Decision, strings.Join(cn.Scope, ", "), cn.Date)
		if cn.ReviewDate != "" {
			p(", review %s", cn.ReviewDate)
		}
		if cn.CapacityNote != "" {
			p(" (%s)", md(cn.CapacityNote))
		}
		p("%s\n", conflict(e))
	}
	p("\n## Tasks (%d)\n\n", len(c.Tasks))
	for _, e := range c.Tasks {
		t := e.Value.(*record.Task)
		done := " "
		if t.Done {
			done = "x"
		}
		p("- [%s] %s %s%s\n", done, t.Due, md(t.Title), conflict(e))
	}
	p("\n## Recordings (%d)\n\n", len(c.Recordings))
	for _, e := range c.Recordings {
		r := e.Value.(*record.Recording)
		p("- %s %s, %s, %s, %s, %.0f s", r.Recorded, md(orNone(r.Title)), r.WorkType, r.Priority, r.Status, float64(r.DurationMS)/1000)
		if r.Transcript != "" {
			p(", transcript in note %s", r.Transcript)
		}
		p(" (recording %s; %s)%s\n", e.ID, e.Audio.summary(), conflict(e))
	}
	p("\n## Access history (%d events)\n\n", len(c.Audit))
	for _, e := range c.Audit {
		ev := e.Value.(*record.AuditEvent)
		p("- %s %s by %s on device %s: %s\n", ev.At.UTC().Format(time.RFC3339), ev.Action, md(ev.Actor), ev.Device, md(ev.Detail))
	}
	if len(c.Unreadable) > 0 {
		p("\n## Not readable with the recovery identity (%d)\n\n", len(c.Unreadable))
		for _, u := range c.Unreadable {
			p("- %s\n", md(u))
		}
	}
	return b.String()
}

// md keeps user text from being read as Markdown structure: a line that
// starts like a heading, a list or a quote is escaped.
func md(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if t := strings.TrimLeft(l, " "); t != "" && strings.ContainsRune("#>-*+|`", rune(t[0])) {
			lines[i] = strings.Repeat(" ", len(l)-len(t)) + `\` + t
		}
	}
	return strings.Join(lines, "\n")
}

func orNone(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
