package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	"github.com/santhosh-tekuri/jsonschema/v6"

	caseexport "github.com/fieldcase/fieldcase/export"
)

// TestExportCase runs the built binary on a real vault: each format's
// files are checked by what other systems would use (the JSON Schemas,
// google/fhir's R4 parser, encoding/csv through ReadCSV); a subject access
// export holds no third party's name in any byte, and lists its omissions;
// bad input is refused with a hint and nothing is overwritten.
func TestExportCase(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	dir := t.TempDir()
	env := []string{"FIELDCASE_VAULT=" + filepath.Join(dir, "v.db"), "FIELDCASE_PASSPHRASE=" + secret(t)}
	run := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		out, errOut, code := fc(t, env, "", args...)
		if code != wantCode {
			t.Fatalf("fieldcase %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out, errOut
	}
	run(0, "init")
	env = withAgent(t, env)
	in := filepath.Join(dir, "in.jsonl")
	lines := `{"type":"case","ref":"R-1","subject":"Amelia Testcase","workers":["J. Okafor"],"people":[{"name":"Amelia Testcase","role":"child"},{"name":"Declan Fictional","role":"father","phone":"+44 7700 900123"},{"name":"Zoë Brightwater","role":"aunt"}],"summary":"Declan Fictional moved out; Zoë helps."}
{"type":"note","case":"R-1","kind":"visit","date":"2026-03-01","attendees":["Amelia Testcase","Zoë Brightwater","J. Okafor"],"author":"J. Okafor","text":"=HYPERLINK(\"x\") Zoë said Declan had not called.\nAmelia was well."}
{"type":"note","case":"R-1","kind":"supervision","date":"2026-03-02","author":"J. Okafor","text":"Discussed the case."}
{"type":"consent","case":"R-1","person":"Amelia Testcase","scope":["health"],"decision":"given","date":"2026-02-01"}
{"type":"consent","case":"R-1","person":"Declan Fictional","scope":["school"],"decision":"refused","date":"2026-02-02"}
{"type":"task","case":"R-1","title":"Call Declan","kind":"task","due":"2026-12-01"}
`
	if err := os.WriteFile(in, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	run(0, "import", in)

	// JSON, validated against the schema in docs/schema.
	jsonDir := filepath.Join(dir, "json")
	out, errOut := run(0, "export-case", "--case", "R-1", "--format", "json", "--out", jsonDir)
	if !strings.Contains(out, "wrote case R-1 as json") || !strings.Contains(errOut, "keep it as carefully") {
		t.Errorf("output: %s%s", out, errOut)
	}
	schemaCheck(t, "fieldcase-export.schema.json", filepath.Join(jsonDir, "case.json"))
	fi, err := os.Stat(filepath.Join(jsonDir, "case.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("case.json: %v, mode %v; want a private file", err, fi.Mode())
	}

	// FHIR R4, validated by google/fhir's R4 parser.
	fhirDir := filepath.Join(dir, "fhir")
	run(0, "export-case", "--case", "R-1", "--format", "fhir", "--out", fhirDir)
	fhirCheck(t, filepath.Join(fhirDir, caseexport.FileFHIR))

	// CSV, read back with encoding/csv as the JSON export's records.
	csvDir := filepath.Join(dir, "csv")
	run(0, "export-case", "--case", "R-1", "--format", "csv", "--out", csvDir)
	back, err := caseexport.ReadCSV(func(name string) (io.ReadCloser, error) { return os.Open(filepath.Join(csvDir, name)) })
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON caseexport.Case
	if err := json.Unmarshal(readFile(t, filepath.Join(jsonDir, "case.json")), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if len(back.Notes) != 2 || back.Notes[1].Text != fromJSON.Notes[1].Text || back.Case.Summary != fromJSON.Case.Summary || len(back.Case.People) != 3 {
		t.Errorf("the CSV export holds other records than the JSON one: %+v", back)
	}
	if notes := string(readFile(t, filepath.Join(csvDir, caseexport.FileNotes))); !strings.Contains(notes, `"'=HYPERLINK(""x"")`) {
		t.Errorf("notes.csv: the formula is not defused:\n%s", notes)
	}

	// A subject access request, in every format, with a name only the
	// officer knows and a record left out.
	var supervision string
	for _, n := range fromJSON.Notes {
		if n.Kind == "supervision" {
			supervision = n.ID
		}
	}
	for _, format := range []string{"json", "csv", "fhir"} {
		sar := filepath.Join(dir, "sar-"+format)
		out, _ := run(0, "export-case", "--case", "R-1", "--format", format, "--out", sar, "--subject-access",
			"--redact-person", "Declan", "--leave-out", supervision)
		if !strings.Contains(out, "subject access request") {
			t.Errorf("%s: output does not say it was prepared for subject access: %s", format, out)
		}
		ents, err := os.ReadDir(sar)
		if err != nil {
			t.Fatal(err)
		}
		omissions := 0
		for _, e := range ents {
			b := readFile(t, filepath.Join(sar, e.Name()))
			if e.Name() == caseexport.FileFHIR {
				fhirCheck(t, filepath.Join(sar, e.Name()))
				b = append(b, fhirAttachments(t, b)...)
			}
			for _, name := range []string{"Declan", "Fictional", "Zoë", "Brightwater"} {
				if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(name))) {
					t.Errorf("%s/%s holds the third party's %q", format, e.Name(), name)
				}
			}
			if strings.HasPrefix(e.Name(), "omissions.") {
				omissions++
				for _, want := range []string{supervision, "left out by the data protection officer", "the consent decision of another person", "attendee name(s) replaced"} {
					if !bytes.Contains(b, []byte(want)) {
						t.Errorf("%s/%s does not list %q", format, e.Name(), want)
					}
				}
			}
		}
		if omissions != 1 {
			t.Errorf("%s: %d omissions files, want 1", format, omissions)
		}
		if format == "json" {
			schemaCheck(t, "fieldcase-export.schema.json", filepath.Join(sar, "case.json"))
			schemaCheck(t, "fieldcase-omissions.schema.json", filepath.Join(sar, "omissions.json"))
		}
	}

	// Bad input: a clear error and a hint, nothing written or lost.
	for _, tc := range []struct {
		code int
		args []string
		want string
	}{
		{1, []string{"--format", "json", "--out", jsonDir}, "is not empty"},
		{2, []string{"--format", "xml", "--out", filepath.Join(dir, "x")}, `--format must be one of`}, // a usage error
		{1, []string{"--format", "json", "--out", filepath.Join(dir, "x"), "--redact-person", "Zoë"}, "add --subject-access"},
		{1, []string{"--format", "json", "--out", filepath.Join(dir, "x"), "--subject-access", "--leave-out", "NOPE"}, "no such record in the case: NOPE"},
	} {
		_, errOut := run(tc.code, append([]string{"export-case", "--case", "R-1"}, tc.args...)...)
		if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "hint: ") {
			t.Errorf("%v: stderr %q, want %q and a hint", tc.args, errOut, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Errorf("a refused export made its folder")
	}
	_, errOut = run(1, "export-case", "--case", "R-404", "--format", "json", "--out", filepath.Join(dir, "y"))
	if !strings.Contains(errOut, `no case "R-404"`) {
		t.Errorf("unknown case: %q", errOut)
	}
	// --force replaces an earlier export, and removes its files of another
	// format, but never touches a file it did not write.
	run(0, "export-case", "--case", "R-1", "--format", "csv", "--out", jsonDir, "--force")
	if _, err := os.Stat(filepath.Join(jsonDir, "case.json")); err == nil {
		t.Errorf("--force left the earlier JSON export beside the CSV one")
	}
	keep := filepath.Join(csvDir, "mine.txt")
	if err := os.WriteFile(keep, []byte("a user's file"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut = run(1, "export-case", "--case", "R-1", "--format", "json", "--out", csvDir, "--force")
	if !strings.Contains(errOut, "mine.txt") {
		t.Errorf("--force into a folder with other files: %q", errOut)
	}
	if _, err := os.Stat(filepath.Join(csvDir, caseexport.FileNotes)); err != nil {
		t.Errorf("a refused --force removed the earlier export: %v", err)
	}
	// Each export is in the case's audit trail.
	out, _ = run(0, "audit", "log", "--case", "R-1")
	if n := strings.Count(out, "subject access json export to sar-json"); n != 1 {
		t.Errorf("audit trail has %d subject access JSON exports, want 1:\n%s", n, out)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func schemaCheck(t *testing.T, schema, path string) {
	t.Helper()
	c := jsonschema.NewCompiler()
	s, err := c.Compile(filepath.Join("..", "..", "docs", "schema", schema))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(readFile(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s does not validate against %s: %v", path, schema, err)
	}
}

func fhirCheck(t *testing.T, path string) {
	t.Helper()
	u, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Unmarshal(readFile(t, path)); err != nil {
		t.Errorf("%s is not valid FHIR R4: %v", path, err)
	}
}

// fhirAttachments are the decoded data of a bundle's attachments.
func fhirAttachments(t *testing.T, doc []byte) []byte {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource struct {
				Content []struct{ Attachment struct{ Data string } }
			}
		}
	}
	if err := json.Unmarshal(doc, &b); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, e := range b.Entry {
		for _, c := range e.Resource.Content {
			d, err := base64.StdEncoding.DecodeString(c.Attachment.Data)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d...)
		}
	}
	if len(out) == 0 {
		t.Errorf("the bundle has no attachment data: the search would prove nothing")
	}
	return out
}
