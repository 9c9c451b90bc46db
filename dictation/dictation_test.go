package dictation

import (
	"bytes"
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
)

func mustVault(t testing.TB) (*store.Vault, string) {
	t.Helper()
	v := storetest.Create(t, filepath.Join(t.TempDir(), "v.db"), "dictation test passphrase", store.Profile{Name: "GAL"}, store.Options{})
	id, err := v.CreateCase(record.Case{Ref: "GAL-1", Subject: "Court Case Child"})
	if err != nil {
		t.Fatal(err)
	}
	return v, id
}

// tone is d of a sine at hz, as 16 kHz PCM.
func tone(hz float64, d time.Duration) []int16 {
	n := int(d.Seconds() * audio.SampleRate)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/audio.SampleRate))
	}
	return pcm
}

// takeOf encodes pcm as a take of r through the vault sink (as the
// recorder would, without a microphone) and places it.
func takeOf(t *testing.T, r *Recording, mode Mode, at time.Duration, pcm []int16) {
	t.Helper()
	id, sink, err := r.StartTake(mode, at)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := audio.NewEncoder(id, sink)
	if err != nil {
		t.Fatal(err)
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
}

func near(got, want time.Duration) bool {
	return got > want-60*time.Millisecond && got < want+60*time.Millisecond
}

func TestEditsPersist(t *testing.T) {
	v, caseID := mustVault(t)
	r, err := New(v, caseID, record.Recording{Title: "Court report", WorkType: "court report"})
	if err != nil {
		t.Fatal(err)
	}
	takeOf(t, r, Append, 0, tone(440, 3*time.Second))
	takeOf(t, r, Insert, time.Second, tone(880, 2*time.Second))    // 1 s of A, 2 s of B, 2 s of A
	takeOf(t, r, Overwrite, 4*time.Second, tone(660, time.Second)) // …cut at 4 s, then 1 s of C
	if d := r.TL.Duration(); !near(d, 5*time.Second) {
		t.Fatalf("duration %v, want 5s", d)
	}
	// Reopen from the vault: the manifest holds the same timeline and only
	// the chunks it uses.
	r2, err := Open(v, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r2.TL.Duration(), 5*time.Second) || r2.Meta.DurationMS < 4900 || len(r2.Meta.Chunks) == 0 {
		t.Errorf("reopened: %v, %d ms, %d chunks", r2.TL.Duration(), r2.Meta.DurationMS, len(r2.Meta.Chunks))
	}
	for _, c := range r2.Meta.Chunks {
		if _, err := v.Chunk(caseID, r.ID, c.Take, c.Index); err != nil {
			t.Errorf("chunk %d/%d: %v", c.Take, c.Index, err)
		}
	}
	// The audio is where the edits put it: each stretch of the export equals
	// the decoded audio of the take it came from, at the right offset. (A
	// steady tone is not a usable probe of frequency: the encoder's voice
	// detector turns long pure tones into comfort noise, as it should for
	// dictation, so compare samples instead.)
	var wav bytes.Buffer
	if err := r2.ExportWAV(context.Background(), &wav); err != nil {
		t.Fatal(err)
	}
	got := wavSamples(t, wav.Bytes())
	takes := r2.TL.Takes() // 0: A (3 s), 1: B (2 s, inserted at 1 s), 2: C (1 s, from 4 s)
	for _, probe := range []struct {
		name   string
		at     time.Duration // in the edited recording
		take   int
		takeAt time.Duration // in that take
	}{
		{"A before the insert", 500 * time.Millisecond, 0, 500 * time.Millisecond},
		{"B inserted", 2 * time.Second, 1, time.Second},
		{"A after the insert", 3500 * time.Millisecond, 0, 1500 * time.Millisecond},
		{"C over the end", 4500 * time.Millisecond, 2, 500 * time.Millisecond},
	} {
		want := takeSamples(t, r2, takes[probe.take])
		g, w := window(got, probe.at), window(want, probe.takeAt)
		if g == nil || w == nil || !similar(g, w) {
			t.Errorf("%s (at %v): the recording does not hold take %d's audio from %v", probe.name, probe.at, probe.take, probe.takeAt)
		}
	}
}

// takeSamples decodes one take on its own.
func takeSamples(t *testing.T, r *Recording, take audio.Take) []int16 {
	t.Helper()
	tl := &audio.Timeline{}
	if err := tl.Append(take); err != nil {
		t.Fatal(err)
	}
	var wav bytes.Buffer
	if err := audio.WriteWAV(context.Background(), &wav, tl, r.Source()); err != nil {
		t.Fatal(err)
	}
	return wavSamples(t, wav.Bytes())
}

// A take whose process died: its committed chunks come back, in place, and
// the recording is marked interrupted.
func TestRecoverInterruptedTake(t *testing.T) {
	v, caseID := mustVault(t)
	r, _ := New(v, caseID, record.Recording{WorkType: "visit note"})
	takeOf(t, r, Append, 0, tone(440, 2*time.Second))
	id, sink, err := r.StartTake(Append, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := audio.NewEncoder(id, sink)
	enc.Write(context.Background(), tone(880, 3500*time.Millisecond)) // 3 whole chunks committed; no Close: the process died
	got, err := Recover(context.Background(), v)
	if err != nil || len(got) != 1 || got[0] != r.ID {
		t.Fatalf("Recover = %v, %v", got, err)
	}
	r2, _ := Open(v, r.ID)
	if !r2.Meta.Interrupted || !near(r2.TL.Duration(), 5*time.Second) {
		t.Errorf("recovered: interrupted=%v duration %v (want 2s + 3 committed chunks)", r2.Meta.Interrupted, r2.TL.Duration())
	}
	if again, _ := Recover(context.Background(), v); len(again) != 0 {
		t.Errorf("second Recover found %v", again)
	}
	var ogg bytes.Buffer
	if err := r2.ExportOgg(context.Background(), &ogg); err != nil {
		t.Fatalf("exporting the recovered recording: %v", err)
	}
	if path, err := exec.LookPath("opusinfo"); err == nil {
		f := filepath.Join(t.TempDir(), "r.ogg")
		writeFile(t, f, ogg.Bytes())
		if out, err := exec.Command(path, f).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Playback length")) {
			t.Errorf("opusinfo refuses the export: %v\n%s", err, out)
		}
	}
}

func TestStatusFlow(t *testing.T) {
	v, caseID := mustVault(t)
	r, _ := New(v, caseID, record.Recording{WorkType: "letter", Priority: "urgent"})
	if err := r.SetStatus("submitted"); err != nil {
		t.Fatal(err)
	}
	recs, _ := v.Recordings(caseID)
	if len(recs) != 1 || recs[0].Value.Status != "submitted" || recs[0].Value.Priority != "urgent" || recs[0].Conflict {
		t.Errorf("recordings = %+v", recs)
	}
	if err := r.SetStatus("archived"); err == nil {
		t.Errorf("unknown status accepted")
	}
}

// A crash after a take was placed and saved but before its note was
// cleared: recovery clears the note and changes nothing.
func TestRecoverTakeAlreadyPlaced(t *testing.T) {
	v, caseID := mustVault(t)
	r, _ := New(v, caseID, record.Recording{WorkType: "letter"})
	takeOf(t, r, Append, 0, tone(440, 2*time.Second))
	before := r.TL.Duration()
	if err := r.savePending(&pending{Take: 0, Mode: Append, CaseID: caseID, Meta: r.Meta}); err != nil {
		t.Fatal(err)
	}
	got, err := Recover(context.Background(), v)
	if err != nil || len(got) != 0 {
		t.Fatalf("Recover = %v, %v", got, err)
	}
	r2, _ := Open(v, r.ID)
	if r2.Meta.Interrupted || r2.TL.Duration() != before {
		t.Errorf("recording changed: interrupted=%v %v→%v", r2.Meta.Interrupted, before, r2.TL.Duration())
	}
	if left, _ := v.Locals("take:"); len(left) != 0 {
		t.Errorf("the note was not cleared")
	}
}
