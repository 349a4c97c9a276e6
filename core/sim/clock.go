package sim

import (
	"sync"
	"time"
)

// Clock is the simulator's only source of time. Everything that happens
// later (notification deliveries and their retries, settlement, refund
// payouts, charges on their PaymentDate, checkout expiry) is due at a time
// read from it, so a test that controls the clock controls all of them.
type Clock interface {
	Now() time.Time
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// ManualClock is a clock that moves only when told to. With it the
// simulator runs no background goroutine: due work runs inside
// Server.Advance, synchronously, so tests are deterministic and never sleep.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now implements Clock.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (never backwards). It runs nothing by
// itself; use Server.Advance to move the clock and run what falls due.
func (c *ManualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// set moves the clock to t if t is later.
func (c *ManualClock) set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}
