package audio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var genCorpus = flag.Bool("gencorpus", false, "rewrite the fuzz seed corpora in track/testdata/fuzz and internal/ogg/testdata/fuzz")

// TestFuzzCorpus writes the seed corpora of the fuzz targets from real
// encodings when run with -gencorpus. go test runs every seed as a test.
func TestFuzzCorpus(t *testing.T) {
	if !*genCorpus {
		t.Skip("run with -gencorpus to rewrite the seed corpora")
	}
	st := newMemStore()
	var tl Timeline
	must(t, tl.Append(encodeTake(t, st, tl.NextTakeID(), tone(440, 0.5, 1.3))))
	must(t, tl.Insert(500*time.Millisecond, encodeTake(t, st, tl.NextTakeID(), tone(660, 0.5, 0.4))))
	must(t, tl.AddMarker(300*time.Millisecond, "check the date"))

	var chunks [][]byte
	for _, c := range st.written() {
		b, err := c.MarshalBinary()
		must(t, err)
		chunks = append(chunks, b)
	}
	write(t, "track/testdata/fuzz/FuzzUnmarshalChunk", chunks...)

	var timelines [][]byte
	snap := func() {
		b, err := tl.MarshalBinary()
		must(t, err)
		timelines = append(timelines, b)
	}
	snap()
	must(t, tl.Overwrite(700*time.Millisecond, encodeTake(t, st, tl.NextTakeID(), tone(880, 0.5, 0.2))))
	must(t, tl.AddMarker(800*time.Millisecond, "né le 3 mai"))
	snap()
	timelines = append(timelines, []byte{1, 0, 0, 0, 0})
	write(t, "track/testdata/fuzz/FuzzUnmarshalTimeline", timelines...)

	var ogg bytes.Buffer
	must(t, WriteOgg(context.Background(), &ogg, &tl, st))
	write(t, "internal/ogg/testdata/fuzz/FuzzReader", ogg.Bytes(), ogg.Bytes()[:ogg.Len()/2])
}

func write(t *testing.T, dir string, seeds ...[]byte) {
	t.Helper()
	must(t, os.RemoveAll(dir))
	must(t, os.MkdirAll(dir, 0o755))
	for _, b := range seeds {
		name := fmt.Sprintf("%x", sha256.Sum256(b))[:16]
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
}
