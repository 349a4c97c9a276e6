package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DB is the Redis the stores live in (one node, Sentinel, Cluster or the
// embedded store) as a program outside core/store holds it: it opens the
// stores on it and asks it whether it answers, and never speaks Redis.
type DB struct {
	rdb      redis.UniversalClient
	repl     *replicator
	keys     Keys
	addr     string // names the server in reports: its address, or the Sentinel master
	embedded bool
}

// Open connects to the Redis c describes; prefix starts every key (see
// NewKeys). Nothing is sent until a store is used or Ping is called.
func Open(c RedisConfig, prefix string) (*DB, error) {
	keys, err := NewKeys(prefix)
	if err != nil {
		return nil, err
	}
	rdb, err := NewRedisClient(c)
	if err != nil {
		return nil, err
	}
	addr := strings.Join(c.Addrs, ",")
	if c.mode() == ModeSentinel {
		addr = "sentinel master " + c.MasterName
	}
	return &DB{rdb: rdb, repl: newReplicator(rdb, keys, c.replication()), keys: keys, addr: addr}, nil
}

// OpenEmbedded starts the in-process store (NewEmbedded): nothing to install,
// nothing kept after Close.
func OpenEmbedded(prefix string) (*DB, error) {
	keys, err := NewKeys(prefix)
	if err != nil {
		return nil, err
	}
	rdb, err := NewEmbedded()
	if err != nil {
		return nil, err
	}
	// No replicas to wait for: the embedded store keeps nothing anyway.
	return &DB{rdb: rdb, repl: newReplicator(rdb, keys, Replication{}), keys: keys, addr: embeddedNode, embedded: true}, nil
}

// Orders is the order store on d.
func (d *DB) Orders(opts OrdersOptions) *RedisOrders {
	s := NewRedisOrders(d.rdb, d.keys, opts)
	s.repl = d.repl
	return s
}

// Idempotency is the idempotency store on d.
func (d *DB) Idempotency(opts IdempotencyOptions) *RedisIdempotency {
	s := NewRedisIdempotency(d.rdb, d.keys, opts)
	s.repl = d.repl
	return s
}

// Replication is the replica acknowledgement the stores on d wait for.
func (d *DB) Replication() Replication { return d.repl.cfg }

// ReplicaAckTimeouts counts the writes whose replica acknowledgements did
// not come in time (each answered as unavailable), since Open.
func (d *DB) ReplicaAckTimeouts() int64 { return d.repl.timeouts.Load() }

// PayLinks is the pay-link store on d.
func (d *DB) PayLinks(opts PayLinkOptions) *RedisPayLinks {
	s := NewRedisPayLinks(d.rdb, d.keys, opts)
	s.repl = d.repl
	return s
}

// Ping reports whether Redis answers; an error wraps ErrUnavailable.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: ping: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close closes the connections (and stops the embedded store).
func (d *DB) Close() error { return d.rdb.Close() }

// LogTo sends the Redis client's own messages (pool dial failures) to log.
// The client has one logger per process: the program that owns the process
// calls this once.
func LogTo(log *slog.Logger) { redis.SetLogger(redisLogger{log}) }

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
