// Package store keeps the sidecar's state in Redis: one key space (Keys)
// that runs unchanged on a single node, behind Sentinel or on a Cluster, and
// the stores built on it, starting with idempotency records.
//
// Every multi-key change is one Lua script whose keys all arrive through
// KEYS[] and share one hash tag, so a script never crosses a Cluster slot and
// never half-applies. The embedded store (NewEmbedded) runs the same scripts
// in process, so `make run` needs no Redis installed.
//
// Errors that callers branch on are sentinels (ErrInProgress, ErrKeyReused,
// ErrFenced, ErrUnavailable, ErrInvalidKey, ErrNotFound, ErrExceedsRefundable, ...),
// always wrapped with %w. LAYOUT.md lists every key of the order store and its
// crash windows.
package store
