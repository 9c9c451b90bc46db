package pgstore_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
	"github.com/fieldcase/fieldcase/sync/server/storetest"
)

// Issue 15: after a destruction, Reclaim runs VACUUM on every table the
// destruction deleted from (after the commit: VACUUM cannot run in a
// transaction), so the dead rows holding the ciphertext are removed now
// rather than whenever autovacuum comes.
func TestDestroyedRowsVacuumed(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	st := openURL(t, url)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tables := []string{"revisions", "blobs", "records", "changes", "rotations", "cases"}
	vacuums := func() map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		rows, err := conn.Query(ctx, `SELECT relname, vacuum_count FROM pg_stat_user_tables WHERE relname = ANY($1)`, tables)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				t.Fatal(err)
			}
			out[name] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	storetest.Destroyed(t, st, 40)
	before := vacuums()
	if len(before) != len(tables) {
		t.Fatalf("statistics for %d of the %d tables: %v", len(before), len(tables), before)
	}
	if err := st.Reclaim(ctx); err != nil {
		t.Fatal(err)
	}
	after := vacuums()
	for _, tb := range tables {
		if after[tb] != before[tb]+1 {
			t.Errorf("table %s vacuumed %d times by Reclaim, want once", tb, after[tb]-before[tb])
		}
	}
}
