package engine

import (
	"context"
	"errors"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// errDropped ends an early call that its step did not send.
var errDropped = errors.New("engine: the call begun early was not needed")

// earlyCall is a call to Trustly begun before its request's idempotency
// claim is back (PreparePayment): the request is built and signed, most
// of a call's own time, beside the claim's round trip instead of after
// it, then waits at its SendAfter gate. The step either lets it go, once
// the order is stored, or drops it; nothing is sent before that. A
// dropped call has cost a signature and nothing else.
type earlyCall[T any] struct {
	cancel context.CancelCauseFunc
	gate   chan error
	done   chan callResult[T]
}

type callResult[T any] struct {
	res T
	err error
}

// beginCall starts call at once under a gate. It ends when its step sends
// or drops it, or when ctx ends: a caller that never runs the step must
// end ctx (a request's context ends with its handler).
func beginCall[T any](ctx context.Context, call func(context.Context) (T, error)) *earlyCall[T] {
	ctx, cancel := context.WithCancelCause(ctx)
	c := &earlyCall[T]{cancel: cancel, gate: make(chan error, 1), done: make(chan callResult[T], 1)}
	go func() {
		res, err := call(trustly.SendAfter(ctx, func() error {
			select {
			case err := <-c.gate:
				return err
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}))
		c.done <- callResult[T]{res, err}
	}()
	return c
}

// drop ends the call unsent: the claim found an answer, or the request
// the step makes differs from the one begun.
func (c *earlyCall[T]) drop() {
	if c != nil {
		c.cancel(errDropped)
	}
}

// sendWhenStored runs store (the order with its MessageID) on the caller's
// goroutine while the call finishes its signature, and lets the call go
// only once store has succeeded: Trustly never sees a MessageID the store
// cannot route, yet the signature, most of a call's own time, does not
// wait for the write's round trips. A failed store is returned as stored,
// with nothing sent; a call that failed before its gate still leaves
// stored to decide what the caller records. ctx is the step's: its end
// ends the call as it would a call made under it.
func (c *earlyCall[T]) sendWhenStored(ctx context.Context, store func(context.Context) error) (res T, callErr, stored error) {
	stop := context.AfterFunc(ctx, func() { c.cancel(context.Cause(ctx)) })
	defer stop()
	stored = store(ctx)
	// Buffered: a call that failed before its gate never reads it.
	c.gate <- stored
	r := <-c.done
	c.cancel(nil)
	return r.res, r.err, stored
}
