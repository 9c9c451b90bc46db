package boltstore

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/sync/server"
)

var _ server.CaseDestroyer = (*tx)(nil)

// DestroyCase deletes a case's revisions, records, change-log entries,
// blobs, owed rotation and row. bbolt keeps freed pages in the file until
// it reuses them, so the transaction marks them to be zeroed (Reclaim,
// which the server runs once it has committed).
func (t *tx) DestroyCase(caseID string) (server.DestroyedCase, error) {
	var n server.DestroyedCase
	if err := t.b(Layout.Meta).Put(MetaKeys.Scrub, []byte{1}); err != nil {
		return n, err
	}
	revIDs, err := t.CaseRevisions(caseID)
	if err != nil {
		return n, err
	}
	records := map[string]bool{}
	for _, id := range revIDs {
		r, err := t.Revision(id)
		if err != nil {
			return n, err
		}
		records[r.RecordID] = true
		if err := t.b(Layout.Revs).Delete(id[:]); err != nil {
			return n, err
		}
		if err := t.b(Layout.DevRevs).Delete(devRevKey(r.Device, r.Seq, r.Rev)); err != nil {
			return n, err
		}
		n.Revisions++
	}
	for id := range records {
		if err := t.b(Layout.Records).Delete([]byte(id)); err != nil {
			return n, err
		}
	}
	prefix := append([]byte(caseID), 0)
	if _, err := deletePrefix(t.b(Layout.CaseRevs), prefix); err != nil {
		return n, err
	}
	if n.Blobs, err = deletePrefix(t.b(Layout.Blobs), prefix); err != nil {
		return n, err
	}
	var changes [][]byte
	c := t.b(Layout.Changes).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if ch, err := decodeChange(0, v); err == nil && ch.CaseID == caseID {
			changes = append(changes, bytes.Clone(k))
		}
	}
	for _, k := range changes {
		if err := t.b(Layout.Changes).Delete(k); err != nil {
			return n, err
		}
	}
	if err := t.b(Layout.Rotations).Delete([]byte(caseID)); err != nil {
		return n, err
	}
	return n, t.b(Layout.Cases).Delete([]byte(caseID))
}

func deletePrefix(b *bolt.Bucket, prefix []byte) (int, error) {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
