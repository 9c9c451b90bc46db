package store

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
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
	shares, err := v.allShares()
	if err != nil {
		return 0, err
	}
	n := 0
	err = v.Update(func(tx *Tx) error {
		all, err := tx.recipients()
		if err != nil {
			return err
		}
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
			if key == nil {
				continue
			}
			set := all
			if extra := shares[caseID]; len(extra) > 0 {
				set = append(slices.Clone(all), extra...)
			}
			if slices.Equal(wb.Get([]byte(caseID)), recipientsHash(set)) {
				continue
			}
			if err := tx.writeKeyring(key, set); err != nil {
				return err
			}
			if err := wb.Put([]byte(caseID), recipientsHash(set)); err != nil {
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
	shares, err := v.allShares()
	if err != nil {
		return true
	}
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
			wb := btx.Bucket(bucketWrapped)
			behind = false
			for _, c := range cases {
				want := recipientsHash(append(slices.Clone(rs), shares[c]...))
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

// shareKey is where a case's extra recipients (beyond the roster's) are
// kept in local state: its other members' devices, typists while it waits
// for transcription. Keyring refreshes keep wrapping to them.
func shareKey(caseID string) string { return "share:" + caseID }

// ShareCaseKeys wraps every epoch of a case's key this device holds to
// recipients as well (a worker newly assigned the case needs its history),
// and remembers them for later keyring refreshes. It returns the number of
// keyrings written.
func (v *Vault) ShareCaseKeys(caseID string, recipients []string) (int, error) {
	for _, r := range recipients {
		if err := crypto.ParseRecipient(r); err != nil {
			return 0, err
		}
	}
	extra, err := v.caseShares(caseID)
	if err != nil {
		return 0, err
	}
	extra = append(extra, recipients...)
	slices.Sort(extra)
	extra = slices.Compact(extra)
	js, _ := json.Marshal(extra)
	if err := v.PutLocal(shareKey(caseID), js); err != nil {
		return 0, err
	}
	n := 0
	err = v.Update(func(tx *Tx) error {
		all, err := tx.recipients()
		if err != nil {
			return err
		}
		all = append(all, extra...)
		for e := uint32(1); ; e++ {
			key := tx.keys.Get(caseID, e)
			if key == nil {
				if tx.keys.Latest(caseID) == nil || e > tx.keys.Latest(caseID).Epoch {
					break
				}
				continue
			}
			if err := tx.writeKeyring(key, all); err != nil {
				return err
			}
			n++
		}
		return tx.markWrapped(caseID, all)
	})
	return n, err
}

// RotateCaseKey starts a new epoch for a case: a fresh key wrapped to this
// device, the roster recipients and members (the case's remaining members'
// devices), and nobody else. New writes use it at once; a member removed
// before the rotation cannot read them with the keys they held. It returns
// the new epoch.
func (v *Vault) RotateCaseKey(caseID string, members []string) (uint32, error) {
	for _, r := range members {
		if err := crypto.ParseRecipient(r); err != nil {
			return 0, err
		}
	}
	js, _ := json.Marshal(members)
	if err := v.PutLocal(shareKey(caseID), js); err != nil {
		return 0, err
	}
	var epoch uint32
	err := v.Update(func(tx *Tx) error {
		old := tx.keys.Latest(caseID)
		if old == nil {
			return fmt.Errorf("%w: case %s", ErrNoKey, caseID)
		}
		all, err := tx.recipients()
		if err != nil {
			return err
		}
		all = append(all, members...)
		key := crypto.NewCaseKey(caseID, old.Epoch+1)
		tx.keys.Add(key)
		tx.keyringDirty = true
		epoch = key.Epoch
		if err := tx.writeKeyring(key, all); err != nil {
			return err
		}
		return tx.markWrapped(caseID, all)
	})
	return epoch, err
}

// writeKeyring writes a keyring revision wrapping key to recipients,
// superseding the epoch's current keyring heads.
func (tx *Tx) writeKeyring(key *crypto.CaseKey, recipients []string) error {
	wrapped, err := crypto.WrapKey(key, recipients...)
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
	_, err = tx.Put(Change{Kind: record.KindKeyring, CaseID: key.CaseID, RecordID: id, Parents: parents,
		raw: sealed.Keyring{Epoch: key.Epoch, Wrapped: wrapped}.Marshal()})
	return err
}

// caseShares lists a case's extra recipients (see shareKey).
func (v *Vault) caseShares(caseID string) ([]string, error) {
	m, err := v.Locals(shareKey(caseID))
	if err != nil || m[shareKey(caseID)] == nil {
		return nil, err
	}
	var out []string
	return out, json.Unmarshal(m[shareKey(caseID)], &out)
}

// allShares reads every case's extra recipients.
func (v *Vault) allShares() (map[string][]string, error) {
	m, err := v.Locals("share:")
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for k, js := range m {
		var rs []string
		if json.Unmarshal(js, &rs) == nil {
			out[strings.TrimPrefix(k, "share:")] = rs
		}
	}
	return out, nil
}
