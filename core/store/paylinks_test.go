package store_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/store/storetest"
)

func TestPayLinksRedis(t *testing.T) {
	addr := redistest.Addr(t)
	storetest.RunPayLinks(t, func(t *testing.T) redis.UniversalClient {
		return client(t, store.RedisConfig{Addrs: []string{addr}})
	})
}

func TestPayLinksEmbedded(t *testing.T) {
	storetest.RunPayLinks(t, func(t *testing.T) redis.UniversalClient {
		rdb, err := store.NewEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		return rdb
	})
}

func TestPayLinksCluster(t *testing.T) {
	addrs := redistest.SharedCluster(t, 3)
	storetest.RunPayLinks(t, func(t *testing.T) redis.UniversalClient {
		return client(t, store.RedisConfig{Mode: store.ModeCluster, Addrs: addrs})
	})
}

func TestPayLinksRedisOutage(t *testing.T) {
	storetest.RunPayLinksOutage(t, func(t *testing.T) (redis.UniversalClient, storetest.Switch) {
		srv := redistest.NewServer(t)
		return client(t, store.RedisConfig{Addrs: []string{srv.Addr()}, MaxRetries: -1}), srv
	})
}

func TestPayLinksEmbeddedOutage(t *testing.T) {
	storetest.RunPayLinksOutage(t, func(t *testing.T) (redis.UniversalClient, storetest.Switch) {
		m := redistest.Embedded(t)
		return client(t, store.RedisConfig{Addrs: []string{m.Addr()}, MaxRetries: -1}), miniSwitch{t, m}
	})
}
