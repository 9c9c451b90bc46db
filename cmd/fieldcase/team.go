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
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

type teamCmd struct {
	Show   teamShowCmd   `cmd:"" default:"withargs" help:"Each worker's caseload (supervisors)."`
	Policy teamPolicyCmd `cmd:"" help:"Show or change the caseload-weighting policy."`
	Due    teamDueCmd    `cmd:"" name:"due-rules" help:"Show the due-date rules for dictation, or set the team's (supervisors)."`
}

type teamDueCmd struct {
	Show teamDueShowCmd `cmd:"" default:"1" help:"The due rules in force on this laptop, where they come from, and the formula."`
	Set  teamDueSetCmd  `cmd:"" help:"Sign due rules for your team, one version above those in force, and send them (supervisors)."`
}

type teamDueShowCmd struct{}

func (c *teamDueShowCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase team due-rules")
	if err != nil {
		return err
	}
	defer v.Close()
	fprintf(a.stdout, "%s\n%s\n", dictation.DuePolicyOf(v, a.localDueRules()), dictation.DueFormula)
	return nil
}

type teamDueSetCmd struct {
	Rules string `arg:"" help:"Working days per priority, and caps per work type: urgent=1,high=2,normal=5,court report=3."`
}

// Help says who may and what wins.
func (teamDueSetCmd) Help() string {
	return dictation.DueFormula + " Your laptop signs the rules for your team; every device checks that signature, " +
		"so the server can neither forge nor roll them back. A team's rules beat the agency-wide ones " +
		"(fieldcased due-rules set), and both beat a laptop's turnaround setting."
}

func (c *teamDueSetCmd) Run(a *app) error {
	rules, err := dictation.ParseDueRules(c.Rules)
	if err != nil {
		return cli.WithHint(err, a.l.T("team.due_rules_syntax_hint"))
	}
	v, err := a.unlock("fieldcase team due-rules set")
	if err != nil {
		return err
	}
	defer v.Close()
	s, err := newSyncer(a.l, v)
	if err != nil {
		return err
	}
	got, err := s.SetDueRules(a.ctx, v, trust.DueRuleList(rules))
	if errors.Is(err, trust.ErrNotAllowed) {
		return cli.WithHint(err, a.l.T("team.due_rules_not_allowed_hint"))
	} else if err != nil {
		return syncError(a.l, err, v.OutboxLen())
	}
	fprintf(a.stdout, "%s\n", a.l.T("team.due_rules_set", "Version", got.Version, "Rules", rules.Sentence()))
	return nil
}

type teamShowCmd struct {
	JSON    bool `name:"json" help:"Print JSON (its fields are listed below)."`
	Offline bool `help:"Use the team view kept from the last time online."`
}

// Help documents the output.
func (teamShowCmd) Help() string {
	return `One row per worker: open cases, weighted load against capacity, overdue visits, hearings within 14 days, ` +
		`conflicts, dictations waiting, last sync; then the dictation turnaround and the due rules in force.

--json prints an object:
  workers: one per worker: worker, role, open_cases, weighted, capacity, load (1 = at capacity), overdue_visits,
    court_within_14_days, conflicts, dictations_waiting, cases_not_yet_readable, devices (id, name, last_sync, revoked).
  turnaround: how long dictations wait for their transcripts, from the recordings this laptop holds (no server needed):
    typists and authors, each by name: done (transcripts saved), median_hours and p90_hours (from submission to
    transcript, nearest rank, in hours to a tenth); authors also waiting (submitted, not transcribed),
    oldest_waiting_hours and overdue (waiting past the due date). all: the same over everyone.
    recordings_not_readable: recordings this laptop holds no key for, not counted.
    as_of: when it was computed.
  due_rules: the rules a dictation's due date comes from: source (agency: signed agency policy, which wins;
    local: this laptop's turnaround setting, used only when the agency has none; default), version, team and
    signed_by (agency rules), days (working days by priority, and work types' caps), formula.`
}

// teamView fetches the team view (online), or the kept one. A demo vault
// has no server: its fictional team is the one its team screens show.
func teamView(ctx context.Context, l *i18n.Locale, v *store.Vault, offline bool) (*protocol.TeamView, error) {
	if v.IsDemo() && !v.Enrolled() {
		return demoTeamView(l, v)
	}
	if !offline {
		s, err := newSyncer(l, v)
		if err != nil {
			return nil, err
		}
		tv, err := s.Team(ctx)
		if err == nil {
			return tv, nil
		}
		if !errors.Is(err, client.ErrOffline) {
			return nil, syncError(l, err, v.OutboxLen())
		}
	}
	tv, err := client.StoredTeam(v)
	if err != nil {
		return nil, err
	}
	if tv == nil {
		return nil, cli.WithHint(l.Error("team.no_view"), l.T("team.no_view_hint"))
	}
	return tv, nil
}

func (c *teamShowCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase team")
	if err != nil {
		return err
	}
	defer v.Close()
	tv, err := teamView(a.ctx, a.l, v, c.Offline)
	if err != nil {
		return err
	}
	now := time.Now()
	rows, err := caseload.Build(v, tv, now)
	if err != nil {
		return err
	}
	rep, err := dictation.VaultTurnaround(v, now)
	if err != nil {
		return err
	}
	due := dictation.DuePolicyOf(v, a.localDueRules())
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
		type dueJSON struct {
			Source   string         `json:"source"`
			Version  uint64         `json:"version,omitempty"`
			Team     string         `json:"team,omitempty"`
			SignedBy string         `json:"signed_by,omitempty"`
			Days     map[string]int `json:"days"`
			Formula  string         `json:"formula"`
		}
		type turnaround struct {
			turnaroundJSON
			AsOf time.Time `json:"as_of"`
		}
		out := struct {
			Workers    []rowJSON  `json:"workers"`
			Turnaround turnaround `json:"turnaround"`
			DueRules   dueJSON    `json:"due_rules"`
		}{Workers: []rowJSON{}, Turnaround: turnaround{turnaroundJSONOf(rep), now.UTC().Truncate(time.Second)},
			DueRules: dueJSON{due.Source, due.Version, due.Team, due.SignedBy, due.Rules, dictation.DueFormula}}
		for _, w := range rows {
			r := rowJSON{Worker: w.Name, Role: string(w.Role), OpenCases: w.OpenCases, Weighted: w.Weighted, Capacity: w.Capacity, Load: w.Load(),
				Overdue: w.Overdue, CourtSoon: w.CourtSoon, Conflicts: w.Conflicts, Dictations: w.Dictations, Unreadable: w.SealedCases, Devices: []deviceJSON{}}
			for _, d := range w.Devices {
				r.Devices = append(r.Devices, deviceJSON{d.ID, d.Name, d.LastSync, d.Revoked})
			}
			out.Workers = append(out.Workers, r)
		}
		return writeJSON(a.stdout, out)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("team.header"))
	for _, w := range rows {
		last := a.l.T("team.never")
		if !w.NeverSynced {
			last = ago(a.l, time.Since(w.LastSync))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f / %.0f\t%s\t%d\t%d\t%d\t%d\t%s\n", w.Name, w.OpenCases, w.Weighted, w.Capacity, bar(w.Load(), 10),
			w.Overdue, w.CourtSoon, w.Conflicts, w.Dictations, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.T("team.policy_line", "Version", tv.PolicyVersion))
	fprintf(a.stdout, "%s\n", turnaroundSummary(a.l, rep))
	fprintf(a.stdout, "%s\n", a.l.T("team.due_dates", "Due", due))
	return nil
}

// turnaroundSummary is the dictation turnaround in one line.
func turnaroundSummary(l *i18n.Locale, rep dictation.TurnaroundReport) string {
	waiting, overdue, oldest := rep.Totals()
	s := l.T("team.dictation", "Waiting", waiting, "Overdue", overdue)
	if waiting > 0 {
		s += ", " + l.T("team.oldest", "Wait", waitText(l, oldest))
	}
	if rep.All.Done > 0 {
		s += "; " + l.T("team.took", "Median", waitText(l, rep.All.Median), "P90", waitText(l, rep.All.P90))
	}
	return s + " " + l.T("team.turnaround_more")
}

// waitText writes a wait: 45 min, 3.5 h, 2.1 d.
func waitText(l *i18n.Locale, d time.Duration) string {
	switch {
	case d < time.Hour:
		return l.T("turnaround.minutes", "N", int(d.Minutes()))
	case d < 48*time.Hour:
		return l.T("turnaround.hours", "H", fmt.Sprintf("%.1f", d.Hours()))
	}
	return l.T("team.days", "D", fmt.Sprintf("%.1f", d.Hours()/24))
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

func ago(l *i18n.Locale, d time.Duration) string {
	switch {
	case d < time.Minute:
		return l.T("team.just_now")
	case d < time.Hour:
		return l.T("team.min_ago", "N", int(d.Minutes()))
	case d < 48*time.Hour:
		return l.T("team.h_ago", "N", int(d.Hours()))
	}
	return l.T("team.days_ago", "N", int(d.Hours()/24))
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
	tv, err := teamView(a.ctx, a.l, v, false)
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
		return cli.WithHint(fmt.Errorf("%s: %w", a.l.T("team.policy"), err), a.l.T("team.policy_hint"))
	}
	if err := pol.Validate(); err != nil {
		return err
	}
	v, err := a.unlock("fieldcase team policy set")
	if err != nil {
		return err
	}
	defer v.Close()
	s, err := newSyncer(a.l, v)
	if err != nil {
		return err
	}
	tv, err := s.Team(a.ctx)
	if err != nil {
		return syncError(a.l, err, v.OutboxLen())
	}
	js, _ := json.Marshal(pol)
	ver, err := s.SetPolicy(a.ctx, js, tv.PolicyVersion)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == protocol.CodeConflict {
			return cli.WithHint(err, a.l.T("team.policy_conflict_hint"))
		}
		return syncError(a.l, err, v.OutboxLen())
	}
	fprintf(a.stdout, "%s\n", a.l.T("team.policy_set", "Version", ver))
	return nil
}

type caseAssignCmd struct {
	Ref    string   `arg:"" help:"Case reference or id."`
	To     []string `help:"Worker(s) to give the case to." placeholder:"USER"`
	Remove []string `help:"Worker(s) to take it from (the case key is rotated)." placeholder:"USER"`
}

type caseRekeyCmd struct {
	Ref string `arg:"" help:"Case reference or id."`
}

// Run wraps every key of the case this laptop holds, at every epoch, again
// to the recipients its membership and the roster name now: what a laptop
// whose pre-key expired before a key reached it asks for ("ask a
// supervisor to re-key the case"). The keyrings go at the next sync.
func (c *caseRekeyCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase case rekey", c.Ref)
	if err != nil {
		return err
	}
	defer v.Close()
	n, err := v.RewrapCase(cv.ID)
	switch {
	case errors.Is(err, store.ErrNotAllowed):
		return cli.WithHint(err, a.l.T("rekey.not_allowed_hint"))
	case err != nil:
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.N("rekey.done", n, "Ref", cv.Value.Ref))
	return nil
}

func (c *caseAssignCmd) Run(a *app) error {
	if len(c.To)+len(c.Remove) == 0 {
		return cli.WithHint(a.l.Error("assign.nothing"), a.l.T("assign.nothing_hint"))
	}
	v, cv, err := a.unlockCase("fieldcase case assign", c.Ref)
	if err != nil {
		return err
	}
	defer v.Close()
	s, err := newSyncer(a.l, v)
	if err != nil {
		return err
	}
	tc, err := s.Assign(a.ctx, cv.ID, c.To, c.Remove)
	if err != nil {
		return syncError(a.l, err, v.OutboxLen())
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
	fprintf(a.stdout, "%s\n", a.l.T("assign.held_by", "Ref", cv.Value.Ref, "Names", strings.Join(names, ", ")))
	if len(c.Remove) > 0 {
		fprintf(a.stdout, "%s\n", a.l.T("assign.rotated", "Names", strings.Join(c.Remove, ", ")))
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
	issues, err := caseload.ConsentIssues(v, today())
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
	fmt.Fprintln(tw, a.l.T("consent.overview_header"))
	for _, i := range issues {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i.Ref, i.Subject, i.Person, orDash(i.Scope), consentProblem(a.l, i.Problem), orDash(string(i.Date)), orDash(string(i.ReviewDate)))
	}
	return tw.Flush()
}

// consentProblem is a consent issue's problem in l's language.
func consentProblem(l *i18n.Locale, p string) string {
	switch p {
	case "missing":
		return l.T("consent.problem.missing")
	case "refused":
		return l.T("consent.problem.refused")
	case "withdrawn":
		return l.T("consent.problem.withdrawn")
	case "review due":
		return l.T("consent.problem.review_due")
	}
	return p
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
	v, r, err := a.openRecording("fieldcase recording transcribe", c.ID)
	if err != nil {
		return err
	}
	defer v.Close()
	noteID, err := r.Transcribe(text)
	if err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.T("transcribe.saved", "Note", noteID, "ID", r.ID))
	return nil
}
