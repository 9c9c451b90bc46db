package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/fieldcase/fieldcase/internal/testbin"
	"github.com/fieldcase/fieldcase/store/storetest"
)

// binDir holds the fieldcase and fieldcased binaries for the end-to-end
// tests: the real binaries as shipped, without the race detector, so that
// unlocking costs the real scrypt work factor (about a second) and not seven.
var binDir string

func TestMain(m *testing.M) {
	// Both binaries, as shipped: the caseworker's and the server.
	for _, name := range []string{"fieldcase", "fieldcased"} {
		p, err := testbin.Path(name, false)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			testbin.Cleanup()
			os.Exit(1)
		}
		binDir = filepath.Dir(p)
	}
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// secret returns a random passphrase: secrets in tests are made at test time.
func secret(t testing.TB) string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"capture":          captureCmd,
			"fieldcased-start": startServerCmd,
			"fieldcased-stop":  stopServerCmd,
			"sick-server":      sickServerCmd,
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, "data"))
			env.Setenv("FIELDCASE_PASSPHRASE", secret(t))
			// The agency's key, made by the script ('fieldcased agency
			// init'), under a passphrase made now, read from a file.
			pass := filepath.Join(env.WorkDir, "agency.pass")
			if err := os.WriteFile(pass, []byte(secret(t)+"-"+secret(t)+"\n"), 0o600); err != nil {
				return err
			}
			env.Setenv("FIELDCASED_AGENCY_PASSPHRASE_FILE", pass)
			env.Setenv("FIELDCASED_AGENCY_KEY", filepath.Join(env.WorkDir, "agency.key"))
			// Unlock agents of this script only, one per vault
			// ($AGENTDIR/NAME/agent.sock; a script that starts one skips
			// scrypt on that vault's later commands), never the user's
			// own, and stopped when the script ends.
			agents, err := os.MkdirTemp("", "fca") // short: a socket's path is limited to 108 bytes
			if err != nil {
				return err
			}
			env.Setenv("AGENTDIR", agents)
			env.Setenv("FIELDCASE_AGENT_SOCK", filepath.Join(agents, "default", "agent.sock"))
			vars := slices.Clone(env.Vars)
			env.Defer(func() {
				socks, _ := filepath.Glob(filepath.Join(agents, "*", "agent.sock"))
				for _, sock := range socks {
					cmd := exec.Command(filepath.Join(binDir, "fieldcase"), "agent", "stop")
					cmd.Env = append(slices.Clone(vars), "FIELDCASE_AGENT_SOCK="+sock)
					cmd.Run()
				}
				os.RemoveAll(agents)
			})
			return nil
		},
	})
}

// fc runs the built binary with env added to a clean environment.
func fc(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "fieldcase"), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			t.Fatal(err)
		}
	}
	if code == 0 {
		// A vault a command worked on must pass the vault's own check
		// when the test ends (damaged ones fail their commands).
		if path := vaultOf(env, args); path != "" {
			storetest.CheckedFile(t, path)
		}
	}
	return o.String(), e.String(), code
}

// vaultOf is the vault a command line names: --vault, else FIELDCASE_VAULT.
func vaultOf(env, args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--vault="); ok {
			return v
		}
		if a == "--vault" && i+1 < len(args) {
			return args[i+1]
		}
	}
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "FIELDCASE_VAULT="); ok {
			return v
		}
	}
	return ""
}

// withAgent starts the real unlock agent for env's vault and returns env
// with its socket, so the test's later commands skip the passphrase's
// scrypt (about a second each on a busy machine). The agent stops when the
// test ends.
func withAgent(t *testing.T, env []string) []string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fca") // short: a socket's path is limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	env = append(slices.Clip(env), "FIELDCASE_AGENT_SOCK="+filepath.Join(dir, "a", "agent.sock"))
	if out, errOut, code := fc(t, env, "", "agent", "start", "--idle", "10", "--max", "20"); code != 0 {
		t.Fatalf("agent start: exit %d\n%s%s", code, out, errOut)
	}
	t.Cleanup(func() {
		fc(t, env, "", "agent", "stop")
		os.RemoveAll(dir)
	})
	return env
}

// capture VAR sets $VAR to the last command's stdout, trimmed.
func captureCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: capture VAR")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}

// fieldcased-start DIR [flags] starts the server in the background on a
// free loopback port, sets $SERVER (its URL) and $FINGERPRINT (of its
// generated certificate), and stops it when the script ends.
func startServerCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: fieldcased-start DIR [flags]")
	}
	cmd := exec.Command(filepath.Join(binDir, "fieldcased"), append([]string{"serve", "--data", ts.MkAbs(args[0]), "--listen", "127.0.0.1:0"}, args[1:]...)...)
	out, err := cmd.StdoutPipe()
	ts.Check(err)
	ts.Check(cmd.Start())
	ts.Defer(func() { cmd.Process.Kill(); cmd.Wait() })
	ts.Setenv("SERVER_PID", strconv.Itoa(cmd.Process.Pid))
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if fp, ok := strings.CutPrefix(line, "certificate fingerprint (sha256): "); ok {
			ts.Setenv("FINGERPRINT", strings.TrimSpace(fp))
		}
		if u, ok := strings.CutPrefix(line, "listening on "); ok {
			ts.Setenv("SERVER", strings.TrimSpace(u))
			go io.Copy(io.Discard, out)
			return
		}
	}
	ts.Fatalf("fieldcased did not start")
}

// sick-server starts a plain-HTTP server on 127.0.0.1 that answers every
// request 500 (a case server whose database is failing over), sets $SICK
// to its URL, and stops it when the script ends.
func sickServerCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: sick-server")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database failing over", http.StatusInternalServerError)
	}))
	ts.Defer(srv.Close)
	ts.Setenv("SICK", srv.URL)
}

// fieldcased-stop kills the server fieldcased-start started.
func stopServerCmd(ts *testscript.TestScript, neg bool, args []string) {
	pid, err := strconv.Atoi(ts.Getenv("SERVER_PID"))
	if err != nil {
		ts.Fatalf("no server started")
	}
	p, err := os.FindProcess(pid)
	ts.Check(err)
	ts.Check(p.Kill())
}
