package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/testbin"
	"github.com/fieldcase/fieldcase/sync/server/servertest"
)

// The binary under test, built once by TestMain (with -race when the tests
// run with it).
var binary string

func TestMain(m *testing.M) {
	var err error
	binary, err = testbin.Path("fieldcased", raceEnabled)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// A race-enabled binary sleeps a second at exit unless told not to.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	// Every agency key of these tests is encrypted under one passphrase
	// made now, read from a file as a script would.
	passDir, err := os.MkdirTemp("", "fcdpass")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	passFile = filepath.Join(passDir, "passphrase")
	if err := os.WriteFile(passFile, []byte(rand.Text()+"\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("FIELDCASED_AGENCY_PASSPHRASE_FILE", passFile)
	os.Unsetenv("FIELDCASED_AGENCY_KEY")
	code := m.Run()
	testbin.Cleanup()
	os.RemoveAll(passDir)
	os.Exit(code)
}

// passFile holds the passphrase of the tests' agency keys.
var passFile string

// agencyKeys are the agency key files of the tests' servers, by data
// directory or database URL.
var agencyKeys sync.Map

// agencyKey makes the agency identity of the store at where (a data
// directory, or a database URL) once, installs its public key there, and
// returns the key file. A cheap work factor keeps the tests fast; the file
// format is the same.
func agencyKey(t *testing.T, where string) string {
	t.Helper()
	if k, ok := agencyKeys.Load(where); ok {
		return k.(string)
	}
	key := filepath.Join(dataDir(t), "agency.key")
	if strings.Contains(where, "://") {
		mustRun(t, dataDir(t), "--db", where, "agency", "init", "--out", key, "--work-factor", "10")
	} else {
		mustRun(t, where, "agency", "init", "--out", key, "--work-factor", "10")
	}
	agencyKeys.Store(where, key)
	return key
}

// lastLine is the last line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// dataDir is a short temporary directory (Unix socket paths are limited to
// about 100 bytes, and t.TempDir names can be long).
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fcd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// fieldcased runs one command to completion.
func fieldcased(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return fieldcasedIn(t, dir, "", args...)
}

func fieldcasedIn(t *testing.T, dir, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--data", dir}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &errb, strings.NewReader(stdin)
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code <= 0 {
		t.Fatalf("fieldcased %v: %v", args, err)
	}
	if strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic:") {
		t.Errorf("fieldcased %v printed a stack trace:\n%s", args, errb.String())
	}
	return out.String(), errb.String(), code
}

// mustRun runs a command that must succeed.
func mustRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, errOut, code := fieldcased(t, dir, args...)
	if code != 0 {
		t.Fatalf("fieldcased %v: exit %d\n%s", args, code, errOut)
	}
	return out
}

// proc is a running `fieldcased serve`.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stdout []string // lines before "listening on"
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

func (p *proc) log() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// serve starts the server on a free loopback port and waits until it
// listens.
func serve(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	if len(args) == 0 {
		args = []string{"--no-tls"}
	}
	cmd := exec.Command(binary, append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--shutdown-timeout", "20s"}, args...)...)
	p := &proc{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				<-p.done
				t.Fatalf("server exited before listening (exit %d):\n%s", cmd.ProcessState.ExitCode(), p.log())
			}
			p.stdout = append(p.stdout, line)
			if u, ok := strings.CutPrefix(line, "listening on "); ok {
				p.url = u
				go func() {
					for range lines {
					}
				}()
				return p
			}
		case <-timeout:
			t.Fatalf("server did not listen in 30s:\n%s", p.log())
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("server did not stop on SIGTERM:\n%s", p.log())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("server exited %d on SIGTERM:\n%s", code, p.log())
	}
}

// kill kills the server with SIGKILL, as a power cut would.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not die on SIGKILL")
	}
}

// setup makes the agency key, adds a team, a caseworker and enrols one
// device for them.
func setup(t *testing.T, dir string, p *proc, user string) (*servertest.Client, *servertest.Writer) {
	t.Helper()
	key := agencyKey(t, dir)
	mustRun(t, dir, "team", "add", "north", "--agency-key", key)
	mustRun(t, dir, "user", "add", user, "--role", "caseworker", "--team", "north", "--agency-key", key)
	return enrol(t, dir, p, user, user+"-laptop")
}

func enrol(t *testing.T, dir string, p *proc, user, device string) (*servertest.Client, *servertest.Writer) {
	t.Helper()
	code := lastLine(mustRun(t, dir, "enroll-code", user, "--agency-key", agencyKey(t, dir)))
	c, _, err := servertest.Enroll(context.Background(), p.url, nil, code, device)
	if err != nil {
		t.Fatalf("enrolling %s: %v", device, err)
	}
	return c, c.Writer()
}

// fieldcased runs on servers without audio libraries: it must not link
// PortAudio or libopus (its recovery export reads recordings with
// audio/track, which has no cgo).
func TestNoAudioLibraries(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "portaudio") || strings.Contains(dep, "hraban/opus") || dep == "github.com/fieldcase/fieldcase/audio" {
			t.Errorf("fieldcased depends on %s", dep)
		}
	}
}

// Administration never makes a store by itself: without --data (or
// FIELDCASED_DATA) it says so, in an empty directory it points at init, and
// nothing appears in the home directory. init makes one, once.
func TestDataDirRequired(t *testing.T) {
	home := t.TempDir()
	run := func(env []string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "GORACE=atexit_sleep_ms=0"}, env...)
		out, _ := cmd.CombinedOutput()
		if strings.Contains(string(out), "goroutine ") {
			t.Errorf("%v: stack trace:\n%s", args, out)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	for _, args := range [][]string{{"team", "add", "x"}, {"user", "add", "a", "--role", "admin"}, {"device", "list"},
		{"enroll-code", "a"}, {"backup", "--out", "b.db"}, {"init"}, {"serve", "--listen", "127.0.0.1:0"}} {
		out, code := run(nil, args...)
		if code != 1 || !strings.Contains(out, "fieldcased: no data directory given\nhint: pass --data DIR or set FIELDCASED_DATA") {
			t.Errorf("%v without --data: exit %d\n%s", args, code, out)
		}
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("the home directory got %d entries, e.g. %s", len(entries), entries[0].Name())
	}

	dir := dataDir(t)
	out, code := run(nil, "team", "add", "x", "--data", dir)
	if code != 1 || !strings.Contains(out, "fieldcased: no fieldcased store in "+dir+"\nhint: check --data or FIELDCASED_DATA; to start a new one, run 'fieldcased init --data "+dir+"'") {
		t.Errorf("team add in an empty directory: exit %d\n%s", code, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("team add left %d files in an empty data directory", len(entries))
	}
	if out, code := run([]string{"FIELDCASED_DATA=" + dir}, "init"); code != 0 || !strings.Contains(out, "created an empty store in "+dir) {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	if out, code := run(nil, "init", "--data", dir); code != 1 || !strings.Contains(out, "already has a store") {
		t.Errorf("init twice: exit %d\n%s", code, out)
	}
	// A team is a signed statement: with the agency key installed, it works.
	if out, code := run([]string{"FIELDCASED_DATA=" + dir}, "team", "add", "x"); code != 1 || !strings.Contains(out, "no agency key") {
		t.Errorf("team add before the agency key: exit %d\n%s", code, out)
	}
	key := agencyKey(t, dir)
	if out, code := run([]string{"FIELDCASED_DATA=" + dir, "FIELDCASED_AGENCY_PASSPHRASE_FILE=" + passFile}, "team", "add", "x", "--agency-key", key); code != 0 || !strings.Contains(out, `added team "x"`) {
		t.Errorf("team add after init: exit %d\n%s", code, out)
	}
}
