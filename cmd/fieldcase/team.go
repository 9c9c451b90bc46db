package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

type teamCmd struct {
	Show   teamShowCmd   `cmd:"" default:"withargs" help:"Each worker's caseload (supervisors)."`
	Policy teamPolicyCmd `cmd:"" help:"Show or change the caseload-weighting policy."`
}

type teamShowCmd struct {
	JSON    bool `name:"json" help:"Print JSON."`
	Offline bool `help:"Use the team view kept from the last time online."`
}

// teamView fetches the team view (online), or the kept one. A demo vault
// has no server: its fictional team is the one its team screens show.
func teamView(ctx context.Context, v *store.Vault, offline bool) (*protocol.TeamView, error) {
	if v.IsDemo() && !v.Enrolled() {
		return demoTeamView(v)
	}
	if !offline {
		s, err := newSyncer(v)
		if err != nil {
			return nil, err
		}
		tv, err := s.Team(ctx)
		if err == nil {
			return tv, nil
		}
		if !errors.Is(err, client.ErrOffline) {
			return nil, syncError(err, v.OutboxLen())
		}
	}
	tv, err := client.StoredTeam(v)
	if err != nil {
		return nil, err
	}
	if tv == nil {
		return nil, cli.WithHint(errors.New("no team view on this device yet"), "run 'fieldcase team' once while online")
	}
	return tv, nil
}

func (c *teamShowCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase team")
	if err != nil {
		return err
	}
	defer v.Close()
	tv, err := teamView(a.ctx, v, c.Offline)
	if err != nil {
		return err
	}
	rows, err := caseload.Build(v, tv, time.Now())
	if err != nil {
		return err
	}
	if c.JSON {
		type deviceJSON struct {
			ID       string    `json:"id"`
			Name     string    `json:"name"`
			LastSync time.Time `json:"last_sync,omitzero"`
			Revoked  bool      `json:"revoked,omitempty"`
		}
		type rowJSON struct {
			Worker     string       `json:"worker"`
			Role       string       `json:"role"`
			OpenCases  int          `json:"open_cases"`
			Weighted   float64      `json:"weighted"`
			Capacity   float64      `json:"capacity"`
			Load       float64      `json:"load"`
			Overdue    int          `json:"overdue_visits"`
			CourtSoon  int          `json:"court_within_14_days"`
			Conflicts  int          `json:"conflicts"`
			Dictations int          `json:"dictations_waiting"`
			Unreadable int          `json:"cases_not_yet_readable,omitempty"`
			Devices    []deviceJSON `json:"devices"`
		}
		out := []rowJSON{}
		for _, w := range rows {
			r := rowJSON{Worker: w.Name, Role: w.Role, OpenCases: w.OpenCases, Weighted: w.Weighted, Capacity: w.Capacity, Load: w.Load(),
				Overdue: w.Overdue, CourtSoon: w.CourtSoon, Conflicts: w.Conflicts, Dictations: w.Dictations, Unreadable: w.SealedCases, Devices: []deviceJSON{}}
			for _, d := range w.Devices {
				r.Devices = append(r.Devices, deviceJSON{d.ID, d.Name, d.LastSync, d.Revoked})
			}
			out = append(out, r)
		}
		return writeJSON(a.stdout, out)
	}
	tw := table(a.stdout)
	fmt.Fprintf(tw, "WORKER\tCASES\tWEIGHTED LOAD\t\tOVERDUE\tCOURT ≤14d\tCONFLICTS\tDICTATIONS\tLAST SYNC\n")
	for _, w := range rows {
		last := "never"
		if !w.NeverSynced {
			last = ago(time.Since(w.LastSync))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f / %.0f\t%s\t%d\t%d\t%d\t%d\t%s\n", w.Name, w.OpenCases, w.Weighted, w.Capacity, bar(w.Load(), 10),
			w.Overdue, w.CourtSoon, w.Conflicts, w.Dictations, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fprintf(a.stdout, "weighting policy v%d: weight = base + children + complexity + court stage + risk + travel ('fieldcase team policy show')\n", tv.PolicyVersion)
	return nil
}

// bar draws a load (1 = at capacity) as ten cells, marking overload.
func bar(load float64, width int) string {
	n := min(int(load*float64(width)+0.5), width)
	s := "[" + strings.Repeat("█", n) + strings.Repeat("·", width-n) + "]"
	if load > 1 {
		s += fmt.Sprintf(" %d%%!", int(load*100+0.5))
	}
	return s
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

type teamPolicyCmd struct {
	Show teamPolicyShowCmd `cmd:"" help:"Print the weighting policy as JSON."`
	Set  teamPolicySetCmd  `cmd:"" help:"Replace the weighting policy (JSON)."`
}

type teamPolicyShowCmd struct{}

func (c *teamPolicyShowCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase team policy")
	if err != nil {
		return err
	}
	defer v.Close()
	tv, err := teamView(a.ctx, v, false)
	if err != nil {
		return err
	}
	return writeJSON(a.stdout, caseload.PolicyOf(tv))
}

type teamPolicySetCmd struct {
	File string `required:"" help:"JSON policy file, or - for standard input." placeholder:"FILE|-"`
}

func (c *teamPolicySetCmd) Run(a *app) error {
	raw, err := a.readText(c.File)
	if err != nil {
		return err
	}
	var pol record.Policy
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pol); err != nil {
		return cli.WithHint(fmt.Errorf("policy: %w", err), "start from 'fieldcase team policy show'")
	}
	if err := pol.Validate(); err != nil {
		return err
	}
	v, err := a.unlock("fieldcase team policy set")
	if err != nil {
		return err
	}
	defer v.Close()
	s, err := newSyncer(v)
	if err != nil {
		return err
	}
	tv, err := s.Team(a.ctx)
	if err != nil {
		return syncError(err, v.OutboxLen())
	}
	js, _ := json.Marshal(pol)
	ver, err := s.SetPolicy(a.ctx, js, tv.PolicyVersion)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeConflict {
			return cli.WithHint(err, "another supervisor changed it meanwhile: 'fieldcase team policy show', edit, set again")
		}
		return syncError(err, v.OutboxLen())
	}
	fprintf(a.stdout, "weighting policy is now version %d\n", ver)
	return nil
}

type caseAssignCmd struct {
	Ref    string   `arg:"" help:"Case reference or id."`
	To     []string `help:"Worker(s) to give the case to." placeholder:"USER"`
	Remove []string `help:"Worker(s) to take it from (the case key is rotated)." placeholder:"USER"`
}

func (c *caseAssignCmd) Run(a *app) error {
	if len(c.To)+len(c.Remove) == 0 {
		return cli.WithHint(errors.New("nothing to change"), "give --to USER and/or --remove USER")
	}
	v, cv, err := a.unlockCase("fieldcase case assign", c.Ref)
	if err != nil {
		return err
	}
	defer v.Close()
	s, err := newSyncer(v)
	if err != nil {
		return err
	}
	tc, err := s.Assign(a.ctx, cv.ID, c.To, c.Remove)
	if err != nil {
		return syncError(err, v.OutboxLen())
	}
	tv, _ := client.StoredTeam(v)
	var names []string
	for _, id := range tc.Members {
		for _, u := range tv.Users {
			if u.ID == id {
				names = append(names, u.Name)
			}
		}
	}
	fprintf(a.stdout, "%s is now held by %s\n", cv.Value.Ref, strings.Join(names, ", "))
	if len(c.Remove) > 0 {
		fprintf(a.stdout, "the case key was rotated: %s cannot read what is written from now on\n", strings.Join(c.Remove, ", "))
	}
	return nil
}

type consentOverviewCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *consentOverviewCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase consent overview")
	if err != nil {
		return err
	}
	defer v.Close()
	issues, err := v.ConsentIssues(today())
	if err != nil {
		return err
	}
	if c.JSON {
		out := make([]consentIssueJSON, 0, len(issues))
		for _, i := range issues {
			out = append(out, consentIssueJSON{CaseID: i.CaseID, Ref: i.Ref, Subject: i.Subject, Person: i.Person, Scope: i.Scope,
				Problem: i.Problem, Date: i.Date, ReviewDate: i.ReviewDate})
		}
		return writeJSON(a.stdout, out)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, "REF\tSUBJECT\tPERSON\tSCOPE\tPROBLEM\tSINCE\tREVIEW")
	for _, i := range issues {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i.Ref, i.Subject, i.Person, orDash(i.Scope), i.Problem, orDash(string(i.Date)), orDash(string(i.ReviewDate)))
	}
	return tw.Flush()
}

type recordingTranscribeCmd struct {
	ID       string `arg:"" help:"Recording id, or a unique prefix of it (from 'fieldcase recording list')."`
	TextFile string `required:"" name:"text-file" help:"The transcript, or - for standard input." placeholder:"FILE|-"`
}

func (c *recordingTranscribeCmd) Run(a *app) error {
	text, err := a.readText(c.TextFile)
	if err != nil {
		return err
	}
	v, err := a.unlock("fieldcase recording transcribe")
	if err != nil {
		return err
	}
	defer v.Close()
	id, err := recordingID(v, c.ID)
	if err != nil {
		return err
	}
	r, err := dictation.Open(v, id)
	if err != nil {
		return err
	}
	noteID, err := r.Transcribe(text)
	if err != nil {
		return err
	}
	fprintf(a.stdout, "transcript saved as note %s; recording %s marked transcribed\n", noteID, r.ID)
	return nil
}
