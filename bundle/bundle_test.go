package bundle_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/bundle/bundletest"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

func write(t *testing.T, src *bundle.Source) (string, *bundle.Result) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	res, err := bundle.Write(context.Background(), dir, src, bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

func verify(t *testing.T, dir string) *bundle.Report {
	t.Helper()
	rep, err := bundle.Verify(context.Background(), dir, bundle.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestWriteVerify(t *testing.T) {
	f := bundletest.StandardCase(t)
	f.LogAll()
	dir, res := write(t, f.Src)
	if len(res.Warnings) > 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	if got, want := res.Records, 11; got != want {
		t.Errorf("%d revisions in the bundle, want %d", got, want)
	}
	if res.Logged != res.Records || res.Receipts != res.Records || res.Recordings != 1 {
		t.Errorf("logged %d, receipts %d, recordings %d; want %d, %d, 1", res.Logged, res.Receipts, res.Recordings, res.Records, res.Records)
	}
	rep := verify(t, dir)
	if !rep.OK() {
		t.Fatalf("a fresh bundle does not verify: %q", rep.Problems)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "no witness") {
		t.Errorf("notes %q, want only that no witness cosigned", rep.Notes)
	}
	if rep.Logged != 11 || rep.Receipts != 11 || rep.Pages != res.Pages || rep.AgencyFingerprint != trust.AgencyFingerprint(f.Agency.Public()) {
		t.Errorf("report %+v", rep)
	}
	for _, name := range []string{bundle.PDFName, bundle.ReadmeName, bundle.ManifestName, "recordings"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if want := os.FileMode(0o600); fi.IsDir() {
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("%s has mode %v, want 0700", name, fi.Mode().Perm())
			}
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	readme, _ := os.ReadFile(filepath.Join(dir, bundle.ReadmeName))
	for _, want := range []string{"fieldcase-verify FOLDER", trust.AgencyFingerprint(f.Agency.Public()), "11 of the 11 revisions are proved"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.txt lacks %q:\n%s", want, readme)
		}
	}
	// Only the statements that prove the three laptops: the team, three
	// users, three grants, three devices.
	m := manifest(t, dir)
	if got := len(m.Statements); got != 10 {
		t.Errorf("%d statements in the manifest, want 10", got)
	}
}

func manifest(t *testing.T, dir string) *bundle.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, bundle.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := bundle.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func rewrite(t *testing.T, dir string, m *bundle.Manifest) {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestName), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantProblem fails unless the report names item (a substring) with what.
func wantProblem(t *testing.T, rep *bundle.Report, item, what string) {
	t.Helper()
	for _, p := range rep.Problems {
		if strings.Contains(p.Item, item) && strings.Contains(p.What, what) {
			return
		}
	}
	t.Errorf("no problem naming %q with %q; got %q", item, what, rep.Problems)
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	return to
}

func flipByte(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Each way of tampering with a bundle is caught, naming the item.
func TestTamper(t *testing.T) {
	f := bundletest.StandardCase(t)
	f.LogAll()
	dir, _ := write(t, f.Src)
	m := manifest(t, dir)
	note := m.Records[1] // the first note
	if note.Kind != record.KindNote {
		t.Fatalf("records[1] is a %s", note.Kind)
	}
	rec := ""
	for _, e := range m.Records {
		if e.File != "" {
			rec = e.File
		}
	}
	// Another log holding the same revision: a valid proof, against
	// another checkpoint.
	other, err := bundletest.NewLog("test-log")
	if err != nil {
		t.Fatal(err)
	}
	other.Key = f.Log.Key
	other.AppendRevisions(f.Rev("ada-laptop", record.NewID(), record.KindNote, false))
	other.AppendRevisions(f.Src.Records[1].Rev)
	otherProof, _ := other.Prove(other.Size(), 1)

	cases := []struct {
		name       string
		tamper     func(dir string)
		item, what string
	}{
		{"a flipped byte in a PDF page", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, bundle.PDFName))
			i := bytes.Index(b, []byte("stream\n")) // the first page's content
			flipByte(t, filepath.Join(dir, bundle.PDFName), i+40)
		}, bundle.PDFName, "changed since the bundle was made"},
		{"a flipped byte in a PDF page, by page", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, bundle.PDFName))
			i := bytes.Index(b, []byte("stream\n"))
			flipByte(t, filepath.Join(dir, bundle.PDFName), i+40)
		}, bundle.PDFName + " page i (page 1 of the file)", "its content cannot be read"},
		{"a flipped byte in a recording", func(dir string) { flipByte(t, filepath.Join(dir, rec), 10) }, rec, "changed since the bundle was made"},
		{"a removed recording", func(dir string) { os.Remove(filepath.Join(dir, rec)) }, rec, "missing"},
		{"a removed PDF", func(dir string) { os.Remove(filepath.Join(dir, bundle.PDFName)) }, bundle.PDFName, "missing"},
		{"an added file", func(dir string) { os.WriteFile(filepath.Join(dir, "recordings", "extra.ogg"), []byte("x"), 0o600) }, "recordings/extra.ogg", "not in the manifest"},
		{"a forged signature", func(dir string) {
			m := manifest(t, dir)
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			rev, _ := record.ParseRevID(m.Records[1].Rev)
			m.Records[1].Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, (&record.Revision{Rev: rev}).SignedMessage()))
			rewrite(t, dir, m)
		}, "note " + note.Record, "signature is not device ada-laptop's"},
		{"a proof against another checkpoint", func(dir string) {
			m := manifest(t, dir)
			m.Records[1].Log.Index = 1
			m.Records[1].Log.Proof = bundle.EncodeProof(otherProof)
			rewrite(t, dir, m)
		}, "note " + note.Record, "log proof does not hold"},
		{"another checkpoint", func(dir string) {
			m := manifest(t, dir)
			_, s, _ := other.Checkpoint()
			m.Log.Checkpoint = base64.StdEncoding.EncodeToString(s)
			rewrite(t, dir, m)
		}, "note " + note.Record, "log proof does not hold"},
		{"an entry dropped from the manifest", func(dir string) {
			m := manifest(t, dir)
			m.Records = append(m.Records[:1], m.Records[2:]...)
			rewrite(t, dir, m)
		}, bundle.PDFName + " page B", "not in the manifest: an entry no signature backs"},
		{"an entry moved to another page", func(dir string) {
			m := manifest(t, dir)
			m.Records[1].Page = "B9"
			rewrite(t, dir, m)
		}, "note " + note.Record, "the PDF shows it on page B1"},
		{"a tombstone listed as a record", func(dir string) {
			m := manifest(t, dir)
			m.Records = append(m.Records, m.Deletions...)
			m.Deletions = nil
			rewrite(t, dir, m)
		}, "note " + m.Deletions[0].Record, "the revision is a deletion"},
		{"a statement dropped", func(dir string) {
			m := manifest(t, dir)
			for i, s := range m.Statements {
				if st, _ := s.Open(); st.Kind == trust.KindDevice && st.Device == "ada-laptop" {
					m.Statements = append(m.Statements[:i], m.Statements[i+1:]...)
					break
				}
			}
			rewrite(t, dir, m)
		}, "note " + note.Record, "which no agency-signed statement in the bundle vouches for"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir(t, dir)
			c.tamper(d)
			rep := verify(t, d)
			wantProblem(t, rep, c.item, c.what)
		})
	}
}

// Every byte of the manifest is checked: a flipped bit anywhere in it
// fails verification (here at 400 places spread through it).
func TestManifestEveryByte(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	f := bundletest.StandardCase(t)
	f.LogAll()
	dir, _ := write(t, f.Src)
	path := filepath.Join(dir, bundle.ManifestName)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := copyDir(t, dir)
	step := max(1, len(orig)/400)
	for at := 0; at < len(orig); at += step {
		b := bytes.Clone(orig)
		b[at] ^= 0x01
		if err := os.WriteFile(filepath.Join(d, bundle.ManifestName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, d); rep.OK() {
			lo, hi := max(0, at-30), min(len(orig), at+30)
			t.Errorf("a flipped bit at byte %d of the manifest went unnoticed: …%s…", at, orig[lo:hi])
		}
	}
}

// A revision by a device the agency never vouched for is written (with a
// warning) and refused by the verifier, by name.
func TestUnvouchedDevice(t *testing.T) {
	f := bundletest.StandardCase(t)
	f.Rogue("rogue-laptop")
	r := f.Add("rogue-laptop", record.KindNote, &record.Note{Kind: "visit", Date: "2026-03-09", Text: "A note nobody can vouch for."})
	f.LogAll()
	dir, res := write(t, f.Src)
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "rogue-laptop") {
		t.Errorf("warnings %q, want one naming the rogue device", res.Warnings)
	}
	rep := verify(t, dir)
	wantProblem(t, rep, "note "+r.RecordID, "written by device rogue-laptop, which no agency-signed statement in the bundle vouches for")
	if len(rep.Problems) != 1 {
		t.Errorf("problems %q, want just the one", rep.Problems)
	}
}

// A revoked laptop's writes after its cut-off are refused; those before
// it stand.
func TestRevokedDevice(t *testing.T) {
	f := bundletest.StandardCase(t)
	before := f.Add("ada-laptop", record.KindNote, &record.Note{Kind: "visit", Date: "2026-03-10", Text: "Before the laptop was lost."})
	f.Src.Statements = append(f.Src.Statements, f.Agency.Sign(trust.Statement{Kind: trust.KindRevoke, Device: "ada-laptop", AfterSeq: before.Seq, Reason: "stolen"}))
	after := f.Add("ada-laptop", record.KindNote, &record.Note{Kind: "visit", Date: "2026-03-11", Text: "Written with the stolen laptop."})
	dir, _ := write(t, f.Src)
	rep := verify(t, dir)
	wantProblem(t, rep, "note "+after.RecordID, "after it was revoked")
	for _, p := range rep.Problems {
		if strings.Contains(p.Item, before.RecordID) {
			t.Errorf("a write before the revocation was refused: %v", p)
		}
	}
	if m := manifest(t, dir); !strings.Contains(fmt.Sprint(statementKinds(m)), "revocation") {
		t.Errorf("the revocation is not in the manifest's statements: %v", statementKinds(m))
	}
}

func statementKinds(m *bundle.Manifest) []string {
	var out []string
	for _, s := range m.Statements {
		st, _ := s.Open()
		out = append(out, st.Kind.String())
	}
	return out
}

// Without log evidence a bundle still verifies, saying so; RequireLog
// refuses it.
func TestNoEvidence(t *testing.T) {
	f := bundletest.StandardCase(t)
	dir, res := write(t, f.Src)
	if res.Logged != 0 {
		t.Errorf("logged %d", res.Logged)
	}
	rep := verify(t, dir)
	if !rep.OK() {
		t.Fatalf("problems: %q", rep.Problems)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "no evidence from the case server's log") {
		t.Errorf("notes %q", rep.Notes)
	}
	rep, err := bundle.Verify(context.Background(), dir, bundle.VerifyOptions{RequireLog: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Error("RequireLog passed a bundle without log evidence")
	}
}

// Evidence that does not check is left out with a warning, never written
// for the verifier to trip on.
func TestBadEvidenceLeftOut(t *testing.T) {
	f := bundletest.StandardCase(t)
	f.LogAll()
	bad := f.Src.Records[1].Rev.Rev
	le := f.Src.Evidence.Entries[bad]
	le.Index++
	f.Src.Evidence.Entries[bad] = le
	dir, res := write(t, f.Src)
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "inclusion proof does not hold") {
		t.Errorf("warnings %q", res.Warnings)
	}
	if rep := verify(t, dir); !rep.OK() {
		t.Errorf("problems %q", rep.Problems)
	}
}

// A date range keeps the records of the range, and the case summary.
func TestDateRange(t *testing.T) {
	f := bundletest.StandardCase(t)
	f.Src.From, f.Src.To = "2026-03-05", "2026-03-06"
	dir, _ := write(t, f.Src)
	m := manifest(t, dir)
	var kinds []string
	for _, e := range m.Records {
		kinds = append(kinds, string(e.Kind))
	}
	if got, want := strings.Join(kinds, ","), "case,note"; got != want {
		t.Errorf("records in range: %s, want %s", got, want)
	}
	if len(m.Deletions) != 0 {
		t.Errorf("a deletion outside the range was kept")
	}
	if rep := verify(t, dir); !rep.OK() {
		t.Errorf("problems %q", rep.Problems)
	}
}

// Past the page limit the bundle is still made, and says so.
func TestPageLimit(t *testing.T) {
	f := bundletest.StandardCase(t)
	dir := filepath.Join(t.TempDir(), "b")
	res, err := bundle.Write(context.Background(), dir, f.Src, bundle.Options{MaxPages: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OverLimit || res.Pages <= 3 {
		t.Errorf("%d pages, over the limit of 3: %v", res.Pages, res.OverLimit)
	}
	readme, _ := os.ReadFile(filepath.Join(dir, bundle.ReadmeName))
	if !strings.Contains(string(readme), "more than the 3 that Practice Direction 27A allows") {
		t.Errorf("README.txt does not warn of the page limit:\n%s", readme)
	}
}

// Write refuses a directory that holds anything, and leaves nothing behind
// when it fails.
func TestWriteRefusesNonEmpty(t *testing.T) {
	f := bundletest.StandardCase(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "b")
	os.Mkdir(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o600)
	if _, err := bundle.Write(context.Background(), dir, f.Src, bundle.Options{}); err == nil {
		t.Fatal("wrote into a non-empty directory")
	}
	f.Src.Audio = func(context.Context, bundle.Record, io.Writer) error { return fmt.Errorf("disk full") }
	dir2 := filepath.Join(parent, "c")
	if _, err := bundle.Write(context.Background(), dir2, f.Src, bundle.Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v, want disk full", err)
	}
	ents, _ := os.ReadDir(parent)
	if len(ents) != 1 {
		t.Errorf("a failed write left %d entries beside the bundle", len(ents)-1)
	}
}

// The format is pinned: a manifest written when it was defined still
// parses, and re-encodes to the very same bytes.
func TestManifestKnownAnswer(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "manifest-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := bundle.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Records) != 10 || len(m.Deletions) != 1 || len(m.Statements) != 10 || m.Log == nil || m.Records[0].Log.Receipt == nil {
		t.Errorf("the known manifest reads as %d records, %d deletions, %d statements", len(m.Records), len(m.Deletions), len(m.Statements))
	}
	again, err := m.Marshal()
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("the known manifest re-encodes differently (%v)", err)
	}
}

// A note that quotes a revision reference or a page number, line by line
// as the PDF shows references, is read as the note's text, not as one.
func TestNoteQuotingReferences(t *testing.T) {
	f := bundletest.StandardCase(t)
	other := f.Src.Records[2].Rev.Rev.String()
	f.Add("ada-laptop", record.KindNote, &record.Note{Kind: "visit", Date: "2026-03-12",
		Text: "The verifier said:\nRevision " + other + "\nPage B9\nRevision " + strings.Repeat("ab", 32)})
	dir, _ := write(t, f.Src)
	if rep := verify(t, dir); !rep.OK() {
		t.Errorf("problems %q", rep.Problems)
	}
}
