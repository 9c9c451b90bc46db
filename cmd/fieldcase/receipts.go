package main

import (
	"fmt"

	"github.com/fieldcase/fieldcase/internal/cli"
)

type receiptsCmd struct {
	Case string `required:"" help:"Case reference or id."`
	JSON bool   `name:"json" help:"Print JSON."`
}

// receiptView is one receipt as listed.
type receiptView struct {
	RecordID string `json:"record_id"`
	Rev      string `json:"rev"`
	Index    int64  `json:"log_index"`
	Time     string `json:"time"`
	Verified bool   `json:"verified"`
}

func (c *receiptsCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase receipts", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	rs, err := v.Receipts(cv.ID)
	if err != nil {
		return err
	}
	logKey := v.LogKey()
	var out []receiptView
	bad := 0
	for _, r := range rs {
		ok := logKey != "" && r.Verify(logKey) == nil
		if !ok {
			bad++
		}
		out = append(out, receiptView{RecordID: r.RecordID, Rev: r.Rev.String(), Index: r.Index,
			Time: r.Time.UTC().Format("2006-01-02T15:04:05.000Z"), Verified: ok})
	}
	if c.JSON {
		if out == nil {
			out = []receiptView{}
		}
		return writeJSON(a.stdout, out)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("receipts.header"))
	for _, r := range out {
		sig := a.l.T("receipts.ok")
		if !r.Verified {
			sig = a.l.T("receipts.bad")
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", r.Time, r.Index, short(r.RecordID), r.Rev[:12], sig)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(out) == 0 {
		fprintf(a.stderr, "%s\n", a.l.T("receipts.none", "Ref", cv.Value.Ref))
	}
	if bad > 0 {
		return cli.WithHint(a.l.Error("receipts.not_verified", "Bad", bad), a.l.T("receipts.doctor_hint"))
	}
	return nil
}
