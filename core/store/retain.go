package store

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RetainReport counts the keys Retain gave a TTL (or would have, dry).
type RetainReport struct {
	Orders, Accounts, Unrouted int64
}

// Retain gives the keys written while nothing expired (before retention
// existed, or with a negative Retention) the TTL their next write would
// give them, so an upgrade does not keep every old order forever. Keys that
// have a TTL are left alone. A settled order (settled reports it from its
// flow and state; one whose Deposit mandate is active is not) expires the
// retention after its last update, its dedupe hash, log and index entries
// with it; a shopper's accounts without an active mandate the retention
// from now; an unrouted notification the retention after its arrival.
// None expires sooner than grace from now, so a person can still stop what
// was started by mistake. With dryRun it only counts. It scans the key
// space (every master of a Cluster): run it once, off-peak.
func (s *RedisOrders) Retain(ctx context.Context, settled func(flow, state string) bool, now time.Time, grace time.Duration, dryRun bool) (RetainReport, error) {
	r := s.Retention()
	if r <= 0 {
		return RetainReport{}, errors.New("store: retain: the retention keeps everything forever; nothing to do")
	}
	ttlFrom := func(last time.Time) time.Duration {
		if last.IsZero() {
			last = now
		}
		return max(last.Add(r).Sub(now), grace)
	}
	var orders, accounts, unrouted atomic.Int64
	p := globEscaper.Replace(s.keys.Prefix())
	err := s.scan(ctx, p+":order:*", func(ctx context.Context, key string) error {
		if strings.HasSuffix(key, ":nd") || strings.HasSuffix(key, ":log") {
			return nil
		}
		pipe := s.rdb.Pipeline()
		f := pipe.HMGet(ctx, key, "id", "flow", "state", "mandate", "updated")
		ttl := pipe.PTTL(ctx, key)
		if _, err := pipe.Exec(ctx); err != nil {
			return wrapRedis(ctx, "retain: read order", err)
		}
		v := make([]string, 5)
		for i, x := range f.Val() {
			v[i], _ = x.(string)
		}
		if ttl.Val() != -1 || v[0] == "" || !settled(v[1], v[2]) || v[3] == MandateActive {
			return nil
		}
		orders.Add(1)
		if dryRun {
			return nil
		}
		k := s.keys.Order(v[0])
		d := ttlFrom(fromMS(v[4]))
		exp := s.rdb.Pipeline()
		for _, key := range []string{k.Order, k.Dedupe, k.Log} {
			exp.PExpire(ctx, key, d)
		}
		if _, err := exp.Exec(ctx); err != nil {
			return wrapRedis(ctx, "retain: expire order", err)
		}
		return s.refreshIndexes(ctx, v[0])
	})
	if err != nil {
		return RetainReport{}, err
	}
	err = s.scan(ctx, p+":acct:*", func(ctx context.Context, key string) error {
		pipe := s.rdb.Pipeline()
		m := pipe.HExists(ctx, key, "_mandate")
		ttl := pipe.PTTL(ctx, key)
		if _, err := pipe.Exec(ctx); err != nil {
			return wrapRedis(ctx, "retain: read accounts", err)
		}
		if ttl.Val() != -1 || m.Val() {
			return nil
		}
		accounts.Add(1)
		if dryRun {
			return nil
		}
		return wrapIf(ctx, "retain: expire accounts", s.rdb.PExpire(ctx, key, r).Err())
	})
	if err != nil {
		return RetainReport{}, err
	}
	err = s.scan(ctx, p+":unrouted:*", func(ctx context.Context, key string) error {
		pipe := s.rdb.Pipeline()
		at := pipe.HGet(ctx, key, "at")
		ttl := pipe.PTTL(ctx, key)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return wrapRedis(ctx, "retain: read unrouted", err)
		}
		if ttl.Val() != -1 {
			return nil
		}
		unrouted.Add(1)
		if dryRun {
			return nil
		}
		return wrapIf(ctx, "retain: expire unrouted", s.rdb.PExpire(ctx, key, ttlFrom(fromMS(at.Val()))).Err())
	})
	if err != nil {
		return RetainReport{}, err
	}
	return RetainReport{Orders: orders.Load(), Accounts: accounts.Load(), Unrouted: unrouted.Load()}, nil
}

// scan calls fn for every key matching the glob match, on every master of
// a Cluster (concurrently: fn must be safe for that).
func (s *RedisOrders) scan(ctx context.Context, match string, fn func(ctx context.Context, key string) error) error {
	each := func(ctx context.Context, c redis.Cmdable) error {
		it := c.Scan(ctx, 0, match, 1000).Iterator()
		for it.Next(ctx) {
			if err := fn(ctx, it.Val()); err != nil {
				return err
			}
		}
		if err := it.Err(); err != nil {
			return wrapRedis(ctx, "scan", err)
		}
		return nil
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return each(ctx, c) })
	}
	return each(ctx, s.rdb)
}

func wrapIf(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	return wrapRedis(ctx, op, err)
}

// globEscaper escapes what SCAN MATCH would read as a pattern.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
