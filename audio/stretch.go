package audio

import "math"

// Speeds a Player can play at: a typist slows fast or unclear speech down
// and speeds a slow speaker up, as on a dictation machine.
const (
	MinSpeed = 0.75
	MaxSpeed = 1.5
)

// ClampSpeed returns s within [MinSpeed, MaxSpeed]; 1 for a value that is
// not a number.
func ClampSpeed(s float64) float64 {
	if math.IsNaN(s) {
		return 1
	}
	return min(max(s, MinSpeed), MaxSpeed)
}

// stretcher changes the tempo of speech without changing its pitch, by
// waveform-similarity overlap-add (WSOLA; Verhelst and Roelands, ICASSP
// 1993): it cuts the input into overlapping windows taken every hs×speed
// samples and adds them back every hs samples, each window moved within
// ±tol samples to where it best continues the one before, so that periods
// line up and the voice neither warbles nor drops an octave. 30 ms windows
// at half overlap (a periodic Hann window sums to one there) suit speech.
type stretcher struct {
	w, hs, tol int
	win        []float32
	in         []float32 // input not yet used up
	dropped    int64     // input samples removed from in's front
	fed        int64     // input samples pushed
	ana        float64   // nominal start of the next window in in
	nat        int       // where the last window would go on, in in; -1 before the first
	ola        []float32 // the second half of the last window, to add to the next
	out        []int16   // output ready
}

func newStretcher(rate int) *stretcher {
	w := max(rate*30/1000, 8) &^ 1
	s := &stretcher{w: w, hs: w / 2, tol: max(rate*8/1000, 1), nat: -1}
	s.win = make([]float32, w)
	for i := range s.win {
		s.win[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(w)))
	}
	s.ola = make([]float32, s.hs)
	return s
}

// push adds input samples.
func (s *stretcher) push(pcm []int16) {
	for _, v := range pcm {
		s.in = append(s.in, float32(v))
	}
	s.fed += int64(len(pcm))
}

// process makes as much output as the input allows at speed.
func (s *stretcher) process(speed float64) {
	for {
		a := int(s.ana)
		if a+s.tol+s.w > len(s.in) || s.nat >= 0 && s.nat+s.w > len(s.in) {
			break
		}
		c := a
		if s.nat >= 0 {
			c = s.bestMatch(a)
		}
		for i := 0; i < s.hs; i++ {
			s.out = append(s.out, clip16(s.ola[i]+s.in[c+i]*s.win[i]))
		}
		for i := 0; i < s.hs; i++ {
			s.ola[i] = s.in[c+s.hs+i] * s.win[s.hs+i]
		}
		s.nat = c + s.hs
		s.ana += float64(s.hs) * speed
		// Keep what a later window may still reach.
		if drop := min(int(s.ana)-s.tol, s.nat); drop > 4*s.w {
			s.in = append(s.in[:0], s.in[drop:]...)
			s.ana -= float64(drop)
			s.nat -= drop
			s.dropped += int64(drop)
		}
	}
}

// bestMatch returns the start within a±tol whose window best continues the
// last one (its natural continuation at nat), by normalised
// cross-correlation: every other start on every fourth sample, then the
// two starts beside the best on every other sample (a quarter of the work
// of a full search, which matters on a slow laptop at 48 kHz).
func (s *stretcher) bestMatch(a int) int {
	lo, hi := max(a-s.tol, 0), a+s.tol
	best, bestScore := max(a, 0), float32(math.Inf(-1))
	for c := lo; c <= hi; c += 2 {
		if sc := s.score(c, 4); sc > bestScore {
			best, bestScore = c, sc
		}
	}
	coarse := best
	bestScore = s.score(coarse, 2)
	for _, c := range []int{coarse - 1, coarse + 1} {
		if c < lo || c > hi {
			continue
		}
		if sc := s.score(c, 2); sc > bestScore {
			best, bestScore = c, sc
		}
	}
	return best
}

// score is the normalised cross-correlation of the window at c with the
// natural continuation, on every step-th sample.
func (s *stretcher) score(c, step int) float32 {
	ref, cand := s.in[s.nat:s.nat+s.w], s.in[c:c+s.w]
	var xy, yy float32
	for i := 0; i < len(ref); i += step {
		xy += ref[i] * cand[i]
		yy += cand[i] * cand[i]
	}
	return xy / float32(math.Sqrt(float64(yy)+1))
}

// flush ends the input: what is left goes out.
func (s *stretcher) flush() {
	for i := 0; i < s.hs; i++ {
		s.out = append(s.out, clip16(s.ola[i]))
	}
	clear(s.ola)
}

// take moves up to len(buf) output samples into buf and returns how many.
func (s *stretcher) take(buf []int16) int {
	n := copy(buf, s.out)
	s.out = append(s.out[:0], s.out[n:]...)
	return n
}

// lag is how many input samples were pushed but are not yet out of take:
// where in the input the next sample taken comes from, counted back from
// the newest pushed.
func (s *stretcher) lag(speed float64) int64 {
	at := s.dropped + int64(s.ana) - int64(float64(len(s.out)+s.hs)*speed)
	return max(s.fed-at, 0)
}

func clip16(f float32) int16 {
	switch {
	case f > math.MaxInt16:
		return math.MaxInt16
	case f < math.MinInt16:
		return math.MinInt16
	}
	return int16(f)
}
