package syncharness

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Escrow is a real escrow service ('fieldcased escrow serve') on
// 127.0.0.1, with its own file, named to the server's roster by the
// agency ('fieldcased escrow set', with a receipt key).
type Escrow struct {
	t       testing.TB
	s       *Server
	File    string // the escrow file
	URL     string // http://127.0.0.1:port, fixed across restarts
	keyFile string
	agency  string
	cmd     *exec.Cmd
	done    chan struct{}
	log     *bytes.Buffer
}

// StartEscrow starts an escrow service for s's agency and names it in
// s's roster. Devices that sync afterwards deposit the escrow keys of the
// cases they create with it.
func StartEscrow(t testing.TB, s *Server) *Escrow {
	t.Helper()
	dir := t.TempDir()
	e := &Escrow{t: t, s: s, File: filepath.Join(dir, "escrow.db"), keyFile: filepath.Join(dir, "receipt.key")}
	e.agency = strings.SplitN(s.Admin("agency", "show"), "\n", 2)[0]
	pub := strings.TrimSpace(s.Admin("escrow", "keygen", "--out", e.keyFile))
	// A fixed port: the roster names one address, and the service is
	// stopped and started again on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e.URL = "http://" + addr
	e.Start()
	t.Cleanup(e.Stop)
	s.Admin("escrow", "set", e.URL, "--receipt-key", pub)
	return e
}

// Start starts the service on its address.
func (e *Escrow) Start() {
	e.t.Helper()
	cmd := exec.Command(serverBinary(e.t), "escrow", "serve", "--file", e.File, "--agency", e.agency,
		"--listen", strings.TrimPrefix(e.URL, "http://"), "--no-tls", "--receipt-key", e.keyFile)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	e.log = &bytes.Buffer{}
	cmd.Stderr = e.log
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.cmd, e.done = cmd, make(chan struct{})
	up := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "escrow service listening on ") {
				up <- struct{}{}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { cmd.Wait(); close(e.done) }()
	select {
	case <-up:
	case <-e.done:
		e.t.Fatalf("escrow service exited at start:\n%s", e.log)
	case <-time.After(30 * time.Second):
		e.t.Fatalf("escrow service did not start:\n%s", e.log)
	}
}

// Stop stops the service (SIGTERM) and waits for it.
func (e *Escrow) Stop() {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(30 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
	}
	e.cmd = nil
}

// Snapshot copies the escrow file, as the escrow service's own backup
// would, stopping the service for the copy.
func (e *Escrow) Snapshot(path string) {
	e.t.Helper()
	running := e.cmd != nil
	e.Stop()
	b, err := os.ReadFile(e.File)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	if running {
		e.Start()
	}
}

// Log is what the service wrote to its standard error (JSON lines).
func (e *Escrow) Log() string { return e.log.String() }
