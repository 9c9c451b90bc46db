package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
)

// Replication: a primary and a streaming standby, for failover tests
// (issue 17). The standby is a pg_basebackup -R of the primary; it streams
// either straight from the primary or through a proxy (NewWALProxy) that a test can
// hold, so that the standby lags behind what the primary acknowledged.

// PrimaryOptions shape a primary.
type PrimaryOptions struct {
	// Synchronous makes every commit wait until the standby has flushed
	// it (synchronous_standby_names = '*', synchronous_commit = on).
	Synchronous bool
}

// StartPrimary starts a private cluster ready to stream to standbys.
func StartPrimary(t testing.TB, opts PrimaryOptions) *Cluster {
	t.Helper()
	conf := "wal_level = replica\nmax_wal_senders = 5\nwal_keep_size = '64MB'\n"
	if opts.Synchronous {
		conf += "synchronous_commit = on\nsynchronous_standby_names = '*'\n"
	}
	return startCluster(t, conf)
}

// StandbyOptions shape a standby.
type StandbyOptions struct {
	// Through streams WAL through a proxy the test can hold (nil: straight
	// from the primary).
	Through *faultproxy.TCP
}

// StartStandby makes a standby of c with pg_basebackup -R, starts it on a
// free port and waits until it streams (and, for a synchronous primary,
// is its synchronous standby).
func (c *Cluster) StartStandby(opts StandbyOptions) *Cluster {
	t := c.t
	t.Helper()
	dir, err := os.MkdirTemp("", "fcsb")
	if err != nil {
		t.Fatal(err)
	}
	s := &Cluster{t: t, bin: c.bin, dir: dir, data: filepath.Join(dir, "data")}
	if err := chownToPostgres(dir); err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Thaw()
		s.pgctl("stop", "-m", "immediate", "-w", "-t", "20")
		os.RemoveAll(dir)
	})
	if out, err := s.command(filepath.Join(c.bin, "pg_basebackup"), "-D", s.data, "-h", "127.0.0.1", "-p", strconv.Itoa(c.port),
		"-U", "postgres", "-R", "-X", "stream", "--checkpoint=fast", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	host, port := "127.0.0.1", c.port
	if opts.Through != nil {
		_, p, _ := net.SplitHostPort(opts.Through.Addr())
		port, _ = strconv.Atoi(p)
	}
	// postgresql.conf came with the backup: the standby's own socket
	// directory, and no synchronous standby of its own once promoted.
	// primary_conninfo in postgresql.auto.conf (read last) wins over -R's.
	appendFile(t, filepath.Join(s.data, "postgresql.conf"),
		fmt.Sprintf("\nunix_socket_directories = '%s'\nsynchronous_standby_names = ''\nwal_receiver_status_interval = 1s\n", dir))
	appendFile(t, filepath.Join(s.data, "postgresql.auto.conf"),
		fmt.Sprintf("\nprimary_conninfo = 'host=%s port=%d user=postgres application_name=standby'\n", host, port))
	for try := 0; ; try++ {
		s.port = freePort(t)
		if err := s.pgctl("start", "-o", fmt.Sprintf("-p %d", s.port), "-l", filepath.Join(dir, "log"), "-w", "-t", "30"); err == nil {
			break
		} else if try == 4 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("starting the standby: %v\n%s", err, log)
		}
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
	want := "state = 'streaming'"
	if strings.Contains(readFile(filepath.Join(c.data, "postgresql.conf")), "synchronous_standby_names = '*'") {
		want += " AND sync_state = 'sync'"
	}
	c.WaitFor(30*time.Second, "the standby to stream", "SELECT count(*) > 0 FROM pg_stat_replication WHERE "+want)
	return s
}

// Port is the port the server listens on.
func (c *Cluster) Port() int { return c.port }

// WaitFor polls query (one boolean) on the cluster's postgres database
// until it is true, failing t after timeout.
func (c *Cluster) WaitFor(timeout time.Duration, what, query string) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := c.queryBool(query)
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("waiting %s for %s: %v", timeout, what, last)
}

func (c *Cluster) queryBool(query string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	var ok bool
	err = conn.QueryRow(ctx, query).Scan(&ok)
	return ok, err
}

// Promote makes a standby a primary (pg_ctl promote, waiting until it
// accepts writes).
func (c *Cluster) Promote() {
	c.t.Helper()
	if err := c.pgctl("promote", "-w", "-t", "30"); err != nil {
		c.t.Fatal(err)
	}
}

// Crash stops the server as a crash would (pg_ctl stop -m immediate: every
// process quits at once, nothing is flushed or checkpointed).
func (c *Cluster) Crash() {
	c.t.Helper()
	if err := c.pgctl("stop", "-m", "immediate", "-w", "-t", "30"); err != nil {
		c.t.Fatal(err)
	}
}

// Freeze stops every process of the server with SIGSTOP, as a host that
// hangs: connections stay open and unanswered. Backends stop first and
// the WAL senders last, once the standby has received all there is, so a
// synchronous standby holds everything the primary committed.
func (c *Cluster) Freeze(standby *Cluster) {
	c.t.Helper()
	pm := c.postmaster()
	if pm == 0 {
		c.t.Fatal("freeze: the server is not running")
	}
	syscall.Kill(pm, syscall.SIGSTOP)
	var senders []int
	for _, pid := range children(pm) {
		if strings.Contains(readFile(fmt.Sprintf("/proc/%d/cmdline", pid)), "walsender") {
			senders = append(senders, pid)
			continue
		}
		syscall.Kill(pid, syscall.SIGSTOP)
	}
	if standby != nil && len(senders) > 0 {
		standby.waitReceivedSettles()
	}
	for _, pid := range senders {
		syscall.Kill(pid, syscall.SIGSTOP)
	}
	c.frozen = append([]int{pm}, children(pm)...)
}

// waitReceivedSettles waits until the standby's received WAL position
// stops moving (the same over 100 ms).
func (c *Cluster) waitReceivedSettles() {
	c.t.Helper()
	last := ""
	for range 100 {
		var lsn string
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, c.URL)
		if err == nil {
			err = conn.QueryRow(ctx, "SELECT coalesce(pg_last_wal_receive_lsn()::text, '')").Scan(&lsn)
			conn.Close(ctx)
		}
		cancel()
		if err == nil && lsn != "" && lsn == last {
			return
		}
		last = lsn
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("the standby's received WAL did not settle")
}

// Thaw resumes a frozen server (SIGCONT).
func (c *Cluster) Thaw() {
	for _, pid := range c.frozen {
		syscall.Kill(pid, syscall.SIGCONT)
	}
	c.frozen = nil
}

// postmaster is the server's process id (0 when not running).
func (c *Cluster) postmaster() int {
	line, _, _ := strings.Cut(readFile(filepath.Join(c.data, "postmaster.pid")), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat := readFile(fmt.Sprintf("/proc/%d/stat", p))
		// pid (comm) state ppid …: comm may hold spaces, so cut at its ')'.
		i := strings.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(stat[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// NewWALProxy starts a proxy between a standby and this cluster, its
// primary, that a test can freeze: while frozen, no byte passes either way,
// so the standby falls behind (the walreceiver waits; PostgreSQL notices
// nothing for wal_receiver_timeout). Nothing else stops streaming as
// reliably: pg_wal_replay_pause stops replay, not receiving. It is closed
// when t ends.
func (c *Cluster) NewWALProxy() *faultproxy.TCP {
	c.t.Helper()
	p, err := faultproxy.NewTCP(fmt.Sprintf("127.0.0.1:%d", c.port))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { p.Close() })
	return p
}
