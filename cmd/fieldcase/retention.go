package main

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/trust"
)

type retentionCmd struct {
	Show    retentionShowCmd    `cmd:"" help:"The agency's retention policy with its formulas, as this laptop verified it."`
	Due     retentionDueCmd     `cmd:"" help:"Every case with the date it may be destroyed, and how that date was worked out."`
	Queue   retentionQueueCmd   `cmd:"" help:"Cases past retention and not on hold, waiting for approval (supervisors)."`
	Approve retentionApproveCmd `cmd:"" help:"Approve destroying a case past retention (supervisors; two where the policy says)."`
	Hold    retentionHoldCmd    `cmd:"" help:"Put a case on legal hold: a court order or inquiry (supervisors)."`
	Release retentionReleaseCmd `cmd:"" help:"Release a legal hold a supervisor placed (supervisors)."`
	Gone    retentionGoneCmd    `cmd:"" help:"The cases destroyed on this laptop: what, when, under which policy, approved by whom."`
}

type retentionShowCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *retentionShowCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase retention show")
	if err != nil {
		return err
	}
	defer v.Close()
	ret := retentionOf(v)
	if c.JSON {
		type out struct {
			Version  uint64                  `json:"version"`
			Policy   *record.RetentionPolicy `json:"policy"`
			Formulas map[string]string       `json:"formulas"`
		}
		o := out{Version: ret.Version, Policy: ret.Policy, Formulas: map[string]string{}}
		if ret.Policy != nil {
			o.Formulas["default"] = record.Formula(ret.Policy.Default)
			for t, cs := range ret.Policy.Types {
				o.Formulas[t] = record.Formula(cs)
			}
		}
		return writeJSON(a.stdout, o)
	}
	if ret.Policy == nil {
		return cli.WithHint(a.l.Error("retention.no_policy"), a.l.T("retention.no_policy_hint"))
	}
	fprintf(a.stdout, "%s\n", a.l.N("retention.policy", ret.Policy.Approvals, "Version", ret.Version))
	tw := table(a.stdout)
	fprintf(tw, "%s\n", a.l.T("retention.policy_header"))
	types := make([]string, 0, len(ret.Policy.Types))
	for t := range ret.Policy.Types {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		fprintf(tw, "%s\t%s\n", t, record.Formula(ret.Policy.Types[t]))
	}
	fprintf(tw, "%s\t%s\n", a.l.T("retention.any_other"), record.Formula(ret.Policy.Default))
	if err := tw.Flush(); err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.T("retention.policy_footer"))
	return nil
}

func retentionOf(v *store.Vault) trust.Retention {
	if r := v.Roster(); r != nil {
		return r.Retention
	}
	return trust.Retention{}
}

type retentionDueCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

// retentionItems loads the notes (the last contact is read from them) and
// lists every case's retention.
func (a *app) retentionItems(v *store.Vault) ([]store.RetentionItem, error) {
	if err := v.LoadAll(a.ctx); err != nil {
		return nil, err
	}
	return v.Retention(record.DateOf(time.Now()))
}

func (c *retentionDueCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase retention due")
	if err != nil {
		return err
	}
	defer v.Close()
	items, err := a.retentionItems(v)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, items)
	}
	return printRetention(a, items)
}

func printRetention(a *app, items []store.RetentionItem) error {
	tw := table(a.stdout)
	fprintf(tw, "%s\n", a.l.T("retention.header"))
	for _, it := range items {
		until, working := string(it.Due.Until), it.Due.Working
		if until == "" {
			until = "-"
		}
		if it.Due.Unknown != "" {
			working = it.Due.Unknown
		}
		state := it.State
		if len(it.Holds) > 0 {
			state += " (" + it.Holds[0].Ref + ")"
		}
		if it.State == store.RetentionSecond {
			state = a.l.T("retention.second", "State", it.State, "Approvers", it.Approvers(), "Needed", it.Needed)
		}
		fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Ref, state, until, it.Due.Rule, working)
	}
	return tw.Flush()
}

type retentionQueueCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *retentionQueueCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase retention queue")
	if err != nil {
		return err
	}
	defer v.Close()
	items, err := a.retentionItems(v)
	if err != nil {
		return err
	}
	queue := []store.RetentionItem{}
	for _, it := range items {
		if it.State == store.RetentionDue || it.State == store.RetentionSecond {
			queue = append(queue, it)
		}
	}
	if c.JSON {
		return writeJSON(a.stdout, queue)
	}
	if len(queue) == 0 {
		fprintf(a.stdout, "%s\n", a.l.T("retention.queue_empty"))
		return nil
	}
	if err := printRetention(a, queue); err != nil {
		return err
	}
	fprintf(a.stderr, "%s\n", a.l.T("retention.queue_next"))
	return nil
}

type retentionApproveCmd struct {
	Case   string `arg:"" help:"The case's reference or id."`
	Reason string `help:"A note for the record (shown to every device and the server: no names of people)." default:"past retention"`
}

func (c *retentionApproveCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase retention approve", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.LoadAll(a.ctx); err != nil {
		return err
	}
	s, err := newSyncer(a.l, v)
	if err != nil {
		return err
	}
	gone, err := s.ApproveDestruction(a.ctx, v, cv.ID, c.Reason, record.DateOf(time.Now()))
	switch {
	case errors.Is(err, client.ErrHeld):
		return cli.WithHint(err, a.l.T("retention.held_hint"))
	case errors.Is(err, client.ErrBehindLog):
		return cli.WithHint(err, a.l.T("retention.behind_hint"))
	case errors.Is(err, client.ErrNotDue):
		return cli.WithHint(err, a.l.T("retention.not_due_hint"))
	case errors.Is(err, trust.ErrNotAllowed):
		return cli.WithHint(err, a.l.T("retention.approve_not_allowed_hint"))
	case err != nil:
		return syncError(a.l, err, v.OutboxLen())
	}
	if gone {
		fprintf(a.stdout, "%s\n", a.l.T("retention.destroyed", "Ref", cv.Value.Ref))
		return nil
	}
	fprintf(a.stdout, "%s\n", a.l.T("retention.approved", "Ref", cv.Value.Ref))
	return nil
}

type retentionHoldCmd struct {
	Case      string `arg:"" help:"The case's reference or id."`
	Ref       string `required:"" help:"The court order's or inquiry's reference."`
	OrderedBy string `name:"ordered-by" required:"" help:"Who ordered it (a court, an inquiry)."`
	Reason    string `help:"Why (shown to every device and the server: no names of people)."`
}

func (c *retentionHoldCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase retention hold", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	s, err := newSyncer(a.l, v)
	if err != nil {
		return err
	}
	sg, err := s.PlaceHold(a.ctx, v, cv.ID, c.Ref, c.OrderedBy, c.Reason)
	if errors.Is(err, trust.ErrNotAllowed) {
		return cli.WithHint(err, a.l.T("retention.hold_not_allowed_hint"))
	} else if err != nil {
		return syncError(a.l, err, v.OutboxLen())
	}
	fprintf(a.stdout, "%s\n", a.l.T("retention.held", "Ref", cv.Value.Ref, "Hold", sg.ID()[:12]))
	return nil
}

type retentionReleaseCmd struct {
	Case   string `arg:"" help:"The case's reference or id."`
	Hold   string `help:"The hold's id (its first 12 characters will do) when the case has more than one."`
	Reason string `required:"" help:"Why it is released."`
}

func (c *retentionReleaseCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase retention release", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	var match []trust.Hold
	for _, h := range retentionOf(v).Active(cv.ID) {
		if strings.HasPrefix(h.ID, c.Hold) {
			match = append(match, h)
		}
	}
	if len(match) != 1 {
		return cli.WithHint(errors.New(a.l.N("retention.holds_match", len(match), "Ref", cv.Value.Ref, "Hold", strconv.Quote(c.Hold))), a.l.T("retention.holds_match_hint"))
	}
	s, err := newSyncer(a.l, v)
	if err != nil {
		return err
	}
	if err := s.ReleaseHold(a.ctx, v, match[0], c.Reason); errors.Is(err, trust.ErrNotAllowed) {
		return cli.WithHint(err, a.l.T("retention.release_not_allowed_hint"))
	} else if err != nil {
		return syncError(a.l, err, v.OutboxLen())
	}
	fprintf(a.stdout, "%s\n", a.l.T("retention.released", "Hold", match[0].ID[:12], "Ref", cv.Value.Ref))
	return nil
}

type retentionGoneCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *retentionGoneCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase retention gone")
	if err != nil {
		return err
	}
	defer v.Close()
	ds, err := v.Destructions()
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(a.stdout, ds)
	}
	if len(ds) == 0 {
		fprintf(a.stdout, "%s\n", a.l.T("retention.gone_none"))
		return nil
	}
	tw := table(a.stdout)
	fprintf(tw, "%s\n", a.l.T("retention.gone_header"))
	for _, d := range ds {
		server := a.l.T("retention.server_unasked")
		switch {
		case d.ServerHeld > 0:
			server = a.l.T("retention.server_holds", "Count", d.ServerHeld)
		case !d.ServerChecked.IsZero():
			server = a.l.T("retention.server_none", "Date", d.ServerChecked.Format("2006-01-02"))
		}
		fprintf(tw, "%s\t%s\tv%d\t%s\t%s\n", d.CaseID, d.Removed.Format("2006-01-02 15:04"), d.PolicyVersion, strings.Join(d.ApprovedBy, ", "), server) // i18n: "v3" is the policy's version as every tool writes it
	}
	return tw.Flush()
}
