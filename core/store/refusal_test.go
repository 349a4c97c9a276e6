package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// A Redis that refuses writes (full under noeviction: OOM; a replica:
// READONLY) is unavailable, not broken: the caller answers 503 and Trustly
// or the shop retries. Redis reports both from inside a script too ("OOM
// command not allowed ... script: <sha>, on @user_script:1"), after the
// EVALSHA → NOSCRIPT → EVAL round of a fresh server.
func TestARefusingRedisIsUnavailable(t *testing.T) {
	ctx := context.Background()
	paid := map[string]string{"new": "paid"}

	// prepare builds the stores on rdb with one order already there.
	type stores struct {
		orders *store.RedisOrders
		idem   *store.RedisIdempotency
	}
	prepare := func(t *testing.T, rdb redis.UniversalClient) stores {
		keys, err := store.NewKeys(redistest.Prefix(t))
		if err != nil {
			t.Fatal(err)
		}
		s := stores{store.NewRedisOrders(rdb, keys, store.OrdersOptions{}), store.NewRedisIdempotency(rdb, keys, store.IdempotencyOptions{})}
		if err := s.orders.Create(ctx, store.Order{ID: "o1", Flow: "deposit", State: "new", MessageID: "m1", ExternalReference: "r1"}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	drive := func(t *testing.T, s stores) {
		t.Helper()
		for _, op := range []struct {
			name string
			run  func() error
		}{
			{"create order", func() error {
				return s.orders.CreateOpen(ctx, store.Order{ID: "o2", Flow: "deposit", State: "new", MessageID: "m2", ExternalReference: "r2"}, time.Unix(1e9, 0))
			}},
			{"transition", func() error {
				_, err := s.orders.Apply(ctx, store.Transition{OrderID: "o1", Event: "credit", Targets: paid, NotificationID: "n1", Answer: "OK", Now: time.Unix(1e9, 0)})
				return err
			}},
			{"idempotency claim", func() error { _, _, err := s.idem.Claim(ctx, "payments", "k1", "fp"); return err }},
			{"index trustly orderid", func() error { return s.orders.IndexTrustlyOrderID(ctx, "T1", "o1") }},
			{"save account", func() error {
				return s.orders.SaveAccount(ctx, "u1", store.Account{AccountID: "A1"})
			}},
			{"save unrouted", func() error {
				_, _, err := s.orders.SaveUnrouted(ctx, store.Unrouted{NotificationID: "n9", Method: "kyc", Answer: "OK", At: time.Unix(1e9, 0)})
				return err
			}},
		} {
			err := op.run()
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s = %v, want an error wrapping store.ErrUnavailable", op.name, err)
			}
		}
	}

	t.Run("OOM under noeviction", func(t *testing.T) {
		srv := redistest.NewServerArgs(t, "--maxmemory-policy", "noeviction")
		rdb := client(t, store.RedisConfig{Addrs: []string{srv.Addr()}})
		s := prepare(t, rdb)
		// A fresh script cache, so every script goes through NOSCRIPT first.
		must(t, rdb.ScriptFlush(ctx).Err())
		must(t, rdb.ConfigSet(ctx, "maxmemory", "1").Err())
		drive(t, s)
	})

	t.Run("READONLY on a replica", func(t *testing.T) {
		master := redistest.NewServer(t)
		replica := redistest.NewServer(t)
		s := prepare(t, client(t, store.RedisConfig{Addrs: []string{master.Addr()}}))
		rdb := client(t, store.RedisConfig{Addrs: []string{replica.Addr()}})
		host, port, _ := strings.Cut(master.Addr(), ":")
		must(t, rdb.SlaveOf(ctx, host, port).Err())
		// The replica must hold the order, or the transition script would
		// return "missing" before it tries to write.
		for waited := 0; rdb.Exists(ctx, s.orders.Keys().Order("o1").Order).Val() != 1; waited++ {
			if waited == 500 {
				t.Fatal("the replica did not sync within 10 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		keys := s.orders.Keys()
		drive(t, stores{store.NewRedisOrders(rdb, keys, store.OrdersOptions{}), store.NewRedisIdempotency(rdb, keys, store.IdempotencyOptions{})})
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
