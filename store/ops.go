package store

import (
	"fmt"
	"time"

	"github.com/fieldcase/fieldcase/record"
)

// NewCase creates a case: a fresh case key (epoch 1), its keyring record
// and the case record, in this transaction. It returns the case id, which
// binds this device (trust.NewCaseID).
func (tx *Tx) NewCase(c record.Case) (string, error) { return tx.newCase("", c) }

// newCase creates a case. An import's id for it (caseID, or "") becomes an
// alias of the new id for the rest of the transaction.
func (tx *Tx) newCase(caseID string, c record.Case) (string, error) {
	c.Normalize()
	if c.Opened == "" {
		c.Opened = record.DateOf(time.Now())
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	if id := tx.refOwner(c.Ref); id != "" {
		return "", fmt.Errorf("%w: reference %s is already case %s", record.ErrInvalid, c.Ref, id)
	}
	// A case's id binds the device that made it (trust.NewCaseID): an id
	// given by an import is kept as an alias for the lines that follow.
	given := caseID
	caseID, err := tx.newCaseKeyring()
	if err != nil {
		return "", err
	}
	if given != "" {
		if tx.caseAlias == nil {
			tx.caseAlias = map[string]string{}
		}
		tx.caseAlias[given] = caseID
	}
	if _, err := tx.Put(Change{Kind: record.KindCase, CaseID: caseID, RecordID: caseID, Value: &c}); err != nil {
		return "", err
	}
	tx.pendingRefs()[lower(c.Ref)] = caseID
	return caseID, nil
}

// refOwner is the case id holding ref, counting cases made in this
// transaction.
func (tx *Tx) refOwner(ref string) string {
	if id := tx.pendingRefs()[lower(ref)]; id != "" {
		return id
	}
	tx.v.mu.RLock()
	defer tx.v.mu.RUnlock()
	if tx.v.ws == nil {
		return ""
	}
	return tx.v.ws.refs[lower(ref)]
}

func (tx *Tx) pendingRefs() map[string]string {
	if tx.refs == nil {
		tx.refs = map[string]string{}
	}
	return tx.refs
}

// CreateCase creates a case in its own transaction (Tx.NewCase).
func (v *Vault) CreateCase(c record.Case) (string, error) {
	return update(v, func(tx *Tx) (string, error) { return tx.NewCase(c) })
}

// UpdateCase writes a new version of a case. parents are the versions the
// user edited: the winner's Rev for an ordinary edit, every version for a
// merge (Item.Parents).
func (v *Vault) UpdateCase(id string, parents []record.RevID, c record.Case) error {
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	return v.Update(func(tx *Tx) error {
		if owner := tx.refOwner(c.Ref); owner != "" && owner != id {
			return fmt.Errorf("%w: reference %s is already another case", record.ErrInvalid, c.Ref)
		}
		_, err := tx.Put(Change{Kind: record.KindCase, CaseID: id, RecordID: id, Parents: parents, Value: &c})
		return err
	})
}

// AddNote adds a note to a case in its own transaction and returns its id.
func (v *Vault) AddNote(caseID string, n record.Note) (string, error) {
	return update(v, func(tx *Tx) (string, error) { return tx.AddNote(caseID, n) })
}

// AddNote adds a note to a case in this transaction.
func (tx *Tx) AddNote(caseID string, n record.Note) (string, error) {
	n.Normalize(record.DateOf(time.Now()))
	if err := n.Validate(); err != nil {
		return "", err
	}
	if err := tx.caseExists(caseID); err != nil {
		return "", err
	}
	rev, err := tx.Put(Change{Kind: record.KindNote, CaseID: caseID, Value: &n})
	if err != nil {
		return "", err
	}
	return rev.RecordID, nil
}

// EditNote writes a new version of a note (see UpdateCase for parents).
func (v *Vault) EditNote(id string, parents []record.RevID, n record.Note) error {
	n.Normalize(record.DateOf(time.Now()))
	if err := n.Validate(); err != nil {
		return err
	}
	it, err := v.Note(id)
	if err != nil {
		return err
	}
	return v.Update(func(tx *Tx) error {
		_, err := tx.Put(Change{Kind: record.KindNote, CaseID: it.CaseID, RecordID: id, Parents: parents, Value: &n})
		return err
	})
}

// AddConsent records a consent decision in its own transaction.
func (v *Vault) AddConsent(caseID string, c record.Consent) (string, error) {
	return update(v, func(tx *Tx) (string, error) { return tx.AddConsent(caseID, c) })
}

// AddConsent records a consent decision in this transaction.
func (tx *Tx) AddConsent(caseID string, c record.Consent) (string, error) {
	if c.Date == "" {
		c.Date = record.DateOf(time.Now())
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	if err := tx.caseExists(caseID); err != nil {
		return "", err
	}
	rev, err := tx.Put(Change{Kind: record.KindConsent, CaseID: caseID, Value: &c})
	if err != nil {
		return "", err
	}
	return rev.RecordID, nil
}

// AddTask adds a task or visit to a case in its own transaction.
func (v *Vault) AddTask(caseID string, t record.Task) (string, error) {
	return update(v, func(tx *Tx) (string, error) { return tx.AddTask(caseID, t) })
}

// AddTask adds a task in this transaction.
func (tx *Tx) AddTask(caseID string, t record.Task) (string, error) {
	if err := t.Validate(); err != nil {
		return "", err
	}
	if err := tx.caseExists(caseID); err != nil {
		return "", err
	}
	rev, err := tx.Put(Change{Kind: record.KindTask, CaseID: caseID, Value: &t})
	if err != nil {
		return "", err
	}
	return rev.RecordID, nil
}

// UpdateTask writes a new version of a task (e.g. marking it done).
func (v *Vault) UpdateTask(caseID, id string, parents []record.RevID, t record.Task) error {
	if t.Done && t.DoneOn == "" {
		t.DoneOn = record.DateOf(time.Now())
	}
	if !t.Done {
		t.DoneOn = ""
	}
	if err := t.Validate(); err != nil {
		return err
	}
	return v.Update(func(tx *Tx) error {
		_, err := tx.Put(Change{Kind: record.KindTask, CaseID: caseID, RecordID: id, Parents: parents, Value: &t})
		return err
	})
}

// Delete writes a tombstone superseding every head of a record. Consents and
// audit events are never deleted: a decision is withdrawn by a new one.
func (v *Vault) Delete(caseID, id string) error {
	return v.Update(func(tx *Tx) error {
		e, err := tx.heads(caseID, id)
		if err != nil {
			return err
		}
		if e.Kind == "" {
			return ErrNotFound
		}
		if e.Kind.AppendOnly() || e.Kind == record.KindKeyring {
			return fmt.Errorf("%w: a %s record cannot be deleted; record a new one", record.ErrInvalid, e.Kind)
		}
		parents := make([]record.RevID, len(e.Heads))
		for i, h := range e.Heads {
			parents[i] = h.Rev
		}
		_, err = tx.Put(Change{Kind: e.Kind, CaseID: caseID, RecordID: id, Parents: parents, Deleted: true})
		return err
	})
}

func (tx *Tx) caseExists(caseID string) error {
	e, err := tx.heads(caseID, caseID)
	if err != nil {
		return err
	}
	if e.Kind != record.KindCase {
		return fmt.Errorf("%w: case %s", ErrNotFound, caseID)
	}
	return nil
}

// PutRecording writes a recording's manifest: a new recording (with the
// given id, or a new one when id is "") when create is set, else a new
// version superseding parents. It returns the id.
func (v *Vault) PutRecording(caseID, id string, parents []record.RevID, r record.Recording, create bool) (string, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	err := v.Update(func(tx *Tx) error {
		if err := tx.caseExists(caseID); err != nil {
			return err
		}
		if create && id != "" && tx.exists(caseID, id) {
			return fmt.Errorf("%w: recording %s exists", record.ErrInvalid, id)
		}
		rev, err := tx.Put(Change{Kind: record.KindRecording, CaseID: caseID, RecordID: id, Parents: parents, Value: &r})
		if err != nil {
			return err
		}
		id = rev.RecordID
		return nil
	})
	return id, err
}
