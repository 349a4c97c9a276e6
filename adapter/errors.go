package adapter

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors an adapter returns (wrapped, with detail: fmt.Errorf("%w: ...",
// ErrUnauthenticated)) and the host branches on. They survive the process
// boundary: errors.Is works on the host side too.
var (
	// ErrUnauthenticated: the platform request's signature is missing,
	// wrong, or outside its replay window. The host answers 401.
	ErrUnauthenticated = errors.New("request not authenticated")
	// ErrInvalid: the request is authentic but malformed. The host answers
	// 400 and does not expect the platform to fix it by resending.
	ErrInvalid = errors.New("invalid request")
	// ErrRetryable: the platform is down, busy or timed out; the same call
	// may succeed later.
	ErrRetryable = errors.New("retryable failure")
	// ErrPermanent: the platform refused; retrying will not help and the
	// host dead-letters the delivery.
	ErrPermanent = errors.New("permanent failure")
	// ErrUnsupported: the adapter does not do this (e.g. Answer on an
	// asynchronous platform).
	ErrUnsupported = errors.New("not supported by this adapter")
)

// Host-side errors: what a call through the plugin boundary can fail with
// besides the adapter's own errors.
var (
	// ErrPluginDead: the plugin process is not running (crashed, being
	// restarted, or never started). Calls fail fast with it rather than
	// waiting; it is also ErrRetryable.
	ErrPluginDead = errors.New("adapter plugin is not running")
	// ErrIncompatible: the plugin speaks a protocol version this host does
	// not. Restarting cannot fix it; the adapter must be rebuilt.
	ErrIncompatible = errors.New("adapter plugin speaks an incompatible protocol version")
)

// Class is the classification of an adapter error, as the host sees it.
type Class int

// The classes, in the order a host checks them.
const (
	ClassNone            Class = iota // nil error: done
	ClassUnauthenticated              // ErrUnauthenticated
	ClassInvalid                      // ErrInvalid
	ClassUnsupported                  // ErrUnsupported
	ClassPermanent                    // ErrPermanent
	ClassRetryable                    // ErrRetryable, ErrPluginDead, a deadline, a cancellation
	ClassUnknown                      // none of the above: a bug in the adapter; retried
)

var classNames = [...]string{"none", "unauthenticated", "invalid", "unsupported", "permanent", "retryable", "unknown"}

func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return fmt.Sprintf("Class(%d)", int(c))
	}
	return classNames[c]
}

// Classify tells which of the sentinel errors err is. A deadline or a
// cancellation is retryable: a status change is idempotent, so resending one
// whose fate is unknown is safe.
func Classify(err error) Class {
	switch {
	case err == nil:
		return ClassNone
	case errors.Is(err, ErrUnauthenticated):
		return ClassUnauthenticated
	case errors.Is(err, ErrInvalid):
		return ClassInvalid
	case errors.Is(err, ErrUnsupported):
		return ClassUnsupported
	case errors.Is(err, ErrPermanent), errors.Is(err, ErrIncompatible):
		return ClassPermanent
	case errors.Is(err, ErrRetryable), errors.Is(err, ErrPluginDead),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ClassRetryable
	}
	return ClassUnknown
}

// The wire mapping: one table each way, so a reader checks a class by
// finding a row.
var classCodes = map[Class]codes.Code{
	ClassUnauthenticated: codes.Unauthenticated,
	ClassInvalid:         codes.InvalidArgument,
	ClassUnsupported:     codes.Unimplemented,
	ClassPermanent:       codes.FailedPrecondition,
	ClassRetryable:       codes.Unavailable,
	ClassUnknown:         codes.Unknown,
}

var codeErrors = map[codes.Code]error{
	codes.Unauthenticated:    ErrUnauthenticated,
	codes.InvalidArgument:    ErrInvalid,
	codes.Unimplemented:      ErrUnsupported,
	codes.FailedPrecondition: ErrPermanent,
	codes.Unavailable:        ErrRetryable,
}

// toStatus turns an adapter's error into a gRPC status carrying its class.
// A context error keeps its own code so the host sees a deadline as one.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(classCodes[Classify(err)], err.Error())
}

// remoteError is an adapter error received over gRPC: its text is the
// adapter's, and it unwraps to the sentinels its status code stands for.
type remoteError struct {
	msg  string
	errs []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.errs }

// fromStatus is toStatus's inverse, on the host side. Errors without a gRPC
// status (none are expected from a gRPC client) pass through unchanged.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := "adapter: " + st.Message()
	switch st.Code() {
	case codes.DeadlineExceeded:
		return &remoteError{msg: msg, errs: []error{context.DeadlineExceeded, ErrRetryable}}
	case codes.Canceled:
		return &remoteError{msg: msg, errs: []error{context.Canceled, ErrRetryable}}
	}
	if sentinel, ok := codeErrors[st.Code()]; ok {
		return &remoteError{msg: msg, errs: []error{sentinel}}
	}
	return &remoteError{msg: msg}
}
