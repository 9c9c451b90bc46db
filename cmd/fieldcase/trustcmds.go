package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/trust"
)

type deviceCmd struct {
	Pair   devicePairCmd   `cmd:"" help:"Make a code to enrol another laptop of yours (you type it there)."`
	Revoke deviceRevokeCmd `cmd:"" help:"Revoke a lost or retired laptop (yours, or as a supervisor, your team's)."`
}

type devicePairCmd struct {
	TTL time.Duration `name:"ttl" default:"24h" help:"How long the code stays valid (at most 7 days)."`
}

func (c *devicePairCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase device pair")
	if err != nil {
		return err
	}
	defer v.Close()
	s, err := newSyncer(a.l, v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(a.ctx, time.Minute)
	defer cancel()
	code, expires, err := s.Pair(ctx, v, c.TTL)
	if err != nil {
		return syncError(a.l, err, v.OutboxLen())
	}
	cfg, _ := v.SyncConfig()
	fprintf(a.stdout, "%s\n\n    %s\n\n", a.l.T("pair.code", "User", cfg.UserName, "Until", expires.Local().Format("2006-01-02 15:04")), code)
	fprintf(a.stdout, "%s\n    fieldcase init\n    fieldcase enroll --server %s --code %s", a.l.T("pair.on_new"), cfg.Server, a.l.T("pair.the_code")) // i18n: the commands to type, the same in every language
	if cfg.Fingerprint != "" {
		fprintf(a.stdout, " --fingerprint %s", cfg.Fingerprint) // i18n: the command line, as above
	}
	fprintf(a.stdout, "\n\n%s\n", a.l.T("pair.type_it"))
	return nil
}

type deviceRevokeCmd struct {
	Device string `arg:"" help:"The device id (see 'fieldcase roster')."`
	Reason string `help:"Why, for the audit trail (e.g. 'lost on 3 December')."`
}

func (c *deviceRevokeCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase device revoke")
	if err != nil {
		return err
	}
	defer v.Close()
	s, err := newSyncer(a.l, v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Minute)
	defer cancel()
	d, err := s.RevokeDevice(ctx, v, c.Device, c.Reason)
	if err != nil {
		if errors.Is(err, trust.ErrNotAllowed) {
			return cli.WithHint(err, a.l.T("revoke.not_allowed_hint"))
		}
		return syncError(a.l, err, v.OutboxLen())
	}
	fprintf(a.stdout, "%s\n", a.l.T("revoke.done", "ID", d.ID, "Name", d.Name))
	if _, err := s.Sync(ctx, nil); err != nil {
		return syncError(a.l, err, v.OutboxLen())
	}
	return nil
}

type rosterCmd struct {
	JSON bool `help:"Print JSON."`
}

// rosterView is what 'fieldcase roster' shows: only what the agency's
// signatures prove.
type rosterView struct {
	Agency   string         `json:"agency_fingerprint"`
	Recovery string         `json:"recovery_fingerprint,omitempty"`
	Users    []rosterUser   `json:"users"`
	Problems []string       `json:"problems,omitempty"`
	Teams    map[string]any `json:"teams,omitempty"`
}

type rosterUser struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Role    trust.Role     `json:"role"`
	Team    string         `json:"team"`
	Devices []rosterDevice `json:"devices"`
}

type rosterDevice struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
	PairedBy    string `json:"paired_by,omitempty"`
	Revoked     bool   `json:"revoked,omitempty"`
	ThisLaptop  bool   `json:"this_laptop,omitempty"`
}

func (c *rosterCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase roster")
	if err != nil {
		return err
	}
	defer v.Close()
	r := v.Roster()
	if r == nil {
		// Not enrolled: nothing is trusted but this laptop itself.
		if c.JSON {
			return writeJSON(a.stdout, rosterView{Users: []rosterUser{}})
		}
		fprintf(a.stdout, "%s\n", a.l.T("roster.not_enrolled"))
		return nil
	}
	rv := rosterView{Agency: trust.AgencyFingerprint(r.Agency)}
	if r.Recovery != "" {
		rv.Recovery = crypto.Fingerprint(r.Recovery)
	}
	for _, id := range slices.Sorted(maps.Keys(r.Users)) {
		u := r.Users[id]
		ru := rosterUser{ID: u.ID, Name: u.Name, Role: u.Role, Team: u.Team}
		if t, ok := r.Teams[u.Team]; ok && t.Name != "" {
			ru.Team = t.Name
		}
		for _, d := range r.Devices {
			if d.User != u.ID {
				continue
			}
			rd := rosterDevice{ID: d.ID, Name: d.Name, Fingerprint: crypto.Fingerprint(d.Recipient), Revoked: d.Revoked,
				ThisLaptop: d.ID == v.DeviceID()}
			if d.GrantedBy != trust.SignerAgency {
				rd.PairedBy = strings.TrimPrefix(d.GrantedBy, "device:")
			}
			ru.Devices = append(ru.Devices, rd)
		}
		slices.SortFunc(ru.Devices, func(a, b rosterDevice) int { return strings.Compare(a.ID, b.ID) })
		rv.Users = append(rv.Users, ru)
	}
	for _, p := range r.Problems {
		rv.Problems = append(rv.Problems, p.String())
	}
	if c.JSON {
		return writeJSON(a.stdout, rv)
	}
	if rv.Recovery != "" {
		fprintf(a.stdout, "%s\n", a.l.T("roster.keys", "Agency", rv.Agency, "Recovery", rv.Recovery))
	} else {
		fprintf(a.stdout, "%s\n", a.l.T("roster.keys_no_recovery", "Agency", rv.Agency))
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, a.l.T("roster.header"))
	for _, u := range rv.Users {
		if len(u.Devices) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\t\n", u.Name, u.Role, u.Team, a.l.T("roster.none"))
		}
		for _, d := range u.Devices {
			note := ""
			switch {
			case d.Revoked:
				note = " " + a.l.T("roster.revoked")
			case d.ThisLaptop:
				note = " " + a.l.T("roster.this_laptop")
			case d.PairedBy != "":
				note = " " + a.l.T("roster.paired_by", "Device", short(d.PairedBy))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s %q%s\t%s\t\n", u.Name, u.Role, u.Team, d.ID, d.Name, note, d.Fingerprint)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range rv.Problems {
		fprintf(a.stderr, "%s\n", a.l.T("roster.refused", "Problem", p))
	}
	return nil
}

type doctorCmd struct {
	JSON         bool `help:"Print JSON."`
	ClearLogFork bool `name:"clear-log-fork" help:"Forget the kept proof that the server showed two histories of its log (after giving IT the JSON of 'fieldcase doctor --json')."`
}

// doctorReport is every finding of 'fieldcase doctor'.
type doctorReport struct {
	Enrolled    bool                 `json:"enrolled"`
	Agency      string               `json:"agency_fingerprint,omitempty"`
	Quarantined []store.Quarantined  `json:"quarantined,omitempty"`
	Damaged     []string             `json:"damaged,omitempty"`
	Roster      []string             `json:"roster_problems,omitempty"`
	Rollback    *client.RollbackNote `json:"rollback,omitempty"`
	LogAlarm    *client.LogAlarm     `json:"log_alarm,omitempty"`
	LogFork     *client.LogAlarm     `json:"log_fork,omitempty"`
	TrustNotice *client.TrustNotice  `json:"trust_notice,omitempty"`
	// Unopenable are case keys sent to a pre-key this laptop deleted: a
	// supervisor re-keys the case (fieldcase case rekey).
	Unopenable []store.UnopenableKeyring `json:"unopenable_keyrings,omitempty"`
	// Escrow is what waits for the agency's escrow service, and why.
	Escrow   *client.EscrowStatus `json:"escrow,omitempty"`
	Problems int                  `json:"problems"`
}

func (c *doctorCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase doctor")
	if err != nil {
		return err
	}
	defer v.Close()
	rep := doctorReport{Enrolled: v.Enrolled()}
	if ag := v.Agency(); ag != nil {
		rep.Agency = trust.AgencyFingerprint(ag)
	} else if rep.Enrolled {
		rep.Roster = append(rep.Roster, "this laptop was enrolled before the agency signed its roster: enrol it again with a new code")
	}
	if r := v.Roster(); r != nil {
		for _, p := range r.Problems {
			rep.Roster = append(rep.Roster, p.String())
		}
	}
	if rep.Quarantined, err = v.Quarantine(); err != nil {
		return err
	}
	damaged, err := v.Damaged()
	if err != nil {
		return err
	}
	for _, d := range damaged {
		rep.Damaged = append(rep.Damaged, d.String())
	}
	for i := range rep.Quarantined {
		rep.Quarantined[i].Encoded = nil
	}
	locals, err := v.Locals("")
	if err != nil {
		return err
	}
	if js := locals[client.RollbackKey]; js != nil {
		var n client.RollbackNote
		if json.Unmarshal(js, &n) == nil {
			rep.Rollback = &n
		}
	}
	if js := locals[client.LogAlarmKey]; js != nil {
		var a client.LogAlarm
		if json.Unmarshal(js, &a) == nil {
			rep.LogAlarm = &a
		}
	}
	if c.ClearLogFork && locals[client.LogForkKey] != nil {
		if err := v.DeleteLocal(client.LogForkKey); err != nil {
			return err
		}
		fprintf(a.stderr, "%s\n", a.l.T("doctor.forgot_fork"))
		delete(locals, client.LogForkKey)
	}
	if js := locals[client.LogForkKey]; js != nil {
		var a client.LogAlarm
		if json.Unmarshal(js, &a) == nil {
			rep.LogFork = &a
		}
	}
	if js := locals[client.TrustNoticeKey]; js != nil {
		var n client.TrustNotice
		if json.Unmarshal(js, &n) == nil {
			rep.TrustNotice = &n
		}
	}
	if rep.Unopenable, err = v.UnopenableKeyrings(); err != nil {
		return err
	}
	if js := locals[client.EscrowStatusKey]; js != nil {
		var st client.EscrowStatus
		if json.Unmarshal(js, &st) == nil && st.Waiting > 0 {
			rep.Escrow = &st
		}
	}
	rep.Problems = len(rep.Quarantined) + len(rep.Damaged) + len(rep.Roster) + len(rep.Unopenable)
	if rep.Escrow != nil && rep.Escrow.Problem != "" {
		rep.Problems++
	}
	if rep.Rollback != nil {
		rep.Problems++
	}
	if rep.LogAlarm != nil {
		rep.Problems++
	}
	if rep.LogFork != nil {
		rep.Problems++
	}
	if c.JSON {
		if err := writeJSON(a.stdout, rep); err != nil {
			return err
		}
	} else {
		a.printDoctor(v, rep)
	}
	if rep.Problems > 0 {
		return cli.ExitCode(1)
	}
	return nil
}

func (a *app) printDoctor(v *store.Vault, rep doctorReport) {
	if rep.Agency != "" {
		fprintf(a.stdout, "%s\n", a.l.T("doctor.agency", "Agency", rep.Agency))
	} else if !rep.Enrolled {
		fprintf(a.stdout, "%s\n", a.l.T("doctor.not_enrolled"))
	}
	for _, q := range rep.Quarantined {
		ref := q.CaseID
		if cv, err := v.Case(q.CaseID); err == nil && cv.Value.Ref != "" {
			ref = cv.Value.Ref
		}
		what := string(q.Kind)
		first := q.First.Local().Format("2006-01-02 15:04")
		line := a.l.T("doctor.quarantined", "What", what, "Ref", ref, "Device", short(q.Device), "First", first, "Reason", q.Reason)
		if q.Deleted {
			line = a.l.T("doctor.quarantined_deletion", "What", what, "Ref", ref, "Device", short(q.Device), "First", first, "Reason", q.Reason)
		}
		fprintf(a.stdout, "%s\n", line)
	}
	for _, d := range rep.Damaged {
		fprintf(a.stdout, "DAMAGED %s\n", d) // i18n: a marker scripts grep, and the store's own words
	}
	for _, p := range rep.Roster {
		fprintf(a.stdout, "ROSTER %s\n", p) // i18n: a marker scripts grep, and the roster's own words
	}
	if n := rep.Rollback; n != nil {
		fprintf(a.stdout, "%s\n", a.l.T("doctor.rollback", "At", n.At.Local().Format("2006-01-02 15:04"), "VaultSeq", n.VaultSeq,
			"ServerSeq", n.ServerSeq, "Restored", n.Restored))
	}
	if la := rep.LogAlarm; la != nil {
		fprintf(a.stdout, "%s\n", a.l.T("doctor.log", "At", la.At.Local().Format("2006-01-02 15:04"), "What", la.What))
	}
	if lf := rep.LogFork; lf != nil {
		fprintf(a.stdout, "%s\n", a.l.T("doctor.log_fork", "At", lf.At.Local().Format("2006-01-02 15:04"), "What", lf.What))
	}
	for _, u := range rep.Unopenable {
		ref := u.CaseID
		if cv, err := v.Case(u.CaseID); err == nil && cv.Value.Ref != "" {
			ref = cv.Value.Ref
		}
		fprintf(a.stdout, "%s\n", a.l.T("doctor.unopenable", "Ref", ref, "Epoch", u.Epoch, "Writer", short(u.Writer)))
	}
	if st := rep.Escrow; st != nil {
		fprintf(a.stdout, "%s\n", a.l.T("doctor.escrow", "Waiting", st.Waiting, "At", st.Since.Local().Format("2006-01-02 15:04"), "Problem", st.Problem))
	}
	if n := rep.TrustNotice; n != nil {
		fprintf(a.stdout, "%s\n", a.l.T("doctor.last_change", "At", n.At.Local().Format("2006-01-02 15:04")))
		printTrustChanges(a, n.Changes, false)
	}
	if rep.Problems == 0 {
		fprintf(a.stdout, "%s\n", a.l.T("doctor.no_problems"))
	} else {
		fprintf(a.stdout, "%s\n", a.l.T("doctor.problems", "Problems", rep.Problems))
	}
}
