package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fieldcase/fieldcase/internal/syncharness"
	"github.com/fieldcase/fieldcase/sync/client"
)

// The Runner's schedule (probes, back-off, waits) is tested on
// testing/synctest's fake clock: minutes of it pass in an instant and the
// counts are exact. A bubble's clock moves only when every goroutine in it
// is durably blocked, and network I/O is not, so these tests keep no
// connection open inside the bubble: the server is either gone (a closed
// port, connection refused at once) or outside the bubble and closing every
// connection after its answer. The tests with a live fieldcased
// (runner_test.go) run on the real clock.

// bubbleRunner is a runner for d's vault, made inside the bubble (its
// client, timers and channels belong to it), with fast retries. It counts
// rounds (through onChange) and probes (around the real probe).
type bubbleRunner struct {
	*client.Runner
	rounds, probes atomic.Int64
}

func newBubbleRunner(t *testing.T, d *syncharness.Device) *bubbleRunner {
	t.Helper()
	sy, err := client.NewVaultSyncer(d.V, func(c *client.Config) {
		c.RetryMax, c.RetryWaitMin, c.RetryWaitMax = 2, 10*time.Millisecond, 100*time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	br := &bubbleRunner{}
	syncing := false // only touched from the runner's goroutine
	br.Runner = client.NewRunner(sy, time.Time{}, func(st client.State) {
		if st.Syncing && !syncing {
			br.rounds.Add(1)
		}
		syncing = st.Syncing
	})
	probe := br.Probe
	br.Probe = func(ctx context.Context) error { br.probes.Add(1); return probe(ctx) }
	return br
}

// start runs the runner until the bubble's test ends.
func (br *bubbleRunner) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { br.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// closedURL is a loopback address nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// Offline, the runner asks the server every ProbeInterval (and no more
// often), at once when the network changes, and runs a round when asked.
func TestRunnerProbeSchedule(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	c := newCase(t, a, "R-4")
	addNote(t, a, c, "waiting for the server")
	a.UseURL(closedURL(t))
	synctest.Test(t, func(t *testing.T) {
		r := newBubbleRunner(t, a)
		net := make(chan struct{})
		r.NetChanges = net
		r.start(t)

		time.Sleep(time.Minute)
		synctest.Wait()
		st := r.State()
		if !st.Probing || st.Online || !errors.Is(st.Err, client.ErrOffline) || errors.Is(st.Err, client.ErrServerTrouble) {
			t.Fatalf("a minute with the server gone: %+v", st)
		}
		// One round, then a probe every 3 s: 19 or 20 in the rest of the minute.
		if n, p := r.rounds.Load(), r.probes.Load(); n != 1 || p < 19 || p > 20 {
			t.Errorf("in a minute offline: %d rounds and %d probes; want 1 round and 19–20 probes (one each %v)", n, p, r.ProbeInterval)
		}

		p, at := r.probes.Load(), time.Now()
		net <- struct{}{}
		synctest.Wait()
		if got := r.probes.Load() - p; got != 1 || time.Since(at) != 0 {
			t.Errorf("a network change: %d probes after %v; want one at once", got, time.Since(at))
		}
		if st := r.State(); !st.Probing {
			t.Errorf("after a network change with the server still gone: %+v", st)
		}

		r.Kick()
		time.Sleep(2 * time.Second) // within the round's retries, before the next probe
		synctest.Wait()
		if n := r.rounds.Load(); n != 2 {
			t.Errorf("after a kick: %d rounds, want 2", n)
		}
		if st := r.State(); !st.Probing {
			t.Errorf("after the kicked round failed: %+v", st)
		}
		if n := a.V.OutboxLen(); n == 0 {
			t.Errorf("the outbox emptied without a server")
		}
	})
}

// A server that answers only with trouble of its own is not probed: the
// runner waits longer after each failed round (Interval doubling, half of it
// jittered, up to MaxBackoff), so a struggling server is not hammered.
func TestRunnerBacksOff(t *testing.T) {
	t.Parallel()
	s := syncharness.StartServer(t)
	a := s.NewDevice("a", s.URL, "ada", "caseworker", "north")
	newCase(t, a, "R-5")
	var hits atomic.Int64
	sick := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "database failing over", http.StatusInternalServerError)
	}))
	sick.Config.SetKeepAlivesEnabled(false) // no connection left open in the bubble: see above
	sick.Start()
	t.Cleanup(sick.Close)
	a.UseURL(sick.URL)
	synctest.Test(t, func(t *testing.T) {
		r := newBubbleRunner(t, a)
		r.start(t)

		time.Sleep(time.Second)
		synctest.Wait()
		st := r.State()
		if !errors.Is(st.Err, client.ErrServerTrouble) || st.Probing || st.Syncing || !st.Online {
			t.Fatalf("after a round against a failing server: %+v; want ErrServerTrouble, online, not probing", st)
		}
		if want := "the case server is having trouble (500 Internal Server Error): database failing over"; st.LastError != want {
			t.Errorf("error %q, want %q", st.LastError, want)
		}
		if n, h := r.rounds.Load(), hits.Load(); n != 1 || h != 3 {
			t.Errorf("one round: %d rounds, %d requests; want 1 and 3 (the first try and 2 retries)", n, h)
		}
		// The next round waits at least half of TroubleBackoff.
		time.Sleep(r.TroubleBackoff/2 - time.Second)
		synctest.Wait()
		if h := hits.Load(); h != 3 {
			t.Errorf("%d requests within %v of a failed round; want a back-off", h-3, r.TroubleBackoff/2)
		}
		if p := r.probes.Load(); p != 0 {
			t.Errorf("%d probes of a server that answers", p)
		}
		// Trouble of the server's own is tried again soon, but not in a
		// tight loop: over half an hour, waits of 2.5–5 s, 5–10 s,
		// 10–20 s, then 15–30 s leave 61 to 122 rounds (5 s apart it would
		// be 360).
		time.Sleep(30*time.Minute - r.TroubleBackoff/2)
		synctest.Wait()
		n, h := r.rounds.Load(), hits.Load()
		if n < 61 || n > 122 || h != 3*n {
			t.Errorf("in half an hour: %d rounds and %d requests; want 61–122 rounds of 3 requests", n, h)
		}
	})
}
