package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults follow Stripe: a key answers with its first result for a day. A
// claim's lock outlives one Trustly call with its retries; a worker that runs
// longer calls Progress well within it.
const (
	DefaultIdempotencyTTL = 24 * time.Hour
	DefaultLockTTL        = 30 * time.Second
	// MaxKeyLen is Stripe's limit, so a client that works there works here.
	MaxKeyLen = 255
)

// Idempotency is the contract of the idempotency store (Stripe semantics).
// The first request with a key claims it and runs; a repeat with the same
// fingerprint gets the stored outcome once there is one, ErrInProgress
// while the first runs, and ErrKeyReused when its fingerprint differs.
type Idempotency interface {
	// Claim claims key within scope for a request with this fingerprint. It
	// returns either a claim to run the request under, or the stored
	// outcome to replay, or an error.
	Claim(ctx context.Context, scope, key, fingerprint string) (Claim, *Outcome, error)
	// Progress proves the claim's holder alive, extending its lock, and
	// stores point as the recovery point unless it is empty.
	Progress(ctx context.Context, c Claim, point string) error
	// Complete stores the outcome that repeats of the request replay.
	Complete(ctx context.Context, c Claim, out Outcome) error
	// Release gives the key back without an outcome, for failures after
	// which the request may safely be sent again.
	Release(ctx context.Context, c Claim) error
}

var _ Idempotency = (*RedisIdempotency)(nil)

// Claim is the right to run one request. Token is its fencing token: it rises
// with every claim of the key, and the store accepts Progress, Complete and
// Release only from the newest one.
type Claim struct {
	Scope, Key, Fingerprint string
	Token                   int64
	// RecoveryPoint is where a previous holder of this key, now dead, got to
	// (as it told Progress); empty for a fresh claim.
	RecoveryPoint string
}

// Outcome is what a repeat of a completed request receives. The store never
// interprets it: Code is the caller's own label for the result (the sidecar
// keeps its HTTP status there as decimal text), Body opaque bytes. Code is
// kept in the record's "status" field, where the version that stored HTTP
// statuses as numbers put them, so its records replay as the same text.
type Outcome struct {
	Code string
	Body []byte
}

// IdempotencyOptions tune a RedisIdempotency; zero values take the defaults.
type IdempotencyOptions struct {
	TTL     time.Duration // how long a record lives after its last change
	LockTTL time.Duration // how long a claim lives without Progress
}

// RedisIdempotency is the Idempotency store on Redis: claim, progress,
// completion and release are one Lua script each.
type RedisIdempotency struct {
	rdb     redis.UniversalClient
	repl    *replicator
	keys    Keys
	ttl     time.Duration
	lockTTL time.Duration

	// crossSlotRefused: the server refused ClaimCreate's script once
	// (ErrCrossSlot); ClaimCreates is false from then on.
	crossSlotRefused atomic.Bool
}

// NewRedisIdempotency returns the store on rdb under keys.
func NewRedisIdempotency(rdb redis.UniversalClient, keys Keys, opts IdempotencyOptions) *RedisIdempotency {
	if opts.TTL <= 0 {
		opts.TTL = DefaultIdempotencyTTL
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = DefaultLockTTL
	}
	return &RedisIdempotency{rdb: rdb, repl: newReplicator(rdb, keys, Replication{}), keys: keys, ttl: opts.TTL, lockTTL: opts.LockTTL}
}

var (
	//go:embed lua/idem_claim.lua
	claimLua string
	//go:embed lua/idem_progress.lua
	progressLua string
	//go:embed lua/idem_complete.lua
	completeLua string
	//go:embed lua/idem_release.lua
	releaseLua string

	// Run sends EVALSHA and falls back to EVAL when the server lacks the
	// script, as after a Redis restart or a failover.
	claimScript    = redis.NewScript(claimLua)
	progressScript = redis.NewScript(progressLua)
	completeScript = redis.NewScript(completeLua)
	releaseScript  = redis.NewScript(releaseLua)
)

// LockTTL is how long a claim lives without Progress; a holder proves
// itself alive well within it.
func (s *RedisIdempotency) LockTTL() time.Duration { return s.lockTTL }

// Claim implements Idempotency.
func (s *RedisIdempotency) Claim(ctx context.Context, scope, key, fingerprint string) (Claim, *Outcome, error) {
	return s.ClaimAt(ctx, scope, key, fingerprint, "")
}

// ClaimAt is Claim followed by Progress(point) in the same script, one round
// trip (and one wait for the replicas) instead of two: a claim that
// inherits no recovery point records point at once. One that inherits a
// point keeps it, and returns it as Claim does, so the caller still sees
// where a dead holder got to.
func (s *RedisIdempotency) ClaimAt(ctx context.Context, scope, key, fingerprint, point string) (Claim, *Outcome, error) {
	if err := validKey(scope, key); err != nil {
		return Claim{}, nil, err
	}
	if fingerprint == "" {
		return Claim{}, nil, fmt.Errorf("store: claim: empty request fingerprint")
	}
	k := s.keys.Idempotency(scope, key)
	w := s.repl.begin()
	defer w.close()
	cmd, waitErr := w.script(ctx, k.Record, claimScript, []string{k.Record, k.Lock},
		fingerprint, s.lockTTL.Milliseconds(), s.ttl.Milliseconds(), point)
	reply, err := cmd.Slice()
	if err != nil {
		return Claim{}, nil, w.fail(ctx, "claim idempotency key", err)
	}
	return s.claimed(ctx, w, scope, key, fingerprint, reply, waitErr, s.release)
}

// release gives c back at once on the master, without waiting for the
// replicas: for a claim whose own wait failed.
func (s *RedisIdempotency) release(ctx context.Context, c Claim) {
	_ = s.fenced(ctx, "release", false, releaseScript, c, s.ttl.Milliseconds())
}

// claimed reads the claim script's reply (lua/idem_claim.lua); waitErr is
// that of the wait sent with the script, and undo takes back a claim the
// replicas did not acknowledge.
func (s *RedisIdempotency) claimed(ctx context.Context, w *writes, scope, key, fingerprint string, reply []any, waitErr error,
	undo func(context.Context, Claim)) (Claim, *Outcome, error) {
	if len(reply) == 0 {
		return Claim{}, nil, errors.New("store: claim: empty script reply")
	}
	k := s.keys.Idempotency(scope, key)
	switch outcome, _ := reply[0].(string); outcome {
	case "claimed":
		token, err := strconv.ParseInt(str(reply, 1), 10, 64)
		if err != nil {
			return Claim{}, nil, fmt.Errorf("store: claim: bad fencing token %q", str(reply, 1))
		}
		// The caller calls Trustly once it holds the claim: a claim a
		// failover could undo would let a retry call it again.
		if waitErr == nil {
			waitErr = w.wait(ctx, "claim idempotency key")
		}
		c := Claim{Scope: scope, Key: key, Fingerprint: fingerprint, Token: token, RecoveryPoint: str(reply, 2)}
		if waitErr != nil {
			// Given back on the master at once, so that the shop's retry
			// is not "in flight" for the lock's TTL; nothing ran.
			undo(context.WithoutCancel(ctx), c)
			return Claim{}, nil, fmt.Errorf("store: claim idempotency key: %w", waitErr)
		}
		return c, nil, nil
	case "done":
		// The stored response may be one whose own wait failed: replay it
		// only once the replicas have it.
		if err := w.settle(ctx, k.Record); err != nil {
			return Claim{}, nil, err
		}
		if err := w.wait(ctx, "replay idempotent response"); err != nil {
			return Claim{}, nil, err
		}
		return Claim{}, &Outcome{Code: str(reply, 1), Body: []byte(str(reply, 2))}, nil
	case "busy":
		return Claim{}, nil, fmt.Errorf("store: claim: %w", ErrInProgress)
	case "reused":
		return Claim{}, nil, fmt.Errorf("store: claim: %w", ErrKeyReused)
	default:
		return Claim{}, nil, fmt.Errorf("store: claim: unexpected script reply %v", reply)
	}
}

// Progress implements Idempotency.
func (s *RedisIdempotency) Progress(ctx context.Context, c Claim, point string) error {
	setPoint := "0"
	if point != "" {
		setPoint = "1"
	}
	// A recovery point tells a later holder what already happened (the
	// call to Trustly started): it must survive a failover. A heartbeat
	// alone need not wait: fencing protects a lock that came back shorter.
	return s.fenced(ctx, "progress", point != "", progressScript, c,
		s.lockTTL.Milliseconds(), s.ttl.Milliseconds(), setPoint, point)
}

// Complete implements Idempotency.
func (s *RedisIdempotency) Complete(ctx context.Context, c Claim, out Outcome) error {
	return s.fenced(ctx, "complete", true, completeScript, c,
		out.Code, out.Body, s.ttl.Milliseconds())
}

// Release implements Idempotency.
func (s *RedisIdempotency) Release(ctx context.Context, c Claim) error {
	// Losing a release to a failover only keeps the key busy until its
	// lock lapses: no wait.
	return s.fenced(ctx, "release", false, releaseScript, c, s.ttl.Milliseconds())
}

// fenced runs a script that acts only while c's token is the newest; its
// arguments follow the token. With durable it returns once the replicas
// have the change (replication.go).
func (s *RedisIdempotency) fenced(ctx context.Context, op string, durable bool, script *redis.Script, c Claim, args ...any) error {
	if err := validKey(c.Scope, c.Key); err != nil {
		return err
	}
	k := s.keys.Idempotency(c.Scope, c.Key)
	keys, args := []string{k.Record, k.Lock}, append([]any{strconv.FormatInt(c.Token, 10)}, args...)
	if !durable {
		ok, err := script.Run(ctx, s.rdb, keys, args...).Int()
		if err != nil {
			return wrapRedis(ctx, op+" idempotency key", err)
		}
		if ok != 1 {
			return fmt.Errorf("store: %s: token %d: %w", op, c.Token, ErrFenced)
		}
		return nil
	}
	w := s.repl.begin()
	defer w.close()
	cmd, waitErr := w.script(ctx, k.Record, script, keys, args...)
	ok, err := cmd.Int()
	if err != nil {
		return w.fail(ctx, op+" idempotency key", err)
	}
	if ok != 1 {
		return fmt.Errorf("store: %s: token %d: %w", op, c.Token, ErrFenced)
	}
	if waitErr != nil {
		return fmt.Errorf("store: %s idempotency key: %w", op, waitErr)
	}
	return w.wait(ctx, op+" idempotency key")
}

func validKey(scope, key string) error {
	switch {
	case scope == "":
		return fmt.Errorf("%w: empty scope", ErrInvalidKey)
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	return nil
}

// str returns reply[i] as a string, or "" when it is missing or nil.
func str(reply []any, i int) string {
	if i >= len(reply) {
		return ""
	}
	s, _ := reply[i].(string)
	return s
}
