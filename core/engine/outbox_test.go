package engine_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
)

// attempts is a Deliverer that fails the first failFirst[seq] deliveries of
// each seq of an order and counts every delivery.
type attempts struct {
	mu        sync.Mutex
	failFirst map[int64]int
	tried     map[int64]int
	rec       recorder
}

func (a *attempts) fail(c engine.StatusChange) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tried[c.Seq]++
	if a.tried[c.Seq] <= a.failFirst[c.Seq] {
		return errors.New("platform is down")
	}
	return nil
}

func TestWaitingForAnEarlierChangeIsNotAFailedDelivery(t *testing.T) {
	onEach(t, testWaitingForAnEarlierChangeIsNotAFailedDelivery)
}

func testWaitingForAnEarlierChangeIsNotAFailedDelivery(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(time.Minute) // seq 1 started, 2 pending, 3 paid
	// Seq 1 fails twice, so seq 2 and 3 wait through two passes before
	// seq 2 fails once on its own: with three attempts allowed, only
	// failures count, and everything arrives in order.
	a := &attempts{failFirst: map[int64]int{1: 2, 2: 1}, tried: map[int64]int{}}
	a.rec.fail = a.fail
	ob := w.eng.Outbox(&a.rec, engine.OutboxConfig{MaxAttempts: 3, Backoff: func(int64) time.Duration { return time.Millisecond }})
	deadline := time.Now().Add(10 * time.Second)
	for a.rec.path(o.ID) != "started>pending>paid" && time.Now().Before(deadline) {
		if _, err := ob.Pump(w.ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p := a.rec.path(o.ID); p != "started>pending>paid" {
		t.Fatalf("platform saw %q, want started>pending>paid", p)
	}
	dead, err := ob.ListDead(w.ctx, 10)
	if err != nil || len(dead) != 0 {
		t.Fatalf("dead-lettered %+v, %v; want none", dead, err)
	}
	if a.tried[1] != 3 || a.tried[2] != 2 || a.tried[3] != 1 {
		t.Fatalf("deliveries per seq = %v, want 3, 2, 1", a.tried)
	}
}

func TestFailedDeliveriesAreDeadLetteredAfterMaxAttempts(t *testing.T) {
	w := newWorld(t, backends[0])
	o := w.pay(payment(10000))
	a := &attempts{failFirst: map[int64]int{1: 100}, tried: map[int64]int{}}
	a.rec.fail = a.fail
	ob := w.eng.Outbox(&a.rec, engine.OutboxConfig{MaxAttempts: 3, Backoff: func(int64) time.Duration { return time.Millisecond }})
	deadline := time.Now().Add(10 * time.Second)
	var dead []engine.DeadEntry
	for len(dead) == 0 && time.Now().Before(deadline) {
		if _, err := ob.Pump(w.ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		var err error
		if dead, err = ob.ListDead(w.ctx, 10); err != nil {
			t.Fatal(err)
		}
	}
	if len(dead) != 1 || dead[0].Change.OrderID != o.ID || a.tried[1] != 3 {
		t.Fatalf("dead = %+v after %d deliveries; want the entry after 3", dead, a.tried[1])
	}
}

var errPlatform = errors.New("platform refused")
