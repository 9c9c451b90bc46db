package sealed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

func TestSealOpen(t *testing.T) {
	k := crypto.NewCaseKey("c", 1)
	for _, text := range []string{"short", strings.Repeat("long enough to be compressed ", 20)} {
		b, err := Seal(k, "c", "r", record.KindNote, &record.Note{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		js, err := Open(k, "c", "r", record.KindNote, b)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Value(record.KindNote, js)
		if err != nil || v.(*record.Note).Text != text {
			t.Fatalf("round trip: %v %v", v, err)
		}
		// Relabelled as another kind, the body refuses to decode.
		if _, err := Open(k, "c", "r", record.KindTask, b); !errors.Is(err, ErrBody) {
			t.Errorf("relabelled kind: %v", err)
		}
	}
	kr := Keyring{Epoch: 4, Wrapped: []byte("age file")}
	got, err := DecodeKeyring(kr.Marshal())
	if err != nil || got.Epoch != 4 || !bytes.Equal(got.Wrapped, kr.Wrapped) {
		t.Errorf("keyring round trip: %+v %v", got, err)
	}
}

func FuzzDecodeKeyring(f *testing.F) {
	f.Add(Keyring{Epoch: 3, Wrapped: []byte("age-encryption.org/v1\n")}.Marshal())
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := DecodeKeyring(b)
		if err != nil {
			return
		}
		if !bytes.Equal(k.Marshal(), b) {
			t.Fatalf("keyring body does not round trip")
		}
	})
}

// FuzzDecodePlain covers the decrypted body envelope (every format) and the
// typed decoding after it.
func FuzzDecodePlain(f *testing.F) {
	f.Add([]byte{bodyRaw, kindCodes[record.KindNote], '{', '}'})
	f.Add(append([]byte{bodyZstd, kindCodes[record.KindCase]}, 0x28, 0xb5, 0x2f, 0xfd))
	f.Add(pad(kindCodes[record.KindNote], bodyRaw, []byte(`{"text":"x"}`)))
	f.Add(pad(kindCodes[record.KindCase], bodyZstd, zstdOf(`{"ref":"R-1","subject":"`+strings.Repeat("a", 300)+`"}`)))
	f.Add(pad(kindCodes[record.KindNote], bodyZstd, bomb()))
	f.Add([]byte{bodyPadded, kindCodes[record.KindNote], bodyRaw, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range []record.Kind{record.KindCase, record.KindNote, record.KindConsent, record.KindTask, record.KindRecording, record.KindAudit} {
			js, err := DecodePlain(b, k)
			if err != nil {
				continue
			}
			if len(js) > maxPlain {
				t.Fatalf("decoded %d bytes, over the %d-byte bound", len(js), maxPlain)
			}
			if len(b) > 2 && b[0] == bodyPadded && b[2] == bodyRaw && len(js) > len(b) {
				t.Fatalf("raw padded body decoded to %d bytes from %d: read past its end", len(js), len(b))
			}
			_, _ = Value(k, js)
		}
	})
}

func zstdOf(s string) []byte {
	enc, _ := zstdCodecs()
	return enc.EncodeAll([]byte(s), nil)
}

// bomb is a small zstd frame that inflates past maxPlain.
func bomb() []byte {
	enc, _ := zstdCodecs()
	return enc.EncodeAll(make([]byte, maxPlain+1), nil)
}

// Known answers: Padmé as the paper defines it, computed by hand from
// E = ⌊log2 L⌋, S = ⌊log2 E⌋ + 1, rounding up to a multiple of 2^(E−S).
func TestPadmeKnownAnswers(t *testing.T) {
	tests := []struct{ l, want int }{
		{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {7, 7}, {8, 8},
		{9, 10}, {15, 16}, {16, 16}, {17, 18}, {31, 32}, {33, 36},
		{63, 64}, {64, 64}, {65, 72}, {100, 104}, {129, 144}, {154, 160}, {156, 160},
		{161, 176}, {200, 208}, {255, 256}, {256, 256}, {257, 272},
		{1000, 1024}, {1023, 1024}, {1025, 1088}, {2000, 2048},
		{4096, 4096}, {4097, 4352}, {65535, 65536}, {65537, 67584},
		{1000000, 1015808}, {4194304, 4194304}, {4194305, 4325376},
	}
	for _, tt := range tests {
		if got := padme(tt.l); got != tt.want {
			t.Errorf("padme(%d) = %d, want %d", tt.l, got, tt.want)
		}
	}
}

// The padded length is never below the content and at most about 12%
// above it, for every length a body can have.
func TestPadmeBounds(t *testing.T) {
	check := func(l int) {
		got := padme(l)
		if got < l || float64(got) > float64(l)*1.12+2 {
			t.Fatalf("padme(%d) = %d: outside [L, 1.12·L+2]", l, got)
		}
		if got != padme(got) {
			t.Fatalf("padme(%d) = %d is not itself a bucket (padme = %d)", l, got, padme(got))
		}
	}
	for l := 0; l < 1<<16; l++ {
		check(l)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		check(rng.IntN(record.MaxBodySize * 4))
	}
	// And through Seal: the sealed body against the unpadded plaintext.
	k := crypto.NewCaseKey("c", 1)
	for range 300 {
		n := &record.Note{Text: strings.Repeat("x", rng.IntN(5000))}
		b, err := Seal(k, "c", "r", record.KindNote, n)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(n)
		inner := js
		if len(js) >= compressMin {
			inner = zstdOf(string(js))
		}
		unpadded := 3 + uvarintLen(uint64(len(inner))) + len(inner)
		if got := len(b) - crypto.SealOverhead; got < unpadded || float64(got) > float64(unpadded)*1.12+2 {
			t.Fatalf("%d-byte content sealed to %d bytes of plaintext", unpadded, got)
		}
	}
}

// Every format Seal ever wrote still decodes; the current one is padded.
func TestBodyFormatsRoundTrip(t *testing.T) {
	k := crypto.NewCaseKey("c", 1)
	for _, text := range []string{"", "short", strings.Repeat("long enough to be compressed ", 20), strings.Repeat("z", 70000)} {
		js, _ := json.Marshal(&record.Note{Text: text})
		kc := kindCodes[record.KindNote]
		formats := map[string][]byte{
			"raw":          append([]byte{bodyRaw, kc}, js...),
			"zstd":         append([]byte{bodyZstd, kc}, zstdOf(string(js))...),
			"padded raw":   pad(kc, bodyRaw, js),
			"padded zstd":  pad(kc, bodyZstd, zstdOf(string(js))),
			"padded empty": pad(kc, bodyRaw, nil),
		}
		for name, plain := range formats {
			want := js
			if name == "padded empty" {
				want = nil
			}
			got, err := DecodePlain(plain, record.KindNote)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s, %d-byte text: DecodePlain = %.40q, %v; want %.40q", name, len(text), got, err, want)
			}
			// Sealed and opened as a vault or the recovery export would.
			box := crypto.Seal(k, Place("c", "r"), plain)
			got, err = Open(k, "c", "r", record.KindNote, box)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: Open = %v", name, err)
			}
		}
		b, err := Seal(k, "c", "r", record.KindNote, &record.Note{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := crypto.Open(k, Place("c", "r"), b)
		if plain[0] != bodyPadded {
			t.Errorf("Seal wrote format %d, want %d", plain[0], bodyPadded)
		}
		if len(plain) != padme(len(plain)) {
			t.Errorf("Seal's plaintext is %d bytes: not a Padmé length", len(plain))
		}
	}
}

func TestPaddedBodyRefusesMalformed(t *testing.T) {
	kc := kindCodes[record.KindNote]
	good := pad(kc, bodyRaw, []byte(`{"text":"ab"}`)) // 17 bytes, padded to 18
	tests := map[string][]byte{
		"no header":          {bodyPadded, kc},
		"padded twice":       append([]byte{bodyPadded, kc, bodyPadded}, good[3:]...),
		"unknown inner":      append([]byte{bodyPadded, kc, 9}, good[3:]...),
		"length past end":    {bodyPadded, kc, bodyRaw, 50, '{', '}'},
		"length overflows":   {bodyPadded, kc, bodyRaw, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"nonzero padding":    append(bytes.Clone(good[:len(good)-1]), 1),
		"truncated varint":   {bodyPadded, kc, bodyRaw, 0x80},
		"zstd bomb":          pad(kc, bodyZstd, bomb()),
		"zstd garbage":       pad(kc, bodyZstd, []byte("not a frame")),
		"kind relabelled":    pad(kindCodes[record.KindTask], bodyRaw, []byte(`{}`)),
		"padding only, zero": {bodyPadded, kc, bodyRaw},
	}
	if len(good) == 3+1+len(`{"text":"ab"}`) {
		t.Fatalf("test body has no padding: %d bytes", len(good))
	}
	for name, b := range tests {
		if _, err := DecodePlain(b, record.KindNote); !errors.Is(err, ErrBody) {
			t.Errorf("%s: DecodePlain = %v, want ErrBody", name, err)
		}
	}
}

// Near the revision size limit, padding stops at the limit: a body that
// fits unpadded still fits.
func TestPadStopsAtTheBodyLimit(t *testing.T) {
	limit := record.MaxBodySize - crypto.SealOverhead
	for _, n := range []int{limit - 10, limit - 4 - 3 - 30000, limit - 200000} {
		plain := pad(kindCodes[record.KindNote], bodyRaw, make([]byte, n))
		if unpadded := 3 + uvarintLen(uint64(n)) + n; len(plain) > max(limit, unpadded) {
			t.Errorf("%d-byte content padded to %d, over the %d-byte limit", n, len(plain), limit)
		}
		if got, err := DecodePlain(plain, record.KindNote); err != nil || len(got) != n {
			t.Errorf("%d-byte content: %d bytes back, %v", n, len(got), err)
		}
	}
}

// Two notes of different lengths in one size class seal to bodies of the
// same length: the server learns the class, not the length.
func TestSameBucketSameSealedSize(t *testing.T) {
	k := crypto.NewCaseKey("c", 1)
	// note is a note whose JSON is n bytes.
	js1, _ := json.Marshal(&record.Note{Text: "x"})
	note := func(c string, n int) *record.Note { return &record.Note{Text: strings.Repeat(c, n-len(js1)+1)} }
	// JSON of 150 and 152 bytes: unpadded plaintexts (3 header bytes, a
	// 2-byte length) of 155 and 157 bytes, both padded to 160.
	a, b := note("a", 150), note("b", 152)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if len(ja) == len(jb) || len(jb) >= compressMin {
		t.Fatalf("test notes: JSON of %d and %d bytes", len(ja), len(jb))
	}
	sa, err := Seal(k, "c", "r1", record.KindNote, a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Seal(k, "c", "r2", record.KindNote, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(sa) != len(sb) {
		t.Errorf("sealed sizes %d and %d for %d- and %d-byte notes in one bucket", len(sa), len(sb), len(ja), len(jb))
	}
	if want := crypto.SealOverhead + 160; len(sa) != want {
		t.Errorf("sealed size %d, want %d", len(sa), want)
	}
	// Across a bucket boundary the sizes differ.
	c := note("c", 154) // 159 → 160
	d := note("d", 155) // 160 → 160
	e := note("e", 156) // 161 → 176
	var sizes []int
	for _, n := range []*record.Note{c, d, e} {
		s, _ := Seal(k, "c", "r", record.KindNote, n)
		sizes = append(sizes, len(s)-crypto.SealOverhead)
	}
	if fmt.Sprint(sizes) != "[160 160 176]" {
		t.Errorf("padded sizes %v, want [160 160 176]", sizes)
	}
}

// BenchmarkSealPadding reports what padding costs, as ratios against
// sealing the same bodies unpadded (formats 1 and 2) in the same run: bytes
// on disk and on the wire, and time. Note-like bodies of 100 B to 8 KB.
func BenchmarkSealPadding(b *testing.B) {
	k := crypto.NewCaseKey("c", 1)
	rng := rand.New(rand.NewPCG(7, 7))
	words := strings.Fields("the visit went as planned mother said school attendance improved kitchen was clean " +
		"child seemed withdrawn follow up with health visitor next week referral discussed housing officer")
	var notes []*record.Note
	for range 200 {
		var sb strings.Builder
		for n := 100 + rng.IntN(8000); sb.Len() < n; {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteByte(' ')
		}
		notes = append(notes, &record.Note{Kind: "visit", Date: "2026-11-02", Text: sb.String()})
	}
	unpadded := func(n *record.Note) []byte {
		js, _ := json.Marshal(n)
		plain := []byte{bodyRaw, kindCodes[record.KindNote]}
		if len(js) >= compressMin {
			enc, _ := zstdCodecs()
			plain[0] = bodyZstd
			plain = enc.EncodeAll(js, plain)
		} else {
			plain = append(plain, js...)
		}
		return crypto.Seal(k, Place("c", "r"), plain)
	}
	var tPad, tRaw time.Duration
	var bPad, bRaw int
	for b.Loop() {
		t0 := time.Now()
		for _, n := range notes {
			s, _ := Seal(k, "c", "r", record.KindNote, n)
			bPad += len(s)
		}
		t1 := time.Now()
		for _, n := range notes {
			bRaw += len(unpadded(n))
		}
		tPad, tRaw = tPad+t1.Sub(t0), tRaw+time.Since(t1)
	}
	b.ReportMetric(float64(bPad)/float64(bRaw), "bytes-ratio")
	b.ReportMetric(float64(tPad)/float64(tRaw), "time-ratio")
}
