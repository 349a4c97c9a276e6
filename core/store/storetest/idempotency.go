// Package storetest is the contract of the store, written once and run
// against every Redis the sidecar supports: a real redis-server, the
// embedded miniredis and a real Redis Cluster.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// NewClient returns a client to the backend under test, closed when t ends.
type NewClient func(t *testing.T) redis.UniversalClient

// Switch stops and starts a backend, to see the store through an outage.
type Switch interface {
	Stop()
	Start()
}

// NewOutage returns a client to a backend of its own that the test may stop
// and start.
type NewOutage func(t *testing.T) (redis.UniversalClient, Switch)

// recoveryTimeout bounds the wait for a restarted backend to answer again;
// the wait polls, so a fast machine spends only a redial.
const recoveryTimeout = 10 * time.Second

// fixture is one test's store under its own key prefix.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	rdb   redis.UniversalClient
	keys  store.Keys
	store *store.RedisIdempotency
}

func newFixture(t *testing.T, rdb redis.UniversalClient, opts store.IdempotencyOptions) *fixture {
	t.Helper()
	keys, err := store.NewKeys(redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: context.Background(), rdb: rdb, keys: keys,
		store: store.NewRedisIdempotency(rdb, keys, opts)}
}

func (f *fixture) claim(scope, key, fp string) store.Claim {
	f.t.Helper()
	c, resp, err := f.store.Claim(f.ctx, scope, key, fp)
	if err != nil || resp != nil {
		f.t.Fatalf("Claim(%q, %q) = %+v, %v; want a claim", scope, key, resp, err)
	}
	return c
}

func (f *fixture) replay(scope, key, fp string) store.Outcome {
	f.t.Helper()
	_, resp, err := f.store.Claim(f.ctx, scope, key, fp)
	if err != nil || resp == nil {
		f.t.Fatalf("Claim(%q, %q) = %v, %v; want a stored outcome", scope, key, resp, err)
	}
	return *resp
}

func (f *fixture) claimErr(scope, key, fp string, want error) {
	f.t.Helper()
	c, resp, err := f.store.Claim(f.ctx, scope, key, fp)
	if !errors.Is(err, want) {
		f.t.Fatalf("Claim(%q, %q) = %+v, %+v, %v; want %v", scope, key, c, resp, err, want)
	}
}

func (f *fixture) complete(c store.Claim, code, body string) {
	f.t.Helper()
	if err := f.store.Complete(f.ctx, c, store.Outcome{Code: code, Body: []byte(body)}); err != nil {
		f.t.Fatalf("Complete(token %d): %v", c.Token, err)
	}
}

// takeOver lets the holder's lock lapse and claims the key again: it
// checks that the lock carries a TTL within lockTTL, so Redis would drop
// it, then drops it as expiry would. Deleting instead of waiting keeps the
// contract off the wall clock; that Redis expires a PX key is Redis's to test.
func (f *fixture) takeOver(scope, key, fp string, lockTTL time.Duration) store.Claim {
	f.t.Helper()
	lock := f.keys.Idempotency(scope, key).Lock
	if d := f.pttl(lock); d <= 0 || d > lockTTL {
		f.t.Fatalf("lock TTL %v, want within %v", d, lockTTL)
	}
	if err := f.rdb.Del(f.ctx, lock).Err(); err != nil {
		f.t.Fatal(err)
	}
	c, resp, err := f.store.Claim(f.ctx, scope, key, fp)
	if err != nil || resp != nil {
		f.t.Fatalf("Claim after the lock lapsed = %+v, %+v, %v; want a takeover", c, resp, err)
	}
	return c
}

func (f *fixture) pttl(key string) time.Duration {
	f.t.Helper()
	d, err := f.rdb.PTTL(f.ctx, key).Result()
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// RunIdempotency runs the idempotency store's contract against the backend
// that newClient reaches.
func RunIdempotency(t *testing.T, newClient NewClient) {
	const scope, key, fp, otherFP = "shop-1", "order-42-pay", "fp-a", "fp-b"
	long := store.IdempotencyOptions{LockTTL: time.Minute}
	short := store.IdempotencyOptions{LockTTL: 100 * time.Millisecond}
	t.Run("ClaimCreate", func(t *testing.T) { runClaimCreate(t, newClient) })

	t.Run("the first request claims the key", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		c := f.claim(scope, key, fp)
		if c.Token <= 0 || c.RecoveryPoint != "" || c.Scope != scope || c.Key != key || c.Fingerprint != fp {
			t.Fatalf("claim = %+v", c)
		}
	})

	t.Run("a repeat after completion replays the same status and body", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		// Binary and non-ASCII bytes must come back exactly.
		body := "{\"orderId\":\"1\",\"name\":\"Åsa Öberg\"}\x00\xff"
		f.complete(f.claim(scope, key, fp), "201", body)
		for range 2 {
			got := f.replay(scope, key, fp)
			if got.Code != "201" || !bytes.Equal(got.Body, []byte(body)) {
				t.Fatalf("replay = %s %q, want 201 %q", got.Code, got.Body, body)
			}
		}
	})

	t.Run("an empty body replays as empty", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		f.complete(f.claim(scope, key, fp), "204", "")
		if got := f.replay(scope, key, fp); got.Code != "204" || len(got.Body) != 0 {
			t.Fatalf("replay = %s %q, want 204 and no body", got.Code, got.Body)
		}
	})

	t.Run("an outcome code is kept as the caller's text", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		f.complete(f.claim(scope, key, fp), "refused: card 4711", "{}")
		if got := f.replay(scope, key, fp); got.Code != "refused: card 4711" || string(got.Body) != "{}" {
			t.Fatalf("replay = %s %q", got.Code, got.Body)
		}
	})

	t.Run("a record of the version that stored HTTP statuses replays its status as text", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		// What that version's Complete left: the status as a number.
		rec := f.keys.Idempotency(scope, key).Record
		if err := f.rdb.HSet(f.ctx, rec, "state", "done", "fp", fp, "fence", "7", "status", 201, "body", `{"orderId":"1"}`).Err(); err != nil {
			t.Fatal(err)
		}
		if got := f.replay(scope, key, fp); got.Code != "201" || string(got.Body) != `{"orderId":"1"}` {
			t.Fatalf("replay = %s %q, want 201 and the body", got.Code, got.Body)
		}
	})

	t.Run("the same key with other parameters is refused", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			setup func(f *fixture)
		}{
			{"while the first runs", func(f *fixture) { f.claim(scope, key, fp) }},
			{"after the first completed", func(f *fixture) { f.complete(f.claim(scope, key, fp), "200", "ok") }},
			{"after the first holder died", func(f *fixture) {
				f.claim(scope, key, fp)
				if err := f.rdb.Del(f.ctx, f.keys.Idempotency(scope, key).Lock).Err(); err != nil {
					f.t.Fatal(err)
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t, newClient(t), long)
				tc.setup(f)
				f.claimErr(scope, key, otherFP, store.ErrKeyReused)
			})
		}
	})

	t.Run("a repeat while the first runs is in progress", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		f.claim(scope, key, fp)
		f.claimErr(scope, key, fp, store.ErrInProgress)
	})

	t.Run("the same key in another scope is another record", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		f.claim(scope, key, fp)
		f.claim("shop-2", key, otherFP)
	})

	t.Run("a claim whose lock expired is taken over with a newer token", func(t *testing.T) {
		f := newFixture(t, newClient(t), short)
		old := f.claim(scope, key, fp)
		if err := f.store.Progress(f.ctx, old, "deposit-sent"); err != nil {
			t.Fatal(err)
		}
		taken := f.takeOver(scope, key, fp, short.LockTTL)
		if taken.Token <= old.Token {
			t.Fatalf("takeover token %d is not above the old %d", taken.Token, old.Token)
		}
		if taken.RecoveryPoint != "deposit-sent" {
			t.Fatalf("takeover recovery point = %q, want the dead holder's %q", taken.RecoveryPoint, "deposit-sent")
		}
	})

	t.Run("ClaimAt records the point with the claim, and a takeover inherits it", func(t *testing.T) {
		f := newFixture(t, newClient(t), short)
		c, resp, err := f.store.ClaimAt(f.ctx, scope, key, fp, "started")
		if err != nil || resp != nil || c.RecoveryPoint != "" || c.Token <= 0 {
			t.Fatalf("ClaimAt = %+v, %+v, %v; want a fresh claim", c, resp, err)
		}
		taken := f.takeOver(scope, key, fp, short.LockTTL)
		if taken.RecoveryPoint != "started" {
			t.Fatalf("takeover recovery point = %q, want %q recorded by ClaimAt", taken.RecoveryPoint, "started")
		}
		// A point already there is the dead holder's: ClaimAt keeps it.
		if err := f.store.Progress(f.ctx, taken, "deposit-sent"); err != nil {
			t.Fatal(err)
		}
		if err := f.rdb.Del(f.ctx, f.keys.Idempotency(scope, key).Lock).Err(); err != nil {
			t.Fatal(err)
		}
		again, _, err := f.store.ClaimAt(f.ctx, scope, key, fp, "started")
		if err != nil || again.RecoveryPoint != "deposit-sent" {
			t.Fatalf("ClaimAt over a dead holder = %+v, %v; want its point kept", again, err)
		}
	})

	t.Run("a stale holder cannot overwrite the newer result", func(t *testing.T) {
		f := newFixture(t, newClient(t), short)
		stale := f.claim(scope, key, fp)
		fresh := f.takeOver(scope, key, fp, short.LockTTL)
		for name, err := range map[string]error{
			"Progress": f.store.Progress(f.ctx, stale, "late"),
			"Complete": f.store.Complete(f.ctx, stale, store.Outcome{Code: "500", Body: []byte("stale")}),
			"Release":  f.store.Release(f.ctx, stale),
		} {
			if !errors.Is(err, store.ErrFenced) {
				t.Errorf("stale %s before the newer result = %v, want ErrFenced", name, err)
			}
		}
		f.complete(fresh, "200", "fresh")
		if err := f.store.Complete(f.ctx, stale, store.Outcome{Code: "500", Body: []byte("stale")}); !errors.Is(err, store.ErrFenced) {
			t.Errorf("stale Complete after the newer result = %v, want ErrFenced", err)
		}
		if got := f.replay(scope, key, fp); got.Code != "200" || string(got.Body) != "fresh" {
			t.Fatalf("replay = %s %q, want the newer 200 %q", got.Code, got.Body, "fresh")
		}
	})

	t.Run("records are kept for the TTL, 24 hours by default", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			opts store.IdempotencyOptions
			want time.Duration
		}{
			{"default", store.IdempotencyOptions{}, 24 * time.Hour},
			{"configured", store.IdempotencyOptions{TTL: time.Hour}, time.Hour},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t, newClient(t), tc.opts)
				k := f.keys.Idempotency(scope, key)
				// A TTL only counts down, so one in (want-1m, want] was set to want.
				inRange := func(d time.Duration) bool { return d > tc.want-time.Minute && d <= tc.want }
				c := f.claim(scope, key, fp)
				if d := f.pttl(k.Record); !inRange(d) {
					t.Fatalf("record TTL after Claim = %s, want %s", d, tc.want)
				}
				if d := f.pttl(k.Lock); d <= 0 || d > store.DefaultLockTTL {
					t.Fatalf("lock TTL after Claim = %s, want at most %s", d, store.DefaultLockTTL)
				}
				f.complete(c, "200", "ok")
				if d := f.pttl(k.Record); !inRange(d) {
					t.Fatalf("record TTL after Complete = %s, want %s", d, tc.want)
				}
				if n := f.rdb.Exists(f.ctx, k.Lock).Val(); n != 0 {
					t.Fatal("the lock outlived Complete")
				}
			})
		}
	})

	t.Run("Progress extends the lock", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		k := f.keys.Idempotency(scope, key)
		c := f.claim(scope, key, fp)
		// Stand in for time passing: the lock is about to lapse.
		f.rdb.PExpire(f.ctx, k.Lock, time.Second)
		if err := f.store.Progress(f.ctx, c, ""); err != nil {
			t.Fatal(err)
		}
		if d := f.pttl(k.Lock); d <= time.Minute/2 {
			t.Fatalf("lock TTL after Progress = %s, want about %s", d, time.Minute)
		}
	})

	t.Run("Progress retakes a lapsed lock nobody took over", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		c := f.claim(scope, key, fp)
		f.rdb.Del(f.ctx, f.keys.Idempotency(scope, key).Lock)
		if err := f.store.Progress(f.ctx, c, "step-2"); err != nil {
			t.Fatalf("Progress after the lock lapsed = %v, want success: the token is still the newest", err)
		}
		f.claimErr(scope, key, fp, store.ErrInProgress)
	})

	t.Run("Release lets the request be sent again", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		first := f.claim(scope, key, fp)
		if err := f.store.Progress(f.ctx, first, "validated"); err != nil {
			t.Fatal(err)
		}
		if err := f.store.Release(f.ctx, first); err != nil {
			t.Fatal(err)
		}
		if err := f.store.Release(f.ctx, first); err != nil {
			t.Fatalf("a repeated Release = %v, want success (a retry whose reply was lost)", err)
		}
		// Released is as if never seen: other parameters are welcome too.
		again := f.claim(scope, key, otherFP)
		if again.Token <= first.Token || again.RecoveryPoint != "" {
			t.Fatalf("claim after Release = %+v, want a token above %d and no recovery point", again, first.Token)
		}
		if err := f.store.Complete(f.ctx, first, store.Outcome{Code: "200"}); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("Complete with the released token = %v, want ErrFenced", err)
		}
	})

	t.Run("a stored response is never released or replaced", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		c := f.claim(scope, key, fp)
		f.complete(c, "201", "first")
		f.complete(c, "500", "second") // a retried Complete: success, first stands
		if err := f.store.Release(f.ctx, c); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("Release after Complete = %v, want ErrFenced", err)
		}
		if err := f.store.Progress(f.ctx, c, ""); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("Progress after Complete = %v, want ErrFenced", err)
		}
		if got := f.replay(scope, key, fp); got.Code != "201" || string(got.Body) != "first" {
			t.Fatalf("replay = %s %q, want 201 %q", got.Code, got.Body, "first")
		}
	})

	t.Run("tokens keep rising after a record expired", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		k := f.keys.Idempotency(scope, key)
		old := f.claim(scope, key, fp)
		// Stand in for the record's TTL running out while its holder stalled.
		f.rdb.Del(f.ctx, k.Record)
		f.rdb.Del(f.ctx, k.Lock)
		fresh := f.claim(scope, key, fp)
		if fresh.Token <= old.Token {
			t.Fatalf("token after expiry %d is not above the stalled holder's %d", fresh.Token, old.Token)
		}
		if err := f.store.Complete(f.ctx, old, store.Outcome{Code: "500"}); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("stalled Complete = %v, want ErrFenced", err)
		}
	})

	t.Run("of many concurrent claims exactly one wins", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		const n = 50
		var (
			wg                 sync.WaitGroup
			mu                 sync.Mutex
			won, busy, unknown int
		)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				_, resp, err := f.store.Claim(f.ctx, scope, key, fp)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && resp == nil:
					won++
				case errors.Is(err, store.ErrInProgress):
					busy++
				default:
					unknown++
					t.Errorf("Claim = %v, %v", resp, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won != 1 || busy != n-1 {
			t.Fatalf("%d won, %d in progress, %d other; want 1 and %d", won, busy, unknown, n-1)
		}
	})

	t.Run("keys with any characters stay apart", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		pairs := [][2]string{{"a:b", "c"}, {"a", "b:c"}, {"s", "k}x{y"}, {"s", "k}x"}, {"s", "ключ-🔑"}, {"s", strings.Repeat("k", store.MaxKeyLen)}}
		for i, p := range pairs {
			f.complete(f.claim(p[0], p[1], fp), strconv.Itoa(200+i), p[1])
		}
		for i, p := range pairs {
			if got := f.replay(p[0], p[1], fp); got.Code != strconv.Itoa(200+i) || string(got.Body) != p[1] {
				t.Errorf("replay(%q, %q) = %s %q", p[0], p[1], got.Code, got.Body)
			}
		}
	})

	t.Run("invalid keys are refused", func(t *testing.T) {
		f := newFixture(t, newClient(t), long)
		for _, p := range [][2]string{{"", key}, {scope, ""}, {scope, strings.Repeat("k", store.MaxKeyLen+1)}} {
			f.claimErr(p[0], p[1], fp, store.ErrInvalidKey)
		}
	})
}

// RunIdempotencyOutage runs the contract's outage cases: while the backend is
// down every call fails with an error wrapping ErrUnavailable, and once it is
// back the store works again.
func RunIdempotencyOutage(t *testing.T, newOutage NewOutage) {
	const scope, fp = "shop-1", "fp-a"

	t.Run("Redis down: every call is unavailable, then it recovers", func(t *testing.T) {
		rdb, sw := newOutage(t)
		f := newFixture(t, rdb, store.IdempotencyOptions{LockTTL: time.Minute})
		before := f.claim(scope, "before", fp)

		sw.Stop()
		ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
		defer cancel()
		_, _, err := f.store.Claim(ctx, scope, "during", fp)
		for name, err := range map[string]error{
			"Claim":    err,
			"Progress": f.store.Progress(ctx, before, "x"),
			"Complete": f.store.Complete(ctx, before, store.Outcome{Code: "200"}),
			"Release":  f.store.Release(ctx, before),
		} {
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s while Redis is down = %v, want ErrUnavailable", name, err)
			}
		}

		sw.Start()
		// The pool redials and the scripts, gone with a restarted Redis's
		// memory, are sent again; poll because the first dial may still fail.
		deadline := time.Now().Add(recoveryTimeout)
		for {
			c, _, err := f.store.Claim(f.ctx, scope, "after", fp)
			if err == nil {
				f.complete(c, "200", "back")
				break
			}
			if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
				t.Fatalf("Claim after Redis came back = %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got := f.replay(scope, "after", fp); got.Code != "200" || string(got.Body) != "back" {
			t.Fatalf("replay after recovery = %s %q", got.Code, got.Body)
		}
	})
}
