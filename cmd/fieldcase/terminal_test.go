package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/store"
)

// Started without a terminal (cron, a pipe, CI), the TUI says so in words
// and exits non-zero, before it touches the vault; it used to print
// bubbletea's "error opening TTY".
func TestTUIWithoutTerminal(t *testing.T) {
	for _, args := range [][]string{nil, {"open"}, {"--vault", filepath.Join(t.TempDir(), "none.db")}} {
		cmd := exec.Command(filepath.Join(binDir, "fieldcase"), args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		cmd.Stdin = strings.NewReader("")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.SysProcAttr = detachedFromTTY()
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if err == nil || code != 1 {
			t.Errorf("%v: exit %d (%v), want 1", args, code, err)
		}
		want := "fieldcase: the terminal UI needs a terminal\nhint: run 'fieldcase --help' for the commands that work without one"
		if got := errOut.String(); !strings.HasPrefix(got, want) || strings.Contains(got, "bubbletea") {
			t.Errorf("%v: stderr %q, want it to start %q", args, got, want)
		}
		if out.Len() != 0 {
			t.Errorf("%v: stdout %q, want nothing", args, out.String())
		}
	}
}

// Ctrl+C and Ctrl+D at a passphrase prompt cancel at once: "fieldcase:
// cancelled", exit status 130, the terminal's echo back on, and nothing
// written. They used to be swallowed while the prompt waited for Enter.
func TestPromptCancel(t *testing.T) {
	pass := secret(t)
	existing := prepVault(t, pass, func(*store.Vault) {})
	tests := []struct {
		name   string
		vault  string // "" for a new path
		args   string
		prompt string
		key    string
		first  string // a passphrase typed at the first prompt, if any
	}{
		{"init ctrl+c", "", "init", "New passphrase:", "C-c", ""},
		{"init ctrl+d", "", "init", "New passphrase:", "C-d", ""},
		{"init ctrl+c at repeat", "", "init", "Repeat passphrase:", "C-c", secret(t)},
		{"unlock ctrl+c", existing, "case list", "Passphrase for", "C-c", ""},
		{"unlock ctrl+d", existing, "case list", "Passphrase for", "C-d", ""},
		{"passwd ctrl+c", existing, "passwd", "Current passphrase:", "C-c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			vault := tt.vault
			if vault == "" {
				vault = filepath.Join(dir, "new.db")
			}
			before, _ := os.ReadFile(vault)
			// After fieldcase exits, the shell reports its status and
			// whether the terminal echoes again.
			script := filepath.Join(binDir, "fieldcase") + " " + tt.args +
				`; echo "exit=$?"; if stty -a | grep -qw -- -echo; then echo echo=off; else echo echo=on; fi`
			s := newTmuxCmd(t, 120, 20, "env -i PATH=/usr/bin:/bin TERM=xterm HOME="+dir+
				" FIELDCASE_VAULT="+vault+" bash --norc --noprofile -c '"+script+"'")
			if tt.first != "" {
				s.waitFor("New passphrase:")
				s.typeText(tt.first)
				s.key("Enter")
			}
			s.waitFor(tt.prompt)
			start := time.Now()
			s.key(tt.key)
			for !strings.Contains(s.screen(), "echo=") {
				if time.Since(start) > 5*time.Second {
					t.Fatalf("%s did not end fieldcase %s:\n%s", tt.key, tt.args, s.screen())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("%s took %v to end fieldcase %s; want under 1s", tt.key, took, tt.args)
			}
			screen := s.screen()
			for _, want := range []string{"fieldcase: cancelled", "exit=130", "echo=on"} {
				if !strings.Contains(screen, want) {
					t.Errorf("screen lacks %q:\n%s", want, screen)
				}
			}
			if strings.Contains(screen, "goroutine") {
				t.Errorf("stack trace:\n%s", screen)
			}
			after, _ := os.ReadFile(vault)
			if !bytes.Equal(before, after) {
				t.Errorf("the vault file changed (%d bytes before, %d after)", len(before), len(after))
			}
		})
	}
}

func TestReadSecretLine(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"correct horse\r", "correct horse", nil},
		{"abc\n", "abc", nil},
		{"abx\x7fc\r", "abc", nil},
		{"abx\x08c\r", "abc", nil},
		{"wrong\x15right\r", "right", nil},
		{"é\x7fe\r", "e", nil}, // Backspace removes a whole character
		{"naïve café\r", "naïve café", nil},
		{"a\x1bb\r", "ab", nil}, // other control characters are ignored
		{"\x03", "", cli.ErrCancelled},
		{"abc\x03", "", cli.ErrCancelled},
		{"\x04", "", cli.ErrCancelled},
		{"ab\x04c\r", "abc", nil}, // Ctrl+D cancels an empty line only
		{"", "", cli.ErrCancelled},
		{"no newline", "", cli.ErrCancelled},
	}
	for _, tt := range tests {
		got, err := readSecretLine(strings.NewReader(tt.in))
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("readSecretLine(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// A passphrase typed at the prompts, with a typo rubbed out, is the one the
// vault then opens with.
func TestPromptTyped(t *testing.T) {
	dir := t.TempDir()
	vault := filepath.Join(dir, "typed.db")
	pass := secret(t)
	script := filepath.Join(binDir, "fieldcase") + ` init; echo "exit=$?"`
	s := newTmuxCmd(t, 120, 20, "env -i PATH=/usr/bin:/bin TERM=xterm HOME="+dir+
		" FIELDCASE_VAULT="+vault+" bash --norc --noprofile -c '"+script+"'")
	for _, prompt := range []string{"New passphrase:", "Repeat passphrase:"} {
		s.waitFor(prompt)
		s.typeText(pass[:5] + "x")
		s.key("BSpace")
		s.typeText(pass[5:])
		s.key("Enter")
	}
	s.waitFor("exit=")
	if screen := s.screen(); !strings.Contains(screen, "exit=0") || strings.Contains(screen, pass) {
		t.Fatalf("init (the passphrase must not be echoed):\n%s", screen)
	}
	if _, errOut, code := fc(t, []string{"FIELDCASE_VAULT=" + vault, "FIELDCASE_PASSPHRASE=" + pass}, "", "case", "list"); code != 0 {
		t.Fatalf("the typed passphrase does not open the vault: %s", errOut)
	}
}

// init refuses a passphrase the estimator rates too weak, and asks again;
// a strong one gets the verdict the advice promised.
func TestInitRefusesWeakPassphrase(t *testing.T) {
	dir := t.TempDir()
	vault := filepath.Join(dir, "weak.db")
	script := filepath.Join(binDir, "fieldcase") + ` init --name "Jo Bloggs"; echo "exit=$?"`
	s := newTmuxCmd(t, 160, 20, "env -i PATH=/usr/bin:/bin TERM=xterm HOME="+dir+
		" FIELDCASE_VAULT="+vault+" bash --norc --noprofile -c '"+script+"'")
	s.waitFor("Four or more random words")
	s.waitFor("New passphrase:")
	s.typeText("password1")
	s.key("Enter")
	s.waitFor("That passphrase is too easy to guess (it is built on a commonly used password). Choose another.")
	s.typeText("jobloggs1985")
	s.key("Enter")
	s.waitFor("it contains your name")
	s.typeText("granite otter pencil bloom")
	s.key("Enter")
	s.waitFor("Strength: strong")
	s.waitFor("Repeat passphrase:")
	s.typeText("granite otter pencil bloom")
	s.key("Enter")
	s.waitFor("exit=0")
	if _, err := os.Stat(vault); err != nil {
		t.Fatal(err)
	}
}
