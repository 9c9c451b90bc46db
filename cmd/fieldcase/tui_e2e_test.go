package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/demo"
)

// tmuxSockets numbers this process's tmux servers: tests run in parallel.
var tmuxSockets atomic.Int64

// tmuxSession drives the real binary in a real terminal.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, cols, rows int, env []string, args ...string) *tmuxSession {
	t.Helper()
	cmdline := strings.Join(append(env, append([]string{filepath.Join(binDir, "fieldcase")}, args...)...), " ")
	return newTmuxCmd(t, cols, rows, "env "+cmdline)
}

// newTmuxCmd runs a shell command line in a new tmux session; the pane
// stays after it exits, so its last screen can be read.
func newTmuxCmd(t *testing.T, cols, rows int, cmdline string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux not installed (make deps installs it)")
		}
		t.Skip("tmux not installed")
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("fc%d-%d", os.Getpid(), tmuxSockets.Add(1))}
	s.run("new-session", "-d", "-s", "S", "-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows), cmdline)
	s.run("set-option", "-t", "S", "remain-on-exit", "on")
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.run("capture-pane", "-p", "-t", "S") }

// waitFor polls the screen until it shows want (a real terminal has no
// message to wait on), failing after a minute: unlocking costs a real scrypt
// (256 MiB), which a machine busy with other test packages can stretch far
// beyond the second it takes on an idle laptop (seen: over 15 s).
func (s *tmuxSession) waitFor(want string) {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if strings.Contains(s.screen(), want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("screen never showed %q:\n%s", want, s.screen())
}

// typeText types text literally ("--": a random passphrase may begin
// with "-", which tmux would take for a flag).
func (s *tmuxSession) typeText(text string) { s.run("send-keys", "-t", "S", "-l", "--", text) }
func (s *tmuxSession) key(k string)         { s.run("send-keys", "-t", "S", k) }

func (s *tmuxSession) pid() int {
	n, err := strconv.Atoi(strings.TrimSpace(s.run("display-message", "-p", "-t", "S", "#{pane_pid}")))
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// A caseworker types a note, the laptop dies (SIGKILL to the real process),
// and on reopening the TUI offers the draft back, word for word.
func TestTUIDraftSurvivesKill(t *testing.T) {
	t.Parallel() // its own vault, tmux server and processes
	dir := t.TempDir()
	vault := filepath.Join(dir, "demo.db")
	if _, errOut, code := fc(t, nil, "", "demo", "--cases", "5", "--vault", vault); code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	env := []string{"HOME=" + dir, "TERM=xterm-256color", "NO_COLOR=1"}
	s := newTmux(t, 100, 30, env, "--vault", vault)
	s.waitFor("Demo vault: the passphrase is")
	s.typeText(demo.Passphrase)
	s.key("Enter")
	s.waitFor("DEMO-0001")
	s.typeText("/")
	s.typeText("DEMO-0003")
	s.waitFor("1 match")
	s.key("Enter")          // ends filtering
	s.key("Enter")          // opens the case
	s.waitFor("Next visit") // the case detail is open
	s.typeText("n")
	s.waitFor("New note") // the editor starts in the text area
	text := "Visited at 4pm; the flat was cold and the boiler is broken again"
	s.typeText(text)
	s.waitFor("Draft saved") // sealed into the vault a few seconds after typing stops
	syscall.Kill(s.pid(), syscall.SIGKILL)

	s2 := newTmux(t, 100, 30, env, "--vault", vault)
	s2.waitFor("Demo vault: the passphrase is")
	s2.typeText(demo.Passphrase)
	s2.key("Enter")
	s2.waitFor("resume")
	s2.typeText("r")
	// The prompt shows the draft's text too: wait for the editor itself,
	// or ctrl+s reaches the prompt and is lost.
	s2.waitFor("Draft restored")
	s2.waitFor("the boiler is broken again")
	if !strings.Contains(s2.screen(), "Visited at 4pm") {
		t.Errorf("draft text not restored:\n%s", s2.screen())
	}
	s2.key("C-s")
	s2.waitFor("Note saved") // the editor closes once the note is committed
	s2.key("C-c")
	// The note is now a note, readable from the command line.
	out, errOut, code := fc(t, []string{"FIELDCASE_PASSPHRASE=" + demo.Passphrase, "FIELDCASE_VAULT=" + vault}, "", "search", "boiler", "broken")
	if code != 0 || !strings.Contains(out, "DEMO-0003") {
		t.Fatalf("saved note not found (exit %d):\n%s%s", code, out, errOut)
	}
}

// A caseworker half fills in a new case, the laptop dies (SIGKILL), and on
// reopening the TUI offers the form's draft back, field by field, and it
// saves as a case.
func TestTUICaseFormDraftSurvivesKill(t *testing.T) {
	t.Parallel() // its own vault, tmux server and processes
	dir := t.TempDir()
	vault := filepath.Join(dir, "demo.db")
	if _, errOut, code := fc(t, nil, "", "demo", "--cases", "1", "--vault", vault); code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	env := []string{"HOME=" + dir, "TERM=xterm-256color", "NO_COLOR=1"}
	s := newTmux(t, 100, 30, env, "--vault", vault)
	s.waitFor("Demo vault: the passphrase is")
	s.typeText(demo.Passphrase)
	s.key("Enter")
	s.waitFor("DEMO-0001")
	s.typeText("N")
	s.waitFor("Reference")
	s.typeText("KILL-0001")
	s.key("Tab")
	s.typeText("Sam Killtest")
	s.key("Tab")
	s.key("Tab") // address
	s.typeText("4 Crash Lane")
	s.waitFor("Draft saved") // sealed a few seconds after typing stops
	syscall.Kill(s.pid(), syscall.SIGKILL)

	s2 := newTmux(t, 100, 30, env, "--vault", vault)
	s2.waitFor("Demo vault: the passphrase is")
	s2.typeText(demo.Passphrase)
	s2.key("Enter")
	s2.waitFor("· new case") // the prompt lists the form's draft
	s2.typeText("r")
	s2.waitFor("are back") // the form, with the draft restored
	for _, want := range []string{"KILL-0001", "Sam Killtest", "4 Crash Lane"} {
		if !strings.Contains(s2.screen(), want) {
			t.Errorf("field %q not restored:\n%s", want, s2.screen())
		}
	}
	s2.key("C-s")
	s2.waitFor("Case created.")
	s2.key("C-c")
}

// The TUI's flags work on plain 'fieldcase' (and still on 'fieldcase open'),
// are listed in --help, and are refused where they mean nothing.
func TestTUIFlags(t *testing.T) {
	out, _, code := fc(t, nil, "", "--help")
	for _, want := range []string{"Terminal UI flags", "--idle-lock=MINUTES", "--high-contrast", "--audio-device=DEVICE", "--log=FILE", "config "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--help lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	if _, errOut, code := fc(t, nil, "", "--high-contrast", "case", "list"); code != 2 || !strings.Contains(errOut, "--high-contrast") {
		t.Errorf("a TUI flag before another command: exit %d %s", code, errOut)
	}
	dir := t.TempDir()
	vault := filepath.Join(dir, "demo.db")
	if _, errOut, code := fc(t, nil, "", "demo", "--cases", "3", "--vault", vault); code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	env := []string{"HOME=" + dir, "TERM=xterm-256color", "XDG_CONFIG_HOME=" + filepath.Join(dir, "cfg")}
	for _, args := range [][]string{
		{"--vault", vault, "--high-contrast", "--idle-lock", "5", "--audio-device", "none-such", "--log", filepath.Join(dir, "tui.log")},
		{"open", "--vault", vault, "--idle-lock", "0"},
	} {
		s := newTmux(t, 100, 30, env, args...)
		s.waitFor("Demo vault: the passphrase is")
		s.key("C-c")
	}
	if _, err := os.Stat(filepath.Join(dir, "tui.log")); err != nil {
		t.Errorf("--log: %v", err)
	}
}
