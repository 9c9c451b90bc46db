package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/scrub"
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

// ErrScrubBusy means the free pages a destruction left were not zeroed
// yet: the vault was busy (a long read, such as loading notes) for longer
// than scrubWait. They are zeroed at the next DestroyApproved.
var ErrScrubBusy = errors.New("the vault was busy: what the destruction freed is cleared at the next sync")

// scrubWait bounds how long a scrub waits for the vault's readers.
var scrubWait = 10 * time.Second

// DestroyApproved removes the local copy of every case the roster proves
// destroyed and this vault still holds anything of, and returns their
// tombstones; then it zeroes the file's free pages, so that nothing of the
// removed cases (their revisions, the sealed keyring cache that held their
// keys) stays readable in it.
//
// A destruction is not carried out (the error names it, with
// trust.ErrNotAllowed, joined with ErrScrubBusy if that happened too; the
// rest are) when its approvals name another team
// than the case's signed keyrings, or when this laptop's own copy of the
// case is not past its retention under the policy version the approvals
// name: the approvals may have been given on a copy a server kept a later
// contact or a reopening from, or by a laptop made to lie. Holds are
// already in the roster's judgement. A laptop that cannot read the case
// (it holds no key of it) has nothing to judge by, and destroys its
// sealed copy on the roster's word.
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
	today := record.DateOf(v.wallClock())
	if err := v.destroyHere(r, here, today, &out, &problems); err != nil {
		return out, err
	}
	// Outside wmu: writers are kept out by dbmu while the pages are
	// zeroed, and not at all while the scrub waits for readers.
	_, serr := v.scrubOwed()
	if serr != nil && !errors.Is(serr, ErrScrubBusy) {
		return out, serr // a real failure (a full disk): the refusals come again next time
	}
	if len(problems) > 0 {
		return out, errors.Join(fmt.Errorf("%w: %s", trust.ErrNotAllowed, strings.Join(problems, "; ")), serr)
	}
	return out, serr
}

// destroyHere destroys the cases of here the roster proves destroyed and
// this laptop's copy shows due, each in its own transaction, appending
// their tombstones to out and the refusals to problems.
func (v *Vault) destroyHere(r *trust.Roster, here []string, today record.Date, out *[]Destroyed, problems *[]string) error {
	v.wmu.Lock()
	defer v.wmu.Unlock()
	for _, id := range here {
		d := r.Retention.Destroyed[id]
		if why := v.notDue(r.Retention, d, today); why != "" {
			*problems = append(*problems, fmt.Sprintf("case %s: its destruction is approved under retention policy version %d, but this laptop's copy of it is not due: %s; it is kept",
				id, d.PolicyVersion, why))
			continue
		}
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
					*problems = append(*problems, fmt.Sprintf("case %s: its destruction is approved for team %s, but its signed keyrings say team %s", id, d.Team, ms[top].Team))
					return nil
				}
			}
			var err error
			done, err = tx.destroyCase(r, d)
			return err
		})
		if err != nil {
			return err
		}
		if done.CaseID == "" {
			continue
		}
		v.dropCaseKeys(id)
		*out = append(*out, done)
	}
	return nil
}

func (v *Vault) wallClock() time.Time {
	if v.opts.Now != nil {
		return v.opts.Now()
	}
	return time.Now()
}

// notDue says why this laptop's copy of a case whose destruction the
// roster proves is not past its retention under the policy version the
// approvals name ("" when it is, or when this laptop cannot read the case).
func (v *Vault) notDue(ret trust.Retention, d trust.Destruction, today record.Date) string {
	pol, ok := ret.Policies[d.PolicyVersion]
	if !ok {
		return fmt.Sprintf("this roster holds no retention policy of version %d", d.PolicyVersion)
	}
	cv, err := v.Case(d.Case)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && cv.Sealed:
		return "" // no readable copy here to judge by
	case err != nil:
		return fmt.Sprintf("its case record cannot be read (%v)", err)
	}
	notes, err := v.Notes(d.Case)
	if err != nil {
		return fmt.Sprintf("its notes cannot all be read (%v)", err)
	}
	ns := make([]record.Note, len(notes))
	for i, n := range notes {
		ns[i] = n.Value
	}
	due := pol.Due(record.FactsOf(cv.Value, ns))
	switch {
	case due.Until == "":
		return due.Unknown
	case !due.Past(today):
		return fmt.Sprintf("kept until %s (%s)", due.Until, due.Working)
	}
	return ""
}

// scrubOwed zeroes the file's free pages if a destruction left some that
// may hold what it removed (metaScrub), and clears the mark in the same
// transaction. It needs the vault to itself: no bbolt transaction may be
// open (scrub.FreePages), so it waits for the readers and writers in
// flight, taking dbmu only when none holds it (TryLock: a reader nested in
// another must never wait behind it), up to scrubWait. It returns how many
// pages it zeroed.
func (v *Vault) scrubOwed() (int, error) {
	if v.opts.ReadOnly {
		return 0, nil
	}
	owed := false
	if err := v.view(func(btx *bolt.Tx) error {
		owed = btx.Bucket(bucketMeta).Get(metaScrub) != nil
		return nil
	}); err != nil || !owed {
		return 0, err
	}
	deadline := time.Now().Add(scrubWait)
	for pause := time.Millisecond; !v.dbmu.TryLock(); pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			return 0, ErrScrubBusy
		}
		time.Sleep(pause)
	}
	defer v.dbmu.Unlock()
	n, err := scrub.FreePages(v.db, false, func(btx *bolt.Tx) error {
		return btx.Bucket(bucketMeta).Delete(metaScrub)
	})
	if err != nil {
		return n, wrapWriteErr(fmt.Errorf("clearing freed pages: %w", err))
	}
	return n, nil
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
	// (It marks the pages it frees for zeroing: scrubOwed.)
	if err := tx.removeCase(&Reassignment{CaseID: caseID}); err != nil {
		return t, err
	}
	if lb := tx.btx.Bucket(bucketLocal); lb != nil {
		if err := lb.Delete([]byte(tombstonePrefix + caseID)); err != nil {
			return t, err
		}
		if err := lb.Delete([]byte(escrowPrefix + caseID)); err != nil { // its escrow key, never deposited
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
