package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// URL parameters of libpq's that pgx does not know (it would send them to
// the server as settings, which the server refuses): the dialer takes them.
// keepalives_count is fixed at three probes.
const (
	paramKeepalives        = "keepalives"          // 0 turns keepalive off
	paramKeepalivesIdle    = "keepalives_idle"     // seconds
	paramKeepalivesIntvl   = "keepalives_interval" // seconds
	paramKeepalivesCount   = "keepalives_count"
	paramTCPUserTimeoutURL = "tcp_user_timeout" // milliseconds
)

// newDialer makes the dialer of every database connection: TCP keepalive
// so an idle connection to a host that vanished is noticed in seconds, and
// TCP_USER_TIMEOUT so a connection whose writes go unanswered is dropped
// instead of retransmitting for many minutes. An explicit option wins over
// the URL's parameter, which wins over the default; the parameters are
// taken out of params.
func newDialer(params map[string]string, opts Options) (*net.Dialer, error) {
	seconds := func(name string) (time.Duration, error) {
		v, ok := params[name]
		if !ok {
			return 0, nil
		}
		delete(params, name)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: %s must be a whole number of seconds", ErrBadURL, name)
		}
		return time.Duration(n) * time.Second, nil
	}
	ka := net.KeepAliveConfig{Enable: true, Idle: DefaultKeepAlive, Interval: DefaultKeepAlive, Count: 3}
	if v, ok := params[paramKeepalives]; ok {
		delete(params, paramKeepalives)
		ka.Enable = v != "0"
	}
	idle, err := seconds(paramKeepalivesIdle)
	if err != nil {
		return nil, err
	}
	intvl, err := seconds(paramKeepalivesIntvl)
	if err != nil {
		return nil, err
	}
	if v, ok := params[paramKeepalivesCount]; ok {
		delete(params, paramKeepalivesCount)
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: %s must be a positive whole number", ErrBadURL, paramKeepalivesCount)
		}
		ka.Count = n
	}
	switch {
	case opts.KeepAlive < 0:
		ka.Enable = false
	case opts.KeepAlive > 0:
		ka.Idle, ka.Interval = opts.KeepAlive, opts.KeepAlive
	default:
		ka.Idle = cmpOr(idle, ka.Idle)
		ka.Interval = cmpOr(intvl, ka.Interval)
	}
	d := &net.Dialer{KeepAliveConfig: ka}
	if !ka.Enable {
		d.KeepAlive = -1
	}

	userTimeout := DefaultTCPUserTimeout
	if v, ok := params[paramTCPUserTimeoutURL]; ok {
		delete(params, paramTCPUserTimeoutURL)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: %s must be a whole number of milliseconds", ErrBadURL, paramTCPUserTimeoutURL)
		}
		userTimeout = time.Duration(n) * time.Millisecond
		if n == 0 {
			userTimeout = -1 // libpq's 0: the system's default
		}
	}
	if opts.TCPUserTimeout != 0 {
		userTimeout = opts.TCPUserTimeout
	}
	if userTimeout > 0 {
		d.Control = userTimeoutControl(userTimeout)
	}
	return d, nil
}

// statementLost reports whether err says a prepared statement does not
// exist on the server connection the query ran on.
func statementLost(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "26000" // invalid_sql_statement_name
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// probeStatement is the name checkStatements prepares.
const probeStatement = "fieldcased_probe"

// checkStatements refuses a connection that loses prepared statements
// between transactions when the pool caches them (pgx's default query
// mode): what a pgbouncer in transaction pooling does, where each
// transaction may run on another server connection. Every request would
// then fail with "prepared statement stmtcache_… does not exist".
//
// One pooled connection prepares a statement; a second one opens a
// transaction (behind a transaction pooler it takes the server connection
// the statement was prepared on, the most recently used one); the first
// then runs the statement, which behind the pooler lands on another server
// connection, where it does not exist. Straight to PostgreSQL both
// connections are their own sessions and it runs.
func (s *Store) checkStatements(ctx context.Context) error {
	cc := s.pool.Config().ConnConfig
	if cc.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement || s.pool.Config().MaxConns < 2 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*pingTimeout)
	defer cancel()
	c1, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer c1.Release()
	c2, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer c2.Release()
	p1, p2 := c1.Conn().PgConn(), c2.Conn().PgConn()
	if _, err := p1.Prepare(ctx, probeStatement, "SELECT 1", nil); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := p2.Exec(ctx, "BEGIN").Close(); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer p2.Exec(context.WithoutCancel(ctx), "ROLLBACK").Close()
	// A pooler with one server connection makes this wait for the second
	// connection's transaction: then it cannot lose statements either.
	ectx, ecancel := context.WithTimeout(ctx, pingTimeout/2)
	defer ecancel()
	_, err = p1.ExecPrepared(ectx, probeStatement, nil, nil, nil).Close()
	switch {
	case statementLost(err):
		return ErrStatementsLost
	case ectx.Err() != nil && ctx.Err() == nil:
		s.log.Warn("could not check that prepared statements survive between transactions (a pooler with one server connection?)")
		return nil
	case err != nil:
		return fmt.Errorf("database: %w", err)
	}
	return p1.Deallocate(ctx, probeStatement)
}
