package paylink

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// The pay-link store's contract, on a real redis-server and on the
// embedded store alike.
func TestPayLinkStore(t *testing.T) {
	backends := map[string]func(t *testing.T) redis.UniversalClient{
		"redis": func(t *testing.T) redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: testRedisAddr(t)})
		},
		"embedded": func(t *testing.T) redis.UniversalClient {
			rdb, err := store.NewEmbedded()
			if err != nil {
				t.Fatal(err)
			}
			return rdb
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			rdb := open(t)
			t.Cleanup(func() { rdb.Close() })
			s := NewStore(rdb, testPrefix(t))
			ctx := t.Context()
			now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			token, err := newToken()
			if err != nil {
				t.Fatal(err)
			}
			hash, ok := tokenHash(token)
			if !ok {
				t.Fatalf("our own token %q is refused", token)
			}
			if _, found, err := s.get(ctx, hash); found || err != nil {
				t.Fatalf("unknown link: found %v, %v", found, err)
			}
			l := payLink{ID: linkID(hash), OrderReference: "O-1", Amount: 100, Currency: "SEK", ExpiresAt: now.Add(time.Hour)}
			if err := s.create(ctx, hash, l, now); err != nil {
				t.Fatal(err)
			}
			if err := s.create(ctx, hash, l, now); err == nil {
				t.Fatal("a second create of the same hash succeeded")
			}
			// Only the hash is a key: the token appears nowhere.
			keys, err := rdb.Keys(ctx, s.prefix+":*").Result()
			if err != nil || len(keys) != 1 || keys[0] != s.key(hash) {
				t.Fatalf("keys %v, %v", keys, err)
			}
			ttl := rdb.TTL(ctx, s.key(hash)).Val()
			if ttl < payLinkRetention || ttl > payLinkRetention+time.Hour {
				t.Fatalf("ttl %v", ttl)
			}

			release, ok, err := s.lock(ctx, hash, time.Minute)
			if err != nil || !ok {
				t.Fatalf("lock: %v %v", ok, err)
			}
			if _, ok2, _ := s.lock(ctx, hash, time.Minute); ok2 {
				t.Fatal("a second click took the held lock")
			}
			l.Attempts = append(l.Attempts, "order-1")
			if err := s.update(ctx, hash, l); err != nil {
				t.Fatal(err)
			}
			release()
			got, found, err := s.get(ctx, hash)
			if err != nil || !found || len(got.Attempts) != 1 || got.Attempts[0] != "order-1" {
				t.Fatalf("after update: %+v %v %v", got, found, err)
			}
			if rdb.TTL(ctx, s.key(hash)).Val() < payLinkRetention {
				t.Fatal("update lost the expiry")
			}
			release2, ok, err := s.lock(ctx, hash, time.Minute)
			if err != nil || !ok {
				t.Fatalf("lock after release: %v %v", ok, err)
			}
			release2()
		})
	}
}

func TestTokenHashRefusesWhatIsNotAToken(t *testing.T) {
	for _, tok := range []string{"", "short", "../../etc/passwd", string(make([]byte, 43))} {
		if _, ok := tokenHash(tok); ok {
			t.Errorf("%q accepted", tok)
		}
	}
}

// testRedisAddr is where `make test` (.ci/with-redis) hands the tests a
// redis-server.
func testRedisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("TRUSTLY_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("needs a redis-server: run with `make test` or .ci/with-redis (sets TRUSTLY_TEST_REDIS_ADDR)")
	}
	return addr
}

func testPrefix(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "test:paylink:" + hex.EncodeToString(b[:])
}
