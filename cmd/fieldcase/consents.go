package main

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
)

type consentCmd struct {
	Add      consentAddCmd      `cmd:"" help:"Record a consent decision (given, refused or withdrawn)."`
	List     consentListCmd     `cmd:"" help:"List a case's consent decisions, newest first."`
	Overview consentOverviewCmd `cmd:"" help:"Every case's missing, refused, withdrawn or overdue-for-review consent."`
}

type consentAddCmd struct {
	Case string `required:"" help:"Case reference or id."`
	formFlag
	Person       *string  `form:"person" personal:"" prompt:"Whose decision it is (a name, or e.g. Mum)" help:"Whose decision it is."`
	Scope        []string `form:"scope" oneof:"health,school,court,police,housing,family,other" prompt:"What sharing it covers (health, school, court, police, housing, family, other; commas between)" help:"What sharing it covers: health, school, court, police, housing, family, other (comma-separated or repeated; required)."`
	Decision     *string  `form:"decision" enum:"given,refused,withdrawn" prompt:"Decision (given, refused or withdrawn)" help:"given, refused or withdrawn (required)."`
	Date         *string  `form:"date,date" help:"Date of the decision (default today): 14/12/2026 (in the date order, setting date_order), 2026-12-14, yesterday, last fri…"`
	CapacityNote *string  `name:"capacity-note" form:"capacity_note,lines" personal:"" prompt:"Note on their capacity to decide" help:"Note on the person's capacity to decide."`
	ReviewDate   *string  `name:"review-date" form:"review_date,date" help:"When to review the decision: a date, or +6m, +1y…"`
}

func (c *consentAddCmd) Run(a *app, kctx *kong.Context) error {
	e, err := a.entry(kctx, c.Form, []string{"person", "scope", "decision"})
	if err != nil {
		return err
	}
	k, err := c.consent(a)
	if err != nil {
		return err
	}
	if !e.asking() { // checked before the passphrase is asked for
		check := k
		check.Date = cmp.Or(check.Date, today())
		if err := check.Validate(); err != nil {
			return err
		}
	}
	v, cv, err := a.unlockCase("fieldcase consent add", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	if e.asking() {
		if err := e.prompt(); err != nil {
			return err
		}
		if k, err = c.consent(a); err != nil {
			return err
		}
	}
	id, err := v.AddConsent(cv.ID, k)
	if err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", id)
	return nil
}

func (c *consentAddCmd) consent(a *app) (record.Consent, error) {
	date, err := a.parseDate("--date", orEmpty(c.Date))
	if err != nil {
		return record.Consent{}, err
	}
	review, err := a.parseDate("--review-date", orEmpty(c.ReviewDate))
	if err != nil {
		return record.Consent{}, err
	}
	return record.Consent{Person: orEmpty(c.Person), Scope: splitList(c.Scope), Decision: orEmpty(c.Decision), Date: date,
		CapacityNote: orEmpty(c.CapacityNote), ReviewDate: review}, nil
}

type consentListCmd struct {
	Case string `required:"" help:"Case reference or id."`
	JSON bool   `name:"json" help:"Print JSON."`
}

func (c *consentListCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase consent list", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	all, err := v.Consents(cv.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		out := make([]consentJSON, 0, len(all))
		for _, it := range all {
			out = append(out, consentJSON{ID: it.ID, CaseID: it.CaseID, Consent: it.Value, itemMeta: metaJSON(it)})
		}
		return writeJSON(a.stdout, out)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("consent.header"))
	for _, it := range all {
		k := it.Value
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Date, k.Person, strings.Join(k.Scope, ","), decisionName(a.l, k.Decision), orDash(string(k.ReviewDate)), flags(it))
	}
	return tw.Flush()
}

// decisionName is a consent decision in l's language (the flag's values
// stay English: scripts and forms give them).
func decisionName(l *i18n.Locale, d string) string {
	switch d {
	case "given":
		return l.T("consent.decision.given")
	case "refused":
		return l.T("consent.decision.refused")
	case "withdrawn":
		return l.T("consent.decision.withdrawn")
	}
	return d
}

// consentIssueJSON is one line of 'consent overview --json'.
type consentIssueJSON struct {
	CaseID     string      `json:"case_id"`
	Ref        string      `json:"ref"`
	Subject    string      `json:"subject"`
	Person     string      `json:"person"`
	Scope      string      `json:"scope,omitempty"` // none when no decision exists at all
	Problem    string      `json:"problem"`         // missing, refused, withdrawn, review due
	Date       record.Date `json:"date,omitempty"`
	ReviewDate record.Date `json:"review_date,omitempty"`
}
