package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// Case keys are wrapped to exactly the recipients the case's membership
// and the verified roster name (trust.Recipients), and to this device. The
// membership travels in the keyring record, signed with the revision; no
// recipient comes from the server's word.

// bucketWrapped remembers, per case, the recipient set its newest key was
// last wrapped to (a hash), so keyrings are rewritten only when it changes.
var bucketWrapped = []byte("wrapped")

func recipientsHash(rs []string) []byte {
	s := slices.Clone(rs)
	slices.Sort(s)
	s = slices.Compact(s)
	js, _ := json.Marshal(s)
	h := sha256.Sum256(js)
	return h[:]
}

// ErrNotAllowed means this device's user may not make that change to a case.
var ErrNotAllowed = errors.New("not allowed")

// me is this device as the roster proves it, and whether it does.
func (v *Vault) me(r *trust.Roster) (trust.Writer, bool) {
	if r == nil {
		return trust.Writer{}, false
	}
	return r.Writer(v.deviceID)
}

// keyRecipients is who a key of membership m goes to: this device, and
// under a roster, trust.Recipients. The list is padded with recipients
// nobody holds (fresh throwaway keys) to a multiple of four, so that the
// server does not learn from a keyring's size how many devices hold a case.
//
// It returns who they are (each device by its long-term recipient, for the
// wrapped bucket: a device's pre-key rotation is not a change of who holds
// the case, so it rewraps nothing) and what to wrap to (each device's
// current pre-key, when it has one).
func (tx *Tx) keyRecipients(m trust.Membership) ([]string, []string, error) {
	wrap := []string{tx.selfRecipient()} // its current pre-key, if it has one
	if tx.roster != nil {
		wrap = append(wrap, trust.Recipients(tx.roster, m)...)
	}
	slices.Sort(wrap)
	wrap = slices.Compact(wrap)
	rs := tx.holders(wrap)
	padded := slices.Clone(wrap)
	for len(padded)%4 != 0 {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, nil, err
		}
		padded = append(padded, id.Recipient().String())
	}
	return rs, padded, nil
}

// writeKeyring writes a keyring revision of key with membership m,
// superseding the epoch's current keyring heads, wrapped to m's recipients.
func (tx *Tx) writeKeyring(key *crypto.CaseKey, m trust.Membership) error {
	rs, padded, err := tx.keyRecipients(m)
	if err != nil {
		return err
	}
	wrapped, err := crypto.WrapKey(key, padded...)
	if err != nil {
		return err
	}
	id := record.KeyringID(key.CaseID, key.Epoch)
	e, err := tx.heads(key.CaseID, id)
	if err != nil {
		return err
	}
	parents := make([]record.RevID, len(e.Heads))
	for i, h := range e.Heads {
		parents[i] = h.Rev
	}
	if _, err := tx.Put(Change{Kind: record.KindKeyring, CaseID: key.CaseID, RecordID: id, Parents: parents,
		raw: sealed.Keyring{Epoch: key.Epoch, Wrapped: wrapped, Membership: m}.Marshal()}); err != nil {
		return err
	}
	return tx.markWrapped(key.CaseID, key.Epoch, rs)
}

// wrappedKey is where the recipient set of a case's key at an epoch is
// remembered.
func wrappedKey(caseID string, epoch uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte(caseID+"/"), epoch)
}

// markWrapped records the recipient set a case's key at epoch is wrapped
// to: its hash (has it changed?) and the recipients' fingerprints (was a
// device revoked since among them?).
func (tx *Tx) markWrapped(caseID string, epoch uint32, rs []string) error {
	wb, err := tx.btx.CreateBucketIfNotExists(bucketWrapped)
	if err != nil {
		return err
	}
	fps := make([]string, len(rs))
	for i, r := range rs {
		fps[i] = crypto.Fingerprint(r)
	}
	return wb.Put(wrappedKey(caseID, epoch), append(recipientsHash(rs), strings.Join(fps, ",")...))
}

// wrappedHash is the recipient-set hash of a wrapped value.
func wrappedHash(v []byte) []byte {
	if len(v) < sha256.Size {
		return nil
	}
	return v[:sha256.Size]
}

// CasesWrappedTo lists the cases whose newest key this device wrapped to a
// recipient with one of the fingerprints: after a revocation, the cases
// whose key this device gave the revoked laptop, which it must rotate.
func (v *Vault) CasesWrappedTo(fingerprints []string) ([]string, error) {
	var out []string
	err := v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		return v.view(func(btx *bolt.Tx) error {
			wb := btx.Bucket(bucketWrapped)
			if wb == nil {
				return nil
			}
			return wb.ForEach(func(k, val []byte) error {
				if len(k) < 5 || len(val) <= sha256.Size {
					return nil
				}
				caseID, epoch := string(k[:len(k)-5]), binary.BigEndian.Uint32(k[len(k)-4:])
				if latest := keys.Latest(caseID); latest == nil || latest.Epoch != epoch {
					return nil
				}
				for _, fp := range strings.Split(string(val[sha256.Size:]), ",") {
					if slices.Contains(fingerprints, fp) {
						out = append(out, caseID)
						break
					}
				}
				return nil
			})
		})
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

// newCaseKeyring starts a case: its id binds this device (trust.NewCaseID),
// its first key, and its first keyring, whose membership is this device's
// user (once enrolled) in their team.
func (tx *Tx) newCaseKeyring() (string, error) {
	caseID, salt := trust.NewCaseID(tx.v.deviceID, tx.clock.Now().Time())
	m := trust.Membership{Salt: salt}
	if me, ok := tx.v.me(tx.roster); ok && me.User.Team != "" {
		m.Team = me.User.Team
		if me.User.Role == trust.RoleCaseworker {
			m.Members = []string{me.User.ID}
		}
	}
	var err error
	if m.Escrow, err = tx.newEscrow(caseID, salt); err != nil {
		return "", err
	}
	if err := tx.ensureLocalPreKey(); err != nil {
		return "", err
	}
	key := crypto.NewCaseKey(caseID, 1)
	tx.keys.Add(key)
	tx.keyringDirty = true
	return caseID, tx.writeKeyring(key, m)
}

// amend writes, for each epoch of a case's key this device holds, a keyring
// whose membership is change applied to the epoch's current one, after
// checking that this device may write it (trust.MayWriteKeyring). It
// returns the number of keyrings written.
func (tx *Tx) amend(caseID string, change func(trust.Membership) trust.Membership) (int, error) {
	me, ok := tx.v.me(tx.roster)
	if !ok {
		return 0, fmt.Errorf("%w: this laptop is not on the agency's roster", ErrNotAllowed)
	}
	latest := tx.keys.Latest(caseID)
	if latest == nil {
		return 0, fmt.Errorf("%w: case %s", ErrNoKey, caseID)
	}
	ms, err := tx.memberships(caseID)
	if err != nil {
		return 0, err
	}
	n := 0
	for e := uint32(1); e <= latest.Epoch; e++ {
		key := tx.keys.Get(caseID, e)
		cur, ok := ms[e]
		if key == nil || !ok {
			continue
		}
		next := change(cur)
		if sameMembers(cur, next) {
			continue // nothing to say: no keyring, no push
		}
		w := trust.Write{CaseID: caseID, Kind: record.KindKeyring, Generation: 2, Device: tx.v.deviceID, Seq: tx.peekSeq()}
		if err := trust.MayWriteKeyring(me, w, &cur, next); err != nil {
			return n, err
		}
		if err := tx.writeKeyring(key, next); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// sameMembers reports whether two memberships name the same people.
func sameMembers(a, b trust.Membership) bool {
	return a.Team == b.Team && slices.Equal(sortedSet(a.Members), sortedSet(b.Members)) &&
		slices.Equal(sortedSet(a.Typists), sortedSet(b.Typists))
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// peekSeq is the sequence number the next revision will take.
func (tx *Tx) peekSeq() uint64 {
	s := tx.nextSeq()
	tx.seq--
	return s
}

// ExtendKeyrings brings every case key this device holds, at every epoch,
// up to date with the roster: wrapped to the devices and recovery recipient
// the case's membership at that epoch and the roster name, and nobody else
// (a supervisor's new laptop needs a case's history, not only its newest
// key). A case made before this laptop was enrolled is claimed for its
// user's team. Cases this device may not write keyrings in are left alone.
// It returns the number of keyrings written.
func (v *Vault) ExtendKeyrings() (int, error) {
	r := v.Roster()
	me, ok := v.me(r)
	if !ok {
		return 0, nil
	}
	n := 0
	err := v.Update(func(tx *Tx) error {
		n = 0
		wb := tx.btx.Bucket(bucketWrapped)
		for _, caseID := range tx.heldCases() {
			ms, err := tx.memberships(caseID)
			if err != nil {
				return err
			}
			latest := tx.keys.Latest(caseID)
			for e := uint32(1); e <= latest.Epoch; e++ {
				key := tx.keys.Get(caseID, e)
				cur, ok := ms[e]
				if key == nil || !ok {
					continue
				}
				next := cur
				next.Salt = nil
				if cur.Team == "" && me.User.Team != "" {
					next.Team = me.User.Team
					if me.User.Role == trust.RoleCaseworker {
						next.Members = []string{me.User.ID}
					}
				}
				rs, _, err := tx.keyRecipients(next)
				if err != nil {
					return err
				}
				if next.Team == cur.Team && wb != nil && slices.Equal(wrappedHash(wb.Get(wrappedKey(caseID, e))), recipientsHash(rs)) {
					continue
				}
				w := trust.Write{CaseID: caseID, Kind: record.KindKeyring, Generation: 2, Device: v.deviceID, Seq: tx.peekSeq()}
				if trust.MayWriteKeyring(me, w, &cur, next) != nil {
					continue // not ours to rewrap (e.g. a typist's copy, or a case we left)
				}
				if err := tx.writeKeyring(key, next); err != nil {
					return err
				}
				wb = tx.btx.Bucket(bucketWrapped)
				n++
			}
		}
		return nil
	})
	return n, err
}

// heldCases lists the cases whose newest key this device holds, sorted.
func (tx *Tx) heldCases() []string {
	var out []string
	tx.v.mu.RLock()
	if tx.v.ws != nil {
		for id, m := range tx.v.ws.cases {
			if e := m[id]; e != nil && e.kind == record.KindCase && tx.keys.Latest(id) != nil {
				out = append(out, id)
			}
		}
	}
	tx.v.mu.RUnlock()
	slices.Sort(out)
	return out
}

// ShareCase adds members (caseworkers, by user id) and typists to a case at
// every key epoch this device holds, so that they can read its history:
// adding members is a supervisor's act; opening a case to typists, a
// member's. It returns the number of keyrings written.
func (v *Vault) ShareCase(caseID string, members, typists []string) (int, error) {
	n := 0
	err := v.Update(func(tx *Tx) error {
		var err error
		n, err = tx.amend(caseID, func(m trust.Membership) trust.Membership {
			m.Members = append(slices.Clone(m.Members), members...)
			m.Typists = append(slices.Clone(m.Typists), typists...)
			slices.Sort(m.Members)
			slices.Sort(m.Typists)
			m.Members, m.Typists = slices.Compact(m.Members), slices.Compact(m.Typists)
			m.Salt = nil
			return m
		})
		return err
	})
	return n, err
}

// RotateCaseKey starts a new epoch of a case's key, without the users
// removed (a supervisor's act; nil removes nobody: a rotation after a
// device was revoked, which any member may start). New writes use it at
// once; removed members and revoked devices cannot read what follows with
// the keys they held, and each removed user's devices are cut off at the
// last of their revisions this vault has seen in the case. It returns the
// new epoch.
func (v *Vault) RotateCaseKey(caseID string, removed []string) (uint32, error) {
	r := v.Roster()
	me, ok := v.me(r)
	if !ok {
		return 0, fmt.Errorf("%w: this laptop is not on the agency's roster", ErrNotAllowed)
	}
	var epoch uint32
	err := v.Update(func(tx *Tx) error {
		old := tx.keys.Latest(caseID)
		if old == nil {
			return fmt.Errorf("%w: case %s", ErrNoKey, caseID)
		}
		ms, err := tx.memberships(caseID)
		if err != nil {
			return err
		}
		cur, ok := ms[old.Epoch]
		if !ok {
			return fmt.Errorf("%w: case %s has no trusted keyring of epoch %d", ErrNotFound, caseID, old.Epoch)
		}
		next := trust.Membership{Team: cur.Team, Escrow: cur.Escrow,
			Members: slices.DeleteFunc(slices.Clone(cur.Members), func(u string) bool { return slices.Contains(removed, u) }),
			Typists: slices.DeleteFunc(slices.Clone(cur.Typists), func(u string) bool { return slices.Contains(removed, u) })}
		if len(removed) > 0 {
			last, err := tx.lastSeqs(caseID)
			if err != nil {
				return err
			}
			next.Cutoffs = map[string]uint64{}
			// Every revision of theirs this vault holds came in a round
			// whose log it then read (see trust.Membership.CutoffLog).
			if f, ok, err := v.followIn(tx); err != nil {
				return err
			} else if ok {
				next.CutoffLog = f.Frontier.Size
			}
			for _, u := range removed {
				for id, d := range r.Devices {
					if d.User == u {
						next.Cutoffs[id] = last[id]
					}
				}
			}
		}
		w := trust.Write{CaseID: caseID, Kind: record.KindKeyring, Generation: 1, Device: v.deviceID, Seq: tx.peekSeq()}
		if err := trust.MayWriteKeyring(me, w, &cur, next); err != nil {
			return err
		}
		key := crypto.NewCaseKey(caseID, old.Epoch+1)
		tx.keys.Add(key)
		tx.keyringDirty = true
		epoch = key.Epoch
		return tx.writeKeyring(key, next)
	})
	return epoch, err
}

// lastSeqs is, per device, the highest sequence number of its revisions in
// a case that this vault holds.
func (tx *Tx) lastSeqs(caseID string) (map[string]uint64, error) {
	out := map[string]uint64{}
	prefix := []byte(caseID + "/")
	c := tx.btx.Bucket(bucketRevs).Cursor()
	for k, b := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, b = c.Next() {
		r, _, err := record.UnmarshalRevision(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		out[r.Device] = max(out[r.Device], r.Seq)
	}
	return out, nil
}

// HeldCases lists the cases whose newest key this device holds, sorted.
func (v *Vault) HeldCases() []string {
	var out []string
	v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		out = (&Tx{v: v, keys: keys}).heldCases()
		return nil
	})
	return out
}
