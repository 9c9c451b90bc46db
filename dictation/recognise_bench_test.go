package dictation

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/record"
)

// BenchmarkRecogniser makes a machine draft of 20 seconds of espeak-ng
// speech (FIELDCASE_BENCH_SECONDS sets the length; 60 or more for the
// issue's "per minute", which takes minutes on a loaded machine) with the repository's
// pocketsphinx adapter, in a real vault. It reports the run time as a
// ratio to the audio's length (below 1 is faster than real time), against
// decoding the same audio alone in the same run, and the recogniser's peak
// resident memory (its rusage, children included).
func BenchmarkRecogniser(b *testing.B) {
	if _, err := exec.LookPath("pocketsphinx_continuous"); err != nil {
		b.Skip("pocketsphinx not installed (make deps installs it)")
	}
	adapter, err := filepath.Abs("../scripts/recognisers/pocketsphinx")
	if err != nil {
		b.Fatal(err)
	}
	secs := 20
	if s, err := strconv.Atoi(os.Getenv("FIELDCASE_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	pcm := speechPCM(b, secs)
	for range b.N {
		v, caseID := mustVault(b)
		r, err := New(v, caseID, record.Recording{WorkType: "court report"})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.AppendPCM(context.Background(), pcm); err != nil {
			b.Fatal(err)
		}
		if err := r.Submit(time.Now(), "", DefaultDueRules); err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		if err := r.ExportWAV(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
		decode := time.Since(began)
		res, err := r.Draft(context.Background(), Recogniser{Command: adapter, AllowNetwork: IsolationWorks() != nil})
		if err != nil {
			b.Fatal(err)
		}
		audioLen := r.TL.Duration()
		b.ReportMetric(res.Elapsed.Seconds()/audioLen.Minutes(), "s/audio-min")
		b.ReportMetric(float64(res.Elapsed)/float64(audioLen), "x-realtime")
		b.ReportMetric(float64(res.Elapsed)/float64(decode), "x-decode-only")
		b.ReportMetric(float64(res.MaxRSS)/(1<<20), "peak-MiB")
		b.ReportMetric(float64(len(r.Meta.Draft.Words))/audioLen.Minutes(), "words/min")
	}
}

// speechPCM is secs seconds of espeak-ng speech at 16 kHz, a paragraph
// said again and again.
func speechPCM(b *testing.B, secs int) []int16 {
	b.Helper()
	dir := b.TempDir()
	raw, wav := filepath.Join(dir, "s.wav"), filepath.Join(dir, "s16.wav")
	text := "The guardian met the child at school, and again at home with her grandmother, who is managing well. " +
		"The child says she wants to stay. Contact with her father continues every week at the family centre."
	if out, err := exec.Command("espeak-ng", "-w", raw, text).CombinedOutput(); err != nil {
		b.Fatalf("espeak-ng: %v %s", err, out)
	}
	if out, err := exec.Command("sox", raw, "-r", strconv.Itoa(audio.SampleRate), "-c", "1", "-b", "16", wav).CombinedOutput(); err != nil {
		b.Fatalf("sox: %v %s", err, out)
	}
	bs, err := os.ReadFile(wav)
	if err != nil || len(bs) < 44 || !bytes.Equal(bs[:4], []byte("RIFF")) {
		b.Fatalf("no WAV from sox: %v", err)
	}
	once := make([]int16, (len(bs)-44)/2)
	for i := range once {
		once[i] = int16(uint16(bs[44+2*i]) | uint16(bs[45+2*i])<<8)
	}
	pause := make([]int16, audio.SampleRate/2)
	var pcm []int16
	for len(pcm) < secs*audio.SampleRate {
		pcm = append(append(pcm, once...), pause...)
	}
	return pcm[:secs*audio.SampleRate]
}
