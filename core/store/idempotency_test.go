package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/store/storetest"
)

func TestIdempotencyRedis(t *testing.T) {
	addr := redistest.Addr(t)
	storetest.RunIdempotency(t, func(t *testing.T) redis.UniversalClient {
		return client(t, store.RedisConfig{Addrs: []string{addr}})
	})
}

func TestIdempotencyEmbedded(t *testing.T) {
	storetest.RunIdempotency(t, func(t *testing.T) redis.UniversalClient {
		rdb, err := store.NewEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		return rdb
	})
}

func TestIdempotencyCluster(t *testing.T) {
	addrs := redistest.SharedCluster(t, 3)
	storetest.RunIdempotency(t, func(t *testing.T) redis.UniversalClient {
		return client(t, store.RedisConfig{Mode: store.ModeCluster, Addrs: addrs})
	})
}

func TestIdempotencyRedisOutage(t *testing.T) {
	storetest.RunIdempotencyOutage(t, func(t *testing.T) (redis.UniversalClient, storetest.Switch) {
		srv := redistest.NewServer(t)
		// No retries, so each call gives up within a dial's own retries.
		return client(t, store.RedisConfig{Addrs: []string{srv.Addr()}, MaxRetries: -1}), srv
	})
}

func TestIdempotencyEmbeddedOutage(t *testing.T) {
	storetest.RunIdempotencyOutage(t, func(t *testing.T) (redis.UniversalClient, storetest.Switch) {
		m := redistest.Embedded(t)
		return client(t, store.RedisConfig{Addrs: []string{m.Addr()}, MaxRetries: -1}), miniSwitch{t, m}
	})
}

// miniSwitch stops and starts a miniredis, which keeps its data meanwhile.
type miniSwitch struct {
	t interface{ Fatal(...any) }
	m interface {
		Close()
		Restart() error
	}
}

func (s miniSwitch) Stop() { s.m.Close() }
func (s miniSwitch) Start() {
	if err := s.m.Restart(); err != nil {
		s.t.Fatal(err)
	}
}

func TestACancelledCallIsNotAnOutage(t *testing.T) {
	rdb := client(t, store.RedisConfig{Addrs: []string{redistest.Addr(t)}})
	keys, _ := store.NewKeys(redistest.Prefix(t))
	s := store.NewRedisIdempotency(rdb, keys, store.IdempotencyOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Claim(ctx, "s", "k", "fp")
	if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Claim with a cancelled context = %v, want context.Canceled and not ErrUnavailable", err)
	}
}

func TestOrdersRedis(t *testing.T) {
	addr := redistest.Addr(t)
	storetest.RunOrders(t, func(t *testing.T) redis.UniversalClient {
		return client(t, store.RedisConfig{Addrs: []string{addr}})
	})
}

func TestOrdersEmbedded(t *testing.T) {
	storetest.RunOrders(t, func(t *testing.T) redis.UniversalClient {
		rdb, err := store.NewEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		return rdb
	})
}

func TestOrdersCluster(t *testing.T) {
	addrs := redistest.SharedCluster(t, 3)
	storetest.RunOrders(t, func(t *testing.T) redis.UniversalClient {
		return client(t, store.RedisConfig{Mode: store.ModeCluster, Addrs: addrs})
	})
}

func TestOrdersRedisOutage(t *testing.T) {
	storetest.RunOrdersOutage(t, func(t *testing.T) (redis.UniversalClient, storetest.Switch) {
		srv := redistest.NewServer(t)
		return client(t, store.RedisConfig{Addrs: []string{srv.Addr()}, MaxRetries: -1}), srv
	})
}

func TestOrdersEmbeddedOutage(t *testing.T) {
	storetest.RunOrdersOutage(t, func(t *testing.T) (redis.UniversalClient, storetest.Switch) {
		m := redistest.Embedded(t)
		return client(t, store.RedisConfig{Addrs: []string{m.Addr()}, MaxRetries: -1}), miniSwitch{t, m}
	})
}
