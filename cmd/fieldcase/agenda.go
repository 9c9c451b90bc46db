package main

import (
	"fmt"
	"strings"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
)

type agendaCmd struct {
	Days int  `default:"7" placeholder:"N" help:"How many days ahead, today included (1 to 366; 7 is today and the six days after)."`
	JSON bool `name:"json" help:"Print JSON."`
}

func (agendaCmd) Help() string {
	return "Overdue are tasks and visits not done by their date (a case's next visit included) and consent decisions " +
		"past their review date; then what is due today, then the rest of the window. Hearings are listed from today on. " +
		"Closed cases and tasks done are left out. WHOSE are the case's workers: tasks have no assignee of their own. " +
		"It reads this laptop's vault only, so it works offline.\n\n" + cli.Examples(
		`fieldcase agenda                 # overdue, today, and the six days after`,
		`fieldcase agenda --days 14 --json`)
}

// agendaJSON is 'agenda --json': the window and its items.
type agendaJSON struct {
	Today record.Date      `json:"today"`
	Until record.Date      `json:"until"` // the window's last day
	Days  int              `json:"days"`
	Items []agendaItemJSON `json:"items"`
}

// agendaItemJSON is one item of 'agenda --json'.
type agendaItemJSON struct {
	Date     record.Date `json:"date"`
	Section  string      `json:"section"` // overdue, today, upcoming
	Kind     string      `json:"kind"`    // hearing, visit, task, consent review
	CaseID   string      `json:"case_id"`
	Ref      string      `json:"ref"`
	Subject  string      `json:"subject"`
	TaskID   string      `json:"task_id,omitempty"` // tasks, and visits booked as tasks
	What     string      `json:"what"`
	Whose    []string    `json:"whose"` // the case's workers
	Conflict bool        `json:"conflict,omitempty"`
}

// agendaSection names a section in JSON: "upcoming" whatever --days says.
func agendaSection(s caseload.AgendaSection) string {
	switch s {
	case caseload.SectionOverdue:
		return "overdue"
	case caseload.SectionToday:
		return "today"
	}
	return "upcoming"
}

func (c *agendaCmd) Run(a *app) error {
	if err := caseload.CheckAgendaDays(c.Days); err != nil { // before the passphrase is asked for
		return cli.WithHint(a.l.Error("agenda.days_bad", "Days", c.Days, "Err", err), a.l.T("agenda.days_hint"))
	}
	v, err := a.unlock("fieldcase agenda")
	if err != nil {
		return err
	}
	defer v.Close()
	ag, err := caseload.AgendaOf(v, today(), c.Days)
	if err != nil {
		return err
	}
	if c.JSON {
		out := agendaJSON{Today: ag.Today, Until: ag.Until, Days: ag.Days, Items: make([]agendaItemJSON, 0, len(ag.Items))}
		for _, it := range ag.Items {
			out.Items = append(out.Items, agendaItemJSON{Date: it.Date, Section: agendaSection(it.Section), Kind: it.Kind,
				CaseID: it.CaseID, Ref: it.Ref, Subject: it.Subject, TaskID: it.RecordID, What: it.What,
				Whose: append([]string{}, it.Whose...), Conflict: it.Conflict})
		}
		return writeJSON(a.stdout, out)
	}
	l := a.l
	until := l.Date(ag.Until.Time())
	if len(ag.Items) == 0 {
		switch {
		case c.Days == 1:
			fprintf(a.stdout, "%s\n", l.T("agenda.nothing_today"))
		case c.Days == caseload.DefaultAgendaDays:
			fprintf(a.stdout, "%s\n", l.T("agenda.nothing_week"))
		default:
			fprintf(a.stdout, "%s\n", l.T("agenda.nothing_until", "Date", until))
		}
		return nil
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, l.T("agenda.header"))
	for _, it := range ag.Items {
		flag := ""
		if it.Conflict {
			flag = "conflict" // i18n: a marker scripts grep for, in every language
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sectionName(l, it.Section), it.Date, kindName(l, it.Kind), it.Ref,
			it.Subject, it.What, orDash(strings.Join(it.Whose, ", ")), flag)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	overdue := l.N("agenda.summary.overdue", len(ag.In(caseload.SectionOverdue)))
	dueToday := l.N("agenda.summary.today", len(ag.In(caseload.SectionToday)))
	if c.Days == 1 {
		fprintf(a.stdout, "%s\n", l.T("agenda.summary", "Overdue", overdue, "Today", dueToday))
		return nil
	}
	more := l.N("agenda.summary.more_week", len(ag.In(caseload.SectionWeek)))
	if c.Days != caseload.DefaultAgendaDays {
		more = l.N("agenda.summary.more_until", len(ag.In(caseload.SectionWeek)), "Date", until)
	}
	fprintf(a.stdout, "%s\n", l.T("agenda.summary_more", "Overdue", overdue, "Today", dueToday, "More", more))
	return nil
}

// sectionName is what the WHEN column calls a section.
func sectionName(l *i18n.Locale, s caseload.AgendaSection) string {
	switch s {
	case caseload.SectionOverdue:
		return l.T("agenda.section.overdue")
	case caseload.SectionToday:
		return l.T("agenda.section.today")
	}
	return l.T("agenda.section.upcoming")
}

// kindName is a kind of agenda item or task for people; a kind fieldcase
// does not know (from a newer version's record) is shown as it is.
func kindName(l *i18n.Locale, kind string) string {
	switch kind {
	case caseload.AgendaHearing:
		return l.T("kind.hearing")
	case caseload.AgendaVisit:
		return l.T("kind.visit")
	case caseload.AgendaTask:
		return l.T("kind.task")
	case caseload.AgendaConsentReview:
		return l.T("kind.consent_review")
	}
	return kind
}
