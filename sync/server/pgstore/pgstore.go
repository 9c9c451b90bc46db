package pgstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
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
	// ErrBadParam means a connection parameter of the URL that fieldcased
	// reads itself (keepalives*, tcp_user_timeout) has a bad value.
	ErrBadParam = errors.New("bad parameter in the database URL")
	// ErrTxTimeout means a transaction did not finish within
	// Options.TxTimeout: the database host stopped answering, or the
	// transaction waited too long for a lock.
	ErrTxTimeout = errors.New("database transaction timed out")
	// ErrStatementsLost means prepared statements do not survive from one
	// transaction to the next: a pgbouncer in transaction pooling (or
	// another pooler like it) between fieldcased and PostgreSQL, with
	// pgx's default query mode. The URL's default_query_exec_mode must be
	// cache_describe or simple_protocol there (docs/OPERATIONS.md).
	ErrStatementsLost = errors.New("prepared statements are lost between transactions (a pgbouncer in transaction pooling?)")
)

// Defaults of Options.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTxTimeout      = 15 * time.Second
	DefaultKeepAlive      = 5 * time.Second
	DefaultTCPUserTimeout = 10 * time.Second
	// pingTimeout bounds the liveness check the pool makes of a
	// connection idle for more than a second before handing it out: a
	// connection to a host that stopped answering is dropped after this,
	// and another one tried.
	pingTimeout = 2 * time.Second
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
	// ConnectTimeout bounds each connection attempt, per host of a
	// multi-host URL (0: the URL's connect_timeout, else 5 s).
	ConnectTimeout time.Duration
	// TxTimeout bounds each Update and View transaction, so a database
	// host that stops answering costs a request seconds, not minutes
	// (0: DefaultTxTimeout; negative: no bound, for one-off commands such
	// as an export that reads everything in one transaction).
	TxTimeout time.Duration
	// KeepAlive is the idle time before TCP keepalive probes start, and
	// the time between probes; after three unanswered probes the
	// connection is dropped (0: the URL's keepalives_idle and
	// keepalives_interval, else 5 s; negative: no keepalive).
	KeepAlive time.Duration
	// TCPUserTimeout drops a connection whose sent data stays
	// unacknowledged this long (Linux's TCP_USER_TIMEOUT; 0: the URL's
	// tcp_user_timeout in milliseconds, else 10 s; negative: the
	// system's, which is many minutes).
	TCPUserTimeout time.Duration
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
	// txTimeout bounds each transaction run (negative: no bound).
	txTimeout time.Duration
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
	// pgx has read connect_timeout from the URL (or PGCONNECT_TIMEOUT);
	// an explicit option wins, and without either the default applies
	// (also for connect_timeout=0, which would wait for ever).
	switch {
	case opts.ConnectTimeout > 0:
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	case cfg.ConnConfig.ConnectTimeout <= 0:
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	dialer, err := newDialer(cfg.ConnConfig.RuntimeParams, opts)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.DialFunc = dialer.DialContext
	cfg.PingTimeout = pingTimeout
	txTimeout := opts.TxTimeout
	if txTimeout == 0 {
		txTimeout = DefaultTxTimeout
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
	s := &Store{pool: pool, log: log, logPool: logPool, fence: fence, txTimeout: txTimeout}
	fence.watch(cfg.ConnConfig.Config.Copy())
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.checkStatements(ctx); err != nil {
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
//
// The transaction has s.txTimeout to finish. When it fails because its
// connection was lost (the deadline passed, the host went away or was
// demoted), every pooled connection is dropped (dropStale).
func (s *Store) run(parent context.Context, write, serial bool, fn func(server.Tx) error) (err error) {
	ctx := parent
	if s.txTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, s.txTimeout)
		defer cancel()
	}
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	if write {
		opts.AccessMode = pgx.ReadWrite
	}
	b, err := s.begin(ctx, write, opts)
	if err != nil && pgconn.SafeToRetry(err) && s.dropStale(parent, nil, err) {
		// Nothing reached the server (a pooled connection to a host that
		// went away): once more, on a new connection.
		b, err = s.begin(ctx, write, opts)
	}
	if err != nil {
		s.dropStale(parent, nil, err)
		return fmt.Errorf("database: %w", timedOut(ctx, parent, err))
	}
	defer b.pc.Release()
	ptx, fenced := b.ptx, b.fenced
	defer func() {
		if err != nil {
			s.dropStale(parent, ptx.Conn(), err)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
			_ = ptx.Rollback(rctx)
			cancel()
			err = timedOut(ctx, parent, err)
			if statementLost(err) {
				err = fmt.Errorf("%w: %w", ErrStatementsLost, err)
			}
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
	t.handedOut(b.at)
	return nil
}

// began is a transaction begun on a connection of the pool that is not
// fenced off (timeline.go).
type began struct {
	pc  *pgxpool.Conn
	ptx pgx.Tx
	at  place
	// fenced is ErrSuperseded once the connection reaches a superseded
	// primary (it is then closed, and the pool drops it on release).
	fenced func() error
}

// begin acquires a connection and begins a transaction on it: never on a
// superseded primary; the first write on a timeline records the timeline
// first, in a transaction of its own. On error nothing is held.
func (s *Store) begin(ctx context.Context, write bool, opts pgx.TxOptions) (b began, err error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return b, err
	}
	defer func() {
		if err != nil {
			pc.Release()
		}
	}()
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
		return b, err
	}
	at, placed := s.fence.placeOf(conn)
	if write && placed && at.timeline > 0 {
		if r := s.fence.recorded.Load(); r == nil || *r != at {
			if err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(ptx pgx.Tx) error {
				return s.switchTimeline(ctx, ptx, at)
			}); err != nil {
				return b, err
			}
			s.fence.judged(at)
		}
	}
	ptx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return b, err
	}
	return began{pc: pc, ptx: ptx, at: at, fenced: fenced}, nil
}

// timedOut names the transaction's own deadline in err when that is what
// ended it (rather than the caller's context).
func timedOut(ctx, parent context.Context, err error) error {
	if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTxTimeout, err)
	}
	return err
}

// dropStale drops every pooled connection when err says the connection
// a transaction used is lost or points at a server that can no longer take
// writes (conn, if known, is that connection): after a database host froze,
// failed over or was demoted, the pool's other connections to it are as
// stale, and the next request should not have to find each one out. New
// connections are made on demand (for a multi-host URL, to whichever host
// now takes writes). An error of the caller's own (its context ending, a
// conflict) leaves the pool alone. It reports whether it dropped them.
func (s *Store) dropStale(parent context.Context, conn *pgx.Conn, err error) bool {
	if parent.Err() != nil || !connLost(conn, err) {
		return false
	}
	s.log.Warn("database connection lost: dropping pooled connections", "err", err)
	s.pool.Reset()
	s.logPool.Reset()
	return true
}

// connLost reports whether err means the connection is unusable for this
// store's work: closed (a network failure, a deadline that interrupted
// it, a FATAL from the server), or told by the server that it is shutting
// down, in recovery or read-only.
func connLost(conn *pgx.Conn, err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			pe.Code == "57P01", // admin_shutdown
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03", // cannot_connect_now
			pe.Code == "25006": // read_only_sql_transaction: a standby, or a demoted primary
			return true
		case pe.Code == "0A000" && strings.Contains(pe.Message, "during recovery"):
			// BEGIN READ WRITE on a standby: "cannot set transaction
			// read-write mode during recovery".
			return true
		}
		return false
	}
	if conn != nil {
		return conn.IsClosed()
	}
	// No transaction began: the pool could not get a working connection.
	// A plain deadline is also what a pool whose idle connections all
	// failed their liveness check returns (and, rarely, one whose every
	// connection stayed busy past the deadline: resetting it then costs
	// only new connections, as busy ones are replaced when released).
	return errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.As(err, new(*pgconn.ConnectError)) || errors.As(err, new(net.Error))
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
