package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/sync/client"
)

// These tests run a runner against a live fieldcased on the real clock: a
// bubble of testing/synctest cannot hold them (its clock moves only when
// every goroutine in it is durably blocked, and network I/O to a server
// process never is). What the runner decides with time (how often it
// probes, how it backs off) is tested on the fake clock in
// runner_synctest_test.go; here, that it really gets back in sync. They wait
// on the runner's own notifications (onChange), not by sleeping.

// watched is a runner whose state changes and probes are signalled.
type watched struct {
	*client.Runner
	changed chan struct{} // a state change or a probe (coalesced)
	probes  atomic.Int64  // probes answered
}

func newWatched(s *client.Syncer) *watched {
	w := &watched{changed: make(chan struct{}, 1)}
	w.Runner = client.NewRunner(s, time.Time{}, func(client.State) { w.signal() })
	probe := w.Probe
	w.Probe = func(ctx context.Context) error {
		err := probe(ctx)
		w.probes.Add(1)
		w.signal()
		return err
	}
	return w
}

func (w *watched) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until ok holds of the runner, or fails the test after d.
func (w *watched) waitFor(t *testing.T, d time.Duration, what string, ok func(client.State) bool) client.State {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		if st := w.State(); ok(st) {
			return st
		}
		select {
		case <-w.changed:
		case <-timeout.C:
			t.Fatalf("after %v: %s; runner state %+v", d, what, w.State())
		}
	}
}

// run runs r until the test ends.
func run(t *testing.T, r *client.Runner) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// The server goes away and comes back: the runner, offline, asks it cheaply
// every few seconds and syncs what waited within 10 s of its return (not
// after the minutes of a growing back-off).
func TestRunnerReconnects(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	c := newCase(t, a, "R-1")
	r := newWatched(a.Syncer)
	run(t, r.Runner)
	first := r.waitFor(t, 30*time.Second, "no first round", func(st client.State) bool { return !st.LastSync.IsZero() })

	s.Kill()
	addNote(t, a, c, "written while the server was down")
	r.Kick()
	st := r.waitFor(t, 30*time.Second, "not probing after the server went away", func(st client.State) bool { return st.Probing })
	if st.Online || !errors.Is(st.Err, client.ErrOffline) || errors.Is(st.Err, client.ErrServerTrouble) {
		t.Errorf("offline state %+v", st)
	}
	// A probe fails while it stays away; still probing, no round lost.
	p := r.probes.Load()
	r.waitFor(t, 30*time.Second, "not probing again", func(client.State) bool { return r.probes.Load() > p })
	if st := r.State(); !st.Probing || st.Online {
		t.Errorf("while the server is away: %+v", st)
	}

	s.Start()
	back := time.Now()
	st = r.waitFor(t, 10*time.Second, "not back in sync within 10 s of the server's return", func(st client.State) bool {
		return st.Online && st.LastSync.After(first.LastSync) && !st.Syncing
	})
	t.Logf("in sync %v after the server came back", st.LastSync.Sub(back).Round(10*time.Millisecond))
	if n := a.V.OutboxLen(); n != 0 {
		t.Errorf("%d changes still waiting after reconnecting", n)
	}
}

// A server that answers, but only with trouble of its own (a database
// failing over): the runner counts the server as reached (online, not
// "unreachable"), and once the server is well again the laptop is in sync
// within seconds, not the minute of a refused round's back-off. (The
// back-off's schedule is TestRunnerBacksOff's, on a fake clock.)
func TestRunnerServerTrouble(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	newCase(t, a, "R-2")
	target, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	well := httputil.NewSingleHostReverseProxy(target)
	var hits atomic.Int64
	var healed atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if healed.Load() {
			well.ServeHTTP(w, r)
			return
		}
		hits.Add(1)
		http.Error(w, "database failing over", http.StatusInternalServerError)
	}))
	t.Cleanup(front.Close) // after the runner stops (cleanups run last first)
	a.UseURL(front.URL)
	r := newWatched(a.Syncer)
	run(t, r.Runner)
	st := r.waitFor(t, 30*time.Second, "no failed round", func(st client.State) bool { return st.Err != nil && !st.Syncing })
	if !errors.Is(st.Err, client.ErrServerTrouble) || st.Probing || !st.Online {
		t.Errorf("state against a failing server: %+v; want ErrServerTrouble, online, not probing", st)
	}
	if want := "the case server is having trouble (500 Internal Server Error): database failing over"; st.LastError != want {
		t.Errorf("error %q, want %q", st.LastError, want)
	}

	healed.Store(true)
	back := time.Now()
	st = r.waitFor(t, 12*time.Second, "not in sync within 12 s of the server's recovery", func(st client.State) bool {
		return !st.LastSync.IsZero() && !st.Syncing
	})
	t.Logf("in sync %v after the server recovered", st.LastSync.Sub(back).Round(10*time.Millisecond))
	if st.Err != nil || a.V.OutboxLen() != 0 {
		t.Errorf("after recovery: %+v, %d changes waiting", st, a.V.OutboxLen())
	}
}

// Offline, a change of the machine's network (netwatch) makes the runner
// ask the server at once: with probes an hour apart, the laptop is back in
// sync within seconds of the network change that brought the server back.
func TestRunnerProbesOnNetworkChange(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	c := newCase(t, a, "R-3")
	r := newWatched(a.Syncer)
	r.ProbeInterval = time.Hour
	net := make(chan struct{}, 1)
	r.NetChanges = net
	run(t, r.Runner)
	first := r.waitFor(t, 30*time.Second, "no first round", func(st client.State) bool { return !st.LastSync.IsZero() })

	s.Kill()
	addNote(t, a, c, "written with the network down")
	r.Kick()
	r.waitFor(t, 30*time.Second, "not probing after the server went away", func(st client.State) bool { return st.Probing })
	change := func() {
		select {
		case net <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatal("the runner does not take network changes")
		}
	}
	p := r.probes.Load()
	change() // while the server is still away: one failed probe, still probing
	r.waitFor(t, 10*time.Second, "no probe after a network change", func(client.State) bool { return r.probes.Load() > p })
	if st := r.State(); !st.Probing || st.Online {
		t.Errorf("after a network change with the server away: %+v", st)
	}

	s.Start()
	change()
	r.waitFor(t, 10*time.Second, "not back in sync within 10 s of the network change", func(st client.State) bool {
		return st.Online && st.LastSync.After(first.LastSync) && !st.Syncing
	})
	if n := a.V.OutboxLen(); n != 0 {
		t.Errorf("%d changes still waiting after reconnecting", n)
	}
}
