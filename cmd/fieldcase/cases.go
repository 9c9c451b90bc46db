package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

type caseCmd struct {
	Add    caseAddCmd    `cmd:"" help:"Add a case."`
	List   caseListCmd   `cmd:"" help:"List cases."`
	Show   caseShowCmd   `cmd:"" help:"Show one case."`
	Edit   caseEditCmd   `cmd:"" help:"Change a case's fields."`
	Assign caseAssignCmd `cmd:"" help:"Give a case to another worker, or take it away (supervisors)."`
	Rekey  caseRekeyCmd  `cmd:"" help:"Wrap the case's keys again to the team's keys of now (when a laptop says a key was sent to a key it has deleted)."`
}

type caseFields struct {
	Subject *string `form:"subject" personal:"" prompt:"Subject (the child or adult the case is about)" help:"The child or adult the case is about."`
	DOB     *string `name:"dob" form:"dob,date" personal:"" prompt:"Date of birth" help:"Subject's date of birth: 14/12/2015 (in the date order, setting date_order), 2015-12-14 or 14 dec 2015."`
	Address *string `form:"address" personal:"" prompt:"Address" help:"Address."`
	Risk    *string `form:"risk" help:"Risk level: low, medium or high."`
	Status  *string `form:"status" help:"Status: open, pending or closed."`
	Due     *string `form:"due,date" help:"Next visit due: 14/12/2026 (in the date order), 2026-12-14, +7d, mon, 14 dec…"`
	Summary *string `form:"summary,lines" personal:"" prompt:"Summary" help:"Short summary."`
}

func (f caseFields) apply(a *app, c *record.Case) error {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&c.Subject, f.Subject)
	set(&c.Address, f.Address)
	set(&c.Risk, f.Risk)
	if f.Status != nil {
		c.Status = record.CaseStatus(strings.TrimSpace(*f.Status))
	}
	set(&c.Summary, f.Summary)
	for _, d := range []struct {
		dst  *record.Date
		src  *string
		flag string
	}{{&c.DOB, f.DOB, "--dob"}, {&c.NextVisit, f.Due, "--due"}} {
		if d.src != nil {
			v, err := a.parseDate(d.flag, *d.src)
			if err != nil {
				return err
			}
			*d.dst = v
		}
	}
	return nil
}

type caseAddCmd struct {
	Ref string `required:"" help:"Case reference (unique)."`
	formFlag
	caseFields
}

func (c *caseAddCmd) Run(a *app, kctx *kong.Context) error {
	e, err := a.entry(kctx, c.Form, []string{"subject"})
	if err != nil {
		return err
	}
	cs := record.Case{Ref: c.Ref}
	if err := c.apply(a, &cs); err != nil {
		return err
	}
	if !e.asking() {
		check := cs
		check.Normalize()
		if err := check.Validate(); err != nil { // before the passphrase is asked for
			return err
		}
	}
	v, err := a.unlock("fieldcase case add")
	if err != nil {
		return err
	}
	defer v.Close()
	if e.asking() {
		if cv, err := v.CaseByRef(c.Ref); err == nil { // before anything is typed in vain
			return fmt.Errorf("%w: %s", record.ErrInvalid, a.l.T("case.ref_taken", "Ref", c.Ref, "ID", cv.ID))
		}
		if err := e.prompt(); err != nil {
			return err
		}
		if err := c.apply(a, &cs); err != nil {
			return err
		}
	}
	id, err := v.CreateCase(cs)
	if err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.T("case.added", "Ref", cs.Ref, "ID", id))
	return nil
}

type caseListCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *caseListCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase case list")
	if err != nil {
		return err
	}
	defer v.Close()
	cases, err := v.Cases()
	if err != nil {
		return err
	}
	t := today()
	if c.JSON {
		out := make([]caseJSON, 0, len(cases))
		for _, cv := range cases {
			out = append(out, caseToJSON(cv, t))
		}
		return writeJSON(a.stdout, out)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("case.header"))
	for _, cv := range cases {
		due := orDash(string(cv.Due()))
		if cv.Overdue(t) {
			due += " " + a.l.T("case.overdue")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", cv.Value.Ref, cv.Value.Subject, cv.Value.Status, cv.Value.Risk, due, cv.Notes, flagsOf(cv))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, cv := range cases {
		if cv.Reassigned != nil {
			fprintf(a.stdout, "%s\n", a.l.T("case.was", "Ref", cv.Value.Ref, "What", reassignedLine(cv.Reassigned)))
		}
	}
	gone, err := v.RemovedCases()
	if err != nil {
		return err
	}
	for _, r := range gone {
		fprintf(a.stdout, "%s\n", a.l.T("case.was_removed", "Ref", r.Ref, "What", r.Summary()))
	}
	return nil
}

// unlockCase unlocks the vault and finds the case ref names in it; the
// caller closes the vault.
func (a *app) unlockCase(program, ref string) (*store.Vault, store.CaseView, error) {
	v, err := a.unlock(program)
	if err != nil {
		return nil, store.CaseView{}, err
	}
	cv, err := a.findCase(v, ref)
	if err != nil {
		v.Close()
		return nil, cv, err
	}
	return v, cv, nil
}

func (a *app) findCase(v *store.Vault, ref string) (store.CaseView, error) {
	c, err := v.CaseByRef(ref)
	if errors.Is(err, store.ErrNotFound) {
		return c, cli.WithHint(a.l.Error("case.none", "Ref", strconv.Quote(ref)), a.l.T("case.none_hint"))
	}
	return c, err
}

type caseShowCmd struct {
	Ref  string `arg:"" help:"Case reference or id."`
	JSON bool   `name:"json" help:"Print JSON."`
}

func (c *caseShowCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase case show", c.Ref)
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.Audit(cv.ID, record.AuditOpen, "case show (command line)"); err != nil {
		return err
	}
	consents, _ := caseload.ConsentSummary(v, cv.ID)
	tasks, _ := v.Tasks(cv.ID)
	t := today()
	if c.JSON {
		type consentStatus struct {
			Person     string      `json:"person"`
			Scope      string      `json:"scope"`
			Decision   string      `json:"decision"`
			Date       record.Date `json:"date"`
			ReviewDate record.Date `json:"review_date,omitempty"`
			ReviewDue  bool        `json:"review_due"`
		}
		out := struct {
			caseJSON
			Consent []consentStatus `json:"consent"`
			Tasks   []taskJSON      `json:"tasks"`
		}{caseJSON: caseToJSON(cv, t), Consent: []consentStatus{}, Tasks: []taskJSON{}}
		for _, s := range consents {
			out.Consent = append(out.Consent, consentStatus{s.Person, s.Scope, s.Decision, s.Date, s.ReviewDate, s.ReviewDue(t)})
		}
		for _, tk := range tasks {
			out.Tasks = append(out.Tasks, taskJSON{ID: tk.ID, CaseID: tk.CaseID, Task: tk.Value, itemMeta: metaJSON(tk)})
		}
		return writeJSON(a.stdout, out)
	}
	w := a.stdout
	l := a.l
	k := cv.Value
	// The fields' labels, padded to one column (the longest label and two).
	labels := map[string]string{"flags": l.T("case.show.flags"), "id": l.T("case.show.id"),
		"status": l.T("case.show.status"), "born": l.T("case.show.born"), "address": l.T("case.show.address"),
		"next": l.T("case.show.next_visit"), "workers": l.T("case.show.workers"), "person": l.T("case.show.person"),
		"court": l.T("case.show.court"), "summary": l.T("case.show.summary"), "notes": l.T("case.show.notes"),
		"consent": l.T("case.show.consent"), "task": l.T("case.show.task")}
	width := 0
	for _, s := range labels {
		width = max(width, utf8.RuneCountInString(s)+2)
	}
	field := func(label, value string) {
		s := labels[label] + ":"
		fprintf(w, "  %s%s%s\n", s, strings.Repeat(" ", width-utf8.RuneCountInString(s)), value)
	}
	fprintf(w, "%s  %s\n", k.Ref, k.Subject)
	if f := flagsOf(cv); f != "" {
		field("flags", f)
	}
	if cv.Reassigned != nil {
		fprintf(w, "  %s\n", reassignedLine(cv.Reassigned))
	}
	field("id", cv.ID)
	field("status", l.T("case.show.status_risk", "Status", k.Status, "Risk", k.Risk))
	field("born", orDash(string(k.DOB)))
	field("address", orDash(k.Address))
	due := orDash(string(cv.Due()))
	if cv.Overdue(t) {
		due = l.T("case.show.due_overdue", "Due", due)
	}
	field("next", due)
	if len(k.Workers) > 0 {
		field("workers", strings.Join(k.Workers, ", "))
	}
	for _, p := range k.People {
		field("person", l.T("case.show.person_line", "Name", p.Name, "Role", orDash(p.Role), "DOB", string(p.DOB)))
	}
	for _, cd := range k.CourtDates {
		field("court", l.T("case.show.court_line", "Date", string(cd.Date), "Hearing", cd.Hearing, "Court", cd.Court))
	}
	if k.Summary != "" {
		field("summary", k.Summary)
	}
	field("notes", l.Number(cv.Notes))
	if len(consents) == 0 {
		field("consent", l.T("case.show.consent_none"))
	}
	for _, s := range consents {
		line := l.T("case.show.consent_line", "Person", s.Person, "Scope", s.Scope, "Decision", s.Decision, "Date", prose(l, s.Date))
		if s.ReviewDue(t) {
			line = l.T("case.show.consent_line_review", "Person", s.Person, "Scope", s.Scope, "Decision", s.Decision, "Date", prose(l, s.Date))
		}
		field("consent", line)
	}
	idLen := abbrevLength(taskIDs(tasks))
	for _, tk := range tasks {
		state := l.T("task.state.open")
		if tk.Value.Done {
			state = l.T("case.show.task_done")
		}
		field("task", l.T("case.show.task_line", "ID", abbrev(tk.ID, idLen), "Title", tk.Value.Title,
			"Due", orDash(string(tk.Value.Due)), "State", state, "Flags", flags(tk)))
	}
	for i, ver := range cv.Versions {
		fprintf(w, "  %s\n", l.T("case.show.conflict_version", "N", l.Number(i+1), "Rev", ver.Rev.Short(),
			"Written", ver.HLC.Time().Local().Format("2006-01-02 15:04"), "Device", ver.Device,
			"Subject", strconv.Quote(ver.Value.Subject), "Address", strconv.Quote(ver.Value.Address)))
	}
	return nil
}

type caseEditCmd struct {
	Ref     string  `arg:"" help:"Case reference or id."`
	NewRef  *string `name:"new-ref" help:"Change the reference."`
	Resolve bool    `help:"The case is in conflict: write this as the merge of every version."`
	formFlag
	caseFields
}

func (c *caseEditCmd) Run(a *app, kctx *kong.Context) error {
	if _, err := a.entry(kctx, c.Form, nil); err != nil {
		return err
	}
	if err := c.apply(a, &record.Case{}); err != nil { // before the passphrase is asked for
		return err
	}
	v, cv, err := a.unlockCase("fieldcase case edit", c.Ref)
	if err != nil {
		return err
	}
	defer v.Close()
	k := cv.Value
	if err := c.apply(a, &k); err != nil {
		return err
	}
	if c.NewRef != nil {
		k.Ref = *c.NewRef
	}
	parents := []record.RevID{cv.Rev}
	if cv.Conflict {
		if !c.Resolve {
			return cli.WithHint(a.l.Error("case.in_conflict", "Ref", cv.Value.Ref), a.l.T("case.in_conflict_hint", "Ref", cv.Value.Ref))
		}
		parents = cv.Parents()
	}
	if err := v.UpdateCase(cv.ID, parents, k); err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.T("case.updated", "Ref", k.Ref))
	return nil
}

// prose is a record's date in running text, as the locale writes it; a
// date that does not parse is shown as it is.
func prose(l *i18n.Locale, d record.Date) string {
	t := d.Time()
	if t.IsZero() {
		return string(d)
	}
	return l.Date(t)
}
