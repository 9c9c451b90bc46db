package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// packetSink keeps the packets an encoder makes.
type packetSink struct{ packets [][]byte }

func (s *packetSink) WriteChunk(_ context.Context, c audio.Chunk) error {
	s.packets = append(s.packets, c.Packets...)
	return nil
}

// longRecording dictates d into a case: real Opus packets (ten seconds of
// a voice-like signal through libopus, repeated), committed chunk by chunk
// through the vault as the recorder commits them.
func longRecording(b *testing.B, v *store.Vault, caseID string, d time.Duration) {
	b.Helper()
	ctx := context.Background()
	ps := &packetSink{}
	enc, err := audio.NewEncoder(0, ps)
	if err != nil {
		b.Fatal(err)
	}
	if err := enc.Write(ctx, speech(10*time.Second)); err != nil {
		b.Fatal(err)
	}
	if _, err := enc.Close(ctx); err != nil {
		b.Fatal(err)
	}
	r, err := dictation.New(v, caseID, record.Recording{Title: "Two hours of a hearing", WorkType: "court report"})
	if err != nil {
		b.Fatal(err)
	}
	id, sink, err := r.StartTake(dictation.Append, 0)
	if err != nil {
		b.Fatal(err)
	}
	const per = 50 // packets a chunk: one second
	n := int(d / time.Second)
	take := audio.Take{ID: id}
	for i := range n {
		c := audio.Chunk{Take: id, Index: uint32(i), Samples: per * audio.FrameSamples, Last: i == n-1}
		for k := range per {
			c.Packets = append(c.Packets, ps.packets[(i*per+k)%len(ps.packets)])
		}
		if err := sink.WriteChunk(ctx, c); err != nil {
			b.Fatal(err)
		}
		take.Chunks = append(take.Chunks, per)
	}
	if err := r.FinishTake(take); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBundle makes the court bundle of a case of 500 notes and a
// two-hour recording from a real vault, with log evidence for every
// revision, and verifies it. Targets: bundle < 10 s, verification < 5 s.
// Both are reported as ratios against a plain export of the same case in
// the same process ('fieldcase export --jsonl' of the vault and 'fieldcase
// recording export' of the recording), so a loaded machine slows both.
func BenchmarkBundle(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	v, _ := enrolledVault(b, filepath.Join(dir, "v.db"), "benchmark passphrase")
	defer v.Close()
	caseID, err := v.CreateCase(record.Case{Ref: "GAL-2026-0500", Subject: "Amélie Núñez", Summary: "A long case."})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	err = v.Update(func(tx *store.Tx) error {
		for i := range 500 {
			day := record.Date(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format("2006-01-02"))
			text := strings.Repeat(fmt.Sprintf("Visit %d: Amélie was at home with Łucja; we talked about school, friends and contact. ", i), 12)
			if _, err := tx.AddNote(caseID, record.Note{Kind: record.NoteKinds[i%len(record.NoteKinds)], Date: day, Time: "10:30", Text: text}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	longRecording(b, v, caseID, 2*time.Hour)
	_, evidence := logCase(b, v, caseID)
	b.Logf("built the case in %v", time.Since(start).Round(time.Millisecond))
	cv, err := v.Case(caseID)
	if err != nil {
		b.Fatal(err)
	}
	recs, err := v.Recordings(caseID)
	if err != nil || len(recs) != 1 {
		b.Fatal(err, len(recs))
	}

	b.ResetTimer()
	for i := range b.N {
		// The baseline: a plain export of the same case.
		t0 := time.Now()
		plainExport(b, v, recs[0].ID, filepath.Join(dir, fmt.Sprintf("plain%d", i)))
		plain := time.Since(t0)

		out := filepath.Join(dir, fmt.Sprintf("bundle%d", i))
		t0 = time.Now()
		src, _, err := caseSource(i18n.English(), v, cv, "", "", evidence)
		if err != nil {
			b.Fatal(err)
		}
		res, err := bundle.Write(ctx, out, src, bundle.Options{})
		if err != nil {
			b.Fatal(err)
		}
		made := time.Since(t0)

		t0 = time.Now()
		rep, err := bundle.Verify(ctx, out, bundle.VerifyOptions{RequireLog: true})
		if err != nil {
			b.Fatal(err)
		}
		verified := time.Since(t0)
		if !rep.OK() {
			b.Fatalf("the bundle does not verify: %q", rep.Problems)
		}
		var size int64
		filepath.Walk(out, func(_ string, fi os.FileInfo, _ error) error {
			if fi != nil && !fi.IsDir() {
				size += fi.Size()
			}
			return nil
		})
		b.ReportMetric(made.Seconds(), "bundle-s")
		b.ReportMetric(verified.Seconds(), "verify-s")
		b.ReportMetric(plain.Seconds(), "plainexport-s")
		b.ReportMetric(made.Seconds()/plain.Seconds(), "bundle/export")
		b.ReportMetric(verified.Seconds()/plain.Seconds(), "verify/export")
		b.ReportMetric(float64(res.Pages), "pages")
		b.ReportMetric(float64(res.Records), "revisions")
		b.ReportMetric(float64(size)/1e6, "bundle-MB")
	}
}

// plainExport writes the case's records as JSON Lines and the recording
// as Ogg Opus, as 'fieldcase export' and 'fieldcase recording export' do.
func plainExport(b *testing.B, v *store.Vault, recID, dir string) {
	b.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	write := func(name string, fill func(w *bufio.Writer) error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		if err := fill(w); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	write("export.jsonl", func(w *bufio.Writer) error { return v.Export(w) })
	r, err := dictation.Open(v, recID)
	if err != nil {
		b.Fatal(err)
	}
	write("recording.ogg", func(w *bufio.Writer) error { return r.ExportOgg(context.Background(), w) })
}
