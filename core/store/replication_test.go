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

func TestReplicationDefaultsAndValidate(t *testing.T) {
	for _, tc := range []struct {
		mode store.Mode
		want store.Replication
	}{
		{store.ModeSingle, store.Replication{}},
		{"", store.Replication{}},
		{store.ModeSentinel, store.Replication{Acks: store.AllReplicas, Timeout: store.DefaultReplicaAckTimeout}},
		{store.ModeCluster, store.Replication{Acks: store.AllReplicas, Timeout: store.DefaultReplicaAckTimeout}},
	} {
		if got := store.DefaultReplication(tc.mode); got != tc.want {
			t.Errorf("DefaultReplication(%q) = %v, want %v", tc.mode, got, tc.want)
		}
	}
	for _, tc := range []struct {
		r    store.Replication
		want string // part of the problem; "" means valid
		str  string
	}{
		{store.Replication{}, "", "none"},
		{store.Replication{Acks: store.AllReplicas}, "", "acks=all timeout=500ms"},
		{store.Replication{Acks: 2, Timeout: time.Second, AOF: true}, "", "acks=2 timeout=1s aof=local"},
		{store.Replication{Acks: -2}, "must be all, none or a positive number", ""},
		{store.Replication{Acks: 1, Timeout: -time.Second}, "negative replica acknowledgement timeout", ""},
	} {
		err := tc.r.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.r, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want %q", tc.r, err, tc.want)
		}
		if tc.str != "" && tc.r.String() != tc.str {
			t.Errorf("%+v.String() = %q, want %q", tc.r, tc.r.String(), tc.str)
		}
	}
	cfg := store.RedisConfig{Addrs: []string{"127.0.0.1:1"}, Replication: &store.Replication{Acks: -5}}
	if err := cfg.Validate(); err == nil {
		t.Error("RedisConfig.Validate passed a bad replication setting")
	}
}

// The Sync key carries its key's hash tag, so it lives on that key's
// master; a key without a tag becomes the tag.
func TestSyncKeySharesTheSlot(t *testing.T) {
	k, _ := store.NewKeys("P")
	for _, key := range []string{
		k.Order("o1").Order, k.Idempotency("shop", "key").Record, k.MessageIDIndex("m1"), k.UnroutedIndex(), k.Balance(),
	} {
		sync := k.Sync(key)
		if !strings.HasPrefix(sync, "P:sync:{") {
			t.Errorf("Sync(%q) = %q", key, sync)
		}
		if slot(key) != slot(sync) {
			t.Errorf("Sync(%q) = %q is in slot %d, not %d", key, sync, slot(sync), slot(key))
		}
	}
}

// slot is Redis Cluster's slot of key (CRC16 of its hash tag mod 16384).
func slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for _, b := range []byte(key) {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// What the server saw: how often WAIT and WAITAOF were called.
func waits(t *testing.T, addr string) (wait, waitaof int) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	count := func(cmd string) int {
		for line := range strings.Lines(info) {
			if rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":calls="); ok {
				n := 0
				for _, r := range rest {
					if r < '0' || r > '9' {
						break
					}
					n = n*10 + int(r-'0')
				}
				return n
			}
		}
		return 0
	}
	return count("wait"), count("waitaof")
}

// On a single node the default sends what it always sent: no WAIT. Asked
// for all replicas of a master that has none, it waits for nothing; asked
// for one that is not there, the write fails as unavailable (not
// replicated) after the timeout and is counted. WAIT_AOF on a server
// before 7.2 falls back to WAIT.
func TestWhenTheStoreWaits(t *testing.T) {
	for _, tc := range []struct {
		name         string
		repl         *store.Replication
		readTimeout  time.Duration // short: the wait is not pipelined with the script
		wantWaits    bool
		wantErr      bool
		wantTimeouts int64
	}{
		{"single node default", nil, 0, false, false, 0},
		{"all of no replicas", &store.Replication{Acks: store.AllReplicas, Timeout: 50 * time.Millisecond}, 0, false, false, 0},
		{"one missing replica", &store.Replication{Acks: 1, Timeout: 50 * time.Millisecond}, 0, true, true, 1},
		{"one missing replica, not pipelined", &store.Replication{Acks: 1, Timeout: 50 * time.Millisecond}, 200 * time.Millisecond, true, true, 1},
		{"one missing replica, aof on 7.0", &store.Replication{Acks: 1, Timeout: 50 * time.Millisecond, AOF: true}, 0, true, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.NewServer(t)
			if tc.repl != nil && tc.repl.AOF && serverVersion(t, srv.Addr()) >= "7.2" {
				t.Skip("this redis-server has WAITAOF: the fallback to WAIT is for older ones")
			}
			db, err := store.Open(store.RedisConfig{Addrs: []string{srv.Addr()}, ReadTimeout: tc.readTimeout, Replication: tc.repl}, redistest.Prefix(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			ctx := t.Context()
			err = db.Orders(store.OrdersOptions{}).Create(ctx, store.Order{ID: "o1", Flow: "deposit", State: "new", MessageID: "m1"})
			if got := err != nil; got != tc.wantErr {
				t.Fatalf("create: %v, want error %t", err, tc.wantErr)
			}
			if tc.wantErr && (!errors.Is(err, store.ErrNotReplicated) || !errors.Is(err, store.ErrUnavailable)) {
				t.Errorf("create: %v is not ErrNotReplicated and ErrUnavailable", err)
			}
			_, _, err = db.Idempotency(store.IdempotencyOptions{}).Claim(ctx, "shop", "k", "fp")
			if got := err != nil; got != tc.wantErr {
				t.Fatalf("claim: %v, want error %t", err, tc.wantErr)
			}
			now := time.Now()
			err = db.PayLinks(store.PayLinkOptions{}).Create(ctx, "h1", store.PayLink{ID: "l1", Created: now, ExpiresAt: now.Add(time.Hour)}, now)
			if got := err != nil; got != tc.wantErr {
				t.Fatalf("pay link: %v, want error %t", err, tc.wantErr)
			}
			wait, waitaof := waits(t, srv.Addr())
			if (wait > 0) != tc.wantWaits || waitaof != 0 {
				t.Errorf("server saw WAIT %d times and WAITAOF %d times; want WAIT: %t", wait, waitaof, tc.wantWaits)
			}
			// One wait each: the order with its MessageID entry (one round
			// trip), the claim, the pay link.
			if got := db.ReplicaAckTimeouts(); got != 3*tc.wantTimeouts {
				t.Errorf("%d acknowledgement timeouts counted, want %d", got, 3*tc.wantTimeouts)
			}
		})
	}
}

// A claim whose replicas did not acknowledge it is given back at once on
// the master: the retry claims it rather than finding it in flight.
func TestAClaimNotReplicatedIsGivenBack(t *testing.T) {
	srv := redistest.NewServer(t)
	prefix := redistest.Prefix(t)
	waiting := openDB(t, srv.Addr(), prefix, &store.Replication{Acks: 1, Timeout: 20 * time.Millisecond})
	if _, _, err := waiting.Idempotency(store.IdempotencyOptions{}).Claim(t.Context(), "shop", "k", "fp"); !errors.Is(err, store.ErrNotReplicated) {
		t.Fatalf("claim: %v, want ErrNotReplicated", err)
	}
	plain := openDB(t, srv.Addr(), prefix, nil)
	c, stored, err := plain.Idempotency(store.IdempotencyOptions{}).Claim(t.Context(), "shop", "k", "fp")
	if err != nil || stored != nil || c.RecoveryPoint != "" {
		t.Fatalf("retry: %+v %v %v, want a fresh claim", c, stored, err)
	}
}

// A claim that created its order (ClaimCreate) and was not acknowledged
// by the replicas is given back with the order and its index entries:
// nothing was sent to Trustly, and nothing may point at an order that
// never started.
func TestAClaimWithItsOrderNotReplicatedIsTakenBack(t *testing.T) {
	srv := redistest.NewServer(t)
	prefix := redistest.Prefix(t)
	waiting := openDB(t, srv.Addr(), prefix, &store.Replication{Acks: 1, Timeout: 20 * time.Millisecond})
	n := store.NewOrder{Order: store.Order{ID: "o1", Flow: "deposit", State: "new", MessageID: "m1",
		ExternalReference: "inv-1", EndUserID: "u1"}, OpenUntil: time.Now().Add(time.Hour)}
	if _, _, _, err := waiting.Idempotency(store.IdempotencyOptions{}).ClaimCreate(t.Context(), "shop", "k", "fp", "started", n); !errors.Is(err, store.ErrNotReplicated) {
		t.Fatalf("claim: %v, want ErrNotReplicated", err)
	}
	plain := openDB(t, srv.Addr(), prefix, nil)
	keys, err := store.NewKeys(prefix)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	for _, k := range []string{keys.Order("o1").Order, keys.MessageIDIndex("m1"), keys.ReferenceIndex("inv-1")} {
		if n, err := rdb.Exists(t.Context(), k).Result(); err != nil || n != 0 {
			t.Errorf("%s exists (%d, %v) after the claim was taken back", k, n, err)
		}
	}
	if _, err := rdb.ZScore(t.Context(), keys.Order("o1").Open, "o1").Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("open set still holds o1 (%v)", err)
	}
	c, stored, err := plain.Idempotency(store.IdempotencyOptions{}).Claim(t.Context(), "shop", "k", "fp")
	if err != nil || stored != nil || c.RecoveryPoint != "" {
		t.Fatalf("retry: %+v %v %v, want a fresh claim", c, stored, err)
	}
}

// openDB opens the store at addr under prefix; repl nil is the default.
// A server with no replica never acknowledges a wait for one.
func openDB(t *testing.T, addr, prefix string, repl *store.Replication) *store.DB {
	t.Helper()
	db, err := store.Open(store.RedisConfig{Addrs: []string{addr}, Replication: repl}, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// serverVersion is redis_version of the server at addr (compared as text:
// fine for 6.x to 9.x).
func serverVersion(t *testing.T, addr string) string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return ""
}

// A server that refuses scripts whose keys span slots (a Cluster node, or
// a proxy in front of shards, configured as a single node) refuses
// ClaimCreate before it runs: nothing is claimed or created, the error
// says ErrCrossSlot, and ClaimCreates is false from then on, so the engine
// claims and creates in two round trips.
func TestClaimCreateStopsWhereTheServerRefusesCrossSlotScripts(t *testing.T) {
	addrs := redistest.NewCluster(t, 1) // one node, every slot: single-slot commands work
	rdb := redis.NewClient(&redis.Options{Addr: addrs[0]})
	t.Cleanup(func() { rdb.Close() })
	keys, err := store.NewKeys(redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	idem := store.NewRedisIdempotency(rdb, keys, store.IdempotencyOptions{})
	if !idem.ClaimCreates() {
		t.Fatal("ClaimCreates is false before the server refused anything")
	}
	n := store.NewOrder{Order: store.Order{ID: "o1", Flow: "deposit", State: "new", MessageID: "m1", ExternalReference: "inv-1"}}
	if _, _, _, err := idem.ClaimCreate(t.Context(), "shop", "k", "fp", "started", n); !errors.Is(err, store.ErrCrossSlot) {
		t.Fatalf("ClaimCreate = %v, want ErrCrossSlot", err)
	}
	if idem.ClaimCreates() {
		t.Error("ClaimCreates is still true after the refusal")
	}
	if got, err := rdb.Exists(t.Context(), keys.Order("o1").Order).Result(); err != nil || got != 0 {
		t.Errorf("order written (%d, %v)", got, err)
	}
	c, stored, err := idem.Claim(t.Context(), "shop", "k", "fp")
	if err != nil || stored != nil || c.RecoveryPoint != "" {
		t.Fatalf("claim afterwards: %+v %v %v, want a fresh one", c, stored, err)
	}
}
