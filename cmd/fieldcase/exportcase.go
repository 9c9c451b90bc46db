package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	caseexport "github.com/fieldcase/fieldcase/export"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// exportCaseCmd writes one case, decrypted on this laptop, for another
// system or for a subject access request (docs/EXPORTS.md).
type exportCaseCmd struct {
	Case          string   `required:"" help:"Case reference or id." placeholder:"REF"`
	Format        string   `required:"" enum:"json,csv,fhir" help:"json (documented, with JSON Schemas), csv (a file per record type, for a spreadsheet) or fhir (an HL7 FHIR R4 Bundle)."`
	Out           string   `required:"" type:"path" help:"Folder to write into (created; must be absent or empty, unless --force)." placeholder:"DIR"`
	SubjectAccess bool     `name:"subject-access" help:"Prepare it for a subject access request: third parties' names taken out, other persons' consents left out, and omissions listed beside it."`
	Subject       string   `help:"Whose request it is, as the case names them (default: the case's subject)." placeholder:"NAME"`
	RedactPerson  []string `name:"redact-person" help:"Another name to take out wherever it appears (repeatable)." placeholder:"NAME"`
	LeaveOut      []string `name:"leave-out" help:"A record to leave out, by id, or every record of a kind: note, consent, task, recording (repeatable)." placeholder:"ID|KIND"`
	Force         bool     `help:"Write into a folder that holds an earlier export of this command, replacing it."`
}

func (exportCaseCmd) Help() string {
	return cli.Examples(
		`fieldcase export-case --case GAL-2026-0142 --format fhir --out gal-fhir/`,
		`fieldcase export-case --case GAL-2026-0142 --format csv --out sar/ --subject-access --redact-person 'Tomasz Wiśniewski' --leave-out recording`)
}

// exportFiles are every name export-case writes, in any format: --force
// replaces them and nothing else.
var exportFiles = []string{"case.json", caseexport.FileFHIR, "omissions.json", caseexport.FileCase, caseexport.FilePeople, caseexport.FileCourtDates,
	caseexport.FileNotes, caseexport.FileConsents, caseexport.FileTasks, caseexport.FileRecordings, caseexport.FileOmissions}

func (c *exportCaseCmd) Run(a *app) error {
	if !c.SubjectAccess && (c.Subject != "" || len(c.RedactPerson) > 0 || len(c.LeaveOut) > 0) {
		return cli.WithHint(a.l.Error("exportcase.needs_sar"), a.l.T("exportcase.needs_sar_hint"))
	}
	stale, err := c.checkOut(a.l)
	if err != nil {
		return err
	}
	v, cv, err := a.unlockCase("fieldcase export-case", c.Case)
	if err != nil {
		return err
	}
	defer v.Close()
	ec, sealed, err := caseExport(v, cv)
	if err != nil {
		return err
	}
	var omissions []caseexport.Omission
	if c.SubjectAccess {
		if ec, omissions, err = caseexport.Redact(ec, caseexport.Redaction{Subject: c.Subject, Names: c.RedactPerson, LeaveOut: c.LeaveOut}); err != nil {
			return cli.WithHint(fmt.Errorf("export-case: %w", err), a.l.T("exportcase.redact_hint")) // i18n: the command's name
		}
	}
	files, err := c.files(ec, omissions)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%s export to %s", c.Format, filepath.Base(c.Out)) // i18n: the audit trail's record, kept in English like every audit entry
	if c.SubjectAccess {
		detail = "subject access " + detail
	}
	// Audited before anything decrypted leaves the vault.
	if err := v.Audit(cv.ID, record.AuditExport, detail); err != nil {
		return err
	}
	if err := os.MkdirAll(c.Out, 0o700); err != nil {
		return exportCaseWriteError(a.l, c.Out, err)
	}
	for _, f := range files {
		if err := writePrivate(filepath.Join(c.Out, f.Name), f.Write); err != nil {
			return exportCaseWriteError(a.l, c.Out, err)
		}
	}
	written := map[string]bool{}
	for _, f := range files {
		written[f.Name] = true
	}
	for _, name := range stale { // an earlier export's files that this one does not replace
		if !written[name] {
			if err := os.Remove(filepath.Join(c.Out, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return exportCaseWriteError(a.l, c.Out, err)
			}
		}
	}
	if c.Format == "csv" {
		// The files read back as what was exported, or the export fails.
		back, err := caseexport.ReadCSV(func(name string) (io.ReadCloser, error) { return os.Open(filepath.Join(c.Out, name)) })
		if err != nil || !sameCase(back, ec) {
			return cli.WithHint(a.l.Error("exportcase.csv_mismatch", "Out", c.Out, "Err", fmt.Sprint(err)), a.l.T("exportcase.csv_mismatch_hint"))
		}
	}
	fprintf(a.stdout, "%s\n", a.l.T("exportcase.wrote", "Ref", cv.Value.Ref, "Format", c.Format, "Out", c.Out, "Notes", len(ec.Notes),
		"Consents", len(ec.Consents), "Tasks", len(ec.Tasks), "Recordings", len(ec.Recordings)))
	if c.SubjectAccess {
		fprintf(a.stdout, "%s\n", a.l.T("exportcase.sar", "Omissions", len(omissions), "File", files[len(files)-1].Name))
	}
	if sealed > 0 {
		fprintf(a.stderr, "%s\n", a.l.T("exportcase.sealed", "Sealed", sealed))
	}
	if len(ec.Recordings) > 0 {
		fprintf(a.stderr, "%s\n", a.l.T("exportcase.no_audio"))
	}
	fprintf(a.stderr, "%s\n", a.l.T("exportcase.decrypted"))
	return nil
}

// checkOut refuses an output folder that holds anything, unless --force
// and all it holds is an earlier export (whose files it returns).
func (c *exportCaseCmd) checkOut(l *i18n.Locale) ([]string, error) {
	ents, err := os.ReadDir(c.Out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, cli.WithHint(fmt.Errorf("--out %s: %w", c.Out, err), l.T("exportcase.new_folder_hint")) // i18n: the flag as given
	}
	var names, others []string
	for _, e := range ents {
		if e.Type().IsRegular() && slices.Contains(exportFiles, e.Name()) {
			names = append(names, e.Name())
		} else {
			others = append(others, e.Name())
		}
	}
	switch {
	case len(ents) == 0:
		return nil, nil
	case !c.Force:
		return nil, cli.WithHint(l.Error("exportcase.not_empty", "Out", c.Out), l.T("exportcase.not_empty_hint"))
	case len(others) > 0:
		return nil, cli.WithHint(l.Error("exportcase.others", "Out", c.Out, "Files", strings.Join(others, ", ")), l.T("exportcase.others_hint"))
	}
	return names, nil
}

// files are what the chosen format writes, the omissions last.
func (c *exportCaseCmd) files(ec *caseexport.Case, omissions []caseexport.Omission) ([]caseexport.File, error) {
	files, err := caseexport.Files(ec, c.Format)
	if err != nil || !c.SubjectAccess {
		return files, err
	}
	if c.Format == "csv" {
		return append(files, caseexport.OmissionsCSV(omissions)), nil
	}
	return append(files, caseexport.File{Name: "omissions.json", Write: func(w io.Writer) error {
		return caseexport.WriteJSON(w, caseexport.NewOmissions(ec, omissions))
	}}), nil
}

func exportCaseWriteError(l *i18n.Locale, dir string, err error) error {
	return cli.WithHint(fmt.Errorf("%s: %w", l.T("exportcase.writing", "Dir", dir), err), l.T("exportcase.writing_hint"))
}

// caseExport reads case cv from the vault as an export holds it, and how
// many of its records are sealed here.
func caseExport(v *store.Vault, cv store.CaseView) (*caseexport.Case, int, error) {
	sealed := 0
	ec := caseexport.NewCase(metaOf(cv.Item, cv.Rev, cv.HLC, len(cv.Versions)), cv.Value, time.Now(), producer(v))
	notes, err := v.Notes(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	addVersions(notes, &sealed, ec.AddNote)
	consents, err := v.Consents(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	addVersions(consents, &sealed, ec.AddConsent)
	tasks, err := v.Tasks(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	addVersions(tasks, &sealed, ec.AddTask)
	recs, err := v.Recordings(cv.ID)
	if err != nil {
		return nil, 0, err
	}
	addVersions(recs, &sealed, ec.AddRecording)
	return ec, sealed, nil
}

func metaOf[T any](it store.Item[T], rev record.RevID, hlc record.HLC, versions int) caseexport.Meta {
	return caseexport.Meta{ID: it.ID, Rev: rev.String(), Updated: hlc.Time(), Versions: max(versions, 1)}
}

// addVersions adds each readable version of items: the winner, or every
// head of a record in conflict.
func addVersions[T any](items []store.Item[T], sealed *int, add func(caseexport.Meta, T)) {
	for _, it := range items {
		if len(it.Versions) == 0 {
			switch {
			case it.Deleted:
			case it.Sealed || it.Loading:
				*sealed++
			default:
				add(metaOf(it, it.Rev, it.HLC, 1), it.Value)
			}
			continue
		}
		for _, ver := range it.Versions {
			switch {
			case ver.Deleted:
			case ver.Sealed:
				*sealed++
			default:
				add(metaOf(it, ver.Rev, ver.HLC, len(it.Versions)), ver.Value)
			}
		}
	}
}

// sameCase reports whether two exports hold the same, field for field.
func sameCase(a, b *caseexport.Case) bool {
	var x, y strings.Builder
	return caseexport.WriteJSON(&x, a) == nil && caseexport.WriteJSON(&y, b) == nil && x.String() == y.String()
}
