package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

// The search snapshot (issue 16): the search index and the note metadata
// LoadNotes would otherwise decrypt every note for, written at checkpoints,
// sealed under the vault key, so that an unlock loads it and decrypts only
// the notes changed since.
//
// What it covers is named note by note: each entry is one note revision
// (record id and revision id) with what decrypting it gave (the note
// without its text, or a tombstone), and the winner's
// entry has a doc in the index, whose postings were made from that
// revision's text. A revision id fixes its content (record.Revision's hash
// covers the body), so an entry is right for as long as that revision is
// the head it was: at unlock an entry is used only for a head the
// authenticated heads bucket names, a winner only with its doc, and every
// other note is decrypted and indexed as before. A covered note's stored
// revision is still read and checked against its head and its id (a hash,
// no decryption), so a revision damaged in the file makes its note damaged
// exactly as without a snapshot. A snapshot is therefore
// never wrong, only older: a crash between checkpoints, or a copy restored
// from a backup, costs time, not answers. One that does not open or decode
// is ignored (and replaced at the next checkpoint).
//
// A snapshot holds note words, so it is never plaintext on disk: the
// encoding below is split into chunks of at most snapChunk bytes, each
// sealed under the vault key (its device-local subkey) at a place naming
// the snapshot's random id, the chunk's index and whether it is the last,
// so chunks of two snapshots, reordered, dropped or truncated ones do not
// open. A head value (sealed too) names the id and the chunk count.
//
// Removing a case (destroyed, or taken away) deletes the snapshot in the
// same transaction, and the next checkpoint writes one without the case:
// its words never stay in a committed snapshot. (bbolt does not scrub freed
// pages; what they keep is sealed, as a deleted draft is.)
//
// The encoding (all integers uvarint, strings length-prefixed):
//
//	"FCSX" version(1)
//	entries: count, then each: record id, revision id (32 bytes), flags
//	  (1 tombstone, 2 has a doc), and unless a tombstone the note
//	  without text: kind, date, time, place, attendees (count, each),
//	  author
//	terms: count, then each: word, postings (length, then uvarint gaps of
//	  doc+1 as in a segment)
//
// Docs are numbered in the order of the entries that have one.

var (
	bucketSearchIndex = []byte("searchindex")
	snapHeadKey       = []byte("head")
)

const (
	snapMagic   = "FCSX"
	snapVersion = 1
	snapChunk   = 1 << 20
)

// snapCheckpointEvery is how many note changes since the last snapshot
// make a write start a checkpoint in the background (tests lower it).
var snapCheckpointEvery = 1024

// errSnapshot is a snapshot that does not open or decode: it is ignored.
var errSnapshot = errors.New("search snapshot unusable")

// snapEntry is one note revision a snapshot covers.
type snapEntry struct {
	id      string
	rev     record.RevID
	deleted bool
	note    *record.Note // without its text; nil for a tombstone
	doc     int32        // its doc in the snapshot's segment, or -1
}

// snapshot is a decoded snapshot: its entries and its index segment
// (frozen; docs[d] is the record id of the entry with doc d).
type snapshot struct {
	entries []snapEntry
	seg     *segment
	byRev   map[snapKey]int32
}

type snapKey struct {
	id  string
	rev record.RevID
}

// find returns the entry for revision rev of note id.
func (s *snapshot) find(id string, rev record.RevID) *snapEntry {
	if i, ok := s.byRev[snapKey{id, rev}]; ok {
		return &s.entries[i]
	}
	return nil
}

// liveDoc is a doc of the index that a snapshot keeps: doc of seg, the
// note's current text.
type liveDoc struct {
	seg *segment
	doc uint32
	id  string
}

// mergeSegments builds one frozen segment from the docs given (ascending
// by segment, in the order segs are given, then by doc): their postings,
// renumbered; a word no kept doc holds is left out.
func mergeSegments(segs []*segment, keep []liveDoc) *segment {
	out := &segment{docs: make([]string, len(keep)), long: map[string]uint32{}}
	remap := map[*segment][]int32{}
	for _, s := range segs {
		r := make([]int32, len(s.docs))
		for i := range r {
			r[i] = -1
		}
		remap[s] = r
	}
	for i, k := range keep {
		remap[k.seg][k.doc] = int32(i)
		out.docs[i] = k.id
	}
	terms := map[string]uint32{}
	var last []uint32
	for _, s := range segs {
		r := remap[s]
		for t, w := range s.words {
			p := s.postings[t]
			var doc uint64
			nt, seen := terms[w]
			for len(p) > 0 {
				d, n := binary.Uvarint(p)
				if n <= 0 {
					break // cannot happen: add wrote them
				}
				p = p[n:]
				doc += d
				nd := r[doc-1]
				if nd < 0 {
					continue
				}
				if !seen {
					nt = uint32(len(out.words))
					terms[w] = nt
					out.words = append(out.words, w)
					out.postings = append(out.postings, nil)
					last = append(last, 0)
					seen = true
				}
				out.postings[nt] = binary.AppendUvarint(out.postings[nt], uint64(uint32(nd)+1-last[nt]))
				last[nt] = uint32(nd) + 1
			}
		}
	}
	out.buildDict()
	out.freeze()
	return out
}

// buildDict makes the term dictionary from words.
func (s *segment) buildDict() {
	s.short = newShortDict()
	s.long = map[string]uint32{}
	for t, w := range s.words {
		if len(w) <= 8 {
			s.short.put(packWord([]byte(w)), uint32(t))
		} else {
			s.long[w] = uint32(t)
		}
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeSnapshot writes entries (those with a doc first, in doc order) and
// the segment their docs are in.
func encodeSnapshot(entries []snapEntry, seg *segment) []byte {
	size := 64
	for _, p := range seg.postings {
		size += len(p) + 2
	}
	for _, w := range seg.words {
		size += len(w) + 1
	}
	size += len(entries) * 120
	b := make([]byte, 0, size)
	b = append(b, snapMagic...)
	b = append(b, snapVersion)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for i := range entries {
		e := &entries[i]
		b = appendString(b, e.id)
		b = append(b, e.rev[:]...)
		var flags byte
		if e.deleted {
			flags |= 1
		}
		if e.doc >= 0 {
			flags |= 2
		}
		b = append(b, flags)
		if e.deleted {
			continue
		}
		n := e.note
		b = appendString(b, n.Kind)
		b = appendString(b, string(n.Date))
		b = appendString(b, n.Time)
		b = appendString(b, n.Place)
		b = binary.AppendUvarint(b, uint64(len(n.Attendees)))
		for _, a := range n.Attendees {
			b = appendString(b, a)
		}
		b = appendString(b, n.Author)
	}
	b = binary.AppendUvarint(b, uint64(len(seg.words)))
	for t, w := range seg.words {
		b = appendString(b, w)
		b = binary.AppendUvarint(b, uint64(len(seg.postings[t])))
		b = append(b, seg.postings[t]...)
	}
	return b
}

// snapReader reads the encoding; the first error sticks.
type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", errSnapshot, what, len(r.b))
	}
	r.b = nil
}

func (r *snapReader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad number")
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *snapReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("length past the end")
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// decodeSnapshot reads a snapshot; id returns the string for a record id
// (the working set's own, so the index shares it), intern one for other
// repeated strings.
func decodeSnapshot(b []byte, id func([]byte) string) (*snapshot, error) {
	if len(b) < len(snapMagic)+1 || string(b[:len(snapMagic)]) != snapMagic {
		return nil, fmt.Errorf("%w: not a snapshot", errSnapshot)
	}
	if b[len(snapMagic)] != snapVersion {
		return nil, fmt.Errorf("%w: version %d", errSnapshot, b[len(snapMagic)])
	}
	r := &snapReader{b: b[len(snapMagic)+1:]}
	strs := map[string]string{}
	intern := func(b []byte) string {
		if s, ok := strs[string(b)]; ok {
			return s
		}
		s := string(b)
		strs[s] = s
		return s
	}
	n := r.uvarint()
	if n > uint64(len(r.b))/34 { // an entry takes at least 34 bytes
		return nil, fmt.Errorf("%w: %d entries in %d bytes", errSnapshot, n, len(r.b))
	}
	s := &snapshot{entries: make([]snapEntry, n), byRev: make(map[snapKey]int32, n)}
	notes := make([]record.Note, 0, n) // one arena
	var docs []string
	for i := range s.entries {
		e := &s.entries[i]
		idb := r.bytes()
		if len(r.b) < 33 {
			r.fail("entry cut short")
			break
		}
		e.id = id(idb)
		copy(e.rev[:], r.b)
		flags := r.b[32]
		r.b = r.b[33:]
		if flags&^3 != 0 || flags == 3 {
			r.fail("bad flags")
			break
		}
		e.deleted = flags&1 != 0
		e.doc = -1
		if flags&2 != 0 {
			e.doc = int32(len(docs))
			docs = append(docs, e.id)
		}
		if _, ok := s.byRev[snapKey{e.id, e.rev}]; ok {
			r.fail("a revision twice")
			break
		}
		s.byRev[snapKey{e.id, e.rev}] = int32(i)
		if e.deleted {
			continue
		}
		notes = append(notes, record.Note{
			Kind: intern(r.bytes()), Date: record.Date(intern(r.bytes())), Time: intern(r.bytes()),
			Place: intern(r.bytes()),
		})
		nt := &notes[len(notes)-1]
		na := r.uvarint()
		if na > uint64(len(r.b)) {
			r.fail("attendees past the end")
			break
		}
		if na > 0 {
			nt.Attendees = make([]string, na)
			for j := range nt.Attendees {
				nt.Attendees[j] = intern(r.bytes())
			}
		}
		nt.Author = intern(r.bytes())
		e.note = nt
	}
	if r.err != nil {
		return nil, r.err
	}
	seg := &segment{docs: docs}
	nw := r.uvarint()
	if nw > uint64(len(r.b))/2 {
		return nil, fmt.Errorf("%w: %d words in %d bytes", errSnapshot, nw, len(r.b))
	}
	seg.words = make([]string, 0, nw)
	seg.postings = make([][]byte, 0, nw)
	words := make(map[string]bool, nw)
	size := 0
	rest := r.b
	for range nw { // first pass: check, and size one block for every posting
		w := r.bytes()
		p := r.bytes()
		if r.err != nil {
			return nil, r.err
		}
		if err := checkWord(w); err != nil {
			return nil, err
		}
		if words[string(w)] {
			return nil, fmt.Errorf("%w: word twice", errSnapshot)
		}
		words[string(w)] = true
		if err := checkPostings(p, len(docs)); err != nil {
			return nil, err
		}
		size += len(p)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the end", errSnapshot, len(r.b))
	}
	r.b = rest
	block := make([]byte, 0, size)
	for range nw {
		seg.words = append(seg.words, string(r.bytes()))
		p := r.bytes()
		start := len(block)
		block = append(block, p...)
		seg.postings = append(seg.postings, block[start:len(block):len(block)])
	}
	seg.buildDict()
	s.seg = seg
	return s, nil
}

// checkWord refuses what tokenize cannot emit in a way the dictionary
// depends on: an empty word, or one holding a zero byte (packWord).
func checkWord(w []byte) error {
	if len(w) == 0 || bytes.IndexByte(w, 0) >= 0 {
		return fmt.Errorf("%w: bad word", errSnapshot)
	}
	return nil
}

// checkPostings checks a posting list: gaps of at least one, docs below
// ndocs, so queries on it can trust it.
func checkPostings(p []byte, ndocs int) error {
	var doc uint64
	for len(p) > 0 {
		d, n := binary.Uvarint(p)
		if n <= 0 || d == 0 || d > uint64(ndocs) {
			return fmt.Errorf("%w: bad posting", errSnapshot)
		}
		doc += d
		if doc > uint64(ndocs) {
			return fmt.Errorf("%w: posting past the docs", errSnapshot)
		}
		p = p[n:]
	}
	return nil
}

func snapHeadPlace(vaultID string) crypto.Place {
	return crypto.Place{CaseID: vaultID, RecordID: "searchindex", Purpose: crypto.PurposeMeta}
}

func snapChunkPlace(vaultID string, snapID []byte, i, n int) crypto.Place {
	return crypto.Place{CaseID: vaultID, RecordID: "searchindex:" + hex.EncodeToString(snapID),
		Purpose: crypto.PurposeMeta, Chunk: uint32(i), Last: i == n-1}
}

func snapChunkKey(i int) []byte { return binary.BigEndian.AppendUint32([]byte("c"), uint32(i)) }

// putSnapshot replaces the stored snapshot with plain, sealed in chunks.
func putSnapshot(btx *bolt.Tx, vk *crypto.CaseKey, vaultID string, plain []byte) error {
	sn, err := sealSnapshot(vk, vaultID, plain)
	if err != nil {
		return err
	}
	return sn.write(btx)
}

// sealedSnapshot is a snapshot sealed and ready to write: its head and
// chunks.
type sealedSnapshot struct {
	head   []byte
	chunks [][]byte
}

// sealSnapshot seals plain under the vault key: done under the keys' read
// lock, before the write transaction, so that no transaction waiting on
// bbolt (a remap waits for every reader) ever holds the keys.
func sealSnapshot(vk *crypto.CaseKey, vaultID string, plain []byte) (sealedSnapshot, error) {
	snapID := make([]byte, 16)
	if _, err := rand.Read(snapID); err != nil {
		return sealedSnapshot{}, err
	}
	n := max(1, (len(plain)+snapChunk-1)/snapChunk)
	head := binary.AppendUvarint(slices.Clone(snapID), uint64(n))
	head = binary.AppendUvarint(head, uint64(len(plain)))
	sn := sealedSnapshot{head: crypto.Seal(vk, snapHeadPlace(vaultID), head), chunks: make([][]byte, n)}
	for i := range n {
		chunk := plain[i*snapChunk : min(len(plain), (i+1)*snapChunk)]
		sn.chunks[i] = crypto.Seal(vk, snapChunkPlace(vaultID, snapID, i, n), chunk)
	}
	return sn, nil
}

// write replaces the stored snapshot with sn.
func (sn sealedSnapshot) write(btx *bolt.Tx) error {
	if btx.Bucket(bucketSearchIndex) != nil {
		if err := btx.DeleteBucket(bucketSearchIndex); err != nil {
			return err
		}
	}
	b, err := btx.CreateBucket(bucketSearchIndex)
	if err != nil {
		return err
	}
	if err := b.Put(snapHeadKey, sn.head); err != nil {
		return err
	}
	for i, c := range sn.chunks {
		if err := b.Put(snapChunkKey(i), c); err != nil {
			return err
		}
	}
	return nil
}

// readSnapshot opens the stored snapshot; nil, nil when there is none.
func readSnapshot(btx *bolt.Tx, vk *crypto.CaseKey, vaultID string) ([]byte, error) {
	b := btx.Bucket(bucketSearchIndex)
	if b == nil {
		return nil, nil
	}
	sealedHead := b.Get(snapHeadKey)
	if sealedHead == nil {
		return nil, nil
	}
	head, err := crypto.Open(vk, snapHeadPlace(vaultID), sealedHead)
	if err != nil || len(head) < 16 {
		return nil, fmt.Errorf("%w: head does not open", errSnapshot)
	}
	snapID := head[:16]
	hr := &snapReader{b: head[16:]}
	n, size := hr.uvarint(), hr.uvarint()
	if hr.err != nil || len(hr.b) != 0 || n == 0 || n > 1<<20 || size > n*snapChunk {
		return nil, fmt.Errorf("%w: bad head", errSnapshot)
	}
	plain := make([]byte, 0, size)
	var scratch []byte
	for i := range int(n) {
		c := b.Get(snapChunkKey(i))
		if c == nil {
			return nil, fmt.Errorf("%w: chunk %d missing", errSnapshot, i)
		}
		if len(c) > snapChunk+crypto.SealOverhead {
			return nil, fmt.Errorf("%w: chunk %d too long", errSnapshot, i)
		}
		scratch, err = crypto.OpenTo(scratch, vk, snapChunkPlace(vaultID, snapID, i, int(n)), c)
		if err != nil {
			return nil, fmt.Errorf("%w: chunk %d does not open", errSnapshot, i)
		}
		if uint64(len(plain)+len(scratch)) > size {
			return nil, fmt.Errorf("%w: longer than the head says", errSnapshot)
		}
		plain = append(plain, scratch...)
	}
	clear(scratch)
	if uint64(len(plain)) != size {
		return nil, fmt.Errorf("%w: %d bytes, the head says %d", errSnapshot, len(plain), size)
	}
	return plain, nil
}

// indexCapture is what a checkpoint takes from the working set under its
// lock; the rest of the work happens without it.
type indexCapture struct {
	segs    []*segment // frozen: their words and postings do not change
	docs    []liveDoc  // the docs kept, in segment and doc order
	entries []snapEntry
	changes int  // ws.indexChanges when captured
	whole   bool // every doc the index holds in segs is in docs
}

// captureIndex freezes the live segment (later edits go to a new one) and
// lists what a snapshot of the index and the loaded note heads holds.
// Called with v.mu held for writing.
func (ws *workingSet) captureIndex() *indexCapture {
	ix := ws.index
	if len(ix.live.docs) > 0 {
		ix.live.freeze()
		ix.live = newSegment()
		ix.segs = append(ix.segs, ix.live)
	}
	c := &indexCapture{changes: ws.indexChanges, whole: true}
	for _, s := range ix.segs {
		if s != ix.live {
			c.segs = append(c.segs, s)
		}
	}
	withDoc := map[string]bool{}
	for _, s := range c.segs {
		for d, id := range s.docs {
			if id == "" {
				continue
			}
			r, ok := ix.byID[id]
			if !ok || r.seg != s || r.doc != uint32(d) {
				continue
			}
			e := ws.records[id]
			var w *Head
			if e != nil && e.kind == record.KindNote {
				w = e.winner()
			}
			n, ok := noteOf(w)
			if !ok || w.Rev != r.rev {
				// Indexed text that is not the winner's as loaded: kept
				// in memory, left out of the snapshot.
				c.whole = false
				continue
			}
			c.docs = append(c.docs, liveDoc{s, uint32(d), id})
			c.entries = append(c.entries, snapEntry{id: id, rev: w.Rev, note: n, doc: int32(len(c.docs) - 1)})
			withDoc[id] = true
		}
	}
	for id, e := range ws.records {
		if e.kind != record.KindNote {
			continue
		}
		for i := range e.heads {
			h := &e.heads[i]
			if i == 0 && !h.Deleted {
				// A winner is covered only with its doc: one without
				// is decrypted and indexed at the next unlock.
				continue
			}
			if !h.loaded || h.Err != nil {
				continue
			}
			n, ok := noteOf(h)
			if !ok && !h.Deleted {
				continue
			}
			c.entries = append(c.entries, snapEntry{id: id, rev: h.Rev, deleted: h.Deleted, note: n, doc: -1})
		}
	}
	return c
}

// noteOf is a loaded, opened, live head's note (without its text).
func noteOf(h *Head) (*record.Note, bool) {
	if h == nil || !h.loaded || h.Err != nil || h.Deleted {
		return nil, false
	}
	n, ok := h.Value.(*record.Note)
	return n, ok && n != nil
}

// replaceSegments puts merged (built from c) in place of the segments c
// captured, when c holds every doc they index: memory goes back to one
// compact segment. Called with v.mu held for writing.
func (ix *searchIndex) replaceSegments(c *indexCapture, merged *segment) {
	if !c.whole {
		return
	}
	old := map[*segment]bool{}
	for _, s := range c.segs {
		old[s] = true
	}
	for d, k := range c.docs {
		r, ok := ix.byID[k.id]
		if ok && r.seg == k.seg && r.doc == k.doc {
			ix.byID[k.id] = docRef{merged, uint32(d), r.rev}
		} else {
			merged.docs[d] = "" // replaced or removed meanwhile
		}
	}
	segs := []*segment{merged}
	for _, s := range ix.segs {
		if !old[s] {
			segs = append(segs, s)
		}
	}
	ix.segs = segs
}

// snapAfterCapture, when set (by tests), runs between a checkpoint's
// capture and its write.
var snapAfterCapture func()

// errSnapshotStale is a checkpoint raced by a case's removal: its
// snapshot may hold the case's words, so it is not written.
var errSnapshotStale = errors.New("search snapshot raced by a removal")

// checkpoint writes a snapshot of the search index and the loaded note
// heads, when notes changed since the last one. The working set is locked
// only while the snapshot is captured (a few milliseconds at 50,000
// notes); merging, encoding, sealing and writing happen outside it, in a
// bbolt transaction of their own.
func (v *Vault) checkpoint() error {
	if v.opts.ReadOnly {
		return nil
	}
	v.snapMu.Lock()
	defer v.snapMu.Unlock()
	// Captured, merged, encoded and sealed under the keys' read lock; the
	// write comes after it is released: a write transaction can wait on
	// bbolt for every open reader (to grow the file's mapping), and a
	// reader may wait for the keys (Lock, a case's keys dropped).
	var (
		ws     *workingSet
		c      *indexCapture
		merged *segment
		sn     sealedSnapshot
		epoch  uint64
	)
	err := v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		v.mu.Lock()
		ws = v.ws
		if ws == nil || ws.indexChanges == 0 {
			v.mu.Unlock()
			ws = nil
			return nil
		}
		c = ws.captureIndex()
		epoch = v.snapEpoch.Load()
		v.mu.Unlock()
		if snapAfterCapture != nil {
			snapAfterCapture()
		}
		merged = mergeSegments(c.segs, c.docs)
		plain := encodeSnapshot(c.entries, merged)
		defer clear(plain)
		var err error
		sn, err = sealSnapshot(vk, v.vaultID, plain)
		return err
	})
	if err != nil || ws == nil {
		return err
	}
	err = v.update(func(btx *bolt.Tx) error {
		if v.snapEpoch.Load() != epoch {
			return errSnapshotStale
		}
		return sn.write(btx)
	})
	if errors.Is(err, errSnapshotStale) {
		return nil // the removal asked for another checkpoint
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		if v.ws == ws {
			ws.snapRetry = 2 * ws.indexChanges
		}
		return fmt.Errorf("writing the search snapshot: %w", err)
	}
	if v.ws == ws {
		ws.indexChanges -= c.changes
		ws.snapRetry, ws.snapMissing = 0, false
		ws.index.replaceSegments(c, merged)
	}
	return nil
}

// checkpointSoon starts a checkpoint in the background unless one is
// running; Lock and Close wait for it.
func (v *Vault) checkpointSoon() {
	if v.opts.ReadOnly || !v.snapRunning.CompareAndSwap(false, true) {
		return
	}
	v.snapWG.Add(1)
	go func() {
		defer v.snapWG.Done()
		defer v.snapRunning.Store(false)
		_ = v.checkpoint() // a failed write leaves the older snapshot: the next one tries again
		// Merging, encoding, sealing and bbolt's pages left about four
		// times the snapshot (80 MB at 50,000 notes) as garbage; an idle
		// TUI allocates nothing that would collect it, and would hold it.
		debug.FreeOSMemory()
	}()
}

// checkpointDue says whether enough notes changed since the stored
// snapshot for a checkpoint in the background. Called with v.mu held.
func (ws *workingSet) checkpointDue() bool {
	return ws.indexChanges >= max(snapCheckpointEvery, ws.snapRetry)
}

// checkpointDue is ws.checkpointDue under the lock.
func (v *Vault) checkpointDue() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.ws != nil && v.ws.checkpointDue()
}

// snapLockMin is how many note changes the stored snapshot must lack for
// Lock and Close to write a new one: fewer are decrypted at the next unlock
// in a few milliseconds, where a checkpoint writes the whole snapshot (20 MB
// at 50,000 notes).
const snapLockMin = 64

// lockCheckpointDue says whether Lock writes a snapshot: enough changes,
// or any while none is stored (a removal deleted it).
func (v *Vault) lockCheckpointDue() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ws := v.ws
	return ws != nil && (ws.indexChanges >= snapLockMin || ws.indexChanges > 0 && ws.snapMissing)
}

// indexChanges is how many note changes the stored snapshot lacks.
func (v *Vault) indexChanges() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ws == nil {
		return 0
	}
	return v.ws.indexChanges
}

// loadSnapshot reads, opens and decodes the stored snapshot for ws; nil
// when there is none or it is unusable (every note is then decrypted, and
// the next checkpoint replaces it).
func (v *Vault) loadSnapshot(vk *crypto.CaseKey, ws *workingSet) *snapshot {
	var plain []byte
	err := v.view(func(btx *bolt.Tx) error {
		var err error
		plain, err = readSnapshot(btx, vk, v.vaultID)
		return err
	})
	if err != nil || plain == nil {
		return nil
	}
	defer clear(plain)
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ws != ws {
		return nil
	}
	snap, err := decodeSnapshot(plain, func(b []byte) string {
		if e := ws.records[string(b)]; e != nil {
			return e.id // one copy of the id, the working set's
		}
		return string(b)
	})
	if err != nil {
		return nil
	}
	return snap
}
