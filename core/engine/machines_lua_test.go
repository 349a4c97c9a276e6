package engine

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// Every (state, event) pair of every machine, run through the real
// transition script: a row's To is where the order ends up, with the
// outcome the table implies (applied or unchanged); a pair with no row is
// an anomaly that keeps the state. A refund that ends rejected or failed
// gives its amount back to its paid order.
func TestTheTransitionScriptFollowsEveryRow(t *testing.T) {
	for _, b := range []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"redis", func(t *testing.T) redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
		}},
		{"embedded", func(t *testing.T) redis.UniversalClient {
			rdb, err := store.NewEmbedded()
			if err != nil {
				t.Fatal(err)
			}
			return rdb
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			rdb := b.client(t)
			t.Cleanup(func() { rdb.Close() })
			keys, err := store.NewKeys(redistest.Prefix(t))
			if err != nil {
				t.Fatal(err)
			}
			e := &Engine{store: store.NewRedisOrders(rdb, keys, store.OrdersOptions{}), log: slog.New(slog.DiscardHandler),
				now: func() time.Time { return time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC) }}
			for _, m := range machines {
				t.Run(string(m.Flow), func(t *testing.T) { checkEveryPair(t, e, m, rdb, keys) })
			}
		})
	}
}

// settled are the states in which an order expires its retention after its
// last change: nothing that matters awaits it any more (a paid order's debit
// or refunds push its expiry out). In every other state it is kept.
var settledStates = map[State]bool{
	StateRejected: true, StateExpired: true, StateCancelled: true, StatePaid: true, StateReversed: true,
	StateDeclined: true, StateRevoked: true, StateRefunded: true, StateFailed: true,
}

func checkEveryPair(t *testing.T, e *Engine, m *Machine, rdb redis.UniversalClient, keys store.Keys) {
	ctx := context.Background()
	events := map[Event]bool{}
	for _, mm := range machines {
		for _, r := range mm.Rows {
			events[r.On] = true
		}
	}
	events[EventExpire], events[EventCancelCharge] = true, true
	const amount = 2500
	n := 0
	for _, from := range m.States() {
		for on := range events {
			n++
			id := fmt.Sprintf("%s-%d", m.Flow, n)
			o := store.Order{ID: id, Flow: string(m.Flow), State: string(from), Currency: "SEK", Amount: amount}
			if m.Flow == FlowRefund {
				paid := store.Order{ID: id, Flow: string(FlowDeposit), State: string(StatePaid), Currency: "SEK",
					Amount: 10000, Credited: 10000, Refunded: amount}
				if err := e.store.Create(ctx, paid); err != nil {
					t.Fatal(err)
				}
				o.ID, o.Parent = id+".r", id
			}
			if err := e.store.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			a, err := e.apply(ctx, o, step{event: on})
			if err != nil {
				t.Fatalf("%s on %s: %v", from, on, err)
			}
			to, changed, rowErr := m.Next(from, on)
			want := store.OutcomeUnchanged
			switch {
			case rowErr != nil:
				want = store.OutcomeAnomaly
			case changed:
				want = store.OutcomeApplied
			}
			got, err := e.store.Get(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if a.Outcome != want || a.From != string(from) || a.To != string(to) || got.State != string(to) {
				t.Errorf("%s on %s: script %s %s→%s, order %s; table says %s to %s", from, on, a.Outcome, a.From, a.To, got.State, want, to)
			}
			if ttl := rdb.PTTL(ctx, keys.Order(o.ID).Order).Val(); (ttl > 0) != settledStates[to] {
				t.Errorf("%s on %s: order in %s has TTL %v; want one exactly when settled (%v)", from, on, to, ttl, settledStates[to])
			}
			if settled(string(m.Flow), string(to)) != settledStates[to] {
				t.Errorf("settled(%s, %s) = %t, want %t (what Retain gives old orders a TTL by)", m.Flow, to, !settledStates[to], settledStates[to])
			}
			if (want == store.OutcomeUnchanged) != (got.Seq == 0) {
				t.Errorf("%s on %s: seq %d after %s; an outbox entry is written exactly when something is reported", from, on, got.Seq, want)
			}
			if m.Flow == FlowRefund {
				paid, err := e.store.Get(ctx, o.Parent)
				if err != nil {
					t.Fatal(err)
				}
				released := changed && (to == StateRejected || to == StateFailed)
				if wantHeld := int64(amount); released && paid.Refunded != 0 || !released && paid.Refunded != wantHeld {
					t.Errorf("%s on %s: paid order holds %d for the refund, want released=%v", from, on, paid.Refunded, released)
				}
			}
		}
	}
}
