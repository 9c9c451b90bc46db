package store

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/trust"
)

// The sync state lives in its own bucket: the server this vault is enrolled
// with, the device token (sealed under the vault key), the pull cursor, and
// revisions the server refused for good (shown to the user, never retried).

var (
	bucketSync     = []byte("sync")
	syncConfig     = []byte("config")
	syncToken      = []byte("token")
	syncCursor     = []byte("cursor")
	syncLast       = []byte("last")
	syncRoster     = []byte("roster")
	bucketRejected = []byte("rejected")
)

// ErrNotEnrolled means the vault has no server to sync with.
var ErrNotEnrolled = errors.New("this device is not enrolled with a case server")

// SyncConfig is what a device knows of its server.
type SyncConfig struct {
	Server      string     `json:"server"`      // base URL
	Fingerprint string     `json:"fingerprint"` // pinned SHA-256 of the server certificate ("" with a CA-issued one)
	ServerID    string     `json:"server_id"`
	UserID      string     `json:"user_id"`
	UserName    string     `json:"user_name"`
	Role        trust.Role `json:"role"`
	Team        string     `json:"team"`
	Enrolled    time.Time  `json:"enrolled"`
	Token       string     `json:"-"` // sealed separately
}

func syncBucket(tx *bolt.Tx) (*bolt.Bucket, error) {
	if b := tx.Bucket(bucketSync); b != nil {
		return b, nil
	}
	if !tx.Writable() {
		return nil, nil
	}
	return tx.CreateBucket(bucketSync)
}

// SetSyncConfig stores the enrolment, the token sealed under the vault key.
func (v *Vault) SetSyncConfig(c SyncConfig) error {
	js, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return v.Update(func(tx *Tx) error {
		b, err := syncBucket(tx.btx)
		if err != nil {
			return err
		}
		if err := b.Put(syncConfig, js); err != nil {
			return err
		}
		return b.Put(syncToken, crypto.Seal(tx.vaultKey, tokenPlace(tx.v.vaultID, js), []byte(c.Token)))
	})
}

// SyncConfig returns the enrolment, or ErrNotEnrolled.
func (v *Vault) SyncConfig() (SyncConfig, error) {
	var c SyncConfig
	err := v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketSync)
			if b == nil || b.Get(syncConfig) == nil {
				return ErrNotEnrolled
			}
			if err := json.Unmarshal(b.Get(syncConfig), &c); err != nil {
				return fmt.Errorf("%w: sync config: %v", ErrCorrupt, err)
			}
			tok, err := crypto.Open(vk, tokenPlace(v.vaultID, b.Get(syncConfig)), b.Get(syncToken))
			if err != nil {
				return fmt.Errorf("%w: sync token", ErrCorrupt)
			}
			c.Token = string(tok)
			return nil
		})
	})
	return c, err
}

// Enrolled reports whether the vault has a server, without unlocking.
func (v *Vault) Enrolled() bool {
	ok := false
	v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSync)
		ok = b != nil && b.Get(syncConfig) != nil
		return nil
	})
	return ok
}

// Cursor is the pull cursor ("" before the first pull).
func (v *Vault) Cursor() (string, error) {
	var c string
	var bad []Damage
	err := v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(tx *bolt.Tx) error {
			c, bad = readCursor(tx, v, vk)
			return nil
		})
	})
	v.markDamaged(bad...)
	return c, err
}

// PageResult says what applying a pulled page did.
type PageResult struct {
	New         int // revisions this vault did not have
	Skipped     int // revisions refused as invalid here (kept out, counted)
	Quarantined int // revisions whose signature or right to write did not hold: kept aside, shown
	Destroyed   int // revisions of cases destroyed under the retention policy: the server should hold none
}

// ApplyPage stores a pulled page and its new cursor in one transaction, and
// clears outbox entries up to ackedSeq (the server holds them): a page is
// applied and remembered together or not at all. Applying a page twice is
// harmless.
func (v *Vault) ApplyPage(revs []*record.Revision, cursor string, ackedSeq uint64) (PageResult, error) {
	var res PageResult
	// Signatures are checked first, on every core, outside the write lock:
	// they are most of a pulled page's cost.
	var pre map[*record.Revision]bool
	if r := v.Roster(); r != nil {
		ok := record.VerifySigs(revs, func(rev *record.Revision) ed25519.PublicKey {
			if d, found := r.Devices[rev.Device]; found {
				return d.SigningKey
			}
			return nil
		})
		pre = make(map[*record.Revision]bool, len(revs))
		for i, rev := range revs {
			pre[rev] = ok[i]
		}
	}
	err := v.Update(func(tx *Tx) error {
		res = PageResult{}
		tx.sigs = pre
		// A revision can arrive before what authorises it (a note before
		// the keyring that names its writer a member): what fails is tried
		// again after the rest of the page, until nothing more applies.
		pending := revs
		for len(pending) > 0 {
			var refused []*record.Revision
			var lastErr []error
			for _, r := range pending {
				if tx.btx.Bucket(bucketRevs).Get(revKey(r.CaseID, r.RecordID, r.Rev)) != nil {
					continue // applied before: a rewound or repeated page
				}
				if tx.roster != nil && tx.roster.Retention.Destroyed[r.CaseID].Case != "" {
					res.Destroyed++ // a destroyed case: never applied, counted (destroy.go)
					continue
				}
				if err := r.Validate(); err != nil {
					res.Skipped++
					continue
				}
				if err := tx.check(r, tx.roster); err != nil {
					if !errors.Is(err, ErrQuarantined) {
						return err
					}
					refused = append(refused, r)
					lastErr = append(lastErr, err)
					continue
				}
				isNew, err := tx.Apply(r)
				if errors.Is(err, record.ErrInvalid) || errors.Is(err, ErrDamaged) {
					// A revision this vault cannot take (it would change a
					// record's kind, or its record is damaged here and named
					// in Damaged) must not block the pages after it.
					res.Skipped++
					continue
				}
				if err != nil {
					return err
				}
				if isNew {
					res.New++
				}
			}
			if len(refused) == len(pending) {
				gone := 0
				for i, r := range refused {
					if tx.removedHere(r.CaseID) {
						// A case whose copy was removed from this laptop
						// (it was reassigned): what still arrives of it
						// (the keyring that cut this user off, again)
						// lacks what it follows, and is nobody's alarm.
						res.Skipped++
						gone++
						continue
					}
					if err := tx.quarantine(r, lastErr[i]); err != nil {
						return err
					}
				}
				res.Quarantined = len(refused) - gone
				break
			}
			pending = refused
		}
		b, err := syncBucket(tx.btx)
		if err != nil {
			return err
		}
		if err := putCursor(b, tx.mac(), cursor); err != nil {
			return err
		}
		if ackedSeq > 0 {
			return tx.Acknowledge(ackedSeq)
		}
		return nil
	})
	return res, err
}

// ResetCursor forgets the pull cursor (after the server says 410 Gone): the
// next pull starts from the beginning; the outbox is kept.
func (v *Vault) ResetCursor() error {
	return v.Update(func(tx *Tx) error {
		b, err := syncBucket(tx.btx)
		if err != nil {
			return err
		}
		return b.Delete(syncCursor)
	})
}

// Acknowledge clears outbox entries the server holds: all up to upTo and
// the listed sequence numbers.
func (v *Vault) Acknowledge(upTo uint64, seqs ...uint64) error {
	return v.Update(func(tx *Tx) error { return tx.Acknowledge(upTo, seqs...) })
}

// Rejection is a revision the server refused for good.
type Rejection struct {
	Rev      record.RevID `json:"rev"`
	RecordID string       `json:"record_id"`
	CaseID   string       `json:"case_id"`
	Kind     record.Kind  `json:"kind"`
	Reason   string       `json:"reason"`
	At       time.Time    `json:"at"`
}

// Reject acknowledges permanently refused revisions (they leave the outbox:
// they must not block what follows) and keeps them to show the user.
func (v *Vault) Reject(rs []Rejection, seqs []uint64) error {
	return v.Update(func(tx *Tx) error {
		b := tx.btx.Bucket(bucketRejected)
		if b == nil {
			var err error
			if b, err = tx.btx.CreateBucket(bucketRejected); err != nil {
				return err
			}
		}
		for _, r := range rs {
			js, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := b.Put(r.Rev[:], js); err != nil {
				return err
			}
		}
		return tx.Acknowledge(0, seqs...)
	})
}

// Rejections lists revisions the server refused for good, newest first.
func (v *Vault) Rejections() ([]Rejection, error) {
	var out []Rejection
	err := v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRejected)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, js []byte) error {
			var r Rejection
			if err := json.Unmarshal(js, &r); err != nil {
				return fmt.Errorf("%w: rejection: %v", ErrCorrupt, err)
			}
			out = append(out, r)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Rejection) int { return b.At.Compare(a.At) })
	return out, err
}

// SetLastSync records when a sync round last succeeded.
func (v *Vault) SetLastSync(t time.Time) error {
	return v.Update(func(tx *Tx) error {
		b, err := syncBucket(tx.btx)
		if err != nil {
			return err
		}
		tb, _ := t.UTC().MarshalText()
		return b.Put(syncLast, tb)
	})
}

// LastSync is when a sync round last succeeded (zero if never).
func (v *Vault) LastSync() time.Time {
	var t time.Time
	v.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketSync); b != nil {
			t.UnmarshalText(b.Get(syncLast))
		}
		return nil
	})
	return t
}

var syncRosterVersion = []byte("roster-version")

// RosterVersion is the server's roster version when keyrings were last
// brought up to date (0: never).
func (v *Vault) RosterVersion() uint64 {
	var n uint64
	v.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketSync); b != nil && len(b.Get(syncRosterVersion)) == 8 {
			n = binary.BigEndian.Uint64(b.Get(syncRosterVersion))
		}
		return nil
	})
	return n
}

// SetRosterVersion records the roster version keyrings now follow.
func (v *Vault) SetRosterVersion(n uint64) error {
	return v.Update(func(tx *Tx) error {
		b, err := syncBucket(tx.btx)
		if err != nil {
			return err
		}
		return b.Put(syncRosterVersion, u64(n))
	})
}

// HasRevision reports whether the vault holds rev.
func (v *Vault) HasRevision(caseID, recordID string, rev record.RevID) bool {
	ok := false
	v.view(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketRevs).Get(revKey(caseID, recordID, rev)) != nil
		return nil
	})
	return ok
}

// DeviceRevisions lists every revision this device wrote, in sequence order
// (parents before children): what to offer a server restored from backup.
func (v *Vault) DeviceRevisions() ([]*record.Revision, error) {
	var out []*record.Revision
	err := v.AllRevisions(func(r *record.Revision) error {
		if r.Device == v.deviceID {
			c := *r
			c.Body = bytes.Clone(r.Body)
			c.Parents = slices.Clone(r.Parents)
			out = append(out, &c)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *record.Revision) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, err
}
