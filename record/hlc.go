package record

import (
	"sync"
	"time"
)

// HLC is a hybrid logical clock reading: milliseconds since the Unix epoch in
// the high 48 bits and a logical counter in the low 16. It orders revisions
// for display; correctness never depends on clocks agreeing.
type HLC uint64

// Time is the wall-clock part of h.
func (h HLC) Time() time.Time { return time.UnixMilli(int64(h >> 16)) }

// Clock issues HLC readings that never go backwards, even when the wall clock
// does, and move past every reading observed from other devices.
type Clock struct {
	mu   sync.Mutex
	last HLC
	now  func() time.Time
}

// NewClock returns a clock that continues after last.
func NewClock(last HLC) *Clock { return &Clock{last: last, now: time.Now} }

// NewClockWith returns a clock reading the wall time from now (tests give a
// laptop a wrong clock this way).
func NewClockWith(last HLC, now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{last: last, now: now}
}

// Now returns a reading greater than any issued or observed before.
func (c *Clock) Now() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := HLC(uint64(c.now().UnixMilli()) << 16)
	if wall > c.last {
		c.last = wall
	} else {
		c.last++
	}
	return c.last
}

// Observe moves the clock past a reading seen on another device.
func (c *Clock) Observe(h HLC) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h > c.last {
		c.last = h
	}
}

// Last is the latest reading issued or observed.
func (c *Clock) Last() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
