package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/export"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
)

// The agency's recovery export writes the documented formats too, from a
// backup, with no device: the same files 'fieldcase export-case' writes.
func TestRecoveryExportFormats(t *testing.T) {
	s := syncharness.StartServer(t)
	keyFile := setRecovery(t, s)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	c, err := ada.V.CreateCase(record.Case{Ref: "R-9", Subject: "Zofia Wrześniewska"})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"First visit, recovery-canary-1.", "Phone call, recovery-canary-2."} {
		if _, err := ada.V.AddNote(c, record.Note{Kind: "visit", Date: "2026-05-01", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	ada.MustSync()
	backup := filepath.Join(t.TempDir(), "backup.db")
	s.Admin("backup", "--out", backup)

	export1 := func(format string) string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "export")
		if b, err := exec.Command(binary, "export", "--identity", keyFile, "--case", "R-9", "--out", out, "--from", backup, "--format", format).CombinedOutput(); err != nil {
			t.Fatalf("export --format %s: %v\n%s", format, err, b)
		}
		return filepath.Join(out, "R-9")
	}
	notesOf := func(ec *export.Case) string {
		var texts []string
		for _, n := range ec.Notes {
			texts = append(texts, n.Text)
		}
		return strings.Join(texts, "|")
	}

	var fromJSON export.Case
	b, err := os.ReadFile(filepath.Join(export1("json"), "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if fromJSON.Case.Subject != "Zofia Wrześniewska" || len(fromJSON.Notes) != 2 || !strings.Contains(fromJSON.Producer, "recovery") {
		t.Fatalf("json export: subject %q, %d notes, producer %q", fromJSON.Case.Subject, len(fromJSON.Notes), fromJSON.Producer)
	}

	dir := export1("csv")
	fromCSV, err := export.ReadCSV(func(name string) (io.ReadCloser, error) { return os.Open(filepath.Join(dir, name)) })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := notesOf(fromCSV), notesOf(&fromJSON); got != want || fromCSV.Case.Subject != fromJSON.Case.Subject {
		t.Fatalf("csv export: notes %q, want %q", got, want)
	}

	var bundle struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	b, err = os.ReadFile(filepath.Join(export1("fhir"), export.FileFHIR))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &bundle); err != nil || bundle.ResourceType != "Bundle" {
		t.Fatalf("fhir export: %v, resourceType %q", err, bundle.ResourceType)
	}
	kinds := map[string]int{}
	for _, e := range bundle.Entry {
		kinds[e.Resource.ResourceType]++
	}
	// The notes are DocumentReferences (their text base64 in attachments);
	// the resources' validity is export's test, by google/fhir's R4 parser.
	if kinds["Patient"] != 1 || kinds["DocumentReference"] != 2 {
		t.Fatalf("fhir export: resources %v, want a Patient and two DocumentReferences", kinds)
	}

	out := filepath.Join(t.TempDir(), "export")
	b, err = exec.Command(binary, "export", "--identity", keyFile, "--case", "R-9", "--out", out, "--from", backup, "--format", "csv", "--bundle").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "two kinds of export") {
		t.Fatalf("--bundle with --format: %v\n%s", err, b)
	}
}
