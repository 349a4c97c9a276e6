package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// idempotent runs work once under key with the engine's Stripe semantics
// (engine.Idempotent) and speaks HTTP about it: the answer's status is kept
// as the outcome's code (decimal text, as records of earlier versions hold
// it), its JSON as the body. A status of 0 means nothing ran (in flight, the
// key reused or interrupted, the store down): answer err. Otherwise status
// and body are the answer, replayed or fresh, also when err is set, unless
// err says the replicas did not acknowledge a write: then status is 0.
//
// answer, when set, is work's answer for the order it starts
// (orderOutcome): the engine may then store it before work returns
// (engine.IdempotentOrder), and the stored answer is the answer.
func idempotent(ctx context.Context, idem store.Idempotency, scope, key, fingerprint string,
	answer func(engine.Order) store.Outcome,
	work func(ctx context.Context) (status int, body []byte, err error)) (status int, body []byte, replayed bool, err error) {
	run := func(ctx context.Context) (store.Outcome, error) {
		status, body, err := work(ctx)
		return store.Outcome{Code: strconv.Itoa(status), Body: body}, err
	}
	var res engine.IdempotentResult
	if answer != nil {
		res, err = engine.IdempotentOrder(ctx, idem, scope, key, fingerprint, answer, run)
	} else {
		res, err = engine.Idempotent(ctx, idem, scope, key, fingerprint, run)
	}
	if !res.Replayed && !res.Ran {
		return 0, nil, false, err
	}
	if res.Ran && errors.Is(err, store.ErrNotReplicated) {
		// The request ran but its outcome (or a step of it) is on the
		// master only: a failover now would lose the record, and a repeat
		// would not get this answer. Answered 503 instead; the caller's
		// retry gets the stored answer once the replicas have it
		// (core/store/LAYOUT.md, "Replication").
		return 0, nil, false, err
	}
	return statusOf(res.Outcome), res.Outcome.Body, res.Replayed, err
}

// statusOf is the HTTP status an outcome was stored with; anything else
// (a record this sidecar did not write) is a 500 rather than a guess.
func statusOf(o store.Outcome) int {
	n, err := strconv.Atoi(o.Code)
	if err != nil || n < 100 || n > 599 {
		return 500
	}
	return n
}

// orderOutcome is the outcome of a request that answers with the order it
// started: 201 and the order (created).
func orderOutcome(o engine.Order) store.Outcome {
	return store.Outcome{Code: strconv.Itoa(http.StatusCreated), Body: marshalJSON(shopapi.OrderOf(o))}
}
