package pgstore

import (
	"context"
	"fmt"

	"github.com/fieldcase/fieldcase/sync/server"
)

var (
	_ server.CaseDestroyer = (*tx)(nil)
	_ server.Reclaimer     = (*Store)(nil)
)

// DestroyCase deletes a case's revisions, records, change-log entries,
// blobs, owed rotation and row. PostgreSQL keeps the deleted rows as dead
// tuples until VACUUM removes them (Reclaim, which the server runs once
// this has committed), and in its WAL and base backups for as long as
// those are kept (docs/ARCHITECTURE.md).
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

// destroyTables are the tables DestroyCase deletes from.
const destroyTables = "revisions, blobs, records, changes, rotations, cases"

// Reclaim runs VACUUM on the tables a destruction deletes from (and so on
// their TOAST tables and indexes), outside any transaction, as VACUUM
// must be: the dead rows no open transaction can still see are removed
// and their space made free for reuse, at once rather than when
// autovacuum gets to it. It does not rewrite the files (VACUUM FULL would,
// locking the tables for its whole run): see docs/OPERATIONS.md.
func (s *Store) Reclaim(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "VACUUM "+destroyTables); err != nil {
		return fmt.Errorf("vacuum after a destruction: %w", err)
	}
	return nil
}
