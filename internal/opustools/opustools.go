// Package opustools runs the reference opus-tools programs (opusinfo,
// opusdec) on Ogg Opus files, for tests: a check of what this project
// writes by tools it did not write. A test that needs them is skipped where
// they are missing, and fails on CI, where they must be installed.
package opustools

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// Tool returns the path of an opus-tools program, skipping the test (or
// failing it on CI) when it is missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (apt-get install opus-tools)", name)
		}
		t.Skipf("%s not installed (apt-get install opus-tools)", name)
	}
	return p
}

var playbackLength = regexp.MustCompile(`Playback length:\s+(?:(\d+)h:)?(\d+)m:([\d.]+)s`)

// PlaybackLength checks the file at path with opusinfo, failing the test
// if opusinfo complains, and returns the playback length it reports.
func PlaybackLength(t testing.TB, path string) time.Duration {
	t.Helper()
	out, err := exec.Command(Tool(t, "opusinfo"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("opusinfo: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("WARNING")) || bytes.Contains(out, []byte("ERROR")) {
		t.Errorf("opusinfo complains:\n%s", out)
	}
	m := playbackLength.FindSubmatch(out)
	if m == nil {
		t.Fatalf("opusinfo printed no playback length:\n%s", out)
	}
	h, _ := strconv.Atoi("0" + string(m[1]))
	mi, _ := strconv.Atoi(string(m[2]))
	s, _ := strconv.ParseFloat(string(m[3]), 64)
	return time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s*float64(time.Second))
}

// DecodeWAV decodes the file at path with opusdec to 16 kHz without
// dither, so the same packets always give the same samples, and returns
// the WAV file's bytes.
func DecodeWAV(t testing.TB, path string) []byte {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "decoded.wav")
	if out, err := exec.Command(Tool(t, "opusdec"), "--quiet", "--rate", "16000", "--no-dither", path, wav).CombinedOutput(); err != nil {
		t.Fatalf("opusdec %s: %v\n%s", path, err, out)
	}
	b, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
