package track

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"time"
	"unicode/utf8"
)

// Take describes one continuous recording (one Start…Stop of a Recorder,
// pauses left out) as it was stored: the number of packets in each of its
// chunks, by chunk index. Recorder.Stop and Encoder.Close return it; after a
// crash the vault can rebuild it from the chunks it holds.
type Take struct {
	ID     uint32
	Chunks []int // packets per chunk; Chunks[i] is chunk i's len(Packets)
}

// Packets returns the number of 20 ms packets in the take.
func (t Take) Packets() int {
	n := 0
	for _, c := range t.Chunks {
		n += c
	}
	return n
}

// Duration returns the length of the take.
func (t Take) Duration() time.Duration { return PacketsDuration(int64(t.Packets())) }

// Location names the packet that holds a point in time.
type Location struct {
	Take   uint32
	Chunk  uint32 // chunk index within the take
	Packet int    // packet index within the chunk
}

// Marker is a point of interest with a short comment ("check the date").
type Marker struct {
	At      time.Duration
	Comment string
}

// MaxCommentLen bounds a marker's comment, in bytes.
const MaxCommentLen = 200

const (
	timelineVersion = 1
	maxPackets      = 1<<31 - 1 // bound on a timeline's length (about 497 days)
)

type segment struct {
	take     uint32
	start, n int // packet range [start, start+n) of the take
}

// A marker is anchored to the audio it marks, a packet of a take, not to a
// time: edits before it move it along with its audio, and overwriting its
// audio removes it.
type mark struct {
	take    uint32
	packet  int
	comment string
}

// Timeline is an edited recording: a sequence of segments, each a run of
// packets of one take, so that edits never re-encode audio. It holds the
// takes it uses and the markers set on it. Times are rounded down to whole
// 20 ms packets. A Timeline is not safe for concurrent use; Player and the
// exports work on a copy taken when they start.
//
// The zero value is an empty timeline ready to use.
type Timeline struct {
	next  uint32 // lowest take ID never used
	takes []Take // the takes segments use, sorted by ID
	segs  []segment
	marks []mark
}

// Duration returns the length of the timeline.
func (t *Timeline) Duration() time.Duration { return PacketsDuration(int64(t.Packets())) }

// Packets returns the length of the timeline in 20 ms packets.
func (t *Timeline) Packets() int {
	n := 0
	for _, s := range t.segs {
		n += s.n
	}
	return n
}

// NextTakeID returns the ID to give the next take. IDs are never reused
// within a timeline, not even those of takes an overwrite discarded, so the
// chunks of a discarded take can never be mistaken for a new take's.
func (t *Timeline) NextTakeID() uint32 { return t.next }

// Takes returns the takes the timeline still uses, sorted by ID. Chunks of
// any other take are no longer needed.
func (t *Timeline) Takes() []Take {
	out := make([]Take, len(t.takes))
	for i, tk := range t.takes {
		out[i] = Take{ID: tk.ID, Chunks: slices.Clone(tk.Chunks)}
	}
	return out
}

// Segment is a run of packets of one take, as the timeline plays it.
type Segment struct {
	Take    Take // the take, with the sizes of its chunks
	Start   int  // first packet of the take in the run
	Packets int  // packets in the run
}

// Segments returns the timeline's runs of packets in playing order: a
// decoder starts afresh at each, and a reader takes their packets from the
// take's chunks.
func (t *Timeline) Segments() []Segment {
	out := make([]Segment, len(t.segs))
	for i, s := range t.segs {
		tk := t.take(s.take)
		out[i] = Segment{Take: Take{ID: tk.ID, Chunks: slices.Clone(tk.Chunks)}, Start: s.start, Packets: s.n}
	}
	return out
}

// Append adds take at the end.
func (t *Timeline) Append(take Take) error { return t.Insert(t.Duration(), take) }

// Insert puts take at the point at (0 ≤ at ≤ Duration), moving what follows
// later. The take's ID must be at least NextTakeID. An empty take changes
// nothing but uses up its ID.
func (t *Timeline) Insert(at time.Duration, take Take) error {
	p, err := t.point(at, true)
	if err != nil {
		return err
	}
	if err := t.checkTake(take); err != nil {
		return err
	}
	t.next = take.ID + 1
	if take.Packets() == 0 {
		return nil
	}
	i := t.split(p)
	t.segs = slices.Insert(t.segs, i, segment{take: take.ID, n: take.Packets()})
	t.addTake(take)
	return nil
}

// Overwrite re-records from the point at (0 ≤ at ≤ Duration): everything
// from at onwards, markers included, is discarded and take is appended. The
// take's ID must be at least NextTakeID.
func (t *Timeline) Overwrite(at time.Duration, take Take) error {
	p, err := t.point(at, true)
	if err != nil {
		return err
	}
	if err := t.checkTake(take); err != nil {
		return err
	}
	t.segs = t.segs[:t.split(p)]
	t.prune()
	return t.Insert(PacketsDuration(int64(p)), take)
}

// Locate returns the packet that holds the point at (0 ≤ at < Duration).
func (t *Timeline) Locate(at time.Duration) (Location, error) {
	p, err := t.point(at, false)
	if err != nil {
		return Location{}, err
	}
	s, off := t.find(p)
	tk := t.take(s.take)
	ci, pi := chunkOf(tk.Chunks, s.start+off)
	return Location{Take: s.take, Chunk: uint32(ci), Packet: pi}, nil
}

// AddMarker sets a marker with a comment of at most MaxCommentLen bytes of
// UTF-8 on the audio at the point at (0 ≤ at < Duration).
func (t *Timeline) AddMarker(at time.Duration, comment string) error {
	if err := checkComment(comment); err != nil {
		return err
	}
	p, err := t.point(at, false)
	if err != nil {
		return err
	}
	s, off := t.find(p)
	t.marks = append(t.marks, mark{take: s.take, packet: s.start + off, comment: comment})
	return nil
}

// Markers returns the markers in time order.
func (t *Timeline) Markers() []Marker {
	out := make([]Marker, 0, len(t.marks))
	for _, i := range t.markOrder() {
		m := t.marks[i]
		p, _ := t.position(m.take, m.packet)
		out = append(out, Marker{At: PacketsDuration(int64(p)), Comment: m.comment})
	}
	return out
}

// RemoveMarker removes the i-th marker of Markers.
func (t *Timeline) RemoveMarker(i int) error {
	if i < 0 || i >= len(t.marks) {
		return fmt.Errorf("%w: no marker %d", ErrOutOfRange, i)
	}
	j := t.markOrder()[i]
	t.marks = slices.Delete(t.marks, j, j+1)
	return nil
}

// markOrder returns the indices of t.marks sorted by position, ties in the
// order they were added.
func (t *Timeline) markOrder() []int {
	pos := make([]int, len(t.marks))
	idx := make([]int, len(t.marks))
	for i, m := range t.marks {
		pos[i], _ = t.position(m.take, m.packet)
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pos[idx[a]] < pos[idx[b]] })
	return idx
}

// point converts a time to a packet position.
func (t *Timeline) point(at time.Duration, endOK bool) (int, error) {
	n := t.Packets()
	p := PacketsIn(at)
	if at < 0 || p > int64(n) || p == int64(n) && !endOK {
		return 0, fmt.Errorf("%w: %v in a timeline of %v", ErrOutOfRange, at, t.Duration())
	}
	return int(p), nil
}

// find returns the segment holding packet position p (< packets()) and the
// offset of p in it.
func (t *Timeline) find(p int) (segment, int) {
	for _, s := range t.segs {
		if p < s.n {
			return s, p
		}
		p -= s.n
	}
	panic("track: position beyond timeline") // callers check p first
}

// position returns the timeline position of packet of take.
func (t *Timeline) position(take uint32, packet int) (int, bool) {
	pos := 0
	for _, s := range t.segs {
		if s.take == take && packet >= s.start && packet < s.start+s.n {
			return pos + packet - s.start, true
		}
		pos += s.n
	}
	return 0, false
}

// split makes a segment boundary at position p (≤ packets()) and returns
// the index of the segment starting there (len(t.segs) at the end).
func (t *Timeline) split(p int) int {
	for i, s := range t.segs {
		switch {
		case p == 0:
			return i
		case p < s.n:
			t.segs = slices.Insert(t.segs, i+1, segment{take: s.take, start: s.start + p, n: s.n - p})
			t.segs[i].n = p
			return i + 1
		}
		p -= s.n
	}
	return len(t.segs)
}

// prune drops takes no segment uses and markers on audio no longer there.
func (t *Timeline) prune() {
	t.takes = slices.DeleteFunc(t.takes, func(tk Take) bool {
		return !slices.ContainsFunc(t.segs, func(s segment) bool { return s.take == tk.ID })
	})
	t.marks = slices.DeleteFunc(t.marks, func(m mark) bool {
		_, ok := t.position(m.take, m.packet)
		return !ok
	})
}

func (t *Timeline) checkTake(take Take) error {
	if take.ID < t.next {
		return fmt.Errorf("%w: take %d already used (next is %d)", ErrInvalidTimeline, take.ID, t.next)
	}
	if take.ID == 1<<32-1 {
		return fmt.Errorf("%w: take ID %d too large", ErrInvalidTimeline, take.ID)
	}
	total := 0
	for i, c := range take.Chunks {
		if c < 0 || c > MaxChunkPackets {
			return fmt.Errorf("%w: take %d chunk %d has %d packets", ErrInvalidTimeline, take.ID, i, c)
		}
		total += c
	}
	if total+t.Packets() > maxPackets {
		return fmt.Errorf("%w: timeline too long", ErrInvalidTimeline)
	}
	return nil
}

func (t *Timeline) addTake(take Take) {
	i, _ := slices.BinarySearchFunc(t.takes, take.ID, func(tk Take, id uint32) int { return cmpU32(tk.ID, id) })
	t.takes = slices.Insert(t.takes, i, Take{ID: take.ID, Chunks: slices.Clone(take.Chunks)})
}

// take returns the take with id, which a segment uses; its Chunks are
// shared.
func (t *Timeline) take(id uint32) Take {
	i, _ := slices.BinarySearchFunc(t.takes, id, func(tk Take, id uint32) int { return cmpU32(tk.ID, id) })
	return t.takes[i]
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// chunkOf maps a packet index of a take to (chunk, packet in chunk).
func chunkOf(chunks []int, p int) (int, int) {
	for i, n := range chunks {
		if p < n {
			return i, p
		}
		p -= n
	}
	return len(chunks), p
}

func checkComment(c string) error {
	if len(c) > MaxCommentLen || !utf8.ValidString(c) {
		return fmt.Errorf("%w: marker comment must be at most %d bytes of UTF-8", ErrInvalidTimeline, MaxCommentLen)
	}
	return nil
}

// Clone returns a deep copy.
func (t *Timeline) Clone() *Timeline {
	c := &Timeline{next: t.next, takes: t.Takes(), segs: slices.Clone(t.segs), marks: slices.Clone(t.marks)}
	return c
}

// Timeline encoding, version 1 (integers are minimal unsigned varints):
//
//	version  byte 1
//	next     take ID never used yet
//	ntakes,   ntakes × (id, nchunks, nchunks × packets)     IDs increasing
//	nsegs,    nsegs × (take, start, packets)
//	nmarks,   nmarks × (take, packet, len, comment bytes)
//
// A valid encoding has no trailing bytes, no take without a segment, no two
// segments sharing a packet, and no marker off the timeline.

// MarshalBinary encodes the timeline.
func (t *Timeline) MarshalBinary() ([]byte, error) {
	b := []byte{timelineVersion}
	b = binary.AppendUvarint(b, uint64(t.next))
	b = binary.AppendUvarint(b, uint64(len(t.takes)))
	for _, tk := range t.takes {
		b = binary.AppendUvarint(b, uint64(tk.ID))
		b = binary.AppendUvarint(b, uint64(len(tk.Chunks)))
		for _, c := range tk.Chunks {
			b = binary.AppendUvarint(b, uint64(c))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(t.segs)))
	for _, s := range t.segs {
		b = binary.AppendUvarint(b, uint64(s.take))
		b = binary.AppendUvarint(b, uint64(s.start))
		b = binary.AppendUvarint(b, uint64(s.n))
	}
	b = binary.AppendUvarint(b, uint64(len(t.marks)))
	for _, m := range t.marks {
		b = binary.AppendUvarint(b, uint64(m.take))
		b = binary.AppendUvarint(b, uint64(m.packet))
		b = binary.AppendUvarint(b, uint64(len(m.comment)))
		b = append(b, m.comment...)
	}
	return b, nil
}

// UnmarshalTimeline decodes a timeline encoded by MarshalBinary. Any other
// input gives an error wrapping ErrInvalidTimeline.
func UnmarshalTimeline(b []byte) (*Timeline, error) {
	t, err := unmarshalTimeline(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTimeline, err)
	}
	return t, nil
}

func unmarshalTimeline(b []byte) (*Timeline, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != timelineVersion {
		return nil, fmt.Errorf("unknown version %d", v)
	}
	t := &Timeline{next: d.uint32()}
	t.takes = make([]Take, d.count(len(b), 2))
	sizes := make(map[uint32]int, len(t.takes))
	for i := range t.takes {
		tk := Take{ID: d.uint32()}
		tk.Chunks = make([]int, d.count(len(b), 1))
		total := 0
		for j := range tk.Chunks {
			c := d.uvarint()
			if c > MaxChunkPackets {
				d.fail("take %d chunk %d has %d packets", tk.ID, j, c)
			}
			tk.Chunks[j] = int(c)
			total += int(c)
		}
		if d.err != nil {
			return nil, d.err
		}
		switch {
		case i > 0 && tk.ID <= t.takes[i-1].ID:
			return nil, fmt.Errorf("take IDs out of order")
		case tk.ID >= t.next:
			return nil, fmt.Errorf("take %d not below next ID %d", tk.ID, t.next)
		case total > maxPackets:
			return nil, fmt.Errorf("take %d too long", tk.ID)
		}
		t.takes[i] = tk
		sizes[tk.ID] = total
	}
	t.segs = make([]segment, d.count(len(b), 3))
	total := 0
	for i := range t.segs {
		s := segment{take: d.uint32(), start: d.int(maxPackets), n: d.int(maxPackets)}
		if d.err != nil {
			return nil, d.err
		}
		size, ok := sizes[s.take]
		switch {
		case !ok:
			return nil, fmt.Errorf("segment %d uses unknown take %d", i, s.take)
		case s.n == 0:
			return nil, fmt.Errorf("segment %d is empty", i)
		case s.start > size-s.n:
			return nil, fmt.Errorf("segment %d runs past the end of take %d", i, s.take)
		case total > maxPackets-s.n:
			return nil, fmt.Errorf("timeline too long")
		}
		total += s.n
		t.segs[i] = s
	}
	// No two segments may share a packet, and every take must be used.
	order := slices.Clone(t.segs)
	slices.SortFunc(order, func(a, b segment) int {
		if c := cmpU32(a.take, b.take); c != 0 {
			return c
		}
		return a.start - b.start
	})
	for i := 1; i < len(order); i++ {
		if a, b := order[i-1], order[i]; a.take == b.take && a.start+a.n > b.start {
			return nil, fmt.Errorf("segments overlap in take %d", a.take)
		}
	}
	used := 0
	for i, s := range order {
		if i == 0 || order[i-1].take != s.take {
			used++
		}
	}
	if used != len(t.takes) {
		return nil, fmt.Errorf("%d takes unused", len(t.takes)-used)
	}
	t.marks = make([]mark, d.count(len(b), 3))
	for i := range t.marks {
		m := mark{take: d.uint32(), packet: d.int(maxPackets)}
		m.comment = string(d.bytes(0, MaxCommentLen))
		if d.err != nil {
			return nil, d.err
		}
		if err := checkComment(m.comment); err != nil {
			return nil, fmt.Errorf("marker %d: bad comment", i)
		}
		// order is sorted by (take, start): find the last segment of the
		// marker's take starting at or before its packet.
		j := sort.Search(len(order), func(j int) bool {
			s := order[j]
			return s.take > m.take || s.take == m.take && s.start > m.packet
		}) - 1
		if j < 0 || order[j].take != m.take || m.packet >= order[j].start+order[j].n {
			return nil, fmt.Errorf("marker %d is off the timeline", i)
		}
		t.marks[i] = m
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return t, nil
}
