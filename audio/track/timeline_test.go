package track

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

const sec = time.Second

// takeOf returns a take of the given length in packets, in chunks of 50.
func takeOf(id uint32, packets int) Take {
	tk := Take{ID: id}
	for packets > 0 {
		n := min(packets, 50)
		tk.Chunks = append(tk.Chunks, n)
		packets -= n
	}
	tk.Chunks = append(tk.Chunks, 0) // the empty last chunk of a take stopped on a boundary
	return tk
}

type edit struct {
	op      string // append, insert, overwrite
	at      time.Duration
	packets int
}

func apply(t *testing.T, tl *Timeline, edits []edit) {
	t.Helper()
	for _, e := range edits {
		tk := takeOf(tl.NextTakeID(), e.packets)
		var err error
		switch e.op {
		case "append":
			err = tl.Append(tk)
		case "insert":
			err = tl.Insert(e.at, tk)
		case "overwrite":
			err = tl.Overwrite(e.at, tk)
		}
		if err != nil {
			t.Fatalf("%s at %v: %v", e.op, e.at, err)
		}
	}
}

func TestTimelineEdits(t *testing.T) {
	tests := []struct {
		name  string
		edits []edit
		want  []segment
		takes []uint32
	}{
		{"empty", nil, nil, nil},
		{"one take", []edit{{"append", 0, 120}}, []segment{{0, 0, 120}}, []uint32{0}},
		{"two takes", []edit{{"append", 0, 120}, {"append", 0, 30}}, []segment{{0, 0, 120}, {1, 0, 30}}, []uint32{0, 1}},
		{"insert at start", []edit{{"append", 0, 100}, {"insert", 0, 10}}, []segment{{1, 0, 10}, {0, 0, 100}}, []uint32{0, 1}},
		{"insert in the middle", []edit{{"append", 0, 100}, {"insert", 1 * sec, 25}},
			[]segment{{0, 0, 50}, {1, 0, 25}, {0, 50, 50}}, []uint32{0, 1}},
		{"insert at end", []edit{{"append", 0, 100}, {"insert", 2 * sec, 5}}, []segment{{0, 0, 100}, {1, 0, 5}}, []uint32{0, 1}},
		{"insert rounds down to a packet", []edit{{"append", 0, 100}, {"insert", 1*sec + 19*time.Millisecond, 5}},
			[]segment{{0, 0, 50}, {1, 0, 5}, {0, 50, 50}}, []uint32{0, 1}},
		{"insert into an inserted take", []edit{{"append", 0, 100}, {"insert", 1 * sec, 50}, {"insert", 1500 * time.Millisecond, 10}},
			[]segment{{0, 0, 50}, {1, 0, 25}, {2, 0, 10}, {1, 25, 25}, {0, 50, 50}}, []uint32{0, 1, 2}},
		{"overwrite from the middle", []edit{{"append", 0, 100}, {"overwrite", 1 * sec, 30}}, []segment{{0, 0, 50}, {1, 0, 30}}, []uint32{0, 1}},
		{"overwrite from the start drops the take", []edit{{"append", 0, 100}, {"overwrite", 0, 30}}, []segment{{1, 0, 30}}, []uint32{1}},
		{"overwrite at the end appends", []edit{{"append", 0, 100}, {"overwrite", 2 * sec, 30}}, []segment{{0, 0, 100}, {1, 0, 30}}, []uint32{0, 1}},
		{"overwrite across an insert", []edit{{"append", 0, 100}, {"insert", 1 * sec, 50}, {"overwrite", 1500 * time.Millisecond, 10}},
			[]segment{{0, 0, 50}, {1, 0, 25}, {2, 0, 10}}, []uint32{0, 1, 2}},
		{"overwrite removing an inserted take", []edit{{"append", 0, 100}, {"insert", 1 * sec, 50}, {"overwrite", 1 * sec, 10}},
			[]segment{{0, 0, 50}, {2, 0, 10}}, []uint32{0, 2}},
		{"empty take uses its id", []edit{{"append", 0, 0}, {"append", 0, 10}}, []segment{{1, 0, 10}}, []uint32{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tl Timeline
			apply(t, &tl, tt.edits)
			if !reflect.DeepEqual(tl.segs, tt.want) {
				t.Errorf("segments = %v, want %v", tl.segs, tt.want)
			}
			var ids []uint32
			for _, tk := range tl.Takes() {
				ids = append(ids, tk.ID)
			}
			if !reflect.DeepEqual(ids, tt.takes) {
				t.Errorf("takes = %v, want %v", ids, tt.takes)
			}
			wantDur := time.Duration(0)
			for _, s := range tt.want {
				wantDur += time.Duration(s.n) * FrameDuration
			}
			if got := tl.Duration(); got != wantDur {
				t.Errorf("Duration = %v, want %v", got, wantDur)
			}
			if got, want := tl.NextTakeID(), uint32(len(tt.edits)); got != want {
				t.Errorf("NextTakeID = %d, want %d", got, want)
			}
			roundTrip(t, &tl)
		})
	}
}

func roundTrip(t *testing.T, tl *Timeline) {
	t.Helper()
	b, err := tl.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalTimeline(b)
	if err != nil {
		t.Fatalf("UnmarshalTimeline: %v", err)
	}
	again, _ := back.MarshalBinary()
	if !bytes.Equal(again, b) {
		t.Errorf("encoding changed on a round trip:\n got %x\nwant %x", again, b)
	}
	if back.Duration() != tl.Duration() || !reflect.DeepEqual(back.Markers(), tl.Markers()) {
		t.Errorf("round trip: %v %v, want %v %v", back.Duration(), back.Markers(), tl.Duration(), tl.Markers())
	}
}

func TestTimelineErrors(t *testing.T) {
	var tl Timeline
	apply(t, &tl, []edit{{"append", 0, 100}})
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"insert past the end", tl.Insert(2*sec+20*time.Millisecond, takeOf(5, 1)), ErrOutOfRange},
		{"insert before the start", tl.Insert(-time.Millisecond, takeOf(5, 1)), ErrOutOfRange},
		{"overwrite past the end", tl.Overwrite(3*sec, takeOf(5, 1)), ErrOutOfRange},
		{"reused take id", tl.Append(takeOf(0, 5)), ErrInvalidTimeline},
		{"negative chunk", tl.Append(Take{ID: 7, Chunks: []int{-1}}), ErrInvalidTimeline},
		{"oversized chunk", tl.Append(Take{ID: 7, Chunks: []int{MaxChunkPackets + 1}}), ErrInvalidTimeline},
		{"marker at the end", tl.AddMarker(2*sec, "x"), ErrOutOfRange},
		{"marker comment too long", tl.AddMarker(0, string(make([]byte, MaxCommentLen+1))), ErrInvalidTimeline},
		{"marker comment not UTF-8", tl.AddMarker(0, "\xff"), ErrInvalidTimeline},
		{"remove missing marker", tl.RemoveMarker(0), ErrOutOfRange},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if _, err := tl.Locate(2 * sec); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("Locate(end) = %v, want ErrOutOfRange", err)
	}
	if tl.Duration() != 2*sec || len(tl.Takes()) != 1 {
		t.Errorf("failed edits changed the timeline: %v, %d takes", tl.Duration(), len(tl.Takes()))
	}
}

func TestLocate(t *testing.T) {
	var tl Timeline
	// Take 0: chunks of 50, 20 (cut short by a pause), 50, 10 packets.
	if err := tl.Append(Take{ID: 0, Chunks: []int{50, 20, 50, 10, 0}}); err != nil {
		t.Fatal(err)
	}
	if err := tl.Insert(1*sec, takeOf(1, 60)); err != nil { // splits take 0 after packet 50
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Duration
		want Location
	}{
		{0, Location{0, 0, 0}},
		{19 * time.Millisecond, Location{0, 0, 0}},
		{20 * time.Millisecond, Location{0, 0, 1}},
		{980 * time.Millisecond, Location{0, 0, 49}},
		{1 * sec, Location{1, 0, 0}},
		{2 * sec, Location{1, 1, 0}},
		{2*sec + 180*time.Millisecond, Location{1, 1, 9}},
		{2*sec + 200*time.Millisecond, Location{0, 1, 0}},
		{2*sec + 600*time.Millisecond, Location{0, 2, 0}},
		{3*sec + 600*time.Millisecond, Location{0, 3, 0}},
		{3*sec + 780*time.Millisecond, Location{0, 3, 9}},
	}
	for _, tt := range tests {
		got, err := tl.Locate(tt.at)
		if err != nil || got != tt.want {
			t.Errorf("Locate(%v) = %+v, %v; want %+v", tt.at, got, err, tt.want)
		}
	}
	if got, want := tl.Duration(), 3*sec+800*time.Millisecond; got != want {
		t.Errorf("Duration = %v, want %v", got, want)
	}
}

func TestMarkers(t *testing.T) {
	var tl Timeline
	apply(t, &tl, []edit{{"append", 0, 250}}) // 5 s
	for _, m := range []Marker{{3 * sec, "date?"}, {1 * sec, "name"}, {4 * sec, "end"}} {
		if err := tl.AddMarker(m.At, m.Comment); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, want []Marker) {
		t.Helper()
		if got := tl.Markers(); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: markers = %v, want %v", step, got, want)
		}
		roundTrip(t, &tl)
	}
	check("added", []Marker{{1 * sec, "name"}, {3 * sec, "date?"}, {4 * sec, "end"}})
	apply(t, &tl, []edit{{"insert", 2 * sec, 100}}) // 2 s before the last two
	check("after insert", []Marker{{1 * sec, "name"}, {5 * sec, "date?"}, {6 * sec, "end"}})
	apply(t, &tl, []edit{{"overwrite", 5500 * time.Millisecond, 10}}) // drops "end"
	check("after overwrite", []Marker{{1 * sec, "name"}, {5 * sec, "date?"}})
	if err := tl.RemoveMarker(0); err != nil {
		t.Fatal(err)
	}
	check("after remove", []Marker{{5 * sec, "date?"}})
	apply(t, &tl, []edit{{"overwrite", 0, 10}})
	check("after overwriting everything", nil)
}

func TestUnmarshalTimelineRejects(t *testing.T) {
	var tl Timeline
	apply(t, &tl, []edit{{"append", 0, 100}, {"insert", 1 * sec, 10}})
	if err := tl.AddMarker(0, "hi"); err != nil {
		t.Fatal(err)
	}
	good, _ := tl.MarshalBinary()
	// good = 01 next=02 | 02 takes: 00 03 32 32 00 | 01 02 0a 00 | 03 segs: 00 00 32 | 01 00 0a | 00 32 32 | 01 mark: 00 00 02 'h' 'i'
	want := []byte{1, 2, 2, 0, 3, 50, 50, 0, 1, 2, 10, 0, 3, 0, 0, 50, 1, 0, 10, 0, 50, 50, 1, 0, 0, 2, 'h', 'i'}
	if !bytes.Equal(good, want) {
		t.Fatalf("encoding = %v, want %v", good, want)
	}
	mod := func(i int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown version", mod(0, 2)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"take id not below next", mod(1, 1)},
		{"take ids out of order", mod(8, 0)},
		{"chunk too large", []byte{1, 1, 1, 0, 1, 0xb9, 0x17, 1, 0, 0, 1, 0}},
		{"segment of unknown take", mod(13, 5)},
		{"empty segment", mod(15, 0)},
		{"segment past take end", mod(15, 51)},
		{"overlapping segments", mod(20, 40)},
		{"unused take", []byte{1, 2, 2, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0}},
		{"marker off the timeline", mod(24, 100)},
		{"marker comment not UTF-8", mod(26, 0xff)},
		{"count beyond input", []byte{1, 1, 100}},
		{"non-minimal varint", []byte{1, 0x80, 0x00, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := UnmarshalTimeline(tt.b); !errors.Is(err, ErrInvalidTimeline) {
				t.Errorf("got %v, %v; want ErrInvalidTimeline", got, err)
			}
		})
	}
}

// FuzzUnmarshalTimeline's seed corpus is testdata/fuzz/FuzzUnmarshalTimeline
// (see FuzzUnmarshalChunk).
func FuzzUnmarshalTimeline(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tl, err := UnmarshalTimeline(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidTimeline) {
				t.Fatalf("error %v does not wrap ErrInvalidTimeline", err)
			}
			return
		}
		again, err := tl.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding: %v\n got %x\nwant %x", err, again, b)
		}
		// A decoded timeline must be usable: every point locates, every
		// marker is on it, and edits keep it valid.
		d := tl.Duration()
		for _, at := range []time.Duration{0, d / 2, d - FrameDuration} {
			if at >= 0 && at < d {
				if _, err := tl.Locate(at); err != nil {
					t.Fatalf("Locate(%v) in %v: %v", at, d, err)
				}
			}
		}
		for _, m := range tl.Markers() {
			if m.At < 0 || m.At >= d {
				t.Fatalf("marker at %v in a timeline of %v", m.At, d)
			}
		}
		if tl.NextTakeID() < 1<<32-2 {
			if err := tl.Insert(d/2, takeOf(tl.NextTakeID(), 3)); err != nil {
				t.Fatalf("Insert: %v", err)
			}
			b2, _ := tl.MarshalBinary()
			if _, err := UnmarshalTimeline(b2); err != nil {
				t.Fatalf("timeline invalid after an insert: %v", err)
			}
		}
	})
}
