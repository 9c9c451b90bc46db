package main

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

type taskCmd struct {
	Add  taskAddCmd  `cmd:"" help:"Add a task or visit to a case."`
	List taskListCmd `cmd:"" help:"List a case's tasks and visits."`
	Done taskDoneCmd `cmd:"" help:"Mark a task or visit done."`
}

type taskAddCmd struct {
	Case string `required:"" help:"Case reference or id."`
	formFlag
	Title *string `form:"title" personal:"" prompt:"What is to be done" help:"What is to be done (required)."`
	Kind  *string `form:"kind" enum:"visit,task" help:"visit or task (default task)."`
	Due   *string `form:"due,date" help:"Due date: 14/12/2026 (in the date order, setting date_order), 2026-12-14, tomorrow, +7d, mon, 14 dec…"`
}

func (c *taskAddCmd) Run(a *app, kctx *kong.Context) error {
	e, err := a.entry(kctx, c.Form, []string{"title"})
	if err != nil {
		return err
	}
	t, err := c.task(a)
	if err != nil {
		return err
	}
	if !e.asking() {
		if err := t.Validate(); err != nil { // before the passphrase is asked for
			return err
		}
	}
	v, cv, err := a.unlockCase("fieldcase task add", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	if e.asking() {
		if err := e.prompt(); err != nil {
			return err
		}
		if t, err = c.task(a); err != nil {
			return err
		}
	}
	id, err := v.AddTask(cv.ID, t)
	if err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", id)
	return nil
}

func (c *taskAddCmd) task(a *app) (record.Task, error) {
	due, err := a.parseDate("--due", orEmpty(c.Due))
	if err != nil {
		return record.Task{}, err
	}
	return record.Task{Title: orEmpty(c.Title), Kind: cmp.Or(orEmpty(c.Kind), "task"), Due: due}, nil
}

type taskListCmd struct {
	Case string `required:"" help:"Case reference or id."`
	JSON bool   `name:"json" help:"Print JSON."`
}

func (c *taskListCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase task list", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	tasks, err := v.Tasks(cv.ID)
	if err != nil {
		return err
	}
	if c.JSON {
		out := make([]taskJSON, 0, len(tasks))
		for _, t := range tasks {
			out = append(out, taskJSON{ID: t.ID, CaseID: t.CaseID, Task: t.Value, itemMeta: metaJSON(t)})
		}
		return writeJSON(a.stdout, out)
	}
	idLen := abbrevLength(taskIDs(tasks))
	tw := table(a.stdout)
	fmt.Fprintln(tw, a.l.T("task.header"))
	t := today()
	for _, tk := range tasks {
		state := a.l.T("task.state.open")
		switch {
		case tk.Value.Done:
			state = a.l.T("task.state.done", "Date", string(tk.Value.DoneOn))
		case tk.Value.Due.Before(t):
			state = a.l.T("task.state.overdue")
		}
		kind := tk.Value.Kind
		if kind != "" {
			kind = kindName(a.l, kind)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", abbrev(tk.ID, idLen), orDash(string(tk.Value.Due)), orDash(kind), state, tk.Value.Title, flags(tk))
	}
	return tw.Flush()
}

type taskDoneCmd struct {
	Case string `required:"" help:"Case reference or id."`
	ID   string `arg:"" help:"Task id, or a unique prefix of it (from 'fieldcase task list')."`
	Undo bool   `help:"Mark it open again."`
}

func (c *taskDoneCmd) Run(a *app) error {
	v, cv, err := a.unlockCase("fieldcase task done", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	tasks, err := v.Tasks(cv.ID)
	if err != nil {
		return err
	}
	id, err := resolveID(a.l, "task", c.ID, taskIDs(tasks), func(id string) string {
		for _, tk := range tasks {
			if tk.ID == id {
				return tk.Value.Title
			}
		}
		return ""
	})
	if errors.Is(err, store.ErrNotFound) {
		return a.noTask(c.ID, cv.Value.Ref)
	}
	if err != nil {
		return err
	}
	for _, tk := range tasks {
		if tk.ID != id {
			continue
		}
		if tk.Conflict {
			return a.l.Error("task.in_conflict", "ID", tk.ID)
		}
		t := tk.Value
		t.Done = !c.Undo
		if err := v.UpdateTask(cv.ID, tk.ID, []record.RevID{tk.Rev}, t); err != nil {
			return err
		}
		if t.Done {
			fprintf(a.stdout, "%s\n", a.l.T("task.done", "ID", tk.ID))
		} else {
			fprintf(a.stdout, "%s\n", a.l.T("task.reopened", "ID", tk.ID))
		}
		return nil
	}
	return a.noTask(c.ID, cv.Value.Ref)
}

// noTask is the error for a task id that names none of the case's tasks.
func (a *app) noTask(id, ref string) error {
	return cli.WithHint(a.l.Error("task.none", "ID", strconv.Quote(id), "Ref", ref), a.l.T("task.none_hint", "Ref", ref))
}

func taskIDs(tasks []store.Item[record.Task]) []string {
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID
	}
	return ids
}
