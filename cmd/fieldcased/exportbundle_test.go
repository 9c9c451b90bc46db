package main

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/bundle/bundletest"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/opustools"
	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/transparency"
)

// loggedStore is a store that keeps a transparency log, as the server's
// will: here a real tlog tree in memory over the store's revisions.
type loggedStore struct {
	server.Store
	log *bundletest.Log
}

func (s loggedStore) LogKey() (*transparency.LogKey, error) { return s.log.Key, nil }

func (s loggedStore) LogCheckpoint(context.Context) (transparency.Signed, error) {
	_, signed, err := s.log.Checkpoint()
	return signed, err
}

func (s loggedStore) LogIndex(_ context.Context, rev record.RevID) (int64, time.Time, bool, error) {
	i, at, ok := s.log.Index(rev)
	return i, at, ok, nil
}

func (s loggedStore) ProveInclusion(_ context.Context, n, index int64) (transparency.Proof, error) {
	return s.log.Prove(n, index)
}

var _ serverLog = loggedStore{}

// setRecovery makes the agency recovery identity and installs its
// recipient, as an administrator does before laptops make cases.
func setRecovery(t *testing.T, s *syncharness.Server) string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "recovery.key")
	for _, line := range strings.Split(s.Admin("recovery", "new", "--out", keyFile), "\n") {
		if strings.HasPrefix(line, "age1pq1") {
			s.Admin("recovery", "set", strings.TrimSpace(line))
			return keyFile
		}
	}
	t.Fatal("recovery new printed no recipient")
	return ""
}

// dictate records d of a voice-like signal into a case, through libopus
// and the vault, as the recorder would without a microphone.
func dictate(t *testing.T, v *syncharness.Device, caseID string, d time.Duration) *dictation.Recording {
	t.Helper()
	r, err := dictation.New(v.V, caseID, record.Recording{Title: "Report to court", WorkType: "court report"})
	if err != nil {
		t.Fatal(err)
	}
	id, sink, err := r.StartTake(dictation.Append, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := audio.NewEncoder(id, sink)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, int(d.Seconds()*audio.SampleRate))
	for i := range pcm {
		f := 300 + 200*math.Sin(2*math.Pi*float64(i)/audio.SampleRate*3)
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*f*float64(i)/audio.SampleRate))
	}
	ctx := context.Background()
	if err := enc.Write(ctx, pcm); err != nil {
		t.Fatal(err)
	}
	take, err := enc.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.FinishTake(take); err != nil {
		t.Fatal(err)
	}
	return r
}

// The recovery export makes the same bundle offline, from a backup of the
// server's store with the recovery identity: through the binary (the store
// keeps no log yet: the bundle says so and verifies), and with the
// server's log (a real tree over the store's revisions), every revision
// proved with a receipt the log's key signs.
func TestExportBundle(t *testing.T) {
	opustools.Tool(t, "opusinfo")
	s := syncharness.StartServer(t)
	keyFile := setRecovery(t, s)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	a1, err := ada.V.CreateCase(record.Case{Ref: "A-1", Subject: "Amélie Núñez"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []record.Note{
		{Kind: "visit", Date: "2026-03-04", Text: "Visited at home with Łucja."},
		{Kind: "phone", Date: "2026-03-05", Text: "Spoke to the school."},
	} {
		if _, err := ada.V.AddNote(a1, n); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := ada.V.AddNote(a1, record.Note{Kind: "visit", Date: "2026-03-06", Text: "Wrong case."})
	if err != nil {
		t.Fatal(err)
	}
	if err := ada.V.Delete(a1, gone); err != nil {
		t.Fatal(err)
	}
	dictate(t, ada, a1, 3*time.Second)
	ada.MustSync()
	ada.MustSync()
	backup := filepath.Join(t.TempDir(), "backup.db")
	s.Admin("backup", "--out", backup)

	out := filepath.Join(t.TempDir(), "export")
	if b, err := exec.Command(binary, "export", "--identity", keyFile, "--case", "A-1", "--out", out, "--from", backup, "--bundle").CombinedOutput(); err != nil {
		t.Fatalf("export --bundle: %v\n%s", err, b)
	}
	dir := filepath.Join(out, "A-1")
	rep, err := bundle.Verify(context.Background(), dir, bundle.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || !strings.Contains(strings.Join(rep.Notes, "\n"), "no evidence from the case server's log") {
		t.Fatalf("problems %q, notes %q", rep.Problems, rep.Notes)
	}
	m := manifestOf(t, dir)
	var ogg string
	kinds := map[record.Kind]int{}
	for _, e := range m.Records {
		kinds[e.Kind]++
		if e.File != "" {
			ogg = filepath.Join(dir, filepath.FromSlash(e.File))
		}
	}
	if kinds[record.KindNote] != 2 || kinds[record.KindRecording] != 1 || len(m.Deletions) != 1 || ogg == "" {
		t.Errorf("records %v, %d deletions, audio %q", kinds, len(m.Deletions), ogg)
	}
	if got := opustools.PlaybackLength(t, ogg); (got - 3*time.Second).Abs() > 100*time.Millisecond {
		t.Errorf("the recording plays %v, want about 3 s", got)
	}

	// With the server's log.
	st, err := boltstore.Open(backup, boltstore.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := readRecoveryIdentity(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := bundletest.NewLog("server-under-test")
	if err != nil {
		t.Fatal(err)
	}
	var ce *caseExport
	var bs bundleSource
	err = st.View(context.Background(), func(tx server.Tx) error {
		sc, err := tx.Case(a1)
		if err != nil {
			return err
		}
		if ce, err = readCase(tx, id, sc); err != nil {
			return err
		}
		meta, err := tx.Meta()
		if err != nil {
			return err
		}
		statements, err := tx.Statements()
		bs = bundleSource{agency: meta.Agency, statements: statements, producer: "the test's recovery export"}
		// The server logs every revision it stores, in the order it did.
		revs, err := tx.CaseRevisions(a1)
		for _, rid := range revs {
			r, err := tx.Revision(rid)
			if err != nil {
				return err
			}
			if err := lg.AppendRevisions(r); err != nil {
				return err
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	logged := filepath.Join(t.TempDir(), "logged")
	res, err := ce.writeBundle(context.Background(), loggedStore{st, lg}, logged, bs)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = bundle.Verify(context.Background(), logged, bundle.VerifyOptions{RequireLog: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Logged != rep.Records || rep.Receipts != rep.Records || res.Recordings != 1 {
		t.Errorf("problems %q; %d of %d revisions logged, %d receipts; %d recordings", rep.Problems, rep.Logged, rep.Records, rep.Receipts, res.Recordings)
	}
}

func manifestOf(t *testing.T, dir string) *bundle.Manifest {
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
