// Package testbin gives end-to-end tests the binaries as shipped. Under
// `make test`, scripts/test.sh builds them once for the whole run and names
// the directory in FIELDCASE_TEST_BIN (fieldcased built with -race is in its
// race/ subdirectory); a package's tests run alone build them once per test
// process into a temporary directory, removed by Cleanup.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// EnvDir names the variable holding the prebuilt binaries' directory.
const EnvDir = "FIELDCASE_TEST_BIN"

var (
	mu    sync.Mutex
	built = map[string]string{} // "race/name" → path
	tmp   string
)

// Path returns the path of cmd/<name> built as shipped, or built with the
// race detector when race is set. Every binary of one kind is in one
// directory, so a test can put it on PATH.
func Path(name string, race bool) (string, error) {
	sub := ""
	if race {
		sub = "race"
	}
	if dir := os.Getenv(EnvDir); dir != "" {
		p := filepath.Join(dir, sub, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s but %s is missing: %w", EnvDir, dir, p, err)
		}
		return p, nil
	}
	mu.Lock()
	defer mu.Unlock()
	key := filepath.Join(sub, name)
	if p := built[key]; p != "" {
		return p, nil
	}
	if tmp == "" {
		d, err := os.MkdirTemp("", "fieldcase-bin-")
		if err != nil {
			return "", err
		}
		tmp = d
	}
	out := filepath.Join(tmp, sub) + string(filepath.Separator)
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/"+name)...)
	cmd.Dir = moduleRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", name, err, b)
	}
	built[key] = filepath.Join(tmp, sub, name)
	return built[key], nil
}

// Cleanup removes what Path built (never the prebuilt directory). Call it
// from TestMain after the tests ran.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if tmp != "" {
		os.RemoveAll(tmp)
		tmp = ""
		clear(built)
	}
}

// moduleRoot is the directory holding go.mod, from this file's place.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}
