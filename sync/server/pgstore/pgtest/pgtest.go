// Package pgtest gives tests their own PostgreSQL databases: a fresh,
// empty database per test on the server named by FIELDCASE_TEST_PG_URL
// (scripts/test.sh starts one with scripts/test-postgres.sh), or a whole
// private cluster for tests that restart PostgreSQL.
//
// Without FIELDCASE_TEST_PG_URL (or PostgreSQL's binaries, for a cluster) a
// test is skipped, unless CI=true: then it fails, so CI never passes by
// skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding the test server's URL.
const EnvURL = "FIELDCASE_TEST_PG_URL"

// unavailable skips t, or fails it under CI.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: PostgreSQL tests must run; see scripts/test.sh)", why)
	}
	t.Skipf("%s: skipping PostgreSQL test", why)
}

// URL creates an empty database for t and returns its URL; the database is
// dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		unavailable(t, EnvURL+" is not set")
	}
	return NewDatabase(t, base)
}

// NewDatabase creates an empty database on the server at base (a URL of
// any database there) and returns its URL; it is dropped when t ends.
func NewDatabase(t testing.TB, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "fct_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to the test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("dropping test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Cluster is a private PostgreSQL server for one test, for tests that stop
// or restart it.
type Cluster struct {
	t    testing.TB
	bin  string
	dir  string
	data string
	port int
	// frozen are the processes Freeze stopped.
	frozen []int
	// URL is the cluster's postgres database.
	URL string
}

func bindir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return strings.Compare(b, a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	return ""
}

// StartCluster runs initdb into a temporary directory and starts a server
// on a free port of 127.0.0.1 (as the postgres user when run as root:
// PostgreSQL refuses root). It is stopped and removed when t ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	return startCluster(t, "")
}

// startCluster is StartCluster with more postgresql.conf lines (later
// lines win).
func startCluster(t testing.TB, extraConf string) *Cluster {
	t.Helper()
	if os.Getenv(EnvURL) == "" {
		unavailable(t, EnvURL+" is not set")
	}
	bin := bindir()
	if bin == "" {
		unavailable(t, "PostgreSQL binaries not found in /usr/lib/postgresql")
	}
	dir, err := os.MkdirTemp("", "fcpg")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	if err := chownToPostgres(dir); err != nil {
		os.RemoveAll(dir)
		unavailable(t, err.Error())
	}
	t.Cleanup(func() {
		c.Thaw()
		c.pgctl("stop", "-m", "immediate", "-w", "-t", "20")
		os.RemoveAll(dir)
	})
	if out, err := c.command(filepath.Join(bin, "initdb"), "-D", c.data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n", dir)
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(conf + extraConf)
	f.Close()
	for try := 0; ; try++ {
		c.port = freePort(t)
		if err := c.pgctl("start", "-o", fmt.Sprintf("-p %d", c.port), "-l", filepath.Join(dir, "log"), "-w", "-t", "30"); err == nil {
			break
		} else if try == 4 {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("starting PostgreSQL: %v\n%s", err, log)
		}
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	return c
}

// chownToPostgres gives dir to the postgres user when run as root
// (PostgreSQL refuses to run as root).
func chownToPostgres(dir string) error {
	if os.Getuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root and there is no postgres user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	if os.Getuid() == 0 {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	return cmd
}

// pgctl runs pg_ctl with its output in a file, not a pipe: a postmaster
// it starts must hold nothing of ours open.
func (c *Cluster) pgctl(args ...string) error {
	out, err := os.CreateTemp(c.dir, "pg_ctl-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := c.command(filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", c.data}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		return fmt.Errorf("pg_ctl %s: %v: %s", args[0], err, b)
	}
	return nil
}

// Stop shuts the server down fast (connections are cut).
func (c *Cluster) Stop() {
	c.t.Helper()
	if err := c.pgctl("stop", "-m", "fast", "-w", "-t", "30"); err != nil {
		c.t.Fatal(err)
	}
}

// Start starts a stopped server again on its port.
func (c *Cluster) Start() {
	c.t.Helper()
	if err := c.pgctl("start", "-o", fmt.Sprintf("-p %d", c.port), "-l", filepath.Join(c.dir, "log"), "-w", "-t", "30"); err != nil {
		c.t.Fatal(err)
	}
}

// Restart stops the server fast (every connection is cut) and starts it
// again, as pg_ctl restart does.
func (c *Cluster) Restart() {
	c.t.Helper()
	c.Stop()
	c.Start()
}
