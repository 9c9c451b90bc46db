package main

import (
	"fmt"
	"strings"

	"github.com/fieldcase/fieldcase/internal/cli"
)

type searchCmd struct {
	Text  []string `arg:"" help:"Words to find (every word must match; the last also as a prefix)."`
	Limit int      `default:"50" help:"Show at most this many notes (0: all)."`
	JSON  bool     `name:"json" help:"Print JSON."`
}

func (c *searchCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase search")
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.LoadAll(a.ctx); err != nil {
		return err
	}
	hits, err := v.Search(strings.Join(c.Text, " "), c.Limit)
	if err != nil {
		return err
	}
	if c.JSON {
		type hitJSON struct {
			Note    string `json:"note_id"`
			CaseID  string `json:"case_id"`
			Ref     string `json:"ref"`
			Date    string `json:"date"`
			Kind    string `json:"kind"`
			Snippet string `json:"snippet"`
		}
		out := make([]hitJSON, 0, len(hits))
		for _, h := range hits {
			out = append(out, hitJSON{h.NoteID, h.CaseID, h.Ref, string(h.Date), h.Kind, h.Snippet})
		}
		return writeJSON(a.stdout, out)
	}
	if len(hits) == 0 {
		fmt.Fprintln(a.stderr, "no notes match")
		return cli.ExitCode(1)
	}
	ids, err := allNoteIDs(v)
	if err != nil {
		return err
	}
	idLen := abbrevLength(ids)
	tw := table(a.stdout)
	fmt.Fprintln(tw, "REF\tDATE\tKIND\tNOTE\tTEXT")
	for _, h := range hits {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Ref, h.Date, h.Kind, abbrev(h.NoteID, idLen), h.Snippet)
	}
	return tw.Flush()
}
