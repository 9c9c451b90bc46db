package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// Device pre-keys (docs/ARCHITECTURE.md, "Crypto-shredding", part 2): this
// device's rotating age identities, whose signed recipients (trust
// KindPreKey) case keys are wrapped to. Their secrets live in the
// prekeys bucket, each sealed under the vault key like other local
// secrets, with when it was made and when a newer one replaced it on the
// roster. A secret is deleted, and the file's free pages zeroed, a
// backup-retention period after it was replaced (ExpirePreKeys): from then
// on this vault cannot open a keyring wrapped to it, wherever a copy of
// that keyring is kept.
//
// Layout: "k" ‖ version → the sealed secret and its times; "x" ‖ version →
// a sealed note of an expired one (no secret: its fingerprint and times),
// which tells a keyring arriving later that only it could open from one
// that was never meant for this laptop.
var bucketPreKeys = []byte("prekeys")

// lostPrefix names, in device-local state, a keyring addressed to this
// laptop that none of its keys opens after a pre-key expired.
const lostPrefix = "prekey-lost/"

type preKeyRecord struct {
	Version    uint64       `json:"version"`
	Secret     string       `json:"secret,omitempty"` // "" in an expired note
	Recipient  string       `json:"recipient"`
	Created    time.Time    `json:"created"`
	Superseded time.Time    `json:"superseded,omitzero"`
	Expired    time.Time    `json:"expired,omitzero"`
	Statement  trust.Signed `json:"statement"` // what publishes it
}

// PreKeyInfo describes one of this device's pre-keys, held or expired.
type PreKeyInfo struct {
	Version     uint64
	Fingerprint string // of its recipient
	Recipient   string
	Created     time.Time
	Superseded  time.Time // when a newer one was first seen on the roster; zero while current
	Expired     time.Time // when its secret was deleted; zero while held
	Published   bool      // on the roster this vault holds (the server took it)
}

func preKeyKey(prefix byte, version uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefix}, version)
}

func preKeyPlace(vaultID string, k []byte) crypto.Place {
	return crypto.Place{CaseID: vaultID, RecordID: "prekey:" + string(k[:1]) + strconv.FormatUint(binary.BigEndian.Uint64(k[1:]), 10), Purpose: crypto.PurposeMeta}
}

func (tx *Tx) putPreKey(prefix byte, p preKeyRecord) error {
	b, err := tx.btx.CreateBucketIfNotExists(bucketPreKeys)
	if err != nil {
		return err
	}
	js, err := json.Marshal(p)
	if err != nil {
		return err
	}
	defer clear(js)
	k := preKeyKey(prefix, p.Version)
	return b.Put(k, crypto.Seal(tx.vaultKey, preKeyPlace(tx.v.vaultID, k), js))
}

// readPreKeys opens every record of prefix ('k' held, 'x' expired), by
// version. A record that does not open fails closed (ErrCorrupt): a pre-key
// silently skipped would be a case silently lost.
func readPreKeys(btx *bolt.Tx, vaultID string, vaultKey *crypto.CaseKey, prefix byte) ([]preKeyRecord, error) {
	b := btx.Bucket(bucketPreKeys)
	if b == nil {
		return nil, nil
	}
	var out []preKeyRecord
	c := b.Cursor()
	for k, v := c.Seek([]byte{prefix}); k != nil && k[0] == prefix; k, v = c.Next() {
		if len(k) != 9 {
			return nil, fmt.Errorf("%w: pre-key entry %x", ErrCorrupt, k)
		}
		plain, err := crypto.Open(vaultKey, preKeyPlace(vaultID, k), v)
		if err != nil {
			return nil, fmt.Errorf("%w: pre-key %d does not open", ErrCorrupt, binary.BigEndian.Uint64(k[1:]))
		}
		var p preKeyRecord
		err = json.Unmarshal(plain, &p)
		clear(plain)
		if err != nil || p.Version != binary.BigEndian.Uint64(k[1:]) {
			return nil, fmt.Errorf("%w: pre-key %d does not decode", ErrCorrupt, binary.BigEndian.Uint64(k[1:]))
		}
		out = append(out, p)
	}
	return out, nil
}

// heldPreKeys are this device's pre-key secrets, read once per transaction.
func (tx *Tx) heldPreKeys() ([]*crypto.PreKey, error) {
	if tx.preKeysRead {
		return tx.preKeys, nil
	}
	recs, err := readPreKeys(tx.btx, tx.v.vaultID, tx.vaultKey, 'k')
	if err != nil {
		return nil, err
	}
	for _, p := range recs {
		pk, err := crypto.ParsePreKey(p.Secret)
		if err != nil {
			return nil, fmt.Errorf("%w: pre-key %d: %v", ErrCorrupt, p.Version, err)
		}
		tx.preKeys = append(tx.preKeys, pk)
	}
	tx.preKeysRead = true
	return tx.preKeys, nil
}

// unwrapKeyring opens a keyring body with the device identity or any pre-key
// it holds.
func (tx *Tx) unwrapKeyring(caseID string, kb sealed.Keyring) (*crypto.CaseKey, error) {
	pre, err := tx.heldPreKeys()
	if err != nil {
		return nil, err
	}
	return crypto.UnwrapKeyWith(kb.Wrapped, caseID, kb.Epoch, tx.v.id, pre...)
}

// selfRecipient is what this device wraps a case key to for itself: its
// current pre-key as the roster has it, if it holds that pre-key's secret;
// its long-term recipient otherwise.
func (tx *Tx) selfRecipient() string {
	if _, enrolled := tx.v.me(tx.roster); !enrolled {
		// Before enrolment: the pre-key made for the first case
		// (ensureLocalPreKey), published at enrolment.
		if recs, err := readPreKeys(tx.btx, tx.v.vaultID, tx.vaultKey, 'k'); err == nil && len(recs) > 0 {
			return recs[len(recs)-1].Recipient
		}
		return tx.v.id.Recipient()
	}
	p, ok := tx.roster.PreKeys[tx.v.deviceID]
	if !ok {
		return tx.v.id.Recipient()
	}
	if b := tx.btx.Bucket(bucketPreKeys); b == nil || b.Get(preKeyKey('k', p.Version)) == nil {
		return tx.v.id.Recipient() // a restored copy of the vault, older than its newest pre-key
	}
	return p.Recipient
}

// ensureLocalPreKey makes this vault's first pre-key if it has none and is
// not enrolled yet, so that a case made before the enrolment is wrapped to
// it and not to the long-term recipient (its first keyring stays on the
// server, and in its backups, for good). Its statement is sent at the
// enrolment.
func (tx *Tx) ensureLocalPreKey() error {
	if _, enrolled := tx.v.me(tx.roster); enrolled {
		return nil
	}
	if b := tx.btx.Bucket(bucketPreKeys); b != nil {
		if k, _ := b.Cursor().Seek([]byte{'k'}); k != nil && k[0] == 'k' {
			return nil
		}
	}
	expired, err := readPreKeys(tx.btx, tx.v.vaultID, tx.vaultKey, 'x')
	if err != nil {
		return err
	}
	version := uint64(1)
	for _, p := range expired {
		version = max(version, p.Version+1)
	}
	pk, err := crypto.NewPreKey()
	if err != nil {
		return err
	}
	now := tx.v.wallClock().UTC().Truncate(time.Second)
	sg := trust.SignAsDevice(tx.v.deviceID, tx.v.id.Sign, trust.Statement{Kind: trust.KindPreKey, Issued: now,
		Device: tx.v.deviceID, Recipient: pk.Recipient(), Version: version})
	tx.preKeys, tx.preKeysRead = nil, false
	return tx.putPreKey('k', preKeyRecord{Version: version, Secret: pk.Secret(), Recipient: pk.Recipient(), Created: now, Statement: sg})
}

// holders maps recipients to who holds them: a device's pre-key to its
// long-term recipient (this device's own too), anything else as it is.
func (tx *Tx) holders(wrap []string) []string {
	if tx.roster == nil || len(tx.roster.PreKeys) == 0 && tx.selfRecipient() == tx.v.id.Recipient() {
		return wrap
	}
	byPreKey := map[string]string{tx.selfRecipient(): tx.v.id.Recipient()}
	for dev, p := range tx.roster.PreKeys {
		if d, ok := tx.roster.Devices[dev]; ok {
			byPreKey[p.Recipient] = d.Recipient
		}
	}
	out := make([]string, len(wrap))
	for i, r := range wrap {
		if lt, ok := byPreKey[r]; ok {
			r = lt
		}
		out[i] = r
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// RewrapCase wraps every key of a case this device holds, at every epoch,
// again to the recipients the case's membership and the roster name now,
// whether or not they changed: what a supervisor does when a laptop says a
// key was sent to a pre-key it had deleted (ErrKeyringExpired). It returns
// the number of keyrings written.
func (v *Vault) RewrapCase(caseID string) (int, error) {
	me, ok := v.me(v.Roster())
	if !ok {
		return 0, fmt.Errorf("%w: this laptop is not on the agency's roster", ErrNotAllowed)
	}
	n := 0
	err := v.Update(func(tx *Tx) error {
		n = 0
		latest := tx.keys.Latest(caseID)
		if latest == nil {
			return fmt.Errorf("%w: case %s", ErrNoKey, caseID)
		}
		ms, err := tx.memberships(caseID)
		if err != nil {
			return err
		}
		for e := uint32(1); e <= latest.Epoch; e++ {
			key, cur := tx.keys.Get(caseID, e), ms[e]
			if key == nil || cur.Team == "" {
				continue
			}
			next := cur
			next.Salt = nil
			w := trust.Write{CaseID: caseID, Kind: record.KindKeyring, Generation: 2, Device: v.deviceID, Seq: tx.peekSeq()}
			if err := trust.MayWriteKeyring(me, w, &cur, next); err != nil {
				return err
			}
			if err := tx.writeKeyring(key, next); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// noteUnopenable records a keyring, accepted as signed by a device allowed
// to write it, that names this laptop among its recipients' devices but
// that none of its keys opens, once a pre-key of it has expired: a keyring
// that only the expired pre-key opened (a laptop offline for longer than
// the backup retention wrapped to it). It is never silently lost: the
// laptop says so (UnopenableKeyrings) until the case's key reaches it
// another way.
func (tx *Tx) noteUnopenable(rev *record.Revision, kb sealed.Keyring) error {
	b := tx.btx.Bucket(bucketPreKeys)
	if b == nil || tx.roster == nil {
		return nil
	}
	if k, _ := b.Cursor().Seek([]byte{'x'}); k == nil || k[0] != 'x' {
		return nil // no pre-key expired: the keyring was never meant for this laptop's keys
	}
	me, ok := tx.roster.Writer(tx.v.deviceID)
	if !ok || !slices.Contains(trust.Recipients(tx.roster, kb.Membership), tx.roster.RecipientOf(me.Device)) {
		return nil // not addressed to this laptop's user
	}
	js, _ := json.Marshal(UnopenableKeyring{CaseID: rev.CaseID, Epoch: kb.Epoch, Rev: rev.Rev.String(), Writer: rev.Device, Seen: tx.v.wallClock().UTC()})
	return tx.putLocal(fmt.Sprintf("%s%s/%d", lostPrefix, rev.CaseID, kb.Epoch), js)
}

// UnopenableKeyring is a case key sent to this laptop that it can no longer
// open: it was wrapped to a pre-key this laptop had deleted (its sender had
// not synced for longer than the backup retention). Nothing of the case is
// lost on the server: a supervisor re-keys the case (or any member's laptop
// that syncs rewraps it), and the key reaches this laptop again.
type UnopenableKeyring struct {
	CaseID string    `json:"case_id"`
	Epoch  uint32    `json:"epoch"`
	Rev    string    `json:"rev"`
	Writer string    `json:"writer"` // the device that wrapped it
	Seen   time.Time `json:"seen"`
}

// ErrKeyringExpired means a case key was wrapped to a pre-key this laptop
// has already deleted.
var ErrKeyringExpired = errors.New("a case key was sent to a key this laptop has deleted after the backup-retention period")

// UnopenableKeyrings lists the keyrings sent to this laptop that it can no
// longer open (noteUnopenable), leaving out those whose key reached it since.
func (v *Vault) UnopenableKeyrings() ([]UnopenableKeyring, error) {
	all, err := v.Locals(lostPrefix)
	if err != nil {
		return nil, err
	}
	var out []UnopenableKeyring
	err = v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		for _, js := range all {
			var u UnopenableKeyring
			if json.Unmarshal(js, &u) != nil {
				return fmt.Errorf("%w: a note of an unopenable keyring", ErrCorrupt)
			}
			if keys.Get(u.CaseID, u.Epoch) == nil {
				out = append(out, u)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b UnopenableKeyring) int {
		return strings.Compare(fmt.Sprintf("%s/%010d", a.CaseID, a.Epoch), fmt.Sprintf("%s/%010d", b.CaseID, b.Epoch))
	})
	return out, err
}

// PreKeys lists this device's pre-keys, held and expired, by version.
func (v *Vault) PreKeys() ([]PreKeyInfo, error) {
	var out []PreKeyInfo
	r := v.Roster()
	err := v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(btx *bolt.Tx) error {
			for _, prefix := range []byte{'k', 'x'} {
				recs, err := readPreKeys(btx, v.vaultID, vk, prefix)
				if err != nil {
					return err
				}
				for _, p := range recs {
					info := PreKeyInfo{Version: p.Version, Recipient: p.Recipient, Fingerprint: crypto.Fingerprint(p.Recipient),
						Created: p.Created, Superseded: p.Superseded, Expired: p.Expired}
					if r != nil {
						info.Published = r.PreKeys[v.deviceID].Version >= p.Version
					}
					out = append(out, info)
				}
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b PreKeyInfo) int { return cmpUint(a.Version, b.Version) })
	return out, err
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// RotatePreKey returns the pre-key statement this device should publish
// now, if any: its newest pre-key when the roster does not hold it yet (the
// server did not take it, or withheld it: sent again), else a new pre-key
// when the newest is older than every (or there is none). Not before this
// device is on the roster. The new secret is kept in the vault before its
// statement leaves it, so a lost answer never strands a published pre-key.
func (v *Vault) RotatePreKey(every time.Duration) (trust.Signed, bool, error) {
	r := v.Roster()
	if _, ok := v.me(r); !ok {
		return trust.Signed{}, false, nil
	}
	now := v.wallClock().UTC().Truncate(time.Second)
	var out trust.Signed
	fresh := false
	err := v.Update(func(tx *Tx) error {
		held, err := readPreKeys(tx.btx, v.vaultID, tx.vaultKey, 'k')
		if err != nil {
			return err
		}
		expired, err := readPreKeys(tx.btx, v.vaultID, tx.vaultKey, 'x')
		if err != nil {
			return err
		}
		onRoster := r.PreKeys[v.deviceID].Version
		if len(held) > 0 {
			newest := held[len(held)-1]
			if newest.Version > onRoster {
				out, fresh = newest.Statement, true
				return nil
			}
			if newest.Version == onRoster && now.Sub(newest.Created) < every {
				return nil
			}
		}
		version := onRoster
		for _, p := range append(held, expired...) {
			version = max(version, p.Version)
		}
		version++
		pk, err := crypto.NewPreKey()
		if err != nil {
			return err
		}
		out = trust.SignAsDevice(v.deviceID, tx.v.id.Sign, trust.Statement{Kind: trust.KindPreKey, Issued: now,
			Device: v.deviceID, Recipient: pk.Recipient(), Version: version})
		fresh = true
		return tx.putPreKey('k', preKeyRecord{Version: version, Secret: pk.Secret(), Recipient: pk.Recipient(), Created: now, Statement: out})
	})
	return out, fresh, err
}

// ExpirePreKeys notes which of this device's pre-keys a newer one on the
// roster has replaced (from now), and deletes the secret of every one
// replaced at least retain ago, then zeroes the file's free pages so that
// its bytes do not stay in them. Before deleting, it tries the expiring
// pre-keys on every keyring the vault holds whose key it lacks, so that no
// case key this vault was given is lost with them. The caller calls it
// only when this device holds every keyring the server's log holds for it
// (a clean round: sync/client). It returns how many secrets it deleted.
func (v *Vault) ExpirePreKeys(retain time.Duration) (int, error) {
	r := v.Roster()
	if r == nil {
		return 0, nil
	}
	current := r.PreKeys[v.deviceID].Version
	now := v.wallClock().UTC()
	n := 0
	err := v.Update(func(tx *Tx) error {
		n = 0
		held, err := readPreKeys(tx.btx, v.vaultID, tx.vaultKey, 'k')
		if err != nil {
			return err
		}
		var expiring []preKeyRecord
		for _, p := range held {
			if p.Version >= current {
				continue
			}
			if p.Superseded.IsZero() {
				p.Superseded = now
				if err := tx.putPreKey('k', p); err != nil {
					return err
				}
			}
			if now.Sub(p.Superseded) >= retain {
				expiring = append(expiring, p)
			}
		}
		if len(expiring) == 0 {
			return nil
		}
		if err := tx.sweepKeyrings(); err != nil {
			return err
		}
		b := tx.btx.Bucket(bucketPreKeys)
		for _, p := range expiring {
			if err := b.Delete(preKeyKey('k', p.Version)); err != nil {
				return err
			}
			note := p
			note.Secret, note.Expired = "", now
			if err := tx.putPreKey('x', note); err != nil {
				return err
			}
			n++
		}
		tx.preKeys, tx.preKeysRead = nil, false
		// The freed pages held the sealed secrets: zeroed after the commit.
		return tx.btx.Bucket(bucketMeta).Put(metaScrub, []byte{1})
	})
	if err != nil || n == 0 {
		return n, err
	}
	if _, err := v.scrubOwed(); err != nil && !errors.Is(err, ErrScrubBusy) {
		return n, err
	}
	return n, nil // a busy vault has its pages zeroed at the next expiry or destruction
}

// sweepKeyrings unwraps, with every key this vault holds, each stored
// keyring revision of an epoch whose key it lacks: a case key given to this
// laptop but not taken (it arrived before the laptop held the pre-key's
// statement, say) is taken now, before a pre-key goes.
func (tx *Tx) sweepKeyrings() error {
	revs := tx.btx.Bucket(bucketRevs)
	if revs == nil {
		return nil
	}
	c := revs.Cursor()
	for k, val := c.First(); k != nil; k, val = c.Next() {
		caseID, rest, ok := splitRecordKey(k)
		if !ok || !strings.HasPrefix(rest, caseID+".k") {
			continue
		}
		rev, _, err := record.UnmarshalRevision(val)
		if err != nil || rev.Kind != record.KindKeyring {
			continue
		}
		kb, err := sealed.DecodeKeyring(rev.Body)
		if err != nil || tx.keys.Get(caseID, kb.Epoch) != nil {
			continue
		}
		key, err := tx.unwrapKeyring(caseID, kb)
		if err != nil {
			continue
		}
		tx.keys.Add(key)
		tx.keyringDirty = true
		if tx.newKeyCases == nil {
			tx.newKeyCases = map[string]bool{}
		}
		tx.newKeyCases[caseID] = true
	}
	return nil
}

// UnwrapKeyring opens a keyring record's body (as stored on a server, or in
// a server backup) with every key this vault holds: the device identity
// and its pre-keys. crypto.ErrNotRecipient when none opens it.
func (v *Vault) UnwrapKeyring(caseID string, body []byte) (*crypto.CaseKey, error) {
	kb, err := sealed.DecodeKeyring(body)
	if err != nil {
		return nil, err
	}
	var key *crypto.CaseKey
	err = v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(btx *bolt.Tx) error {
			tx := &Tx{v: v, btx: btx, vaultKey: vk}
			var err error
			key, err = tx.unwrapKeyring(caseID, kb)
			return err
		})
	})
	return key, err
}
