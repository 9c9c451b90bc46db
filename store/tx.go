package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// Tx is a read-write transaction on an unlocked vault. Everything written in
// one Tx commits together or not at all; the in-memory working set follows
// only after the commit.
type Tx struct {
	v        *Vault
	btx      *bolt.Tx
	keys     *crypto.Keyring
	vaultKey *crypto.CaseKey
	clock    *record.Clock

	seq          uint64 // last device sequence number, 0 until read
	touched      map[string]*touch
	keyringDirty bool
	sealKeys     *crypto.Keyring // when set, the keys to seal instead of keys (see removeCase)
	newKeyCases  map[string]bool
	outboxDelta  []outboxChange
	refs         map[string]string                      // references of cases created in this tx
	members      map[string]map[uint32]trust.Membership // per case, by epoch (see memberships)
	roster       *trust.Roster                          // what the vault's statements prove, as the tx began
	caseAlias    map[string]string                      // an import's case ids → the ids made for them
	sigs         map[*record.Revision]bool              // signatures verified in this tx
	newRecords   uint64
	checkpoint   bool     // write a search snapshot after commit (a case was removed)
	after        []func() // run after commit, under the vault lock
	vmac         *vaultMAC
	preKeys      []*crypto.PreKey // this device's pre-key secrets (prekeys.go), once read
	preKeysRead  bool
}

// touch is what a transaction did to one record, for the working set.
type touch struct {
	caseID, recordID string
	entry            headsEntry
	revs             map[record.RevID]Head // heads written in this tx, decoded
}

type outboxChange struct {
	rev   record.RevID
	added bool
}

// Update runs fn in a read-write transaction. If fn returns an error,
// nothing it wrote is kept. A full or read-only disk is ErrDiskFull or
// ErrReadOnly: the caller still holds what the user typed.
func (v *Vault) Update(fn func(*Tx) error) (err error) {
	v.wmu.Lock()
	defer v.wmu.Unlock()
	return v.updateLocked(fn)
}

// update runs fn in a read-write transaction of its own and returns what
// it made: a Vault method that is one Tx method in a transaction of its own
// is one line with it (AddNote, AddTask…), so the work lives on the Tx.
func update[T any](v *Vault, fn func(*Tx) (T, error)) (T, error) {
	var out T
	err := v.Update(func(tx *Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// updateLocked is Update for a caller that holds v.wmu.
func (v *Vault) updateLocked(fn func(*Tx) error) (err error) {
	roster := v.Roster()
	v.mu.RLock()
	tx := &Tx{v: v, keys: v.keys, vaultKey: v.vaultKey, clock: v.clock, roster: roster}
	v.mu.RUnlock()
	if tx.keys == nil {
		return ErrLocked
	}
	if v.opts.ReadOnly {
		return ErrReadOnly
	}
	err = v.update(func(btx *bolt.Tx) error {
		tx.btx = btx
		if err := fn(tx); err != nil {
			return err
		}
		return tx.flush()
	})
	if err != nil {
		return err
	}
	v.mu.Lock()
	if v.ws != nil { // nil when locked meanwhile
		for _, t := range tx.touched {
			v.ws.apply(t)
		}
		for _, oc := range tx.outboxDelta {
			v.ws.setOutbox(oc.rev, oc.added)
		}
		for _, f := range tx.after {
			f()
		}
		tx.checkpoint = tx.checkpoint || v.ws.checkpointDue()
	} else {
		tx.checkpoint = false
	}
	v.mu.Unlock()
	if tx.checkpoint {
		v.checkpointSoon()
	}
	if len(tx.newKeyCases) > 0 {
		// Records of these cases that arrived before their key can open now.
		return v.reloadCases(tx.newKeyCases)
	}
	return nil
}

// flush writes the per-transaction state: sequence, clock, keyring cache.
func (tx *Tx) flush() error {
	m := tx.btx.Bucket(bucketMeta)
	if tx.seq != 0 {
		if err := m.Put(metaSeq, u64(tx.seq)); err != nil {
			return err
		}
	}
	if err := m.Put(metaHLC, u64(uint64(tx.clock.Last()))); err != nil {
		return err
	}
	if tx.newRecords > 0 {
		var n uint64
		if b := m.Get(metaRecords); len(b) == 8 {
			n = binary.BigEndian.Uint64(b)
		}
		if err := m.Put(metaRecords, u64(n+tx.newRecords)); err != nil {
			return err
		}
	}
	if tx.keyringDirty {
		kr := tx.keys
		if tx.sealKeys != nil {
			kr = tx.sealKeys // a case's keys being removed (removeCase)
		}
		sealed, err := crypto.SealKeyring(kr, tx.v.id)
		if err != nil {
			return err
		}
		if err := m.Put(metaKeyring, sealed); err != nil {
			return err
		}
	}
	return tx.flushAuth()
}

func (tx *Tx) nextSeq() uint64 {
	if tx.seq == 0 {
		b := tx.btx.Bucket(bucketMeta).Get(metaSeq)
		if len(b) == 8 {
			tx.seq = binary.BigEndian.Uint64(b)
		}
	}
	tx.seq++
	return tx.seq
}

// Change is a new revision to write.
type Change struct {
	Kind     record.Kind
	CaseID   string
	RecordID string         // empty: a new record (a new case takes its case id)
	Parents  []record.RevID // the heads this change supersedes; none for a new record
	Value    any            // the body; ignored for a tombstone
	Deleted  bool
	raw      []byte // a pre-encoded body (keyrings), used instead of sealing Value
}

// Put writes c as a new revision by this device, updates the record's heads
// and queues the revision in the outbox, all in this transaction.
func (tx *Tx) Put(c Change) (*record.Revision, error) {
	if c.RecordID == "" {
		c.RecordID = trust.NewRecordID(tx.v.deviceID, tx.clock.Now().Time())
		if c.Kind == record.KindCase && c.CaseID == "" {
			c.CaseID = c.RecordID
		}
	}
	if c.Kind == record.KindCase && c.CaseID != c.RecordID {
		return nil, fmt.Errorf("%w: case id and record id differ", record.ErrInvalid)
	}
	if c.Kind != record.KindKeyring {
		// A case taken away from this laptop's user is read-only here:
		// said now, not as a refusal by the server at the next sync.
		if r, ok, err := tx.reassignment(c.CaseID); err != nil {
			return nil, err
		} else if ok {
			return nil, r.readOnly()
		}
	}
	entry, err := tx.heads(c.CaseID, c.RecordID)
	if err != nil {
		return nil, err
	}
	if entry.Kind != "" && entry.Kind != c.Kind {
		return nil, fmt.Errorf("%w: record %s is a %s, not a %s", record.ErrInvalid, c.RecordID, entry.Kind, c.Kind)
	}
	var gen uint64
	for _, p := range c.Parents {
		g, err := tx.generation(c.CaseID, c.RecordID, p)
		if err != nil {
			return nil, err
		}
		gen = max(gen, g)
	}
	rev := &record.Revision{
		RecordID:   c.RecordID,
		Kind:       c.Kind,
		CaseID:     c.CaseID,
		Parents:    slices.Clone(c.Parents),
		Generation: gen + 1,
		HLC:        tx.clock.Now(),
		Device:     tx.v.deviceID,
		Deleted:    c.Deleted,
	}
	var value any
	switch {
	case c.raw != nil:
		rev.Body = c.raw
	default:
		// A deletion is sealed too (an empty body): the header names the
		// key epoch its writer's right is checked against.
		key := tx.keys.Latest(c.CaseID)
		if key == nil {
			return nil, fmt.Errorf("%w: case %s", ErrNoKey, c.CaseID)
		}
		v := c.Value
		if c.Deleted {
			v = struct{}{}
		}
		rev.Body, err = sealed.Seal(key, c.CaseID, c.RecordID, c.Kind, v)
		if err != nil {
			return nil, err
		}
		if !c.Deleted {
			value = c.Value
		}
	}
	rev.Seq = tx.nextSeq()
	rev.Seal()
	rev.Sign(tx.v.id.Sign)
	if err := rev.Validate(); err != nil {
		return nil, err
	}
	if err := tx.store(rev, Head{Value: value}); err != nil {
		return nil, err
	}
	ob := tx.btx.Bucket(bucketOutbox)
	if err := ob.Put(u64(rev.Seq), revKey(rev.CaseID, rev.RecordID, rev.Rev)); err != nil {
		return nil, err
	}
	tx.outboxDelta = append(tx.outboxDelta, outboxChange{rev.Rev, true})
	return rev, nil
}

// Apply stores a revision written elsewhere (pulled from the server, or
// imported). It reports whether the revision was new; applying one twice is
// harmless. Apply checks the revision id against its content.
func (tx *Tx) Apply(rev *record.Revision) (bool, error) {
	if err := rev.Validate(); err != nil {
		return false, err
	}
	revs := tx.btx.Bucket(bucketRevs)
	if revs.Get(revKey(rev.CaseID, rev.RecordID, rev.Rev)) != nil {
		return false, nil
	}
	entry, err := tx.heads(rev.CaseID, rev.RecordID)
	if err != nil {
		return false, err
	}
	if entry.Kind != "" && entry.Kind != rev.Kind {
		return false, fmt.Errorf("%w: revision %s changes the kind of record %s", record.ErrInvalid, rev.Rev.Short(), rev.RecordID)
	}
	tx.clock.Observe(rev.HLC)
	h := Head{}
	if rev.Kind == record.KindKeyring {
		if err := tx.learnKey(rev); err != nil {
			return false, err
		}
	} else if !rev.Deleted {
		h.Value, h.Err = tx.v.decode(tx.keys, rev)
	}
	return true, tx.store(rev, h)
}

// learnKey unwraps a pulled keyring revision if it is wrapped to this device
// (its long-term recipient or one of its pre-keys). The error is a failed
// write only.
func (tx *Tx) learnKey(rev *record.Revision) error {
	kb, err := sealed.DecodeKeyring(rev.Body)
	if err != nil {
		return nil
	}
	// A rewrap (a later version of the epoch's keyring) carries the key
	// its parents carried; only an epoch's first keyring can bring another
	// one (two laptops started the same epoch at once: both keys are kept).
	if tx.keys.Get(rev.CaseID, kb.Epoch) != nil && rev.Generation > 1 {
		return nil
	}
	k, err := tx.unwrapKeyring(rev.CaseID, kb) // the device identity and its pre-keys
	if err != nil {
		if errors.Is(err, crypto.ErrNotRecipient) && tx.keys.Get(rev.CaseID, kb.Epoch) == nil {
			return tx.noteUnopenable(rev, kb) // after a pre-key expired: said, never silent
		}
		return nil // not a member at this epoch: the case stays sealed here
	}
	if tx.keys.Has(k) {
		return nil
	}
	tx.keys.Add(k)
	tx.keyringDirty = true
	if tx.newKeyCases == nil {
		tx.newKeyCases = map[string]bool{}
	}
	tx.newKeyCases[rev.CaseID] = true
	return nil
}

// store writes rev and makes it a head of its record, replacing its parents.
func (tx *Tx) store(rev *record.Revision, h Head) error {
	enc, err := rev.MarshalBinary()
	if err != nil {
		return err
	}
	if err := tx.btx.Bucket(bucketRevs).Put(revKey(rev.CaseID, rev.RecordID, rev.Rev), enc); err != nil {
		return err
	}
	if rev.Kind == record.KindKeyring {
		delete(tx.members, rev.CaseID) // its case's memberships changed
	}
	for _, p := range rev.Parents {
		if err := tx.markHasKids(p); err != nil {
			return err
		}
	}
	entry, err := tx.heads(rev.CaseID, rev.RecordID)
	if err != nil {
		return err
	}
	if entry.Kind == "" {
		tx.newRecords++
	}
	entry.Kind = rev.Kind
	// A revision that arrives after one of its children is history, not a head.
	entry.Heads = record.Supersede(entry.Heads, rev, tx.hasKids(rev.Rev))
	if len(entry.Heads) > maxHeads {
		return fmt.Errorf("%w: record %s has more than %d heads", ErrConflict, rev.RecordID, maxHeads)
	}
	if err := tx.putHeads(rev.CaseID, rev.RecordID, entry); err != nil {
		return err
	}
	t := tx.touch(rev.CaseID, rev.RecordID)
	t.entry = entry
	h.Rev, h.Gen, h.HLC, h.Device, h.Deleted, h.Seq = rev.Rev, rev.Generation, rev.HLC, rev.Device, rev.Deleted, rev.Seq
	t.revs[rev.Rev] = h
	return nil
}

func (tx *Tx) touch(caseID, recordID string) *touch {
	if tx.touched == nil {
		tx.touched = map[string]*touch{}
	}
	k := string(recordKey(caseID, recordID))
	t := tx.touched[k]
	if t == nil {
		t = &touch{caseID: caseID, recordID: recordID, revs: map[record.RevID]Head{}}
		tx.touched[k] = t
	}
	return t
}

// heads reads a record's heads entry (empty Kind when the record is new).
func (tx *Tx) heads(caseID, recordID string) (headsEntry, error) {
	if t := tx.touched[string(recordKey(caseID, recordID))]; t != nil {
		e := t.entry
		e.Heads = slices.Clone(e.Heads)
		return e, nil
	}
	k := recordKey(caseID, recordID)
	b := tx.btx.Bucket(bucketHeads).Get(k)
	if b == nil {
		return headsEntry{}, nil
	}
	body, ver, err := tx.v.openHeads(tx.mac(), k, b)
	if err != nil {
		return headsEntry{}, fmt.Errorf("record %s: %w", recordID, err)
	}
	return unmarshalHeads(body, ver)
}

// decodeHead reads and decrypts one revision inside the transaction, whatever
// the working set has loaded.
func (tx *Tx) decodeHead(caseID, recordID string, rev record.RevID) (any, error) {
	b := tx.btx.Bucket(bucketRevs).Get(revKey(caseID, recordID, rev))
	if b == nil {
		return nil, fmt.Errorf("%w: revision %s of %s", ErrNotFound, rev.Short(), recordID)
	}
	r, _, err := record.UnmarshalRevision(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return tx.v.decode(tx.keys, r)
}

func (tx *Tx) generation(caseID, recordID string, rev record.RevID) (uint64, error) {
	b := tx.btx.Bucket(bucketRevs).Get(revKey(caseID, recordID, rev))
	if b == nil {
		return 0, fmt.Errorf("%w: parent revision %s of %s", ErrNotFound, rev.Short(), recordID)
	}
	r, _, err := record.UnmarshalRevision(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return r.Generation, nil
}

// Acknowledge removes outbox entries for revisions the server holds: every
// entry with a sequence number up to and including seq, and the listed ones.
// The outbox clears only on acknowledgement.
func (tx *Tx) Acknowledge(upTo uint64, seqs ...uint64) error {
	ob := tx.btx.Bucket(bucketOutbox)
	c := ob.Cursor()
	var del [][]byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		s := binary.BigEndian.Uint64(k)
		if s <= upTo || slices.Contains(seqs, s) {
			del = append(del, k)
			tx.outboxDelta = append(tx.outboxDelta, outboxChange{rev: revFromKey(v), added: false})
		}
	}
	for _, k := range del {
		if err := ob.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func revFromKey(k []byte) record.RevID {
	var r record.RevID
	if len(k) >= 32 {
		copy(r[:], k[len(k)-32:])
	}
	return r
}

// Outbox lists the revisions waiting to be pushed, oldest first, up to limit
// (0 means all).
func (v *Vault) Outbox(limit int) ([]*record.Revision, error) {
	var out []*record.Revision
	var bad []Damage
	err := v.view(func(tx *bolt.Tx) error {
		revs := tx.Bucket(bucketRevs)
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, rk := c.First(); k != nil && (limit == 0 || len(out) < limit); k, rk = c.Next() {
			r, err := v.outboxEntry(revs, k, rk)
			if err != nil {
				// One bad entry must not stop the rest from syncing.
				bad = append(bad, Damage{Problem: problem(err)})
				continue
			}
			out = append(out, r)
		}
		return nil
	})
	v.markDamaged(bad...)
	return out, err
}

// outboxEntry reads the revision an outbox entry names. The entry is not
// tagged: the revision is content-addressed and names its device and
// sequence, which must be this device and the entry's key.
func (v *Vault) outboxEntry(revs *bolt.Bucket, k, rk []byte) (*record.Revision, error) {
	seq := binary.BigEndian.Uint64(k)
	b := revs.Get(rk)
	if b == nil || len(k) != 8 {
		return nil, fmt.Errorf("%w: outbox entry %d has no revision", ErrCorrupt, seq)
	}
	r, _, err := record.UnmarshalRevision(bytes.Clone(b))
	if err != nil {
		return nil, fmt.Errorf("%w: outbox entry %d: %v", ErrCorrupt, seq, err)
	}
	if r.Device != v.deviceID || r.Seq != seq || !bytes.Equal(rk, revKey(r.CaseID, r.RecordID, r.Rev)) || r.ComputeRev() != r.Rev {
		return nil, fmt.Errorf("%w: outbox entry %d names another revision", ErrCorrupt, seq)
	}
	return r, nil
}

// OutboxLen is the number of changes waiting to be synced.
func (v *Vault) OutboxLen() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ws == nil {
		return 0
	}
	return len(v.ws.outbox)
}

// Revision reads one stored revision.
func (v *Vault) Revision(caseID, recordID string, rev record.RevID) (*record.Revision, error) {
	var r *record.Revision
	err := v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRevs).Get(revKey(caseID, recordID, rev))
		if b == nil {
			return ErrNotFound
		}
		var err error
		r, _, err = record.UnmarshalRevision(bytes.Clone(b))
		return err
	})
	return r, err
}

// AllRevisions calls fn with every stored revision, in key order. The
// revision is only valid during the call.
func (v *Vault) AllRevisions(fn func(*record.Revision) error) error {
	return v.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRevs).ForEach(func(k, b []byte) error {
			r, _, err := record.UnmarshalRevision(b)
			if err != nil {
				return fmt.Errorf("%w: revision %x: %v", ErrCorrupt, k, err)
			}
			return fn(r)
		})
	})
}
