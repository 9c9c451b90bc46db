package dictation

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio"
)

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// wavSamples reads the PCM of a 16-bit mono WAV (44-byte header).
func wavSamples(t *testing.T, b []byte) []int16 {
	t.Helper()
	if len(b) < 44 || string(b[:4]) != "RIFF" {
		t.Fatal("not a WAV file")
	}
	pcm := make([]int16, (len(b)-44)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[44+2*i:]))
	}
	return pcm
}

// window is 50 ms of pcm starting at at, or nil past the end.
func window(pcm []int16, at time.Duration) []int16 {
	start := int(at.Seconds() * audio.SampleRate)
	n := audio.SampleRate / 20
	if start < 0 || start+n > len(pcm) {
		return nil
	}
	return pcm[start : start+n]
}

// similar reports whether two windows hold the same audio: decoding the
// same packets after a decoder reset gives the same samples, give or take
// rounding.
func similar(a, b []int16) bool {
	var diff, energy float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		diff += d * d
		energy += float64(b[i]) * float64(b[i])
	}
	return energy > 0 && diff <= 0.01*energy
}
