package record

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"
	"time"
)

func sampleRev() *Revision {
	r := &Revision{
		RecordID: NewID(), Kind: KindNote, CaseID: NewID(),
		Generation: 2, HLC: 12345 << 16, Device: NewID(), Seq: 7,
		Body: []byte("sealed bytes"),
	}
	r.Parents = []RevID{{9}, {1}, {9}}
	r.Seal()
	return r
}

func TestRevisionCodecRoundTrip(t *testing.T) {
	r := sampleRev()
	if got, want := len(r.Parents), 2; got != want {
		t.Fatalf("Seal left %d parents, want %d (sorted, unique)", got, want)
	}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "tail"...)
	got, rest, err := UnmarshalRevision(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != "tail" {
		t.Errorf("rest = %q, want tail", rest)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
	for i := 0; i < len(b)-len("tail"); i++ {
		if _, _, err := UnmarshalRevision(b[:i]); err == nil {
			t.Fatalf("truncated to %d bytes: decoded without error", i)
		}
	}
}

func TestRevHashCoversEveryField(t *testing.T) {
	base := sampleRev()
	mutations := map[string]func(r *Revision){
		"record":     func(r *Revision) { r.RecordID = "other" },
		"kind":       func(r *Revision) { r.Kind = KindConsent },
		"case":       func(r *Revision) { r.CaseID = "other" },
		"parents":    func(r *Revision) { r.Parents = r.Parents[:1] },
		"generation": func(r *Revision) { r.Generation++ },
		"hlc":        func(r *Revision) { r.HLC++ },
		"device":     func(r *Revision) { r.Device = "other" },
		"seq":        func(r *Revision) { r.Seq++ },
		"deleted":    func(r *Revision) { r.Deleted = true },
		"body":       func(r *Revision) { r.Body = []byte("sealed bytez") },
	}
	for name, mutate := range mutations {
		r := *base
		r.Parents = append([]RevID(nil), base.Parents...)
		mutate(&r)
		if r.ComputeRev() == base.Rev {
			t.Errorf("changing %s did not change the revision id", name)
		}
		if err := r.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("changing %s: Validate = %v, want ErrInvalid", name, err)
		}
	}
	same := *base
	if same.ComputeRev() != base.Rev {
		t.Errorf("revision id not deterministic")
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Revision)
	}{
		{"bad id char", func(r *Revision) { r.RecordID = "a/b" }},
		{"empty case", func(r *Revision) { r.CaseID = "" }},
		{"long device", func(r *Revision) { r.Device = string(bytes.Repeat([]byte("d"), 65)) }},
		{"unknown kind", func(r *Revision) { r.Kind = "memo" }},
		{"gen 1 with parents", func(r *Revision) { r.Generation = 1 }},
		{"gen 0", func(r *Revision) { r.Generation = 0; r.Parents = nil }},
		{"seq 0", func(r *Revision) { r.Seq = 0 }},
		{"case record elsewhere", func(r *Revision) { r.Kind = KindCase }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRev()
			tt.mutate(r)
			r.Rev = r.ComputeRev()
			if err := r.Validate(); !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestClockMonotonic(t *testing.T) {
	c := NewClock(0)
	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return wall }
	a := c.Now()
	wall = wall.Add(-time.Hour) // the laptop clock jumps back
	b := c.Now()
	if b <= a {
		t.Errorf("clock went backwards: %d then %d", a, b)
	}
	future := HLC(uint64(wall.Add(48*time.Hour).UnixMilli()) << 16)
	c.Observe(future) // another device's clock is two days ahead
	if d := c.Now(); d <= future {
		t.Errorf("Now after Observe = %d, want > %d", d, future)
	}
	if got := a.Time(); !got.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Time = %v", got)
	}
}

func TestBodyValidation(t *testing.T) {
	good := Case{Ref: "R-1", Subject: "Test Child"}
	good.Normalize()
	if err := good.Validate(); err != nil {
		t.Fatalf("minimal case: %v", err)
	}
	bad := []struct {
		name string
		err  error
	}{
		{"no ref", (&Case{Subject: "x", Risk: "low", Status: "open"}).Validate()},
		{"risk", (&Case{Ref: "R", Subject: "x", Risk: "extreme", Status: "open"}).Validate()},
		{"dob", (&Case{Ref: "R", Subject: "x", Risk: "low", Status: "open", DOB: "31/12/2020"}).Validate()},
		{"note kind", (&Note{Kind: "memo", Date: "2026-01-01", Text: "x"}).Validate()},
		{"note text", (&Note{Kind: "visit", Date: "2026-01-01", Text: "  "}).Validate()},
		{"note time", (&Note{Kind: "visit", Date: "2026-01-01", Text: "x", Time: "25:00"}).Validate()},
		{"consent scope", (&Consent{Person: "p", Scope: []string{"gossip"}, Decision: "given", Date: "2026-01-01"}).Validate()},
		{"consent decision", (&Consent{Person: "p", Scope: []string{"health"}, Decision: "maybe", Date: "2026-01-01"}).Validate()},
		{"task title", (&Task{Due: "2026-01-01"}).Validate()},
	}
	for _, b := range bad {
		if !errors.Is(b.err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", b.name, b.err)
		}
	}
	if d, err := ParseDate(" 2026-02-03 "); err != nil || d != "2026-02-03" {
		t.Errorf("ParseDate = %q, %v", d, err)
	}
}

func TestNewIDValid(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID()
		if err := ValidID(id); err != nil || len(id) != 26 || seen[id] {
			t.Fatalf("NewID %q: %v (dup %v)", id, err, seen[id])
		}
		seen[id] = true
	}
}

// FuzzUnmarshalRevision: the decoder of revision bytes read from disk and
// the network must never panic, and what it accepts must re-encode to the
// same bytes.
func FuzzUnmarshalRevision(f *testing.F) {
	b, _ := sampleRev().MarshalBinary()
	f.Add(b)
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, rest, err := UnmarshalRevision(in)
		if err != nil {
			return
		}
		out, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded revision does not encode: %v", err)
		}
		if !bytes.Equal(append(out, rest...), in) {
			t.Fatalf("re-encoding differs")
		}
		_ = r.Validate()
	})
}

// VerifySigs, in batches and on several cores, says of each revision what
// VerifySig says: one bad signature or an unknown key spoils nothing else.
func TestVerifySigs(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	var revs []*Revision
	want := map[int]bool{}
	for i := 0; i < 700; i++ {
		r := &Revision{RecordID: "R1", Kind: KindNote, CaseID: "C1", Generation: 1, HLC: 1, Device: "D1", Seq: uint64(i + 1)}
		r.Seal()
		r.Sign(func(m []byte) []byte { return ed25519.Sign(priv, m) })
		switch {
		case i%97 == 5:
			r.Sig[3] ^= 1 // forged
		case i%101 == 7:
			r.Device = "unknown" // no key
		default:
			want[i] = true
		}
		revs = append(revs, r)
	}
	got := VerifySigs(revs, func(r *Revision) ed25519.PublicKey {
		if r.Device == "D1" {
			return pub
		}
		return nil
	})
	for i, r := range revs {
		single := r.Device == "D1" && r.VerifySig(pub)
		if got[i] != want[i] || single != want[i] {
			t.Fatalf("revision %d: batch %v, single %v, want %v", i, got[i], single, want[i])
		}
	}
}
