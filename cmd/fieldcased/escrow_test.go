package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The escrow commands' errors: clear, one line and a hint, no stack trace,
// nothing written.
func TestEscrowCommandErrors(t *testing.T) {
	dir := dataDir(t)
	key := agencyKey(t, dir)
	agency := strings.SplitN(mustRun(t, dir, "agency", "show"), "\n", 2)[0]
	receipt := filepath.Join(dir, "receipt.key")
	pub := strings.TrimSpace(mustRun(t, dir, "escrow", "keygen", "--out", receipt))
	notKey := filepath.Join(dir, "not-a-key")
	if err := os.WriteFile(notKey, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "escrow.db")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"keygen over a file", []string{"escrow", "keygen", "--out", receipt}, "give a new file"},
		{"serve: bad agency key", []string{"escrow", "serve", "--file", file, "--agency", "fcagency1nope", "--no-tls", "--listen", "127.0.0.1:0"}, "hint: give the key line"},
		{"serve: no TLS", []string{"escrow", "serve", "--file", file, "--agency", agency, "--listen", "127.0.0.1:0"}, "--tls-cert and --tls-key are needed"},
		{"serve: plain HTTP off loopback", []string{"escrow", "serve", "--file", file, "--agency", agency, "--no-tls", "--listen", "0.0.0.0:0"}, "loopback address only"},
		{"serve: not a receipt key", []string{"escrow", "serve", "--file", file, "--agency", agency, "--no-tls", "--listen", "127.0.0.1:0", "--receipt-key", notKey}, "is not an escrow receipt key"},
		{"set: not a URL", []string{"escrow", "set", "escrow.example", "--agency-key", key}, "not an http(s) address"},
		{"set: bad receipt key", []string{"escrow", "set", "https://escrow.example", "--receipt-key", "abc", "--agency-key", key}, "--receipt-key is not"},
		{"export: not an escrow file", []string{"export", "--identity", notKey, "--all", "--out", filepath.Join(dir, "x"), "--escrow", notKey}, "fieldcased:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := fieldcased(t, dir, tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, errOut, tc.want)
			}
		})
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("a refused escrow serve created its file")
	}
	if out := mustRun(t, dir, "escrow", "set", "https://escrow.example:8444", "--receipt-key", pub, "--agency-key", key); !strings.Contains(out, "version 1") {
		t.Errorf("escrow set: %s", out)
	}
	if out := mustRun(t, dir, "escrow", "set", "https://escrow2.example:8444", "--agency-key", key); !strings.Contains(out, "version 2") {
		t.Errorf("escrow set again: %s", out)
	}
	if out := mustRun(t, dir, "roster"); !strings.Contains(out, "escrow service https://escrow2.example:8444 v2") {
		t.Errorf("the roster does not show the escrow service:\n%s", out)
	}
}
