package main

import (
	"fmt"
	"strings"

	"github.com/fieldcase/fieldcase/record"
)

type consentCmd struct {
	Add      consentAddCmd      `cmd:"" help:"Record a consent decision (given, refused or withdrawn)."`
	List     consentListCmd     `cmd:"" help:"List a case's consent decisions, newest first."`
	Overview consentOverviewCmd `cmd:"" help:"Every case's missing, refused, withdrawn or overdue-for-review consent."`
}

type consentAddCmd struct {
	Case         string   `required:"" help:"Case reference or id."`
	Person       string   `required:"" help:"Whose decision it is."`
	Scope        []string `required:"" help:"What sharing it covers: health, school, court, police, housing, family, other (comma-separated or repeated)."`
	Decision     string   `required:"" enum:"given,refused,withdrawn" help:"given, refused or withdrawn."`
	Date         string   `help:"Date of the decision (default today)."`
	CapacityNote string   `name:"capacity-note" help:"Note on the person's capacity to decide."`
	ReviewDate   string   `name:"review-date" help:"When to review the decision."`
}

func (c *consentAddCmd) Run(a *app) error {
	date, err := record.ParseDate(c.Date)
	if err != nil {
		return err
	}
	review, err := record.ParseDate(c.ReviewDate)
	if err != nil {
		return err
	}
	var scope []string
	for _, s := range c.Scope {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				scope = append(scope, p)
			}
		}
	}
	v, cv, err := a.unlockCase("fieldcase consent add", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	id, err := v.AddConsent(cv.ID, record.Consent{Person: c.Person, Scope: scope, Decision: c.Decision, Date: date, CapacityNote: c.CapacityNote, ReviewDate: review})
	if err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", id)
	return nil
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
	fmt.Fprintln(tw, "DATE\tPERSON\tSCOPE\tDECISION\tREVIEW\tFLAGS")
	for _, it := range all {
		k := it.Value
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Date, k.Person, strings.Join(k.Scope, ","), k.Decision, orDash(string(k.ReviewDate)), flags(it))
	}
	return tw.Flush()
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
