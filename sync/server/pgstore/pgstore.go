package pgstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oklog/ulid/v2"

	"github.com/fieldcase/fieldcase/sync/server"
)

var (
	// ErrSchemaNewer means the database was migrated by a newer fieldcased:
	// this one refuses to touch it.
	ErrSchemaNewer = errors.New("database schema is newer than this fieldcased")
	// ErrNotEmpty means an import or restore met a database that already
	// holds a server's data.
	ErrNotEmpty = errors.New("database already holds fieldcased data")
	// ErrReadOnly means a write was tried in a View transaction.
	ErrReadOnly = errors.New("write in a read-only transaction")
	// ErrTooManyChanges means one transaction appended more change log
	// entries than a sequence number leaves room for (see doc.go).
	ErrTooManyChanges = errors.New("too many change log entries in one transaction")
	// ErrBadURL means a database URL did not parse.
	ErrBadURL = errors.New("not a PostgreSQL URL")
)

// Options tune Open.
type Options struct {
	// MaxConns bounds the pool's connections (0: 10). Each fieldcased
	// instance holds at most this many; PostgreSQL's max_connections must
	// cover every instance's MaxConns plus administration.
	MaxConns int32
	// MinConns are kept open while idle (0: none).
	MinConns int32
	// MaxConnLifetime recycles connections (0: one hour).
	MaxConnLifetime time.Duration
	// ConnectTimeout bounds each connection attempt (0: 10 s).
	ConnectTimeout time.Duration
	// Logger receives migrations and retries (nil: discard).
	Logger *slog.Logger
}

// Store is the PostgreSQL backend of server.Store. Several processes may
// share one database.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	// logPool is one connection for reading the transparency log's head
	// while appending (log.go): only the holder of the log's lock uses it.
	logPool *pgxpool.Pool
	// fence keeps transactions off a superseded primary (timeline.go).
	fence *fence
}

var _ server.Store = (*Store)(nil)

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://).
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at url, applies any schema migrations this
// version knows (refusing a newer schema) and makes sure the server's
// metadata exists.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil || !IsURL(url) {
		// The parser's message may quote the URL, password and all.
		return nil, ErrBadURL
	}
	cfg.MaxConns = 10
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.MinConns = min(opts.MinConns, cfg.MaxConns)
	cfg.MaxConnLifetime = time.Hour
	if opts.MaxConnLifetime > 0 {
		cfg.MaxConnLifetime = opts.MaxConnLifetime
	}
	cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	if opts.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "fieldcased"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fence := newFence(log)
	fence.install(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	logCfg := cfg.Copy()
	logCfg.MaxConns, logCfg.MinConns = 1, 0
	logPool, err := pgxpool.NewWithConfig(ctx, logCfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting: %w", err)
	}
	s := &Store{pool: pool, log: log, logPool: logPool, fence: fence}
	fence.watch(cfg.ConnConfig.Config.Copy())
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pools, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.fence.close()
	s.pool.Close()
	s.logPool.Close()
	return nil
}

// Stat is the connection pool's state (for metrics).
func (s *Store) Stat() *pgxpool.Stat { return s.pool.Stat() }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// maxAttempts bounds how often Update runs fn when transactions keep
// conflicting.
const maxAttempts = 20

// Update runs fn in a REPEATABLE READ transaction and commits it. A
// serialization failure, deadlock or unique violation from a concurrent
// transaction rolls back and runs fn again: a concurrent writer's change
// then shows, as it would had the two run one after the other. From the
// second attempt on, the transaction first takes an exclusive lock on the
// meta table (before its snapshot), so transactions that conflicted run one
// at a time instead of failing each other again: a hot row (the roster
// version, bumped by every enrolment) costs waiting, not a retry storm.
func (s *Store) Update(ctx context.Context, fn func(server.Tx) error) error {
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.run(ctx, true, attempt > 1, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		s.log.Debug("transaction conflict, retrying", "attempt", attempt, "err", err)
		backoff := time.Duration(1<<min(attempt, 4)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff/2 + mrand.N(backoff)):
		}
	}
}

// View runs fn in a REPEATABLE READ READ ONLY transaction: one snapshot for
// everything fn reads.
func (s *Store) View(ctx context.Context, fn func(server.Tx) error) error {
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.run(ctx, false, false, fn)
		if !errors.Is(err, ErrSuperseded) || attempt == maxAttempts {
			return err
		}
	}
}

// run runs fn in one transaction; serial first locks the meta table in
// EXCLUSIVE mode (LOCK takes no snapshot, so the snapshot comes after it).
// Readers, and writers that only read meta, are not blocked.
func (s *Store) run(ctx context.Context, write, serial bool, fn func(server.Tx) error) (err error) {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	if write {
		opts.AccessMode = pgx.ReadWrite
	}
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pc.Release()
	// Fencing (timeline.go): before, at the end of, and after the
	// transaction, its connection must not reach a superseded primary.
	conn := pc.Conn()
	fenced := func() error {
		if !s.fence.superseded(conn) {
			return nil
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx) // the pool drops it on release
		return ErrSuperseded
	}
	if err := fenced(); err != nil {
		return err
	}
	// The first write on a timeline records it first, in a transaction
	// of its own (timeline.go).
	at, placed := s.fence.placeOf(conn)
	if write && placed && at.timeline > 0 {
		if r := s.fence.recorded.Load(); r == nil || *r != at {
			if err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(ptx pgx.Tx) error {
				return s.switchTimeline(ctx, ptx, at)
			}); err != nil {
				return err
			}
			s.fence.judged(at)
		}
	}
	ptx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer func() {
		if err != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if serial {
		if _, err := ptx.Exec(ctx, "LOCK TABLE meta IN EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("database: %w", err)
		}
	}
	t := &tx{ctx: ctx, ptx: ptx, write: write, store: s}
	if err := fn(t); err != nil {
		return err
	}
	if err := t.flush(); err != nil {
		return err
	}
	if err := fenced(); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("database: commit: %w", err)
	}
	// Committed on a primary superseded meanwhile (frozen in its commit):
	// that history is abandoned; run again on the new primary rather than
	// acknowledge it.
	if err := fenced(); err != nil {
		return err
	}
	t.handedOut(at)
	return nil
}

// retryable reports whether err is a conflict with a concurrent
// transaction that running the transaction again resolves.
func retryable(err error) bool {
	if errors.Is(err, ErrSuperseded) {
		return true // on another connection
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", // serialization_failure
		"40P01", // deadlock_detected
		"23505": // unique_violation (a concurrent insert of the same key)
		return true
	}
	return false
}

// newID is a fresh server id or epoch: a ULID (no '.', as cursors need).
func newID() string { return ulid.MustNew(ulid.Now(), rand.Reader).String() }

// NewEpoch gives the store a new epoch, so every cursor handed out before
// is answered 410 Gone and devices pull again from the start and push what
// the server lacks. Run it after restoring the database by other means
// than fieldcased (pg_restore, a point-in-time recovery, a disk snapshot).
func (s *Store) NewEpoch(ctx context.Context) (string, error) {
	epoch := newID()
	if _, err := s.pool.Exec(ctx, "UPDATE meta SET epoch = $1", epoch); err != nil {
		return "", fmt.Errorf("new epoch: %w", err)
	}
	return epoch, nil
}
