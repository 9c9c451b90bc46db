package client_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/record"
)

// A machine draft made on the caseworker's laptop travels sealed with its
// recording: the typist's laptop gets its words and their times, the
// server's files never hold its text, and the typist's correction
// (transcribed, by whom, from the draft) is applied on every device, not
// quarantined as a typist changing more than a status.
func TestMachineDraftSyncs(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	ada := s.NewDevice("ada", s.URL, "ada", "caseworker", "north")
	sam := s.NewDevice("sam", s.URL, "sam", "supervisor", "north")
	tia := s.NewDevice("tia", s.URL, "tia", "typist", "north")
	c, _, recID := openToTypists(t, "D-1", ada, sam, tia)

	// The draft's words are ones the server's files hold nowhere else.
	words := []record.Word{{W: "quixotically", S: 120, E: 800}, {W: "zygomorphic", S: 900, E: 1500}, {W: "grandmother", S: 1600, E: 2300}}
	item, err := ada.V.Recording(recID)
	if err != nil {
		t.Fatal(err)
	}
	r := item.Value
	r.DurationMS = 3000
	r.Status = record.StatusCorrection
	r.Draft = &record.MachineDraft{Engine: "pocketsphinx", Version: "5prealpha", Made: time.Now().UTC().Format(time.RFC3339), By: "ada",
		Timeline: "00", Text: record.JoinWords(words), Words: words}
	if _, err := ada.V.PutRecording(c, recID, []record.RevID{item.Rev}, r, false); err != nil {
		t.Fatal(err)
	}
	syncRounds(t, ada, tia)

	got, err := tia.V.Recording(recID)
	if err != nil || got.Sealed {
		t.Fatalf("tia's copy: %+v, %v", got, err)
	}
	if got.Value.Status != record.StatusCorrection || got.Value.Draft == nil || !slices.Equal(got.Value.Draft.Words, words) ||
		got.Value.Draft.Engine != "pocketsphinx" {
		t.Fatalf("tia's copy of the recording: status %q, draft %+v; want correction with ada's words", got.Value.Status, got.Value.Draft)
	}
	for _, w := range words {
		if f := fileHolding(t, s.Dir, w.W); f != "" {
			t.Errorf("the server's %s holds the draft's word %q in the clear", f, w.W)
		}
	}

	// Tia corrects the draft: the transcript, and the recording marked
	// transcribed by her, from the draft.
	note, err := tia.V.AddNote(c, record.Note{Kind: "visit", Text: "Quixotically, the grandmother attended."})
	if err != nil {
		t.Fatal(err)
	}
	r = got.Value
	r.Status, r.Transcript, r.Transcribed, r.TranscribedBy, r.CorrectedDraft = "transcribed", note, time.Now().UTC().Format(time.RFC3339), "tia", true
	if _, err := tia.V.PutRecording(c, recID, []record.RevID{got.Rev}, r, false); err != nil {
		t.Fatal(err)
	}
	tia.MustSync()
	syncRounds(t, ada, sam)
	for _, d := range []*syncharness.Device{ada, sam} {
		if qs, err := d.V.Quarantine(); err != nil || len(qs) > 0 {
			t.Errorf("%s quarantined %+v (%v)", d.Name, qs, err)
		}
		got, err := d.V.Recording(recID)
		if err != nil || got.Value.Status != "transcribed" || !got.Value.CorrectedDraft || got.Value.TranscribedBy != "tia" ||
			got.Value.Draft == nil || got.Value.Draft.Text != record.JoinWords(words) {
			t.Errorf("%s's recording after tia's correction: %+v, %v", d.Name, got.Value, err)
		}
	}
}

// fileHolding names a file under dir that holds s, or "".
func fileHolding(t *testing.T, dir, s string) string {
	t.Helper()
	var found string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || found != "" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil // a socket, a file gone meanwhile
		}
		if bytes.Contains(b, []byte(s)) {
			found = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
