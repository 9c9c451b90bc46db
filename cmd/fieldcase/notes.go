package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/when"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

type noteCmd struct {
	Add  noteAddCmd  `cmd:"" help:"Add a note to a case."`
	List noteListCmd `cmd:"" help:"List a case's notes, newest first."`
	Edit noteEditCmd `cmd:"" help:"Replace a note's text."`
}

// maxNoteText bounds a note read from a file or stdin.
const maxNoteText = 1 << 20

func (a *app) readText(path string) (string, error) {
	var r io.Reader
	if path == "-" {
		r = a.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("%s: %w", a.l.T("note.reading"), err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxNoteText+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", a.l.T("note.reading"), err)
	}
	if len(b) > maxNoteText {
		return "", a.l.Error("note.too_long", "KiB", maxNoteText>>10)
	}
	if !utf8.Valid(b) {
		return "", a.l.Error("note.not_utf8")
	}
	return strings.TrimRight(string(b), "\n"), nil
}

type noteAddCmd struct {
	Case string `required:"" help:"Case reference or id."`
	formFlag
	Kind     *string  `form:"kind" enum:"visit,phone,court,supervision" help:"visit, phone, court or supervision (default visit)."`
	Date     *string  `form:"date,date" help:"Date of the contact (default today): 14/12/2026 (in the date order, setting date_order), 2026-12-14, yesterday, last fri…"`
	Time     *string  `form:"time,time" help:"Time of the contact: 14:30, 2pm, 9.15am…"`
	Place    *string  `form:"place" personal:"" help:"Where it happened."`
	Attendee []string `form:"attendees" personal:"" help:"Someone present (repeat the flag for each)."`
	TextFile string   `name:"text-file" help:"File with the note text, or - for standard input (or text in the form)." placeholder:"FILE|-"`
	Author   *string  `form:"author" help:"Author name (default: the vault's user)."`
}

func (c *noteAddCmd) Run(a *app, kctx *kong.Context) error {
	if c.Form == "-" && c.TextFile == "-" {
		return cli.WithHint(a.l.Error("note.stdin_twice"), a.l.T("note.stdin_twice_hint"))
	}
	var formText *string
	if _, err := a.entry(kctx, c.Form, nil, formOnly("text", &formText, true, true)); err != nil {
		return err
	}
	var text string
	switch {
	case c.TextFile != "" && formText != nil:
		return cli.WithHint(a.l.Error("note.text_twice"), a.l.T("note.text_twice_hint"))
	case c.TextFile != "":
		t, err := a.readText(c.TextFile)
		if err != nil {
			return err
		}
		text = t
	case formText != nil:
		text = strings.TrimRight(*formText, "\n")
	default:
		return cli.WithHint(a.l.Error("note.no_text"), a.l.T("note.no_text_hint"))
	}
	date, err := a.parseDate("--date", orEmpty(c.Date))
	if err != nil {
		return err
	}
	clock, err := when.ParseTime(orEmpty(c.Time))
	if err != nil {
		return fmt.Errorf("--time: %w", err) // i18n: a flag's name, the same in every language
	}
	n := record.Note{Kind: orEmpty(c.Kind), Date: date, Time: clock, Place: orEmpty(c.Place), Attendees: c.Attendee, Text: text, Author: orEmpty(c.Author)}
	check := n
	check.Normalize(today())
	if err := check.Validate(); err != nil { // before the passphrase is asked for
		return err
	}
	v, cv, err := a.unlockCase("fieldcase note add", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	if n.Author == "" {
		n.Author = v.Profile().Name
	}
	id, err := v.AddNote(cv.ID, n)
	if err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", id)
	return nil
}

type noteListCmd struct {
	Case string `required:"" help:"Case reference or id."`
	JSON bool   `name:"json" help:"Print JSON (with the full text)."`
}

func (c *noteListCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase note list", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.LoadAll(a.ctx); err != nil {
		return err
	}
	if err := v.Audit(cv.ID, record.AuditOpen, "note list (command line)"); err != nil {
		return err
	}
	notes, err := v.Notes(cv.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		out := make([]noteJSON, 0, len(notes))
		for _, n := range notes {
			out = append(out, noteJSON{ID: n.ID, CaseID: n.CaseID, Ref: cv.Value.Ref, Note: n.Value, itemMeta: metaJSON(n)})
		}
		return writeJSON(a.stdout, out)
	}
	ids, err := allNoteIDs(v)
	if err != nil {
		return err
	}
	idLen := abbrevLength(ids)
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("note.header"))
	for _, n := range notes {
		first := strings.Join(strings.Fields(n.Value.Text), " ")
		if utf8.RuneCountInString(first) > 60 {
			first = string([]rune(first)[:59]) + "…"
		}
		if n.Deleted {
			first = a.l.T("note.deleted_version")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", abbrev(n.ID, idLen), n.Value.Date, n.Value.Kind, flags(n), first)
	}
	return tw.Flush()
}

type noteEditCmd struct {
	ID       string `arg:"" help:"Note id, or a unique prefix of it (from 'fieldcase note list')."`
	TextFile string `required:"" name:"text-file" help:"File with the new text, or - for standard input." placeholder:"FILE|-"`
	Resolve  bool   `help:"The note is in conflict: write this text as the merge of every version."`
}

func (c *noteEditCmd) Run(a *app) error {
	text, err := a.readText(c.TextFile)
	if err != nil {
		return err
	}
	v, err := a.unlock("fieldcase note edit")
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.LoadAll(a.ctx); err != nil {
		return err
	}
	ids, err := allNoteIDs(v)
	if err != nil {
		return err
	}
	id, err := resolveID(a.l, "note", c.ID, ids, nil)
	if errors.Is(err, store.ErrNotFound) {
		return cli.WithHint(err, a.l.T("note.none_hint"))
	}
	if err != nil {
		return err
	}
	n, err := v.Note(id)
	if err != nil {
		return err
	}
	parents := []record.RevID{n.Rev}
	if n.Conflict {
		if !c.Resolve {
			return cli.WithHint(errors.New(a.l.N("note.in_conflict", len(n.Versions), "ID", n.ID)), a.l.T("note.in_conflict_hint"))
		}
		parents = n.Parents()
	}
	note := n.Value
	if n.Deleted {
		return a.l.Error("note.deleted", "ID", n.ID)
	}
	note.Text = text
	if err := v.EditNote(n.ID, parents, note); err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.T("note.updated", "ID", n.ID))
	return nil
}
