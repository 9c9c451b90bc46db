package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// Head is one head revision of a record, decoded.
type Head struct {
	Rev     record.RevID
	Gen     uint64
	HLC     record.HLC
	Device  string
	Seq     uint64
	Deleted bool
	// Value is the decoded body: *record.Case, *record.Note, *record.Consent,
	// *record.Task, or *json.RawMessage for other kinds. Nil for a tombstone,
	// for a body this device cannot open (Err says why), and for a note not
	// loaded yet.
	Value  any
	Err    error
	loaded bool
}

// entry is a record in the working set; heads are winner first.
type entry struct {
	id, caseID string
	kind       record.Kind
	heads      []Head
}

func (e *entry) winner() *Head { return &e.heads[0] }

// sortHeads puts the winner first (record.CompareHeads: the newest clock
// reading, then the larger revision id), so every device shows the same
// winner.
func sortHeads(hs []Head) {
	slices.SortFunc(hs, func(a, b Head) int { return record.CompareHeads(a.head(), b.head()) })
}

// head is h as the head and winner rules see it.
func (h *Head) head() record.Head {
	return record.Head{Rev: h.Rev, Gen: h.Gen, HLC: h.HLC, Deleted: h.Deleted}
}

type workingSet struct {
	records     map[string]*entry
	cases       map[string]map[string]*entry // case id → its records (the case record included)
	refs        map[string]string            // lower-case reference → case id
	outbox      map[record.RevID]bool
	notesLoaded bool
	index       *searchIndex
	// indexChanges counts changes to notes (and notes decrypted at
	// unlock) that the stored search snapshot lacks (sindex.go).
	indexChanges int
	// snapRetry is how many changes make the next background checkpoint
	// after one failed (a full disk): twice as many as then, not every write.
	snapRetry int
	// snapMissing: no snapshot is stored (none loaded, or a removal
	// deleted it), so every note lacks one.
	snapMissing bool
	damaged     map[string]Damage // by record id: records left out, see Damaged
	vaultDamage []Damage          // vault values that failed their check

	// taken caches which cases were taken away from this laptop's user
	// (see fillReassigned), as computed under takenRoster; nil until
	// asked for, and again whenever a keyring changes (takenGen counts
	// those changes, so a computation raced by one is not kept).
	taken       map[string]bool
	takenRoster *trust.Roster
	takenGen    uint64
}

// forgetTaken drops the cache of cases taken away.
func (ws *workingSet) forgetTaken() {
	ws.taken, ws.takenRoster = nil, nil
	ws.takenGen++
}

func newWorkingSet() *workingSet {
	return &workingSet{
		records: map[string]*entry{},
		cases:   map[string]map[string]*entry{},
		refs:    map[string]string{},
		outbox:  map[record.RevID]bool{},
		index:   newSearchIndex(),
	}
}

func (ws *workingSet) wipe() {
	// Drop every reference; the collector reclaims the plaintext. Go strings
	// cannot be overwritten in place, so this is the best a GC'd runtime can do.
	*ws = workingSet{}
}

func (ws *workingSet) setOutbox(rev record.RevID, added bool) {
	if added {
		ws.outbox[rev] = true
	} else {
		delete(ws.outbox, rev)
	}
}

// apply brings the working set up to date with one record a transaction
// wrote.
func (ws *workingSet) apply(t *touch) {
	if t.entry.Kind == record.KindKeyring {
		ws.forgetTaken() // who is a member may have changed
	}
	if _, ok := ws.damaged[t.recordID]; ok {
		// A damaged record comes back only when every head is new here
		// (superseded, or restored from the server's copies).
		for _, h := range t.entry.Heads {
			if _, ok := t.revs[h.Rev]; !ok {
				return
			}
		}
		delete(ws.damaged, t.recordID)
	}
	for _, h := range t.revs {
		if isBodyDamage(h.Err) && slices.ContainsFunc(t.entry.Heads, func(x head) bool { return x.Rev == h.Rev }) {
			ws.damage(Damage{CaseID: t.caseID, RecordID: t.recordID, Kind: t.entry.Kind,
				Problem: fmt.Sprintf("revision %s: %s", h.Rev.Short(), problem(h.Err))})
			return
		}
	}
	e := ws.records[t.recordID]
	if e == nil {
		e = &entry{id: t.recordID, caseID: t.caseID, kind: t.entry.Kind}
		ws.records[t.recordID] = e
		m := ws.cases[t.caseID]
		if m == nil {
			m = map[string]*entry{}
			ws.cases[t.caseID] = m
		}
		m[t.recordID] = e
	}
	old := e.heads
	heads := make([]Head, 0, len(t.entry.Heads))
	for _, h := range t.entry.Heads {
		if nh, ok := t.revs[h.Rev]; ok {
			nh.loaded = true
			heads = append(heads, nh)
			continue
		}
		if i := slices.IndexFunc(old, func(o Head) bool { return o.Rev == h.Rev }); i >= 0 {
			heads = append(heads, old[i])
			continue
		}
		heads = append(heads, Head{Rev: h.Rev, Gen: h.Gen, HLC: h.HLC, Deleted: h.Deleted})
	}
	sortHeads(heads)
	ws.setHeads(e, heads)
}

// setHeads replaces an entry's heads and keeps the derived indexes right.
// Note texts are indexed and then dropped: the working set keeps a note's
// metadata, and its text is decrypted again when shown (see fillTexts). That
// keeps 50,000 notes' text out of memory.
func (ws *workingSet) setHeads(e *entry, heads []Head) {
	if e.kind == record.KindCase && len(e.heads) > 0 {
		if c, ok := e.heads[0].Value.(*record.Case); ok && ws.refs[lower(c.Ref)] == e.id {
			delete(ws.refs, lower(c.Ref))
		}
	}
	e.heads = heads
	if len(heads) == 0 {
		if e.kind == record.KindNote {
			ws.indexChanges++
		}
		return
	}
	switch w := heads[0].Value.(type) {
	case *record.Case:
		ws.refs[lower(w.Ref)] = e.id
	case *record.Note:
		if !heads[0].Deleted && w.Text != "" {
			ws.index.put(e.id, heads[0].Rev, w)
		}
	}
	if e.kind == record.KindNote {
		ws.indexChanges++
		if heads[0].Deleted || heads[0].Value == nil {
			ws.index.remove(e.id)
		}
		for i := range heads {
			heads[i].Value = withoutText(heads[i].Value)
		}
	}
}

// withoutText returns a note value with its text dropped.
func withoutText(v any) any {
	n, ok := v.(*record.Note)
	if !ok || n == nil || n.Text == "" {
		return v
	}
	c := *n
	c.Text = ""
	return &c
}

// decode opens a revision's body with the keys held. A body this device has
// no key for is ErrNoKey: the revision is kept, sealed, and shown as such.
func (v *Vault) decode(keys *crypto.Keyring, rev *record.Revision) (any, error) {
	return v.decodeWith(keys, rev, nil)
}

// decodeWith is decode opening with scratch's buffers (nil: new ones): a
// load on many goroutines gives each its own, and leaves less garbage.
func (v *Vault) decodeWith(keys *crypto.Keyring, rev *record.Revision, scratch *sealed.Scratch) (any, error) {
	if rev.Kind == record.KindKeyring {
		return nil, nil
	}
	epoch, err := crypto.SealedEpoch(rev.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	ks := keys.All(rev.CaseID, epoch)
	if len(ks) == 0 {
		return nil, ErrNoKey
	}
	var js []byte
	for _, key := range ks { // more than one only after a raced rotation
		if scratch != nil {
			js, err = scratch.Open(key, rev.CaseID, rev.RecordID, rev.Kind, rev.Body)
		} else {
			js, err = sealed.Open(key, rev.CaseID, rev.RecordID, rev.Kind, rev.Body)
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return sealed.Value(rev.Kind, js)
}

// loadSmall builds the working set from the heads bucket and decodes every
// head but notes'. Notes follow in LoadNotes: a caseworker sees the case list
// before 50,000 notes are decrypted.
func (v *Vault) loadSmall() error {
	return v.withKeys(func(keys *crypto.Keyring, vk *crypto.CaseKey) error { return v.loadSmallWith(keys, vk) })
}

func (v *Vault) loadSmallWith(keys *crypto.Keyring, vk *crypto.CaseKey) error {
	ws := newWorkingSet()
	var maxHLC record.HLC
	err := v.view(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		var counted uint64
		if b := mb.Get(metaRecords); len(b) == 8 {
			counted = binary.BigEndian.Uint64(b)
			ws.records = make(map[string]*entry, int(min(counted, 1<<24)))
		}
		metaOK := v.format < 2 || newVaultMAC(vk).verify(mb.Get(metaTag), "meta", metaMsg(mb)...)
		if !metaOK {
			ws.damage(Damage{Problem: "the vault's counters (device sequence, clock, record count) do not authenticate: " +
				"they were edited in the file; a record may be hidden"})
		}
		// The heads are checked and decoded on every core (a tag each,
		// and a decryption for each head but a note's), then put into the
		// working set in key order, as one walk would.
		var kvs [][2][]byte
		if counted > 0 {
			kvs = make([][2][]byte, 0, int(min(counted, 1<<24)))
		}
		if err := tx.Bucket(bucketHeads).ForEach(func(k, b []byte) error {
			kvs = append(kvs, [2][]byte{k, b})
			return nil
		}); err != nil {
			return err
		}
		scanned := uint64(len(kvs))
		loaded := make([]loadedHeads, len(kvs))
		workers := min(runtime.GOMAXPROCS(0), max(1, len(kvs)/minHeadsPerWorker))
		hlcs := make([]record.HLC, workers)
		var wg sync.WaitGroup
		var panicked error
		var panicOnce sync.Once
		for w := 0; w < workers; w++ {
			lo, hi := w*len(kvs)/workers, (w+1)*len(kvs)/workers
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
				defer func() {
					if r := recover(); r != nil { // a damaged page: the whole unlock fails, as before
						panicOnce.Do(func() { panicked = fmt.Errorf("%w: %v", ErrCorrupt, r) })
					}
				}()
				hlcs[w] = v.loadHeadsRange(tx, keys, newVaultMAC(vk), kvs[lo:hi], loaded[lo:hi])
			}()
		}
		wg.Wait()
		if panicked != nil {
			return panicked
		}
		for _, h := range hlcs {
			maxHLC = max(maxHLC, h)
		}
		// Entries come from one arena sized by the record count: one
		// allocation instead of one per record.
		entries := make([]entry, 0, len(loaded))
		var caseID string
		var caseMap map[string]*entry
		for i := range loaded {
			l := &loaded[i]
			if l.damage != nil {
				ws.damage(*l.damage)
				continue
			}
			if l.caseID != caseID {
				caseID = l.caseID
				caseMap = ws.cases[caseID]
				if caseMap == nil {
					n := 1 // the case's entries are consecutive: size its map once
					for n < len(loaded)-i && loaded[i+n].caseID == caseID {
						n++
					}
					caseMap = make(map[string]*entry, n)
					ws.cases[caseID] = caseMap
				}
			}
			entries = append(entries, entry{id: l.recordID, caseID: l.caseID, kind: l.kind})
			e := &entries[len(entries)-1]
			ws.records[l.recordID] = e
			caseMap[l.recordID] = e
			ws.setHeads(e, l.heads)
		}
		// Entries cannot be forged, but one can be removed: the
		// authenticated count says so, and the revs bucket says which.
		if metaOK && v.format >= 2 && scanned < counted {
			missing := findMissing(tx)
			for _, d := range missing {
				ws.damage(d)
			}
			if uint64(len(missing)) < counted-scanned {
				ws.damage(Damage{Problem: fmt.Sprintf("%d records are counted but %d are in the index of heads: "+
					"entries were removed from the file", counted, scanned)})
			}
		}
		return tx.Bucket(bucketOutbox).ForEach(func(_, rk []byte) error {
			ws.outbox[revFromKey(rk)] = true
			return nil
		})
	})
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys == nil {
		return ErrLocked
	}
	// The clock never runs behind a head it has written or seen, whatever
	// the stored reading says.
	v.clock.Observe(maxHLC)
	ws.indexChanges = 0 // loading notes' heads changes nothing a snapshot holds
	v.ws = ws
	return nil
}

// minHeadsPerWorker is the fewest heads entries worth another unlock worker
// (tests lower it, so that small vaults unlock on several workers too).
var minHeadsPerWorker = 1024

// loadedHeads is one heads entry checked and decoded: a record with its
// heads sorted winner first, or the damage that leaves it out.
type loadedHeads struct {
	caseID, recordID string
	kind             record.Kind
	heads            []Head
	damage           *Damage
}

// loadHeadsRange checks and decodes the heads entries kvs into out (one
// each) with its own tag hash, and returns the newest clock reading seen.
// It only reads: out is put into the working set afterwards, in order.
func (v *Vault) loadHeadsRange(tx *bolt.Tx, keys *crypto.Keyring, mac *vaultMAC, kvs [][2][]byte, out []loadedHeads) record.HLC {
	revs := tx.Bucket(bucketRevs)
	var maxHLC record.HLC
	// Single heads come from one arena: one allocation, not one a record.
	arena := make([]Head, 0, len(kvs))
	var caseID string // heads are sorted by case: one string per case
	var scratch sealed.Scratch
	for n, kv := range kvs {
		k, b := kv[0], kv[1]
		l := &out[n]
		if n%8192 == 8191 {
			dropPages(v.db, tx) // the pages read so far are done with: they must not pile up
		}
		i := bytes.IndexByte(k, '/')
		if i < 0 {
			l.damage = &Damage{Problem: fmt.Sprintf("heads entry under a key that names no record: %q", k)}
			continue
		}
		if string(k[:i]) != caseID { // no allocation for the comparison
			caseID = string(k[:i])
		}
		recordID := string(k[i+1:])
		l.caseID, l.recordID = caseID, recordID
		bad := func(kind record.Kind, err error) {
			if kind == "" {
				kind = kindFromRevs(revs, caseID, recordID)
			}
			l.damage = &Damage{CaseID: caseID, RecordID: recordID, Kind: kind, Problem: problem(err)}
		}
		body, ver, err := v.openHeads(mac, k, b)
		if err != nil {
			bad("", err)
			continue
		}
		kind, heads, err := decodeHeads(body, ver, &arena)
		if err != nil {
			bad("", err)
			continue
		}
		if len(heads) == 0 {
			bad(kind, fmt.Errorf("%w: no heads", ErrCorrupt))
			continue
		}
		var headErr error
		for i := range heads {
			maxHLC = max(maxHLC, heads[i].HLC)
			if kind != record.KindNote && headErr == nil {
				headErr = v.loadHead(keys, &scratch, revs, caseID, recordID, kind, &heads[i])
			}
		}
		if headErr != nil {
			bad(kind, headErr)
			continue
		}
		sortHeads(heads)
		l.kind, l.heads = kind, heads
	}
	return maxHLC
}

// loadHead reads, checks and decodes one head's revision. An error is
// damage to the record.
func (v *Vault) loadHead(keys *crypto.Keyring, scratch *sealed.Scratch, revs *bolt.Bucket, caseID, recordID string, kind record.Kind, h *Head) error {
	b := revs.Get(revKey(caseID, recordID, h.Rev))
	if b == nil {
		return fmt.Errorf("%w: head %s has no revision", ErrCorrupt, h.Rev.Short())
	}
	return v.decodeHead(keys, scratch, b, caseID, recordID, kind, h)
}

// decodeHead checks a head's stored revision against the head and its key,
// and decodes it. A body that does not open or decode is damage; one this
// device holds no key for is not (h.Err is ErrNoKey: kept, shown sealed).
func (v *Vault) decodeHead(keys *crypto.Keyring, scratch *sealed.Scratch, b []byte, caseID, recordID string, kind record.Kind, h *Head) error {
	rev, err := verifyRevision(b, caseID, recordID, kind, h)
	if err != nil {
		return err
	}
	h.Device, h.Seq, h.loaded = rev.Device, rev.Seq, true
	if !rev.Deleted {
		h.Value, h.Err = v.decodeWith(keys, rev, scratch)
		if isBodyDamage(h.Err) {
			return fmt.Errorf("%w: revision %s: %v", ErrCorrupt, h.Rev.Short(), problem(h.Err))
		}
	}
	return nil
}

// NotesLoaded reports whether LoadNotes has finished.
func (v *Vault) NotesLoaded() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.ws != nil && v.ws.notesLoaded
}

// LoadNotes decrypts every note head in parallel and builds the search
// index: each worker indexes its share into its own segment. progress, if
// not nil, is called with (done, total) now and then.
func (v *Vault) LoadNotes(ctx context.Context, progress func(done, total int)) error {
	err := v.withKeys(func(keys *crypto.Keyring, vk *crypto.CaseKey) error { return v.loadNotes(ctx, keys, vk, progress) })
	if err == nil {
		v.dropMapped() // every note's page was read once; they are not needed again soon
		if v.checkpointDue() {
			v.checkpointSoon() // notes were decrypted: the next unlock need not
		}
	}
	return err
}

func (v *Vault) loadNotes(ctx context.Context, keys *crypto.Keyring, vk *crypto.CaseKey, progress func(done, total int)) error {
	type job struct {
		key              []byte
		caseID, recordID string
		rev              record.RevID
		head             Head // as the heads entry has it
		winner           bool
	}
	v.mu.RLock()
	ws := v.ws
	var jobs []job
	if ws != nil {
		for _, e := range ws.records {
			if e.kind != record.KindNote {
				continue
			}
			for i, h := range e.heads {
				if !h.loaded {
					jobs = append(jobs, job{revKey(e.caseID, e.id, h.Rev), e.caseID, e.id, h.Rev,
						Head{Rev: h.Rev, Gen: h.Gen, HLC: h.HLC, Deleted: h.Deleted}, i == 0})
				}
			}
		}
	}
	loaded := ws != nil && ws.notesLoaded
	v.mu.RUnlock()
	if ws == nil {
		return ErrLocked
	}
	if loaded && len(jobs) == 0 {
		// Every note is loaded already (a second LoadAll: a command or a
		// screen that needs the notes after the unlock loaded them):
		// nothing to decrypt, and the search snapshot must not be decoded
		// and added to the index again.
		if progress != nil {
			progress(0, 0)
		}
		return nil
	}
	// Key order makes the walk of the revs bucket sequential.
	slices.SortFunc(jobs, func(a, b job) int { return bytes.Compare(a.key, b.key) })

	type result struct {
		head    Head
		seg     *segment
		doc     uint32
		err     error // damage to this note: it is left out, the rest load
		covered bool  // taken from the search snapshot: checked, not decrypted
	}
	results := make([]result, len(jobs))
	// What the search snapshot covers is taken from it (sindex.go): the
	// stored revision is still checked against its head and id, as every
	// note's is, but not decrypted, decoded nor indexed.
	snap := v.loadSnapshot(vk, ws)
	stale, decrypt := 0, len(jobs)
	if snap != nil {
		used := make([]bool, len(snap.seg.docs))
		keyed := map[string]bool{} // case id → a key is held (a snapshot never opens a sealed case)
		for i, j := range jobs {
			has, ok := keyed[j.caseID]
			if !ok {
				has = keys.Latest(j.caseID) != nil
				keyed[j.caseID] = has
			}
			en := snap.find(j.recordID, j.rev)
			// A winner is covered only with its doc (or as a tombstone).
			if !has || en == nil || en.deleted != j.head.Deleted || (j.winner && !en.deleted && en.doc < 0) {
				continue
			}
			decrypt--
			r := &results[i]
			r.covered = true
			r.head = j.head
			if !en.deleted {
				r.head.Value = en.note
			}
			if en.doc >= 0 {
				r.seg, r.doc = snap.seg, uint32(en.doc)
				used[en.doc] = true
			}
		}
		for d, u := range used {
			if !u {
				snap.seg.docs[d] = "" // a revision no longer a head
				stale++
			}
		}
	}
	workers := runtime.GOMAXPROCS(0)
	segs := make([]*segment, workers)
	var done atomic.Int64
	err := v.view(func(tx *bolt.Tx) error {
		revs := tx.Bucket(bucketRevs)
		var wg sync.WaitGroup
		var firstErr error
		var errOnce sync.Once
		for w := 0; w < workers; w++ {
			seg := newSegment()
			segs[w] = seg
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
				defer func() {
					if r := recover(); r != nil { // must be called here, in the deferred function itself
						errOnce.Do(func() { firstErr = fmt.Errorf("%w: %v", ErrCorrupt, r) })
					}
				}()
				var buf []byte
				var scratch sealed.Scratch
				// Each worker walks a contiguous share of the sorted keys with
				// one cursor: every leaf page is visited once, not searched for
				// from the root per note.
				lo, hi := w*len(jobs)/workers, (w+1)*len(jobs)/workers
				c := revs.Cursor()
				var k, val []byte
				if lo < hi {
					k, val = c.Seek(jobs[lo].key)
				}
				for i := lo; i < hi; i++ {
					if ctx.Err() != nil {
						errOnce.Do(func() { firstErr = ctx.Err() })
						return
					}
					if v.locking.Load() { // Lock is waiting: stop, it will drop all this
						errOnce.Do(func() { firstErr = ErrLocked })
						return
					}
					j := jobs[i]
					for k != nil && bytes.Compare(k, j.key) < 0 {
						k, val = c.Next() // older revisions of the same notes
					}
					r := &results[i]
					if k == nil || !bytes.Equal(k, j.key) {
						r.err = fmt.Errorf("%w: head %s has no revision", ErrCorrupt, j.rev.Short())
						continue
					}
					if r.covered {
						rev, err := verifyRevision(val, j.caseID, j.recordID, record.KindNote, &r.head)
						if err != nil {
							r.err = err
							continue
						}
						r.head.Device, r.head.Seq, r.head.loaded = rev.Device, rev.Seq, true
					} else {
						r.head = j.head
						if err := v.decodeHead(keys, &scratch, val, j.caseID, j.recordID, record.KindNote, &r.head); err != nil {
							r.err = err
							continue
						}
						if n, ok := r.head.Value.(*record.Note); ok {
							buf = seg.add(j.recordID, n, buf)
							r.seg, r.doc = seg, uint32(len(seg.docs)-1)
							r.head.Value = withoutText(n)
						}
					}
					d := done.Add(1)
					if progress != nil && d%4096 == 0 {
						progress(int(d), len(jobs))
					}
					if d%8192 == 0 {
						dropPages(v.db, tx) // the pages read so far (~25 MB) are done with
					}
				}
			}(w)
		}
		wg.Wait()
		return firstErr
	})
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ws != ws { // locked, or reloaded, meanwhile
		return ErrLocked
	}
	for _, s := range segs {
		s.freeze()
		ws.index.addSegment(s)
	}
	if snap != nil {
		ws.index.addSegment(snap.seg)
	}
	ws.indexChanges += decrypt + stale
	ws.snapMissing = snap == nil
	v.timings.NotesFromSnapshot, v.timings.NotesDecrypted = len(jobs)-decrypt, decrypt
	for i, j := range jobs {
		r := results[i]
		e := ws.records[j.recordID]
		k := -1
		if e != nil {
			k = slices.IndexFunc(e.heads, func(h Head) bool { return h.Rev == j.rev })
		}
		if k < 0 || e.heads[k].loaded {
			// Superseded, or written while we were loading: its text in
			// the worker's segment is stale.
			if r.seg != nil {
				r.seg.docs[r.doc] = ""
			}
			continue
		}
		if r.err != nil {
			if r.seg != nil {
				r.seg.docs[r.doc] = "" // a snapshot's doc for a note that failed its check
			}
			ws.damage(Damage{CaseID: j.caseID, RecordID: j.recordID, Kind: record.KindNote, Problem: problem(r.err)})
			continue
		}
		h := r.head
		h.Gen, h.HLC, h.Deleted = e.heads[k].Gen, e.heads[k].HLC, e.heads[k].Deleted
		e.heads[k] = h
		if r.seg != nil {
			if k == 0 {
				ws.index.adopt(r.seg, r.doc, j.rev)
			} else {
				r.seg.docs[r.doc] = "" // only the winning version is searched
			}
		}
	}
	ws.notesLoaded = true
	if progress != nil {
		progress(len(jobs), len(jobs))
	}
	// Decoding left ~2x the working set as garbage; return it once, now,
	// instead of carrying it until the collector and scavenger get to it.
	go debug.FreeOSMemory()
	return nil
}

// LoadAll is Unlock's second half for commands that need every note.
func (v *Vault) LoadAll(ctx context.Context) error { return v.LoadNotes(ctx, nil) }

// reloadCases re-decodes every head of the given cases, after their keys
// arrived.
func (v *Vault) reloadCases(cases map[string]bool) error {
	return v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error { return v.reloadCasesWith(keys, cases) })
}

func (v *Vault) reloadCasesWith(keys *crypto.Keyring, cases map[string]bool) error {
	v.mu.RLock()
	ws := v.ws
	v.mu.RUnlock()
	if ws == nil {
		return nil
	}
	type upd struct {
		e     *entry
		heads []Head
	}
	var upds []upd
	var bad []Damage
	err := v.view(func(tx *bolt.Tx) error {
		revs := tx.Bucket(bucketRevs)
		v.mu.RLock()
		defer v.mu.RUnlock()
		for c := range cases {
		records:
			for _, e := range ws.cases[c] {
				hs := slices.Clone(e.heads)
				for i := range hs {
					if hs[i].Value == nil && !hs[i].Deleted {
						if err := v.loadHead(keys, nil, revs, e.caseID, e.id, e.kind, &hs[i]); err != nil {
							bad = append(bad, Damage{CaseID: e.caseID, RecordID: e.id, Kind: e.kind, Problem: problem(err)})
							continue records
						}
					}
				}
				upds = append(upds, upd{e, hs})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ws != ws {
		return nil
	}
	for _, u := range upds {
		ws.setHeads(u.e, u.heads)
	}
	for _, d := range bad {
		ws.damage(d)
	}
	return nil
}
