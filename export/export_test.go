package export

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schema compiles one of docs/schema/*.schema.json.
func schema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	s, err := c.Compile(filepath.Join("..", "docs", "schema", name))
	if err != nil {
		t.Fatalf("compiling %s: %v", name, err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, doc []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return s.Validate(v)
}

func encode(t *testing.T, write func(io.Writer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func redacted(t *testing.T, c *Case) (*Case, []Omission) {
	t.Helper()
	out, om, err := Redact(c, Redaction{Names: []string{neighbour}, LeaveOut: []string{c.Recordings[1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	return out, om
}

func TestJSONSchema(t *testing.T) {
	s, so := schema(t, "fieldcase-export.schema.json"), schema(t, "fieldcase-omissions.schema.json")
	full := fixture()
	red, om := redacted(t, full)
	for name, c := range map[string]*Case{"full": full, "subject access": red} {
		doc := encode(t, func(w io.Writer) error { return WriteJSON(w, c) })
		if err := validate(t, s, doc); err != nil {
			t.Errorf("%s export does not validate: %v", name, err)
		}
	}
	if err := validate(t, so, encode(t, func(w io.Writer) error { return WriteJSON(w, NewOmissions(red, om)) })); err != nil {
		t.Errorf("omissions do not validate: %v", err)
	}
	// The schema is not vacuous: a wrong enumeration, a missing field and
	// an unknown one each fail.
	for name, edit := range map[string]func(m map[string]any){
		"bad status":    func(m map[string]any) { m["case"].(map[string]any)["status"] = "archived" },
		"no note text":  func(m map[string]any) { delete(m["notes"].([]any)[0].(map[string]any), "text") },
		"unknown field": func(m map[string]any) { m["tasks"].([]any)[0].(map[string]any)["colour"] = "red" },
		"bad date":      func(m map[string]any) { m["consents"].([]any)[0].(map[string]any)["date"] = "14/02/2026" },
	} {
		var m map[string]any
		if err := json.Unmarshal(encode(t, func(w io.Writer) error { return WriteJSON(w, full) }), &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		doc, _ := json.Marshal(m)
		if err := validate(t, s, doc); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		}
	}
}

func writeCSV(t *testing.T, files []File) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), encode(t, f.Write), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openIn(dir string) func(string) (io.ReadCloser, error) {
	return func(name string) (io.ReadCloser, error) { return os.Open(filepath.Join(dir, name)) }
}

func TestCSVRoundTrip(t *testing.T) {
	full := fixture()
	red, _ := redacted(t, full)
	for name, c := range map[string]*Case{"full": full, "subject access": red} {
		t.Run(name, func(t *testing.T) {
			dir := writeCSV(t, CSVFiles(c))
			got, err := ReadCSV(openIn(dir))
			if err != nil {
				t.Fatal(err)
			}
			want := encode(t, func(w io.Writer) error { return WriteJSON(w, c) })
			if g := encode(t, func(w io.Writer) error { return WriteJSON(w, got) }); !bytes.Equal(g, want) {
				t.Errorf("read back differs:\ngot  %s\nwant %s", g, want)
			}
		})
	}
}

// TestCSVFormulaSafe reads the files with encoding/csv alone, as a
// spreadsheet would take cells: none may begin a formula, and the
// dangerous values of the fixture are there, defused.
func TestCSVFormulaSafe(t *testing.T) {
	c := fixture()
	dir := writeCSV(t, CSVFiles(c))
	defused := map[string]bool{}
	for _, f := range CSVFiles(c) {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte(bom)) {
			t.Errorf("%s: no UTF-8 byte order mark", f.Name)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte(bom)))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		for _, rec := range recs {
			for _, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %q begins a formula", f.Name, cell)
				}
				if strings.HasPrefix(cell, "'") {
					defused[cell] = true
				}
			}
		}
	}
	for _, want := range []string{
		`'=HYPERLINK("http://evil.example","x")`,                    // a phone number
		"'+44 7700 900123",                                          // a real one: kept as text, not a number
		"'-Call from Ms Raghunathan: attendance 78%. @school\ttabs", // note text
		"'+Discussed risk; Mr Doyle (father) to be assessed.",
		"'@Chase school report", // a task title
	} {
		if !defused[want] {
			t.Errorf("cell %q not found neutralised; neutralised cells: %q", want, keys(defused))
		}
	}
	for _, in := range []string{"=1", "+1", "-1", "@a", "\tx", "\rx", "'x", "''=", "'", "plain", ""} {
		if got := Restore(Neutralise(in)); got != in {
			t.Errorf("Restore(Neutralise(%q)) = %q", in, got)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCSVRejects(t *testing.T) {
	c := fixture()
	dir := writeCSV(t, CSVFiles(c))
	if err := os.WriteFile(filepath.Join(dir, FileTasks), []byte("\"title\",\"due\"\r\n\"a\",\"b\"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCSV(openIn(dir)); !errors.Is(err, ErrCSV) {
		t.Errorf("a tasks file with other columns: got %v, want ErrCSV", err)
	}
	if _, err := splitList(`a\qb`); !errors.Is(err, ErrCSV) {
		t.Errorf("an unknown escape: got %v, want ErrCSV", err)
	}
	for _, l := range [][]string{{}, {""}, {"a", "", "b\nc", `d\e`, "\r"}} {
		got, err := splitList(joinList(l))
		if err != nil || strings.Join(got, "|") != strings.Join(l, "|") || len(got) != len(l) {
			t.Errorf("list %q read back as %q, %v", l, got, err)
		}
	}
}

func fhirValidator(t *testing.T) *jsonformat.Unmarshaller {
	t.Helper()
	u, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestFHIRR4 checks the bundle against the FHIR R4 structure definitions
// with google/fhir's R4 parser: unknown elements, cardinalities, required
// elements, codes of required value sets, reference targets and
// primitive formats.
func TestFHIRR4(t *testing.T) {
	u := fhirValidator(t)
	full := fixture()
	red, _ := redacted(t, full)
	for name, c := range map[string]*Case{"full": full, "subject access": red} {
		doc := encode(t, func(w io.Writer) error { return WriteFHIR(w, c) })
		if _, err := u.Unmarshal(doc); err != nil {
			t.Errorf("%s: not valid FHIR R4: %v", name, err)
		}
	}
	c := fixture()
	doc := encode(t, func(w io.Writer) error { return WriteFHIR(w, c) })
	var b struct {
		Entry []struct{ Resource map[string]any } `json:"entry"`
	}
	if err := json.Unmarshal(doc, &b); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range b.Entry {
		count[e.Resource["resourceType"].(string)]++
	}
	want := map[string]int{"Patient": 1, "RelatedPerson": 4, "CarePlan": 1, "Encounter": 4, "DocumentReference": 7, "Consent": 3, "Task": 2}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s resources, want %d (all: %v)", count[k], k, n, count)
		}
	}
	// The validator is not vacuous: a Consent without its required scope,
	// an Encounter with an unknown status and an unknown element fail.
	for name, edit := range map[string]func(r map[string]any){
		"Consent":   func(r map[string]any) { delete(r, "scope") },
		"Encounter": func(r map[string]any) { r["status"] = "done" },
		"Task":      func(r map[string]any) { r["dueDate"] = "2026-01-01" },
	} {
		var bb map[string]any
		if err := json.Unmarshal(doc, &bb); err != nil {
			t.Fatal(err)
		}
		for _, e := range bb["entry"].([]any) {
			r := e.(map[string]any)["resource"].(map[string]any)
			if r["resourceType"] == name {
				edit(r)
				break
			}
		}
		bad, _ := json.Marshal(bb)
		if _, err := u.Unmarshal(bad); err == nil {
			t.Errorf("a broken %s passed validation", name)
		}
	}
}

// TestSubjectAccess: no third party's name is anywhere in any file of
// any format, attachments decoded; every omission is listed, without a
// name.
func TestSubjectAccess(t *testing.T) {
	c := fixture()
	red, om := redacted(t, c)
	files := map[string][]byte{
		"case.json":      encode(t, func(w io.Writer) error { return WriteJSON(w, red) }),
		"bundle.json":    encode(t, func(w io.Writer) error { return WriteFHIR(w, red) }),
		"omissions.json": encode(t, func(w io.Writer) error { return WriteJSON(w, NewOmissions(red, om)) }),
	}
	for _, f := range append(CSVFiles(red), OmissionsCSV(om)) {
		files[f.Name] = encode(t, f.Write)
	}
	// FHIR attachments are base64: decode them into the search too.
	var b struct {
		Entry []struct {
			Resource struct {
				Content []struct{ Attachment struct{ Data string } }
			}
		}
	}
	if err := json.Unmarshal(files["bundle.json"], &b); err != nil {
		t.Fatal(err)
	}
	var decoded []byte
	for _, e := range b.Entry {
		for _, ct := range e.Resource.Content {
			d, err := base64.StdEncoding.DecodeString(ct.Attachment.Data)
			if err != nil {
				t.Fatal(err)
			}
			decoded = append(decoded, d...)
		}
	}
	files["bundle.json attachments"] = decoded
	if !bytes.Contains(decoded, []byte("[third party")) {
		t.Errorf("the notes' attachments hold no replaced name: the search would prove nothing")
	}
	for name, data := range files {
		low := bytes.ToLower(data)
		for _, s := range thirdPartyStrings {
			if bytes.Contains(low, bytes.ToLower([]byte(s))) {
				t.Errorf("%s holds the third party's %q", name, s)
			}
		}
		for _, keep := range []string{subject} {
			if name == "case.json" && !bytes.Contains(data, []byte(keep)) {
				t.Errorf("%s lost the subject's own name %q", name, keep)
			}
		}
	}
	if !bytes.Contains(files["case.json"], []byte(worker)) || !bytes.Contains(files["case.json"], []byte(typist)) {
		t.Errorf("staff names were taken out; they act in their role and stay")
	}

	// What was left out, each listed.
	has := func(kind, id, field, why string) bool {
		for _, o := range om {
			if o.Kind == kind && o.ID == id && o.Field == field && o.Why == why && o.What != "" {
				return true
			}
		}
		return false
	}
	checks := []struct {
		kind, id, field, why string
	}{
		{"case", c.Case.ID, "people", WhyThirdParty},
		{"case", c.Case.ID, "summary", WhyThirdParty},
		{"case", c.Case.ID, "court_dates[0].hearing", WhyThirdParty},
		{"note", c.Notes[0].ID, "attendees", WhyThirdParty},
		{"note", c.Notes[0].ID, "text", WhyThirdParty},
		{"note", c.Notes[0].ID, "place", WhyThirdParty},
		{"note", c.Notes[1].ID, "text", WhyThirdParty},
		{"consent", c.Consents[0].ID, "capacity_note", WhyThirdParty},
		{"consent", c.Consents[1].ID, "", WhyThirdParty},
		{"consent", c.Consents[2].ID, "", WhyThirdParty},
		{"task", c.Tasks[0].ID, "title", WhyThirdParty},
		{"recording", c.Recordings[0].ID, "title", WhyThirdParty},
		{"recording", c.Recordings[1].ID, "", WhyChosen},
	}
	for _, ch := range checks {
		if !has(ch.kind, ch.id, ch.field, ch.why) {
			t.Errorf("no omission listed for %s %s %s (%s)", ch.kind, ch.id, ch.field, ch.why)
		}
	}
	people := 0
	for _, o := range om {
		if o.Field == "people" {
			people++
		}
	}
	if people != 3 || len(red.Case.People) != 1 || red.Case.People[0].Name != subject {
		t.Errorf("people: %d omissions, %v kept; want the 3 others left out and the subject kept", people, red.Case.People)
	}
	if len(red.Consents) != 1 || len(red.Recordings) != 1 {
		t.Errorf("%d consents and %d recordings kept, want 1 and 1", len(red.Consents), len(red.Recordings))
	}
	if !red.SubjectAccess || c.SubjectAccess || c.Case.People[1].Name != father {
		t.Errorf("Redact changed its input or did not mark its output")
	}
}

func TestRedactChoices(t *testing.T) {
	c := fixture()
	// Leaving out every note by kind, and one task by id.
	red, om, err := Redact(c, Redaction{LeaveOut: []string{"notes", c.Tasks[1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(red.Notes) != 0 || len(red.Tasks) != 1 || red.Tasks[0].ID != c.Tasks[0].ID {
		t.Errorf("kept %d notes and tasks %v", len(red.Notes), red.Tasks)
	}
	chosen := 0
	for _, o := range om {
		if o.Why == WhyChosen {
			chosen++
		}
	}
	if chosen != 6 { // five note versions and a task
		t.Errorf("%d chosen omissions listed, want 6", chosen)
	}
	if _, _, err := Redact(c, Redaction{LeaveOut: []string{"01ARZ3NDEKTSV4RRFFQ69G5FAV"}}); !errors.Is(err, ErrLeaveOut) {
		t.Errorf("an id not in the case: got %v, want ErrLeaveOut", err)
	}
	if _, _, err := Redact(c, Redaction{LeaveOut: []string{c.Case.ID}}); err == nil || errors.Is(err, ErrLeaveOut) {
		t.Errorf("leaving out the case record itself was accepted")
	}
	// The mother's request: the case's subject is then a third party, and
	// so is the father; she and her consent stay.
	red, _, err = Redact(c, Redaction{Subject: mother})
	if err != nil {
		t.Fatal(err)
	}
	doc := encode(t, func(w io.Writer) error { return WriteJSON(w, red) })
	for _, s := range []string{subject, "Liam", father, "Kevin", teacher} {
		if bytes.Contains(bytes.ToLower(doc), bytes.ToLower([]byte(s))) {
			t.Errorf("the mother's export holds %q", s)
		}
	}
	if len(red.Consents) != 1 || red.Consents[0].Person != mother {
		t.Errorf("consents kept for the mother's request: %+v", red.Consents)
	}
}

func TestScrub(t *testing.T) {
	s := newScrubber(subject, []*party{{name: father, label: "[third party 1]"}, {name: "Ann Lee", label: "[third party 2]"}, {name: "Ann Smith", label: "[third party 3]"}},
		map[string]bool{"kevin jones": true})
	for _, tc := range []struct{ in, want string }{
		{"Kevin Doyle came.", "[third party 1] came."},
		{"kevin's car; KEVIN\ndoyle", "[third party 1]'s car; [third party 1]"},
		{"Kevinson and Mr Doyle", "Kevinson and Mr Doyle"}, // not a whole word; the subject's surname
		{"Kevin Jones (staff) met Kevin", "Kevin Jones (staff) met [third party 1]"},
		{"Ann said Lee and Smith", "[third party] said [third party 2] and [third party 3]"},
		{"Liam Doyle", "Liam Doyle"},
	} {
		if got, _ := s.scrub(tc.in); got != tc.want {
			t.Errorf("scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
