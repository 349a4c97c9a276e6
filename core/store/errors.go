package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

var (
	// ErrInProgress: another request holds the idempotency key right now;
	// the caller may retry later.
	ErrInProgress = errors.New("store: idempotency key in use by a request in flight")
	// ErrKeyReused: the idempotency key was first used with other request
	// parameters; retrying cannot help.
	ErrKeyReused = errors.New("store: idempotency key reused with different parameters")
	// ErrFenced: the claim was lost (its lock expired and a newer request took
	// the key over, or it was completed or released already); the holder must
	// stop and must not report its result as the key's result.
	ErrFenced = errors.New("store: claim superseded by a newer one")
	// ErrUnavailable: Redis could not be reached or cannot serve writes now;
	// the outcome of the call is unknown, retrying later is safe.
	ErrUnavailable = errors.New("store: redis unavailable")
	// ErrInvalidKey: an empty scope or key, or a key longer than MaxKeyLen.
	ErrInvalidKey = errors.New("store: invalid idempotency key")
	// ErrCrossSlot: the server refused a script whose keys are in
	// different slots, writing nothing (a Cluster node, or a proxy in
	// front of shards, reached as one server); ClaimCreate stops trying.
	ErrCrossSlot = errors.New("store: the server refuses scripts whose keys are in different slots")
)

// wrapRedis turns a Redis or network error into one that wraps a sentinel, so
// callers map errors in one place without knowing go-redis.
func wrapRedis(ctx context.Context, op string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		// The caller gave up; nobody waits for the answer.
		return fmt.Errorf("store: %s: %w", op, ctx.Err())
	}
	if isServerFault(err) {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	// Network errors, timeouts (including the caller's deadline while Redis
	// hangs), a closed pool, and Redis replies that mean "not now".
	return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
}

// isServerFault reports a Redis reply error that retrying will not cure: a
// script or command bug. Replies that mean "this node cannot serve now" are
// availability problems instead.
func isServerFault(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	switch {
	case redis.IsLoadingError(err), redis.IsClusterDownError(err), redis.IsTryAgainError(err),
		redis.IsMasterDownError(err), redis.IsReadOnlyError(err), redis.IsMaxClientsError(err),
		redis.IsOOMError(err), redis.IsNoReplicasError(err), redis.HasErrorPrefix(err, "BUSY"):
		return false
	}
	// A write sent over one master's own connection (replication.go) hears
	// of a failover as a redirection: the slot has moved, not a bug.
	if _, moved := redis.IsMovedError(err); moved {
		return false
	}
	if _, ask := redis.IsAskError(err); ask {
		return false
	}
	return true
}
