package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// client builds a client the way the daemon will, through NewRedisClient.
func client(t testing.TB, cfg store.RedisConfig) redis.UniversalClient {
	t.Helper()
	rdb, err := store.NewRedisClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestRedisConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  store.RedisConfig
		want []string // parts of the message; none means valid
	}{
		{"single node", store.RedisConfig{Addrs: []string{"r:6379"}}, nil},
		{"sentinel", store.RedisConfig{Mode: store.ModeSentinel, MasterName: "m", Addrs: []string{"s1:26379", "s2:26379"}}, nil},
		{"cluster", store.RedisConfig{Mode: store.ModeCluster, Addrs: []string{"c1:6379"}}, nil},
		{"single node without address", store.RedisConfig{}, []string{"exactly one address"}},
		{"single node with two", store.RedisConfig{Addrs: []string{"a:1", "b:2"}}, []string{"exactly one address"}},
		{"sentinel without master or addresses", store.RedisConfig{Mode: store.ModeSentinel}, []string{"Sentinel address", "master name"}},
		{"master name outside sentinel", store.RedisConfig{Addrs: []string{"a:1"}, MasterName: "m"}, []string{"Sentinel mode only"}},
		{"cluster with a database", store.RedisConfig{Mode: store.ModeCluster, Addrs: []string{"c:1"}, DB: 2}, []string{"only database 0"}},
		{"unknown mode", store.RedisConfig{Mode: "ring", Addrs: []string{"a:1"}}, []string{`unknown Redis mode "ring"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want valid", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to say %q", err, w)
				}
			}
		})
	}
}

func TestRedisConfigNeverPrintsPasswords(t *testing.T) {
	cfg := store.RedisConfig{Addrs: []string{"r:6379"}, Password: "hunter2-secret", SentinelPassword: "s3ntinel-secret"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, cfg)
		if strings.Contains(out, "secret") {
			t.Errorf("%s printed a password: %s", format, out)
		}
	}
}

func TestNewRedisClientPicksTheConfiguredMode(t *testing.T) {
	for _, tc := range []struct {
		cfg  store.RedisConfig
		want string
	}{
		{store.RedisConfig{Addrs: []string{"127.0.0.1:1"}}, "*redis.Client"},
		// Two Sentinels must not be taken for a Cluster, as address-count
		// guessing would.
		{store.RedisConfig{Mode: store.ModeSentinel, MasterName: "m", Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}}, "*redis.Client"},
		{store.RedisConfig{Mode: store.ModeCluster, Addrs: []string{"127.0.0.1:1"}}, "*redis.ClusterClient"},
	} {
		rdb, err := store.NewRedisClient(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", rdb); got != tc.want {
			t.Errorf("mode %q gave %s, want %s", tc.cfg.Mode, got, tc.want)
		}
		rdb.Close()
	}
	if _, err := store.NewRedisClient(store.RedisConfig{}); err == nil {
		t.Error("NewRedisClient accepted an invalid configuration")
	}
}

func TestEmbeddedCloses(t *testing.T) {
	rdb, err := store.NewEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Close(); err != nil {
		t.Fatalf("a second Close = %v", err)
	}
}

// The embedded store has no host to look up: starting it must not wait on
// DNS (a machine without one would wait out the resolver's timeout).
func TestEmbeddedAsksNoDNS(t *testing.T) {
	r := net.DefaultResolver
	prefer, dial := r.PreferGo, r.Dial
	t.Cleanup(func() { r.PreferGo, r.Dial = prefer, dial })
	var asked atomic.Int32
	r.PreferGo = true
	r.Dial = func(context.Context, string, string) (net.Conn, error) {
		asked.Add(1)
		return nil, errors.New("no DNS in this test")
	}
	rdb, err := store.NewEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if n := asked.Load(); n > 0 {
		t.Errorf("the embedded store asked DNS %d times", n)
	}
}
