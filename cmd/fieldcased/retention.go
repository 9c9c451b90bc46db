package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/trust"
)

// RetentionCmd manages the agency's retention policy and legal holds.
type RetentionCmd struct {
	Show    RetentionShowCmd    `cmd:"" help:"Show the retention policy with its formulas, the legal holds and the approved destructions."`
	Set     RetentionSetCmd     `cmd:"" help:"Sign a new version of the retention policy (JSON) with the agency key."`
	Hold    RetentionHoldCmd    `cmd:"" help:"Put a case on legal hold (a court order, an inquiry), signed with the agency key."`
	Release RetentionReleaseCmd `cmd:"" help:"Release a legal hold, signed with the agency key."`
}

// retentionState evaluates the server's statements under the agency key
// the server names (show) or the one the caller holds (set, hold).
func (a *app) retentionState(c *adminConn) (*trust.Roster, error) {
	var info server.RosterInfo
	if err := a.call(c, server.AdminRequest{Op: server.OpRoster}, &info); err != nil {
		return nil, err
	}
	pub, err := trust.ParseAgencyKey(info.Agency)
	if err != nil {
		return nil, cli.WithHint(errors.New("this server has no agency key"), "fieldcased agency init, then fieldcased agency set")
	}
	ss := make([]trust.Signed, len(info.Statements))
	for i, s := range info.Statements {
		ss[i] = s.Signed
	}
	return trust.Evaluate(pub, ss), nil
}

// RetentionShowCmd prints the policy.
type RetentionShowCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

// retentionView is what 'retention show --json' prints.
type retentionView struct {
	Version   uint64                  `json:"version"`
	Policy    *record.RetentionPolicy `json:"policy"`
	Formulas  map[string]string       `json:"formulas"`
	Holds     []trust.Hold            `json:"holds"`
	Destroyed []trust.Destruction     `json:"destroyed"`
}

func (c *RetentionShowCmd) Run(a *app) error {
	return a.with(false, func(conn *adminConn) error {
		r, err := a.retentionState(conn)
		if err != nil {
			return err
		}
		ret := r.Retention
		v := retentionView{Version: ret.Version, Policy: ret.Policy, Formulas: map[string]string{}, Holds: []trust.Hold{}, Destroyed: []trust.Destruction{}}
		if ret.Policy != nil {
			v.Formulas["default"] = record.Formula(ret.Policy.Default)
			for t, cs := range ret.Policy.Types {
				v.Formulas[t] = record.Formula(cs)
			}
		}
		for _, hs := range ret.Holds {
			v.Holds = append(v.Holds, hs...)
		}
		slices.SortFunc(v.Holds, func(x, y trust.Hold) int { return strings.Compare(x.Case+x.ID, y.Case+y.ID) })
		for _, d := range ret.Destroyed {
			v.Destroyed = append(v.Destroyed, d)
		}
		slices.SortFunc(v.Destroyed, func(x, y trust.Destruction) int { return strings.Compare(x.Case, y.Case) })
		if c.JSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		if ret.Policy == nil {
			fmt.Fprintln(a.stdout, "no retention policy: no case is due for destruction ('fieldcased retention set')")
		} else {
			fmt.Fprintf(a.stdout, "retention policy v%d, %d approver(s) per destruction\n", ret.Version, ret.Policy.Approvals)
			tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
			for _, t := range slices.Sorted(func(yield func(string) bool) {
				for t := range v.Formulas {
					if !yield(t) {
						return
					}
				}
			}) {
				fmt.Fprintf(tw, "  %s\t%s\n", t, v.Formulas[t])
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		for _, h := range v.Holds {
			state := "HELD"
			if h.Released {
				state = "released " + h.ReleasedAt.Format("2006-01-02")
			}
			fmt.Fprintf(a.stdout, "hold %s on case %s: %s, ordered by %s, ref %s, since %s (%s)\n", h.ID[:12], h.Case, state, h.OrderedBy, h.Ref, h.At.Format("2006-01-02"), h.Reason)
		}
		for _, d := range v.Destroyed {
			var who []string
			for _, ap := range d.Approvals {
				who = append(who, r.Users[ap.User].Name)
			}
			fmt.Fprintf(a.stdout, "destroyed: case %s under policy v%d, approved by %s\n", d.Case, d.PolicyVersion, strings.Join(who, " and "))
		}
		return nil
	})
}

// RetentionSetCmd signs a new policy version.
type RetentionSetCmd struct {
	File string `required:"" help:"The policy as JSON ('fieldcased retention show --json' prints the current one under \"policy\"), or - for standard input." placeholder:"FILE|-"`
	AgencyKeyFlag
}

func (c *RetentionSetCmd) Run(a *app) error {
	var doc []byte
	var err error
	if c.File == "-" {
		doc, err = io.ReadAll(io.LimitReader(a.stdin, 64<<10+1))
	} else {
		doc, err = os.ReadFile(c.File)
	}
	if err != nil {
		return err
	}
	pol, err := trust.ParseRetention(doc)
	if err != nil {
		return cli.WithHint(err, `e.g. {"approvals":2,"default":[{"from":"closed","years":6}],"types":{"child":[{"from":"birth","years":75}]}}`)
	}
	canon, err := json.Marshal(pol)
	if err != nil {
		return err
	}
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		r, err := a.retentionState(conn)
		if err != nil {
			return err
		}
		var top uint64
		for v := range r.Retention.Policies {
			top = max(top, v)
		}
		st := trust.Statement{Kind: trust.KindRetention, Version: max(top, r.Retention.Version) + 1, Doc: canon}
		if err := a.addStatements(conn, sign(k, st)); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "retention policy is now version %d\n", st.Version)
		return nil
	})
}

// RetentionHoldCmd places an agency legal hold.
type RetentionHoldCmd struct {
	Case      string `arg:"" help:"The case id."`
	Team      string `required:"" help:"The case's team (name or id)."`
	Ref       string `required:"" help:"The court order's or inquiry's reference."`
	OrderedBy string `name:"ordered-by" required:"" help:"Who ordered it (a court, an inquiry)."`
	Reason    string `help:"Why (shown to every device and the server: no names of people)."`
	AgencyKeyFlag
}

func (c *RetentionHoldCmd) Run(a *app) error {
	if err := record.ValidID(c.Case); err != nil {
		return cli.WithHint(fmt.Errorf("case id %q: %w", c.Case, err), "the case id, as 'fieldcase case show --json' prints it")
	}
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		dir, err := a.directory(conn)
		if err != nil {
			return err
		}
		team, err := teamNamed(dir, c.Team, "'fieldcased roster' lists the teams")
		if err != nil {
			return err
		}
		st := sign(k, trust.Statement{Kind: trust.KindHold, Case: c.Case, Team: team, Ref: c.Ref, Name: c.OrderedBy, Reason: c.Reason})
		if err := a.addStatements(conn, st); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "case %s is on legal hold %s: nothing of it is destroyed until the hold is released\n", c.Case, st.ID())
		return nil
	})
}

// RetentionReleaseCmd releases a hold.
type RetentionReleaseCmd struct {
	Hold   string `arg:"" help:"The hold's id (or its first 12 characters), as 'retention show' prints it."`
	Reason string `required:"" help:"Why it is released."`
	AgencyKeyFlag
}

func (c *RetentionReleaseCmd) Run(a *app) error {
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		r, err := a.retentionState(conn)
		if err != nil {
			return err
		}
		var found []trust.Hold
		for _, hs := range r.Retention.Holds {
			for _, h := range hs {
				if len(c.Hold) >= 12 && strings.HasPrefix(h.ID, c.Hold) && !h.Released {
					found = append(found, h)
				}
			}
		}
		if len(found) != 1 {
			return cli.WithHint(fmt.Errorf("%d holds in force match %q", len(found), c.Hold), "fieldcased retention show")
		}
		h := found[0]
		st := sign(k, trust.Statement{Kind: trust.KindRelease, Case: h.Case, Team: h.Team, Ref: h.ID, Reason: c.Reason})
		if err := a.addStatements(conn, st); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "hold %s on case %s released; its case is destroyed only on approvals given from now on\n", h.ID[:12], h.Case)
		return nil
	})
}
