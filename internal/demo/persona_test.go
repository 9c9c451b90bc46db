package demo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio"
	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
	"github.com/fieldcase/fieldcase/trust"
)

var personaToday = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// personaVault makes p's demo vault of 40 cases, closes it and opens it
// again as the TUI would: with the passphrase.
func personaVault(t *testing.T, p Persona) (*store.Vault, Held) {
	t.Helper()
	path := filepath.Join(t.TempDir(), string(p)+".db")
	v := storetest.Create(t, path, Passphrase, p.Profile(), store.Options{Demo: true})
	h, err := PopulateFor(v, p, Options{Cases: 40, Seed: 1, Today: personaToday})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	v = storetest.Open(t, path, store.Options{})
	if !v.IsDemo() {
		t.Error("not marked a demo vault")
	}
	if err := v.Unlock(Passphrase); err != nil {
		t.Fatal(err)
	}
	if err := v.LoadAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := v.Profile(); got != p.Profile() {
		t.Errorf("profile %+v, want %+v", got, p.Profile())
	}
	return v, h
}

// refs is every case of v by reference.
func refs(t *testing.T, v *store.Vault) map[string]store.CaseView {
	t.Helper()
	cs, err := v.Cases()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.CaseView{}
	for _, c := range cs {
		if c.Sealed {
			t.Errorf("case %s is sealed in its own demo vault", c.ID)
		}
		out[c.Value.Ref] = c
	}
	return out
}

// waiting is the references of the cases of v with a dictation submitted
// for typing.
func waiting(t *testing.T, v *store.Vault) []string {
	t.Helper()
	ids, err := caseload.CasesWaitingTranscription(v)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, id := range ids {
		c, err := v.Case(id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c.Value.Ref)
	}
	slices.Sort(out)
	return out
}

func TestParsePersona(t *testing.T) {
	for _, p := range Personas {
		if got, err := ParsePersona(" " + string(p)); err != nil || got != p {
			t.Errorf("ParsePersona(%q) = %q, %v", p, got, err)
		}
	}
	if _, err := ParsePersona("admin"); err == nil {
		t.Error("ParsePersona accepted admin")
	}
	roles := map[trust.Role]bool{}
	for _, p := range Personas {
		pr := p.Profile()
		if pr.Team != Team || pr.Name == "" {
			t.Errorf("%s: profile %+v", p, pr)
		}
		roles[pr.Role] = true
	}
	if !roles[trust.RoleSupervisor] || !roles[trust.RoleCaseworker] || !roles[trust.RoleTypist] {
		t.Errorf("the personas' roles are %v", roles)
	}
}

// The three personas' vaults are cut from one world: the caseworker holds
// exactly their own cases of the supervisor's, the typist exactly those
// with dictations waiting, the same cases under the same references.
func TestPersonasShareOneWorld(t *testing.T) {
	sup, supHeld := personaVault(t, Supervisor)
	cw, cwHeld := personaVault(t, Caseworker)
	ty, tyHeld := personaVault(t, Typist)
	all, mine, typing := refs(t, sup), refs(t, cw), refs(t, ty)
	if len(all) != 40 {
		t.Fatalf("supervisor holds %d cases, want 40", len(all))
	}
	var own []string
	for ref, c := range all {
		if slices.Contains(c.Value.Workers, CaseworkerName) {
			own = append(own, ref)
		}
	}
	if len(own) == 0 || len(mine) != len(own) {
		t.Errorf("caseworker holds %d cases; %s has %d of the supervisor's", len(mine), CaseworkerName, len(own))
	}
	for ref, c := range mine {
		if s, ok := all[ref]; !ok || s.Value.Subject != c.Value.Subject {
			t.Errorf("caseworker's %s (%s) is not the supervisor's", ref, c.Value.Subject)
		}
	}
	// A typist is handed the cases open to typing, and nothing else.
	want := waiting(t, sup)
	got := waiting(t, ty)
	var held []string
	for ref := range typing {
		held = append(held, ref)
	}
	slices.Sort(held)
	if len(want) < 4 || !slices.Equal(got, want) || !slices.Equal(held, want) {
		t.Errorf("typist holds %v, with dictations waiting in %v; the supervisor's cases waiting are %v", held, got, want)
	}
	if supHeld.Recordings != tyHeld.Recordings || cwHeld.Recordings == 0 || cwHeld.Recordings >= tyHeld.Recordings {
		t.Errorf("recordings: supervisor %d, caseworker %d, typist %d", supHeld.Recordings, cwHeld.Recordings, tyHeld.Recordings)
	}
}

// The caseworker's agenda has a day: something overdue, something today.
func TestCaseworkerHasADay(t *testing.T) {
	v, _ := personaVault(t, Caseworker)
	st, err := v.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Cases < 5 || st.Notes < 20 || st.Tasks < 5 || st.Consents < 5 {
		t.Errorf("the caseworker's caseload is thin: %+v", st)
	}
	ag, err := caseload.AgendaOf(v, record.DateOf(personaToday), 7)
	if err != nil {
		t.Fatal(err)
	}
	n := map[caseload.AgendaSection]int{}
	titles := map[string]bool{}
	for _, it := range ag.Items {
		n[it.Section]++
		if it.Section == caseload.SectionToday {
			titles[it.What] = true
		}
		if !slices.Contains(it.Whose, CaseworkerName) {
			t.Errorf("agenda item of someone else's case: %+v", it)
		}
	}
	if n[caseload.SectionOverdue] == 0 || n[caseload.SectionToday] < len(dayTasks) {
		t.Errorf("agenda: %d overdue, %d today (want some, and at least %d)", n[caseload.SectionOverdue], n[caseload.SectionToday], len(dayTasks))
	}
	for _, dt := range dayTasks {
		if !titles[dt.Title] {
			t.Errorf("%q is not due today: %v", dt.Title, titles)
		}
	}
}

// The typist's queue is dictations submitted for typing, of several
// priorities, work types and authors, each a few seconds of real Opus
// audio that decodes to sound.
func TestTypistQueueDecodes(t *testing.T) {
	v, h := personaVault(t, Typist)
	ids, err := caseload.CasesWaitingTranscription(v)
	if err != nil {
		t.Fatal(err)
	}
	prio, kinds, authors := map[record.Priority]bool{}, map[string]bool{}, map[string]bool{}
	n := 0
	for _, caseID := range ids {
		recs, err := v.Recordings(caseID)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range recs {
			n++
			r := it.Value
			prio[r.Priority], kinds[r.WorkType], authors[r.Author] = true, true, true
			if r.Status != "submitted" || r.Codec != "opus" || r.Title == "" {
				t.Errorf("recording %s: %+v", it.ID, r)
			}
			if d := time.Duration(r.DurationMS) * time.Millisecond; d < 3*time.Second || d > 6500*time.Millisecond {
				t.Errorf("recording %s lasts %v, want 3–6 s", it.ID, d)
			}
			rec, err := dictation.Open(v, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			var wav bytes.Buffer
			if err := rec.ExportWAV(context.Background(), &wav); err != nil {
				t.Fatalf("recording %s does not decode: %v", it.ID, err)
			}
			pcm := wavPCM(t, wav.Bytes())
			if got := float64(len(pcm)) / audio.SampleRate; math.Abs(got-float64(r.DurationMS)/1000) > 0.1 {
				t.Errorf("recording %s decodes to %.2f s, its manifest says %d ms", it.ID, got, r.DurationMS)
			}
			if level := rms(pcm); level < 500 {
				t.Errorf("recording %s decodes to near silence (RMS %.0f)", it.ID, level)
			}
			var ogg bytes.Buffer
			if err := rec.ExportOgg(context.Background(), &ogg); err != nil || !bytes.HasPrefix(ogg.Bytes(), []byte("OggS")) {
				t.Errorf("recording %s as Ogg Opus: %v", it.ID, err)
			}
		}
	}
	if n != h.Recordings || n < 6 {
		t.Errorf("%d recordings waiting; PopulateFor made %d, want 6 or more", n, h.Recordings)
	}
	if len(prio) < len(record.Priorities) || len(kinds) < len(record.WorkTypes) || len(authors) < 3 {
		t.Errorf("a dull queue: priorities %v, work types %v, authors %v", prio, kinds, authors)
	}
}

// So few cases that the persona holds none is an error, not an empty
// vault.
func TestPersonaHoldingNothing(t *testing.T) {
	v, err := store.Create(filepath.Join(t.TempDir(), "d.db"), Passphrase, Typist.Profile(), store.Options{WorkFactor: 10, Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	// Seed 1's first case is R. Lindqvist's: J. Okafor holds nothing of one case.
	if _, err := PopulateFor(v, Caseworker, Options{Cases: 1, Seed: 1, Today: personaToday}); !errors.Is(err, ErrNothingHeld) {
		t.Errorf("a caseworker with no case: %v", err)
	}
	if _, err := PopulateFor(v, Persona("admin"), Options{Cases: 1}); err == nil {
		t.Error("an unknown persona: no error")
	}
}

func TestSpeechLike(t *testing.T) {
	pcm := SpeechLike(rand.New(rand.NewPCG(1, 2)), 4*time.Second, 1)
	if len(pcm) != 4*audio.SampleRate {
		t.Fatalf("%d samples, want %d", len(pcm), 4*audio.SampleRate)
	}
	// Speech has pauses: some 50 ms windows are silent, most are not.
	silent, loud := 0, 0
	for i := 0; i+800 <= len(pcm); i += 800 {
		if rms(pcm[i:i+800]) < 50 {
			silent++
		} else {
			loud++
		}
	}
	if silent < 5 || loud < 30 {
		t.Errorf("%d silent and %d loud windows of 80: not speech's rhythm", silent, loud)
	}
	if !slices.Equal(pcm, SpeechLike(rand.New(rand.NewPCG(1, 2)), 4*time.Second, 1)) {
		t.Error("the same seed made different sound")
	}
}

func wavPCM(t *testing.T, b []byte) []int16 {
	t.Helper()
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatal("not a WAV file")
	}
	pcm := make([]int16, (len(b)-44)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[44+2*i:]))
	}
	return pcm
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(max(len(pcm), 1)))
}
