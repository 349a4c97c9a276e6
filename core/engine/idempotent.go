package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// pointStarted is the recovery point a claim records before its request
// runs: a later claim that inherits it knows an earlier holder died while
// the request may have had effects.
const pointStarted = "started"

// Idempotent runs one mutating shop request under an idempotency key, with
// Stripe's semantics:
//
//   - the first request with a key runs; its response is stored for the
//     key's lifetime (24 h) and a repeat with the same fingerprint gets it
//     back with replayed set (same status, same body);
//   - a repeat while the first runs gets an *Error with
//     CodeIdempotencyInProgress wrapping store.ErrInProgress (409); a repeat
//     with another fingerprint one with CodeIdempotencyKeyReused wrapping
//     store.ErrKeyReused (422);
//   - a request refused with no effect (run's error of KindInvalid,
//     KindNotFound or KindConflict, with a status below 500) releases the
//     key, so the caller may fix the request and send it again;
//   - anything else is stored, also a 5xx or an unknown outcome: a request
//     that may have had effects (a Deposit sent, a refund reserved) must
//     never run twice;
//   - a holder that died mid-run leaves the key to a later claim marked
//     interrupted: that request is not run again (its effects are unknown)
//     and gets an *Error with CodeIdempotencyInterrupted; the shop looks
//     the order up instead.
//
// run gets a context that is cancelled if the claim is lost (another
// request took the key over after the lock lapsed). While run works, the
// claim's lock is extended at a third of its TTL.
//
// A status of 0 means there is no response to send: map err. Otherwise
// status and body are the response to send, also when err is set (run's
// error, possibly joined with a failure to store the response, after which
// a repeat is answered "in progress" until the lock lapses).
func Idempotent(ctx context.Context, idem store.Idempotency, scope, key, fingerprint string,
	run func(ctx context.Context) (status int, body []byte, err error)) (status int, body []byte, replayed bool, err error) {
	c, stored, err := idem.Claim(ctx, scope, key, fingerprint)
	switch {
	case errors.Is(err, store.ErrInProgress):
		return 0, nil, false, errf(KindConflict, CodeIdempotencyInProgress, err, "a request with this idempotency key is in flight; retry later")
	case errors.Is(err, store.ErrKeyReused):
		return 0, nil, false, errf(KindInvalid, CodeIdempotencyKeyReused, err, "this idempotency key was used with other parameters")
	case errors.Is(err, store.ErrInvalidKey):
		return 0, nil, false, errf(KindInvalid, CodeInvalidRequest, err, "invalid idempotency key")
	case err != nil:
		return 0, nil, false, storeErr(err)
	case stored != nil:
		return stored.Status, stored.Body, true, nil
	}
	if c.RecoveryPoint == pointStarted {
		// The claim is kept, not released: releasing would let the
		// request run a second time. It lapses with its lock.
		return 0, nil, false, errf(KindConflict, CodeIdempotencyInterrupted, nil,
			"an earlier request with this idempotency key was interrupted; its outcome is unknown: look the order up and use a new key")
	}
	// Stores and heartbeats must outlive a caller that went away: the
	// request ran, its outcome must be kept.
	bg := context.WithoutCancel(ctx)
	if err := idem.Progress(bg, c, pointStarted); err != nil {
		_ = idem.Release(bg, c)
		return 0, nil, false, storeErr(err)
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopBeat := heartbeat(bg, idem, c, cancel)
	status, body, runErr := func() (int, []byte, error) {
		defer stopBeat()
		return run(runCtx)
	}()

	if runErr != nil && retrySafe(runErr, status) {
		if err := idem.Release(bg, c); err != nil {
			return status, body, false, errors.Join(runErr, fmt.Errorf("engine: idempotency: release: %w", err))
		}
		return status, body, false, runErr
	}
	if status == 0 {
		status = 500
	}
	if err := idem.Complete(bg, c, store.StoredResponse{Status: status, Body: body}); err != nil {
		return status, body, false, errors.Join(runErr, fmt.Errorf("engine: idempotency: store the response: %w", err))
	}
	return status, body, false, runErr
}

// retrySafe reports a failure after which the request certainly had no
// effect: our own refusal, or Trustly's definite one.
func retrySafe(err error, status int) bool {
	switch KindOf(err) {
	case KindInvalid, KindNotFound, KindConflict:
		return status < 500
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
