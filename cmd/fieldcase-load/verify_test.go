package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/internal/testbin"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
)

func TestMain(m *testing.M) { os.Exit(syncharness.Main(m)) }

// stored reads fieldcased_revisions_stored_total (-1 when unreachable).
func stored(url string) float64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "fieldcased_revisions_stored_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// waitStored waits until the server has stored atLeast revisions, or the
// load ended.
func waitStored(t *testing.T, url string, atLeast float64, done <-chan error, errs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for stored(url) < atLeast {
		select {
		case err := <-done:
			t.Fatalf("the load ended early: %v\n%s", err, errs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not store %v revisions in 30s", atLeast)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVerifyThroughAServerGoingBack: a load with --verify against a
// running server whose store is put back to an older copy mid-run (as a
// failover to a lagging standby, or a restored snapshot, would): the
// devices see it (410, or acked_seq going back), push back what it lost,
// and the run ends with every acknowledged revision on the server and
// none skipped. The verdict counts the repairs, so a run that never lost
// anything cannot pass as one that did.
func TestVerifyThroughAServerGoingBack(t *testing.T) {
	s := startServer(t)
	c := &CLI{Devices: 6, Teams: 1, Duration: 2 * time.Minute, Interval: 20 * time.Millisecond, Batch: 5, Body: 64, PullLimit: 500,
		Server: s.URL, Data: s.Dir, Verify: true, JSON: true}
	var out, errs bytes.Buffer // errs is written only by Run, read once it ended
	done := make(chan error, 1)
	// The load runs until the test has seen what it needs, then is cut
	// (its verification still runs in full).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- c.Run(&app{ctx: ctx, stdout: &out, stderr: &errs}) }()

	waitStored(t, s.URL, 30, done, &errs)
	store := filepath.Join(s.Dir, boltstore.FileName)
	snapshot := filepath.Join(t.TempDir(), "snapshot.db")
	s.Kill()
	copyFile(t, store, snapshot)
	s.Start()
	waitStored(t, s.URL, 30, done, &errs) // counters start again with the process
	s.Kill()
	copyFile(t, snapshot, store)
	s.Start()
	waitStored(t, s.URL, 30, done, &errs) // the devices work on after it went back
	cancel()

	if err := <-done; err != nil {
		t.Fatalf("fieldcase-load: %v\n%s", err, errs.String())
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("result: %v\n%s", err, out.String())
	}
	v := res.Verdict
	if v == nil {
		t.Fatalf("no verdict in %s", out.String())
	}
	if v.Lost != 0 || v.Skipped != 0 {
		t.Errorf("verdict %+v: want nothing lost or skipped", *v)
	}
	if v.Repairs == 0 || v.Repaired == 0 {
		t.Errorf("verdict %+v: the server lost acknowledged revisions, and no device pushed any back", *v)
	}
	if res.Backend != "bbolt" {
		t.Errorf("backend %q, want bbolt (read from the running server's metrics)", res.Backend)
	}
	t.Logf("%+v", *v)
}

// loadServer is a fieldcased on a fresh data directory, without an agency key
// (the load installs its own), that the test kills and starts again on its
// address.
type loadServer struct {
	t        *testing.T
	Dir, URL string
	addr     string
	cmd      *exec.Cmd
	done     chan struct{}
}

func startServer(t *testing.T) *loadServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "fcl")
	if err != nil {
		t.Fatal(err)
	}
	s := &loadServer{t: t, Dir: dir, addr: "127.0.0.1:0"}
	t.Cleanup(func() { s.Kill(); os.RemoveAll(dir) })
	s.Start()
	return s
}

func (s *loadServer) Start() {
	s.t.Helper()
	bin, err := testbin.Path("fieldcased", false)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "serve", "--data", s.Dir, "--listen", s.addr, "--no-tls", "--log-level", "error",
		"--enroll-per-addr", "100000/1ms", "--enroll-global", "100000/1ms")
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				found <- strings.TrimSpace(u)
			}
		}
	}()
	select {
	case s.URL = <-found:
		s.addr = strings.TrimPrefix(s.URL, "http://")
	case <-s.done:
		s.t.Fatal("fieldcased exited at start")
	case <-time.After(30 * time.Second):
		s.t.Fatal("fieldcased did not start")
	}
}

// Kill stops the server with SIGKILL.
func (s *loadServer) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
