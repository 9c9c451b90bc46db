package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

// What the vault trusts after unlock is authenticated (issue 11): an
// attacker holding the file but not the passphrase must not be able to
// change what the vault shows or does without it being noticed.
//
//   - heads entries end with a MAC of the record key and the entry;
//   - haskids values are a MAC of their key;
//   - the counters in meta (format version, vault and device ids, device
//     sequence, clock, record count) carry one MAC, written by every
//     transaction;
//   - the key recipients carry a MAC;
//   - the keyring cache is signed by the device's own signing key (an age
//     file to a public recipient is not authenticated: anyone could write
//     one);
//   - the profile is sealed at a place of format 2, so a migrated vault
//     cannot be passed off as format 1 to have its tampering blessed by a
//     second migration;
//   - the sync token is sealed at a place that binds the sync config.
//
// Revisions are content-addressed (their id hashes every field) and are
// checked against their id and their key when loaded; sealed values open
// only at their place. docs/ARCHITECTURE.md lists every bucket.

// macSize is the size of the tags the vault stores.
const macSize = crypto.MACSize

var (
	metaTag        = []byte("meta-tag")    // MAC of the counters (metaMsg)
	metaKeyringSig = []byte("keyring-sig") // the device's signature of the keyring cache
	metaAgencyTag  = []byte("agency-tag")  // MAC of the pinned agency key
)

// vaultMAC computes the vault's tags. It holds a hash: one per goroutine.
type vaultMAC struct{ h hash.Hash }

func newVaultMAC(vaultKey *crypto.CaseKey) *vaultMAC {
	return &vaultMAC{vaultKey.NewMAC("vault index v1")}
}

// tag is the MAC of purpose and parts, each length-prefixed, so no two
// different lists of parts share a message.
func (m *vaultMAC) tag(purpose string, parts ...[]byte) []byte {
	m.h.Reset()
	var n [binary.MaxVarintLen64]byte
	m.h.Write(n[:binary.PutUvarint(n[:], uint64(len(purpose)))])
	m.h.Write([]byte(purpose))
	for _, p := range parts {
		m.h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		m.h.Write(p)
	}
	return m.h.Sum(make([]byte, 0, macSize))
}

func (m *vaultMAC) verify(t []byte, purpose string, parts ...[]byte) bool {
	return hmac.Equal(t, m.tag(purpose, parts...))
}

// headsValue is a heads entry as stored: the version-2 body and its tag,
// which binds the record key.
func (m *vaultMAC) headsValue(key []byte, e headsEntry) []byte {
	body := e.marshal(headsV2)
	return append(body, m.tag("heads", key, body)...)
}

// ErrDamaged means a record failed its check (its heads entry does not
// authenticate): it is left out of the working set and named in Damaged,
// and a write to it is refused until RestoreRecord mends it. It comes
// wrapped with ErrCorrupt.
var ErrDamaged = errors.New("record is damaged")

// errNotAuthentic says a value fails its MAC: altered, moved, or not written
// by this vault.
var errNotAuthentic = errors.New("does not authenticate")

// openHeads checks a stored heads entry and returns its body and version.
// A format-1 vault (before migration, opened read-only) has no tags.
func (v *Vault) openHeads(m *vaultMAC, key, b []byte) ([]byte, byte, error) {
	if v.format < 2 {
		return b, headsV1, nil
	}
	if len(b) < macSize+1 || !m.verify(b[len(b)-macSize:], "heads", key, b[:len(b)-macSize]) {
		return nil, 0, fmt.Errorf("%w: heads entry %w (%w)", ErrCorrupt, errNotAuthentic, ErrDamaged)
	}
	body := b[:len(b)-macSize]
	return body, headsV2, nil
}

// kidsValue marks rev as named by a stored revision as its parent.
func (m *vaultMAC) kidsValue(rev []byte) []byte { return m.tag("haskids", rev) }

// metaMsg is what the meta tag covers, read from the meta bucket.
func metaMsg(mb *bolt.Bucket) [][]byte {
	return [][]byte{mb.Get(metaFormat), mb.Get(metaVersion), mb.Get(metaVaultID), mb.Get(metaDevice),
		mb.Get(metaSeq), mb.Get(metaHLC), mb.Get(metaRecords), mb.Get(metaRecipient)}
}

func keyringSigMsg(vaultID string, sealedKR []byte) []byte {
	h := sha256.Sum256(sealedKR)
	msg := append([]byte("fieldcase keyring cache v1\x00"), vaultID...)
	return append(append(msg, 0), h[:]...)
}

// Places of the sealed values whose format-2 place differs from format 1's.
func profilePlace(vaultID string) crypto.Place {
	return crypto.Place{CaseID: vaultID, RecordID: "profile/2", Purpose: crypto.PurposeMeta}
}

func profilePlaceV1(vaultID string) crypto.Place {
	return crypto.Place{CaseID: vaultID, RecordID: "profile", Purpose: crypto.PurposeMeta}
}

// tokenPlace binds the sync token to the sync config it was stored with: a
// config edited in the file (another server, another pinned certificate)
// leaves a token that does not open, and the vault refuses to sync.
func tokenPlace(vaultID string, config []byte) crypto.Place {
	h := sha256.Sum256(config)
	return crypto.Place{CaseID: vaultID, RecordID: fmt.Sprintf("sync-token/%x", h), Purpose: crypto.PurposeMeta}
}

func tokenPlaceV1(vaultID string) crypto.Place {
	return crypto.Place{CaseID: vaultID, RecordID: "sync-token", Purpose: crypto.PurposeMeta}
}

// writeAuth writes the meta tag and, when the keyring cache changed, its
// signature: the end of every transaction, of Create and of migration.
func writeAuth(mb *bolt.Bucket, m *vaultMAC, id *crypto.Identity, vaultID string, keyringChanged bool) error {
	if keyringChanged {
		if err := mb.Put(metaKeyringSig, id.Sign(keyringSigMsg(vaultID, mb.Get(metaKeyring)))); err != nil {
			return err
		}
	}
	return mb.Put(metaTag, m.tag("meta", metaMsg(mb)...))
}

// mac is the transaction's MAC, made on first use.
func (tx *Tx) mac() *vaultMAC {
	if tx.vmac == nil {
		tx.vmac = newVaultMAC(tx.vaultKey)
	}
	return tx.vmac
}

// flushAuth re-tags the counters this transaction moved.
func (tx *Tx) flushAuth() error {
	return writeAuth(tx.btx.Bucket(bucketMeta), tx.mac(), tx.v.id, tx.v.vaultID, tx.keyringDirty)
}

// putHeads writes a record's heads entry with its tag.
func (tx *Tx) putHeads(caseID, recordID string, e headsEntry) error {
	k := recordKey(caseID, recordID)
	return tx.btx.Bucket(bucketHeads).Put(k, tx.mac().headsValue(k, e))
}

// markHasKids records that a stored revision names rev as its parent.
func (tx *Tx) markHasKids(rev record.RevID) error {
	return tx.btx.Bucket(bucketHasKids).Put(rev[:], tx.mac().kidsValue(rev[:]))
}

// hasKids reports whether a stored revision names rev as its parent. A
// value that does not authenticate counts as absent: the revision then
// becomes a head, which shows as a conflict, never as a silent loss.
func (tx *Tx) hasKids(rev record.RevID) bool {
	t := tx.btx.Bucket(bucketHasKids).Get(rev[:])
	return t != nil && tx.mac().verify(t, "haskids", rev[:])
}

// syncCursorTag is the MAC of the pull cursor: a cursor moved forward in
// the file would skip revisions without a word.
var syncCursorTag = []byte("cursor-tag")

func putCursor(b *bolt.Bucket, m *vaultMAC, cursor string) error {
	if err := b.Put(syncCursor, []byte(cursor)); err != nil {
		return err
	}
	return b.Put(syncCursorTag, m.tag("cursor", []byte(cursor)))
}

// readCursor reads the pull cursor. One that does not authenticate is
// read as "" (the next pull starts from the beginning, which applying pages
// twice makes harmless) and reported, for Damaged.
func readCursor(tx *bolt.Tx, v *Vault, vk *crypto.CaseKey) (string, []Damage) {
	b := tx.Bucket(bucketSync)
	if b == nil || b.Get(syncCursor) == nil {
		return "", nil
	}
	c := b.Get(syncCursor)
	if v.format >= 2 && !newVaultMAC(vk).verify(b.Get(syncCursorTag), "cursor", c) {
		return "", []Damage{{Problem: "the pull cursor does not authenticate: pulling again from the start"}}
	}
	return string(c), nil
}

// verifyRevision decodes a stored revision and checks it is the one its
// key and its head name: content-addressed, so a revision swapped for
// another (an older one of the same record, say) does not pass.
func verifyRevision(b []byte, caseID, recordID string, kind record.Kind, h *Head) (*record.Revision, error) {
	rev, _, err := record.UnmarshalRevision(b)
	if err != nil {
		return nil, fmt.Errorf("%w: revision %s: %v", ErrCorrupt, h.Rev.Short(), err)
	}
	switch {
	case rev.Rev != h.Rev, rev.CaseID != caseID, rev.RecordID != recordID, rev.Kind != kind:
		return nil, fmt.Errorf("%w: revision %s is stored under another revision's key", ErrCorrupt, h.Rev.Short())
	case rev.Generation != h.Gen, rev.HLC != h.HLC, rev.Deleted != h.Deleted:
		return nil, fmt.Errorf("%w: revision %s does not match its head", ErrCorrupt, h.Rev.Short())
	case rev.ComputeRev() != rev.Rev:
		return nil, fmt.Errorf("%w: revision %s does not match its id", ErrCorrupt, h.Rev.Short())
	}
	return rev, nil
}

// kindFromRevs is the kind of a record as its stored revisions say, for
// naming a record whose heads entry is damaged; "" when none verifies.
func kindFromRevs(revs *bolt.Bucket, caseID, recordID string) record.Kind {
	prefix := append(recordKey(caseID, recordID), '/')
	c := revs.Cursor()
	for k, b := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, b = c.Next() {
		if r, _, err := record.UnmarshalRevision(b); err == nil && r.CaseID == caseID && r.RecordID == recordID &&
			r.ComputeRev() == r.Rev && bytes.Equal(k[len(prefix):], r.Rev[:]) {
			return r.Kind
		}
	}
	return ""
}

// Damage is a record (or a vault value) that failed its check at unlock or
// load: it is left out of the working set — never shown as if it were
// fine — and named here. The rest of the vault works.
type Damage struct {
	CaseID   string
	RecordID string      // "" for a vault value that is not one record's
	Kind     record.Kind // "" when not known
	Problem  string
}

func (d Damage) String() string {
	if d.RecordID == "" {
		return d.Problem
	}
	k := string(d.Kind)
	if k == "" {
		k = "record"
	}
	return fmt.Sprintf("%s %s of case %s: %s", k, d.RecordID, d.CaseID, d.Problem)
}

// Damaged lists what failed its check since unlock: records left out of
// the working set (by case and record id), then vault values. A record is
// restored by RestoreRecord (the server's copies, pulled again) or by a
// revision that supersedes every damaged head.
func (v *Vault) Damaged() ([]Damage, error) {
	var out []Damage
	err := v.read(func(ws *workingSet) error {
		for _, d := range ws.damaged {
			out = append(out, d)
		}
		slices.SortFunc(out, func(a, b Damage) int {
			if c := cmpStr(a.CaseID, b.CaseID); c != 0 {
				return c
			}
			return cmpStr(a.RecordID, b.RecordID)
		})
		out = append(out, ws.vaultDamage...)
		return nil
	})
	return out, err
}

func cmpStr(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }

// damage takes a record out of the working set and names it in Damaged.
func (ws *workingSet) damage(d Damage) {
	if d.RecordID == "" {
		if !slices.Contains(ws.vaultDamage, d) {
			ws.vaultDamage = append(ws.vaultDamage, d)
		}
		return
	}
	if e := ws.records[d.RecordID]; e != nil && e.caseID == d.CaseID {
		if d.Kind == "" {
			d.Kind = e.kind
		}
		ws.setHeads(e, nil)
		ws.index.remove(e.id)
		delete(ws.records, d.RecordID)
		if m := ws.cases[d.CaseID]; m != nil {
			delete(m, d.RecordID)
		}
	}
	if ws.damaged == nil {
		ws.damaged = map[string]Damage{}
	}
	ws.damaged[d.RecordID] = d
}

// markDamaged records damage found after unlock (a note's text that no
// longer opens when shown).
func (v *Vault) markDamaged(ds ...Damage) {
	if len(ds) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ws != nil {
		for _, d := range ds {
			v.ws.damage(d)
		}
	}
}

// problem is what Damage says of err: the message without the ErrCorrupt
// prefix and the ErrDamaged marker.
func problem(err error) string {
	s := strings.TrimSuffix(err.Error(), " ("+ErrDamaged.Error()+")")
	if p := ErrCorrupt.Error() + ": "; len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// isBodyDamage reports whether a head's decoding error is damage, not a
// missing key (a sealed record, kept and shown as such).
func isBodyDamage(err error) bool { return err != nil && !errors.Is(err, ErrNoKey) }

// findMissing names records that have revisions but no heads entry: what
// a removed entry leaves. It walks the revs bucket, so it runs only when
// the record count says an entry is missing.
func findMissing(tx *bolt.Tx) []Damage {
	heads, revs := tx.Bucket(bucketHeads), tx.Bucket(bucketRevs)
	var out []Damage
	var last []byte
	revs.ForEach(func(k, b []byte) error {
		if len(k) < 34 {
			return nil
		}
		rk := k[:len(k)-33]
		if bytes.Equal(rk, last) {
			return nil
		}
		last = slices.Clone(rk)
		if heads.Get(rk) != nil {
			return nil
		}
		caseID, recordID, ok := splitRecordKey(rk)
		if !ok {
			return nil
		}
		out = append(out, Damage{CaseID: caseID, RecordID: recordID, Kind: kindFromRevs(revs, caseID, recordID),
			Problem: "its revisions are stored but its heads entry is gone (removed from the file?)"})
		return nil
	})
	return out
}

// migrate brings a format-1 vault to format 2 in one transaction: every
// heads entry and haskids value is tagged, the record count is recounted,
// the profile and the sync token are sealed again at their format-2 places,
// the key recipients are tagged, the keyring cache is signed and the
// counters tagged. A crash leaves format 1 whole, and the next unlock
// migrates again. Entries that do not parse are left as they are: they fail
// their tag afterwards and are named in Damaged, never blessed.
func (v *Vault) migrate(id *crypto.Identity, vk *crypto.CaseKey) error {
	m := newVaultMAC(vk)
	return v.update(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		if ver := mb.Get(metaVersion); len(ver) != 8 || binary.BigEndian.Uint64(ver) != 1 {
			return nil // migrated meanwhile
		}
		type kv struct{ k, v []byte }
		var puts []kv
		var records uint64
		hb := tx.Bucket(bucketHeads)
		err := hb.ForEach(func(k, b []byte) error {
			records++
			e, err := unmarshalHeads(b, headsV1)
			if err != nil {
				return nil
			}
			puts = append(puts, kv{slices.Clone(k), m.headsValue(k, e)})
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range puts {
			if err := hb.Put(p.k, p.v); err != nil {
				return err
			}
		}
		puts = puts[:0]
		kb := tx.Bucket(bucketHasKids)
		if err := kb.ForEach(func(k, _ []byte) error {
			puts = append(puts, kv{slices.Clone(k), m.kidsValue(k)})
			return nil
		}); err != nil {
			return err
		}
		for _, p := range puts {
			if err := kb.Put(p.k, p.v); err != nil {
				return err
			}
		}
		if err := mb.Put(metaRecords, u64(records)); err != nil {
			return err
		}
		if sp := mb.Get(metaProfile); sp != nil {
			pb, err := crypto.Open(vk, profilePlaceV1(v.vaultID), sp)
			if err != nil {
				return fmt.Errorf("%w: profile", ErrCorrupt)
			}
			if err := mb.Put(metaProfile, crypto.Seal(vk, profilePlace(v.vaultID), pb)); err != nil {
				return err
			}
		}
		if sb := tx.Bucket(bucketSync); sb != nil && sb.Get(syncConfig) != nil && sb.Get(syncToken) != nil {
			tok, err := crypto.Open(vk, tokenPlaceV1(v.vaultID), sb.Get(syncToken))
			if err != nil {
				return fmt.Errorf("%w: sync token", ErrCorrupt)
			}
			if err := sb.Put(syncToken, crypto.Seal(vk, tokenPlace(v.vaultID, sb.Get(syncConfig)), tok)); err != nil {
				return err
			}
		}
		if sb := tx.Bucket(bucketSync); sb != nil && sb.Get(syncCursor) != nil {
			if err := putCursor(sb, m, string(sb.Get(syncCursor))); err != nil {
				return err
			}
		}
		if err := mb.Put(metaVersion, u64(formatVersion)); err != nil {
			return err
		}
		return writeAuth(mb, m, id, v.vaultID, true)
	})
}

// RestoreRecord mends a damaged record from revs, the record's revisions as
// the server holds them (pulled again): each must verify against its id.
// They replace the stored copies (same id, same content: a restoration,
// never a change), and the heads entry is rebuilt from every stored revision
// of the record: the ones no other names as its parent. It refuses, leaving
// the record damaged, when a stored revision still does not verify (a change
// of this device the server never had would be lost) or a head's body does
// not open. This is the hook the sync side calls for Damaged records.
func (tx *Tx) RestoreRecord(caseID, recordID string, revs []*record.Revision) error {
	rb := tx.btx.Bucket(bucketRevs)
	for _, r := range revs {
		if err := r.Validate(); err != nil {
			return err
		}
		if r.CaseID != caseID || r.RecordID != recordID {
			return fmt.Errorf("%w: revision %s is not of record %s", record.ErrInvalid, r.Rev.Short(), recordID)
		}
		enc, err := r.MarshalBinary()
		if err != nil {
			return err
		}
		if err := rb.Put(revKey(caseID, recordID, r.Rev), enc); err != nil {
			return err
		}
	}
	var all []*record.Revision
	prefix := append(recordKey(caseID, recordID), '/')
	c := rb.Cursor()
	for k, b := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, b = c.Next() {
		r, _, err := record.UnmarshalRevision(bytes.Clone(b))
		if err != nil || r.Validate() != nil || r.CaseID != caseID || r.RecordID != recordID || !bytes.Equal(k[len(prefix):], r.Rev[:]) {
			return fmt.Errorf("%w: record %s: stored revision %x still does not verify", ErrCorrupt, recordID, k[len(prefix):])
		}
		all = append(all, r)
	}
	if len(all) == 0 {
		return fmt.Errorf("%w: record %s has no revisions", ErrNotFound, recordID)
	}
	for _, r := range all {
		if r.Kind != all[0].Kind {
			return fmt.Errorf("%w: record %s has revisions of two kinds", record.ErrInvalid, recordID)
		}
	}
	for _, r := range all {
		for _, p := range r.Parents {
			if err := tx.markHasKids(p); err != nil {
				return err
			}
		}
	}
	e := headsEntry{Kind: all[0].Kind}
	t := tx.touch(caseID, recordID)
	for _, r := range record.Heads(all) {
		h := Head{Rev: r.Rev, Gen: r.Generation, HLC: r.HLC, Device: r.Device, Seq: r.Seq, Deleted: r.Deleted}
		if r.Kind == record.KindKeyring {
			if err := tx.learnKey(r); err != nil {
				return err
			}
		} else if !r.Deleted {
			h.Value, h.Err = tx.v.decode(tx.keys, r)
			if isBodyDamage(h.Err) {
				return fmt.Errorf("record %s: revision %s: %w", recordID, r.Rev.Short(), h.Err)
			}
		}
		e.Heads = append(e.Heads, record.HeadOf(r))
		t.revs[r.Rev] = h
	}
	if len(e.Heads) > maxHeads {
		return fmt.Errorf("%w: record %s has more than %d heads", ErrConflict, recordID, maxHeads)
	}
	t.entry = e
	return tx.putHeads(caseID, recordID, e)
}
