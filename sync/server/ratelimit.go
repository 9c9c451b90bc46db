package server

import (
	"sync"
	"time"
)

// limiter is a token bucket per remote address plus one for everyone.
type limiter struct {
	mu      sync.Mutex
	perAddr Rate
	global  bucket
	addrs   map[string]*bucket
	globalR Rate
}

// maxTrackedAddrs bounds the per-address table; past it, addresses whose
// bucket has refilled are forgotten.
const maxTrackedAddrs = 10000

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perAddr, global Rate) *limiter {
	return &limiter{perAddr: perAddr, globalR: global, global: bucket{tokens: float64(global.Burst)}, addrs: map[string]*bucket{}}
}

// take spends one token of b at now, or says how long until one is there.
func (b *bucket) take(r Rate, now time.Time) (bool, time.Duration) {
	b.refill(r, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(r.Every))
}

func (b *bucket) refill(r Rate, now time.Time) {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens += float64(now.Sub(b.last)) / float64(r.Every)
	}
	if b.tokens > float64(r.Burst) {
		b.tokens = float64(r.Burst)
	}
	b.last = now
}

// allow spends an attempt for addr, or says how long to wait.
func (l *limiter) allow(addr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.addrs[addr]
	if b == nil {
		if len(l.addrs) >= maxTrackedAddrs {
			l.forget(now)
		}
		b = &bucket{tokens: float64(l.perAddr.Burst), last: now}
		l.addrs[addr] = b
	}
	// Check the address first, so one noisy address does not also drain
	// the global bucket for everyone else.
	if ok, wait := b.take(l.perAddr, now); !ok {
		return false, wait
	}
	if ok, wait := l.global.take(l.globalR, now); !ok {
		b.tokens++ // not this address's fault
		return false, wait
	}
	return true, 0
}

// refund gives back the attempt addr spent, as when a grant lookup
// succeeded: the enrolment that follows spends its own.
func (l *limiter) refund(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.addrs[addr]; b != nil {
		b.tokens = min(b.tokens+1, float64(l.perAddr.Burst))
	}
	l.global.tokens = min(l.global.tokens+1, float64(l.globalR.Burst))
}

func (l *limiter) forget(now time.Time) {
	for a, b := range l.addrs {
		if b.refill(l.perAddr, now); b.tokens >= float64(l.perAddr.Burst) {
			delete(l.addrs, a)
		}
	}
	if len(l.addrs) >= maxTrackedAddrs {
		clear(l.addrs)
	}
}
