package store_test

import (
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
