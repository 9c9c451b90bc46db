// Package faultproxy is a fault-injecting HTTP reverse proxy for tests. It
// listens on 127.0.0.1 and, per request and with configured probabilities,
// drops the connection before forwarding, forwards and then drops the
// answer (the lost acknowledgement), answers 503 itself (sometimes with
// Retry-After), delays, or cuts the response body short. A latency mode adds
// a fixed round trip to every request, for benchmarks.
//
// TCP is a plain TCP proxy that can freeze (forward nothing, answer
// nothing) and thaw: a database host that stops answering, for the
// PostgreSQL store's tests.
//
// Its choices are deterministic: request n (counted from 1 in arrival
// order) draws from a generator seeded with (Seed, n), so one client sending
// requests one at a time meets the same faults on every run.
package faultproxy
