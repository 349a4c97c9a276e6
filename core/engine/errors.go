package engine

import (
	"errors"
	"fmt"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// Kind groups errors by what the caller should do; a transport maps a Kind
// to its own answer (an HTTP status, say) in one place.
type Kind string

// Kinds.
const (
	KindInvalid     Kind = "invalid"     // the request is wrong: fix it
	KindNotFound    Kind = "not_found"   // no such order
	KindConflict    Kind = "conflict"    // not possible in the order's state
	KindUnavailable Kind = "unavailable" // Redis is down; retry later
	KindUpstream    Kind = "upstream"    // Trustly refused or could not be reached
	KindInternal    Kind = "internal"    // a bug
)

// Error is the engine's error for shop-facing calls: a stable machine Code
// (e.g. "amount_exceeds_refundable"), its Kind and a message for people.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	s := "engine: " + e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Stable error codes.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeNotFound                = "not_found"
	CodeNotPending              = "not_pending"
	CodeNotRefundable           = "not_refundable"
	CodeAmountExceedsRefundable = "amount_exceeds_refundable"
	CodeBalanceInsufficient     = "balance_insufficient"
	CodeNoActiveMandate         = "no_active_mandate"
	CodeChargeRejected          = "charge_rejected"
	CodeCancelRejected          = "cancel_rejected"
	CodeNotCancellable          = "not_cancellable"
	CodeTrustlyRejected         = "trustly_rejected"
	CodeOutcomeUnknown          = "outcome_unknown"
	CodeStoreUnavailable        = "store_unavailable"
	CodeNotificationRejected    = "notification_rejected"
	CodeIdempotencyInProgress   = "idempotency_key_in_use"
	CodeIdempotencyKeyReused    = "idempotency_key_reused"
	CodeIdempotencyInterrupted  = "idempotency_key_interrupted"
	CodeInternal                = "internal"
)

// KindOf returns err's Kind: an *Error's own, KindUnavailable for anything
// wrapping store.ErrUnavailable, else KindInternal.
func KindOf(err error) Kind {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Kind
	case errors.Is(err, store.ErrUnavailable):
		return KindUnavailable
	}
	return KindInternal
}

func errf(kind Kind, code string, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// storeErr classifies an error from the store.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrUnavailable):
		return &Error{Kind: KindUnavailable, Code: CodeStoreUnavailable, Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &Error{Kind: KindNotFound, Code: CodeNotFound, Err: err}
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: KindInternal, Code: CodeInternal, Err: err}
}

// ErrNothingSent marks a failure before anything was sent to Trustly (the
// store failed while the order was being written): the request had no
// effect at Trustly, so its idempotency key is given back and a retry
// with the same key runs again, instead of replaying the failure for the
// key's lifetime (after a Redis failover, that was a 503 for 24 h).
var ErrNothingSent = errors.New("engine: nothing was sent to Trustly")

func beforeCall(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (%w)", err, ErrNothingSent)
}
