package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// The device follows the server's log: it reads every entry from where it
// started (its enrolment, or the first sync that met a log), hashes them
// into a frontier and checks the result against the checkpoint the log
// signed. What it keeps of the entries is what lets it catch the server
// out later:
//
//   - the revision entries, by case and index: a revision of a case this
//     device holds the key of, logged but not handed over within a round,
//     is being withheld; a revision the server hands over must sit in the
//     log where the server said;
//   - the statement entries: a logged statement (a revocation, above all)
//     that never reaches the roster is being hidden;
//   - entries in this device's own name that it never wrote.
var (
	bucketLogCase = []byte("logcase") // case id ‖ 0 ‖ index (8 bytes) → entry (transparency encoding)
	bucketLogStmt = []byte("logstmt") // statement id → index (8 bytes)
	bucketLogTag  = []byte("logtag")  // case tag (32) ‖ index (8) → details hash (32): leaves of cases this device did not read
	bucketLogRev  = []byte("logrev")  // index (8) → revision id: places in the log checked (PutLogged)
	bucketLogOwn  = []byte("logown")  // index (8) → entry: in this device's name, not (yet) in the vault
	bucketLogHead = []byte("loghead") // device ‖ 0 ‖ case id → seq (8) ‖ head (32) ‖ index (8): the newest audit head anchored
	bucketLogMark = []byte("logmark") // case id, or "t:" case id for leaves → index (8) ‖ keys held (4): every expected entry below it is here
	syncFollow    = []byte("log-follow")
	syncFollowTag = []byte("log-follow-tag")
)

// Follow is how far this device has followed the server's log.
type Follow struct {
	// Start is the size of the log when the device began following it:
	// entries before it are known only through inclusion proofs.
	Start int64
	// Frontier is the tree of every entry followed, right edge.
	Frontier transparency.Frontier
	// Prev is the frontier's size at the end of the previous round: the
	// server has had a whole round to hand over what was logged before it.
	Prev int64
}

// Follow returns how far the log was followed, or ok false before the
// device started. A record that does not authenticate is ErrDamaged.
func (v *Vault) Follow() (f Follow, ok bool, err error) {
	err = v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketSync)
			if b == nil || b.Get(syncFollow) == nil {
				return nil
			}
			raw := b.Get(syncFollow)
			if !newVaultMAC(vk).verify(b.Get(syncFollowTag), "log-follow", raw) {
				return fmt.Errorf("%w: the vault's copy of the log's shape does not authenticate", ErrDamaged)
			}
			if len(raw) < 16 {
				return fmt.Errorf("%w: log follow record", ErrCorrupt)
			}
			f.Start = int64(binary.BigEndian.Uint64(raw))
			f.Prev = int64(binary.BigEndian.Uint64(raw[8:]))
			if err := f.Frontier.UnmarshalBinary(raw[16:]); err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			ok = true
			return nil
		})
	})
	return f, ok, err
}

func putFollow(tx *Tx, f Follow) error {
	b, err := syncBucket(tx.btx)
	if err != nil {
		return err
	}
	fr, _ := f.Frontier.MarshalBinary()
	raw := append(binary.BigEndian.AppendUint64(u64(uint64(f.Start)), uint64(f.Prev)), fr...)
	if err := b.Put(syncFollow, raw); err != nil {
		return err
	}
	return b.Put(syncFollowTag, tx.mac().tag("log-follow", raw))
}

// StartFollow begins following the log at a frontier the caller checked
// against a signed checkpoint. It does nothing if the device follows
// already.
func (v *Vault) StartFollow(fr transparency.Frontier) error {
	if _, ok, err := v.Follow(); err != nil || ok {
		return err
	}
	return v.Update(func(tx *Tx) error {
		return putFollow(tx, Follow{Start: fr.Size, Frontier: fr, Prev: fr.Size})
	})
}

// Followed is one entry as the device read it: in full, or, of a case it
// did not read, as a leaf.
type Followed struct {
	Entry *transparency.Entry
	Leaf  *transparency.Leaf
}

// Hash is the entry's leaf hash.
func (f Followed) Hash() tlog.Hash {
	if f.Entry != nil {
		return f.Entry.Hash()
	}
	return tlog.RecordHash(f.Leaf.Data())
}

// AddFollowed keeps the entries the device read, from the frontier's old
// size on, and the new frontier (the caller checked it against a signed
// checkpoint). Prev becomes the old size: what was logged before this
// round began has had this round's pull to arrive.
//
// Entries in this device's name that its vault does not hold are kept
// aside for LogFindings: by the round's end (a vault restored from a backup
// takes its own revisions back first) each must be one it wrote.
func (v *Vault) AddFollowed(entries []Followed, next transparency.Frontier) error {
	return v.Update(func(tx *Tx) error {
		f, ok, err := v.followIn(tx)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: the log is not followed yet", ErrNotFound)
		}
		if next.Size != f.Frontier.Size+int64(len(entries)) {
			// Another sync of this vault read the same entries first
			// (each checked them against a signed checkpoint that extends
			// the one kept): nothing left to add.
			if f.Frontier.Size >= next.Size {
				return nil
			}
			return fmt.Errorf("%w: %d entries do not take the log from %d to %d", ErrCorrupt, len(entries), f.Frontier.Size, next.Size)
		}
		cases, err := tx.btx.CreateBucketIfNotExists(bucketLogCase)
		if err != nil {
			return err
		}
		stmts, err := tx.btx.CreateBucketIfNotExists(bucketLogStmt)
		if err != nil {
			return err
		}
		tags, err := tx.btx.CreateBucketIfNotExists(bucketLogTag)
		if err != nil {
			return err
		}
		own, err := tx.btx.CreateBucketIfNotExists(bucketLogOwn)
		if err != nil {
			return err
		}
		heads, err := tx.btx.CreateBucketIfNotExists(bucketLogHead)
		if err != nil {
			return err
		}
		for i, fe := range entries {
			index := f.Frontier.Size + int64(i)
			if fe.Entry == nil {
				if fe.Leaf == nil {
					return fmt.Errorf("%w: log entry %d is neither an entry nor a leaf", ErrCorrupt, index)
				}
				if err := tags.Put(binary.BigEndian.AppendUint64(fe.Leaf.Tag[:], uint64(index)), fe.Leaf.Details[:]); err != nil {
					return err
				}
				continue
			}
			e := *fe.Entry
			switch e.Kind {
			case transparency.KindRevision:
				if err := cases.Put(logCaseKey(e.CaseID, index), e.Marshal()); err != nil {
					return err
				}
				if e.Device == v.deviceID && tx.btx.Bucket(bucketRevs).Get(revKey(e.CaseID, e.RecordID, e.Rev)) == nil {
					if err := own.Put(u64(uint64(index)), e.Marshal()); err != nil {
						return err
					}
				}
			case transparency.KindStatement:
				if err := stmts.Put([]byte(e.Statement), u64(uint64(index))); err != nil {
					return err
				}
			case transparency.KindAuditHead:
				k := append(append([]byte(e.Device), 0), e.CaseID...)
				if cur := heads.Get(k); len(cur) == 48 && binary.BigEndian.Uint64(cur) >= e.Seq {
					continue
				}
				v := append(u64(e.Seq), e.Head[:]...)
				if err := heads.Put(k, binary.BigEndian.AppendUint64(v, uint64(index))); err != nil {
					return err
				}
			}
		}
		return putFollow(tx, Follow{Start: f.Start, Frontier: next, Prev: f.Frontier.Size})
	})
}

// followIn reads the follow record inside an update (already unlocked).
func (v *Vault) followIn(tx *Tx) (Follow, bool, error) {
	var f Follow
	b := tx.btx.Bucket(bucketSync)
	if b == nil || b.Get(syncFollow) == nil {
		return f, false, nil
	}
	raw := b.Get(syncFollow)
	if !tx.mac().verify(b.Get(syncFollowTag), "log-follow", raw) {
		return f, false, fmt.Errorf("%w: the vault's copy of the log's shape does not authenticate", ErrDamaged)
	}
	if len(raw) < 16 {
		return f, false, fmt.Errorf("%w: log follow record", ErrCorrupt)
	}
	f.Start = int64(binary.BigEndian.Uint64(raw))
	f.Prev = int64(binary.BigEndian.Uint64(raw[8:]))
	if err := f.Frontier.UnmarshalBinary(raw[16:]); err != nil {
		return f, false, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return f, true, nil
}

func logCaseKey(caseID string, index int64) []byte {
	k := append([]byte(caseID), 0)
	return binary.BigEndian.AppendUint64(k, uint64(index))
}

// LeafAt is the leaf hash of the followed log's entry at index, when it
// is an entry of caseID (ok false: not followed that far, or another
// case's).
func (v *Vault) LeafAt(caseID string, index int64) (tlog.Hash, bool) {
	hs, ok := v.LeavesAt([]Place{{CaseID: caseID, Index: index}})
	return hs[0], ok[0]
}

// Place is an entry's place in the log, with the case it should be of.
type Place struct {
	CaseID string
	Index  int64
}

// LeavesAt is LeafAt for many places, in one read.
func (v *Vault) LeavesAt(ps []Place) ([]tlog.Hash, []bool) {
	hs, oks := make([]tlog.Hash, len(ps)), make([]bool, len(ps))
	v.view(func(tx *bolt.Tx) error {
		cases, tags := tx.Bucket(bucketLogCase), tx.Bucket(bucketLogTag)
		for i, p := range ps {
			if cases != nil {
				if raw := cases.Get(logCaseKey(p.CaseID, p.Index)); raw != nil {
					if e, err := transparency.UnmarshalEntry(raw); err == nil && e.CaseID == p.CaseID {
						hs[i], oks[i] = e.Hash(), true
					}
					continue
				}
			}
			if tags != nil {
				tag := transparency.CaseTag(p.CaseID)
				if d := tags.Get(binary.BigEndian.AppendUint64(tag[:], uint64(p.Index))); len(d) == 32 {
					l := transparency.Leaf{Kind: transparency.KindRevision, Tag: tag, Details: [32]byte(d)}
					hs[i], oks[i] = tlog.RecordHash(l.Data()), true
				}
			}
		}
		return nil
	})
	return hs, oks
}

// ReadCaseTags are the tags of the cases whose entries this device must be
// shown in full (transparency.CaseTag → case id): those a caseworker or a
// supervisor holds a key of and was not cut off from.
func (v *Vault) ReadCaseTags() (map[[32]byte]string, error) {
	out := map[[32]byte]string{}
	err := v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		if !v.reads() {
			return nil
		}
		return v.view(func(btx *bolt.Tx) error {
			tx := &Tx{v: v, btx: btx, keys: keys}
			for _, caseID := range keys.Cases() {
				ms, err := tx.memberships(caseID)
				if err != nil {
					return err
				}
				if cutEpochOf(ms, v.deviceID) == 0 {
					out[transparency.CaseTag(caseID)] = caseID
				}
			}
			return nil
		})
	})
	return out, err
}

// reads reports whether this device's user reads whole cases (a caseworker
// or a supervisor): a typist is handed only what a case opens to her.
func (v *Vault) reads() bool {
	me, _ := v.me(v.Roster())
	return me.User.Role == trust.RoleCaseworker || me.User.Role == trust.RoleSupervisor
}

// cutEpochOf is the first key epoch whose keyring cut device off the case
// (0: none did).
func cutEpochOf(ms map[uint32]trust.Membership, device string) uint32 {
	var cut uint32
	for e, m := range ms {
		if _, ok := m.Cutoffs[device]; ok && (cut == 0 || e < cut) {
			cut = e
		}
	}
	return cut
}

// Withheld is a finding of LogFindings: something the log holds that this
// device should have and has not, or holds in its name and never wrote.
type Withheld struct {
	Index  int64
	Entry  transparency.Entry
	Reason string
}

// LogFindings compares the followed log with the vault, for entries logged
// before the previous round ended (Follow.Prev): the server has had a
// whole round to hand them over.
//
//   - a revision of a case this device reads (caseworker or supervisor),
//     sealed under a key epoch it holds, that is not here (applied or
//     quarantined) and was not logged after a keyring that cut this device
//     off the case: withheld;
//   - a keyring of a case this device reads that is not here: a key change
//     withheld (it either gives this device the new key or tells it that
//     it was cut off; the server owes it both ways);
//   - a statement that is not on this device's roster: withheld.
//
// Typists are handed only what a case opens to them, which the log does
// not show: their devices check their own entries only.
func (v *Vault) LogFindings() ([]Withheld, error) {
	var out []Withheld
	err := v.Update(func(tx *Tx) error {
		out = nil
		btx, keys := tx.btx, tx.keys
		reader := v.reads()
		{
			f, ok, err := v.followIn(tx)
			if err != nil || !ok {
				return err
			}
			cases, err := btx.CreateBucketIfNotExists(bucketLogCase)
			if err != nil {
				return err
			}
			marks, err := btx.CreateBucketIfNotExists(bucketLogMark)
			if err != nil {
				return err
			}
			revs := btx.Bucket(bucketRevs)
			quar := btx.Bucket(bucketQuarantine)
			have := func(e transparency.Entry) bool {
				return revs.Get(revKey(e.CaseID, e.RecordID, e.Rev)) != nil || (quar != nil && quar.Get(e.Rev[:]) != nil)
			}
			if reader {
				read := liveCases(keys.Cases(), tx.roster) // a destroyed case owes nothing (destroy.go)
				found, err := v.findInCases(tx, cases, marks, read, f, have)
				if err != nil {
					return err
				}
				out = append(out, found...)
				found, err = v.findInLeaves(tx, marks, read, f)
				if err != nil {
					return err
				}
				out = append(out, found...)
			}
			// Revisions the server cannot sign in this device's name,
			// but can log: each must be one it wrote.
			if ob := btx.Bucket(bucketLogOwn); ob != nil {
				var done [][]byte
				err := ob.ForEach(func(k, raw []byte) error {
					e, err := transparency.UnmarshalEntry(raw)
					if err != nil {
						return fmt.Errorf("%w: log entry: %v", ErrCorrupt, err)
					}
					if revs.Get(revKey(e.CaseID, e.RecordID, e.Rev)) != nil {
						done = append(done, k)
						return nil
					}
					out = append(out, Withheld{Index: int64(binary.BigEndian.Uint64(k)), Entry: e,
						Reason: "a revision the log holds in this laptop's name that this laptop never wrote"})
					return nil
				})
				if err != nil {
					return err
				}
				for _, k := range done {
					if err := ob.Delete(k); err != nil {
						return err
					}
				}
			}
			if sb := btx.Bucket(bucketLogStmt); sb != nil {
				held := btx.Bucket(bucketStatements)
				err := sb.ForEach(func(id, ix []byte) error {
					index := int64(binary.BigEndian.Uint64(ix))
					if index < f.Prev && (held == nil || held.Get(id) == nil) {
						out = append(out, Withheld{Index: index, Entry: transparency.Entry{Kind: transparency.KindStatement, Statement: string(id)},
							Reason: "a signed roster statement the server logged but has not handed to this laptop"})
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			return nil
		}
	})
	slices.SortFunc(out, func(a, b Withheld) int { return int(a.Index - b.Index) })
	return out, err
}

// findInCases checks each case's entries from its mark on.
func (v *Vault) findInCases(tx *Tx, cases, marks *bolt.Bucket, caseIDs []string, f Follow, have func(transparency.Entry) bool) ([]Withheld, error) {
	var out []Withheld
	for _, caseID := range caseIDs {
		ms, err := tx.memberships(caseID)
		if err != nil {
			return nil, err
		}
		held := uint32(tx.keys.Epochs(caseID))
		from := f.Start
		if m := marks.Get([]byte(caseID)); len(m) == 12 && binary.BigEndian.Uint32(m[8:]) == held {
			from = max(from, int64(binary.BigEndian.Uint64(m)))
		}
		// The epoch whose keyring cut this device off the case, if one did.
		cutEpoch := cutEpochOf(ms, v.deviceID)
		mark := from
		contiguous := true
		cutAt := int64(-1) // index of the first keyring entry of cutEpoch
		c := cases.Cursor()
		prefix := append([]byte(caseID), 0)
		for k, raw := c.Seek(logCaseKey(caseID, from)); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
			index := int64(binary.BigEndian.Uint64(k[len(prefix):]))
			if index >= f.Prev {
				break
			}
			e, err := transparency.UnmarshalEntry(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: log entry %d: %v", ErrCorrupt, index, err)
			}
			if e.RecKind == record.KindKeyring && cutEpoch != 0 && e.Epoch == cutEpoch && cutAt < 0 {
				cutAt = index
			}
			expected := false
			switch {
			case cutEpoch != 0 && (cutAt >= 0 && index > cutAt || e.Epoch > cutEpoch):
				// after the keyring that cut this device off: none of its business
			case e.RecKind == record.KindKeyring:
				expected = true
			default:
				expected = tx.keys.Get(caseID, e.Epoch) != nil
			}
			if expected && !have(e) {
				what := "a revision of a case this laptop reads, logged a round ago, that the server has not handed over"
				if e.RecKind == record.KindKeyring {
					what = "a key change of a case this laptop reads, logged a round ago, that the server has not handed over"
				}
				out = append(out, Withheld{Index: index, Entry: e, Reason: what})
				contiguous = false
			}
			if contiguous {
				mark = index + 1
			}
		}
		if err := marks.Put([]byte(caseID), binary.BigEndian.AppendUint32(u64(uint64(mark)), held)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// findInLeaves checks the entries of cases this device reads now that it
// followed as leaves only (logged before it read the case: history it was
// given since). Each must be the place, checked, of a revision it holds;
// none is owed after a keyring that cut the device off.
func (v *Vault) findInLeaves(tx *Tx, marks *bolt.Bucket, caseIDs []string, f Follow) ([]Withheld, error) {
	tags := tx.btx.Bucket(bucketLogTag)
	if tags == nil {
		return nil, nil
	}
	placed := tx.btx.Bucket(bucketLogRev)
	var out []Withheld
	for _, caseID := range caseIDs {
		ms, err := tx.memberships(caseID)
		if err != nil {
			return nil, err
		}
		if cutEpochOf(ms, v.deviceID) != 0 {
			continue // the case's later entries are none of its business, and it read the earlier in full
		}
		held := uint32(tx.keys.Epochs(caseID))
		markKey := []byte("t:" + caseID)
		from := f.Start
		if m := marks.Get(markKey); len(m) == 12 && binary.BigEndian.Uint32(m[8:]) == held {
			from = max(from, int64(binary.BigEndian.Uint64(m)))
		}
		tag := transparency.CaseTag(caseID)
		mark, contiguous := from, true
		c := tags.Cursor()
		for k, d := c.Seek(binary.BigEndian.AppendUint64(tag[:], uint64(from))); k != nil && bytes.HasPrefix(k, tag[:]); k, d = c.Next() {
			index := int64(binary.BigEndian.Uint64(k[32:]))
			if index >= f.Prev {
				break
			}
			if placed == nil || placed.Get(k[32:]) == nil {
				out = append(out, Withheld{Index: index, Entry: transparency.Entry{Kind: transparency.KindRevision, CaseID: caseID},
					Reason: fmt.Sprintf("an entry of a case this laptop reads (details %x…), logged a round ago, whose revision the server has not handed over", d[:4])})
				contiguous = false
			}
			if contiguous {
				mark = index + 1
			}
		}
		if err := marks.Put(markKey, binary.BigEndian.AppendUint32(u64(uint64(mark)), held)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MissingStatements lists the statements the followed log holds that this
// vault has not: right after a roster fetch, a server keeping them from it.
func (v *Vault) MissingStatements() ([]Withheld, error) {
	var out []Withheld
	err := v.view(func(btx *bolt.Tx) error {
		sb := btx.Bucket(bucketLogStmt)
		if sb == nil {
			return nil
		}
		held := btx.Bucket(bucketStatements)
		return sb.ForEach(func(id, ix []byte) error {
			if held == nil || held.Get(id) == nil {
				out = append(out, Withheld{Index: int64(binary.BigEndian.Uint64(ix)), Entry: transparency.Entry{Kind: transparency.KindStatement, Statement: string(id)},
					Reason: "a signed roster statement the server logged but left off the roster it handed to this laptop"})
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Withheld) int { return int(a.Index - b.Index) })
	return out, err
}

// StatementIDs lists the ids of every statement the vault holds.
func (v *Vault) StatementIDs() ([]string, error) {
	var out []string
	err := v.view(func(btx *bolt.Tx) error {
		if b := btx.Bucket(bucketStatements); b != nil {
			return b.ForEach(func(id, _ []byte) error { out = append(out, string(id)); return nil })
		}
		return nil
	})
	return out, err
}

// UnloggedStatements lists those of ids (statements this vault holds) that
// the log this device followed does not: the server stores a statement
// with its log entry in one transaction, before any laptop can hold it, so
// one held here and missing from the log was never logged (a hold or a
// revocation this laptop signed, answered "stored" and thrown away), or
// was handed over without being logged. Only the ids held when a round
// began are judged at its end, so a statement signed during the round is
// not taken for one.
func (v *Vault) UnloggedStatements(ids []string) ([]string, error) {
	var out []string
	err := v.view(func(btx *bolt.Tx) error {
		sb, held := btx.Bucket(bucketLogStmt), btx.Bucket(bucketStatements)
		for _, id := range ids {
			if held == nil || held.Get([]byte(id)) == nil {
				continue // no longer here (not a case today)
			}
			if sb == nil || sb.Get([]byte(id)) == nil {
				out = append(out, id)
			}
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// CaseBehindLog counts the revisions of caseID that the log this device
// followed holds in full, under a key epoch this vault holds (or a key
// change), and that are not here, applied or quarantined: what the server
// has logged of the case and not yet handed over. Unlike LogFindings it
// gives no round's grace: a supervisor about to approve a destruction
// judges the case on everything logged of it (a reopening, a new visit).
func (v *Vault) CaseBehindLog(caseID string) (int, error) {
	n := 0
	err := v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		return v.view(func(btx *bolt.Tx) error {
			cases, revs, quar := btx.Bucket(bucketLogCase), btx.Bucket(bucketRevs), btx.Bucket(bucketQuarantine)
			if cases == nil {
				return nil
			}
			prefix := append([]byte(caseID), 0)
			c := cases.Cursor()
			for k, raw := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
				e, err := transparency.UnmarshalEntry(raw)
				if err != nil {
					return fmt.Errorf("%w: log entry of case %s: %v", ErrCorrupt, caseID, err)
				}
				if e.Kind != transparency.KindRevision || (e.RecKind != record.KindKeyring && keys.Get(caseID, e.Epoch) == nil) {
					continue
				}
				if (revs == nil || revs.Get(revKey(e.CaseID, e.RecordID, e.Rev)) == nil) && (quar == nil || quar.Get(e.Rev[:]) == nil) {
					n++
				}
			}
			return nil
		})
	})
	return n, err
}

// ResetFollow forgets the log as this device followed it: after the
// server showed a log that does not extend it (a restore from a backup, or
// a fork; the alarm keeps both signed checkpoints as evidence), the device
// follows the log it is shown now from its first entry. Receipts stay:
// they are the old log's signed word.
func (v *Vault) ResetFollow() error {
	return v.Update(func(tx *Tx) error {
		for _, name := range [][]byte{bucketLogCase, bucketLogTag, bucketLogStmt, bucketLogRev, bucketLogOwn, bucketLogHead, bucketLogMark, bucketLogIndex} {
			if tx.btx.Bucket(name) != nil {
				if err := tx.btx.DeleteBucket(name); err != nil {
					return err
				}
			}
		}
		b, err := syncBucket(tx.btx)
		if err != nil {
			return err
		}
		for _, k := range [][]byte{syncFollow, syncFollowTag, syncCheckpoint} {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// AuditTailFindings holds each audit-chain head the log anchored (a
// device's report, signed by it, at a sync) against the chain this vault
// holds, for the cases whose audit events it can read: the chain must reach
// the anchored event, and that event must be the one anchored. A chain that
// ends before it lost its tail (a laptop restored from a backup, a server
// keeping events back); one that differs was rewritten. Heads anchored in
// the last round get a round's grace (Follow.Prev).
func (v *Vault) AuditTailFindings() ([]Withheld, error) {
	type anchored struct {
		device, caseID string
		seq            uint64
		head           [32]byte
		index          int64
	}
	var as []anchored
	f, ok, err := v.Follow()
	if err != nil || !ok {
		return nil, err
	}
	held := map[string]bool{}
	if err := v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		for _, c := range keys.Cases() {
			held[c] = true
		}
		return nil
	}); err != nil {
		return nil, err
	}
	err = v.view(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketLogHead)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, val []byte) error {
			dev, caseID, ok := bytes.Cut(k, []byte{0})
			if !ok || len(val) != 48 || !held[string(caseID)] {
				return nil
			}
			a := anchored{device: string(dev), caseID: string(caseID), seq: binary.BigEndian.Uint64(val), index: int64(binary.BigEndian.Uint64(val[40:]))}
			copy(a.head[:], val[8:40])
			if a.index < f.Prev {
				as = append(as, a)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []Withheld
	events := map[string][]record.AuditEvent{}
	for _, a := range as {
		es, ok := events[a.caseID]
		if !ok {
			if es, err = v.AuditEvents(a.caseID); err != nil {
				return nil, err
			}
			events[a.caseID] = es
		}
		e := transparency.Entry{Kind: transparency.KindAuditHead, CaseID: a.caseID, Device: a.device, Seq: a.seq, Head: a.head}
		i := slices.IndexFunc(es, func(ev record.AuditEvent) bool { return ev.Device == a.device && ev.Seq == a.seq })
		switch {
		case i < 0:
			out = append(out, Withheld{Index: a.index, Entry: e, Reason: fmt.Sprintf(
				"the audit trail of device %s in case %s ends before event %d, which that laptop anchored in the log: its tail was lost or is kept back", a.device, a.caseID, a.seq)})
		case es[i].Hash() != hex.EncodeToString(a.head[:]):
			out = append(out, Withheld{Index: a.index, Entry: e, Reason: fmt.Sprintf(
				"event %d of device %s's audit trail in case %s is not the one that laptop anchored in the log: the trail was rewritten", a.seq, a.device, a.caseID)})
		}
	}
	slices.SortFunc(out, func(a, b Withheld) int { return int(a.Index - b.Index) })
	return out, nil
}
