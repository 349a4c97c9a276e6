package engine

import (
	"context"
	"sync"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// earlyAnswer lets a request whose answer is an order (a Deposit, a
// mandate, a Charge: IdempotentOrder) store that answer under its
// idempotency key while the call's transition is still on its way to
// Redis. The two writes are in different slots and the answer follows
// from what Trustly said, so the shop's answer waits for one round trip
// after the call instead of two.
//
// The answer is the order as the transition leaves it from the state the
// request created it in (record's predicted view); the request answers
// with what was stored, whatever the transition returns, so a replay and
// the first answer stay byte for byte the same.
type earlyAnswer struct {
	answer   func(Order) store.Outcome
	complete func(store.Outcome) error
	// along, when the idempotency store can, makes the store of the
	// outcome a write that goes with the transition (store.Along): in
	// its round trip, not in one beside it.
	along func(store.Outcome) *store.Along
	// before runs once, before the outcome is stored: the claim's
	// heartbeat stops, as it does before Complete in Idempotent.
	before func()

	once  sync.Once
	out   store.Outcome
	done  chan error
	write *store.Along
}

type earlyAnswerKey struct{}

func withEarlyAnswer(ctx context.Context, ea *earlyAnswer) context.Context {
	return context.WithValue(ctx, earlyAnswerKey{}, ea)
}

func earlyAnswerFrom(ctx context.Context) *earlyAnswer {
	ea, _ := ctx.Value(earlyAnswerKey{}).(*earlyAnswer)
	return ea
}

// give makes o the request's outcome; only the first call counts. It
// returns the write that stores it, for the caller to send with its
// transition, or nil when the store started on its own.
func (ea *earlyAnswer) give(o Order) *store.Along {
	var w *store.Along
	ea.once.Do(func() {
		ea.before()
		ea.out = ea.answer(o)
		if ea.along != nil {
			ea.write = ea.along(ea.out)
			w = ea.write
			return
		}
		ea.done = make(chan error, 1)
		go func() { ea.done <- ea.complete(ea.out) }()
	})
	return w
}

// result waits for the store of the outcome given: the outcome stored and
// the store's error; ok is false when give was never called. Call it once,
// after run: no give counts after it.
func (ea *earlyAnswer) result() (out store.Outcome, ok bool, err error) {
	ea.once.Do(func() {})
	switch {
	case ea.write != nil:
		if !ea.write.Sent() {
			// Given but never sent (the transition was not made): stored
			// now, as any answer.
			return ea.out, true, ea.complete(ea.out)
		}
		return ea.out, true, ea.write.Err()
	case ea.done == nil:
		return store.Outcome{}, false, nil
	}
	return ea.out, true, <-ea.done
}
