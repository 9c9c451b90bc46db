package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needAudio skips without the virtual sound device (make test starts it),
// and fails in CI, where it must be there.
func needAudio(t *testing.T) {
	t.Helper()
	if os.Getenv("PULSE_SERVER") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no sound server: make test starts one with scripts/virtual-audio.sh")
		}
		t.Skip("PULSE_SERVER not set: no virtual sound device")
	}
	for _, tool := range []string{"espeak-ng", "paplay", "pactl", "opusinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (make deps installs it)", tool)
		}
	}
}

// audioEnv is a vault with one case, for recording tests, plus the sound
// server's environment with a private null sink: what this test plays is
// what it records, and no other package's sound reaches it.
func audioEnv(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	sink := privateSink(t)
	env := []string{"FIELDCASE_VAULT=" + filepath.Join(dir, "v.db"), "FIELDCASE_PASSPHRASE=" + secret(t),
		"PULSE_SINK=" + sink, "PULSE_SOURCE=" + sink + ".monitor"}
	for _, k := range []string{"PULSE_SERVER", "PULSE_COOKIE", "ALSA_CONFIG_PATH", "XDG_RUNTIME_DIR", "JACK_NO_START_SERVER"} {
		env = append(env, k+"="+os.Getenv(k))
	}
	for _, args := range [][]string{{"init"}, {"case", "add", "--ref", "GAL-1", "--subject", "Court Child"}} {
		if out, errOut, code := fc(t, env, "", args...); code != 0 {
			t.Fatalf("%v: %s%s", args, out, errOut)
		}
	}
	return env
}

// privateSink loads a null sink for this test (and a keepalive reader, so a
// new recording gets its first buffer at once), unloaded at the end.
func privateSink(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("fc%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	load := func(args ...string) string {
		out, err := exec.Command("pactl", append([]string{"load-module"}, args...)...).Output()
		if err != nil {
			t.Fatalf("pactl load-module %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	sinkMod := load("module-null-sink", "sink_name="+name)
	loopMod := load("module-loopback", "source="+name+".monitor", "sink=va_drain", "latency_msec=40")
	t.Cleanup(func() {
		exec.Command("pactl", "unload-module", loopMod).Run()
		exec.Command("pactl", "unload-module", sinkMod).Run()
	})
	// A new null sink renders its first block late; wait until it runs at
	// the keepalive's pace.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("pactl", "list", "sinks").Output()
		if sinkLatencyOK(string(out), name) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return name
}

func sinkLatencyOK(list, name string) bool {
	in := false
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "Name:" {
			in = f[1] == name
		}
		if in && len(f) >= 2 && f[0] == "Latency:" {
			us, err := strconv.Atoi(f[1])
			return err == nil && us < 100000
		}
	}
	return false
}

type recInfo struct {
	ID          string  `json:"id"`
	Duration    float64 `json:"duration_seconds"`
	Interrupted bool    `json:"interrupted"`
	Chunks      int     `json:"chunks"`
}

func recordings(t *testing.T, env []string) []recInfo {
	t.Helper()
	out, errOut, code := fc(t, env, "", "recording", "list", "--case", "GAL-1", "--json")
	if code != 0 {
		t.Fatalf("recording list: %s", errOut)
	}
	var rs []recInfo
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

// export writes the recording as .ogg and .wav, checks the Ogg with
// opusinfo, and returns the WAV's samples.
func export(t *testing.T, env []string, id string) []int16 {
	t.Helper()
	dir := t.TempDir()
	ogg, wav := filepath.Join(dir, "r.ogg"), filepath.Join(dir, "r.wav")
	for _, f := range []string{ogg, wav} {
		if _, errOut, code := fc(t, env, "", "recording", "export", id, "-o", f); code != 0 {
			t.Fatalf("export %s: %s", f, errOut)
		}
	}
	out, err := exec.Command("opusinfo", ogg).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Playback length") {
		t.Fatalf("opusinfo refuses the export: %v\n%s", err, out)
	}
	b, err := os.ReadFile(wav)
	if err != nil || len(b) < 44 {
		t.Fatal("no WAV")
	}
	pcm := make([]int16, (len(b)-44)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[44+2*i:]))
	}
	return pcm
}

func rmsDB(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	if len(pcm) == 0 || s == 0 {
		return -120
	}
	return 20 * math.Log10(math.Sqrt(s/float64(len(pcm)))/32768)
}

// Dictating while someone speaks: the recording has the speech in it and
// lasts as long as asked; with nothing said, it is silence.
func TestRecordSpeechAndSilence(t *testing.T) {
	t.Parallel() // its own vault and private sound sink: real time, mostly waiting
	needAudio(t)
	env := audioEnv(t)
	speech := filepath.Join(t.TempDir(), "speech.wav")
	if out, err := exec.Command("espeak-ng", "-w", speech, "The guardian visited the child at home and recommends that contact continues every week.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v %s", err, out)
	}
	// Speak after the recorder has started (its first buffer comes within
	// ~100 ms), so the start of the sentence is not lost.
	play := exec.Command("sh", "-c", "sleep 1.5; exec paplay "+speech)
	play.Env = append(os.Environ(), env...)
	if err := play.Start(); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := fc(t, env, "", "record", "--case", "GAL-1", "--seconds", "7s"); code != 0 {
		t.Fatalf("record: %s", errOut)
	}
	play.Wait()
	if _, errOut, code := fc(t, env, "", "record", "--case", "GAL-1", "--seconds", "3s"); code != 0 {
		t.Fatalf("record silence: %s", errOut)
	}
	rs := recordings(t, env)
	if len(rs) != 2 {
		t.Fatalf("%d recordings", len(rs))
	}
	// Newest first: silence, then speech.
	silence, talk := rs[0], rs[1]
	for _, c := range []struct {
		r    recInfo
		want float64
	}{{talk, 7}, {silence, 3}} {
		if math.Abs(c.r.Duration-c.want) > 0.2 {
			t.Errorf("recording of %.0f s lasts %.2f s", c.want, c.r.Duration)
		}
	}
	talkDB, silentDB := rmsDB(export(t, env, talk.ID)), rmsDB(export(t, env, silence.ID))
	t.Logf("speech %.1f dBFS, silence %.1f dBFS", talkDB, silentDB)
	if talkDB < -45 || silentDB > -70 || talkDB-silentDB < 30 {
		t.Errorf("speech %.1f dBFS vs silence %.1f dBFS: not speech above a silence floor", talkDB, silentDB)
	}
}

// The laptop dies mid-dictation (SIGKILL to the recorder): on the next start
// the recording is there up to the last committed chunk, marked interrupted,
// and plays.
func TestRecordKilledMidRecording(t *testing.T) {
	t.Parallel() // its own vault and private sound sink: real time, mostly waiting
	needAudio(t)
	env := audioEnv(t)
	cmd := exec.Command(filepath.Join(binDir, "fieldcase"), "record", "--case", "GAL-1", "--seconds", "60s")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	// Wait for the microphone to run (unlocking takes its time), record
	// ~3 s, then pull the plug.
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "recording to GAL-1") {
				started <- true
			}
		}
		close(started)
	}()
	select {
	case ok := <-started:
		if !ok {
			t.Fatal("the recorder ended before recording")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the recorder never started")
	}
	time.Sleep(3 * time.Second)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	lived := time.Since(began).Seconds()
	rs := recordings(t, env) // runs the recovery
	if len(rs) != 1 {
		t.Fatalf("%d recordings after the kill", len(rs))
	}
	r := rs[0]
	// Chunks are committed as they come; a loaded machine may have a
	// second or two still in flight when the plug is pulled. The recording
	// can hold at most what the process lived to hear (on a loaded machine
	// this test may see the "recording" line late, so not "3 s").
	if !r.Interrupted || r.Chunks < 1 || r.Duration < 0.9 || r.Duration > lived {
		t.Fatalf("after SIGKILL: %+v (want interrupted, at least a second and at most the %.1f s the recorder lived)", r, lived)
	}
	if pcm := export(t, env, r.ID); math.Abs(float64(len(pcm))/16000-r.Duration) > 0.1 {
		t.Errorf("export holds %.2f s, the manifest says %.2f s", float64(len(pcm))/16000, r.Duration)
	}
}

// No microphone: a clear error, and the vault is untouched and usable.
func TestRecordWithoutMicrophone(t *testing.T) {
	t.Parallel() // its own vault and private sound sink: real time, mostly waiting
	dir := t.TempDir()
	env := []string{"FIELDCASE_VAULT=" + filepath.Join(dir, "v.db"), "FIELDCASE_PASSPHRASE=" + secret(t),
		"PULSE_SERVER=unix:" + filepath.Join(dir, "no-such-socket"), "ALSA_CONFIG_PATH=" + filepath.Join(dir, "none.conf")}
	os.WriteFile(filepath.Join(dir, "none.conf"), []byte("pcm.!default { type null }\n"), 0o600)
	fc(t, env, "", "init")
	fc(t, env, "", "case", "add", "--ref", "GAL-1", "--subject", "x")
	_, errOut, code := fc(t, env, "", "record", "--case", "GAL-1", "--seconds", "1s", "--device", "no-such-microphone")
	if code == 0 || !strings.HasPrefix(errOut, "fieldcase: ") || !strings.Contains(errOut, "no audio device") ||
		!strings.Contains(errOut, "hint: plug in or enable a microphone") || strings.Contains(errOut, "goroutine") {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	if rs := recordings(t, env); len(rs) != 0 {
		t.Errorf("a failed recording left %d recordings behind", len(rs))
	}
	if out, _, code := fc(t, env, "", "case", "list"); code != 0 || !strings.Contains(out, "GAL-1") {
		t.Errorf("vault unusable after a failed recording: %s", out)
	}
}
