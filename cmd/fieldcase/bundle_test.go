package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/bundle/bundletest"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/opustools"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// enrolledVault makes a vault at path whose laptop the agency enrolled,
// as a server's enrolment would leave it (without a server): the agency
// signs the team, the user and a grant; the code's key signs the device
// statement; the vault pins the agency key and keeps the statements.
func enrolledVault(t testing.TB, path, pass string) (*store.Vault, *trust.AgencyKey) {
	t.Helper()
	v := storetest.Create(t, path, pass, store.Profile{Name: "Ada Lovelace", UserID: "ada", Team: "north", Role: trust.RoleCaseworker}, store.Options{})
	ak, err := trust.GenerateAgencyKey()
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Identity()
	if err != nil {
		t.Fatal(err)
	}
	c := trust.NewCode(ak.Public())
	now := time.Now()
	statements := []trust.Signed{
		ak.Sign(trust.Statement{Kind: trust.KindTeam, Team: "north", Name: "North", Issued: now}),
		ak.Sign(trust.Statement{Kind: trust.KindUser, User: "ada", Name: "Ada Lovelace", Role: trust.RoleCaseworker, Team: "north", Version: 1, Issued: now}),
		ak.Sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: "ada", Key: c.Key().Public().(ed25519.PublicKey), Expires: now.Add(time.Hour), Issued: now}),
		trust.SignWithCode(c, trust.Statement{Kind: trust.KindDevice, Device: v.DeviceID(), Name: "Ada's ThinkPad", Recipient: id.Recipient(),
			Key: id.SigningPublicKey(), Grant: c.GrantID(), Issued: now}),
	}
	if err := v.PinAgency(ak.Public()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddStatements(statements); err != nil {
		t.Fatal(err)
	}
	return v, ak
}

// speech is d of a signal that moves like a voice (a gliding tone whose
// loudness rises and falls), as 16 kHz PCM: real audio for the real Opus
// encoder, without a microphone.
func speech(d time.Duration) []int16 {
	n := int(d.Seconds() * audio.SampleRate)
	pcm := make([]int16, n)
	phase := 0.0
	for i := range pcm {
		t := float64(i) / audio.SampleRate
		phase += 2 * math.Pi * (180 + 60*math.Sin(2*math.Pi*0.7*t)) / audio.SampleRate
		amp := 6000 * (0.55 + 0.45*math.Sin(2*math.Pi*2.3*t))
		pcm[i] = int16(amp * (math.Sin(phase) + 0.3*math.Sin(3*phase)))
	}
	return pcm
}

// realCase fills a case as a caseworker would: notes (with names in other
// scripts), a consent, a visit, a dictated recording typed up as a
// transcript, a deleted note, and its access history.
func realCase(t *testing.T, v *store.Vault) (caseID string, rec *dictation.Recording) {
	t.Helper()
	ctx := context.Background()
	caseID, err := v.CreateCase(record.Case{Ref: "GAL-2026-0142", Subject: "Amélie Núñez", DOB: "2015-04-01", Address: "4 Kiln Lane, Ashbury",
		Opened: "2026-01-05", Summary: "Referred by the school nurse.", People: []record.Person{{Name: "Łucja Núñez", Role: "mother"}, {Name: "Йосип Кравець", Role: "father"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []record.Note{
		{Kind: "visit", Date: "2026-03-04", Time: "14:00", Place: "Home", Attendees: []string{"Amélie", "Łucja"}, Text: "Visited at home. Amélie said she felt safe; Łucja was calm."},
		{Kind: "phone", Date: "2026-03-05", Text: "Spoke to Mr Кравець about contact."},
		{Kind: "court", Date: "2026-03-09", Text: "Directions hearing: report due in four weeks."},
	} {
		if _, err := v.AddNote(caseID, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.AddConsent(caseID, record.Consent{Person: "Łucja Núñez", Scope: []string{"health", "school"}, Decision: "given", Date: "2026-03-04"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddTask(caseID, record.Task{Title: "Home visit", Kind: "visit", Due: "2026-03-18"}); err != nil {
		t.Fatal(err)
	}
	wrong, err := v.AddNote(caseID, record.Note{Kind: "visit", Date: "2026-03-06", Text: "Written in the wrong case."})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Delete(caseID, wrong); err != nil {
		t.Fatal(err)
	}
	rec, err = dictation.New(v, caseID, record.Recording{Title: "Report to court", WorkType: "court report"})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.AppendPCM(ctx, speech(6*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := rec.SetStatus("submitted"); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Transcribe("The child told me she wants to stay with her grandmother, Zoë."); err != nil {
		t.Fatal(err)
	}
	if err := v.Audit(caseID, record.AuditOpen, ""); err != nil {
		t.Fatal(err)
	}
	return caseID, rec
}

// logCase logs every revision of the case in a real log (after entries of
// other cases), and returns the evidence against its checkpoint, cosigned
// by the laptop as a witness.
func logCase(t testing.TB, v *store.Vault, caseID string) (*bundletest.Log, evidenceFunc) {
	t.Helper()
	lg, err := bundletest.NewLog("cases.agency.test")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		var other record.RevID
		rand.Read(other[:])
		lg.Append(transparency.Entry{Kind: transparency.KindRevision, Rev: other, CaseID: "OTHER", Device: "D", Seq: uint64(i + 1)})
	}
	var revs []*record.Revision
	err = v.AllRevisions(func(r *record.Revision) error {
		if r.CaseID == caseID {
			b, _ := r.MarshalBinary()
			c, _, err := record.UnmarshalRevision(b)
			revs = append(revs, c)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.AppendRevisions(revs...); err != nil {
		t.Fatal(err)
	}
	ev, err := lg.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Identity()
	if err != nil {
		t.Fatal(err)
	}
	w, err := transparency.WitnessSigner(v.DeviceID(), id.SigningPublicKey(), id.Sign)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Checkpoint, err = transparency.Cosign(ev.Checkpoint, w); err != nil {
		t.Fatal(err)
	}
	return lg, func(string, []record.RevID) (*bundle.Evidence, error) { return ev, nil }
}

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (apt-get install poppler-utils)", name)
		}
		t.Skipf("%s not installed (apt-get install poppler-utils)", name)
	}
	return p
}

// verifierBinary builds fieldcase-verify as a court's expert would:
// without cgo.
func verifierBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fieldcase-verify")
	cmd := exec.Command("go", "build", "-o", bin, "../fieldcase-verify")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/fieldcase-verify: %v\n%s", err, out)
	}
	return bin
}

// A real case, from a real vault — notes, a consent, a visit, a recording
// encoded by libopus from a voice-like signal and typed up, a deletion, the
// access history — with log evidence from a real tlog tree, a checkpoint
// signed by a log key made now and cosigned by the laptop: the bundle opens
// in poppler with its index and page labels, its recording passes opusinfo
// and decodes to what 'fieldcase recording export' gives, and both
// 'fieldcase verify-bundle' and the standalone fieldcase-verify pass it.
// Then each way of tampering with it fails, naming the item.
func TestBundleRealCase(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	pdfinfo, pdftotext := tool(t, "pdfinfo"), tool(t, "pdftotext")
	opustools.Tool(t, "opusinfo")
	opustools.Tool(t, "opusdec")
	ctx := context.Background()
	pass := secret(t)
	vaultPath := filepath.Join(t.TempDir(), "v.db")
	v, _ := enrolledVault(t, vaultPath, pass)
	caseID, rec := realCase(t, v)
	lg, evidence := logCase(t, v, caseID)
	cv, err := v.Case(caseID)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	res, rep, err := makeBundle(ctx, i18n.English(), v, cv, dir, "", "", evidence)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("the bundle does not verify: %q", rep.Problems)
	}
	// case, 3 notes, the transcript, a consent, a task, the recording,
	// 3 audit events (export of nothing yet: transcribe, open… as written),
	// and the tombstone; every one logged, with a receipt.
	if res.Records != res.Logged || res.Receipts != res.Records || res.Recordings != 1 || len(res.Warnings) > 0 {
		t.Errorf("result %+v", res)
	}
	if len(rep.Witnesses) != 1 || rep.Witnesses[0] != "Ada Lovelace" {
		t.Errorf("witnesses %q, want Ada Lovelace", rep.Witnesses)
	}
	m := readManifest(t, dir)
	kinds := map[record.Kind]int{}
	for _, e := range m.Records {
		kinds[e.Kind]++
	}
	if kinds[record.KindCase] != 1 || kinds[record.KindNote] != 4 || kinds[record.KindConsent] != 1 || kinds[record.KindTask] != 1 ||
		kinds[record.KindRecording] != 1 || kinds[record.KindAudit] < 2 || len(m.Deletions) != 1 {
		t.Errorf("records by kind %v, %d deletions", kinds, len(m.Deletions))
	}

	// poppler opens it: A4, the page count the writer reports, the index
	// and the page labels as text, names as written.
	out, err := exec.Command(pdfinfo, filepath.Join(dir, bundle.PDFName)).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^Pages:\s+`+strconv.Itoa(res.Pages)+`$`).Match(out) || !bytes.Contains(out, []byte("(A4)")) {
		t.Errorf("pdfinfo:\n%s", out)
	}
	txt, err := exec.Command(pdftotext, "-layout", filepath.Join(dir, bundle.PDFName), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, txt)
	}
	for _, want := range []string{"Index", "A. Preliminary documents", "B. Chronology", "C. Consent decisions", "D. Transcripts of recordings",
		"E. Recordings", "F. Evidence of integrity", "Page i", "Page A1", "Page B1", "Page F1", "Amélie Núñez", "Йосип Кравець",
		"Written by Ada Lovelace (caseworker)", "Visit note, 2026-03-04 14:00", "Łucja Núñez: consent given", "grandmother, Zoë",
		"Transcript of “Report to court”", "Deleted records", "Revision " + m.Records[0].Rev} {
		if !bytes.Contains(txt, []byte(want)) {
			t.Errorf("pdftotext shows no %q", want)
		}
	}

	// The recording: a valid Ogg Opus file, as 'fieldcase recording
	// export' writes it (the same packets: the same samples decoded).
	var ogg string
	for _, e := range m.Records {
		if e.File != "" {
			ogg = filepath.Join(dir, filepath.FromSlash(e.File))
		}
	}
	if got := opustools.PlaybackLength(t, ogg); (got - 6*time.Second).Abs() > 100*time.Millisecond {
		t.Errorf("the bundle's recording plays %v, want about 6 s", got)
	}
	var own bytes.Buffer
	if err := rec.ExportOgg(ctx, &own); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(t.TempDir(), "mine.ogg")
	os.WriteFile(mine, own.Bytes(), 0o600)
	if got, want := opustools.DecodeWAV(t, ogg), opustools.DecodeWAV(t, mine); len(got) < 5*16000*2 || !bytes.Equal(got, want) {
		t.Errorf("the bundle's recording decodes to %d bytes, the member's export to %d, and they differ", len(got), len(want))
	}

	// Both verifiers pass it, from its files alone.
	v.Close()
	env := []string{"FIELDCASE_VAULT=" + vaultPath, "FIELDCASE_PASSPHRASE=" + pass}
	if stdout, stderr, code := fc(t, env, "", "verify-bundle", dir); code != 0 || !strings.Contains(stdout, "the bundle verifies") {
		t.Fatalf("fieldcase verify-bundle: exit %d\n%s%s", code, stdout, stderr)
	}
	verifier := verifierBinary(t)
	if out, err := exec.Command(verifier, "--require-log", dir).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("cosigned by Ada Lovelace")) {
		t.Fatalf("fieldcase-verify: %v\n%s", err, out)
	}

	// A revision of a laptop the agency never vouched for, shown in the
	// PDF like any other.
	v2 := storetest.Open(t, vaultPath, store.Options{})
	if err := v2.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	src, _, err := caseSource(i18n.English(), v2, cv, "", "", evidence)
	v2.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, rogueKey, _ := ed25519.GenerateKey(rand.Reader)
	rogue := &record.Revision{RecordID: record.NewID(), Kind: record.KindNote, CaseID: caseID, Generation: 1, HLC: record.HLC(uint64(time.Now().UnixMilli()) << 16),
		Device: "rogue-laptop", Seq: 1, Body: []byte("sealed, or so it says")}
	rogue.Seal()
	rogue.Sign(func(m []byte) []byte { return ed25519.Sign(rogueKey, m) })
	src.Audio = nil // the vault is closed; the audio is not what this case is about
	src.Records = append(src.Records, bundle.Record{Rev: rogue, Versions: 1, Value: &record.Note{Kind: "visit", Date: "2026-03-07", Text: "A visit that never happened."}})
	rogueDir := filepath.Join(t.TempDir(), "rogue")
	if _, err := bundle.Write(ctx, rogueDir, src, bundle.Options{}); err != nil {
		t.Fatal(err)
	}

	// Another log's checkpoint, signed by the same key, over a tree that
	// also holds the revisions: each proof is against the wrong tree.
	lg.Append(transparency.Entry{Kind: transparency.KindStatement, Statement: "later"})
	_, later, err := lg.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	first := m.Records[1]
	cases := []struct {
		name       string
		dir        string
		tamper     func(dir string)
		item, what string
	}{
		{"a flipped byte in a PDF page", dir, func(d string) {
			p := filepath.Join(d, bundle.PDFName)
			b, _ := os.ReadFile(p)
			i := bytes.Index(b, []byte("stream\n"))
			b[i+60] ^= 1
			os.WriteFile(p, b, 0o600)
		}, "FAIL  bundle.pdf", "changed since the bundle was made"},
		{"a flipped byte in a recording", dir, func(d string) {
			p := filepath.Join(d, filepath.FromSlash(strings.TrimPrefix(ogg, dir+string(filepath.Separator))))
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o600)
		}, "FAIL  recordings/", "is not the one the manifest lists (the audio of recording " + rec.ID},
		{"a flipped byte in the manifest", dir, func(d string) {
			p := filepath.Join(d, bundle.ManifestName)
			b, _ := os.ReadFile(p)
			r := bytes.Index(b, []byte(`"records": [`))
			i := r + bytes.Index(b[r:], []byte(`"sig": "`)) + 12
			b[i] ^= 1
			os.WriteFile(p, b, 0o600)
		}, "FAIL  case " + m.Records[0].Record, "signature"}, // not its device's, or not base64: which, depends on the byte
		{"a removed file", dir, func(d string) { os.Remove(filepath.Join(d, bundle.ReadmeName)) }, "FAIL  README.txt", "missing"},
		{"a forged signature", dir, func(d string) {
			m := readManifest(t, d)
			rev, _ := record.ParseRevID(m.Records[1].Rev)
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			m.Records[1].Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(k, (&record.Revision{Rev: rev}).SignedMessage()))
			writeManifest(t, d, m)
		}, "FAIL  " + string(first.Kind) + " " + first.Record, "the signature is not device"},
		{"a proof against another checkpoint", dir, func(d string) {
			m := readManifest(t, d)
			m.Log.Checkpoint = base64.StdEncoding.EncodeToString(later)
			writeManifest(t, d, m)
		}, "FAIL  " + string(first.Kind) + " " + first.Record, "the log proof does not hold against the bundle's checkpoint"},
		{"a revision whose device the agency never vouched for", rogueDir, func(string) {},
			"FAIL  note " + rogue.RecordID, "written by device rogue-laptop, which no agency-signed statement in the bundle vouches for"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "b")
			if err := os.CopyFS(d, os.DirFS(c.dir)); err != nil {
				t.Fatal(err)
			}
			c.tamper(d)
			stdout, stderr, code := fc(t, env, "", "verify-bundle", d)
			if code != 1 || !strings.HasPrefix(stderr, "fieldcase: the bundle does not verify") {
				t.Errorf("verify-bundle: exit %d, stderr %q", code, stderr)
			}
			if !containsLine(stdout, c.item, c.what) {
				t.Errorf("verify-bundle names no %q with %q:\n%s", c.item, c.what, stdout)
			}
			out, err := exec.Command(verifier, d).CombinedOutput()
			if err == nil || !containsLine(string(out), c.item, c.what) {
				t.Errorf("fieldcase-verify: %v, names no %q with %q:\n%s", err, c.item, c.what, out)
			}
		})
	}
}

func containsLine(out, item, what string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, item) && strings.Contains(l, what) {
			return true
		}
	}
	return false
}

func readManifest(t *testing.T, dir string) *bundle.Manifest {
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

func writeManifest(t *testing.T, dir string, m *bundle.Manifest) {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestName), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The commands end to end, through the shipped binary: a bundle of an
// enrolled vault (which keeps no log evidence yet: the bundle says so and
// still verifies), and the errors a person can make.
func TestBundleCommand(t *testing.T) {
	t.Parallel() // its own vault and processes: nothing shared
	pass := secret(t)
	vaultPath := filepath.Join(t.TempDir(), "v.db")
	v, _ := enrolledVault(t, vaultPath, pass)
	realCase(t, v)
	v.Close()
	env := []string{"FIELDCASE_VAULT=" + vaultPath, "FIELDCASE_PASSPHRASE=" + pass}
	dir := filepath.Join(t.TempDir(), "bundle")
	stdout, stderr, code := fc(t, env, "", "bundle", "--case", "GAL-2026-0142", "--out", dir)
	if code != 0 || !strings.Contains(stdout, "wrote the court bundle of GAL-2026-0142 to "+dir) || !strings.Contains(stderr, "checked: the bundle verifies") {
		t.Fatalf("bundle: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout, _, code := fc(t, env, "", "verify-bundle", dir); code != 0 || !strings.Contains(stdout, "note  the bundle carries no evidence from the case server's log") {
		t.Errorf("verify-bundle: exit %d\n%s", code, stdout)
	}
	// The bundle is in the case's access history.
	if stdout, _, _ := fc(t, env, "", "audit", "log", "--case", "GAL-2026-0142"); !strings.Contains(stdout, "court bundle written to bundle") {
		t.Errorf("audit log:\n%s", stdout)
	}
	// A range: only March 5th's note, and the summary.
	ranged := filepath.Join(t.TempDir(), "ranged")
	if _, stderr, code := fc(t, env, "", "bundle", "--case", "GAL-2026-0142", "--out", ranged, "--from", "2026-03-05", "--to", "2026-03-05"); code != 0 {
		t.Fatalf("ranged bundle: exit %d\n%s", code, stderr)
	}
	if m := readManifest(t, ranged); len(m.Records) != 2 {
		t.Errorf("a bundle of one day holds %d records, want the case and one note", len(m.Records))
	}

	other := filepath.Join(t.TempDir(), "plain.db")
	pv := storetest.Create(t, other, pass, store.Profile{Name: "Unenrolled"}, store.Options{})
	if _, err := pv.CreateCase(record.Case{Ref: "R-9", Subject: "Someone"}); err != nil {
		t.Fatal(err)
	}
	pv.Close()
	for _, c := range []struct {
		env  []string
		args []string
		err  string
	}{
		{env, []string{"bundle", "--case", "NOPE", "--out", filepath.Join(t.TempDir(), "x")}, "fieldcase: no case \"NOPE\"\nhint: "},
		{env, []string{"bundle", "--case", "GAL-2026-0142", "--out", dir}, "fieldcase: the bundle's directory exists and is not empty: " + dir + "\nhint: write the bundle into a new folder\n"},
		{env, []string{"bundle", "--case", "GAL-2026-0142", "--out", filepath.Join(t.TempDir(), "x"), "--from", "March"}, "fieldcase: --from: invalid record: date \"March\": not a date I can read; try 14/12/2026, 2026-12-14, today, tomorrow, +7d, mon or 14 dec\n"},
		{env, []string{"bundle", "--case", "GAL-2026-0142", "--out", filepath.Join(t.TempDir(), "x"), "--from", "2026-03-05", "--to", "2026-03-01"}, "fieldcase: --to 2026-03-01 is before --from 2026-03-05\nhint: swap them\n"},
		{[]string{"FIELDCASE_VAULT=" + other, "FIELDCASE_PASSPHRASE=" + pass}, []string{"bundle", "--case", "R-9", "--out", filepath.Join(t.TempDir(), "x")},
			"fieldcase: this laptop has no agency key: a bundle's signatures are checked against it\nhint: enrol this laptop"},
		{env, []string{"verify-bundle", filepath.Join(t.TempDir(), "absent")}, "fieldcase: no bundle at "},
	} {
		_, stderr, code := fc(t, c.env, "", c.args...)
		if code != 1 || !strings.HasPrefix(stderr, c.err) {
			t.Errorf("%q: exit %d, stderr %q; want 1, %q", c.args, code, stderr, c.err)
		}
	}
}

// testBundle makes a bundle of a real case, for tests of other commands.
func testBundle(t *testing.T) string {
	t.Helper()
	v, _ := enrolledVault(t, filepath.Join(t.TempDir(), "v.db"), secret(t))
	defer v.Close()
	caseID, _ := realCase(t, v)
	cv, err := v.Case(caseID)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, rep, err := makeBundle(context.Background(), i18n.English(), v, cv, dir, "", "", nil); err != nil || !rep.OK() {
		t.Fatalf("making a bundle: %v, %v", err, rep)
	}
	return dir
}
