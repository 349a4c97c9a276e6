package redistest_test

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestAddrAnswers(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(redistest.Addr(t), ":6379") {
		t.Fatal("the harness must never use the default Redis port")
	}
}

func TestAddrIsSharedWithinAPackage(t *testing.T) {
	if os.Getenv(redistest.EnvAddr) != "" {
		t.Skip("the address comes from " + redistest.EnvAddr)
	}
	if a, b := redistest.Addr(t), redistest.Addr(t); a != b {
		t.Fatalf("two calls started two servers: %s, %s", a, b)
	}
}

func TestServerStopsAndStartsOnTheSamePort(t *testing.T) {
	ctx := context.Background()
	srv := redistest.NewServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered while the server was stopped")
	}
	srv.Start()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("a restarted server kept its data (n=%d, err=%v); it must start empty", n, err)
	}
}

func TestPrefixesDiffer(t *testing.T) {
	a, b := redistest.Prefix(t), redistest.Prefix(t)
	if a == b {
		t.Fatalf("two prefixes are equal: %s", a)
	}
	if strings.ContainsAny(a, "{} ") {
		t.Fatalf("prefix %q has characters that break hash tags", a)
	}
}

func TestClusterIsOK(t *testing.T) {
	ctx := context.Background()
	addrs := redistest.NewCluster(t, 3)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer c.Close()
	// Keys spread over all three masters must all be writable.
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	var masters atomic.Int32 // ForEachMaster calls back concurrently
	if err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		masters.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := masters.Load(); n != 3 {
		t.Fatalf("cluster has %d masters, want 3", n)
	}
}

func TestEmbeddedAnswers(t *testing.T) {
	m := redistest.Embedded(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

// The Sentinel topology fails over when its master is killed.
func TestSentinelFailsOver(t *testing.T) {
	t.Parallel()
	s := redistest.NewSentinel(t, 2)
	ctx := t.Context()
	old, err := s.MasterAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if old != s.Master.Addr() {
		t.Fatalf("sentinels name %s, the master is %s", old, s.Master.Addr())
	}
	s.Master.Stop()
	addr, err := s.WaitFailover(ctx, old, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.ServerAt(addr) == nil {
		t.Fatalf("new master %s is not one of the replicas", addr)
	}
}

// A replicated Cluster's replica takes over when its master is killed.
func TestReplicatedClusterTakesOver(t *testing.T) {
	t.Parallel()
	c := redistest.NewReplicatedCluster(t, 3)
	c.Masters[1].Stop()
	r, err := c.WaitTakeover(t.Context(), c.Masters[1])
	if err != nil {
		t.Fatal(err)
	}
	if r != c.Replicas[1] {
		t.Fatalf("took over: %s", r.Addr())
	}
}
