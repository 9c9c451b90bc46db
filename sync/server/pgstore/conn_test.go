package pgstore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/faultproxy"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore/pgtest"
)

// proxied starts a TCP proxy to the database at dbURL and returns it; the
// proxy is closed when t ends.
func proxied(t *testing.T, dbURL string) *faultproxy.TCP {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.NewTCP(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// withHosts is dbURL with its host:port replaced by hosts (a multi-host
// list, "h1:p1,h2:p2") and query added to its parameters.
func withHosts(t *testing.T, dbURL, hosts, query string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hosts
	if query != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += query
	}
	return u.String()
}

func ping(ctx context.Context, st *pgstore.Store) error {
	return st.View(ctx, func(tx server.Tx) error {
		_, err := tx.LastChangeSeq()
		return err
	})
}

// A database host that accepts connections and never answers: Open gives
// up after the URL's connect_timeout, or the explicit option, which wins.
func TestConnectTimeout(t *testing.T) {
	dbURL := pgtest.URL(t)
	p := proxied(t, dbURL)
	p.Freeze()
	tests := []struct {
		name     string
		query    string
		opt      time.Duration
		min, max time.Duration
	}{
		{"URL", "connect_timeout=1", 0, time.Second, 4 * time.Second},
		{"option over URL", "connect_timeout=30", 300 * time.Millisecond, 300 * time.Millisecond, 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			st, err := pgstore.Open(ctx, withHosts(t, dbURL, p.Addr(), tc.query), pgstore.Options{ConnectTimeout: tc.opt})
			took := time.Since(start)
			if err == nil {
				st.Close()
				t.Fatal("Open through a frozen host succeeded")
			}
			if took < tc.min || took > tc.max {
				t.Errorf("Open failed after %v (%v), want between %v and %v", took, err, tc.min, tc.max)
			}
		})
	}
}

// A host that freezes under a warm pool: the request in flight fails
// within the transaction deadline instead of hanging; that failure drops
// the pool's other connections to the frozen host, so the next request
// goes straight to the next host of the multi-host URL and succeeds
// (without the drop it would meet a stale connection and time out too).
// When the host thaws, requests go on.
func TestFrozenHost(t *testing.T) {
	dbURL := pgtest.URL(t)
	a, b := proxied(t, dbURL), proxied(t, dbURL)
	const txTimeout = time.Second
	st, err := pgstore.Open(context.Background(), withHosts(t, dbURL, a.Addr()+","+b.Addr(), ""),
		pgstore.Options{MaxConns: 4, TxTimeout: txTimeout, ConnectTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()

	// Warm the pool: four connections, all to host a.
	hold := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			errs <- st.View(ctx, func(server.Tx) error { <-hold; return nil })
		}()
	}
	for st.Stat().AcquiredConns() < 4 {
		time.Sleep(10 * time.Millisecond)
	}
	close(hold)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	a.Freeze()
	start := time.Now()
	err = ping(ctx, st)
	took := time.Since(start)
	if !errors.Is(err, pgstore.ErrTxTimeout) {
		t.Fatalf("request to a frozen host: %v, want ErrTxTimeout", err)
	}
	if took > txTimeout+2*time.Second {
		t.Errorf("request to a frozen host failed after %v, want about %v", took, txTimeout)
	}
	start = time.Now()
	if err := ping(ctx, st); err != nil {
		t.Fatalf("next request, with host b answering: %v", err)
	}
	t.Logf("first request failed after %v; the next succeeded in %v", took, time.Since(start))

	a.Thaw()
	for range 8 {
		if err := ping(ctx, st); err != nil {
			t.Fatalf("after thawing: %v", err)
		}
	}
}

// /readyz answers 503 within two seconds when the database is frozen, and
// 200 on the first try once it answers again.
func TestReadyzFrozen(t *testing.T) {
	dbURL := pgtest.URL(t)
	p := proxied(t, dbURL)
	st, err := pgstore.Open(context.Background(), withHosts(t, dbURL, p.Addr(), ""), pgstore.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(server.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	ready := func() (int, string, time.Duration) {
		t.Helper()
		start := time.Now()
		resp, err := http.Get(ts.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), time.Since(start)
	}
	if code, body, _ := ready(); code != http.StatusOK {
		t.Fatalf("readyz: %d %s, want 200", code, body)
	}
	p.Freeze()
	code, body, took := ready()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not answering") {
		t.Errorf("readyz, database frozen: %d %s, want 503 saying the store is not answering", code, body)
	}
	if took > 2*time.Second {
		t.Errorf("readyz, database frozen, answered after %v, want at most 2s", took)
	}
	// Once the database answers again, so does the next request.
	p.Thaw()
	if code, body, _ := ready(); code != http.StatusOK {
		t.Fatalf("readyz after thawing: %d %s, want 200", code, body)
	}
	if err := ping(context.Background(), st); err != nil {
		t.Fatalf("request after thawing: %v", err)
	}
}
