package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
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

// drain pumps ob until nothing is left to deliver (nothing pending or
// unread). The deadline is a fail-safe, not a timing assertion.
func drain(t *testing.T, ctx context.Context, ob *engine.Outbox) engine.OutboxStats {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, err := ob.Pump(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := ob.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Depth == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not drained: %+v", st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRetryableFailuresAreRetriedUntilTheyLand(t *testing.T) {
	onEach(t, testRetryableFailuresAreRetriedUntilTheyLand)
}

func testRetryableFailuresAreRetriedUntilTheyLand(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(time.Minute) // seq 1 started, 2 pending, 3 paid
	// The platform is down for 25 tries of seq 1 and 12 of seq 2: far past
	// the ten attempts that used to dead-letter a change. The backoff is
	// a millisecond so the test does not wait out the real one; it records
	// the failure counts it is asked about.
	a := &attempts{failFirst: map[int64]int{1: 25, 2: 12}, tried: map[int64]int{}}
	a.rec.fail = a.fail
	var most atomic.Int64
	backoff := func(n int64) time.Duration {
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		return time.Millisecond
	}
	ob := w.eng.Outbox(&a.rec, engine.OutboxConfig{Backoff: backoff})
	if _, err := ob.Pump(w.ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := ob.Stats(w.ctx); err != nil || st.Retrying != 1 || st.Depth != 3 {
		t.Fatalf("after the first failure: %+v, %v; want 1 retrying of 3 waiting", st, err)
	}
	st := drain(t, w.ctx, ob)
	if p := a.rec.path(o.ID); p != "started>pending>paid" {
		t.Fatalf("platform saw %q, want started>pending>paid", p)
	}
	if dead, err := ob.ListDead(w.ctx, 10); err != nil || len(dead) != 0 {
		t.Fatalf("dead-lettered %+v, %v; want none", dead, err)
	}
	if a.tried[1] != 26 || a.tried[2] != 13 || a.tried[3] != 1 {
		t.Fatalf("deliveries per seq = %v, want 26, 13, 1", a.tried)
	}
	if st.Retried != 37 || st.Failed != 37 || st.DeadLettered != 0 || st.Delivered != 3 || st.Retrying != 0 {
		t.Fatalf("stats = %+v; want 37 retried failures, 3 delivered, nothing retrying", st)
	}
	if most.Load() < 25 {
		t.Fatalf("backoff asked about at most %d failures, want 25", most.Load())
	}
}

func TestPermanentFailuresAreDeadLetteredAtOnce(t *testing.T) {
	w := newWorld(t, backends[0])
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(time.Minute) // seq 1 started, 2 pending, 3 paid
	tried := map[int64]int{}
	w.got.fail = func(c engine.StatusChange) error {
		tried[c.Seq]++
		if c.Seq == 2 {
			return engine.Permanent(errPlatform)
		}
		return nil
	}
	ob := w.eng.Outbox(&w.got, engine.OutboxConfig{Backoff: func(int64) time.Duration { return time.Millisecond }})
	st := drain(t, w.ctx, ob)
	// The refused change does not hold the later ones back.
	if p := w.got.path(o.ID); p != "started>paid" {
		t.Fatalf("platform saw %q, want started>paid", p)
	}
	dead, err := ob.ListDead(w.ctx, 10)
	if err != nil || len(dead) != 1 || dead[0].Change.Seq != 2 || tried[2] != 1 {
		t.Fatalf("dead = %+v, %v after %d tries; want seq 2 after one", dead, err, tried[2])
	}
	if st.DeadLettered != 1 || st.Retried != 0 || st.Dead != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// The newest state wins: a dead-lettered change replayed after a later
// change of its order reached the platform is skipped, never delivered as
// the order's current status.
func TestAReplayedChangeNeverOverridesANewerOne(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refuse  map[int64]bool // seqs the platform refuses until replay
		reverse bool           // replay the dead letters newest first
		before  string         // what the platform saw before the replay
		after   string
		stale   int64
	}{
		{"pending refused, paid delivered: the replayed pending is skipped",
			map[int64]bool{2: true}, false, "started>paid", "started>paid", 1},
		{"pending and paid refused: both replayed land in order",
			map[int64]bool{2: true, 3: true}, false, "started", "started>pending>paid", 0},
		{"pending and paid refused, replayed newest first: pending is skipped",
			map[int64]bool{2: true, 3: true}, true, "started", "started>paid", 1},
		{"paid refused: the replayed paid lands",
			map[int64]bool{3: true}, false, "started>pending", "started>pending>paid", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, backends[0])
			o := w.pay(payment(10000))
			w.approve(o, "")
			w.advance(time.Minute) // seq 1 started, 2 pending, 3 paid
			var refusing atomic.Bool
			refusing.Store(true)
			w.got.fail = func(c engine.StatusChange) error {
				if refusing.Load() && tc.refuse[c.Seq] {
					return engine.Permanent(errPlatform)
				}
				return nil
			}
			ob := w.eng.Outbox(&w.got, engine.OutboxConfig{Backoff: func(int64) time.Duration { return time.Millisecond }})
			drain(t, w.ctx, ob)
			if p := w.got.path(o.ID); p != tc.before {
				t.Fatalf("before the replay the platform saw %q, want %q", p, tc.before)
			}
			refusing.Store(false)
			dead, err := ob.ListDead(w.ctx, 10)
			if err != nil || len(dead) != len(tc.refuse) {
				t.Fatalf("dead = %+v, %v", dead, err)
			}
			if tc.reverse {
				for i, j := 0, len(dead)-1; i < j; i, j = i+1, j-1 {
					dead[i], dead[j] = dead[j], dead[i]
				}
			}
			for _, d := range dead {
				if err := ob.Replay(w.ctx, d.Shard, d.ID); err != nil {
					t.Fatal(err)
				}
			}
			st := drain(t, w.ctx, ob)
			if p := w.got.path(o.ID); p != tc.after {
				t.Fatalf("after the replay the platform saw %q, want %q", p, tc.after)
			}
			if st.Stale != tc.stale || st.Dead != 0 {
				t.Fatalf("stats = %+v; want %d skipped as stale, no dead letters", st, tc.stale)
			}
		})
	}
}

// With no deliverer (no adapter configured, or one down for long), the
// outbox keeps every change however far past its cap it grows, and a
// deliverer that comes later gets them all, per order in order.
func TestUndeliveredChangesOutliveTheOutboxCap(t *testing.T) {
	onEach(t, testUndeliveredChangesOutliveTheOutboxCap)
}

func testUndeliveredChangesOutliveTheOutboxCap(t *testing.T, b backend) {
	const maxLen, n = 2, 20
	w := newWorld(t, b, func(o *opts) { o.outboxMaxLen = maxLen })
	var ids []string
	for range n {
		o := w.pay(payment(10000))
		w.approve(o, "")
		ids = append(ids, o.ID)
	}
	w.advance(time.Minute) // each: seq 1 started, 2 pending, 3 paid
	total := 0
	for sh := range store.Shards {
		l, err := w.store.ListOutbox(w.ctx, sh, 1000)
		if err != nil {
			t.Fatal(err)
		}
		total += len(l)
	}
	if total != 3*n {
		t.Fatalf("the outbox holds %d entries with nobody delivering, want all %d", total, 3*n)
	}
	// Two entries per shard per pass: the group acknowledges some while
	// the rest are unread or pending, and trims past the cap as it goes.
	ob := w.eng.Outbox(&w.got, engine.OutboxConfig{Batch: 2, Backoff: func(int64) time.Duration { return time.Millisecond }})
	st := drain(t, w.ctx, ob)
	for _, id := range ids {
		if p := w.got.path(id); p != "started>pending>paid" {
			t.Errorf("order %s: platform saw %q, want started>pending>paid", id, p)
		}
	}
	if st.Delivered != 3*n || st.Dead != 0 {
		t.Fatalf("stats = %+v; want %d delivered", st, 3*n)
	}
}

func TestOutboxBackoffIsExponentialAndCapped(t *testing.T) {
	for _, tc := range []struct {
		failures int64
		want     time.Duration
	}{
		{0, time.Second}, // waiting for an earlier change of the order
		{1, time.Second},
		{2, 2 * time.Second},
		{5, 16 * time.Second},
		{9, 256 * time.Second},
		{10, 5 * time.Minute},
		{11, 5 * time.Minute},
		{1000, 5 * time.Minute}, // days of retries: the shift never overflows
	} {
		t.Run(fmt.Sprint(tc.failures), func(t *testing.T) {
			if got := engine.OutboxBackoff(tc.failures); got != tc.want {
				t.Fatalf("OutboxBackoff(%d) = %v, want %v", tc.failures, got, tc.want)
			}
		})
	}
}
