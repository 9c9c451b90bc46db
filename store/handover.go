package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// A case taken away from a worker (issue 13). Who is in a case is decided
// by its signed keyrings, which this vault accepted only after checking
// their signatures and the writer's right (Tx.check): when the newest key
// epoch this vault holds a keyring of no longer lists this laptop's user,
// who was a member before, a supervisor took the case away. Nothing the
// server says outside a signed keyring (its team view, its membership
// answers) counts here.
//
// Such a case is read-only on this laptop (Tx.Put refuses, ErrReassigned),
// and once nothing of it waits to reach the server its local copy is
// removed (RemoveReassigned), leaving a tombstone in device-local state
// that the case list shows for TombstoneDays.

// ErrReassigned means the case was taken away from this laptop's user: it is
// read-only here.
var ErrReassigned = errors.New("case reassigned")

// TombstoneDays is how long a removed case is still named in the case list
// (unless dismissed earlier).
const TombstoneDays = 30

// tombstonePrefix names a removed case's tombstone in device-local state;
// seenPrefix, the log's size when a case was first seen taken away.
const (
	tombstonePrefix = "reassigned:"
	seenPrefix      = "reassigned-seen:"
)

// Reassignment is a case taken away from this laptop's user, as the signed
// keyrings show it.
type Reassignment struct {
	CaseID string `json:"case_id"`
	Ref    string `json:"ref,omitempty"`
	// To names the workers the change made members (from the verified
	// roster); empty when it made nobody new a member.
	To []string `json:"to,omitempty"`
	// By names who signed the change (a supervisor), On is when their
	// laptop signed it (the keyring revision's clock, part of what is
	// signed).
	By    string    `json:"by,omitempty"`
	On    time.Time `json:"on"`
	Epoch uint32    `json:"epoch"` // the key epoch that left this user out
	// Waiting says what keeps the local copy here: changes not yet on the
	// server (or refused by it), a draft. Empty once it may be removed.
	Waiting []string `json:"waiting,omitempty"`
	// Removed is when the local copy was removed (tombstones only).
	Removed time.Time `json:"removed,omitzero"`
}

// ToText is who the case went to, for a sentence: "Sam Carter", "Sam
// Carter and Bob Lee", or "nobody else" when the change added no one.
func (r Reassignment) ToText() string {
	switch len(r.To) {
	case 0:
		return "nobody else"
	case 1:
		return r.To[0]
	}
	return strings.Join(r.To[:len(r.To)-1], ", ") + " and " + r.To[len(r.To)-1]
}

// Date is the day of the change as the case list says it: "3 Dec 2026".
func (r Reassignment) Date() string {
	if r.On.IsZero() {
		return "an unknown date"
	}
	return r.On.Local().Format("2 Jan 2006")
}

// Summary is "reassigned to Sam Carter on 3 Dec 2026".
func (r Reassignment) Summary() string {
	if len(r.To) == 0 {
		return "taken off this case on " + r.Date()
	}
	return "reassigned to " + r.ToText() + " on " + r.Date()
}

func (r Reassignment) readOnly() error {
	ref := r.Ref
	if ref == "" {
		ref = r.CaseID
	}
	return fmt.Errorf("%w: case %s was %s; it is read-only on this laptop (the server would refuse the change)", ErrReassigned, ref, r.Summary())
}

// reassignment reports whether caseID was taken away from this laptop's
// user: a caseworker who is a member at some key epoch this vault holds a
// signed keyring of, and not at the newest. A supervisor or typist is never
// "reassigned": a supervisor reads the team's cases without being a member.
func (tx *Tx) reassignment(caseID string) (Reassignment, bool, error) {
	me, ok := tx.v.me(tx.roster)
	if !ok || me.User.Role != trust.RoleCaseworker || caseID == "" {
		return Reassignment{}, false, nil
	}
	ms, err := tx.memberships(caseID)
	if err != nil || len(ms) == 0 {
		return Reassignment{}, false, err
	}
	var newest, last uint32
	for e, m := range ms {
		newest = max(newest, e)
		if slices.Contains(m.Members, me.User.ID) {
			last = max(last, e)
		}
	}
	if last == 0 || last == newest {
		return Reassignment{}, false, nil
	}
	cut := newest // the first epoch after the last one that listed this user
	for e := range ms {
		if e > last && e < cut {
			cut = e
		}
	}
	r := Reassignment{CaseID: caseID, Epoch: cut}
	for _, id := range ms[newest].Members {
		if slices.Contains(ms[last].Members, id) {
			continue
		}
		name := id
		if u, ok := tx.roster.Users[id]; ok {
			name = u.Name
		}
		r.To = append(r.To, name)
	}
	slices.Sort(r.To)
	// The change is the first keyring of the cutting epoch: its signer
	// and its clock (several, when two supervisors raced: the earliest).
	prefix := []byte(caseID + "/" + record.KeyringID(caseID, cut) + "/")
	c := tx.btx.Bucket(bucketRevs).Cursor()
	var first *record.Revision
	for k, b := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, b = c.Next() {
		rev, _, err := record.UnmarshalRevision(b)
		if err != nil || rev.Generation != 1 {
			continue
		}
		if first == nil || rev.HLC < first.HLC {
			first = rev
		}
	}
	if first != nil {
		r.On = first.HLC.Time().UTC()
		if w, ok := tx.roster.Writer(first.Device); ok {
			r.By = w.User.Name
		}
	}
	tx.v.mu.RLock()
	if tx.v.ws != nil {
		if e := tx.v.ws.records[caseID]; e != nil && len(e.heads) > 0 {
			if cs, ok := e.heads[0].Value.(*record.Case); ok {
				r.Ref = cs.Ref
			}
		}
	}
	tx.v.mu.RUnlock()
	return r, true, nil
}

// waiting lists what keeps a reassigned case's local copy on this laptop:
// anything of it that has not reached the server for certain. A revision
// of this device counts as there only with the server's signed receipt, or
// its place in the log checked; the server's bare acknowledgement is its
// word. A draft keeps the case too (it is never lost silently): the user
// copies what they need and discards it.
func (tx *Tx) waiting(caseID string) ([]string, error) {
	var out []string
	prefix := []byte(caseID + "/")
	count := func(n int, one, many string) {
		if n == 1 {
			out = append(out, one)
		} else if n > 1 {
			out = append(out, fmt.Sprintf(many, n))
		}
	}
	queued := 0
	if ob := tx.btx.Bucket(bucketOutbox); ob != nil {
		ob.ForEach(func(_, rk []byte) error {
			if bytes.HasPrefix(rk, prefix) {
				queued++
			}
			return nil
		})
	}
	count(queued, "1 change not yet on the server", "%d changes not yet on the server")
	chunks := 0
	if bo := tx.btx.Bucket(bucketBlobOutbox); bo != nil {
		bo.ForEach(func(_, bk []byte) error {
			if bytes.HasPrefix(bk, prefix) {
				chunks++
			}
			return nil
		})
	}
	count(chunks, "1 piece of a recording not yet uploaded", "%d pieces of recordings not yet uploaded")
	refused := 0
	if rb := tx.btx.Bucket(bucketRejected); rb != nil {
		rb.ForEach(func(_, js []byte) error {
			var r Rejection
			if json.Unmarshal(js, &r) != nil {
				refused++ // unreadable: it might be this case's
				return nil
			}
			// An access event the server refused is no work of the
			// user's; anything else is, and stays.
			if r.CaseID == caseID && r.Kind != record.KindAudit {
				refused++
			}
			return nil
		})
	}
	count(refused, "1 change of yours the server refused (kept here: see fieldcase doctor)",
		"%d changes of yours the server refused (kept here: see fieldcase doctor)")
	drafts := 0
	if db := tx.btx.Bucket(bucketDrafts); db != nil && tx.vaultKey != nil {
		db.ForEach(func(k, sealedDraft []byte) error {
			plain, err := crypto.Open(tx.vaultKey, draftPlace(tx.v.vaultID, string(k)), sealedDraft)
			if err != nil {
				return nil // damaged: named in Damaged, whoever's it was
			}
			var d Draft
			if json.Unmarshal(plain, &d) == nil && d.CaseID == caseID {
				drafts++
			}
			clear(plain)
			return nil
		})
	}
	count(drafts, "a draft note (copy what you need, then discard it)", "%d draft notes (copy what you need, then discard them)")
	unproven := 0
	receipts := tx.btx.Bucket(bucketReceipts)
	c := tx.btx.Bucket(bucketRevs).Cursor()
	for k, b := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, b = c.Next() {
		rev, _, err := record.UnmarshalRevision(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if rev.Device != tx.v.deviceID {
			continue
		}
		if (receipts != nil && receipts.Get(k) != nil) || tx.logIndex(rev.Rev) >= 0 {
			continue
		}
		if tx.refusedAudit(rev) {
			continue
		}
		unproven++
	}
	if queued == 0 && refused == 0 {
		count(unproven, "1 change without the server's receipt", "%d changes without the server's receipt")
	}
	return out, nil
}

// refusedAudit reports whether rev is an access event the server refused
// for good (see waiting).
func (tx *Tx) refusedAudit(rev *record.Revision) bool {
	if rev.Kind != record.KindAudit {
		return false
	}
	rb := tx.btx.Bucket(bucketRejected)
	return rb != nil && rb.Get(rev.Rev[:]) != nil
}

// Reassigned reports, for each case given, whether it was taken away from
// this laptop's user, and what keeps its local copy here.
func (v *Vault) Reassigned(caseIDs []string) (map[string]Reassignment, error) {
	return v.reassignments(v.Roster(), caseIDs, true)
}

// reassignments is Reassigned under roster r; without waiting it leaves
// Reassignment.Waiting empty (it reads no outbox, drafts or receipts).
func (v *Vault) reassignments(r *trust.Roster, caseIDs []string, waiting bool) (map[string]Reassignment, error) {
	out := map[string]Reassignment{}
	if me, ok := v.me(r); !ok || me.User.Role != trust.RoleCaseworker {
		return out, nil
	}
	err := v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(btx *bolt.Tx) error {
			tx := &Tx{v: v, btx: btx, roster: r, vaultKey: vk}
			for _, id := range caseIDs {
				ra, ok, err := tx.reassignment(id)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				if waiting {
					if ra.Waiting, err = tx.waiting(id); err != nil {
						return err
					}
				}
				out[id] = ra
			}
			return nil
		})
	})
	return out, err
}

// RemoveReassigned removes from this vault the local copy of every case
// taken away from its user whose every change is on the server for certain
// (Reassignment.Waiting is empty): its records and their revisions, its
// recordings' audio, its case keys (and the keyrings that carry them), its
// refused access events and quarantined revisions. A tombstone is left in
// device-local state. It returns the cases removed.
func (v *Vault) RemoveReassigned() ([]Reassignment, error) {
	ids := v.HeldCases()
	v.mu.RLock()
	if v.ws != nil {
		for id, m := range v.ws.cases {
			if e := m[id]; e != nil && e.kind == record.KindCase && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	v.mu.RUnlock()
	found, err := v.Reassigned(ids)
	if err != nil {
		return nil, err
	}
	// A case given back since it was first seen taken away starts afresh.
	seen, err := v.Locals(seenPrefix)
	if err != nil {
		return nil, err
	}
	for k := range seen {
		if _, ok := found[strings.TrimPrefix(k, seenPrefix)]; !ok {
			if err := v.DeleteLocal(k); err != nil {
				return nil, err
			}
		}
	}
	removed, err := v.removeReassigned(found)
	if err != nil {
		return removed, err
	}
	// Outside wmu, as after a destruction: the pages the removal freed
	// still hold the case's sealed revisions and the old sealed keyring
	// cache until they are zeroed. A busy vault zeroes them next round.
	if _, err := v.scrubOwed(); err != nil && !errors.Is(err, ErrScrubBusy) {
		return removed, err
	}
	return removed, nil
}

// removeReassigned removes the cases of found that may go now (see
// RemoveReassigned), each in its own transaction.
func (v *Vault) removeReassigned(found map[string]Reassignment) ([]Reassignment, error) {
	var removed []Reassignment
	v.wmu.Lock()
	defer v.wmu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(found)) {
		var done Reassignment
		err := v.updateLocked(func(tx *Tx) error {
			// Decided again inside the transaction that removes.
			ra, ok, err := tx.reassignment(id)
			if err != nil || !ok {
				return err
			}
			// The log must have had a round to show a key change kept
			// from this laptop (the case given back, say): the removal
			// waits for a round that judged every entry logged before
			// the change was first seen here (LogFindings), and the
			// caller removes only after a round without findings.
			f, ok, err := v.followIn(tx)
			if err != nil || !ok {
				return err // no log followed: nothing is removed
			}
			seen, had, err := tx.getLocal(seenPrefix + id)
			if err != nil {
				return err
			}
			if !had || len(seen) != 8 {
				return tx.putLocal(seenPrefix+id, u64(uint64(f.Frontier.Size)))
			}
			if f.Prev < int64(binary.BigEndian.Uint64(seen)) {
				return nil
			}
			if w, err := tx.waiting(id); err != nil || len(w) > 0 {
				return err // kept: something of it is not on the server for certain
			}
			done = ra
			return tx.removeCase(&done)
		})
		if err != nil {
			return removed, err
		}
		if done.CaseID == "" {
			continue
		}
		v.dropCaseKeys(id)
		removed = append(removed, done)
	}
	return removed, nil
}

// removeCase deletes a case's local copy in this transaction and leaves its
// tombstone. The pages it frees keep the removed bytes until they are
// zeroed (scrubOwed, after the transaction): it marks them, and the mark
// survives a crash before that.
func (tx *Tx) removeCase(r *Reassignment) error {
	caseID := r.CaseID
	if err := tx.btx.Bucket(bucketMeta).Put(metaScrub, []byte{1}); err != nil {
		return err
	}
	prefix := []byte(caseID + "/")
	deletePrefix := func(b *bolt.Bucket, each func(k, v []byte)) (int, error) {
		if b == nil {
			return 0, nil
		}
		var keys [][]byte
		c := b.Cursor()
		for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
			if each != nil {
				each(k, val)
			}
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return 0, err
			}
		}
		return len(keys), nil
	}
	var revIDs []record.RevID
	if _, err := deletePrefix(tx.btx.Bucket(bucketRevs), func(k, _ []byte) { revIDs = append(revIDs, revFromKey(k)) }); err != nil {
		return err
	}
	if kb := tx.btx.Bucket(bucketHasKids); kb != nil {
		for _, rev := range revIDs {
			if err := kb.Delete(rev[:]); err != nil {
				return err
			}
		}
	}
	n, err := deletePrefix(tx.btx.Bucket(bucketHeads), nil)
	if err != nil {
		return err
	}
	if n > 0 {
		// The authenticated record count follows (flushAuth tags it).
		m := tx.btx.Bucket(bucketMeta)
		var count uint64
		if b := m.Get(metaRecords); len(b) == 8 {
			count = binary.BigEndian.Uint64(b)
		}
		count -= min(count, uint64(n))
		if err := m.Put(metaRecords, u64(count)); err != nil {
			return err
		}
	}
	if _, err := deletePrefix(tx.btx.Bucket(bucketBlobs), nil); err != nil {
		return err
	}
	if _, err := deletePrefix(tx.btx.Bucket(bucketWrapped), nil); err != nil {
		return err
	}
	if ab := tx.btx.Bucket(bucketAuditChain); ab != nil {
		if err := ab.Delete([]byte(caseID)); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketRejected, bucketQuarantine} {
		b := tx.btx.Bucket(name)
		if b == nil {
			continue
		}
		var drop [][]byte
		b.ForEach(func(k, js []byte) error {
			var x struct {
				CaseID string `json:"case_id"`
			}
			if json.Unmarshal(js, &x) == nil && x.CaseID == caseID {
				drop = append(drop, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	lb, err := tx.btx.CreateBucketIfNotExists(bucketLocal)
	if err != nil {
		return err
	}
	for _, k := range []string{"rotation:" + caseID, "transcription:" + caseID, seenPrefix + caseID} {
		if err := lb.Delete([]byte(k)); err != nil {
			return err
		}
	}
	r.Removed = time.Now().UTC()
	r.Waiting = nil
	js, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := tx.putLocal(tombstonePrefix+caseID, js); err != nil {
		return err
	}
	tx.sealKeys = tx.keys.Without(caseID)
	tx.keyringDirty = true
	delete(tx.members, caseID)
	// The search snapshot holds the case's words: it goes in this
	// transaction, and a checkpoint captured before the removal is not
	// written after it (sindex.go); the next one leaves the case out.
	if tx.btx.Bucket(bucketSearchIndex) != nil {
		if err := tx.btx.DeleteBucket(bucketSearchIndex); err != nil {
			return err
		}
	}
	tx.v.snapEpoch.Add(1)
	tx.checkpoint = true
	tx.after = append(tx.after, func() {
		tx.v.ws.dropCase(caseID)
		tx.v.ws.snapMissing = true
		tx.v.snapEpoch.Add(1)
	})
	return nil
}

// dropCase forgets a removed case's records.
func (ws *workingSet) dropCase(caseID string) {
	ws.forgetTaken()
	for id, e := range ws.cases[caseID] {
		for _, h := range e.heads {
			delete(ws.outbox, h.Rev)
		}
		if e.kind == record.KindNote {
			ws.index.remove(id)
			ws.indexChanges++
		}
		delete(ws.records, id)
		delete(ws.damaged, id)
	}
	delete(ws.cases, caseID)
	for ref, id := range ws.refs {
		if id == caseID {
			delete(ws.refs, ref)
		}
	}
}

// RemovedCases lists the tombstones of cases removed from this laptop in
// the last TombstoneDays days and not dismissed, newest first.
func (v *Vault) RemovedCases() ([]Reassignment, error) {
	m, err := v.Locals(tombstonePrefix)
	if err != nil {
		return nil, err
	}
	var out []Reassignment
	cutoff := time.Now().AddDate(0, 0, -TombstoneDays)
	for _, js := range m {
		var r Reassignment
		if json.Unmarshal(js, &r) != nil || r.Removed.Before(cutoff) {
			continue
		}
		v.mu.RLock()
		back := v.ws != nil && v.ws.cases[r.CaseID][r.CaseID] != nil // given back since
		v.mu.RUnlock()
		if back {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Reassignment) int { return b.Removed.Compare(a.Removed) })
	return out, nil
}

// DismissRemoved forgets the tombstone of a removed case.
func (v *Vault) DismissRemoved(caseID string) error {
	return v.DeleteLocal(tombstonePrefix + caseID)
}

// fillReassigned marks the reassigned cases among cvs. Which cases were
// taken away is read from every case's keyrings once, and kept with the
// working set until a keyring or the roster changes (the case list asks on
// every listing); what keeps each such case here is read every time.
func (v *Vault) fillReassigned(cvs []CaseView) error {
	r := v.Roster()
	if me, ok := v.me(r); !ok || me.User.Role != trust.RoleCaseworker {
		return nil
	}
	taken, err := v.takenAway(r)
	if err != nil {
		return err
	}
	var ids []string
	for i := range cvs {
		if _, ok := taken[cvs[i].ID]; ok {
			ids = append(ids, cvs[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	found, err := v.reassignments(r, ids, true)
	if err != nil {
		return err
	}
	for i := range cvs {
		if r, ok := found[cvs[i].ID]; ok {
			if r.Ref == "" {
				r.Ref = cvs[i].Value.Ref
			}
			cvs[i].Reassigned = &r
		}
	}
	return nil
}

// takenAway is the set of this vault's cases taken away from its user
// under roster r, from the working set's cache or computed and cached.
func (v *Vault) takenAway(r *trust.Roster) (map[string]bool, error) {
	v.mu.RLock()
	ws := v.ws
	var ids []string
	var gen uint64
	if ws != nil {
		if ws.taken != nil && ws.takenRoster == r {
			taken := ws.taken
			v.mu.RUnlock()
			return taken, nil
		}
		gen = ws.takenGen
		ids = make([]string, 0, len(ws.cases))
		for id := range ws.cases {
			ids = append(ids, id)
		}
	}
	v.mu.RUnlock()
	if ws == nil {
		return nil, ErrLocked
	}
	found, err := v.reassignments(r, ids, false)
	if err != nil {
		return nil, err
	}
	taken := make(map[string]bool, len(found))
	for id := range found {
		taken[id] = true
	}
	v.mu.Lock()
	if v.ws == ws && ws.takenGen == gen { // no keyring arrived meanwhile
		ws.taken, ws.takenRoster = taken, r
	}
	v.mu.Unlock()
	return taken, nil
}

// removedHere reports whether a case's local copy was removed from this
// laptop and its tombstone is still kept.
func (tx *Tx) removedHere(caseID string) bool {
	lb := tx.btx.Bucket(bucketLocal)
	return lb != nil && lb.Get([]byte(tombstonePrefix+caseID)) != nil
}

// putLocal seals value under key in device-local state, in this
// transaction.
func (tx *Tx) putLocal(key string, value []byte) error {
	lb, err := tx.btx.CreateBucketIfNotExists(bucketLocal)
	if err != nil {
		return err
	}
	return lb.Put([]byte(key), crypto.Seal(tx.vaultKey, localPlace(tx.v.vaultID, key), value))
}

// getLocal opens key of device-local state in this transaction.
func (tx *Tx) getLocal(key string) ([]byte, bool, error) {
	lb := tx.btx.Bucket(bucketLocal)
	if lb == nil || lb.Get([]byte(key)) == nil {
		return nil, false, nil
	}
	plain, err := crypto.Open(tx.vaultKey, localPlace(tx.v.vaultID, key), lb.Get([]byte(key)))
	if err != nil {
		return nil, false, ErrCorrupt
	}
	return plain, true, nil
}

// dropCaseKeys removes case id's keys from memory, once nobody is
// decrypting with them: after the sealed keyring no longer holds them (a
// case handed over or destroyed).
func (v *Vault) dropCaseKeys(id string) {
	v.kmu.Lock()
	defer v.kmu.Unlock()
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.keys != nil {
		v.keys.Remove(id)
	}
}
