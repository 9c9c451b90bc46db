package client_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
)

// A team on a real server: three caseworkers, a supervisor and a typist.
// A case is reassigned (the new worker reads its history; the old one can't
// read what is written after), a dictation goes to the typist and comes
// back transcribed, and the audit trail holds together.
func TestTeamScenario(t *testing.T) {
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	bob := s.NewDevice("bob", s.URL, "bob", "caseworker", "north")
	cat := s.NewDevice("cat", s.URL, "cat", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	tia := s.NewDevice("tia", s.URL, "tia", "typist", "north")
	all := []*syncharness.Device{ada, bob, cat, sam, tia}
	syncAll := func() {
		for range 2 {
			for _, d := range all {
				d.MustSync()
			}
		}
	}
	a1 := newCase(t, ada, "A-1")
	addNote(t, ada, a1, "ada's first visit")
	newCase(t, ada, "A-2")
	newCase(t, bob, "B-1")
	c1 := newCase(t, cat, "C-1")
	syncAll()

	ctx := context.Background()
	tv, err := sam.Syncer.Team(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tv.Users) != 5 || len(tv.Cases) != 4 {
		t.Fatalf("team view: %d users, %d cases", len(tv.Users), len(tv.Cases))
	}
	if readable, _ := refs(t, sam); len(readable) != 4 {
		t.Errorf("supervisor reads %v", readable)
	}

	// Reassign A-1 from ada to bob.
	if _, err := sam.Syncer.Assign(ctx, a1, []string{"bob"}, []string{"ada"}); err != nil {
		t.Fatal(err)
	}
	syncAll()
	// Ada's laptop no longer holds A-1 (everything of it is on the
	// server, and with bob): it says where it went.
	if readable, _ := refs(t, ada); slices.Contains(readable, "A-1") {
		t.Errorf("ada's laptop still holds A-1 after its reassignment: %v", readable)
	}
	if gone, err := ada.V.RemovedCases(); err != nil || len(gone) != 1 || gone[0].Ref != "A-1" || gone[0].ToText() != "bob" {
		t.Errorf("ada's tombstones: %+v, %v", gone, err)
	}
	if readable, _ := refs(t, bob); !slices.Contains(readable, "A-1") {
		t.Fatalf("bob does not read A-1 after reassignment: %v", readable)
	}
	bob.V.LoadAll(ctx)
	if n, _ := bob.V.Notes(a1); len(n) != 1 || n[0].Value.Text != "ada's first visit" {
		t.Errorf("bob lacks A-1's history: %+v", n)
	}
	after := addNote(t, bob, a1, "bob's visit, after the reassignment")
	bob.MustSync()
	ada.MustSync()
	if _, err := ada.V.Note(after); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ada, removed, received bob's new note: %v", err)
	}
	// Even holding the revision (say, from a stolen backup of the server),
	// her keys do not open it: it is sealed under the rotated key.
	cannotOpen(t, bob, ada, after)

	// Dictation: cat records and submits; the typist types it up.
	r := dictate(t, cat, c1, 6*time.Second)
	if err := r.SetStatus("submitted"); err != nil {
		t.Fatal(err)
	}
	cat.MustSync()
	tia.MustSync()
	rec, err := dictation.Open(tia.V, r.ID)
	if err != nil {
		t.Fatalf("the typist cannot open the submitted dictation: %v", err)
	}
	if missing, _ := tia.V.MissingChunks(0); len(missing) != 0 {
		t.Errorf("the typist lacks %d chunks", len(missing))
	}
	transcript, err := tia.V.AddNote(c1, record.Note{Kind: "court", Text: "Transcript: the guardian recommends contact continues."})
	if err != nil {
		t.Fatal(err)
	}
	rec.Meta.Transcript = transcript
	if err := rec.SetStatus("transcribed"); err != nil {
		t.Fatal(err)
	}
	tia.MustSync()
	cat.MustSync() // sees it transcribed; closes the case to typists again
	recs, _ := cat.V.Recordings(c1)
	if len(recs) != 1 || recs[0].Value.Status != "transcribed" || recs[0].Value.Transcript != transcript {
		t.Fatalf("cat's recording: %+v", recs)
	}
	cat.V.LoadAll(ctx)
	if n, err := cat.V.Note(transcript); err != nil || n.Value.Kind != "court" {
		t.Errorf("the transcript did not reach cat: %v", err)
	}
	tia.MustSync()
	addNote(t, tia, c1, "a typist writing after the case was closed to her")
	if sum := tia.MustSync(); sum.Rejected != 1 {
		t.Errorf("closed case: %d refused, want 1", sum.Rejected)
	}

	// The supervisor holds everyone's audit events; the chains verify.
	syncAll()
	keys := map[string]ed25519.PublicKey{}
	if r, _ := ada.V.Identity(); r != nil {
		keys[ada.V.DeviceID()] = r.SigningPublicKey()
	}
	if r, _ := sam.V.Identity(); r != nil {
		keys[sam.V.DeviceID()] = r.SigningPublicKey()
	}
	problems, n, err := sam.V.VerifyAudit(keys)
	if err != nil || len(problems) != 0 || n == 0 {
		t.Errorf("audit: %d events, problems %v, %v", n, problems, err)
	}
	events, _ := sam.V.AuditEvents(a1)
	actions := map[string]bool{}
	for _, e := range events {
		actions[e.Action] = true
	}
	for _, want := range []string{record.AuditMemberAdd, record.AuditMemberRemove, record.AuditKeyRotate} {
		if !actions[want] {
			t.Errorf("A-1's history lacks %s: %+v", want, events)
		}
	}
}

// The agency recovery identity decrypts the team's cases offline, across a
// key rotation, and nothing else does.
func TestRecoveryExport(t *testing.T) {
	s := syncharness.StartServer(t)
	keyFile := setRecovery(t, s)

	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	bob := s.NewDevice("bob", s.URL, "bob", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	a1 := newCase(t, ada, "A-1")
	addNote(t, ada, a1, "ada's visit before the reassignment")
	newCase(t, bob, "B-1")
	for _, d := range []*syncharness.Device{ada, bob, sam, ada, bob, sam} {
		d.MustSync()
	}
	if _, err := sam.Syncer.Assign(context.Background(), a1, []string{"bob"}, []string{"ada"}); err != nil {
		t.Fatal(err)
	}
	bob.MustSync()
	addNote(t, bob, a1, "bob's visit after the rotation")
	bob.MustSync()

	export := func(args ...string) (string, error) { return recoveryExport(s, args...) }
	// The running server's file is locked: export from a backup.
	if out, err := export("--identity", keyFile, "--all", "--out", filepath.Join(t.TempDir(), "x"), "--data", s.Dir); err == nil || !strings.Contains(out, "backup") {
		t.Errorf("export from a running server's data dir: err=%v\n%s", err, out)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	s.Admin("backup", "--out", backup)

	dir := filepath.Join(t.TempDir(), "export")
	if out, err := export("--identity", keyFile, "--all", "--out", dir, "--from", backup); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	md, err := os.ReadFile(filepath.Join(dir, "A-1", "case.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ada's visit before the reassignment", "bob's visit after the rotation"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("A-1/case.md lacks %q:\n%s", want, md)
		}
	}
	var index struct {
		Cases []struct {
			Ref        string `json:"ref"`
			Unreadable int    `json:"unreadable_records"`
		} `json:"cases"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "index.json")); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &index); err != nil {
		t.Fatalf("index.json: %v\n%s", err, b)
	}
	if len(index.Cases) != 2 || index.Cases[0].Unreadable+index.Cases[1].Unreadable != 0 {
		t.Errorf("index.json: %+v, want 2 cases wholly readable", index.Cases)
	}
	if fi, err := os.Stat(filepath.Join(dir, "A-1", "case.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("case.json: %v %v", fi.Mode(), err)
	}

	// Into a non-empty directory: refused, nothing overwritten.
	if out, err := export("--identity", keyFile, "--case", "B-1", "--out", dir, "--from", backup); err == nil {
		t.Errorf("export into a non-empty directory succeeded:\n%s", out)
	}
	// Another identity opens nothing.
	other := filepath.Join(t.TempDir(), "other.key")
	s.Admin("recovery", "new", "--out", other)
	out, err := export("--identity", other, "--all", "--out", filepath.Join(t.TempDir(), "y"), "--from", backup)
	if err == nil || !strings.Contains(out, "opens none") {
		t.Errorf("export with a foreign identity: err=%v\n%s", err, out)
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Errorf("stack trace shown:\n%s", out)
	}
	// Without the identity: refused.
	if out, err := export("--all", "--out", filepath.Join(t.TempDir(), "z"), "--from", backup); err == nil {
		t.Errorf("export without --identity succeeded:\n%s", out)
	}
}

// setRecovery makes an agency recovery identity, sets its recipient on the
// server, and returns the identity's file.
func setRecovery(t *testing.T, s *syncharness.Server) string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "recovery.key")
	recipient := ""
	for _, line := range strings.Split(s.Admin("recovery", "new", "--out", keyFile), "\n") {
		if strings.HasPrefix(line, "age1pq1") {
			recipient = strings.TrimSpace(line)
		}
	}
	if recipient == "" {
		t.Fatal("recovery new printed no recipient")
	}
	s.Admin("recovery", "set", recipient)
	return keyFile
}

// recoveryExport runs 'fieldcased export' with args.
func recoveryExport(s *syncharness.Server, args ...string) (string, error) {
	out, err := exec.Command(s.Binary(), append([]string{"export"}, args...)...).CombinedOutput()
	return string(out), err
}

// A reassignment interrupted after the server's change but before the key
// rotation (the supervisor's laptop died) is completed by the next sync:
// the removed member cannot read what is written afterwards.
func TestInterruptedReassignmentCompletes(t *testing.T) {
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	bob := s.NewDevice("bob", s.URL, "bob", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	a1 := newCase(t, ada, "A-1")
	addNote(t, ada, a1, "ada's visit")
	for _, d := range []*syncharness.Device{ada, bob, sam, ada, bob, sam} {
		d.MustSync()
	}

	undo := client.SetTestHookAfterSetMembers(func() error { return errors.New("laptop died") })
	if _, err := sam.Syncer.Assign(context.Background(), a1, []string{"bob"}, []string{"ada"}); err == nil {
		t.Fatal("the interrupted Assign reported success")
	}
	undo()
	rotations := func() int {
		events, err := sam.V.AuditEvents(a1)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range events {
			if e.Action == record.AuditKeyRotate {
				n++
			}
		}
		return n
	}
	if n := rotations(); n != 0 {
		t.Fatalf("%d rotations before the next sync, want 0", n)
	}
	sam.MustSync() // completes the rotation
	if n := rotations(); n != 1 {
		t.Fatalf("%d rotations after the next sync, want 1", n)
	}
	sam.MustSync()
	if n := rotations(); n != 1 {
		t.Errorf("%d rotations after another sync, want still 1", n)
	}

	bob.MustSync()
	after := addNote(t, bob, a1, "bob's visit after the reassignment")
	bob.MustSync()
	ada.MustSync()
	cannotOpen(t, bob, ada, after)
}

// cannotOpen hands reader the revisions of note noteID that writer holds
// (as a stolen copy of the server would) and checks reader's keys do not
// open them.
func cannotOpen(t *testing.T, writer, reader *syncharness.Device, noteID string) {
	t.Helper()
	var written []*record.Revision
	var caseID string
	writer.V.AllRevisions(func(r *record.Revision) error {
		if r.RecordID == noteID {
			caseID = r.CaseID
		}
		return nil
	})
	// The note's revisions, and the case's signed keyrings (the reader's
	// vault checks the note against them): everything but a key it can use.
	writer.V.AllRevisions(func(r *record.Revision) error {
		if r.RecordID == noteID || (r.CaseID == caseID && r.Kind == record.KindKeyring) {
			c := *r
			c.Body = append([]byte(nil), r.Body...)
			written = append(written, &c)
		}
		return nil
	})
	if len(written) == 0 {
		t.Fatalf("%s holds no revision of note %s", writer.Name, noteID)
	}
	if res, err := reader.V.ApplyPage(written, "", 0); err != nil || res.Quarantined > 0 {
		q, _ := reader.V.Quarantine()
		t.Fatalf("ApplyPage = %+v, %v; quarantine %+v", res, err, q)
	}
	reader.V.LoadAll(context.Background())
	if n, err := reader.V.Note(noteID); err != nil || !n.Sealed {
		t.Errorf("%s opens a note written after their removal: sealed=%v err=%v", reader.Name, n.Sealed, err)
	}
}
