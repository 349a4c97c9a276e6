package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// alongWorld is an order and a claimed idempotency key, made through a
// plain DB, and the DB under test on the same Redis.
type alongWorld struct {
	ctx        context.Context
	plain, db  *store.DB
	claim      store.Claim
	accepted   store.Transition
	orders     *store.RedisOrders
	idem       *store.RedisIdempotency
	plainOrder *store.RedisOrders
	plainIdem  *store.RedisIdempotency
}

func newAlongWorld(t *testing.T, c store.RedisConfig) *alongWorld {
	t.Helper()
	prefix := redistest.Prefix(t)
	open := func(c store.RedisConfig) *store.DB {
		db, err := store.Open(c, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	plainCfg := c
	plainCfg.Replication = &store.Replication{}
	w := &alongWorld{ctx: t.Context(), plain: open(plainCfg), db: open(c)}
	w.orders, w.idem = w.db.Orders(store.OrdersOptions{}), w.db.Idempotency(store.IdempotencyOptions{})
	w.plainOrder, w.plainIdem = w.plain.Orders(store.OrdersOptions{}), w.plain.Idempotency(store.IdempotencyOptions{})
	if err := w.plainOrder.Create(w.ctx, store.Order{ID: "o1", Flow: "deposit", State: "new", Currency: "SEK", Amount: 100, MessageID: "m1"}); err != nil {
		t.Fatal(err)
	}
	claim, _, err := w.plainIdem.Claim(w.ctx, "shop", "k1", "fp")
	if err != nil {
		t.Fatal(err)
	}
	w.claim = claim
	w.accepted = store.Transition{OrderID: "o1", Event: "accepted", Targets: map[string]string{"new": "started"},
		Set: store.OrderPatch{TrustlyOrderID: "T1"}, Now: time.Now()}
	return w
}

// Writes sent along a transition land with it, on every topology, also
// where they live on other masters than the order; each reports its own
// outcome; where the replicas do not acknowledge, all of them fail so.
func TestWritesGoAlongATransition(t *testing.T) {
	single := redistest.Addr(t)
	cluster := redistest.SharedCluster(t, 3)
	missing := &store.Replication{Acks: 1, Timeout: 50 * time.Millisecond}
	for _, tc := range []struct {
		name    string
		cfg     store.RedisConfig
		wantErr error
	}{
		{"single node", store.RedisConfig{Addrs: []string{single}}, nil},
		{"cluster, waiting for every replica", store.RedisConfig{Mode: store.ModeCluster, Addrs: cluster,
			Replication: &store.Replication{Acks: store.AllReplicas}}, nil},
		{"a replica missing", store.RedisConfig{Addrs: []string{single}, Replication: missing}, store.ErrNotReplicated},
		{"a replica missing, its wait on its own", store.RedisConfig{Addrs: []string{single}, Replication: missing,
			ReadTimeout: 200 * time.Millisecond}, store.ErrNotReplicated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newAlongWorld(t, tc.cfg)
			index := w.orders.IndexAlong("T1", "o1")
			answer := w.idem.CompleteAlong(w.claim, store.Outcome{Code: "201", Body: []byte(`{"id":"o1"}`)})
			a, err := w.orders.ApplyAlong(w.ctx, w.accepted, index, answer)
			for name, err := range map[string]error{"transition": err, "index entry": index.Err(), "answer": answer.Err()} {
				if tc.wantErr == nil && err != nil || !errors.Is(err, tc.wantErr) {
					t.Errorf("%s: %v, want %v", name, err, tc.wantErr)
				}
			}
			if tc.wantErr != nil {
				return
			}
			if a.To != "started" {
				t.Errorf("transition to %q, want started", a.To)
			}
			if o, err := w.plainOrder.ByTrustlyOrderID(w.ctx, "T1"); err != nil || o.ID != "o1" || o.State != "started" {
				t.Errorf("by Trustly orderid: %s %s (%v), want o1 started", o.ID, o.State, err)
			}
			_, stored, err := w.plainIdem.Claim(w.ctx, "shop", "k1", "fp")
			if err != nil || stored == nil || stored.Code != "201" || string(stored.Body) != `{"id":"o1"}` {
				t.Errorf("the key replays %+v (%v), want the stored answer", stored, err)
			}
		})
	}
}

// Each write is judged on its own: an answer whose claim was lost is
// refused (fenced) while the transition and the index entry land; a
// server that lost the scripts (a restart) runs them again from their text.
func TestWritesAlongAreJudgedOnTheirOwn(t *testing.T) {
	addr := redistest.Addr(t)
	t.Run("fenced answer", func(t *testing.T) {
		w := newAlongWorld(t, store.RedisConfig{Addrs: []string{addr}})
		if err := w.plainIdem.Release(w.ctx, w.claim); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.plainIdem.Claim(w.ctx, "shop", "k1", "fp"); err != nil {
			t.Fatal(err)
		}
		index := w.orders.IndexAlong("T1", "o1")
		answer := w.idem.CompleteAlong(w.claim, store.Outcome{Code: "201", Body: []byte("late")})
		if _, err := w.orders.ApplyAlong(w.ctx, w.accepted, index, answer); err != nil || index.Err() != nil {
			t.Fatalf("transition %v, index entry %v; want both written", err, index.Err())
		}
		if !errors.Is(answer.Err(), store.ErrFenced) {
			t.Errorf("answer: %v, want ErrFenced", answer.Err())
		}
	})
	t.Run("scripts flushed", func(t *testing.T) {
		w := newAlongWorld(t, store.RedisConfig{Addrs: []string{addr}})
		raw := redis.NewClient(&redis.Options{Addr: addr})
		defer raw.Close()
		if err := raw.ScriptFlush(w.ctx).Err(); err != nil {
			t.Fatal(err)
		}
		answer := w.idem.CompleteAlong(w.claim, store.Outcome{Code: "201", Body: []byte("ok")})
		a, err := w.orders.ApplyAlong(w.ctx, w.accepted, answer)
		if err != nil || answer.Err() != nil || a.To != "started" {
			t.Fatalf("transition to %q (%v), answer %v; want both written", a.To, err, answer.Err())
		}
	})
	t.Run("an invalid key", func(t *testing.T) {
		w := newAlongWorld(t, store.RedisConfig{Addrs: []string{addr}})
		answer := w.idem.CompleteAlong(store.Claim{Scope: "shop"}, store.Outcome{Code: "201"})
		if _, err := w.orders.ApplyAlong(w.ctx, w.accepted, answer); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(answer.Err(), store.ErrInvalidKey) {
			t.Errorf("answer: %v, want ErrInvalidKey", answer.Err())
		}
	})
}
