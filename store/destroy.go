package store

import (
	"bytes"
	"encoding/json"
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

// Destruction under the retention policy (issue 15). A case is destroyed
// when the roster this vault verified proves it: the supervisors' signed
// approvals, as many as the agency's signed policy asks, and no legal hold
// (trust.Retention.Destroyed). Nothing the server says outside those
// statements counts. The vault then removes everything of the case — its
// revisions and heads, recording chunks, case keys (from the sealed keyring
// cache, then from memory), keyrings, drafts, changes not yet pushed,
// quarantined and refused revisions — and keeps a tombstone saying what was
// destroyed, when, under which policy and approved by whom, and nothing
// readable of the case. Unlike a reassignment, a destruction does not wait
// for unsynced changes: the case is destroyed everywhere, those included
// (the tombstone counts them).

// destroyedPrefix names a destroyed case's tombstone in device-local state.
const destroyedPrefix = "destroyed:"

// Destroyed is the tombstone of a case destroyed on this laptop. It is kept
// for good: it holds no content of the case.
type Destroyed struct {
	CaseID        string    `json:"case_id"`
	Team          string    `json:"team"`
	PolicyVersion uint64    `json:"policy_version"`
	Due           time.Time `json:"due,omitzero"`
	// Approvals are the approval statements' ids (in the roster and the
	// transparency log, signed), ApprovedBy their signers' names.
	Approvals  []string  `json:"approvals"`
	ApprovedBy []string  `json:"approved_by"`
	ApprovedAt time.Time `json:"approved_at"`
	// Removed is when this laptop removed its copy, and what it removed.
	Removed   time.Time `json:"removed"`
	Revisions int       `json:"revisions"`
	Chunks    int       `json:"chunks"`
	Unsynced  int       `json:"unsynced,omitempty"` // changes written here that never reached the server
	Drafts    int       `json:"drafts,omitempty"`
	// Probe lists the ids of the revisions removed (hashes, no content):
	// the server must hold none of them any more. ServerChecked is when it
	// last answered so; ServerHeld how many it still held when it did not.
	Probe         []record.RevID `json:"probe,omitempty"`
	ServerChecked time.Time      `json:"server_checked,omitzero"`
	ServerHeld    int            `json:"server_held,omitempty"`
}

// DestroyApproved removes the local copy of every case the roster proves
// destroyed and this vault still holds anything of, and returns their
// tombstones. A destruction whose approvals name another team than the
// case's signed keyrings is not carried out (the error names it; the rest
// are).
func (v *Vault) DestroyApproved() ([]Destroyed, error) {
	r := v.Roster()
	if r == nil || len(r.Retention.Destroyed) == 0 {
		return nil, nil
	}
	// A read pass first: a laptop that never held a case (another team's)
	// pays a prefix lookup per destroyed case, not a write transaction.
	var here []string
	err := v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		return v.view(func(btx *bolt.Tx) error {
			revs, local := btx.Bucket(bucketRevs), btx.Bucket(bucketLocal)
			for _, id := range slices.Sorted(maps.Keys(r.Retention.Destroyed)) {
				if local != nil && local.Get([]byte(destroyedPrefix+id)) != nil {
					continue // done before
				}
				held := keys.Latest(id) != nil
				if !held && revs != nil {
					k, _ := revs.Cursor().Seek([]byte(id + "/"))
					held = k != nil && bytes.HasPrefix(k, []byte(id+"/"))
				}
				if held {
					here = append(here, id)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []Destroyed
	var problems []string
	v.wmu.Lock()
	defer v.wmu.Unlock()
	for _, id := range here {
		d := r.Retention.Destroyed[id]
		var done Destroyed
		err := v.updateLocked(func(tx *Tx) error {
			if _, had, err := tx.getLocal(destroyedPrefix + id); err != nil || had {
				return err
			}
			if ms, err := tx.memberships(id); err != nil {
				return err
			} else if len(ms) > 0 {
				var top uint32
				for e := range ms {
					top = max(top, e)
				}
				if ms[top].Team != d.Team {
					problems = append(problems, fmt.Sprintf("case %s: its destruction is approved for team %s, but its signed keyrings say team %s", id, d.Team, ms[top].Team))
					return nil
				}
			}
			var err error
			done, err = tx.destroyCase(r, d)
			return err
		})
		if err != nil {
			return out, err
		}
		if done.CaseID == "" {
			continue
		}
		v.dropCaseKeys(id)
		out = append(out, done)
	}
	if len(problems) > 0 {
		return out, fmt.Errorf("%w: %s", trust.ErrNotAllowed, strings.Join(problems, "; "))
	}
	return out, nil
}

// destroyCase removes everything of a case in this transaction and leaves
// its tombstone; a case this vault holds nothing of gets none.
func (tx *Tx) destroyCase(r *trust.Roster, d trust.Destruction) (Destroyed, error) {
	caseID := d.Case
	prefix := []byte(caseID + "/")
	t := Destroyed{CaseID: caseID, Team: d.Team, PolicyVersion: d.PolicyVersion, Due: d.Due, ApprovedAt: d.At}
	for _, a := range d.Approvals {
		t.Approvals = append(t.Approvals, a.ID)
		name := r.Users[a.User].Name
		if name == "" {
			name = a.User
		}
		t.ApprovedBy = append(t.ApprovedBy, name)
	}
	if b := tx.btx.Bucket(bucketRevs); b != nil {
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			t.Probe = append(t.Probe, revFromKey(k))
		}
	}
	t.Revisions = len(t.Probe)
	// Waiting work of the case goes too: it is destroyed with the case.
	drop := func(name []byte, match func(k, v []byte) bool) (int, error) {
		b := tx.btx.Bucket(name)
		if b == nil {
			return 0, nil
		}
		var keys [][]byte
		b.ForEach(func(k, v []byte) error {
			if match(k, v) {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return 0, err
			}
		}
		return len(keys), nil
	}
	var err error
	if t.Unsynced, err = drop(bucketOutbox, func(_, rk []byte) bool { return bytes.HasPrefix(rk, prefix) }); err != nil {
		return t, err
	}
	if _, err = drop(bucketBlobOutbox, func(_, bk []byte) bool { return bytes.HasPrefix(bk, prefix) }); err != nil {
		return t, err
	}
	if b := tx.btx.Bucket(bucketBlobs); b != nil {
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			t.Chunks++
		}
	}
	if tx.vaultKey != nil {
		if t.Drafts, err = drop(bucketDrafts, func(k, sealed []byte) bool {
			plain, err := crypto.Open(tx.vaultKey, draftPlace(tx.v.vaultID, string(k)), sealed)
			if err != nil {
				return false
			}
			defer clear(plain)
			var dr Draft
			return json.Unmarshal(plain, &dr) == nil && dr.CaseID == caseID
		}); err != nil {
			return t, err
		}
	}
	held := tx.keys != nil && tx.keys.Latest(caseID) != nil
	if t.Revisions == 0 && t.Chunks == 0 && t.Drafts == 0 && !held {
		return Destroyed{}, nil // nothing of it here
	}
	// The removal a reassignment does (revisions, heads and the record
	// count, chunks, keyrings' wraps, audit chain, quarantined and refused
	// revisions, case keys from the sealed keyring cache), without its
	// tombstone: this one says more.
	if err := tx.removeCase(&Reassignment{CaseID: caseID}); err != nil {
		return t, err
	}
	if lb := tx.btx.Bucket(bucketLocal); lb != nil {
		if err := lb.Delete([]byte(tombstonePrefix + caseID)); err != nil {
			return t, err
		}
	}
	t.Removed = time.Now().UTC()
	js, err := json.Marshal(t)
	if err != nil {
		return t, err
	}
	return t, tx.putLocal(destroyedPrefix+caseID, js)
}

// Destructions lists the tombstones of cases destroyed on this laptop,
// newest first.
func (v *Vault) Destructions() ([]Destroyed, error) {
	m, err := v.Locals(destroyedPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]Destroyed, 0, len(m))
	for _, js := range m {
		var d Destroyed
		if json.Unmarshal(js, &d) == nil {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Destroyed) int { return b.Removed.Compare(a.Removed) })
	return out, nil
}

// NoteServerCheck records what the server answered about a destroyed
// case's revisions: held is how many of them it still holds.
func (v *Vault) NoteServerCheck(caseID string, held int, at time.Time) error {
	return v.Update(func(tx *Tx) error {
		js, had, err := tx.getLocal(destroyedPrefix + caseID)
		if err != nil || !had {
			return err
		}
		var d Destroyed
		if err := json.Unmarshal(js, &d); err != nil {
			return err
		}
		d.ServerChecked, d.ServerHeld = at.UTC(), held
		if js, err = json.Marshal(d); err != nil {
			return err
		}
		return tx.putLocal(destroyedPrefix+caseID, js)
	})
}

// liveCases leaves out of ids the cases the roster proves destroyed: the
// server rightly hands over nothing of them any more, so the log's entries
// of them are owed to nobody.
func liveCases(ids []string, r *trust.Roster) []string {
	if r == nil || len(r.Retention.Destroyed) == 0 {
		return ids
	}
	return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return r.Retention.Destroyed[id].Case != "" })
}
