package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

type importCmd struct {
	File string `arg:"" help:"JSON Lines file, or - for standard input." placeholder:"FILE.jsonl"`
}

func (c *importCmd) Run(a *app) error {
	var r io.Reader = a.stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return fmt.Errorf("%s: %w", a.l.T("import.import"), err)
		}
		defer f.Close()
		r = f
	}
	v, err := a.unlock("fieldcase import")
	if err != nil {
		return err
	}
	defer v.Close()
	st, err := v.Import(r)
	if err != nil {
		return fmt.Errorf("%s: %w", a.l.T("import.import"), err)
	}
	fprintf(a.stdout, "%s\n", a.l.T("import.done", "Cases", st.Cases, "Notes", st.Notes, "Consents", st.Consents, "Tasks", st.Tasks, "Unchanged", st.Unchanged))
	if st.Flattened > 0 {
		fprintf(a.stderr, "fieldcase: %s\n", a.l.T("import.flattened", "Flattened", st.Flattened)) // i18n: the program's name, as its error path writes it
	}
	return nil
}

type exportCmd struct {
	JSONL bool   `name:"jsonl" required:"" help:"Write JSON Lines (the only format)."`
	Out   string `short:"o" help:"Write to this file instead of standard output." placeholder:"FILE"`
}

func (c *exportCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase export")
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.LoadAll(a.ctx); err != nil {
		return err
	}
	if err := auditExport(v, c.Out); err != nil {
		return err
	}
	if c.Out == "" {
		return v.Export(a.stdout)
	}
	if err := writePrivate(c.Out, v.Export); err != nil {
		return fmt.Errorf("%s: %w", a.l.T("export.export"), err)
	}
	fprintf(a.stderr, "%s\n", a.l.T("export.all_done", "File", c.Out))
	return nil
}

// auditExport records, in every case, that its data is being exported.
func auditExport(v *store.Vault, out string) error {
	cases, err := v.Cases()
	if err != nil {
		return err
	}
	if out == "" {
		out = "standard output"
	}
	return v.Update(func(tx *store.Tx) error {
		for _, c := range cases {
			if err := tx.Audit(c.ID, record.AuditExport, "JSON Lines export to "+filepath.Base(out)); err != nil {
				return err
			}
		}
		return nil
	})
}
