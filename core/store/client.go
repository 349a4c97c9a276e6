package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Mode says how the sidecar reaches Redis.
type Mode string

// The modes NewRedisClient knows.
const (
	ModeSingle   Mode = "single"   // one server, Addrs[0]
	ModeSentinel Mode = "sentinel" // Sentinels at Addrs watching MasterName
	ModeCluster  Mode = "cluster"  // a Cluster, Addrs being any of its nodes
)

// RedisConfig says where Redis is. The daemon fills it from its environment.
// Its String and GoString hide the passwords, so printing it is safe.
type RedisConfig struct {
	Mode             Mode // "" means ModeSingle
	Addrs            []string
	MasterName       string // Sentinel only
	Username         string
	Password         string
	SentinelUsername string
	SentinelPassword string
	DB               int         // not with ModeCluster: a Cluster has only 0
	TLS              *tls.Config // nil: plain TCP
	DialTimeout      time.Duration
	// ReadTimeout and WriteTimeout bound each socket read and write; 0 is
	// go-redis's default (5 s). A hung Redis (SIGSTOP, a stuck host with its
	// TCP stack alive) answers no command, so together with MaxRetries they
	// bound how long an operation waits: about (1 + retries) × ReadTimeout.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// PoolTimeout bounds the wait for a free connection when all are busy
	// (with a hung Redis, all soon are); 0 is go-redis's ReadTimeout + 1 s.
	PoolTimeout time.Duration
	PoolSize    int
	MaxRetries  int // 0: go-redis's default (3); -1: no retries
	// Replication is how many replicas acknowledge the writes answers
	// depend on (replication.go); nil is DefaultReplication of the mode.
	Replication *Replication
}

// replication is the setting in force.
func (c RedisConfig) replication() Replication {
	if c.Replication != nil {
		return *c.Replication
	}
	return DefaultReplication(c.mode())
}

// Validate reports every problem in the configuration at once.
func (c RedisConfig) Validate() error {
	var errs []error
	switch c.Mode {
	case "", ModeSingle:
		if len(c.Addrs) != 1 {
			errs = append(errs, fmt.Errorf("single-node Redis needs exactly one address, got %d", len(c.Addrs)))
		}
	case ModeSentinel:
		if len(c.Addrs) == 0 {
			errs = append(errs, errors.New("sentinel mode needs at least one Sentinel address"))
		}
		if c.MasterName == "" {
			errs = append(errs, errors.New("sentinel mode needs the master name"))
		}
	case ModeCluster:
		if len(c.Addrs) == 0 {
			errs = append(errs, errors.New("cluster mode needs at least one node address"))
		}
		if c.DB != 0 {
			errs = append(errs, fmt.Errorf("cluster mode has only database 0, not %d", c.DB))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown Redis mode %q (want %s, %s or %s)", c.Mode, ModeSingle, ModeSentinel, ModeCluster))
	}
	if c.MasterName != "" && c.Mode != ModeSentinel {
		errs = append(errs, fmt.Errorf("a master name is for Sentinel mode only, not %q", c.mode()))
	}
	if c.DB < 0 {
		errs = append(errs, fmt.Errorf("negative Redis database %d", c.DB))
	}
	if err := c.replication().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c RedisConfig) mode() Mode {
	if c.Mode == "" {
		return ModeSingle
	}
	return c.Mode
}

// String describes the configuration without its secrets.
func (c RedisConfig) String() string {
	return fmt.Sprintf("redis %s %v master=%q db=%d user=%q password=%s sentinel-password=%s tls=%t",
		c.mode(), c.Addrs, c.MasterName, c.DB, c.Username, redact(c.Password), redact(c.SentinelPassword), c.TLS != nil)
}

// GoString keeps %#v from printing the passwords.
func (c RedisConfig) GoString() string { return c.String() }

func redact(secret string) string {
	if secret == "" {
		return "(none)"
	}
	return "(set)"
}

// NewRedisClient returns a client for the configured mode. The mode is
// explicit rather than guessed from the number of addresses, so a list of
// Sentinels is never mistaken for a Cluster.
func NewRedisClient(c RedisConfig) (redis.UniversalClient, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	opts := &redis.UniversalOptions{
		Addrs:            c.Addrs,
		MasterName:       c.MasterName,
		Username:         c.Username,
		Password:         c.Password,
		SentinelUsername: c.SentinelUsername,
		SentinelPassword: c.SentinelPassword,
		DB:               c.DB,
		TLSConfig:        c.TLS,
		DialTimeout:      c.DialTimeout,
		ReadTimeout:      c.ReadTimeout,
		WriteTimeout:     c.WriteTimeout,
		PoolTimeout:      c.PoolTimeout,
		PoolSize:         c.PoolSize,
		MaxRetries:       c.MaxRetries,
		// A caller's deadline (a /readyz check's 2 s) also bounds the
		// socket waits and the retries; without this go-redis waits out
		// its own timeouts whatever the context says.
		ContextTimeoutEnabled: true,
		// Off: the handshake (CLIENT MAINT_NOTIFICATIONS, for managed
		// Redis's hand-offs) fails on a plain Redis, and go-redis then
		// turns the mode off in options that the connections of
		// (*redis.Client).Conn share without a common lock: a data race
		// under the writes that wait for replicas (replication.go).
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	switch c.mode() {
	case ModeSentinel:
		return redis.NewFailoverClient(opts.Failover()), nil
	case ModeCluster:
		return redis.NewClusterClient(opts.Cluster()), nil
	default:
		return redis.NewClient(opts.Simple()), nil
	}
}

// clockTick is how often the embedded Redis's TTLs follow the wall clock.
const clockTick = 50 * time.Millisecond

// NewEmbedded starts an in-process Redis (miniredis, with Lua) and returns a
// client to it, connected over in-memory pipes: no port, no Redis installed.
// The same scripts run as on a real Redis. Its data lives in memory and ends
// with Close. It is for one machine and tests, not for production.
func NewEmbedded() (redis.UniversalClient, error) {
	srv := miniredis.NewMiniRedis()
	rdb := redis.NewClient(&redis.Options{
		Addr: "embedded",
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			return srv.Dial()
		},
		// Off, as for a real Redis (NewRedisClient); on, go-redis would
		// also look the name "embedded" up in DNS to classify the
		// endpoint, and wait up to 2 s for an answer at every start.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	e := &embedded{Client: rdb, srv: srv, stop: make(chan struct{}), done: make(chan struct{})}
	go e.clock()
	return e, nil
}

// embedded is a client that also owns its server and the server's clock.
type embedded struct {
	*redis.Client
	srv       *miniredis.Miniredis
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// clock moves miniredis's TTLs along with real time: miniredis expires keys
// only when told to, and locks and records must expire in the embedded
// store as in Redis.
func (e *embedded) clock() {
	defer close(e.done)
	t := time.NewTicker(clockTick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			e.srv.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Close closes the client, then stops the clock and the server.
func (e *embedded) Close() error {
	e.closeOnce.Do(func() {
		e.closeErr = e.Client.Close()
		close(e.stop)
		<-e.done
		e.srv.Close()
	})
	return e.closeErr
}
