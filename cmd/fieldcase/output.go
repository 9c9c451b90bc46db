package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fieldcase/fieldcase/internal/when"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// flags are the markers a record carries in text output; "conflict" is
// spelled out so scripts can grep for it.
func flags[T any](it store.Item[T]) string {
	var f []string
	if it.Conflict {
		f = append(f, "conflict")
	}
	if it.Unsynced {
		f = append(f, "unsynced")
	}
	if it.Sealed {
		f = append(f, "sealed")
	}
	return strings.Join(f, ",")
}

// version is one head of a record in conflict, in JSON output.
type versionJSON[T any] struct {
	Rev     string    `json:"rev"`
	Written time.Time `json:"written"`
	Device  string    `json:"device,omitempty"`
	Deleted bool      `json:"deleted,omitempty"`
	Value   *T        `json:"value,omitempty"`
}

type itemMeta[T any] struct {
	Rev      string           `json:"rev"`
	Written  time.Time        `json:"written"`
	Conflict bool             `json:"conflict"`
	Unsynced bool             `json:"unsynced"`
	Sealed   bool             `json:"sealed,omitempty"`
	Versions []versionJSON[T] `json:"versions,omitempty"`
}

func metaJSON[T any](it store.Item[T]) itemMeta[T] {
	m := itemMeta[T]{Rev: it.Rev.String(), Written: it.Updated().UTC(), Conflict: it.Conflict, Unsynced: it.Unsynced, Sealed: it.Sealed}
	for _, v := range it.Versions {
		vj := versionJSON[T]{Rev: v.Rev.String(), Written: v.HLC.Time().UTC(), Device: v.Device, Deleted: v.Deleted}
		if !v.Deleted {
			val := v.Value
			vj.Value = &val
		}
		m.Versions = append(m.Versions, vj)
	}
	return m
}

type caseJSON struct {
	ID string `json:"id"`
	record.Case
	Due          record.Date `json:"due,omitempty"`
	Overdue      bool        `json:"overdue"`
	NoteCount    int         `json:"note_count"`
	OpenTasks    int         `json:"open_tasks"`
	OverdueTasks int         `json:"overdue_tasks"`
	// Set when the case was taken away from this laptop's user (signed
	// keyrings say so): read-only here; kept_for says what keeps the
	// local copy on this laptop (empty: it goes at the next sync).
	ReassignedTo []string    `json:"reassigned_to,omitempty"`
	ReassignedOn record.Date `json:"reassigned_on,omitempty"`
	ReassignedBy string      `json:"reassigned_by,omitempty"`
	KeptFor      []string    `json:"kept_for,omitempty"`
	itemMeta[record.Case]
}

func caseToJSON(c store.CaseView, today record.Date) caseJSON {
	out := caseJSON{ID: c.ID, Case: c.Value, Due: c.Due(), Overdue: c.Overdue(today), NoteCount: c.Notes,
		OpenTasks: c.OpenTasks, OverdueTasks: c.OverdueTasks, itemMeta: metaJSON(c.Item)}
	if r := c.Reassigned; r != nil {
		out.ReassignedTo = append([]string{}, r.To...)
		out.ReassignedOn = record.DateOf(r.On)
		out.ReassignedBy = r.By
		out.KeptFor = r.Waiting
	}
	return out
}

// reassignedLine says, for a person, that a case was taken away from them
// and what keeps its copy on this laptop.
func reassignedLine(r *store.Reassignment) string {
	line := r.Summary()
	if r.By != "" {
		line += " by " + r.By
	}
	line += "; read-only on this laptop"
	if len(r.Waiting) > 0 {
		return line + "; kept here for " + strings.Join(r.Waiting, ", ")
	}
	return line + "; removed from this laptop at the next sync"
}

// flagsOf is a case's flags, a reassignment included.
func flagsOf(cv store.CaseView) string {
	f := flags(cv.Item)
	if cv.Reassigned != nil {
		if f != "" {
			f += ","
		}
		f += "reassigned"
	}
	return f
}

type noteJSON struct {
	ID     string `json:"id"`
	CaseID string `json:"case_id"`
	Ref    string `json:"ref"`
	record.Note
	itemMeta[record.Note]
}

type consentJSON struct {
	ID     string `json:"id"`
	CaseID string `json:"case_id"`
	record.Consent
	itemMeta[record.Consent]
}

type taskJSON struct {
	ID     string `json:"id"`
	CaseID string `json:"case_id"`
	record.Task
	itemMeta[record.Task]
}

func today() record.Date { return record.DateOf(time.Now()) }

// parseDate reads a date given to flag as people type them, 14/12/2026 in
// the agency's order, tomorrow, +7d, mon… (see package when), from today.
// A form's dates arrive already read, as YYYY-MM-DD, which it keeps.
func (a *app) parseDate(flag, s string) (record.Date, error) {
	d, err := when.ParseDate(s, time.Now(), a.dateOrder())
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	return d, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fprintf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }

// writePrivate writes a file only its owner may read (decrypted case data,
// settings) through a temporary file beside it, synced and renamed into
// place: a failure never leaves half a file under the name asked for.
func writePrivate(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fieldcase-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
