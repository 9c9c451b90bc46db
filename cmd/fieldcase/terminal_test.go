package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
