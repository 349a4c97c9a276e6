package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// pointStarted is the recovery point a claim records before its request
// runs: a later claim that inherits it knows an earlier holder died while
// the request may have had effects.
const pointStarted = "started"

// IdempotentResult says what Idempotent did with a request.
type IdempotentResult struct {
	// Outcome is the outcome to answer with: the stored one when Replayed,
	// run's when Ran, zero when nothing ran.
	Outcome store.Outcome
	// Replayed: the request ran before; Outcome is what it stored.
	Replayed bool
	// Ran: run ran now; Outcome is its outcome, the error its error
	// (possibly joined with a failure to store or release the key).
	Ran bool
}

// Idempotent runs one mutating request under an idempotency key, with
// Stripe's semantics:
//
//   - the first request with a key runs; its outcome is stored for the
//     key's lifetime (24 h) and a repeat with the same fingerprint gets it
//     back with Replayed set (same code, same body);
//   - a repeat while the first runs gets an *Error with
//     CodeIdempotencyInProgress wrapping store.ErrInProgress; a repeat
//     with another fingerprint one with CodeIdempotencyKeyReused wrapping
//     store.ErrKeyReused;
//   - a request refused with no effect (run's error of KindInvalid,
//     KindNotFound or KindConflict that does not wrap
//     store.ErrUnavailable) releases the key, so the caller may fix the
//     request and send it again;
//   - anything else is stored, an outcome with an error too: a request
//     that may have had effects (a Deposit sent, a refund reserved) must
//     never run twice, and a store that was down cannot tell;
//   - a holder that died mid-run leaves the key to a later claim marked
//     interrupted: that request is not run again (its effects are unknown)
//     and gets an *Error with CodeIdempotencyInterrupted; the caller looks
//     the order up instead.
//
// Only the error decides between release and store: the outcome is the
// caller's and never read here.
//
// run gets a context that is cancelled if the claim is lost (another
// request took the key over after the lock lapsed). While run works, the
// claim's lock is extended at a third of its TTL.
//
// When the result has neither Replayed nor Ran, nothing ran and err says
// why (in flight, key reused, invalid key, interrupted, store down). When
// Ran is set, Outcome is run's outcome to answer with, also when err is set
// (run's error, possibly joined with a failure to store the outcome, after
// which a repeat is answered "in progress" until the lock lapses).
func Idempotent(ctx context.Context, idem store.Idempotency, scope, key, fingerprint string,
	run func(ctx context.Context) (store.Outcome, error)) (IdempotentResult, error) {
	return idempotent(ctx, idem, scope, key, fingerprint, nil, run)
}

// IdempotentOrder is Idempotent for a request that answers with the order
// it starts (CreatePayment, CreateMandate, CreateCharge): answer turns that
// order into the outcome to store and answer with. Once Trustly accepts
// the call, the outcome is stored beside the order's transition instead
// of after it (earlyAnswer); the result's Outcome is then the one stored,
// and run's own outcome is not used. A failure of the transition after
// that is logged by the engine and returned with the stored outcome: the
// shop gets the answer a repeat would get.
//
// Under WithOrderClaim, with run PreparePayment's step, a store that can
// (store.RedisIdempotency on one master) creates the payment's order in
// the claim's own script; only a fresh claim does.
func IdempotentOrder(ctx context.Context, idem store.Idempotency, scope, key, fingerprint string,
	answer func(Order) store.Outcome, run func(ctx context.Context) (store.Outcome, error)) (IdempotentResult, error) {
	return idempotent(ctx, idem, scope, key, fingerprint, answer, run)
}

func idempotent(ctx context.Context, idem store.Idempotency, scope, key, fingerprint string,
	answer func(Order) store.Outcome, run func(ctx context.Context) (store.Outcome, error)) (IdempotentResult, error) {
	// A store that records the point with the claim saves Progress's
	// round trip; the meaning is the same.
	claimAt, atOnce := idem.(interface {
		ClaimAt(ctx context.Context, scope, key, fingerprint, point string) (store.Claim, *store.Outcome, error)
	})
	c, stored, withOrder, err := claimCreating(ctx, idem, orderClaimFrom(ctx), scope, key, fingerprint)
	switch {
	case withOrder:
		atOnce = true // ClaimCreate records the point as ClaimAt does
	case atOnce:
		c, stored, err = claimAt.ClaimAt(ctx, scope, key, fingerprint, pointStarted)
	default:
		c, stored, err = idem.Claim(ctx, scope, key, fingerprint)
	}
	switch {
	case errors.Is(err, store.ErrInProgress):
		return IdempotentResult{}, errf(KindConflict, CodeIdempotencyInProgress, err, "a request with this idempotency key is in flight; retry later")
	case errors.Is(err, store.ErrKeyReused):
		return IdempotentResult{}, errf(KindInvalid, CodeIdempotencyKeyReused, err, "this idempotency key was used with other parameters")
	case errors.Is(err, store.ErrInvalidKey):
		return IdempotentResult{}, errf(KindInvalid, CodeInvalidRequest, err, "invalid idempotency key")
	case err != nil:
		return IdempotentResult{}, storeErr(err)
	case stored != nil:
		return IdempotentResult{Outcome: *stored, Replayed: true}, nil
	}
	if c.RecoveryPoint == pointStarted {
		// The claim is kept, not released: releasing would let the
		// request run a second time. It lapses with its lock.
		return IdempotentResult{}, errf(KindConflict, CodeIdempotencyInterrupted, nil,
			"an earlier request with this idempotency key was interrupted; its outcome is unknown: look the order up and use a new key")
	}
	// Stores and heartbeats must outlive a caller that went away: the
	// request ran, its outcome must be kept.
	bg := context.WithoutCancel(ctx)
	if !atOnce {
		if err := idem.Progress(bg, c, pointStarted); err != nil {
			_ = idem.Release(bg, c)
			return IdempotentResult{}, storeErr(err)
		}
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopBeat := sync.OnceFunc(heartbeat(bg, idem, c, cancel))
	var early *earlyAnswer
	if answer != nil {
		early = &earlyAnswer{answer: answer, before: stopBeat,
			complete: func(out store.Outcome) error { return idem.Complete(bg, c, out) }}
		if mk, ok := idem.(interface {
			CompleteAlong(store.Claim, store.Outcome) *store.Along
		}); ok {
			early.along = func(out store.Outcome) *store.Along { return mk.CompleteAlong(c, out) }
		}
		runCtx = withEarlyAnswer(runCtx, early)
	}
	out, runErr := func() (store.Outcome, error) {
		defer stopBeat()
		return run(runCtx)
	}()
	res := IdempotentResult{Outcome: out, Ran: true}
	if early != nil {
		if stored, ok, err := early.result(); ok {
			// Trustly accepted the call: whatever run says now, what
			// was stored is the answer, and the key is never released.
			res.Outcome = stored
			if err != nil {
				return res, errors.Join(runErr, fmt.Errorf("engine: idempotency: store the outcome: %w", err))
			}
			return res, runErr
		}
	}

	if runErr != nil && retrySafe(runErr) {
		if err := idem.Release(bg, c); err != nil {
			return res, errors.Join(runErr, fmt.Errorf("engine: idempotency: release: %w", err))
		}
		return res, runErr
	}
	if err := idem.Complete(bg, c, out); err != nil {
		return res, errors.Join(runErr, fmt.Errorf("engine: idempotency: store the outcome: %w", err))
	}
	return res, runErr
}

// retrySafe reports a failure after which the request certainly had no
// effect: our own refusal, Trustly's definite one, or a store failure
// before anything was sent to Trustly (ErrNothingSent: an order half
// written then is never started, and the retry makes a new one). Any other
// error wrapping store.ErrUnavailable is not, whatever its kind: the store
// failed during the request, so what was written is not known.
func retrySafe(err error) bool {
	if errors.Is(err, ErrNothingSent) {
		return true
	}
	if errors.Is(err, store.ErrUnavailable) {
		return false
	}
	switch KindOf(err) {
	case KindInvalid, KindNotFound, KindConflict:
		return true
	}
	return false
}

// heartbeat extends c's lock at a third of its TTL until the returned stop
// is called; a lost claim cancels the run with the store's error.
func heartbeat(ctx context.Context, idem store.Idempotency, c store.Claim, cancel context.CancelCauseFunc) (stop func()) {
	every := store.DefaultLockTTL / 3
	if l, ok := idem.(interface{ LockTTL() time.Duration }); ok && l.LockTTL() > 0 {
		every = l.LockTTL() / 3
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, every)
			err := idem.Progress(pctx, c, "")
			pcancel()
			if errors.Is(err, store.ErrFenced) {
				cancel(err)
				return
			}
			// Any other failure (Redis away for a moment): the next beat
			// tries again, still well within the lock.
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
