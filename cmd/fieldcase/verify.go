package main

import (
	"errors"
	"os"

	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/internal/cli"
)

type verifyBundleCmd struct {
	Dir        string `arg:"" type:"path" help:"The bundle's folder (it holds manifest.json)." placeholder:"DIR"`
	RequireLog bool   `help:"Fail, rather than note, a revision without evidence from the server's log."`
	JSON       bool   `name:"json" help:"Print the report as JSON."`
}

func (verifyBundleCmd) Help() string {
	return cli.Examples(
		`fieldcase verify-bundle bundle/`,
		`fieldcase verify-bundle --require-log bundle/   # every revision must be in the server's log`)
}

// Run checks a bundle from its files alone: no vault is opened.
func (c *verifyBundleCmd) Run(a *app) error {
	rep, err := bundle.Verify(a.ctx, c.Dir, bundle.VerifyOptions{RequireLog: c.RequireLog})
	if errors.Is(err, os.ErrNotExist) {
		return cli.WithHint(a.l.Error("verify.no_bundle", "Dir", c.Dir), a.l.T("verify.no_bundle_hint"))
	}
	if err != nil {
		return err
	}
	if c.JSON {
		if err := writeJSON(a.stdout, rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(a.stdout, c.Dir); err != nil {
		return err
	}
	if !rep.OK() {
		return cli.WithHint(a.l.Error("verify.failed", "Problems", len(rep.Problems)), a.l.T("verify.failed_hint"))
	}
	return nil
}
