package store

import (
	"crypto/sha256"
	"encoding/json"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

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

// ExtendKeyrings makes every case key this device holds (at its newest
// epoch) readable by recipients as well as by this device: it sets them as
// the key recipients of new cases and writes a new keyring revision for each
// case whose key was wrapped to another set. It is how enrolling extends
// existing cases to the team's supervisors and the agency recovery
// recipient, and how a new supervisor device gets the keys. It returns the
// number of keyrings written.
func (v *Vault) ExtendKeyrings(recipients []string) (int, error) {
	if err := v.SetKeyRecipients(recipients); err != nil {
		return 0, err
	}
	if !v.keyringsBehind() {
		return 0, nil // nothing to rewrap: no transaction, no fsync
	}
	n := 0
	err := v.Update(func(tx *Tx) error {
		all, err := tx.recipients()
		if err != nil {
			return err
		}
		want := recipientsHash(all)
		wb := tx.btx.Bucket(bucketWrapped)
		if wb == nil {
			if wb, err = tx.btx.CreateBucket(bucketWrapped); err != nil {
				return err
			}
		}
		tx.v.mu.RLock()
		var cases []string
		if tx.v.ws != nil {
			for id, m := range tx.v.ws.cases {
				if e := m[id]; e != nil && e.kind == record.KindCase {
					cases = append(cases, id)
				}
			}
		}
		tx.v.mu.RUnlock()
		slices.Sort(cases)
		for _, caseID := range cases {
			key := tx.keys.Latest(caseID)
			if key == nil || slices.Equal(wb.Get([]byte(caseID)), want) {
				continue
			}
			wrapped, err := crypto.WrapKey(key, all...)
			if err != nil {
				return err
			}
			id := record.KeyringID(caseID, key.Epoch)
			e, err := tx.heads(caseID, id)
			if err != nil {
				return err
			}
			parents := make([]record.RevID, len(e.Heads))
			for i, h := range e.Heads {
				parents[i] = h.Rev
			}
			if _, err := tx.Put(Change{Kind: record.KindKeyring, CaseID: caseID, RecordID: id, Parents: parents,
				raw: keyringBody{Epoch: key.Epoch, Wrapped: wrapped}.marshal()}); err != nil {
				return err
			}
			if err := wb.Put([]byte(caseID), want); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// keyringsBehind reports whether some case key this device holds is wrapped
// to another recipient set than the current one.
func (v *Vault) keyringsBehind() bool {
	behind := true // when unsure, let ExtendKeyrings look
	v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		v.mu.RLock()
		var cases []string
		if v.ws != nil {
			for id, m := range v.ws.cases {
				if e := m[id]; e != nil && e.kind == record.KindCase && keys.Latest(id) != nil {
					cases = append(cases, id)
				}
			}
		}
		v.mu.RUnlock()
		return v.view(func(btx *bolt.Tx) error {
			rs := []string{v.id.Recipient()}
			if b := btx.Bucket(bucketMeta).Get(metaKeyRecipients); b != nil {
				var extra []string
				if json.Unmarshal(b, &extra) != nil {
					return nil
				}
				rs = append(rs, extra...)
			}
			want := recipientsHash(rs)
			wb := btx.Bucket(bucketWrapped)
			behind = false
			for _, c := range cases {
				if wb == nil || !slices.Equal(wb.Get([]byte(c)), want) {
					behind = true
					return nil
				}
			}
			return nil
		})
	})
	return behind
}
