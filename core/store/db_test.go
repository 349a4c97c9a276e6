package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// A DB opens every store on one connection and answers Ping while Redis
// does; once Redis is gone, Ping says so with ErrUnavailable.
func TestDBOpensTheStoresAndPings(t *testing.T) {
	srv := redistest.NewServer(t)
	for name, open := range map[string]func() (*store.DB, error){
		"redis-server": func() (*store.DB, error) {
			return store.Open(store.RedisConfig{Addrs: []string{srv.Addr()}, DialTimeout: time.Second}, redistest.Prefix(t))
		},
		"embedded": func() (*store.DB, error) { return store.OpenEmbedded(redistest.Prefix(t)) },
	} {
		t.Run(name, func(t *testing.T) {
			db, err := open()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			ctx := t.Context()
			if err := db.Ping(ctx); err != nil {
				t.Fatalf("ping: %v", err)
			}
			if err := db.Orders(store.OrdersOptions{}).Create(ctx, store.Order{ID: "o1", Flow: "deposit", State: "new", MessageID: "m1"}); err != nil {
				t.Fatalf("orders: %v", err)
			}
			if _, _, err := db.Idempotency(store.IdempotencyOptions{}).Claim(ctx, "v1", "k1", "fp"); err != nil {
				t.Fatalf("idempotency: %v", err)
			}
			if _, found, err := db.PayLinks(store.PayLinkOptions{}).Get(ctx, "00"); found || err != nil {
				t.Fatalf("pay links: %v %v", found, err)
			}
		})
	}
	down, err := store.Open(store.RedisConfig{Addrs: []string{srv.Addr()}, DialTimeout: 200 * time.Millisecond}, redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close() })
	srv.Stop()
	if err := down.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ping with Redis down: %v, want ErrUnavailable", err)
	}
	if _, err := store.Open(store.RedisConfig{Addrs: []string{srv.Addr()}}, "bad{prefix"); err == nil {
		t.Fatal("a prefix with a brace was accepted")
	}
}

// A hung Redis (the process stopped, its port still accepting) is an
// outage too: with the read and write timeouts set, every operation gives
// up with ErrUnavailable instead of waiting for the kernel's TCP timeouts,
// and a caller's deadline bounds the wait even more. The bound asserted is a
// safety net, not a measure of speed.
func TestAFrozenRedisIsUnavailableSoon(t *testing.T) {
	srv := redistest.NewServer(t)
	db, err := store.Open(store.RedisConfig{Addrs: []string{srv.Addr()}, DialTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second, PoolTimeout: time.Second, MaxRetries: 1}, redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	orders := db.Orders(store.OrdersOptions{})
	if err := orders.Create(t.Context(), store.Order{ID: "o1", Flow: "deposit", State: "new", MessageID: "m1"}); err != nil {
		t.Fatal(err)
	}
	srv.Freeze()
	const failSafe = 10 * time.Second
	for name, op := range map[string]func(context.Context) error{
		"ping": db.Ping,
		"get an order": func(ctx context.Context) error {
			_, err := orders.Get(ctx, "o1")
			return err
		},
		"create an order": func(ctx context.Context) error {
			return orders.Create(ctx, store.Order{ID: "o2", Flow: "deposit", State: "new", MessageID: "m2"})
		},
		"ping within a 500ms deadline": func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			return db.Ping(ctx)
		},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := op(t.Context())
			took := time.Since(start)
			t.Logf("%s: %v after %s", name, err, took.Round(time.Millisecond))
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s with Redis frozen: %v, want ErrUnavailable", name, err)
			}
			if took > failSafe {
				t.Errorf("%s took %s with Redis frozen", name, took)
			}
		})
	}
	srv.Thaw()
	if _, err := orders.Get(t.Context(), "o1"); err != nil {
		t.Errorf("after the thaw: %v", err)
	}
}
