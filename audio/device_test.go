package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio/track"
)

// The tests in this file use real audio through the virtual sound device of
// scripts/virtual-audio.sh. They skip when PULSE_SERVER is unset, and fail
// instead when CI=true. None of them runs in parallel: the environment
// variables that route audio are per process.

var sinkSeq atomic.Int64

// The package's tests share one PulseAudio null sink of their own, made on
// first use and removed by TestMain: they hear nothing another package's
// tests play, and they run one at a time.
var testSink struct {
	once    sync.Once
	modules []string
	err     error
}

// virtualAudio skips the test (or fails it on CI) without a sound server,
// and routes this process's recording and playback, and the players it
// starts, to the package's own null sink.
func virtualAudio(t *testing.T) {
	t.Helper()
	if os.Getenv("PULSE_SERVER") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PULSE_SERVER unset: start the virtual sound device with scripts/virtual-audio.sh (docs/TESTING.md)")
		}
		t.Skip("no sound server: run eval \"$(scripts/virtual-audio.sh start DIR)\" (docs/TESTING.md) to run the audio tests")
	}
	testSink.once.Do(makeTestSink)
	if testSink.err != nil {
		t.Fatal(testSink.err)
	}
}

func pactl(args ...string) (string, error) {
	out, err := exec.Command("pactl", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func makeTestSink() {
	removeStaleSinks()
	name := fmt.Sprintf("fcaudio%d", os.Getpid())
	sink, err := pactl("load-module", "module-null-sink", "sink_name="+name, "rate=48000")
	if err != nil {
		testSink.err = fmt.Errorf("creating a null sink: %v: %s", err, sink)
		return
	}
	testSink.modules = append(testSink.modules, sink)
	// A permanent reader keeps the new sink rendering in small blocks (see
	// scripts/virtual-audio.sh); without it the first buffer can be 2 s late.
	if loop, err := pactl("load-module", "module-loopback", "source="+name+".monitor", "sink=va_drain",
		"latency_msec=40", "source_dont_move=true", "sink_dont_move=true"); err == nil {
		testSink.modules = append(testSink.modules, loop)
	}
	os.Setenv("PULSE_SINK", name)
	os.Setenv("PULSE_SOURCE", name+".monitor")
	// Wait until the sink has left its first 2 s render block, as
	// virtual-audio.sh does for its own sink.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := pactl("list", "sinks")
		if sinkLatency(out, name) < 100*time.Millisecond {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeStaleSinks unloads the sinks (and their loopbacks) of earlier test
// processes that died before TestMain could clean up.
func removeStaleSinks() {
	if _, err := os.Stat("/proc/self"); err != nil {
		return // no way to tell a dead process here
	}
	list, err := pactl("list", "short", "modules")
	if err != nil {
		return
	}
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		for _, arg := range f[2:] {
			_, rest, ok := strings.Cut(arg, "=fcaudio")
			if !ok {
				continue
			}
			digits := strings.TrimSuffix(rest, ".monitor")
			pid, err := strconv.Atoi(digits)
			if err != nil || pid == os.Getpid() {
				continue
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				continue // still running
			}
			_, _ = pactl("unload-module", f[0])
			break
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(testSink.modules) - 1; i >= 0; i-- {
		_, _ = pactl("unload-module", testSink.modules[i])
	}
	os.Exit(code)
}

// sinkLatency finds the latency of sink name in the output of pactl list
// sinks.
func sinkLatency(list, name string) time.Duration {
	found := false
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Name:":
			found = f[1] == name
		case found && len(f) >= 2 && f[0] == "Latency:":
			if us, err := strconv.Atoi(f[1]); err == nil {
				return time.Duration(us) * time.Microsecond
			}
		}
	}
	return time.Hour
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startRecorder starts recording into a fresh store and waits for the first
// buffer, so that sound played next is heard from its start.
func startRecorder(t *testing.T, opts Options) (*Recorder, *memStore) {
	t.Helper()
	rec := NewRecorder(opts)
	st := newMemStore()
	if err := rec.Start(context.Background(), 0, st); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _, _ = rec.Stop() })
	waitFor(t, 15*time.Second, "the first buffer", func() bool { return rec.Stats().FramesCaptured > 0 })
	return rec, st
}

// stopAndDecode stops the recorder, checks the take against the stats and
// returns the take's decoded audio.
func stopAndDecode(t *testing.T, rec *Recorder, st *memStore) (Take, []int16) {
	t.Helper()
	take, err := rec.Stop()
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stats := rec.Stats()
	if got, want := int64(take.Packets()), stats.FramesCaptured; got != want {
		t.Errorf("take has %d packets, captured %d frames", got, want)
	}
	if take.Duration() != rec.Elapsed() {
		t.Errorf("take lasts %v, Elapsed says %v", take.Duration(), rec.Elapsed())
	}
	chunks := st.written()
	for i, c := range chunks {
		if c.Index != uint32(i) || c.Last != (i == len(chunks)-1) {
			t.Errorf("chunk %d: index %d, last %v", i, c.Index, c.Last)
		}
	}
	if stats.FirstBuffer <= 0 {
		t.Errorf("Stats.FirstBuffer = %v, want > 0", stats.FirstBuffer)
	}
	var tl Timeline
	must(t, tl.Append(take))
	var buf bytes.Buffer
	must(t, WriteWAV(context.Background(), &buf, &tl, st))
	return take, parseWAV(t, buf.Bytes())
}

// writeWAVFile writes pcm as a 16 kHz mono WAV file for paplay.
func writeWAVFile(t *testing.T, pcm []int16) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+2*len(pcm)))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(SampleRate), uint32(2 * SampleRate), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(2*len(pcm)))
	_ = binary.Write(&b, binary.LittleEndian, pcm)
	path := filepath.Join(t.TempDir(), fmt.Sprintf("sound%d.wav", sinkSeq.Add(1)))
	must(t, os.WriteFile(path, b.Bytes(), 0o600))
	return path
}

// play plays a sound file to the test's sink and returns when it has been
// played out.
func play(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("paplay", path).CombinedOutput(); err != nil {
		t.Fatalf("paplay: %v: %s", err, out)
	}
}

// frameLevels returns the RMS level of each 20 ms frame of pcm.
func frameLevels(pcm []int16) []float64 {
	var out []float64
	for i := 0; i+FrameSamples <= len(pcm); i += FrameSamples {
		out = append(out, rms(pcm[i:i+FrameSamples]))
	}
	return out
}

// activeSpan returns the time from the first to the last 20 ms frame louder
// than threshold dBFS, and where it starts.
func activeSpan(pcm []int16, threshold float64) (start, length time.Duration) {
	first, last := -1, -1
	for i, l := range frameLevels(pcm) {
		if l > threshold {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return 0, 0
	}
	return time.Duration(first) * FrameDuration, time.Duration(last-first+1) * FrameDuration
}

// toneWindows counts 100 ms windows in which each of testFreqs dominates,
// among windows louder than -40 dBFS, and reports whether they appear in
// the given order.
func toneWindows(pcm []int16) (count map[float64]int, order []float64) {
	count = map[float64]int{}
	const w = SampleRate / 10
	for i := 0; i+w <= len(pcm); i += w {
		win := pcm[i : i+w]
		// The test tones play at about -9 dBFS. A window that holds only a
		// few milliseconds of one (where a take starts, pauses or stops)
		// has no clear pitch and is skipped, as is one where no tone
		// stands 6 dB above the others: such a window once read as 440 Hz
		// at the very end of a take that ended on 660 Hz.
		if rms(win) < -20 {
			continue
		}
		f := dominant(win, testFreqs...)
		if clear := power(win, f); slices.ContainsFunc(testFreqs, func(g float64) bool { return g != f && power(win, g) > clear-6 }) {
			continue
		}
		count[f]++
		if len(order) == 0 || order[len(order)-1] != f {
			order = append(order, f)
		}
	}
	return count, order
}

func TestListDevices(t *testing.T) {
	virtualAudio(t)
	devs, err := ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	var defaults int
	var input *Device
	for i, d := range devs {
		if d.DefaultInput {
			defaults++
			input = &devs[i]
		}
	}
	if defaults != 1 || input.Inputs < 1 {
		t.Fatalf("devices %+v: want exactly one default input", devs)
	}
	// Record briefly from the default device by name and by index.
	for _, name := range []string{input.Name, fmt.Sprint(input.Index)} {
		rec, st := startRecorder(t, Options{Device: name})
		take, _ := stopAndDecode(t, rec, st)
		if take.Packets() == 0 {
			t.Errorf("device %q: empty take", name)
		}
	}
}

func TestRecordSpeech(t *testing.T) {
	virtualAudio(t)
	espeak, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Fatal("espeak-ng not installed (make deps installs it)")
	}
	const sentence = "The child was seen at home on Tuesday and appeared well."
	// The sentence rendered to a file is both what is played and the
	// reference it is compared with.
	dir := t.TempDir()
	ref22, ref16 := filepath.Join(dir, "ref.wav"), filepath.Join(dir, "ref16.wav")
	if out, err := exec.Command(espeak, "-w", ref22, sentence).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v: %s", err, out)
	}
	if out, err := exec.Command("sox", ref22, "-r", "16000", "-c", "1", "-b", "16", ref16).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
	b, err := os.ReadFile(ref16)
	must(t, err)
	_, refSpan := activeSpan(parseWAV(t, b), -45)

	rec, st := startRecorder(t, Options{})
	time.Sleep(500 * time.Millisecond) // silence before the speech
	var loudest atomic.Uint64
	done := make(chan struct{})
	go func() { // watch the level meter from another goroutine, as a UI does
		defer close(done)
		for rec.Elapsed() < 30*time.Second {
			if l := rec.Level(); l.RMS > -100 && l.Peak < l.RMS {
				t.Errorf("level %+v: peak below RMS", l)
			}
			if l := rec.Level().RMS; uint64(l+200) > loudest.Load() {
				loudest.Store(uint64(l + 200))
			}
			select {
			case <-rec.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	// espeak-ng's rendering is played with paplay rather than spoken live:
	// live synthesis stutters on a loaded machine, which stretches the
	// speech and would blame the recorder for it.
	play(t, ref16)
	time.Sleep(500 * time.Millisecond)
	take, pcm := stopAndDecode(t, rec, st)
	<-done

	start, span := activeSpan(pcm, -45)
	t.Logf("take %v, speech from %v for %v (reference %v), meter peak %d dBFS, stats %+v",
		take.Duration(), start, span, refSpan, int(loudest.Load())-200, rec.Stats())
	if d := span - refSpan; d < -200*time.Millisecond || d > 200*time.Millisecond {
		t.Errorf("speech lasts %v in the recording, %v in the reference: want ±0.2 s", span, refSpan)
	}
	speech := window(pcm, start.Seconds(), (start + span).Seconds())
	silence := window(pcm, 0.05, start.Seconds()-0.1)
	if len(silence) < SampleRate/5 {
		t.Fatalf("only %d samples of silence before the speech", len(silence))
	}
	if s, q := rms(speech), rms(silence); s < -40 || s-q < 30 {
		t.Errorf("speech at %.1f dBFS over silence at %.1f dBFS: want speech above -40 dBFS and 30 dB over silence", s, q)
	}
	if q := rms(silence); q > -60 {
		t.Errorf("silence before the speech at %.1f dBFS, want below -60", q)
	}
	if got := int(loudest.Load()) - 200; got < -40 {
		t.Errorf("level meter peaked at %d dBFS during speech, want above -40", got)
	}
}

func TestRecordSilence(t *testing.T) {
	virtualAudio(t)
	rec, st := startRecorder(t, Options{})
	time.Sleep(1500 * time.Millisecond)
	if l := rec.Level(); l.RMS > -60 || l.Peak > -50 {
		t.Errorf("level meter in silence: %+v", l)
	}
	_, pcm := stopAndDecode(t, rec, st)
	if len(pcm) < SampleRate {
		t.Fatalf("only %d samples recorded", len(pcm))
	}
	if r := rms(pcm); r > -60 {
		t.Errorf("silence recorded at %.1f dBFS, want below -60", r)
	}
}

func TestRecordPauseResume(t *testing.T) {
	virtualAudio(t)
	a, b, c := writeWAVFile(t, tone(440, 0.5, 1)), writeWAVFile(t, tone(880, 0.5, 1)), writeWAVFile(t, tone(660, 0.5, 1))
	began := time.Now()
	rec, st := startRecorder(t, Options{})
	play(t, a)
	time.Sleep(150 * time.Millisecond)
	rec.Pause()
	if !rec.Paused() {
		t.Error("Paused() = false after Pause")
	}
	// The chunk in progress reaches the sink at once on a pause.
	waitFor(t, 10*time.Second, "the paused chunk", func() bool {
		n := 0
		for _, c := range st.written() {
			n += len(c.Packets)
		}
		return time.Duration(n)*FrameDuration == rec.Elapsed()
	})
	paused := rec.Elapsed()
	play(t, b) // not recorded
	time.Sleep(150 * time.Millisecond)
	if rec.Elapsed() != paused {
		t.Errorf("Elapsed moved from %v to %v while paused", paused, rec.Elapsed())
	}
	rec.Resume()
	play(t, c)
	time.Sleep(150 * time.Millisecond)
	take, pcm := stopAndDecode(t, rec, st)
	wall := time.Since(began)

	count, order := toneWindows(pcm)
	t.Logf("take %v over %v of wall time; tone windows %v in order %v", take.Duration(), wall, count, order)
	if count[880] > 0 {
		t.Errorf("%d windows of the tone played while paused were recorded", count[880])
	}
	if count[440] < 8 || count[660] < 8 {
		t.Errorf("tone windows %v: want about 10 each of 440 and 660 Hz", count)
	}
	if len(order) != 2 || order[0] != 440 || order[1] != 660 {
		t.Errorf("tones in order %v, want [440 660]", order)
	}
	// The paused second is missing from the take.
	if take.Duration() > wall-time.Second {
		t.Errorf("take lasts %v of %v wall time, want the paused second left out", take.Duration(), wall)
	}
}

func TestRecord48kHzDevice(t *testing.T) {
	virtualAudio(t)
	defer func(r []int) { streamRates = r }(streamRates)
	streamRates = []int{track.OpusRate} // as if the device refused 16 kHz
	rec, st := startRecorder(t, Options{})
	play(t, writeWAVFile(t, tone(660, 0.5, 1)))
	_, pcm := stopAndDecode(t, rec, st)
	count, _ := toneWindows(pcm)
	if count[660] < 8 || count[440]+count[880] > 0 {
		t.Errorf("tone windows %v, want about 10 of 660 Hz only", count)
	}
}

// slowSink blocks every write until released.
type slowSink struct {
	*memStore
	release chan struct{}
}

func (s slowSink) WriteChunk(ctx context.Context, c Chunk) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.memStore.WriteChunk(ctx, c)
}

func TestRecordSlowSinkDrops(t *testing.T) {
	virtualAudio(t)
	sink := slowSink{newMemStore(), make(chan struct{})}
	// Chunks of 200 ms and a backlog of one: the capture loop runs out of
	// room about 1.6 s after the sink stops taking chunks.
	rec := NewRecorder(Options{ChunkPackets: 10, Backlog: 200 * time.Millisecond})
	must(t, rec.Start(context.Background(), 0, sink))
	t.Cleanup(func() { _, _ = rec.Stop() })
	waitFor(t, 30*time.Second, "dropped frames", func() bool { return rec.Stats().FramesDropped > 10 })
	// Capture goes on while the sink is stuck.
	captured := rec.Stats().FramesCaptured
	waitFor(t, 30*time.Second, "capture to go on", func() bool { return rec.Stats().FramesCaptured >= captured+25 })
	close(sink.release)
	take, pcm := stopAndDecode(t, rec, sink.memStore)
	stats := rec.Stats()
	t.Logf("stats %+v, take %v", stats, take.Duration())
	if stats.FramesDropped == 0 || stats.FramesDropped >= stats.FramesCaptured {
		t.Errorf("dropped %d of %d frames", stats.FramesDropped, stats.FramesCaptured)
	}
	if got, want := len(pcm), take.Packets()*FrameSamples-track.PreSkip/3; got != want {
		t.Errorf("decoded %d samples, want %d", got, want)
	}
	if got := stats.ChunksWritten; got != int64(len(take.Chunks)) {
		t.Errorf("%d chunks written, take has %d", got, len(take.Chunks))
	}
}

// failingSink fails after n chunks.
type failingSink struct {
	*memStore
	n int
}

var errDiskFull = fmt.Errorf("disk full")

func (s *failingSink) WriteChunk(ctx context.Context, c Chunk) error {
	if s.n == 0 {
		return errDiskFull
	}
	s.n--
	return s.memStore.WriteChunk(ctx, c)
}

func TestRecordSinkFailure(t *testing.T) {
	virtualAudio(t)
	sink := &failingSink{newMemStore(), 2}
	rec := NewRecorder(Options{ChunkPackets: 10})
	must(t, rec.Start(context.Background(), 0, sink))
	select {
	case <-rec.Done(): // the take ends by itself
	case <-time.After(30 * time.Second):
		t.Fatal("the take did not end after the sink failed")
	}
	take, err := rec.Stop()
	if !errors.Is(err, errDiskFull) {
		t.Errorf("Stop: %v, want the sink's error", err)
	}
	if got, want := take.Chunks, []int{10, 10}; !slicesEqual(got, want) {
		t.Errorf("take chunks %v, want %v (those written)", got, want)
	}
	// The recorder can record again.
	must(t, rec.Start(context.Background(), 1, newMemStore()))
	if _, err := rec.Stop(); err != nil {
		t.Errorf("second take: %v", err)
	}
}

func TestRecordBusyAndCancel(t *testing.T) {
	virtualAudio(t)
	ctx, cancel := context.WithCancel(context.Background())
	rec := NewRecorder(Options{})
	st := newMemStore()
	must(t, rec.Start(ctx, 0, st))
	if err := rec.Start(ctx, 1, st); !errors.Is(err, ErrBusy) {
		t.Errorf("second Start: %v, want ErrBusy", err)
	}
	cancel()
	select {
	case <-rec.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the take did not end with its context")
	}
	if _, err := rec.Stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop after cancel: %v, want context.Canceled", err)
	}
}

func TestDeviceOpenFailure(t *testing.T) {
	virtualAudio(t)
	defer func(r []int) { streamRates = r }(streamRates)
	streamRates = []int{1_000_000} // no device runs at 1 MHz
	rec := NewRecorder(Options{})
	if err := rec.Start(context.Background(), 0, newMemStore()); !errors.Is(err, ErrDevice) {
		t.Errorf("Start: %v, want ErrDevice", err)
	}
	p := NewPlayer(&Timeline{}, newMemStore(), "")
	if err := p.Play(context.Background()); !errors.Is(err, ErrDevice) {
		t.Errorf("Play: %v, want ErrDevice", err)
	}
	// PortAudio was released: recording works again.
	streamRates = []int{SampleRate}
	rec2, st := startRecorder(t, Options{})
	if take, _ := stopAndDecode(t, rec2, st); take.Packets() == 0 {
		t.Error("empty take after a failed open")
	}
	pa.Lock()
	refs := pa.refs
	pa.Unlock()
	if refs != 0 {
		t.Errorf("PortAudio still held %d times after every user stopped", refs)
	}
}

func TestNoDevice(t *testing.T) {
	// A device name that does not exist, whatever the machine has.
	t.Run("unknown name", func(t *testing.T) {
		for _, name := range []string{"no such microphone", "9999"} {
			err := NewRecorder(Options{Device: name}).Start(context.Background(), 0, newMemStore())
			if !errors.Is(err, ErrNoDevice) {
				t.Errorf("Start on device %q: %v, want ErrNoDevice", name, err)
			}
			p := NewPlayer(&Timeline{}, newMemStore(), name)
			if err := p.Play(context.Background()); !errors.Is(err, ErrNoDevice) {
				t.Errorf("Play on device %q: %v, want ErrNoDevice", name, err)
			}
		}
	})
	// No sound server and no sound card: no device at all.
	t.Run("no sound server", func(t *testing.T) {
		if _, err := os.Stat("/dev/snd"); err == nil {
			t.Skip("this machine has sound hardware")
		}
		dir := t.TempDir()
		conf := filepath.Join(dir, "asound.conf")
		must(t, os.WriteFile(conf, []byte("pcm.!default { type pulse }\nctl.!default { type pulse }\n"), 0o600))
		t.Setenv("ALSA_CONFIG_PATH", conf)
		t.Setenv("PULSE_SERVER", "unix:"+filepath.Join(dir, "nowhere"))
		t.Setenv("XDG_RUNTIME_DIR", dir)
		t.Setenv("JACK_NO_START_SERVER", "1")
		devs, err := ListDevices()
		if err != nil {
			t.Fatalf("ListDevices: %v", err)
		}
		for _, d := range devs {
			if d.Inputs > 0 {
				t.Errorf("input device %+v listed with no sound server", d)
			}
		}
		rec := NewRecorder(Options{})
		if err := rec.Start(context.Background(), 0, newMemStore()); !errors.Is(err, ErrNoDevice) {
			t.Errorf("Start: %v, want ErrNoDevice", err)
		}
		if take, err := rec.Stop(); err != nil || take.Packets() != 0 {
			t.Errorf("Stop after a failed Start: %+v, %v", take, err)
		}
		if err := NewPlayer(&Timeline{}, newMemStore(), "").Play(context.Background()); !errors.Is(err, ErrNoDevice) {
			t.Errorf("Play: %v, want ErrNoDevice", err)
		}
	})
}
