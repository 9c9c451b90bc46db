package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

// Draft is a note being written, or a form being filled in (a case, a
// consent decision, a task), sealed into the vault every few seconds so
// that a crash, a kill or a flat battery loses at most the last seconds.
// Drafts belong to this device and are never synced.
type Draft struct {
	Key    string         `json:"key"`
	CaseID string         `json:"case_id"`           // "" for a new case's form
	NoteID string         `json:"note_id,omitempty"` // "" for a new note
	Base   []record.RevID `json:"base,omitempty"`    // the versions an edit started from
	Note   record.Note    `json:"note"`
	Saved  time.Time      `json:"saved"`
	// Form is the form a draft that is not a note is of (DraftCase,
	// DraftConsent, DraftTask); "" for a note. Fields holds what was typed
	// in it that differs from what the form opened with, by field label.
	Form   string            `json:"form,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
}

// The forms a draft can be of, besides a note.
const (
	DraftCase    = "case"    // a new case, or an edit of one
	DraftConsent = "consent" // a consent decision being recorded
	DraftTask    = "task"    // a task or visit being added
)

// FormDraftKey names the draft of a form of a case; caseID "" is the form
// of a new case.
func FormDraftKey(form, caseID string) string {
	if caseID == "" {
		return "form:" + form + ":new"
	}
	return "form:" + form + ":" + caseID
}

// DraftKey names the draft of a new note in a case, or of an edit of a note.
func DraftKey(caseID, noteID string) string {
	if noteID == "" {
		return "new:" + caseID
	}
	return "edit:" + noteID
}

func draftPlace(vaultID, key string) crypto.Place {
	return crypto.Place{CaseID: vaultID, RecordID: "draft:" + key, Purpose: crypto.PurposeMeta}
}

// SaveDraft seals d into the vault, replacing any draft with the same key.
func (v *Vault) SaveDraft(d Draft) error {
	if d.Key == "" {
		d.Key = DraftKey(d.CaseID, d.NoteID)
	}
	d.Saved = time.Now().UTC()
	js, err := json.Marshal(d)
	if err != nil {
		return err
	}
	defer clear(js)
	return v.Update(func(tx *Tx) error {
		return tx.btx.Bucket(bucketDrafts).Put([]byte(d.Key), crypto.Seal(tx.vaultKey, draftPlace(tx.v.vaultID, d.Key), js))
	})
}

// Drafts lists every saved draft, newest first. A draft that does not open
// (sealed under the vault key at its key's place: it cannot be moved or
// edited) is left out and named in Damaged; the others are listed.
func (v *Vault) Drafts() ([]Draft, error) {
	var out []Draft
	var bad []Damage
	err := v.withKeys(func(_ *crypto.Keyring, vk *crypto.CaseKey) error {
		return v.view(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketDrafts).ForEach(func(k, sealed []byte) error {
				js, err := crypto.Open(vk, draftPlace(v.vaultID, string(k)), sealed)
				var d Draft
				if err == nil {
					err = json.Unmarshal(js, &d)
				}
				if err != nil || d.Key != string(k) {
					bad = append(bad, Damage{Problem: fmt.Sprintf("draft %q does not open", k)})
					return nil
				}
				out = append(out, d)
				return nil
			})
		})
	})
	v.markDamaged(bad...)
	slices.SortFunc(out, func(a, b Draft) int { return b.Saved.Compare(a.Saved) })
	return out, err
}

// DeleteDraft discards a draft in its own transaction.
func (v *Vault) DeleteDraft(key string) error {
	return v.Update(func(tx *Tx) error { return tx.DeleteDraft(key) })
}

// CommitDraft saves the draft's note (a new note, or a new version of the
// edited one) and deletes the draft, in one transaction: the text is either
// a draft or a note, never neither. It returns the note id.
func (v *Vault) CommitDraft(d Draft) (string, error) {
	if d.Key == "" {
		d.Key = DraftKey(d.CaseID, d.NoteID)
	}
	n := d.Note
	n.Normalize(record.DateOf(time.Now()))
	if err := n.Validate(); err != nil {
		return "", err
	}
	id := d.NoteID
	err := v.Update(func(tx *Tx) error {
		if id == "" {
			var err error
			id, err = tx.AddNote(d.CaseID, n)
			if err != nil {
				return err
			}
		} else if _, err := tx.Put(Change{Kind: record.KindNote, CaseID: d.CaseID, RecordID: id, Parents: d.Base, Value: &n}); err != nil {
			return err
		}
		return tx.btx.Bucket(bucketDrafts).Delete([]byte(d.Key))
	})
	return id, err
}

// DeleteDraft discards a draft in this transaction: a form's draft goes
// with the record it became (a case, a consent decision, a task), as
// CommitDraft does for a note.
func (tx *Tx) DeleteDraft(key string) error {
	return tx.btx.Bucket(bucketDrafts).Delete([]byte(key))
}
