package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/bundle"
	"github.com/fieldcase/fieldcase/bundle/bundletest"
)

// The verifier links no C: it must build, and run, wherever Go does.
func TestNoCgo(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if .CgoFiles}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("fieldcase-verify depends on packages with cgo:\n%s", s)
	}
}

// buildVerifier builds the binary as a court's expert would: without cgo.
func buildVerifier(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fieldcase-verify")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	return bin
}

func makeBundle(t *testing.T) string {
	t.Helper()
	f := bundletest.StandardCase(t)
	f.LogAll()
	dir := filepath.Join(t.TempDir(), "bundle")
	if _, err := bundle.Write(context.Background(), dir, f.Src, bundle.Options{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBinary(t *testing.T) {
	bin := buildVerifier(t)
	dir := makeBundle(t)
	run := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
	stdout, stderr, code := run(dir)
	if code != 0 || !strings.Contains(stdout, "the bundle verifies: 11 revisions") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, _, code = run("--json", dir)
	var rep bundle.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 || rep.Records != 11 {
		t.Errorf("--json: exit %d, %v, %+v", code, err, rep)
	}

	// A changed recording: exit 1, the file named, the one error path.
	m, _ := os.ReadFile(filepath.Join(dir, bundle.ManifestName))
	var man bundle.Manifest
	json.Unmarshal(m, &man)
	var ogg string
	for _, f := range man.Files {
		if strings.HasSuffix(f.Name, ".ogg") {
			ogg = f.Name
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, ogg))
	b[3] ^= 1
	os.WriteFile(filepath.Join(dir, ogg), b, 0o600)
	stdout, stderr, code = run(dir)
	if code != 1 || !strings.Contains(stdout, "FAIL  "+ogg+": changed since the bundle was made") ||
		!strings.HasPrefix(stderr, "fieldcase-verify: the bundle does not verify: 1 problem(s)\nhint: ") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{nil, 2, "fieldcase-verify: name one bundle folder\nhint: run 'fieldcase-verify --help' for usage\n"},
		{[]string{"--nope", dir}, 2, "fieldcase-verify: flag provided but not defined: -nope\n"},
		{[]string{filepath.Join(dir, "absent")}, 1, fmt.Sprintf("fieldcase-verify: no bundle at %s\nhint: name the folder that holds manifest.json\n", filepath.Join(dir, "absent"))},
	} {
		_, stderr, code := run(c.args...)
		if code != c.code || !strings.HasPrefix(stderr, c.err) {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q", c.args, code, stderr, c.code, c.err)
		}
	}
	if stdout, _, code := run("--help"); code != 0 || !strings.Contains(stdout, "usage: fieldcase-verify") {
		t.Errorf("--help: exit %d\n%s", code, stdout)
	}
}

// A directory that is not a bundle, or an unreadable manifest, is a
// failed verification with the item named, never a crash.
func TestNotABundle(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte("{\"format\": 7}"), 0o600)
	var out bytes.Buffer
	err := Check(context.Background(), &out, dir, bundle.VerifyOptions{}, false)
	if !errors.Is(err, ErrNotVerified) || !strings.Contains(out.String(), "FAIL  manifest.json: malformed manifest") {
		t.Errorf("error %v\n%s", err, out.String())
	}
}
