package faultproxy_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
)

// backend counts requests and answers with a body long enough to cut.
func backend(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", string(body))
		io.WriteString(w, strings.Repeat("0123456789", 100))
	}))
	t.Cleanup(ts.Close)
	return ts, &hits
}

func start(t *testing.T, cfg faultproxy.Config) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// outcome sends one request through p and names what the client saw.
func outcome(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Post(url+"/x", "text/plain", strings.NewReader("ping"))
	if err != nil {
		return "error"
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return "truncated"
	case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "":
		return "503+retry-after"
	case resp.StatusCode == 503:
		return "503"
	case resp.StatusCode == 200 && len(b) == 1000 && resp.Header.Get("X-Echo") == "ping":
		return "ok"
	}
	return "unexpected " + resp.Status
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		cfg       faultproxy.Config
		want      string
		reached   int64
		counts    func(faultproxy.Counts) int64
		countWant int64
	}{
		{"pass through", faultproxy.Config{}, "ok", 1, func(c faultproxy.Counts) int64 { return c.Forwarded }, 1},
		{"drop request", faultproxy.Config{DropRequest: 1}, "error", 0, func(c faultproxy.Counts) int64 { return c.DroppedReq }, 1},
		{"drop response", faultproxy.Config{DropResponse: 1}, "error", 1, func(c faultproxy.Counts) int64 { return c.DroppedResp }, 1},
		{"503", faultproxy.Config{Unavailable: 1}, "503", 0, func(c faultproxy.Counts) int64 { return c.Unavailable }, 1},
		{"503 with Retry-After", faultproxy.Config{Unavailable: 1, RetryAfter: 1}, "503+retry-after", 0, func(c faultproxy.Counts) int64 { return c.Unavailable }, 1},
		{"truncate", faultproxy.Config{Truncate: 1}, "truncated", 1, func(c faultproxy.Counts) int64 { return c.Truncated }, 1},
		{"delay", faultproxy.Config{Delay: 1, DelayMax: time.Millisecond}, "ok", 1, func(c faultproxy.Counts) int64 { return c.Delayed }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, hits := backend(t)
			tc.cfg.Target = ts.URL
			p := start(t, tc.cfg)
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
			if got := outcome(t, c, p.URL()); got != tc.want {
				t.Errorf("outcome = %s, want %s", got, tc.want)
			}
			if got := hits.Load(); got != tc.reached {
				t.Errorf("backend saw %d requests, want %d", got, tc.reached)
			}
			counts := p.Counts()
			if counts.Requests != 1 || tc.counts(counts) != tc.countWant {
				t.Errorf("counts = %+v", counts)
			}
		})
	}
}

// The same seed gives the same faults in the same order; another seed
// gives others.
func TestDeterministic(t *testing.T) {
	ts, _ := backend(t)
	run := func(seed uint64) []string {
		p := start(t, faultproxy.Config{Target: ts.URL, Seed: seed, DropRequest: 0.15, DropResponse: 0.15, Unavailable: 0.15, RetryAfter: 0.5, Truncate: 0.15})
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
		var out []string
		for range 60 {
			out = append(out, outcome(t, c, p.URL()))
		}
		if n := p.Counts().Requests; n != 60 {
			t.Errorf("requests counted %d, want 60", n)
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	if !slices.Equal(a, b) {
		t.Errorf("seed 7 twice:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same faults: %v", a)
	}
	kinds := map[string]bool{}
	for _, o := range a {
		kinds[o] = true
	}
	if len(kinds) < 5 {
		t.Errorf("60 requests met only %v", kinds)
	}
}

func TestLatency(t *testing.T) {
	ts, _ := backend(t)
	p := start(t, faultproxy.Config{Target: ts.URL, Latency: 40 * time.Millisecond})
	startT := time.Now()
	if got := outcome(t, http.DefaultClient, p.URL()); got != "ok" {
		t.Fatalf("outcome = %s", got)
	}
	if d := time.Since(startT); d < 40*time.Millisecond {
		t.Errorf("round trip %v, want at least the 40ms added", d)
	}
}

// Close ends held requests at once.
func TestCloseEndsHeldRequests(t *testing.T) {
	ts, _ := backend(t)
	p, err := faultproxy.New(faultproxy.Config{Target: ts.URL, Latency: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(p.URL())
		if err == nil {
			resp.Body.Close()
			err = errors.New("answered")
		}
		errc <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for p.Counts().Requests == 0 {
		if time.Now().After(deadline) {
			t.Fatal("request never reached the proxy")
		}
		time.Sleep(time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil || err.Error() == "answered" {
			t.Errorf("held request = %v, want a connection error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held request still waiting after Close")
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []faultproxy.Config{{Target: "ftp://x"}, {Target: "http://x", DropRequest: 2}, {Target: ""}} {
		if p, err := faultproxy.New(cfg); err == nil {
			p.Close()
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
