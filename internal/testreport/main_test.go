package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// stream is go test -json's events, one per line.
func stream(t *testing.T, events ...event) string {
	var b strings.Builder
	for _, e := range events {
		js, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(js, '\n'))
	}
	return b.String()
}

// A failing subtest's message is printed with its parent's FAIL; a passing
// test's output, and a failing test's passing subtests, are not.
func TestReportShowsFailedSubtests(t *testing.T) {
	const pkg = "example.com/m/p"
	in := stream(t,
		event{Action: "output", Package: pkg, Test: "TestA", Output: "=== RUN   TestA\n"},
		event{Action: "output", Package: pkg, Test: "TestA/ok", Output: "said-by-passing-subtest\n"},
		event{Action: "pass", Package: pkg, Test: "TestA/ok"},
		event{Action: "output", Package: pkg, Test: "TestA/bad", Output: "    a_test.go:9: the-reason-it-failed\n"},
		event{Action: "fail", Package: pkg, Test: "TestA/bad"},
		event{Action: "fail", Package: pkg, Test: "TestA"},
		event{Action: "output", Package: pkg, Test: "TestB", Output: "said-by-passing-test\n"},
		event{Action: "pass", Package: pkg, Test: "TestB"},
		event{Action: "fail", Package: pkg},
	)
	var out bytes.Buffer
	r := &report{w: &out, output: map[string][]string{}, module: "example.com/m/"}
	if err := r.read(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !r.failed || !strings.Contains(got, "--- FAIL p TestA") || !strings.Contains(got, "the-reason-it-failed") {
		t.Errorf("the failed subtest's reason is missing:\n%s", got)
	}
	for _, quiet := range []string{"said-by-passing-subtest", "said-by-passing-test"} {
		if strings.Contains(got, quiet) {
			t.Errorf("printed %q of a passing test:\n%s", quiet, got)
		}
	}
	if len(r.failedSubs) != 0 || len(r.output) != 0 {
		t.Errorf("kept after the package ended: %v, %d outputs", r.failedSubs, len(r.output))
	}
}

// A package whose binary died under a running test (a panic in another
// goroutine, a race report, os.Exit) ends "fail" with no FAIL event for
// the test: what that test said is printed, or the failure says nothing.
func TestReportShowsUnfinishedTests(t *testing.T) {
	const pkg = "example.com/m/p"
	in := stream(t,
		event{Action: "output", Package: pkg, Test: "TestDone", Output: "said-by-passing-test\n"},
		event{Action: "pass", Package: pkg, Test: "TestDone"},
		event{Action: "output", Package: pkg, Test: "TestDied", Output: "    x_test.go:3: the-last-words\n"},
		event{Action: "output", Package: pkg, Output: "FAIL\n"},
		event{Action: "fail", Package: pkg},
	)
	var out bytes.Buffer
	r := &report{w: &out, output: map[string][]string{}, module: "example.com/m/"}
	if err := r.read(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !r.failed || !strings.Contains(got, "--- UNFINISHED p TestDied") || !strings.Contains(got, "the-last-words") {
		t.Errorf("the unfinished test's output is missing:\n%s", got)
	}
	if strings.Contains(got, "said-by-passing-test") {
		t.Errorf("printed a passing test's output:\n%s", got)
	}
	if len(r.output) != 0 {
		t.Errorf("kept after the package ended: %d outputs", len(r.output))
	}
}
