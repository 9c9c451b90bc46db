package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/sync/protocol"
)

func TestCheckRetry(t *testing.T) {
	ctx := context.Background()
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Header: http.Header{}} }
	tests := []struct {
		name  string
		resp  *http.Response
		err   error
		retry bool
	}{
		{"connection error", nil, errors.New("connection refused"), true},
		{"pin mismatch", nil, ErrFingerprint, false},
		{"500", resp(500), nil, true},
		{"502", resp(502), nil, true},
		{"503", resp(503), nil, true},
		{"501", resp(501), nil, false},
		{"408", resp(408), nil, true},
		{"429", resp(429), nil, true},
		{"400", resp(400), nil, false},
		{"401", resp(401), nil, false},
		{"403", resp(403), nil, false},
		{"410", resp(410), nil, false},
		{"426", resp(426), nil, false},
		{"200", resp(200), nil, false},
	}
	for _, tt := range tests {
		if got, _ := checkRetry(ctx, tt.resp, tt.err); got != tt.retry {
			t.Errorf("%s: retry = %v, want %v", tt.name, got, tt.retry)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if got, err := checkRetry(cancelled, nil, errors.New("x")); got || err == nil {
		t.Errorf("cancelled context: retry=%v err=%v", got, err)
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 5*time.Second
	for attempt := 0; attempt < 12; attempt++ {
		full := min(lo<<attempt, hi)
		for range 50 {
			d := backoff(lo, hi, attempt, nil)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	r := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"3"}}}
	if d := backoff(lo, hi, 0, r); d != 3*time.Second {
		t.Errorf("Retry-After 3 on 429: %v", d)
	}
	r = &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"600"}}}
	if d := backoff(lo, hi, 0, r); d != hi {
		t.Errorf("Retry-After beyond the cap: %v, want %v", d, hi)
	}
	r = &http.Response{StatusCode: 500, Header: http.Header{"Retry-After": {"3"}}}
	if d := backoff(lo, hi, 0, r); d > lo {
		t.Errorf("Retry-After honoured on a 500: %v", d)
	}
}

// Retries really happen, and honour Retry-After, against a server that
// answers 503 twice then 200.
func TestRetriesThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Fieldcase-Protocol") != strconv.Itoa(protocol.Version) {
			t.Errorf("protocol header missing")
		}
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
			return
		}
		w.Write([]byte(`{"agency":"","statements":[],"version":3}`))
	}))
	defer srv.Close()
	c, _ := New(Config{Server: srv.URL, Token: "t", RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond})
	r, err := c.Roster(context.Background())
	if err != nil || r.Version != 3 || calls.Load() != 3 {
		t.Errorf("roster %+v, err %v, calls %d", r, err, calls.Load())
	}
	// A 403 is an answer: one call, no retry.
	calls.Store(0)
	forbid := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(403)
		w.Write([]byte(`{"code":"forbidden","error":"admins read no case content"}`))
	}))
	defer forbid.Close()
	c, _ = New(Config{Server: forbid.URL, Token: "t"})
	_, err = c.Roster(context.Background())
	if err == nil || !strings.Contains(err.Error(), "admins read no case content") || calls.Load() != 1 {
		t.Errorf("403: %v after %d calls", err, calls.Load())
	}
}

func TestPinnedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"team":"north","members":[],"version":1}`))
	}))
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().Raw)
	good := FormatFingerprint(sum[:])
	c, err := New(Config{Server: srv.URL, Fingerprint: good})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Roster(context.Background()); err != nil {
		t.Errorf("pinned certificate refused: %v", err)
	}
	bad := strings.Repeat("AB:", 31) + "AB"
	c, _ = New(Config{Server: srv.URL, Fingerprint: bad, RetryWaitMin: time.Millisecond})
	if _, err := c.Roster(context.Background()); !errors.Is(err, ErrFingerprint) {
		t.Errorf("wrong pin: %v, want ErrFingerprint", err)
	}
	// Without a pin, a self-signed certificate is not trusted either.
	c, _ = New(Config{Server: srv.URL, RetryWaitMin: time.Millisecond})
	if _, err := c.Roster(context.Background()); !errors.Is(err, ErrFingerprint) {
		t.Errorf("no pin, self-signed: %v, want ErrFingerprint", err)
	}
}

func TestNewRefusesInsecure(t *testing.T) {
	for _, u := range []string{"http://cases.agency.example:8080", "ftp://x", "not a url", "https://"} {
		if _, err := New(Config{Server: u}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if _, err := New(Config{Server: "http://cases.agency.example"}); !errors.Is(err, ErrInsecure) {
		t.Errorf("plain http to a remote host: %v, want ErrInsecure", err)
	}
	for _, u := range []string{"http://127.0.0.1:8443", "http://localhost:1", "http://[::1]:2"} {
		if _, err := New(Config{Server: u}); err != nil {
			t.Errorf("New(%q) = %v", u, err)
		}
	}
}

func FuzzParseFingerprint(f *testing.F) {
	f.Add("SHA256:" + strings.Repeat("0A:", 31) + "0A")
	f.Add(strings.Repeat("ab", 32))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseFingerprint(s)
		if err != nil {
			return
		}
		if again, err := ParseFingerprint(FormatFingerprint(b)); err != nil || string(again) != string(b) {
			t.Fatalf("fingerprint %q does not round trip", s)
		}
	})
}
