package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The unlock agent, as shipped: once started with the passphrase, later
// commands run without it; stopped, they need it again; it holds one vault
// and no other.
func TestUnlockAgentSparesThePassphrase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "fca") // short: a socket's path is limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := "FIELDCASE_AGENT_SOCK=" + filepath.Join(sockDir, "a", "agent.sock")
	pass := secret(t)
	vault := "FIELDCASE_VAULT=" + filepath.Join(dir, "work.db")
	withPass := []string{vault, sock, "FIELDCASE_PASSPHRASE=" + pass}
	noPass := []string{vault, sock}
	must := func(env []string, args ...string) string {
		t.Helper()
		out, errOut, code := fc(t, env, "", args...)
		if code != 0 {
			t.Fatalf("fieldcase %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	must(withPass, "init", "--name", "Agent Tester")
	must(withPass, "case", "add", "--ref", "R-AG1", "--subject", "Agent Subject")

	if _, errOut, code := fc(t, noPass, "", "case", "list"); code == 0 || !strings.Contains(errOut, "passphrase") {
		t.Fatalf("without passphrase or agent: exit %d, %s", code, errOut)
	}
	out := must(withPass, "agent", "start", "--idle", "5", "--max", "10")
	if !strings.Contains(out, "work.db") {
		t.Fatalf("agent start said: %s", out)
	}
	t.Cleanup(func() { fc(t, noPass, "", "agent", "stop") })
	if out, errOut, code := fc(t, withPass, "", "agent", "start"); code == 0 || !strings.Contains(errOut, "already holds") {
		t.Fatalf("second start: exit %d, %s%s", code, out, errOut)
	}

	t0 := time.Now()
	if out := must(noPass, "case", "list"); !strings.Contains(out, "R-AG1") {
		t.Fatalf("case list through the agent: %s", out)
	}
	t.Logf("case list through the agent: %v", time.Since(t0))
	if out := must(noPass, "agent", "status"); !strings.Contains(out, "holds work.db") {
		t.Fatalf("status: %s", out)
	}

	// Another vault on the same laptop is not opened by this agent.
	other := []string{"FIELDCASE_VAULT=" + filepath.Join(dir, "other.db"), sock, "FIELDCASE_PASSPHRASE=" + secret(t)}
	must(other, "init", "--name", "Someone Else")
	if _, errOut, code := fc(t, other[:2], "", "case", "list"); code == 0 || !strings.Contains(errOut, "passphrase") {
		t.Fatalf("other vault without its passphrase: exit %d, %s", code, errOut)
	}

	must(noPass, "agent", "stop")
	if _, errOut, code := fc(t, noPass, "", "case", "list"); code == 0 || !strings.Contains(errOut, "passphrase") {
		t.Fatalf("after agent stop: exit %d, %s", code, errOut)
	}
	if out := must(noPass, "agent", "status"); !strings.Contains(out, "No unlock agent") {
		t.Fatalf("status after stop: %s", out)
	}
}
