package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// target is the server under load.
type target struct {
	url  string
	dir  string // data directory (admin socket)
	pid  int    // 0: unknown
	stop func()
}

// target starts fieldcased, or describes the running one given.
func (c *CLI) target(ctx context.Context, stderr io.Writer) (*target, error) {
	if c.Server != "" {
		if c.Data == "" {
			return nil, cli.WithHint(errors.New("--server needs --data"), "the data directory of that server: devices are enrolled through its admin socket")
		}
		if !strings.HasPrefix(c.Server, "http://127.") && !strings.HasPrefix(c.Server, "http://localhost") && !strings.HasPrefix(c.Server, "https://127.") {
			return nil, cli.WithHint(fmt.Errorf("--server %s is not on this machine", c.Server), "load tests only target loopback addresses (127.0.0.0/8)")
		}
		return &target{url: c.Server, dir: c.Data, pid: c.PID, stop: func() {}}, nil
	}
	bin, err := c.fieldcasedBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fcload")
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--no-tls", "--log-level", "warn",
		"--enroll-per-addr", "100000/1ms", "--enroll-global", "100000/1ms"}
	if c.DB != "" {
		args = append(args, "--db", c.DB)
	}
	args = append(args, c.ServerArgs...)
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	done := make(chan struct{})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				urls <- u
			}
		}
	}()
	go func() { cmd.Wait(); close(done) }()
	t := &target{dir: dir, pid: cmd.Process.Pid}
	t.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if log, _ := os.ReadFile(filepath.Join(dir, "server.log")); len(log) > 0 {
			fmt.Fprintf(stderr, "server log (warnings and errors):\n%s", tail(log, 20))
		}
		os.RemoveAll(dir)
	}
	select {
	case t.url = <-urls:
	case <-done:
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("fieldcased exited at start:\n%s", log)
	case <-time.After(60 * time.Second):
		t.stop()
		return nil, errors.New("fieldcased did not start in 60s")
	case <-ctx.Done():
		t.stop()
		return nil, ctx.Err()
	}
	for range 100 {
		if resp, err := http.Get(t.url + protocol.PathReady); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return t, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.stop()
	return nil, errors.New("fieldcased never became ready")
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… %d lines before", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n") + "\n"
}

// procCPU is the CPU time (user + system) a process has used.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// procRSS is a process's resident memory in bytes.
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// postgresCPU is the CPU time of every process named postgres (the
// database on this machine), so a run's database cost shows too.
func postgresCPU() time.Duration {
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) == "postgres" {
			total += procCPU(pid)
		}
	}
	return total
}
