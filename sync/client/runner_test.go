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

	"github.com/fieldcase/fieldcase/internal/synctest"
	"github.com/fieldcase/fieldcase/sync/client"
)

// waitState polls the runner until ok holds or d has passed.
func waitState(t *testing.T, r *client.Runner, d time.Duration, what string, ok func(client.State) bool) client.State {
	t.Helper()
	end := time.Now().Add(d)
	for {
		st := r.State()
		if ok(st) {
			return st
		}
		if time.Now().After(end) {
			t.Fatalf("after %v: %s; runner state %+v", d, what, st)
		}
		time.Sleep(20 * time.Millisecond)
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
	s := synctest.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	c := newCase(t, a, "R-1")
	r := client.NewRunner(a.Syncer, time.Time{}, nil)
	run(t, r)
	first := waitState(t, r, 30*time.Second, "no first round", func(st client.State) bool { return !st.LastSync.IsZero() })

	s.Kill()
	addNote(t, a, c, "written while the server was down")
	r.Kick()
	st := waitState(t, r, 30*time.Second, "not probing after the server went away", func(st client.State) bool { return st.Probing })
	if st.Online || !errors.Is(st.Err, client.ErrOffline) || errors.Is(st.Err, client.ErrServerTrouble) {
		t.Errorf("offline state %+v", st)
	}
	// Several probes fail while it stays away; still probing, no round lost.
	time.Sleep(4 * time.Second)
	if st := r.State(); !st.Probing || st.Online {
		t.Errorf("while the server is away: %+v", st)
	}

	s.Start()
	back := time.Now()
	st = waitState(t, r, 10*time.Second, "not back in sync within 10 s of the server's return", func(st client.State) bool {
		return st.Online && st.LastSync.After(first.LastSync) && !st.Syncing
	})
	t.Logf("in sync %v after the server came back", st.LastSync.Sub(back).Round(10*time.Millisecond))
	if n := a.V.OutboxLen(); n != 0 {
		t.Errorf("%d changes still waiting after reconnecting", n)
	}
}

// A server that answers, but only with trouble of its own (a database
// failing over), is not probed in a tight loop: the runner says so, counts
// the server as reached (online, not "unreachable"), and backs off
// briefly, so that once the server is well again the laptop is in sync
// within seconds, not the minute of a refused round's back-off.
func TestRunnerServerTrouble(t *testing.T) {
	t.Parallel()
	s := synctest.StartServer(t)
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
	r := client.NewRunner(a.Syncer, time.Time{}, nil)
	run(t, r)
	st := waitState(t, r, 30*time.Second, "no failed round", func(st client.State) bool { return st.Err != nil && !st.Syncing })
	if !errors.Is(st.Err, client.ErrServerTrouble) || st.Probing || !st.Online {
		t.Errorf("state against a failing server: %+v; want ErrServerTrouble, online, not probing", st)
	}
	if want := "the case server is having trouble (500 Internal Server Error): database failing over"; st.LastError != want {
		t.Errorf("error %q, want %q", st.LastError, want)
	}
	n := hits.Load()
	time.Sleep(2 * time.Second)
	if more := hits.Load() - n; more != 0 {
		t.Errorf("%d more requests within 2 s of a failed round; want a back-off", more)
	}

	healed.Store(true)
	back := time.Now()
	st = waitState(t, r, 12*time.Second, "not in sync within 12 s of the server's recovery", func(st client.State) bool {
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
	s := synctest.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	c := newCase(t, a, "R-3")
	r := client.NewRunner(a.Syncer, time.Time{}, nil)
	r.ProbeInterval = time.Hour
	net := make(chan struct{}, 1)
	r.NetChanges = net
	run(t, r)
	first := waitState(t, r, 30*time.Second, "no first round", func(st client.State) bool { return !st.LastSync.IsZero() })

	s.Kill()
	addNote(t, a, c, "written with the network down")
	r.Kick()
	waitState(t, r, 30*time.Second, "not probing after the server went away", func(st client.State) bool { return st.Probing })
	change := func() {
		select {
		case net <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatal("the runner does not take network changes")
		}
	}
	change() // while the server is still away: one failed probe, still probing
	time.Sleep(time.Second)
	if st := r.State(); !st.Probing || st.Online {
		t.Errorf("after a network change with the server away: %+v", st)
	}

	s.Start()
	change()
	waitState(t, r, 10*time.Second, "not back in sync within 10 s of the network change", func(st client.State) bool {
		return st.Online && st.LastSync.After(first.LastSync) && !st.Syncing
	})
	if n := a.V.OutboxLen(); n != 0 {
		t.Errorf("%d changes still waiting after reconnecting", n)
	}
}
