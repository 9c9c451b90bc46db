package store

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/record"
)

// bucketAuditChain holds, per case, this device's audit chain head: the
// last sequence number and the hash of the last event. It moves in the same
// transaction as the event, so the chain has no gaps of its own making.
var bucketAuditChain = []byte("auditchain")

// Audit records an access to a case (open, export, membership change…) as
// a signed, hash-chained, append-only event. Audit events sync like any
// record, and exist offline too.
func (v *Vault) Audit(caseID, action, detail string) error {
	return v.Update(func(tx *Tx) error { return tx.Audit(caseID, action, detail) })
}

// Audit records an access to a case in this transaction.
func (tx *Tx) Audit(caseID, action, detail string) error {
	if _, ok, err := tx.reassignment(caseID); err != nil || ok {
		// The server refuses every write of a removed member, audit
		// events too: an access to the copy kept here cannot reach the
		// case's trail (ARCHITECTURE.md, "A case taken away").
		return err
	}
	b, err := tx.btx.CreateBucketIfNotExists(bucketAuditChain)
	if err != nil {
		return err
	}
	var seq uint64
	prev := ""
	if head := b.Get([]byte(caseID)); len(head) > 8 {
		seq, prev = binary.BigEndian.Uint64(head), string(head[8:])
	}
	e := record.AuditEvent{Action: action, Detail: detail, At: time.Now().UTC().Truncate(time.Millisecond),
		Actor: tx.v.profile.Name, Device: tx.v.deviceID, Seq: seq + 1, Prev: prev}
	if e.Actor == "" {
		e.Actor = tx.v.profile.UserID
	}
	e.Sign(tx.v.id.Sign)
	if _, err := tx.Put(Change{Kind: record.KindAudit, CaseID: caseID, Value: &e}); err != nil {
		return err
	}
	return b.Put([]byte(caseID), append(binary.BigEndian.AppendUint64(nil, e.Seq), e.Hash()...))
}

// AuditEvents lists the audit events of a case this device holds, oldest
// first: its access history.
func (v *Vault) AuditEvents(caseID string) ([]record.AuditEvent, error) {
	items, err := v.AuditItems(caseID)
	out := make([]record.AuditEvent, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	return out, err
}

// AuditItems is AuditEvents with the revision each event came in (for a
// court bundle, which names every event's signed revision), in the same
// order.
func (v *Vault) AuditItems(caseID string) ([]Item[record.AuditEvent], error) {
	items, err := items[record.AuditEvent](v, caseID, record.KindAudit)
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(items, func(it Item[record.AuditEvent]) bool { return it.Sealed || it.Value.Device == "" })
	slices.SortFunc(out, func(a, b Item[record.AuditEvent]) int {
		return cmp.Or(a.Value.At.Compare(b.Value.At), cmp.Compare(a.Value.Device, b.Value.Device), cmp.Compare(a.Value.Seq, b.Value.Seq))
	})
	return out, nil
}

// AuditProblem is a break in a chain, in a case.
type AuditProblem struct {
	CaseID string
	record.ChainProblem
}

// VerifyAudit checks every audit chain this vault holds (per device and
// case): no gaps, each event linked to the one before, each signature valid
// for the device's key in keys (a device whose key is unknown here has its
// links checked but not its signatures). It returns the problems and how
// many events it checked.
func (v *Vault) VerifyAudit(keys map[string]ed25519.PublicKey) ([]AuditProblem, int, error) {
	cases, err := v.caseIDs()
	if err != nil {
		return nil, 0, err
	}
	if id, err := v.Identity(); err == nil {
		keys[v.deviceID] = id.SigningPublicKey()
	}
	var problems []AuditProblem
	n := 0
	for _, c := range cases {
		events, err := v.AuditEvents(c)
		if err != nil {
			return nil, 0, err
		}
		n += len(events)
		byDevice := map[string][]record.AuditEvent{}
		for _, e := range events {
			byDevice[e.Device] = append(byDevice[e.Device], e)
		}
		for dev, es := range byDevice {
			for _, p := range record.CheckChain(es, keys[dev]) {
				if p.Device == "" {
					p.Device = dev
				}
				problems = append(problems, AuditProblem{CaseID: c, ChainProblem: p})
			}
		}
	}
	return problems, n, nil
}

func (v *Vault) caseIDs() ([]string, error) {
	var ids []string
	err := v.read(func(ws *workingSet) error {
		for id := range ws.cases {
			ids = append(ids, id)
		}
		return nil
	})
	slices.Sort(ids)
	return ids, err
}

// Deletion is a signed tombstone in a case: who deleted which record, when.
type Deletion struct {
	RecordID string       `json:"record_id"`
	Kind     record.Kind  `json:"kind"`
	Device   string       `json:"device"`
	At       time.Time    `json:"at"` // the writer's hybrid clock
	Rev      record.RevID `json:"rev"`
}

// Deletions lists the tombstones of a case this vault holds (every one was
// signed by its device and checked against its writer's right), oldest
// first: deletions are part of a case's audit trail.
func (v *Vault) Deletions(caseID string) ([]Deletion, error) {
	var out []Deletion
	prefix := []byte(caseID + "/")
	err := v.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRevs).Cursor()
		for k, b := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, b = c.Next() {
			r, _, err := record.UnmarshalRevision(b)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			if r.Deleted {
				out = append(out, Deletion{RecordID: r.RecordID, Kind: r.Kind, Device: r.Device, At: r.HLC.Time(), Rev: r.Rev})
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Deletion) int { return a.At.Compare(b.At) })
	return out, err
}
