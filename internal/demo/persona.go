package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/trust"
)

// Persona is whose laptop a demo vault is. Every persona's vault is cut
// from one demo world (the same seed, the same cases): the supervisor holds
// every case of the team, the caseworker their own caseload, the typist the
// cases opened to typing, as the case server would hand them out.
type Persona string

const (
	Supervisor Persona = "supervisor"
	Caseworker Persona = "caseworker"
	Typist     Persona = "typist"
)

// Personas lists the personas, the default first.
var Personas = []Persona{Supervisor, Caseworker, Typist}

// Team is the demo team every persona belongs to.
const Team = "Demo Team North"

// CaseworkerName is the caseworker persona: one of the workers named on
// the demo cases, so that their caseload is what the supervisor's team view
// shows under that name.
var CaseworkerName = workers[0]

// ParsePersona reads a persona's name.
func ParsePersona(s string) (Persona, error) {
	if p := Persona(strings.ToLower(strings.TrimSpace(s))); slices.Contains(Personas, p) {
		return p, nil
	}
	names := make([]string, len(Personas))
	for i, p := range Personas {
		names[i] = string(p)
	}
	return "", fmt.Errorf("no demo persona %q: choose %s", s, strings.Join(names, ", "))
}

// Profile is who the persona's vault belongs to.
func (p Persona) Profile() store.Profile {
	switch p {
	case Caseworker:
		return store.Profile{Name: CaseworkerName, Role: trust.RoleCaseworker, Team: Team}
	case Typist:
		return store.Profile{Name: "Demo Typist", Role: trust.RoleTypist, Team: Team}
	}
	return store.Profile{Name: "Demo Supervisor", Role: trust.RoleSupervisor, Team: Team}
}

// typingPerWorker is how many open cases of each worker have dictations
// waiting for typing.
const typingPerWorker = 2

// dayTasks are due today in the caseworker's first open cases, so that
// their agenda has a day to show whenever the demo is made.
var dayTasks = []record.Task{
	{Title: "Statutory visit", Kind: "visit"},
	{Title: "Call school", Kind: "task"},
	{Title: "Write court statement", Kind: "task"},
}

// world decides, case by case in the order they are made, what the demo
// world holds (which cases are open to typing, which tasks are due today)
// and which of it the persona's vault holds. Its choices draw nothing from
// the generator's randomness, so every persona's cases are the same.
type world struct {
	p       Persona
	today   time.Time
	typing  map[string]int // worker → their cases opened to typing so far
	nTyping int            // cases opened to typing so far
	day     int            // tasks of dayTasks placed so far
	cases   int            // cases the persona holds
	queue   []typingCase   // held cases open to typing
}

// fate is what the world decided about one case.
type fate struct {
	held   bool
	typing int // index among the world's cases open to typing; -1 if not
	day    int // index into dayTasks of a task due today; -1 if none
}

type typingCase struct {
	id    string
	c     record.Case
	index int
}

func (w *world) place(c record.Case) fate {
	f := fate{typing: -1, day: -1}
	if c.Status == record.CaseOpen && w.typing[c.Workers[0]] < typingPerWorker {
		w.typing[c.Workers[0]]++
		f.typing = w.nTyping
		w.nTyping++
	}
	if c.Status == record.CaseOpen && slices.Contains(c.Workers, CaseworkerName) && w.day < len(dayTasks) {
		f.day = w.day
		w.day++
	}
	switch w.p {
	case Caseworker:
		f.held = slices.Contains(c.Workers, CaseworkerName)
	case Typist:
		f.held = f.typing >= 0 // a typist is handed only the cases open to typing
	default:
		f.held = true
	}
	return f
}

func (w *world) hold(tx writer, caseID string, c record.Case, f fate) error {
	w.cases++
	if f.typing >= 0 {
		w.queue = append(w.queue, typingCase{id: caseID, c: c, index: f.typing})
	}
	if f.day >= 0 {
		t := dayTasks[f.day]
		t.Due = record.DateOf(w.today)
		if _, err := tx.AddTask(caseID, t); err != nil {
			return err
		}
	}
	return nil
}

// Held is what PopulateFor put in a persona's vault beyond the counts of
// store.Stats.
type Held struct {
	Recordings int // submitted for typing
}

// ErrNothingHeld means the persona holds none of so few demo cases.
var ErrNothingHeld = errors.New("holds none of the demo cases")

// PopulateFor fills v with what persona p's laptop holds of the demo world
// of o: the cases (with their notes, consents and tasks), and in the cases
// open to typing, dictations submitted for typing, with real Opus audio of
// a few seconds each. v's profile should be p.Profile().
func PopulateFor(v *store.Vault, p Persona, o Options) (Held, error) {
	if !slices.Contains(Personas, p) {
		return Held{}, fmt.Errorf("no demo persona %q", p)
	}
	o.defaults()
	w := &world{p: p, today: o.Today, typing: map[string]int{}}
	g := &gen{r: rand.New(rand.NewPCG(o.Seed, 0x5eed)), today: o.Today, world: w}
	if err := g.populate(v, o); err != nil {
		return Held{}, err
	}
	if w.cases == 0 {
		return Held{}, fmt.Errorf("the demo %s, %s, %w: only %d made", p, p.Profile().Name, ErrNothingHeld, o.Cases)
	}
	var h Held
	for _, tc := range w.queue {
		for k := range 1 + tc.index%2 {
			if err := dictate(v, tc, k, o); err != nil {
				return h, fmt.Errorf("demo dictation in %s: %w", tc.c.Ref, err)
			}
			h.Recordings++
		}
	}
	return h, nil
}

var dictationTitles = map[string]string{
	"visit note":   "Home visit",
	"court report": "Statement for the hearing",
	"letter":       "Letter to the school",
	"other":        "Strategy discussion",
}

// dictate adds the k-th dictation of a case open to typing, submitted.
func dictate(v *store.Vault, tc typingCase, k int, o Options) error {
	n := tc.index*2 + k
	workType := record.WorkTypes[(tc.index+k)%len(record.WorkTypes)] // a case's second dictation, another kind
	meta := record.Recording{
		Title:    dictationTitles[workType],
		WorkType: workType,
		Priority: []record.Priority{record.PriorityNormal, record.PriorityHigh, record.PriorityNormal, record.PriorityUrgent, record.PriorityNormal}[n%5],
		Recorded: o.Today.Add(-time.Duration(3+n*5) * time.Hour).UTC().Truncate(time.Minute).Format(time.RFC3339),
		Author:   tc.c.Workers[0],
	}
	r, err := dictation.New(v, tc.id, meta)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(o.Seed, uint64(0xd1c7+n)))
	voice := slices.Index(workers, meta.Author)
	if err := r.AppendPCM(context.Background(), SpeechLike(rng, time.Duration(3000+rng.IntN(3000))*time.Millisecond, voice)); err != nil {
		return err
	}
	return r.SetStatus(record.StatusSubmitted)
}

// SpeechLike is d of mono PCM at audio.SampleRate that sounds like someone
// talking in the next room: syllables of a voiced buzz shaped by two
// formants, gliding in pitch, grouped into words with pauses between. It
// says nothing, but has speech's rhythm, so playback, its speed and its
// position can be heard. voice (0–3) picks the speaker's pitch.
func SpeechLike(r *rand.Rand, d time.Duration, voice int) []int16 {
	const rate = float64(audio.SampleRate)
	n := int(d.Seconds() * rate)
	out := make([]float64, n)
	f0 := []float64{120, 205, 105, 185}[((voice%4)+4)%4]
	pos := int(0.15 * rate) // a breath before the first word
	phase := 0.0
	var amps []float64
	for pos < n {
		for s := 1 + r.IntN(3); s > 0 && pos < n; s-- { // a word: 1–3 syllables
			length := int((0.11 + 0.15*r.Float64()) * rate)
			pitch := f0 * (0.85 + 0.3*r.Float64())
			glide := pitch * (r.Float64() - 0.6) * 0.25 // mostly falling
			f1 := 300 + 500*r.Float64()                 // the vowel's formants
			f2 := 900 + 1400*r.Float64()
			loud := 0.6 + 0.4*r.Float64()
			// The harmonics' strengths, at the syllable's middle pitch.
			amps := amps[:0]
			for h := 1; float64(h)*(pitch+glide/2) < 3400; h++ {
				f := float64(h) * (pitch + glide/2)
				amps = append(amps, math.Exp(-sq((f-f1)/180))+0.5*math.Exp(-sq((f-f2)/260))+0.08/float64(h))
			}
			for i := 0; i < length && pos+i < n; i++ {
				t := float64(i) / float64(length)
				phase = math.Mod(phase+2*math.Pi*(pitch+glide*t)/rate, 2*math.Pi)
				// sin(h·x) for every h from sin(x) and cos(x):
				// sin((h+1)x) = 2 cos(x) sin(hx) − sin((h−1)x).
				s1, c1 := math.Sincos(phase)
				prev, cur, v := 0.0, s1, 0.0
				for _, a := range amps {
					v += a * cur
					prev, cur = cur, 2*c1*cur-prev
				}
				out[pos+i] += loud * math.Sin(math.Pi*t) * v
			}
			pos += length + int(0.01*rate)
		}
		pause := 0.06 + 0.2*r.Float64()
		if r.IntN(5) == 0 {
			pause += 0.4 // the end of a sentence
		}
		pos += int(pause * rate)
	}
	peak := 0.0
	for _, v := range out {
		peak = max(peak, math.Abs(v))
	}
	pcm := make([]int16, n)
	if peak == 0 {
		return pcm
	}
	for i, v := range out {
		pcm[i] = int16(v / peak * 9000)
	}
	return pcm
}

func sq(x float64) float64 { return x * x }
