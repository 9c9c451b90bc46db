package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/fieldcase/fieldcase/internal/cli"
)

type searchCmd struct {
	Text  []string `arg:"" optional:"" help:"Words to find (every word must match; the last also as a prefix). Left out, they are asked for on a terminal, or read from standard input, so that a name searched for stays off the command line."`
	Limit int      `default:"50" help:"Show at most this many notes (0: all)."`
	JSON  bool     `name:"json" help:"Print JSON."`
}

func (c *searchCmd) Run(a *app) error {
	asking := len(c.Text) == 0 && isTTY(a.stdin) && isTTY(a.stderr)
	if len(c.Text) == 0 && !asking {
		b, err := io.ReadAll(io.LimitReader(a.stdin, 4096))
		if err != nil {
			return fmt.Errorf("%s: %w", a.l.T("search.reading"), err)
		}
		if c.Text = strings.Fields(string(b)); len(c.Text) == 0 {
			return cli.WithHint(a.l.Error("search.no_words"), a.l.T("search.no_words_hint"))
		}
	}
	v, err := a.unlock("fieldcase search")
	if err != nil {
		return err
	}
	defer v.Close()
	prompt := &entry{a: a, in: bufio.NewReader(a.stdin)}
	for asking && len(c.Text) == 0 { // after unlocking, so nothing is typed in vain
		line, err := prompt.readAnswer(a.l.T("search.prompt"), true, false)
		if err != nil {
			return err
		}
		c.Text = strings.Fields(strings.Join(line, " "))
	}
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
		fmt.Fprintln(a.stderr, a.l.T("search.no_match"))
		return cli.ExitCode(1)
	}
	ids, err := allNoteIDs(v)
	if err != nil {
		return err
	}
	idLen := abbrevLength(ids)
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("search.header"))
	for _, h := range hits {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.Ref, h.Date, h.Kind, abbrev(h.NoteID, idLen), h.Snippet)
	}
	return tw.Flush()
}
