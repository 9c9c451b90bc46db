package agent

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sockDir is a short private directory: a Unix socket's path has a limit
// (108 bytes) that t.TempDir's long names can pass.
func sockDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "fca")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, "agent")
}

// start serves a on a socket in a fresh directory until the test ends.
func start(t *testing.T, a *Agent) string {
	t.Helper()
	path := filepath.Join(sockDir(t), "agent.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Serve(ln); close(done) }()
	t.Cleanup(func() { a.Stop(); <-done })
	return path
}

func TestAgentGivesTheIdentityOfItsVaultOnly(t *testing.T) {
	a := New("vault-1", "work.db", []byte("AGE-SECRET-KEY-TEST"), time.Hour, 2*time.Hour)
	path := start(t, a)
	id, err := Identity(path, "vault-1")
	if err != nil || id != "AGE-SECRET-KEY-TEST" {
		t.Fatalf("Identity = %q, %v", id, err)
	}
	if _, err := Identity(path, "vault-2"); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("another vault: %v, want ErrNotHeld", err)
	}
	st, err := AskStatus(path)
	if err != nil || st.Vault != "vault-1" || st.Name != "work.db" || st.IdleEnds.IsZero() || st.Ends.Before(st.IdleEnds) {
		t.Fatalf("status = %+v, %v", st, err)
	}
}

func TestAgentStopForgetsAndRemovesTheSocket(t *testing.T) {
	secret := []byte("AGE-SECRET-KEY-TEST")
	a := New("v", "v.db", secret, time.Hour, time.Hour)
	path := start(t, a)
	if err := AskStop(path); err != nil {
		t.Fatal(err)
	}
	<-a.Stopped()
	if string(secret) != strings.Repeat("\x00", len(secret)) {
		t.Fatalf("the identity's bytes were not cleared: %q", secret)
	}
	if _, err := Identity(path, "v"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("after stop: %v, want ErrNotRunning", err)
	}
	// Serve closes the listener, which removes the socket file.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("socket file still there after stop")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := AskStop(path); err != nil {
		t.Fatalf("stopping no agent: %v, want nil", err)
	}
}

// clock is a settable time for the expiry rules.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestAgentForgetsWhenIdleOrAtItsEnd(t *testing.T) {
	get := request{Op: "get", Vault: "v"}
	t.Run("idle", func(t *testing.T) {
		c := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
		a := newAt("v", "", []byte("K"), 10*time.Minute, 8*time.Hour, c.now)
		for range 3 { // each use moves the idle deadline on
			c.add(9 * time.Minute)
			if r, stop := a.answer(get); stop || r.Identity != "K" {
				t.Fatalf("in use: %+v stop=%v", r, stop)
			}
		}
		c.add(10 * time.Minute)
		if r, stop := a.answer(get); !stop || r.Identity != "" || r.Error != "expired" {
			t.Fatalf("after idle: %+v stop=%v", r, stop)
		}
	})
	t.Run("end", func(t *testing.T) {
		c := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
		a := newAt("v", "", []byte("K"), 10*time.Minute, 25*time.Minute, c.now)
		for range 2 {
			c.add(9 * time.Minute)
			a.answer(get)
		}
		c.add(9 * time.Minute) // used 9 min ago, but 27 min since it began
		if r, stop := a.answer(get); !stop || r.Identity != "" {
			t.Fatalf("past its end: %+v stop=%v", r, stop)
		}
	})
}

func TestAgentStopsByItselfWhenIdle(t *testing.T) {
	a := New("v", "", []byte("K"), 50*time.Millisecond, time.Hour)
	start(t, a)
	select {
	case <-a.Stopped():
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not stop after its idle time")
	}
}

func TestListenRefusesALiveAgentAndAnOpenDirectory(t *testing.T) {
	path := start(t, New("v", "", []byte("K"), time.Hour, time.Hour))
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second agent: %v", err)
	}

	open := filepath.Join(sockDir(t), "open")
	if err := os.MkdirAll(open, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o755)
	if _, err := Listen(filepath.Join(open, "agent.sock")); err == nil || !strings.Contains(err.Error(), "open to other users") {
		t.Fatalf("open directory: %v", err)
	}

	// A socket left by an agent that died is replaced.
	stale := filepath.Join(sockDir(t), "agent.sock")
	os.MkdirAll(filepath.Dir(stale), 0o700)
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	ln2, err := Listen(stale)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln2.Close()
}

func TestAgentAnswersMalformedRequestsAndGoesOn(t *testing.T) {
	path := start(t, New("v", "", []byte("K"), time.Hour, time.Hour))
	for _, bad := range []string{"not json\n", `{"op":"format c:"}` + "\n", strings.Repeat("x", 10000)} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(bad))
		c.(*net.UnixConn).CloseWrite()
		buf := make([]byte, 512)
		n, _ := c.Read(buf)
		c.Close()
		if strings.Contains(string(buf[:n]), `"identity"`) {
			t.Fatalf("a malformed request got the identity: %s", buf[:n])
		}
	}
	if id, err := Identity(path, "v"); err != nil || id != "K" {
		t.Fatalf("after malformed requests: %q, %v", id, err)
	}
}
