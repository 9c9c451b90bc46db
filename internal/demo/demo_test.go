package demo

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/store/storetest"
)

func TestPopulateDeterministic(t *testing.T) {
	today := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	counts := func() store.Stats {
		v := storetest.Create(t, filepath.Join(t.TempDir(), "d.db"), Passphrase, store.Profile{}, store.Options{})
		if err := Populate(v, Options{Cases: 20, Seed: 7, Today: today}); err != nil {
			t.Fatal(err)
		}
		if err := v.LoadAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		st, _ := v.Stats()
		cs, _ := v.Cases()
		if len(cs) != 20 || cs[0].Value.Ref != "DEMO-0001" {
			t.Fatalf("cases = %d, first %q", len(cs), cs[0].Value.Ref)
		}
		return st
	}
	a, b := counts(), counts()
	if a != b {
		t.Errorf("same seed gave different data: %+v vs %+v", a, b)
	}
	if a.Notes < 100 || a.Consents < 20 || a.Tasks < 20 {
		t.Errorf("too little data: %+v", a)
	}
}

// Prose must compress about as well as English (zstd ~2–2.5× on 2 KB), not
// like the repeated template sentences.
func TestProseCompressesLikeText(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(1, 2))}
	var b strings.Builder
	for b.Len() < 2000 {
		b.WriteString(g.proseSentence() + " ")
	}
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	ratio := float64(b.Len()) / float64(len(enc.EncodeAll([]byte(b.String()), nil)))
	t.Logf("prose: %d bytes, zstd ratio %.2f", b.Len(), ratio)
	if ratio < 1.5 || ratio > 3 {
		t.Errorf("prose zstd ratio %.2f, want English-like 1.5–3", ratio)
	}
}

func TestNoTemplateLeftOver(t *testing.T) {
	v := storetest.Create(t, filepath.Join(t.TempDir(), "d.db"), Passphrase, store.Profile{}, store.Options{})
	if err := Populate(v, Options{Cases: 30, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	v.LoadAll(context.Background())
	if err := v.Export(&out); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"{adult}", "{child}", "{address}", "{school}"} {
		if strings.Contains(out.String(), p) {
			t.Errorf("demo data holds an unfilled %s", p)
		}
	}
}
