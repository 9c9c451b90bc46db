package pgtest

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Pgbouncer starts a pgbouncer in transaction pooling (what agencies put in
// front of PostgreSQL) on a free port of 127.0.0.1, in front of the server
// of dbURL, as a child process with its configuration in a temporary
// directory (as the postgres user when run as root: pgbouncer refuses
// root). It returns dbURL through the pgbouncer; it is stopped when t ends.
// Every database of the server is reachable through it; each database and
// user gets at most poolSize server connections. settings are more lines
// for its [pgbouncer] section ("server_round_robin = 1").
func Pgbouncer(t testing.TB, dbURL string, poolSize int, settings ...string) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		unavailable(t, "pgbouncer is not installed (scripts/deps.sh installs it)")
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatalf("database URL without host:port: %v", err)
	}
	dir, err := os.MkdirTemp("", "fcpgb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var runAs []string
	if os.Getuid() == 0 {
		pu, err := user.Lookup("postgres")
		if err != nil {
			unavailable(t, "running as root and there is no postgres user")
		}
		uid, _ := strconv.Atoi(pu.Uid)
		gid, _ := strconv.Atoi(pu.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	name := u.User.Username()
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), fmt.Appendf(nil, "%q \"\"\n", name), 0o644); err != nil {
		t.Fatal(err)
	}
	for try := 0; ; try++ {
		listen := freePort(t)
		conf := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 500
logfile = %s
ignore_startup_parameters = extra_float_digits
%s
`, host, port, listen, filepath.Join(dir, "users.txt"), poolSize, filepath.Join(dir, "pgbouncer.log"), strings.Join(settings, "\n"))
		cfgPath := filepath.Join(dir, "pgbouncer.ini")
		if err := os.WriteFile(cfgPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		args := append(append([]string{}, runAs...), bin, "-q", cfgPath)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		// Its own process group, so that stopping it reaches pgbouncer
		// under runuser too.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting pgbouncer: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(listen))
		if waitListening(addr, filepath.Join(dir, "pgbouncer.log"), exited) {
			t.Cleanup(stop)
			u.Host = addr
			return u.String()
		}
		stop()
		if try == 4 {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer did not start:\n%s", log)
		}
	}
}

// waitListening waits up to ten seconds for pgbouncer to listen on addr,
// giving up early when the process has exited (its port taken, say). It
// goes by pgbouncer's own log line, not by a connection: the port was free
// when picked, and another test's listener can take it before pgbouncer
// binds; a dial would then reach that listener and pass.
func waitListening(addr, logPath string, exited <-chan struct{}) bool {
	want := []byte("LOG listening on " + addr + "\n")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case <-exited:
			return false
		default:
		}
		if log, err := os.ReadFile(logPath); err == nil && bytes.Contains(log, want) {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
