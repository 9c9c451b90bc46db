package pgstore

import "github.com/fieldcase/fieldcase/sync/server"

var _ server.CaseDestroyer = (*tx)(nil)

// DestroyCase deletes a case's revisions, records, change-log entries,
// blobs, owed rotation and row. PostgreSQL keeps the deleted rows' bytes
// until VACUUM reclaims them, and in its WAL and base backups for as long
// as those are kept (docs/ARCHITECTURE.md).
func (t *tx) DestroyCase(caseID string) (server.DestroyedCase, error) {
	var n server.DestroyedCase
	revs, err := t.exec(`DELETE FROM revisions WHERE case_id = $1`, caseID)
	if err != nil {
		return n, err
	}
	n.Revisions = int(revs)
	blobs, err := t.exec(`DELETE FROM blobs WHERE case_id = $1`, caseID)
	if err != nil {
		return n, err
	}
	n.Blobs = int(blobs)
	for _, q := range []string{
		`DELETE FROM records WHERE case_id = $1`,
		`DELETE FROM changes WHERE case_id = $1`,
		`DELETE FROM rotations WHERE case_id = $1`,
		`DELETE FROM cases WHERE id = $1`,
	} {
		if _, err := t.exec(q, caseID); err != nil {
			return n, err
		}
	}
	// What this transaction cached of the case goes with it.
	delete(t.cases, caseID)
	t.knownRevs, t.knownRecs, t.revCache, t.newRevs, t.newRecs = nil, nil, nil, nil, nil
	return n, nil
}
