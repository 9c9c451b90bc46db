package audio

import (
	"math"
	"testing"
)

// stretchAll runs pcm through a stretcher at speed, in packet-sized pieces
// as the player feeds it, and returns all of its output.
func stretchAll(pcm []int16, rate int, speed float64) []int16 {
	s := newStretcher(rate)
	var out []int16
	buf := make([]int16, 4096)
	frame := rate / 50
	for i := 0; i < len(pcm); i += frame {
		s.push(pcm[i:min(i+frame, len(pcm))])
		s.process(speed)
		for n := s.take(buf); n > 0; n = s.take(buf) {
			out = append(out, buf[:n]...)
		}
	}
	s.flush()
	for n := s.take(buf); n > 0; n = s.take(buf) {
		out = append(out, buf[:n]...)
	}
	return out
}

func chord(rate int, d float64, hz ...float64) []int16 {
	pcm := make([]int16, int(d*float64(rate)))
	for i := range pcm {
		var v float64
		for _, f := range hz {
			v += math.Sin(2 * math.Pi * f * float64(i) / float64(rate))
		}
		pcm[i] = int16(8000 * v / float64(len(hz)))
	}
	return pcm
}

// crossings counts the upward zero crossings per second of the middle of
// pcm (away from the start and the end): the frequency of a pure tone.
func crossings(pcm []int16, rate int) float64 {
	mid := pcm[len(pcm)/4 : 3*len(pcm)/4]
	n := 0
	for i := 1; i < len(mid); i++ {
		if mid[i-1] < 0 && mid[i] >= 0 {
			n++
		}
	}
	return float64(n) / (float64(len(mid)) / float64(rate))
}

func midRMS(pcm []int16) float64 {
	mid := pcm[len(pcm)/4 : 3*len(pcm)/4]
	var s float64
	for _, v := range mid {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(mid)))
}

// At every speed the typist may choose the length changes by the speed and
// the pitch does not: a 440 Hz tone stays 440 Hz, with its loudness (badly
// aligned windows would cancel and the level would drop).
func TestStretchKeepsPitch(t *testing.T) {
	for _, rate := range []int{16000, 48000} {
		for _, hz := range []float64{140, 440} {
			in := chord(rate, 1.5, hz) // ~200 periods of 140 Hz: crossings count to ±1%
			for _, speed := range []float64{MinSpeed, 0.9, 1.25, MaxSpeed} {
				out := stretchAll(in, rate, speed)
				want := float64(len(in)) / speed
				if got := float64(len(out)); math.Abs(got-want) > 0.03*want {
					t.Errorf("%d Hz, %.0f Hz tone at %.2f×: %d samples out of %d, want about %.0f", rate, hz, speed, len(out), len(in), want)
				}
				if f := crossings(out, rate); math.Abs(f-hz) > 0.02*hz {
					t.Errorf("%d Hz, %.0f Hz tone at %.2f×: plays at %.1f Hz", rate, hz, speed, f)
				}
				if r, r0 := midRMS(out), midRMS(in); math.Abs(r-r0) > 0.1*r0 {
					t.Errorf("%d Hz, %.0f Hz tone at %.2f×: level %.0f, want about %.0f", rate, hz, speed, r, r0)
				}
			}
		}
	}
}

// A chord (two tones, as a voice has harmonics) keeps both.
func TestStretchChord(t *testing.T) {
	const rate = 16000
	in := chord(rate, 3, 200, 300)
	out := stretchAll(in, rate, 1.4)
	if r, r0 := midRMS(out), midRMS(in); math.Abs(r-r0) > 0.15*r0 {
		t.Errorf("chord at 1.4×: level %.0f, want about %.0f", r, r0)
	}
	// The sum of 200 and 300 Hz repeats at 100 Hz: its strongest lag is
	// 10 ms in the output as in the input.
	if lag := period(out, rate); lag != rate/100 {
		t.Errorf("chord at 1.4×: repeats every %d samples, want %d", lag, rate/100)
	}
}

// period is the lag, between 2 and 20 ms, at which the middle of pcm
// correlates best with itself.
func period(pcm []int16, rate int) int {
	mid := pcm[len(pcm)/4 : len(pcm)/2]
	best, bestV := 0, math.Inf(-1)
	for lag := rate / 500; lag <= rate/50; lag++ {
		var v float64
		for i := 0; i+lag < len(mid); i++ {
			v += float64(mid[i]) * float64(mid[i+lag])
		}
		if v > bestV {
			best, bestV = lag, v
		}
	}
	return best
}

func TestClampSpeed(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{{0, MinSpeed}, {0.75, 0.75}, {1, 1}, {1.5, 1.5}, {9, MaxSpeed}, {math.NaN(), 1}, {math.Inf(1), MaxSpeed}, {math.Inf(-1), MinSpeed}} {
		if got := ClampSpeed(tt.in); got != tt.want {
			t.Errorf("ClampSpeed(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// lag says where in the input playback is: after a steady run it is within
// a window and the output buffered, not drifting with the length played.
func TestStretchLag(t *testing.T) {
	const rate = 16000
	s := newStretcher(rate)
	in := chord(rate, 10, 440)
	buf := make([]int16, rate/50)
	for i := 0; i < len(in); i += rate / 50 {
		s.push(in[i : i+rate/50])
		s.process(1.5)
		s.take(buf)
		if l := s.lag(1.5); l < 0 || l > int64(6*s.w) {
			t.Fatalf("after %d samples lag %d, want 0..%d", i, l, 6*s.w)
		}
	}
}

// BenchmarkStretch: the CPU time the stretcher takes per second of audio
// at 1.5× and 48 kHz (the heaviest case a device runs): a small share
// leaves the laptop free while the typist types.
func BenchmarkStretch(b *testing.B) {
	const rate = 48000
	in := chord(rate, 10, 200, 300)
	b.ResetTimer()
	for range b.N {
		stretchAll(in, rate, MaxSpeed)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/10, "cpu-s/audio-s")
}
