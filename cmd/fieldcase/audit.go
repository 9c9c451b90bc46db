package main

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"time"

	"github.com/fieldcase/fieldcase/record"

	"github.com/fieldcase/fieldcase/internal/cli"
)

type auditCmd struct {
	Log    auditLogCmd    `cmd:"" help:"Show a case's access history."`
	Verify auditVerifyCmd `cmd:"" help:"Check every audit chain this device holds."`
}

type auditLogCmd struct {
	Case string `required:"" help:"Case reference or id."`
	JSON bool   `name:"json" help:"Print JSON."`
}

func (c *auditLogCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase audit log", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	events, err := v.AuditEvents(cv.ID)
	if err != nil {
		return err
	}
	// Deletions are part of the trail: each tombstone is signed by its
	// device, whose user the agency's roster names.
	dels, err := v.Deletions(cv.ID)
	if err != nil {
		return err
	}
	r := v.Roster()
	for _, d := range dels {
		who := ""
		if r != nil {
			if wr, ok := r.Writer(d.Device); ok {
				who = wr.User.Name
			}
		}
		events = append(events, record.AuditEvent{Action: "delete", Detail: fmt.Sprintf("%s %s (signed)", d.Kind, d.RecordID), // i18n: an audit event's detail, English as the trail's own are
			At: d.At, Actor: who, Device: d.Device})
	}
	slices.SortStableFunc(events, func(a, b record.AuditEvent) int { return a.At.Compare(b.At) })
	if c.JSON {
		return writeJSON(a.stdout, events)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("audit.header"))
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05"), orDash(e.Actor), short(e.Device), e.Action, e.Detail)
	}
	return tw.Flush()
}

type auditVerifyCmd struct{}

func (c *auditVerifyCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase audit verify")
	if err != nil {
		return err
	}
	defer v.Close()
	// Signing keys from the agency's signed roster only: a key the server
	// merely claims would let it vouch for events it forged.
	keys := map[string]ed25519.PublicKey{}
	if r := v.Roster(); r != nil {
		for id, d := range r.Devices {
			keys[id] = d.SigningKey
		}
	}
	if id, err := v.Identity(); err == nil {
		keys[v.DeviceID()] = id.SigningPublicKey()
	}
	problems, n, err := v.VerifyAudit(keys)
	if err != nil {
		return err
	}
	for _, p := range problems {
		cv, _ := v.Case(p.CaseID)
		ref := cv.Value.Ref
		if ref == "" {
			ref = p.CaseID
		}
		fprintf(a.stdout, "%s\n", a.l.T("audit.problem", "Ref", ref, "Device", short(p.Device), "Seq", p.Seq, "What", p.What))
	}
	if len(problems) > 0 {
		return cli.WithHint(a.l.Error("audit.problems", "Problems", len(problems), "Events", n), a.l.T("audit.problems_hint"))
	}
	fprintf(a.stdout, "%s\n", a.l.T("audit.intact", "Events", n, "At", time.Now().Format("2006-01-02 15:04")))
	return nil
}

func short(id string) string {
	if len(id) > 10 {
		return id[:10]
	}
	return id
}
