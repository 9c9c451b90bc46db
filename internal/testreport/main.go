// Command testreport reads `go test -json` on stdin and prints what a person
// running `make test` needs: one line per package as it finishes, the whole
// output of every failing test (and of failed builds), and at the end where
// the time went — the slowest packages and tests — so that a slow CI can be
// traced to its cause. It exits 1 if anything failed.
//
//	go test -json ./... | go run ./internal/testreport [-slowest N] [-times FILE]
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Elapsed    float64
	Output     string
}

type result struct {
	Package string  `json:"package"`
	Test    string  `json:"test,omitempty"`
	Action  string  `json:"action"`
	Seconds float64 `json:"seconds"`
}

type report struct {
	w      io.Writer
	module string
	output map[string][]string // package/test → output lines
	// failedSubs are the failed subtests, in the order they ended, whose
	// output waits for their top-level test's FAIL.
	failedSubs []string
	packages   []result
	tests      []result
	failed     bool
}

func main() {
	slowest := flag.Int("slowest", 10, "how many of the slowest packages and tests to list")
	times := flag.String("times", "", "also write every package's and test's time to this JSON file")
	flag.Parse()
	r := &report{w: os.Stdout, output: map[string][]string{}}
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	r.summary(*slowest)
	if *times != "" {
		js, _ := json.MarshalIndent(map[string][]result{"packages": r.packages, "tests": r.tests}, "", "  ")
		if err := os.WriteFile(*times, append(js, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			os.Exit(2)
		}
	}
	if r.failed {
		os.Exit(1)
	}
}

func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event: something go test printed itself (a build
			// error of a test binary before -json took over). Keep it.
			fmt.Fprintln(r.w, string(line))
			continue
		}
		r.event(e)
	}
	return sc.Err()
}

// short drops the module path (read from go.mod in the working directory).
func (r *report) short(pkg string) string {
	if r.module == "" {
		r.module = "-"
		if b, err := os.ReadFile("go.mod"); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) == 2 && f[0] == "module" {
					r.module = f[1] + "/"
				}
			}
		}
	}
	return strings.TrimPrefix(pkg, r.module)
}

func (r *report) event(e event) {
	key := e.Package + "\x00" + e.Test
	switch e.Action {
	case "build-output":
		r.output["build\x00"+e.ImportPath] = append(r.output["build\x00"+e.ImportPath], e.Output)
	case "build-fail":
		r.failed = true
		fmt.Fprintf(r.w, "FAIL build %s\n", r.short(e.ImportPath))
		for _, l := range r.output["build\x00"+e.ImportPath] {
			fmt.Fprint(r.w, "    ", l)
		}
	case "output":
		r.output[key] = append(r.output[key], e.Output)
	case "pass", "fail", "skip":
		res := result{Package: r.short(e.Package), Test: e.Test, Action: e.Action, Seconds: e.Elapsed}
		if e.Test == "" {
			r.packages = append(r.packages, res)
			r.packageDone(e, res)
		} else {
			r.tests = append(r.tests, res)
			if e.Action == "fail" && !strings.Contains(e.Test, "/") {
				r.failed = true
				fmt.Fprintf(r.w, "--- FAIL %s %s (%.1fs)\n", res.Package, e.Test, e.Elapsed)
				for _, l := range r.output[key] {
					fmt.Fprint(r.w, "    ", l)
				}
				r.subtestOutput(key)
			}
			switch {
			case e.Action == "fail" && strings.Contains(e.Test, "/"):
				r.failedSubs = append(r.failedSubs, key) // printed with its parent's FAIL
			case !strings.Contains(e.Test, "/"):
				r.dropSubtests(key) // a passing test's subtests, failed or not, have nothing to say
				delete(r.output, key)
			default:
				delete(r.output, key)
			}
		}
	}
}

// subtestOutput prints the output of the failed subtests of the top-level
// test key: with -json, go test reports a subtest's t.Error under the
// subtest, and its parent's FAIL alone would not say what failed.
func (r *report) subtestOutput(key string) {
	for _, sub := range r.failedSubs {
		if strings.HasPrefix(sub, key+"/") {
			for _, l := range r.output[sub] {
				fmt.Fprint(r.w, "    ", l)
			}
		}
	}
}

// dropSubtests forgets the kept output of key's subtests once key ended.
func (r *report) dropSubtests(key string) {
	r.failedSubs = slices.DeleteFunc(r.failedSubs, func(sub string) bool {
		if strings.HasPrefix(sub, key+"/") {
			delete(r.output, sub)
			return true
		}
		return false
	})
}

func (r *report) packageDone(e event, res result) {
	switch e.Action {
	case "pass":
		fmt.Fprintf(r.w, "ok    %-40s %6.1fs\n", res.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(r.w, "-     %-40s (no tests)\n", res.Package)
	case "fail":
		r.failed = true
		fmt.Fprintf(r.w, "FAIL  %-40s %6.1fs\n", res.Package, e.Elapsed)
		// Output outside any test: a panic in TestMain, a timeout's
		// goroutine dump, a build failure of the test binary.
		for _, l := range r.output[e.Package+"\x00"] {
			if !strings.HasPrefix(l, "=== ") {
				fmt.Fprint(r.w, "    ", l)
			}
		}
		// Tests that never ended: the binary died under them (a panic in
		// another goroutine, a fatal race report, an os.Exit), or their
		// end was lost in output without a newline. What they said is
		// the only clue.
		for _, key := range slices.Sorted(maps.Keys(r.output)) {
			test, ok := strings.CutPrefix(key, e.Package+"\x00")
			if !ok || test == "" {
				continue
			}
			fmt.Fprintf(r.w, "--- UNFINISHED %s %s\n", res.Package, test)
			for _, l := range r.output[key] {
				fmt.Fprint(r.w, "    ", l)
			}
		}
	}
	for key := range r.output {
		if strings.HasPrefix(key, e.Package+"\x00") {
			delete(r.output, key)
		}
	}
	r.failedSubs = slices.DeleteFunc(r.failedSubs, func(sub string) bool { return strings.HasPrefix(sub, e.Package+"\x00") })
}

func (r *report) summary(n int) {
	if n <= 0 {
		return
	}
	byTime := func(a, b result) int { return cmp.Compare(b.Seconds, a.Seconds) }
	pk := slices.Clone(r.packages)
	slices.SortFunc(pk, byTime)
	fmt.Fprintf(r.w, "\nslowest packages:\n")
	for _, p := range pk[:min(n, len(pk))] {
		fmt.Fprintf(r.w, "  %6.1fs  %s\n", p.Seconds, p.Package)
	}
	var top []result
	for _, t := range r.tests {
		if !strings.Contains(t.Test, "/") {
			top = append(top, t)
		}
	}
	slices.SortFunc(top, byTime)
	fmt.Fprintf(r.w, "slowest tests:\n")
	for _, t := range top[:min(n, len(top))] {
		fmt.Fprintf(r.w, "  %6.1fs  %s %s\n", t.Seconds, t.Package, t.Test)
	}
}
