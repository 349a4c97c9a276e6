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
	// before runs once, before the outcome is stored: the claim's
	// heartbeat stops, as it does before Complete in Idempotent.
	before func()

	once sync.Once
	out  store.Outcome
	done chan error
}

type earlyAnswerKey struct{}

func withEarlyAnswer(ctx context.Context, ea *earlyAnswer) context.Context {
	return context.WithValue(ctx, earlyAnswerKey{}, ea)
}

func earlyAnswerFrom(ctx context.Context) *earlyAnswer {
	ea, _ := ctx.Value(earlyAnswerKey{}).(*earlyAnswer)
	return ea
}

// give starts storing o as the request's outcome; only the first call
// counts.
func (ea *earlyAnswer) give(o Order) {
	ea.once.Do(func() {
		ea.before()
		ea.out = ea.answer(o)
		ea.done = make(chan error, 1)
		go func() { ea.done <- ea.complete(ea.out) }()
	})
}

// result waits for the store started by give: the outcome stored and the
// store's error; ok is false when give was never called. Call it once,
// after run: no give counts after it.
func (ea *earlyAnswer) result() (out store.Outcome, ok bool, err error) {
	ea.once.Do(func() {})
	if ea.done == nil {
		return store.Outcome{}, false, nil
	}
	return ea.out, true, <-ea.done
}
