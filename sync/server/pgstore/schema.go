package pgstore

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcase/fieldcase/record"
)

// migrations are the schema's versions: migrations/NNNN_name.sql, applied in
// order, each once, each in the transaction that records it.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key that serialises schema migrations
// between fieldcased processes starting at once ("fcschema" in ASCII).
const migrationLock = 0x6663736368656d61

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations in version order. Versions
// must run 1, 2, 3, … without gaps.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", e.Name())
		}
		b, err := migrations.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", m.name, i+1)
		}
	}
	return out, nil
}

// afterMigration are steps a migration needs that SQL cannot do, run right
// after its SQL in the same transaction.
var afterMigration = map[int]func(context.Context, pgx.Tx) error{
	3: indexDeviceRevisions,
	4: func(ctx context.Context, tx pgx.Tx) error { return buildLog(ctx, tx, time.Now()) },
}

// indexDeviceRevisions fills revisions.device and .seq from each stored
// revision's encoding (migration 3), a batch at a time, then makes them
// required.
func indexDeviceRevisions(ctx context.Context, tx pgx.Tx) error {
	for {
		rows, err := tx.Query(ctx, `SELECT rev, data FROM revisions WHERE device IS NULL LIMIT 1000`)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		var rev, data []byte
		_, err = pgx.ForEachRow(rows, []any{&rev, &data}, func() error {
			r, _, err := record.UnmarshalRevision(data)
			if err != nil {
				return fmt.Errorf("revision %x: %w", rev, err)
			}
			b.Queue(`UPDATE revisions SET device = $2, seq = $3 WHERE rev = $1`, bytes.Clone(rev), r.Device, int64(r.Seq))
			return nil
		})
		if err != nil {
			return err
		}
		if b.Len() == 0 {
			break
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `ALTER TABLE revisions ALTER COLUMN device SET NOT NULL, ALTER COLUMN seq SET NOT NULL`)
	return err
}

// SchemaVersion is the newest schema this fieldcased knows.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil {
		panic(err) // the embedded files are fixed at build time; tests load them
	}
	return len(ms)
}

// migrate brings the schema up to date in one transaction, under an
// advisory lock so that instances starting together migrate once, and
// creates the metadata row of a new store.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return fmt.Errorf("database: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version integer PRIMARY KEY,
			name    text NOT NULL,
			applied timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("database: schema_version: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&have); err != nil {
			return fmt.Errorf("database: schema_version: %w", err)
		}
		if have > len(ms) {
			return fmt.Errorf("%w: the database is at schema version %d, this fieldcased knows up to %d", ErrSchemaNewer, have, len(ms))
		}
		for _, m := range ms[have:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("database: applying migration %s: %w", m.name, err)
			}
			if step := afterMigration[m.version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return fmt.Errorf("database: applying migration %s: %w", m.name, err)
				}
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_version (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
				return fmt.Errorf("database: recording migration %s: %w", m.name, err)
			}
			s.log.Info("applied schema migration", "version", m.version, "name", m.name)
		}
		_, err := tx.Exec(ctx, `INSERT INTO meta (server_id, epoch, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			newID(), newID(), time.Now().UTC())
		if err != nil {
			return fmt.Errorf("database: meta: %w", err)
		}
		if err := ensureLogKey(ctx, tx); err != nil {
			return fmt.Errorf("database: meta: %w", err)
		}
		// A log restored from another cluster may be ahead of this
		// cluster's transaction ids: continue numbering above it.
		var last, base int64
		err = tx.QueryRow(ctx, `SELECT coalesce((SELECT max(seq) FROM changes), 0),
			(pg_current_xact_id()::text::bigint + (SELECT seq_offset FROM meta)) << 20`).Scan(&last, &base)
		if err != nil {
			return fmt.Errorf("database: change log: %w", err)
		}
		if last >= base {
			if _, err := tx.Exec(ctx, `UPDATE meta SET seq_offset = seq_offset + $1`, last>>seqShift+1); err != nil {
				return fmt.Errorf("database: change log: %w", err)
			}
			s.log.Warn("change log is ahead of this cluster's transaction ids (restored from another cluster?): numbering continues above it", "last_seq", last)
		}
		return nil
	})
}
