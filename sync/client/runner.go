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
	Online    bool      // the last round reached the server
	Syncing   bool      // a round is running
	Revoked   bool      // the agency revoked this device: sync has stopped
	LastSync  time.Time // last successful round
	LastError string    // why the last round failed ("" after a success)
	Err       error     // the same, as an error (errors.Is against this package's sentinels)
	Progress  Progress  // of the running round
	Last      Summary   // of the last successful round
}

// Runner syncs in the background: a round at start, after Kick (a local
// change), and every Interval; after a failure it waits longer each time, up
// to MaxBackoff. Working offline is never blocked by it.
type Runner struct {
	s          *Syncer
	Interval   time.Duration // default 30 s
	MaxBackoff time.Duration // default 5 min

	kick     chan struct{}
	mu       sync.Mutex
	state    State
	onChange func(State)
}

// NewRunner makes a runner; onChange (may be nil) is called after every state
// change, from the runner's goroutine.
func NewRunner(s *Syncer, lastSync time.Time, onChange func(State)) *Runner {
	return &Runner{s: s, Interval: 30 * time.Second, MaxBackoff: 5 * time.Minute,
		kick: make(chan struct{}, 1), state: State{LastSync: lastSync}, onChange: onChange}
}

// State returns the current state.
func (r *Runner) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Kick asks for a round soon (after a local change).
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
	failures := 0
	for {
		r.update(func(s *State) { s.Syncing, s.Progress = true, Progress{} })
		sum, err := r.s.Sync(ctx, func(p Progress) { r.update(func(s *State) { s.Progress = p }) })
		if ctx.Err() != nil {
			r.update(func(s *State) { s.Syncing = false })
			return
		}
		wait := r.Interval
		if err == nil {
			failures = 0
			r.update(func(s *State) {
				s.Syncing, s.Online, s.LastError, s.Err, s.LastSync, s.Last = false, true, "", nil, time.Now(), sum
			})
		} else {
			revoked := errors.Is(err, ErrRevoked)
			r.update(func(s *State) {
				s.Syncing, s.Online, s.LastError, s.Err, s.Revoked = false, !errors.Is(err, ErrOffline), err.Error(), err, revoked
			})
			if revoked {
				return // never again: the agency has withdrawn this device
			}
			failures++
			wait = min(r.Interval<<min(failures, 10), r.MaxBackoff)
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
