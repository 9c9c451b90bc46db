package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// State is what the TUI shows about sync.
type State struct {
	Online   bool      // the last round reached the server
	Syncing  bool      // a round is running
	Revoked  bool      // the agency revoked this device: sync has stopped
	LastSync time.Time // last successful round
	// Probing: the server could not be reached, and the runner is asking
	// it every ProbeInterval whether it is back.
	Probing   bool
	LastError string   // why the last round failed ("" after a success)
	Err       error    // the same, as an error (errors.Is against this package's sentinels)
	Progress  Progress // of the running round
	Last      Summary  // of the last successful round
}

// Runner syncs in the background: a round at start, after Kick (a local
// change, or a person asking to sync now), and every Interval. When the
// server cannot be reached it asks it cheaply (one GET /healthz, no
// retries) every ProbeInterval and starts a round the moment it answers,
// so a laptop is back in sync seconds after the network returns. When the
// server answers with trouble of its own (ErrServerTrouble: a 5xx while its
// database fails over, say), it tries again after TroubleBackoff, doubling
// each time up to TroubleMaxBackoff: soon, since such trouble usually lasts
// seconds, and jittered, so that a recovering server is not met by every
// laptop at once. When the server refuses the round, it waits longer each
// time, up to MaxBackoff. Working offline is never blocked by it.
type Runner struct {
	s                 *Syncer
	Interval          time.Duration // default 30 s
	MaxBackoff        time.Duration // default 5 min
	TroubleBackoff    time.Duration // default 5 s
	TroubleMaxBackoff time.Duration // default 30 s
	ProbeInterval     time.Duration // default 3 s
	ProbeTimeout      time.Duration // default 2 s
	// Probe asks whether the server can be reached (default: the client's
	// Ping).
	Probe func(context.Context) error
	// NetChanges, when not nil, receives when the machine's network
	// changes (internal/netwatch): offline, the runner probes at once
	// rather than at the next ProbeInterval.
	NetChanges <-chan struct{}

	kick     chan struct{}
	mu       sync.Mutex
	state    State
	onChange func(State)
}

// NewRunner makes a runner; onChange (may be nil) is called after every state
// change, from the runner's goroutine.
func NewRunner(s *Syncer, lastSync time.Time, onChange func(State)) *Runner {
	return &Runner{s: s, Interval: 30 * time.Second, MaxBackoff: 5 * time.Minute,
		TroubleBackoff: 5 * time.Second, TroubleMaxBackoff: 30 * time.Second, ProbeInterval: 3 * time.Second, ProbeTimeout: 2 * time.Second, Probe: s.c.Ping,
		kick: make(chan struct{}, 1), state: State{LastSync: lastSync}, onChange: onChange}
}

// State returns the current state.
func (r *Runner) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Kick asks for a round now (after a local change, or "sync now"): at once
// if none is running, else right after the running one.
func (r *Runner) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Runner) update(f func(*State)) {
	r.mu.Lock()
	f(&r.state)
	st := r.state
	r.mu.Unlock()
	if r.onChange != nil {
		r.onChange(st)
	}
}

// Run syncs until ctx ends or the device is revoked.
func (r *Runner) Run(ctx context.Context) {
	failures, troubles := 0, 0
	for {
		r.update(func(s *State) { s.Syncing, s.Progress = true, Progress{} })
		sum, err := r.s.Sync(ctx, func(p Progress) { r.update(func(s *State) { s.Progress = p }) })
		if ctx.Err() != nil {
			r.update(func(s *State) { s.Syncing = false })
			return
		}
		wait := r.Interval
		if err == nil {
			failures, troubles = 0, 0
			r.update(func(s *State) {
				s.Syncing, s.Online, s.LastError, s.Err, s.LastSync, s.Last = false, true, "", nil, time.Now(), sum
			})
		} else {
			revoked := errors.Is(err, ErrRevoked)
			trouble := errors.Is(err, ErrServerTrouble)
			r.update(func(s *State) {
				// A server with trouble of its own was reached: online.
				s.Syncing, s.Online, s.LastError, s.Err, s.Revoked = false, trouble || !errors.Is(err, ErrOffline), err.Error(), err, revoked
			})
			if revoked {
				return // never again: the agency has withdrawn this device
			}
			switch {
			case trouble:
				troubles++
				wait = min(r.TroubleBackoff<<min(troubles-1, 10), r.TroubleMaxBackoff)
			case errors.Is(err, ErrOffline):
				if !r.waitReachable(ctx) {
					return
				}
				continue
			default:
				failures++
				wait = min(r.Interval<<min(failures, 10), r.MaxBackoff)
			}
			wait = wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// waitReachable probes the server every ProbeInterval, and at once when the
// network changes, until it answers or a round is asked for (Kick). It
// reports false when ctx ended.
func (r *Runner) waitReachable(ctx context.Context) bool {
	r.update(func(s *State) { s.Probing = true })
	defer r.update(func(s *State) { s.Probing = false })
	for {
		t := time.NewTimer(r.ProbeInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-r.kick:
			t.Stop()
			return true
		case <-r.NetChanges:
			t.Stop()
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, r.ProbeTimeout)
		err := r.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return false
		}
		if err == nil || !errors.Is(err, ErrOffline) {
			return true // back, or an answer worth a real round (a changed certificate, say)
		}
	}
}
