package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// kinds lists a report's problems as "kind" or "kind?" (unknown), node by node.
func kinds(r store.ServerReport) []string {
	var out []string
	for _, p := range r.Problems() {
		k := string(p.Kind)
		if p.Unknown {
			k += "?"
		}
		out = append(out, k)
	}
	return out
}

// CheckServer reads what LAYOUT.md requires from the server itself, by
// CONFIG GET or, where CONFIG is refused, by INFO.
func TestCheckServerReportsTheServersSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		user     string // ACL user and password "pw", when set
		via      string
		problems []string
		evicting bool
	}{
		{"no persistence", nil, "", "config", []string{"aof"}, false},
		{"allkeys-lru evicts", []string{"--maxmemory-policy", "allkeys-lru"}, "", "config", []string{"eviction", "aof"}, true},
		{"volatile-lru evicts", []string{"--maxmemory-policy", "volatile-lru"}, "", "config", []string{"eviction", "aof"}, true},
		{"AOF with fsync always is what the store requires", []string{"--appendonly", "yes", "--appendfsync", "always"}, "", "config", nil, false},
		{"AOF with fsync everysec", []string{"--appendonly", "yes", "--appendfsync", "everysec"}, "", "config", []string{"fsync"}, false},
		{"CONFIG renamed away: INFO tells all but fsync",
			[]string{"--rename-command", "CONFIG", "", "--appendonly", "yes", "--appendfsync", "always"}, "", "info", []string{"fsync?"}, false},
		{"CONFIG renamed away: INFO shows eviction",
			[]string{"--rename-command", "CONFIG", "", "--maxmemory-policy", "allkeys-lfu"}, "", "info", []string{"eviction", "aof"}, true},
		{"an ACL user without +config: INFO",
			[]string{"--user", "app", "on", ">pw", "~*", "&*", "+@all", "-config", "--maxmemory-policy", "volatile-ttl"}, "app", "info", []string{"eviction", "aof"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.NewServerArgs(t, tc.args...)
			c := store.RedisConfig{Addrs: []string{srv.Addr()}, DialTimeout: time.Second}
			if tc.user != "" {
				c.Username, c.Password = tc.user, "pw"
			}
			db, err := store.Open(c, redistest.Prefix(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			r, err := db.CheckServer(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Nodes) != 1 || r.Nodes[0].Via != tc.via || r.Nodes[0].Addr != srv.Addr() {
				t.Fatalf("nodes %+v, want one read by %s", r.Nodes, tc.via)
			}
			if got := kinds(r); !slices.Equal(got, tc.problems) {
				t.Errorf("problems %v, want %v (%v)", got, tc.problems, r.Problems())
			}
			if r.Evicting() != tc.evicting {
				t.Errorf("Evicting() = %t", r.Evicting())
			}
			for _, p := range r.Problems() {
				if p.String() == "" {
					t.Errorf("problem %+v has no text", p)
				}
			}
		})
	}
}

func TestCheckServerOnEveryClusterMaster(t *testing.T) {
	addrs := redistest.SharedCluster(t, 3)
	db, err := store.Open(store.RedisConfig{Mode: store.ModeCluster, Addrs: addrs[:1], DialTimeout: time.Second}, redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := db.CheckServer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range r.Nodes {
		if n.Via != "config" {
			t.Errorf("node %+v not read by CONFIG", n)
		}
		got = append(got, n.Addr)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(addrs))
	if !slices.Equal(got, want) {
		t.Errorf("checked %v, want every master %v", got, want)
	}
	if p := kinds(r); !slices.Equal(p, []string{"aof", "aof", "aof"}) {
		t.Errorf("problems %v, want the missing AOF of each master", p)
	}
}

func TestCheckServerUnknownAndEmbedded(t *testing.T) {
	srv := redistest.NewServer(t)
	db, err := store.Open(store.RedisConfig{Addrs: []string{srv.Addr()}, DialTimeout: 200 * time.Millisecond, MaxRetries: -1}, redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv.Stop()
	r, err := db.CheckServer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Nodes) != 1 || r.Nodes[0].Err == nil || r.Nodes[0].Via != "" {
		t.Fatalf("Redis down: %+v, want an unknown node with its error", r.Nodes)
	}
	if got := kinds(r); !slices.Equal(got, []string{"eviction?", "aof?", "fsync?"}) || r.Evicting() {
		t.Errorf("Redis down: %v, evicting %t; want every setting unknown", got, r.Evicting())
	}

	emb, err := store.OpenEmbedded(redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	r, err = emb.CheckServer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Embedded || !r.Evicting() || !slices.Equal(kinds(r), []string{"eviction", "aof", "fsync"}) {
		t.Errorf("embedded: %+v %v, want it counted as keeping nothing", r, kinds(r))
	}
}
