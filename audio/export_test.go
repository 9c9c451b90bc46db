package audio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/audio/internal/ogg"
	"github.com/fieldcase/fieldcase/audio/track"
	"github.com/fieldcase/fieldcase/internal/opustools"
)

// span is a stretch of expected content in a decoded timeline.
type span struct {
	from, to float64 // seconds
	freq     float64 // dominant tone; 0 for silence
}

var testFreqs = []float64{440, 660, 880}

// checkContent checks that each span (shrunk by 60 ms at either end, to
// stay clear of edit points and codec transients) holds its tone.
func checkContent(t *testing.T, pcm []int16, spans []span) {
	t.Helper()
	for _, s := range spans {
		w := window(pcm, s.from+0.06, s.to-0.06)
		if s.freq == 0 {
			if r := rms(w); r > -50 {
				t.Errorf("%.2f–%.2f s: level %.1f dBFS, want silence", s.from, s.to, r)
			}
			continue
		}
		if got := dominant(w, testFreqs...); got != s.freq {
			t.Errorf("%.2f–%.2f s: dominant tone %v Hz, want %v Hz", s.from, s.to, got, s.freq)
		}
		if r := rms(w); r < -20 {
			t.Errorf("%.2f–%.2f s: level %.1f dBFS, want a loud tone", s.from, s.to, r)
		}
	}
}

// editCase builds a timeline from tones encoded straight into a store.
type editCase struct {
	name  string
	build func(t *testing.T, tl *Timeline, st *memStore)
	dur   time.Duration
	spans []span
}

var editCases = []editCase{
	{
		name: "one take",
		build: func(t *testing.T, tl *Timeline, st *memStore) {
			must(t, tl.Append(encodeTake(t, st, tl.NextTakeID(), tone(440, 0.5, 2))))
		},
		dur:   2 * time.Second,
		spans: []span{{0, 2, 440}},
	},
	{
		name: "insert in the middle",
		build: func(t *testing.T, tl *Timeline, st *memStore) {
			must(t, tl.Append(encodeTake(t, st, tl.NextTakeID(), tone(440, 0.5, 2))))
			must(t, tl.Insert(1*time.Second, encodeTake(t, st, tl.NextTakeID(), tone(880, 0.5, 1))))
		},
		dur:   3 * time.Second,
		spans: []span{{0, 1, 440}, {1, 2, 880}, {2, 3, 440}},
	},
	{
		name: "overwrite from a point",
		build: func(t *testing.T, tl *Timeline, st *memStore) {
			must(t, tl.Append(encodeTake(t, st, tl.NextTakeID(), tone(440, 0.5, 2))))
			must(t, tl.Overwrite(500*time.Millisecond, encodeTake(t, st, tl.NextTakeID(), tone(660, 0.5, 1))))
		},
		dur:   1500 * time.Millisecond,
		spans: []span{{0, 0.5, 440}, {0.5, 1.5, 660}},
	},
	{
		name: "insert, overwrite, silence",
		build: func(t *testing.T, tl *Timeline, st *memStore) {
			must(t, tl.Append(encodeTake(t, st, tl.NextTakeID(), tone(440, 0.5, 3))))
			must(t, tl.Insert(1*time.Second, encodeTake(t, st, tl.NextTakeID(), tone(880, 0.5, 1.5))))
			must(t, tl.Overwrite(3500*time.Millisecond, encodeTake(t, st, tl.NextTakeID(), make([]int16, SampleRate))))
			must(t, tl.Append(encodeTake(t, st, tl.NextTakeID(), tone(660, 0.5, 0.7))))
		},
		dur:   5200 * time.Millisecond,
		spans: []span{{0, 1, 440}, {1, 2.5, 880}, {2.5, 3.5, 440}, {3.5, 4.5, 0}, {4.5, 5.2, 660}},
	},
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestEncoderChunks(t *testing.T) {
	st := newMemStore()
	take := encodeTake(t, st, 4, tone(440, 0.5, 2.5)) // 125 packets
	if got, want := take.Chunks, []int{50, 50, 25}; !slicesEqual(got, want) {
		t.Errorf("take chunks = %v, want %v", got, want)
	}
	chunks := st.written()
	for i, c := range chunks {
		if c.Take != 4 || c.Index != uint32(i) || c.Last != (i == len(chunks)-1) || c.Samples != len(c.Packets)*FrameSamples {
			t.Errorf("chunk %d: take %d index %d last %v samples %d", i, c.Take, c.Index, c.Last, c.Samples)
		}
	}
	// A take ending on a chunk boundary ends with an empty last chunk.
	take = encodeTake(t, st, 5, tone(440, 0.5, 1))
	if got, want := take.Chunks, []int{50, 0}; !slicesEqual(got, want) {
		t.Errorf("take chunks = %v, want %v", got, want)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWAVExportEdits(t *testing.T) {
	for _, tc := range editCases {
		t.Run(tc.name, func(t *testing.T) {
			var tl Timeline
			st := newMemStore()
			tc.build(t, &tl, st)
			if got := tl.Duration(); got != tc.dur {
				t.Fatalf("Duration = %v, want %v", got, tc.dur)
			}
			var buf bytes.Buffer
			if err := WriteWAV(context.Background(), &buf, &tl, st); err != nil {
				t.Fatal(err)
			}
			pcm := parseWAV(t, buf.Bytes())
			if got, want := len(pcm), int(tc.dur/FrameDuration)*FrameSamples-track.PreSkip/3; got != want {
				t.Errorf("WAV has %d samples, want %d", got, want)
			}
			checkContent(t, pcm, tc.spans)
		})
	}
}

// writeOgg exports tl to a file and checks its structure with our reader.
func writeOgg(t *testing.T, tl *Timeline, st ChunkSource) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteOgg(context.Background(), &buf, tl, st); err != nil {
		t.Fatal(err)
	}
	checkOggStructure(t, buf.Bytes(), tl.Packets())
	path := filepath.Join(t.TempDir(), "dictation.opus")
	must(t, os.WriteFile(path, buf.Bytes(), 0o600))
	return path
}

func checkOggStructure(t *testing.T, b []byte, packets int) {
	t.Helper()
	r := ogg.NewReader(bytes.NewReader(b))
	head, err := r.ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	if len(head.Data) != 19 || string(head.Data[:8]) != "OpusHead" || head.Data[8] != 1 || head.Data[9] != 1 ||
		binary.LittleEndian.Uint16(head.Data[10:]) != track.PreSkip || binary.LittleEndian.Uint32(head.Data[12:]) != SampleRate ||
		head.Data[18] != 0 || !head.BOS || head.Granule != 0 {
		t.Errorf("bad OpusHead %x (granule %d)", head.Data, head.Granule)
	}
	tags, err := r.ReadPacket()
	if err != nil || string(tags.Data[:8]) != "OpusTags" || tags.Granule != 0 {
		t.Errorf("bad OpusTags %q, %v", tags.Data, err)
	}
	n, last, eos := 0, int64(0), false
	for {
		p, err := r.ReadPacket()
		if err == io.EOF {
			break
		}
		eos = p.EOS
		if err != nil {
			t.Fatal(err)
		}
		if err := track.CheckPacket(p.Data); err != nil {
			t.Errorf("packet %d: %v", n, err)
		}
		n++
		if p.Granule != ogg.NoGranule {
			if want := int64(n * track.OpusFrame); p.Granule != want {
				t.Errorf("page ending at packet %d has granule %d, want %d", n, p.Granule, want)
			}
			last = p.Granule
		}
	}
	if !eos {
		t.Errorf("last packet not on an EOS page")
	}
	if n != packets || last != int64(packets*track.OpusFrame) {
		t.Errorf("%d packets, final granule %d; want %d, %d", n, last, packets, packets*track.OpusFrame)
	}
}

func TestOggExportOpusTools(t *testing.T) {
	opustools.Tool(t, "opusinfo")
	opustools.Tool(t, "opusdec")
	for _, tc := range editCases {
		t.Run(tc.name, func(t *testing.T) {
			var tl Timeline
			st := newMemStore()
			tc.build(t, &tl, st)
			path := writeOgg(t, &tl, st)

			got := opustools.PlaybackLength(t, path).Seconds()
			want := (tc.dur - 6500*time.Microsecond).Seconds()
			if math.Abs(got-want) > 0.002 {
				t.Errorf("opusinfo playback length %.3f s, want %.3f s", got, want)
			}

			b := opustools.DecodeWAV(t, path)
			pcm := parseWAV(t, b)
			if got, want := len(pcm), int(tc.dur/FrameDuration)*FrameSamples-track.PreSkip/3; got != want {
				t.Errorf("opusdec decoded %d samples, want %d", got, want)
			}
			checkContent(t, pcm, tc.spans)
		})
	}
}

func TestExportEmpty(t *testing.T) {
	var tl Timeline
	if err := WriteOgg(context.Background(), io.Discard, &tl, newMemStore()); !errors.Is(err, ErrInvalidTimeline) {
		t.Errorf("WriteOgg(empty) = %v, want ErrInvalidTimeline", err)
	}
	var buf bytes.Buffer
	must(t, WriteWAV(context.Background(), &buf, &tl, newMemStore()))
	if pcm := parseWAV(t, buf.Bytes()); len(pcm) != 0 {
		t.Errorf("empty WAV has %d samples", len(pcm))
	}
}

// brokenSource hands back chunks that do not match the timeline.
type brokenSource struct {
	st   *memStore
	edit func(*Chunk)
}

func (b brokenSource) ReadChunk(ctx context.Context, take, index uint32) (Chunk, error) {
	c, err := b.st.ReadChunk(ctx, take, index)
	if err == nil {
		b.edit(&c)
	}
	return c, err
}

func TestExportBadSource(t *testing.T) {
	var tl Timeline
	st := newMemStore()
	must(t, tl.Append(encodeTake(t, st, 0, tone(440, 0.5, 1.5))))
	errMissing := errors.New("chunk gone")
	tests := []struct {
		name string
		src  ChunkSource
		want error
	}{
		{"wrong index", brokenSource{st, func(c *Chunk) { c.Index++ }}, ErrInvalidChunk},
		{"wrong take", brokenSource{st, func(c *Chunk) { c.Take = 9 }}, ErrInvalidChunk},
		{"missing packet", brokenSource{st, func(c *Chunk) { c.Packets = c.Packets[1:] }}, ErrInvalidChunk},
		{"bad packet", brokenSource{st, func(c *Chunk) {
			if len(c.Packets) > 0 {
				c.Packets[0] = []byte{0x00}
			}
		}}, ErrInvalidChunk},
		{"source error", errSource{errMissing}, errMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := WriteOgg(context.Background(), io.Discard, &tl, tt.src); !errors.Is(err, tt.want) {
				t.Errorf("WriteOgg: %v, want %v", err, tt.want)
			}
			if err := WriteWAV(context.Background(), io.Discard, &tl, tt.src); !errors.Is(err, tt.want) {
				t.Errorf("WriteWAV: %v, want %v", err, tt.want)
			}
		})
	}
}

type errSource struct{ err error }

func (e errSource) ReadChunk(context.Context, uint32, uint32) (Chunk, error) { return Chunk{}, e.err }
