package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
)

// openPostgres opens the PostgreSQL store at url, explaining failures.
func openPostgres(ctx context.Context, url string, opts pgstore.Options) (*pgstore.Store, error) {
	if !pgstore.IsURL(url) {
		return nil, cli.WithHint(errors.New("--db must be a PostgreSQL URL"),
			"use postgres://USER@HOST:PORT/DATABASE, or leave --db and FIELDCASED_DB unset for the bbolt store in the data directory")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := pgstore.Open(ctx, url, opts)
	if err != nil {
		return nil, dbError(url, err)
	}
	return st, nil
}

// dbError explains a database failure without repeating the URL (it may
// hold a password).
func dbError(url string, err error) error {
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgstore.ErrBadParam):
		// The message names the parameter, never the URL.
		return cli.WithHint(fmt.Errorf("--db: %w", err), "see docs/OPERATIONS.md, \"Connections, timeouts and failover\"")
	case errors.Is(err, pgstore.ErrBadURL):
		return cli.WithHint(errors.New("--db is not a valid PostgreSQL URL"), "use postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full")
	case errors.Is(err, pgstore.ErrStatementsLost):
		return cli.WithHint(fmt.Errorf("database %s: %w", describeDB(url), err),
			"behind pgbouncer in transaction pooling, add default_query_exec_mode=cache_describe to --db's URL (docs/OPERATIONS.md, PostgreSQL)")
	case errors.Is(err, pgstore.ErrSchemaNewer):
		return cli.WithHint(err, "this database was upgraded by a newer fieldcased: run that version (or newer), never an older one")
	case errors.As(err, &pe) && pe.Code == "3D000":
		return cli.WithHint(fmt.Errorf("database %s does not exist", describeDB(url)), "create it first: createdb -O fieldcased fieldcase")
	case errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000"):
		return cli.WithHint(fmt.Errorf("PostgreSQL refused the login to %s", describeDB(url)), "check the user and password (FIELDCASED_DB, ~/.pgpass) and pg_hba.conf")
	case errors.As(err, &pe) && pe.Code == "42501":
		return cli.WithHint(fmt.Errorf("the database user may not change the schema of %s: %s", describeDB(url), pe.Message),
			"fieldcased creates and migrates its tables: give its user ownership of the database (or of its schema)")
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, new(*pgconn.ConnectError)):
		return cli.WithHint(fmt.Errorf("cannot reach the database %s: %w", describeDB(url), err),
			"check that PostgreSQL runs and accepts connections from this host, and --db / FIELDCASED_DB")
	}
	return fmt.Errorf("database %s: %w", describeDB(url), err)
}

// describeDB names a database for people and logs: host, port and name,
// never the password.
func describeDB(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "(unparsable URL)"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// poolCollector exports the connection pool's state as Prometheus metrics.
type poolCollector struct {
	st                                                 *pgstore.Store
	acquired, idle, total, max, waits, acquires, waitS *prometheus.Desc
}

func newPoolCollector(st *pgstore.Store) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("fieldcased_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		st:       st,
		acquired: d("acquired_connections", "Connections in use."),
		idle:     d("idle_connections", "Idle connections."),
		total:    d("total_connections", "Open connections."),
		max:      d("max_connections", "The pool's limit (--db-max-conns)."),
		acquires: d("acquires_total", "Connections handed to requests."),
		waits:    d("empty_acquires_total", "Requests that had to wait for a connection (the pool was empty)."),
		waitS:    d("acquire_wait_seconds_total", "Time requests spent waiting for a connection."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquires, c.waits, c.waitS} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.Stat()
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waitS, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds())
}

// MigrateCmd copies a bbolt store into PostgreSQL.
type MigrateCmd struct {
	From string `required:"" help:"The source: bbolt:DIR (a data directory) or bbolt:FILE (a store or backup file)." placeholder:"bbolt:DIR"`
	To   string `required:"" env:"FIELDCASED_DB" help:"The target PostgreSQL database (empty; default $FIELDCASED_DB)." placeholder:"postgres://…"`
}

func (c *MigrateCmd) Run(a *app) error {
	src, ok := strings.CutPrefix(c.From, "bbolt:")
	if !ok || src == "" {
		return cli.WithHint(fmt.Errorf("--from %q: want bbolt:DIR", c.From), "name the data directory of the bbolt server, e.g. --from bbolt:/var/lib/fieldcased")
	}
	path, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		if cl, err := server.DialAdmin(a.ctx, filepath.Join(path, server.AdminSocketName)); err == nil && cl != nil {
			return cli.WithHint(fmt.Errorf("a server is running on %s", path), "stop it first: the copy must be of a store nobody writes to")
		}
		path = filepath.Join(path, boltstore.FileName)
	}
	st, err := openPostgres(a.ctx, c.To, pgstore.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(a.stderr, "copying %s into %s …\n", path, describeDB(c.To))
	start := time.Now()
	counts, err := pgstore.ImportBolt(a.ctx, path, st)
	if err != nil {
		return moveError(path, err)
	}
	fmt.Fprintf(a.stdout, "migrated %s\n", counts)
	fmt.Fprintf(a.stdout, "verified: every revision, blob and change log entry matches (%s)\n", time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(a.stderr, "next: fieldcased serve --db … ; the copy has a new epoch, so devices pull once from the start\nkeep %s until the new server has run a while, and never start the old server again\n", path)
	return nil
}

// moveError explains a failed import.
func moveError(path string, err error) error {
	switch {
	case errors.Is(err, server.ErrLocked):
		return cli.WithHint(fmt.Errorf("%s is in use by a running fieldcased", path), "stop the server first: the copy must be of a store nobody writes to")
	case errors.Is(err, pgstore.ErrNotEmpty):
		return cli.WithHint(errors.New("the target database already holds fieldcased data"), "copy into a new, empty database (createdb), so nothing is mixed or overwritten")
	case errors.Is(err, pgstore.ErrNotBoltStore):
		return cli.WithHint(err, "name a fieldcased data directory or a file written by 'fieldcased backup'")
	case errors.Is(err, os.ErrNotExist):
		return cli.WithHint(fmt.Errorf("%s does not exist", path), "check the path")
	}
	return err
}

// restorePostgres restores a backup file into an empty PostgreSQL database.
func restorePostgres(a *app, from string) error {
	st, err := openPostgres(a.ctx, a.cli.DB, pgstore.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	counts, err := pgstore.ImportBolt(a.ctx, from, st)
	if err != nil {
		return moveError(from, err)
	}
	fmt.Fprintf(a.stdout, "restored %s into %s: %s\nverified: every revision, blob and change log entry matches\n", from, describeDB(a.cli.DB), counts)
	fmt.Fprintln(a.stderr, "devices will re-pull from the start (410 Gone) and re-push what the backup lacks")
	return nil
}

// NewEpochCmd gives a PostgreSQL store a new epoch.
type NewEpochCmd struct{}

func (c *NewEpochCmd) Run(a *app) error {
	if a.cli.DB == "" {
		return cli.WithHint(errors.New("new-epoch is for a PostgreSQL store (--db or FIELDCASED_DB)"),
			"a bbolt store gets its new epoch from 'fieldcased restore'")
	}
	st, err := openPostgres(a.ctx, a.cli.DB, pgstore.Options{MaxConns: 1})
	if err != nil {
		return err
	}
	defer st.Close()
	epoch, err := st.NewEpoch(a.ctx)
	if err != nil {
		return dbError(a.cli.DB, err)
	}
	fmt.Fprintf(a.stdout, "new epoch %s\n", epoch)
	fmt.Fprintln(a.stderr, "devices will re-pull from the start (410 Gone) and re-push what the restored database lacks")
	return nil
}
