// Package agent keeps an unlocked vault's device identity for a while so
// scripted commands need not pay the passphrase's key derivation each time,
// as ssh-agent keeps keys for ssh. It is opt-in ('fieldcase agent start').
//
// The agent listens on a Unix socket in a directory only its user can
// enter (0700), and admits only its own user and root by the peer's
// credentials. It forgets the identity and exits after Idle without a
// request (the TUI's idle-lock time), after Max in all, or when told to
// ('fieldcase agent stop', or a TUI locking). Every command asks it for the
// identity of one vault, by the vault's id.
//
// What it does not protect against: a process running as the same user can
// ask the agent for the identity while it lives, as it could read the
// memory of a running TUI. That is the price of not typing the passphrase,
// and why the agent is opt-in and short-lived.
package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/fieldcase/fieldcase/internal/peercred"
)

// EnvSocket names the variable that overrides the socket's path.
const EnvSocket = "FIELDCASE_AGENT_SOCK"

// ErrNotRunning is returned when no agent answers on the socket.
var ErrNotRunning = errors.New("no unlock agent is running")

// ErrNotHeld is returned when the agent holds no identity for the vault.
var ErrNotHeld = errors.New("the unlock agent does not hold this vault")

// SocketPath is where the agent listens: $FIELDCASE_AGENT_SOCK, else
// $XDG_RUNTIME_DIR/fieldcase/agent.sock, else a per-user directory in the
// system's temporary directory.
func SocketPath(getenv func(string) string) string {
	if p := getenv(EnvSocket); p != "" {
		return p
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "fieldcase", "agent.sock")
	}
	return filepath.Join(os.TempDir(), "fieldcase-"+strconv.Itoa(os.Getuid()), "agent.sock")
}

// request and response are one JSON line each way, one exchange per
// connection.
type request struct {
	Op    string `json:"op"` // "get", "status", "stop"
	Vault string `json:"vault,omitempty"`
}

type response struct {
	Error    string    `json:"error,omitempty"`
	Identity string    `json:"identity,omitempty"`
	Vault    string    `json:"vault,omitempty"`
	Name     string    `json:"name,omitempty"`
	IdleEnds time.Time `json:"idle_ends,omitzero"`
	Ends     time.Time `json:"ends,omitzero"`
}

// Status is what a running agent says about itself.
type Status struct {
	Vault    string    // the vault's id
	Name     string    // the vault's file name, for people
	IdleEnds time.Time // when it stops unless asked again
	Ends     time.Time // when it stops in any case
}

// Agent holds one vault's identity. The zero value is not usable: use New.
type Agent struct {
	vault, name string
	idle        time.Duration
	now         func() time.Time

	mu       sync.Mutex
	identity []byte // nil once forgotten
	lastUse  time.Time
	ends     time.Time
	stopped  chan struct{}
	stopOnce sync.Once
}

// New makes an agent holding identity (the exported device identity) for
// the vault with id vault, forgetting it after idle without a request or
// max in all. name is the vault's file name, shown by status.
func New(vault, name string, identity []byte, idle, max time.Duration) *Agent {
	return newAt(vault, name, identity, idle, max, time.Now)
}

func newAt(vault, name string, identity []byte, idle, max time.Duration, now func() time.Time) *Agent {
	t := now()
	return &Agent{vault: vault, name: name, identity: identity, idle: idle, now: now,
		lastUse: t, ends: t.Add(max), stopped: make(chan struct{})}
}

// Stop forgets the identity; Serve returns.
func (a *Agent) Stop() {
	a.stopOnce.Do(func() {
		a.mu.Lock()
		clear(a.identity) // the bytes this agent owns; Go may have copied them elsewhere
		a.identity = nil
		a.mu.Unlock()
		close(a.stopped)
	})
}

// Stopped is closed when the agent has forgotten the identity.
func (a *Agent) Stopped() <-chan struct{} { return a.stopped }

// expired says whether the agent's time is up at t (the caller holds mu).
func (a *Agent) expired(t time.Time) bool {
	return a.identity == nil || !t.Before(a.lastUse.Add(a.idle)) || !t.Before(a.ends)
}

// answer is the agent's reply to one request.
func (a *Agent) answer(req request) (resp response, stop bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.now()
	if a.expired(t) {
		return response{Error: "expired"}, true
	}
	switch req.Op {
	case "get":
		if req.Vault != a.vault {
			return response{Error: "not held", Vault: a.vault, Name: a.name}, false
		}
		a.lastUse = t
		return response{Identity: string(a.identity), Vault: a.vault}, false
	case "status":
		return response{Vault: a.vault, Name: a.name, IdleEnds: a.lastUse.Add(a.idle), Ends: a.ends}, false
	case "stop":
		return response{}, true
	}
	return response{Error: fmt.Sprintf("unknown request %q", req.Op)}, false
}

// Listen makes the socket at path: its directory is created 0700 (an
// existing one must belong to this user and be closed to others), a stale
// socket is replaced, and a live agent's socket is refused.
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent socket directory: %w", err)
	}
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	if _, err := Ask(path, request{Op: "status"}); err == nil {
		return nil, fmt.Errorf("an unlock agent is already running on %s", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("agent socket: %s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("agent socket: removing a stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("agent socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("agent socket: %w", err)
	}
	return peercred.Listener(ln), nil
}

// Serve answers requests on ln until the agent stops (asked to, idle, or
// at its end), then closes ln (which removes the socket).
func (a *Agent) Serve(ln net.Listener) {
	a.mu.Lock()
	idleEnd, end := a.lastUse.Add(a.idle), a.ends
	a.mu.Unlock()
	go func() {
		// Wake at the earlier deadline; a request may have moved the idle
		// one later, so check again rather than stop.
		for {
			next := min(idleEnd.Sub(a.now()), end.Sub(a.now()))
			select {
			case <-a.stopped:
				ln.Close()
				return
			case <-time.After(max(next, 0)):
			}
			a.mu.Lock()
			exp := a.expired(a.now())
			idleEnd = a.lastUse.Add(a.idle)
			a.mu.Unlock()
			if exp {
				a.Stop()
			}
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			a.Stop()
			return
		}
		a.serveConn(c)
	}
}

func (a *Agent) serveConn(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 4096)).ReadBytes('\n')
	if err != nil {
		return
	}
	var req request
	resp, stop := response{Error: "malformed request"}, false
	if json.Unmarshal(line, &req) == nil {
		resp, stop = a.answer(req)
	}
	b, _ := json.Marshal(resp)
	c.Write(append(b, '\n'))
	if stop {
		a.Stop()
	}
}

// closing is ErrNotRunning when err says the agent closed the connection
// without answering (it was stopping: the socket still took the
// connection, then closed with the listener), else err wrapped as format
// says (a hung agent, a timeout).
func closing(err error, format string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		return ErrNotRunning
	}
	return fmt.Errorf(format, err)
}

// Ask sends one request to the agent at path.
func Ask(path string, req request) (response, error) {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return response{}, ErrNotRunning
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return response{}, closing(err, "unlock agent: %w")
	}
	line, err := bufio.NewReader(io.LimitReader(c, 64<<10)).ReadBytes('\n')
	if err != nil {
		return response{}, closing(err, "unlock agent: no answer: %w")
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return response{}, fmt.Errorf("unlock agent: malformed answer: %w", err)
	}
	if resp.Error == "expired" {
		return resp, ErrNotRunning
	}
	return resp, nil
}

// Identity asks the agent at path for the identity of vault. ErrNotRunning
// when no agent answers, ErrNotHeld when it holds another vault.
func Identity(path, vault string) (string, error) {
	resp, err := Ask(path, request{Op: "get", Vault: vault})
	if err != nil {
		return "", err
	}
	if resp.Error == "not held" {
		return "", ErrNotHeld
	}
	if resp.Error != "" {
		return "", fmt.Errorf("unlock agent: %s", resp.Error)
	}
	return resp.Identity, nil
}

// AskStatus asks the agent at path what it holds and until when.
func AskStatus(path string) (Status, error) {
	resp, err := Ask(path, request{Op: "status"})
	if err != nil {
		return Status{}, err
	}
	if resp.Error != "" {
		return Status{}, fmt.Errorf("unlock agent: %s", resp.Error)
	}
	return Status{Vault: resp.Vault, Name: resp.Name, IdleEnds: resp.IdleEnds, Ends: resp.Ends}, nil
}

// AskStop tells the agent at path to forget its identity and exit. No
// agent running is not an error.
func AskStop(path string) error {
	_, err := Ask(path, request{Op: "stop"})
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	return err
}
