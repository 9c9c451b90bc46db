package faultproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// Config says what to do to requests. Probabilities are in [0, 1] and are
// tried in the order listed; at most one fault (besides Delay and Latency)
// hits a request.
type Config struct {
	Target string // base URL of the real server
	Seed   uint64

	DropRequest  float64 // close the connection without forwarding
	DropResponse float64 // forward, let the server finish, then close without answering
	Unavailable  float64 // answer 503 without forwarding
	RetryAfter   float64 // of those 503s, the share that carry "Retry-After: 1"
	Truncate     float64 // forward, then send only part of the response body and close

	Delay    float64       // the share of requests held back before forwarding
	DelayMax time.Duration // a held request waits a random time up to this

	// Latency is added to every request's round trip (half before
	// forwarding, half after), whatever else happens.
	Latency time.Duration

	// TargetTLS is the client TLS configuration for an https target.
	TargetTLS *tls.Config

	// Rewrite, when set, sees every request that reached the server and
	// may replace its answer's body: how a test plays a lying server (see
	// syncharness's adversary). It runs on the proxy's goroutines.
	Rewrite func(r *http.Request, reqBody []byte, status int, respBody []byte) []byte
}

// Counts is what the proxy has done so far.
type Counts struct {
	Requests      int64
	Forwarded     int64 // reached the server (including dropped responses and truncations)
	DroppedReq    int64
	DroppedResp   int64
	Unavailable   int64
	Truncated     int64
	Delayed       int64
	TransportErrs int64 // the server could not be reached
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	cfg    Config
	target *url.URL
	ln     net.Listener
	srv    *http.Server
	tr     *http.Transport
	done   chan struct{}

	n                                                  atomic.Uint64
	requests, forwarded, droppedReq, droppedResp, unav atomic.Int64
	truncated, delayed, transportErrs                  atomic.Int64
}

// New starts a proxy on a free port of 127.0.0.1.
func New(cfg Config) (*Proxy, error) {
	target, err := url.Parse(cfg.Target)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return nil, fmt.Errorf("faultproxy: bad target %q", cfg.Target)
	}
	for _, p := range []float64{cfg.DropRequest, cfg.DropResponse, cfg.Unavailable, cfg.RetryAfter, cfg.Truncate, cfg.Delay} {
		if p < 0 || p > 1 {
			return nil, fmt.Errorf("faultproxy: probability %v out of [0, 1]", p)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		cfg: cfg, target: target, ln: ln, done: make(chan struct{}),
		tr: &http.Transport{TLSClientConfig: cfg.TargetTLS, MaxIdleConnsPerHost: 16, DisableCompression: true},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(p.done)
		p.srv.Serve(ln)
	}()
	return p, nil
}

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Counts reports what the proxy has done.
func (p *Proxy) Counts() Counts {
	return Counts{
		Requests: p.requests.Load(), Forwarded: p.forwarded.Load(), DroppedReq: p.droppedReq.Load(),
		DroppedResp: p.droppedResp.Load(), Unavailable: p.unav.Load(), Truncated: p.truncated.Load(),
		Delayed: p.delayed.Load(), TransportErrs: p.transportErrs.Load(),
	}
}

// Close stops the proxy: it closes the listener and every connection (held
// requests end at once) and waits for the server loop to return.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	<-p.done
	p.tr.CloseIdleConnections()
	return err
}

// fault is what happens to one request.
type fault int

const (
	none fault = iota
	dropRequest
	dropResponse
	unavailable
	truncate
)

// plan draws request n's fate.
type plan struct {
	fault      fault
	retryAfter bool
	delay      time.Duration
	cut        float64 // share of the body sent before a truncation
}

func (p *Proxy) plan(n uint64) plan {
	rng := rand.New(rand.NewPCG(p.cfg.Seed, n))
	var pl plan
	// Draw every number every time, so one setting does not shift the
	// others' sequence.
	rDrop, rResp, rUnav, rRetry, rTrunc, rDelay := rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64()
	pl.cut = rng.Float64()
	delayFrac := rng.Float64()
	switch {
	case rDrop < p.cfg.DropRequest:
		pl.fault = dropRequest
	case rResp < p.cfg.DropResponse:
		pl.fault = dropResponse
	case rUnav < p.cfg.Unavailable:
		pl.fault, pl.retryAfter = unavailable, rRetry < p.cfg.RetryAfter
	case rTrunc < p.cfg.Truncate:
		pl.fault = truncate
	}
	if rDelay < p.cfg.Delay && p.cfg.DelayMax > 0 {
		pl.delay = time.Duration(delayFrac * float64(p.cfg.DelayMax))
	}
	return pl
}

// sleep waits d or until the request is cancelled.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// abort ends the response without a proper ending: the client sees the
// connection close (before any answer, or mid-body).
func abort() { panic(http.ErrAbortHandler) }

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	pl := p.plan(p.n.Add(1))
	ctx := r.Context()
	if sleep(ctx, p.cfg.Latency/2) != nil {
		return
	}
	if pl.delay > 0 {
		p.delayed.Add(1)
		if sleep(ctx, pl.delay) != nil {
			return
		}
	}
	switch pl.fault {
	case dropRequest:
		p.droppedReq.Add(1)
		abort()
	case unavailable:
		p.unav.Add(1)
		if pl.retryAfter {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"code":"unavailable","error":"faultproxy: injected 503"}`)
		return
	}

	out := r.Clone(ctx)
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.Host = p.target.Host
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	// Buffer the body so a retried request can be sent whole.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		abort()
	}
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		p.transportErrs.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	p.forwarded.Add(1)
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		abort()
	}
	if pl.fault == dropResponse {
		// The server has answered (and committed); the device never hears.
		p.droppedResp.Add(1)
		abort()
	}
	if sleep(ctx, p.cfg.Latency-p.cfg.Latency/2) != nil {
		return
	}
	if p.cfg.Rewrite != nil {
		respBody = p.cfg.Rewrite(r, body, resp.StatusCode, respBody)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	for _, h := range hopHeaders {
		w.Header().Del(h)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(respBody)))
	w.WriteHeader(resp.StatusCode)
	if pl.fault == truncate && len(respBody) > 0 {
		p.truncated.Add(1)
		w.Write(respBody[:int(pl.cut*float64(len(respBody)))])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		abort()
	}
	w.Write(respBody)
}
