package engine_test

import (
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
)

type counted struct {
	mu sync.Mutex
	n  map[[2]string]int
}

func (c *counted) Notification(method, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[[2]string{method, outcome}]++
}

func (c *counted) get(method, outcome string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[[2]string{method, outcome}]
}

func TestMetrics(t *testing.T) { onEach(t, testMetrics) }

func testMetrics(t *testing.T, b backend) {
	w := newWorld(t, b)
	obs := &counted{n: map[[2]string]int{}}
	w.eng = w.engine(w.api, func(c *engine.Config) { c.Observer = obs })

	t.Run("notifications by method and outcome", func(t *testing.T) {
		o := w.pay(payment(10000))
		w.approve(o, "G2") // pending, credit, the same credit again
		w.advance(2 * time.Minute)
		if _, err := w.sim.SendCustom(w.ctx, o.TrustlyOrderID, sim.CustomNotification{Method: "newthing"}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.eng.HandleNotification(w.ctx, []byte(`{"not":"signed"}`)); err == nil {
			t.Fatal("garbage accepted")
		}
		for _, c := range []struct {
			method, outcome string
			want            int
		}{
			{"pending", engine.NotifyApplied, 1},
			{"credit", engine.NotifyApplied, 1},
			{"credit", engine.NotifyDuplicate, 1},
			{engine.MethodOther, engine.NotifyUnrouted, 1},
			{"", engine.NotifyRejected, 1},
		} {
			if got := obs.get(c.method, c.outcome); got != c.want {
				t.Errorf("%s %s = %d, want %d (all: %v)", c.method, c.outcome, got, c.want, obs.n)
			}
		}
	})

	var dead engine.Order
	t.Run("outbox depth, age and dead letters", func(t *testing.T) {
		ob := w.eng.Outbox(&w.got, engine.OutboxConfig{})
		st, err := ob.Stats(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Depth != 3 || st.OldestAge <= 0 || st.Dead != 0 || len(st.Shards) != 16 {
			t.Fatalf("before delivery: %+v; want 3 waiting (started, pending, paid)", st)
		}
		if _, err := ob.Pump(w.ctx); err != nil {
			t.Fatal(err)
		}
		if st, err = ob.Stats(w.ctx); err != nil || st.Depth != 0 || st.OldestAge != 0 || st.Delivered != 3 {
			t.Fatalf("after delivery: %+v, %v", st, err)
		}
		w.got.fail = func(engine.StatusChange) error { return engine.Permanent(errPlatform) }
		dead = w.pay(payment(500))
		if _, err := ob.Pump(w.ctx); err != nil {
			t.Fatal(err)
		}
		if st, err = ob.Stats(w.ctx); err != nil || st.Depth != 0 || st.Dead != 1 || st.DeadLettered != 1 || st.Failed != 1 {
			t.Fatalf("after a permanent failure: %+v, %v", st, err)
		}
	})

	t.Run("reconciler counts", func(t *testing.T) {
		w.pay(payment(700))
		w.clock.Advance(engine.DefaultCheckoutTTL + engine.DefaultStaleAfter + time.Second)
		if _, err := w.eng.Reconcile(w.ctx); err != nil {
			t.Fatal(err)
		}
		w.wantState(dead.ID, engine.StateExpired)
		if st := w.eng.Stats(); st.Reconciles != 1 || st.Expired != 2 || st.Open != 0 {
			t.Fatalf("stats = %+v; want one pass that expired both unpaid orders", st)
		}
	})
}
