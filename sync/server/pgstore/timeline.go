package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Failover (issue 17; doc.go, "Failover"). PostgreSQL numbers the history
// of a cluster in timelines: promoting a standby starts a new one. Every
// connection learns the system identifier and timeline of the server it
// reached (afterConnect); the store keeps, per cluster, the highest
// timeline any connection or the watcher has seen on a primary. A
// connection to a primary of a lower timeline is a primary that has been
// superseded (frozen through a failover, then thawed): it is never handed
// out (prepareConn), and a transaction that finds its connection
// superseded before or after its commit is rolled back or reported failed
// and runs again on another connection (Store.run), so nothing it did is
// acknowledged.
//
// The first write on a new timeline records where it began (switchTimeline):
// the log's size and highest change number then. Each instance compares
// them with the most it handed out on the timeline before (its high-water
// marks): more means acknowledged changes were lost with the old primary
// (asynchronous replication), and the store gets a new epoch, so every
// device repairs as after a restore (410 Gone, pull from the start, push back
// what the server lacks). An instance that cannot tell (it started after
// the old timeline ended, and is the first to write on the new one) gives
// a new epoch too. A new timeline also moves change numbering up by
// timelineGap transactions, so numbers the old primary handed out are never
// handed out again.

// ErrSuperseded means the database server a connection reached is a
// primary that a failover has superseded (an older timeline than one
// already seen): nothing is served from it.
var ErrSuperseded = errors.New("database server superseded by a newer primary (failover)")

// timelineGap is how far change numbering moves up on a new timeline, in
// transaction ids: more than a lagging standby can ever miss.
const timelineGap = 1 << 30

// timelineSQL reads the server's system identifier and, on a primary, the
// timeline it writes on (the WAL file name of the insert position starts
// with it; it changes at promotion, before any checkpoint). 0 on a standby.
const timelineSQL = `SELECT (SELECT system_identifier FROM pg_control_system())::text,
	CASE WHEN pg_is_in_recovery() THEN 0
	ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint END`

// place is a cluster's timeline: where a connection writes.
type place struct {
	system   string
	timeline int64
}

// fence tracks the timelines connections reach and what this process
// handed out on them.
type fence struct {
	log    *slog.Logger
	mu     sync.Mutex
	max    map[string]int64 // per system: the highest timeline seen on a primary
	warned bool
	conns  sync.Map // *pgconn.PgConn → place
	fenced atomic.Int64
	off    atomic.Bool // checks off (benchmarks' baseline only)

	// recorded is the place meta is known to hold (switchTimeline ran
	// for it), so that a write transaction need not look.
	recorded atomic.Pointer[place]
	// What this process handed out (committed, or read and answered):
	// on which place, the largest log size and change number.
	hwAt  place
	hwLog int64
	hwSeq uint64

	stop    context.CancelFunc
	watched sync.WaitGroup
}

func newFence(log *slog.Logger) *fence {
	return &fence{log: log, max: map[string]int64{}}
}

// install hooks the fence into a pool's configuration.
func (f *fence) install(cfg *pgxpool.Config) {
	cfg.AfterConnect = f.afterConnect
	cfg.BeforeClose = func(c *pgx.Conn) { f.conns.Delete(c.PgConn()) }
	cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) {
		if f.superseded(c) {
			f.log.Warn("dropping a connection to a superseded primary", "host", c.PgConn().Conn().RemoteAddr().String())
			return false, nil // destroyed; the pool tries another
		}
		return true, nil
	}
}

func (f *fence) afterConnect(ctx context.Context, c *pgx.Conn) error {
	p, err := readPlace(ctx, c)
	if err != nil {
		// Without the functions (an unusual managed service) the store
		// works unfenced; say so once.
		f.mu.Lock()
		if !f.warned {
			f.warned = true
			f.log.Warn("cannot read the database's timeline: failover fencing is off", "err", err)
		}
		f.mu.Unlock()
		return nil
	}
	f.conns.Store(c.PgConn(), p)
	f.saw(p)
	return nil
}

func readPlace(ctx context.Context, c *pgx.Conn) (place, error) {
	var p place
	err := c.QueryRow(ctx, timelineSQL).Scan(&p.system, &p.timeline)
	return p, err
}

// saw raises the highest timeline known for p's cluster.
func (f *fence) saw(p place) {
	if p.timeline <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.timeline > f.max[p.system] {
		if old := f.max[p.system]; old > 0 {
			f.log.Warn("the database is on a new timeline (failover): connections to the old primary are no longer used", "timeline", p.timeline, "was", old)
		}
		f.max[p.system] = p.timeline
	}
}

// placeOf is where c writes (ok false when unknown: fencing off for it).
func (f *fence) placeOf(c *pgx.Conn) (place, bool) {
	v, ok := f.conns.Load(c.PgConn())
	if !ok {
		return place{}, false
	}
	return v.(place), true
}

// superseded reports whether c reaches a primary of an older timeline than
// one seen.
func (f *fence) superseded(c *pgx.Conn) bool {
	if f.off.Load() {
		return false
	}
	p, ok := f.placeOf(c)
	if !ok || p.timeline == 0 {
		return false // unknown, or a standby (which refuses writes itself)
	}
	f.mu.Lock()
	max := f.max[p.system]
	f.mu.Unlock()
	if p.timeline < max {
		f.fenced.Add(1)
		return true
	}
	return false
}

// Fenced counts the transactions and connections refused because they
// reached a superseded primary (for metrics and tests).
func (s *Store) Fenced() int64 { return s.fence.fenced.Load() }

// Timeline is the highest timeline the store has seen its database's
// primary on (0 before any connection, or when it cannot be read).
func (s *Store) Timeline() int64 {
	s.fence.mu.Lock()
	defer s.fence.mu.Unlock()
	var t int64
	for _, v := range s.fence.max {
		t = max(t, v)
	}
	return t
}

// handedOut raises the high-water marks of what this process handed out
// on p: a log size and a change number committed, or read and answered.
// Marks of a timeline this process has not yet judged a switch to are
// not kept: the old timeline's stay until judged (judged).
func (f *fence) handedOut(p place, logSize int64, seq uint64) {
	if p.timeline <= 0 || (logSize <= 0 && seq == 0) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case p == f.hwAt:
		f.hwLog, f.hwSeq = max(f.hwLog, logSize), max(f.hwSeq, seq)
	case f.hwAt.timeline == 0 || p.system != f.hwAt.system:
		f.hwAt, f.hwLog, f.hwSeq = p, logSize, seq
	}
}

// judged notes that a write transaction on p committed after checking
// what the change to p lost: from now on marks are kept for p.
func (f *fence) judged(p place) {
	f.recorded.Store(&p)
	f.mu.Lock()
	defer f.mu.Unlock()
	if p != f.hwAt {
		f.hwAt, f.hwLog, f.hwSeq = p, 0, 0
	}
}

// marks are the high-water marks as of now.
func (f *fence) marks() (place, int64, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hwAt, f.hwLog, f.hwSeq
}

// switchTimeline records in meta that the store is written on p, in a
// READ COMMITTED transaction of its own that commits before the write that
// needed it begins (Store.run): every write on a timeline comes after its
// record, and the record holds the log as the timeline began. The place is
// remembered once it commits (judged).
func (s *Store) switchTimeline(ctx context.Context, ptx pgx.Tx, p place) error {
	var system, epoch string
	var timeline int64
	// The lock makes a concurrent first writer wait, then read what this
	// one recorded (READ COMMITTED).
	if err := ptx.QueryRow(ctx, `SELECT system_id, timeline, epoch FROM meta FOR UPDATE`).Scan(&system, &timeline, &epoch); err != nil {
		return fmt.Errorf("database: timeline: %w", err)
	}
	if system == p.system && timeline > p.timeline {
		// The database says a later timeline wrote here: this server was
		// superseded and brought back with that history (or restored):
		// nothing is written through it.
		s.fence.saw(place{system, timeline})
		s.fence.fenced.Add(1)
		return ErrSuperseded
	}
	at, hwLog, hwSeq := s.fence.marks()
	if system == p.system && timeline == p.timeline {
		// Recorded already (by another instance, or by this one before a
		// restart). This instance judges what it handed out on an
		// earlier timeline against where the next one began.
		if at.system != p.system || at.timeline == 0 || at.timeline >= p.timeline {
			return nil
		}
		var logSize, lastSeq int64
		err := ptx.QueryRow(ctx, `SELECT log_size, last_seq FROM timelines WHERE system_id = $1 AND timeline > $2
			ORDER BY timeline LIMIT 1`, p.system, at.timeline).Scan(&logSize, &lastSeq)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return fmt.Errorf("database: timeline: %w", err)
		}
		if hwLog > logSize || hwSeq > uint64(lastSeq) {
			return s.lost(ctx, ptx, p, fmt.Sprintf("this instance handed out a log of %d entries and change %d on timeline %d; timeline %d began at %d entries and change %d",
				hwLog, hwSeq, at.timeline, p.timeline, logSize, lastSeq))
		}
		return nil
	}
	// The first write on this timeline (or on this cluster): where it
	// begins.
	var logSize, lastSeq int64
	if err := ptx.QueryRow(ctx, logSizeSQL).Scan(&logSize); err != nil {
		return fmt.Errorf("database: timeline: %w", err)
	}
	if err := ptx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM changes`).Scan(&lastSeq); err != nil {
		return fmt.Errorf("database: timeline: %w", err)
	}
	if _, err := ptx.Exec(ctx, `INSERT INTO timelines (system_id, timeline, seen, log_size, last_seq) VALUES ($1, $2, $3, $4, $5)`,
		p.system, p.timeline, time.Now().UTC(), logSize, lastSeq); err != nil {
		return fmt.Errorf("database: timeline: %w", err)
	}
	if _, err := ptx.Exec(ctx, `UPDATE meta SET system_id = $1, timeline = $2`, p.system, p.timeline); err != nil {
		return fmt.Errorf("database: timeline: %w", err)
	}
	switch {
	case system == "":
		return nil // the store's first timeline: nothing before it
	case system != p.system:
		// Another cluster (pg_dump and restore, logical replication):
		// what it lacks cannot be told.
		return s.lost(ctx, ptx, p, "the database now runs on another cluster (system "+p.system+", was "+system+")")
	}
	// Numbers the old primary may have handed out are never given again.
	if _, err := ptx.Exec(ctx, `UPDATE meta SET seq_offset = seq_offset + $1`, int64(timelineGap)); err != nil {
		return fmt.Errorf("database: timeline: %w", err)
	}
	s.log.Warn("the database is on a new timeline (failover or point-in-time recovery)", "timeline", p.timeline, "was", timeline,
		"log_size", logSize, "last_seq", lastSeq)
	if at.system != p.system || at.timeline != timeline {
		return s.lost(ctx, ptx, p, "this instance did not see timeline "+strconv.FormatInt(timeline, 10)+" to its end, so cannot tell what it lost")
	}
	if hwLog > logSize || hwSeq > uint64(lastSeq) {
		return s.lost(ctx, ptx, p, fmt.Sprintf("this instance handed out a log of %d entries and change %d on timeline %d; the new timeline begins at %d entries and change %d",
			hwLog, hwSeq, timeline, logSize, lastSeq))
	}
	return nil
}

// lost gives the store a new epoch: acknowledged changes were, or may have
// been, lost with the old timeline. Every device's cursor is then answered
// 410 Gone, and the device pulls from the start and pushes back what the
// server lacks.
func (s *Store) lost(ctx context.Context, ptx pgx.Tx, p place, why string) error {
	epoch := newID()
	if _, err := ptx.Exec(ctx, `UPDATE meta SET epoch = $1`, epoch); err != nil {
		return fmt.Errorf("database: new epoch: %w", err)
	}
	if _, err := ptx.Exec(ctx, `UPDATE timelines SET new_epoch = $3 WHERE system_id = $1 AND timeline = $2`, p.system, p.timeline, epoch); err != nil {
		return fmt.Errorf("database: new epoch: %w", err)
	}
	s.log.Error("acknowledged changes may have been lost in a failover: new epoch, devices will pull again and push back what the server lacks",
		"timeline", p.timeline, "epoch", epoch, "why", why)
	return nil
}

// watchInterval is how often the watcher asks each host of the URL for its
// timeline.
var watchInterval = time.Second

// watch asks every host of the URL for its timeline, each on a connection
// of its own, every watchInterval: a promotion is known within about a
// second even while the pool's connections hang on a frozen primary.
func (f *fence) watch(cfg *pgconn.Config) {
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	seen := map[string]bool{}
	hosts := append([]*pgconn.FallbackConfig{{Host: cfg.Host, Port: cfg.Port, TLSConfig: cfg.TLSConfig}}, cfg.Fallbacks...)
	for _, h := range hosts {
		key := net.JoinHostPort(h.Host, strconv.Itoa(int(h.Port)))
		if seen[key] {
			continue // the same host without TLS (sslmode=prefer)
		}
		seen[key] = true
		hc := cfg.Copy()
		hc.Host, hc.Port, hc.TLSConfig, hc.Fallbacks = h.Host, h.Port, h.TLSConfig, nil
		hc.ValidateConnect, hc.AfterConnect = nil, nil // standbys too: they become primaries
		hc.RuntimeParams = map[string]string{"application_name": "fieldcased timeline watch"}
		if hc.ConnectTimeout == 0 || hc.ConnectTimeout > 2*time.Second {
			hc.ConnectTimeout = 2 * time.Second
		}
		f.watched.Add(1)
		go f.watchHost(ctx, hc)
	}
}

func (f *fence) watchHost(ctx context.Context, cfg *pgconn.Config) {
	defer f.watched.Done()
	var conn *pgconn.PgConn
	closeConn := func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(cctx)
		cancel()
		conn = nil
	}
	defer func() {
		if conn != nil {
			closeConn()
		}
	}()
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		if conn == nil || conn.IsClosed() {
			cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
			c, err := pgconn.ConnectConfig(cctx, cfg)
			cancel()
			if err == nil {
				conn = c
			}
		}
		if conn != nil {
			qctx, cancel := context.WithTimeout(ctx, watchInterval)
			res := conn.ExecParams(qctx, timelineSQL, nil, nil, nil, nil).Read()
			cancel()
			if res.Err == nil && len(res.Rows) == 1 {
				tl, err := strconv.ParseInt(string(res.Rows[0][1]), 10, 64)
				if err == nil {
					f.saw(place{system: string(res.Rows[0][0]), timeline: tl})
				}
			} else if res.Err != nil {
				closeConn()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// close stops the watcher.
func (f *fence) close() {
	if f.stop != nil {
		f.stop()
	}
	f.watched.Wait()
}

// handedOut gives the fence what the committed transaction t read or wrote
// of the logs' ends on p.
func (t *tx) handedOut(p place) {
	logSize, seq := t.seenLog, t.seenSeq
	if t.logApp != nil {
		logSize = max(logSize, t.logApp.Size())
	}
	if t.n > 0 {
		seq = max(seq, uint64(t.base|(t.n-1)))
	}
	t.store.fence.handedOut(p, logSize, seq)
}
