//go:build unix

package audio

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Speed targets (checked by eye, not asserted): at most 200 KB per minute
// of speech, capture and encoding under 3% of one core, the first buffer
// within 100 ms of Start, no frame lost while the machine is busy.

// speech returns d of espeak-ng speech at 16 kHz, a paragraph repeated.
func speech(b *testing.B, d time.Duration) []int16 {
	b.Helper()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		b.Skip("espeak-ng not installed")
	}
	const text = "The family was visited at home on the third of May. Both children were present " +
		"and appeared well cared for. The mother explained that the rent arrears have been " +
		"cleared and that the school reports improved attendance. A follow-up visit is due in four weeks."
	dir := b.TempDir()
	raw, wav := filepath.Join(dir, "raw.wav"), filepath.Join(dir, "speech.wav")
	if out, err := exec.Command("espeak-ng", "-s", "150", "-w", raw, text).CombinedOutput(); err != nil {
		b.Fatalf("espeak-ng: %v: %s", err, out)
	}
	if out, err := exec.Command("sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav).CombinedOutput(); err != nil {
		b.Fatalf("sox: %v: %s", err, out)
	}
	data, err := os.ReadFile(wav)
	if err != nil {
		b.Fatal(err)
	}
	one := parseWAV(b, data)
	n := int(d.Seconds() * SampleRate)
	pcm := make([]int16, 0, n)
	for len(pcm) < n {
		pcm = append(pcm, one[:min(len(one), n-len(pcm))]...)
	}
	return pcm
}

// BenchmarkSpeechSize encodes a minute of speech and reports the bytes per
// minute of the Opus packets, of the chunk encoding the vault stores, of an
// Ogg Opus export and of a WAV export.
func BenchmarkSpeechSize(b *testing.B) {
	pcm := speech(b, time.Minute)
	ctx := context.Background()
	var st *memStore
	var take Take
	for b.Loop() {
		st = newMemStore()
		enc, err := NewEncoder(0, st)
		if err != nil {
			b.Fatal(err)
		}
		if err := enc.Write(ctx, pcm); err != nil {
			b.Fatal(err)
		}
		if take, err = enc.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var opusBytes, chunkBytes int
	for _, c := range st.written() {
		for _, p := range c.Packets {
			opusBytes += len(p)
		}
		enc, _ := c.MarshalBinary()
		chunkBytes += len(enc)
	}
	var tl Timeline
	if err := tl.Append(take); err != nil {
		b.Fatal(err)
	}
	var ogg, wav bytes.Buffer
	if err := WriteOgg(ctx, &ogg, &tl, st); err != nil {
		b.Fatal(err)
	}
	if err := WriteWAV(ctx, &wav, &tl, st); err != nil {
		b.Fatal(err)
	}
	minutes := tl.Duration().Minutes()
	b.ReportMetric(float64(opusBytes)/minutes, "opus-B/min")
	b.ReportMetric(float64(chunkBytes)/minutes, "chunk-B/min")
	b.ReportMetric(float64(ogg.Len())/minutes, "ogg-B/min")
	b.ReportMetric(float64(wav.Len())/minutes, "wav-B/min")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// record records for d while the test process is otherwise idle and
// returns the recorder, the CPU time the process used and the wall time.
func record(b *testing.B, d time.Duration, during func()) (*Recorder, time.Duration, time.Duration) {
	b.Helper()
	rec := NewRecorder(Options{})
	st := newMemStore()
	runtime.GC()
	cpu0, wall0 := cpuTime(), time.Now()
	if err := rec.Start(context.Background(), 0, st); err != nil {
		b.Fatal(err)
	}
	if during != nil {
		during()
	}
	time.Sleep(d)
	if _, err := rec.Stop(); err != nil {
		b.Fatal(err)
	}
	return rec, cpuTime() - cpu0, time.Since(wall0)
}

// BenchmarkCaptureCPU records 25 s of speech played into the virtual
// microphone and reports the CPU time of the whole test process (capture,
// PortAudio and its ALSA/PulseAudio client threads, encoding, chunking) as a
// share of one core. The sound server and the player are other processes.
func BenchmarkCaptureCPU(b *testing.B) {
	benchAudio(b)
	pcm := speech(b, 30*time.Second)
	path := filepath.Join(b.TempDir(), "speech.wav")
	var buf bytes.Buffer
	var tl Timeline
	st := newMemStore()
	if err := tl.Append(encodeTake(b, st, 0, pcm)); err != nil {
		b.Fatal(err)
	}
	if err := WriteWAV(context.Background(), &buf, &tl, st); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	var player *exec.Cmd
	rec, cpu, wall := record(b, 25*time.Second, func() {
		player = exec.Command("paplay", path)
		if err := player.Start(); err != nil {
			b.Fatal(err)
		}
	})
	_ = player.Process.Kill()
	_ = player.Wait()
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%cpu")
	b.ReportMetric(rec.Elapsed().Seconds(), "s-recorded")
	b.ReportMetric(float64(rec.Stats().FramesDropped), "dropped")
}

// BenchmarkFirstBuffer reports the time from Start to the first buffer read
// from the device, PortAudio initialisation included.
func BenchmarkFirstBuffer(b *testing.B) {
	benchAudio(b)
	var total, worst time.Duration
	n := 0
	for b.Loop() {
		rec := NewRecorder(Options{})
		if err := rec.Start(context.Background(), 0, newMemStore()); err != nil {
			b.Fatal(err)
		}
		for rec.Stats().FirstBuffer == 0 {
			time.Sleep(time.Millisecond)
		}
		if _, err := rec.Stop(); err != nil {
			b.Fatal(err)
		}
		fb := rec.Stats().FirstBuffer
		total += fb
		worst = max(worst, fb)
		n++
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms-first-buffer")
	b.ReportMetric(float64(worst.Milliseconds()), "ms-worst")
}

// BenchmarkBusyCapture records for 60 s (10 s with -short) while one
// busy-looping process per core and an allocating goroutine in the test
// process load the machine, and reports frames lost: dropped by the capture
// loop, reads on which PortAudio reported an overflow, and the frames
// missing against the wall clock.
func BenchmarkBusyCapture(b *testing.B) {
	benchAudio(b)
	d := time.Minute
	if testing.Short() {
		d = 10 * time.Second
	}
	var hogs []*exec.Cmd
	defer func() {
		for _, h := range hogs {
			_ = h.Process.Kill()
			_ = h.Wait()
		}
	}()
	for range runtime.NumCPU() {
		h := exec.Command("sh", "-c", "while :; do :; done")
		if err := h.Start(); err != nil {
			b.Fatal(err)
		}
		hogs = append(hogs, h)
	}
	stop := make(chan struct{})
	go func() { // garbage for the collector
		var keep [][]byte
		for {
			select {
			case <-stop:
				return
			default:
			}
			keep = append(keep, make([]byte, 64<<10))
			if len(keep) > 256 {
				keep = keep[:0]
			}
		}
	}()
	rec := NewRecorder(Options{})
	if err := rec.Start(context.Background(), 0, newMemStore()); err != nil {
		b.Fatal(err)
	}
	for rec.Stats().FirstBuffer == 0 {
		time.Sleep(time.Millisecond)
	}
	began := time.Now()
	time.Sleep(d)
	wall := time.Since(began)
	if _, err := rec.Stop(); err != nil {
		b.Fatal(err)
	}
	close(stop)
	s := rec.Stats()
	b.ReportMetric(float64(s.FramesDropped), "dropped")
	b.ReportMetric(float64(s.InputOverflows), "overflows")
	b.ReportMetric(float64(int64(wall/FrameDuration)-s.FramesCaptured), "missing-vs-clock")
	b.ReportMetric(float64(s.FramesCaptured), "frames")
}

func benchAudio(b *testing.B) {
	if os.Getenv("PULSE_SERVER") == "" {
		b.Skip("no sound server: run eval \"$(scripts/virtual-audio.sh start DIR)\" (docs/TESTING.md)")
	}
	testSink.once.Do(makeTestSink)
	if testSink.err != nil {
		b.Fatal(testSink.err)
	}
}
