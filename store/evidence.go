package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/transparency"
)

// What the vault keeps of the server's transparency log: the log's public
// key (pinned at enrolment, or at the first sync that meets a log), the
// last checkpoint this device checked, the server's signed receipts for
// what this device pushed, each revision's log index, and up to where each
// case's audit chain of this device was anchored in the log.
var (
	bucketReceipts = []byte("receipts") // revKey → receipt (JSON)
	bucketLogIndex = []byte("logindex") // rev id → index (uvarint)
	bucketAnchored = []byte("anchored") // case id → last anchored audit seq (8 bytes)
	metaLogKey     = []byte("log-key")
	metaLogKeyTag  = []byte("log-key-tag")
	syncCheckpoint = []byte("checkpoint")
)

// ErrLogKeyMismatch means the server presents another log key than the one
// this vault pinned: its past checkpoints cannot be checked against it.
var ErrLogKeyMismatch = errors.New("the server presents another log key than the one this laptop pinned")

// PinLogKey records the log's public key. The same key again is harmless;
// another is ErrLogKeyMismatch.
func (v *Vault) PinLogKey(vkey string) error {
	if vkey == "" {
		return fmt.Errorf("%w: empty log key", crypto.ErrMalformed)
	}
	return v.Update(func(tx *Tx) error {
		m := tx.btx.Bucket(bucketMeta)
		if cur := m.Get(metaLogKey); cur != nil {
			if string(cur) != vkey {
				return ErrLogKeyMismatch
			}
			return nil
		}
		if err := m.Put(metaLogKey, []byte(vkey)); err != nil {
			return err
		}
		return m.Put(metaLogKeyTag, tx.mac().tag("log-key", []byte(vkey)))
	})
}

// LogKey is the pinned log key, or "" (none pinned, vault locked, or the
// pin does not authenticate).
func (v *Vault) LogKey() string {
	var k string
	v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(tx *bolt.Tx) error {
			mb := tx.Bucket(bucketMeta)
			b := mb.Get(metaLogKey)
			if b != nil && newVaultMAC(vk).verify(mb.Get(metaLogKeyTag), "log-key", b) {
				k = string(b)
			}
			return nil
		})
	})
	return k
}

// Checkpoint is the last checkpoint of the log this device checked (nil
// before the first).
func (v *Vault) Checkpoint() (transparency.Signed, error) {
	var s transparency.Signed
	err := v.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketSync); b != nil && b.Get(syncCheckpoint) != nil {
			s = bytes.Clone(b.Get(syncCheckpoint))
		}
		return nil
	})
	return s, err
}

// SetCheckpoint keeps a checkpoint the device checked (consistent with the
// one before, signed by the pinned log key).
func (v *Vault) SetCheckpoint(s transparency.Signed) error {
	return v.Update(func(tx *Tx) error {
		b, err := syncBucket(tx.btx)
		if err != nil {
			return err
		}
		return b.Put(syncCheckpoint, s)
	})
}

// Logged ties a revision to its log index, and to the server's receipt
// when this device pushed it.
type Logged struct {
	CaseID, RecordID string
	Rev              record.RevID
	Index            int64
	Receipt          *transparency.Receipt
}

// PutLogged keeps revisions' log indexes, once checked against the log
// (the rules read them: a revoked device's revision stands only if it was
// logged before the revocation), and receipts.
func (v *Vault) PutLogged(ls []Logged) error {
	if len(ls) == 0 {
		return nil
	}
	return v.Update(func(tx *Tx) error {
		ib, err := tx.btx.CreateBucketIfNotExists(bucketLogIndex)
		if err != nil {
			return err
		}
		rb, err := tx.btx.CreateBucketIfNotExists(bucketReceipts)
		if err != nil {
			return err
		}
		pb, err := tx.btx.CreateBucketIfNotExists(bucketLogRev)
		if err != nil {
			return err
		}
		for _, l := range ls {
			if err := ib.Put(l.Rev[:], binary.AppendUvarint(nil, uint64(l.Index))); err != nil {
				return err
			}
			if err := pb.Put(u64(uint64(l.Index)), l.Rev[:]); err != nil {
				return err
			}
			if l.Receipt != nil {
				js, err := json.Marshal(l.Receipt)
				if err != nil {
					return err
				}
				if err := rb.Put(revKey(l.CaseID, l.RecordID, l.Rev), js); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// logIndex is a revision's checked place in the log, or -1.
func (tx *Tx) logIndex(rev record.RevID) int64 {
	if b := tx.btx.Bucket(bucketLogIndex); b != nil {
		if x, w := binary.Uvarint(b.Get(rev[:])); w > 0 {
			return int64(x)
		}
	}
	return -1
}

// LogIndex is a revision's index in the log, when known.
func (v *Vault) LogIndex(rev record.RevID) (int64, bool) {
	var n int64
	ok := false
	v.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketLogIndex); b != nil {
			if x, w := binary.Uvarint(b.Get(rev[:])); w > 0 {
				n, ok = int64(x), true
			}
		}
		return nil
	})
	return n, ok
}

// Receipt is a receipt kept for a revision of a case.
type Receipt struct {
	RecordID string `json:"record_id"`
	transparency.Receipt
}

// Receipts lists the server's receipts for a case's revisions this device
// pushed, oldest first.
func (v *Vault) Receipts(caseID string) ([]Receipt, error) {
	var out []Receipt
	prefix := []byte(caseID + "/")
	err := v.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReceipts)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, js := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, js = c.Next() {
			_, recordID, _ := splitRecordKey(k[:len(k)-33])
			var r Receipt
			if err := json.Unmarshal(js, &r.Receipt); err != nil {
				return fmt.Errorf("%w: receipt: %v", ErrCorrupt, err)
			}
			r.RecordID = recordID
			out = append(out, r)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Receipt) int { return a.Time.Compare(b.Time) })
	return out, err
}

// AuditHead is the head of this device's audit chain in a case.
type AuditHead struct {
	CaseID string
	Seq    uint64
	Hash   [32]byte
}

// AuditHeadsToAnchor lists the cases whose audit chain of this device moved
// since it was last anchored in the log.
func (v *Vault) AuditHeadsToAnchor() ([]AuditHead, error) {
	var out []AuditHead
	err := v.view(func(tx *bolt.Tx) error {
		chain := tx.Bucket(bucketAuditChain)
		if chain == nil {
			return nil
		}
		anchored := tx.Bucket(bucketAnchored)
		return chain.ForEach(func(k, head []byte) error {
			if len(head) <= 8 {
				return nil
			}
			seq := binary.BigEndian.Uint64(head)
			if anchored != nil {
				if a := anchored.Get(k); len(a) == 8 && binary.BigEndian.Uint64(a) >= seq {
					return nil
				}
			}
			h, err := hex.DecodeString(strings.TrimSpace(string(head[8:])))
			if err != nil || len(h) != 32 {
				return nil // not a hash this vault wrote: nothing to anchor
			}
			out = append(out, AuditHead{CaseID: string(k), Seq: seq, Hash: [32]byte(h)})
			return nil
		})
	})
	return out, err
}

// MarkAnchored records that the log holds these audit heads.
func (v *Vault) MarkAnchored(hs []AuditHead) error {
	if len(hs) == 0 {
		return nil
	}
	return v.Update(func(tx *Tx) error {
		b, err := tx.btx.CreateBucketIfNotExists(bucketAnchored)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if err := b.Put([]byte(h.CaseID), u64(h.Seq)); err != nil {
				return err
			}
		}
		return nil
	})
}
