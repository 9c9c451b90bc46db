package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/sync/server"
)

// LogCmd shows and checks the transparency log.
type LogCmd struct {
	Show   LogShowCmd   `cmd:"" help:"Print the log's size, root, key fingerprint and witnesses."`
	Verify LogVerifyCmd `cmd:"" help:"Recompute every stored hash of the log from its entries and check it against the store (after a restore or a migration)."`
}

// LogShowCmd prints what the log holds.
type LogShowCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *LogShowCmd) Run(a *app) error {
	var info server.LogInfo
	if err := a.do(false, server.AdminRequest{Op: server.OpLogShow}, &info); err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintf(a.stdout, "origin      %s\nentries     %d\nroot        %s\nkey         %s\nfingerprint %s\n",
		info.Origin, info.Size, info.Root, info.Key, info.Fingerprint)
	if len(info.Witnesses) == 0 {
		fmt.Fprintln(a.stdout, "no witness has cosigned a checkpoint yet")
		fmt.Fprintln(a.stderr, "supervisors' laptops cosign the checkpoints they check when they sync")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WITNESS\tUSER\tCOSIGNED ENTRIES\tRECEIVED")
	for _, w := range info.Witnesses {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", w.Device, w.User, w.Size, w.Time.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

// LogVerifyCmd checks the whole log.
type LogVerifyCmd struct {
	JSON bool `name:"json" help:"Print JSON (the report, also when the log has problems)."`
}

func (c *LogVerifyCmd) Run(a *app) error {
	var rep server.LogReport
	if err := a.do(false, server.AdminRequest{Op: server.OpLogVerify}, &rep); err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "%d entries: %d revisions, %d statements, %d audit heads; %d witnesses checked\nroot %s\n",
			rep.Size, rep.Revisions, rep.Statements, rep.AuditHeads, rep.Witnesses, rep.Root)
		for _, p := range rep.Problems {
			fmt.Fprintf(a.stdout, "problem: %s\n", p)
		}
	}
	if len(rep.Problems) > 0 {
		return cli.WithHint(errors.New("the transparency log does not check out"),
			"do not serve devices from this store: they will report the log as forked or rolled back; restore the last backup whose log verifies, and see docs/OPERATIONS.md")
	}
	if !c.JSON {
		fmt.Fprintln(a.stdout, "every stored hash and the root match the entries; every revision and statement is logged")
	}
	return nil
}
