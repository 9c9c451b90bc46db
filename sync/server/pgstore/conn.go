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
			return 0, fmt.Errorf("%w: %s must be a whole number of seconds", ErrBadParam, name)
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
			return nil, fmt.Errorf("%w: %s must be a positive whole number", ErrBadParam, paramKeepalivesCount)
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
			return nil, fmt.Errorf("%w: %s must be a whole number of milliseconds", ErrBadParam, paramTCPUserTimeoutURL)
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

// probeStatement is the name checkStatements prepares (with the
// connection's number: behind a pooler both may prepare on one server
// connection).
const probeStatement = "fieldcased_probe_"

// checkStatements refuses a connection that loses prepared statements
// between transactions when the pool caches them (pgx's default query
// mode): what a pgbouncer in transaction pooling does, where each
// transaction may run on another server connection, and every request
// would fail with "prepared statement stmtcache_… does not exist".
//
// Two pooled connections each prepare a statement, then run transactions
// side by side for a few rounds, releasing in alternating order, each
// transaction noting its server process (pg_backend_pid). Straight to
// PostgreSQL (or through a session pooler) a connection keeps its server
// process. Behind a transaction pooler the rounds move one of them to
// another server process, whether the pooler hands out its most recently
// (pgbouncer's default) or its least recently released server connection;
// that connection then runs its statement there: a pooler that does not
// carry prepared statements over (pgbouncer before 1.21, or without
// max_prepared_statements) answers that it does not exist.
func (s *Store) checkStatements(ctx context.Context) error {
	cfg := s.pool.Config()
	if cfg.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement || cfg.MaxConns < 2 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*pingTimeout)
	defer cancel()
	var conns [2]*pgconn.PgConn
	for i := range conns {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		// Released in a transaction (an early return), it is destroyed.
		defer c.Release()
		conns[i] = c.Conn().PgConn()
		if _, err := conns[i].Prepare(ctx, probeStatement+strconv.Itoa(i), "SELECT 1", nil); err != nil {
			return fmt.Errorf("database: %w", err)
		}
	}
	var first [2]int
	// Round 1 moves a connection behind a pooler that hands out its most
	// recently released server connection, round 2 behind one that hands
	// out its least recently released.
	for round := range 3 {
		for i, c := range conns {
			// A pooler with one server connection makes the second
			// transaction wait for the first: then it cannot move
			// connections either.
			bctx, bcancel := context.WithTimeout(ctx, pingTimeout/2)
			pid, err := beginPID(bctx, c)
			bcancel()
			if err != nil && bctx.Err() != nil && ctx.Err() == nil {
				s.log.Warn("could not check that prepared statements survive between transactions (a pooler with one server connection?)")
				return nil
			}
			if err != nil {
				return fmt.Errorf("database: %w", err)
			}
			if round == 0 {
				first[i] = pid
				continue
			}
			if pid != first[i] {
				// Moved to another server process: is the statement there?
				_, err := c.ExecPrepared(ctx, probeStatement+strconv.Itoa(i), nil, nil, nil).Close()
				if statementLost(err) {
					return ErrStatementsLost
				}
				if err != nil {
					return fmt.Errorf("database: %w", err)
				}
			}
		}
		order := []*pgconn.PgConn{conns[0], conns[1]}
		if round%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, c := range order {
			if err := c.Exec(ctx, "COMMIT").Close(); err != nil {
				return fmt.Errorf("database: %w", err)
			}
		}
	}
	for i, c := range conns {
		if err := c.Deallocate(ctx, probeStatement+strconv.Itoa(i)); err != nil {
			return fmt.Errorf("database: %w", err)
		}
	}
	return nil
}

// beginPID begins a transaction on c and returns its server process id.
func beginPID(ctx context.Context, c *pgconn.PgConn) (int, error) {
	res, err := c.Exec(ctx, "BEGIN; SELECT pg_backend_pid()").ReadAll()
	if err != nil {
		return 0, err
	}
	if len(res) != 2 || len(res[1].Rows) != 1 || len(res[1].Rows[0]) != 1 {
		return 0, errors.New("pg_backend_pid: unexpected answer")
	}
	return strconv.Atoi(string(res[1].Rows[0][0]))
}
