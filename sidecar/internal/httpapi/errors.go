package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/paylink"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// httpError is an error the HTTP layer itself raises, with its answer.
type httpError struct {
	status  int
	code    string
	message string
}

func (e *httpError) Error() string { return e.code + ": " + e.message }

// Errors raised by the HTTP layer.
var (
	errNotFound         = &httpError{http.StatusNotFound, "not_found", "no such route or resource"}
	errMethodNotAllowed = &httpError{http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route"}
	errUnauthorized     = &httpError{http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token"}
	// ErrNotImplemented answers an operation this sidecar runs without.
	ErrNotImplemented   = &httpError{http.StatusNotImplemented, "not_implemented", "not available: this sidecar runs without what the operation needs (see the configuration)"}
	errUnsupportedMedia = &httpError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send Content-Type: application/json"}
)

// errBodyTimeout is wrapped by a failure to read a request body within the
// listener's ReadTimeout: a slow or stalled client, not a fault of ours.
var errBodyTimeout = errors.New("the request body did not arrive within the read timeout")

// errBodyIncomplete is wrapped by a body cut short: the client closed the
// connection (or reset it) before sending what Content-Length announced. It
// is the client's doing: a 400 and a WARN, not a 500 and an ERROR.
var errBodyIncomplete = errors.New("the request body ended before its announced length")

// readBody reads the request body (already bounded by the listener's size
// limit), telling a body that did not arrive in time (errBodyTimeout: 408)
// from other failures. Only the body's own read is classed so: a timeout
// elsewhere (Redis, Trustly) is never the caller's fault.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(r)
	return b, bodyError(err)
}

// bodyError classes an error of reading a request body.
func bodyError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %w", errBodyTimeout, err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%w: %w", errBodyIncomplete, err)
	}
	return err
}

// errInvalidJSON wraps a body that does not decode.
func errInvalidJSON(err error) error {
	return &httpError{http.StatusBadRequest, "invalid_json", "request body is not valid JSON for this operation: " + err.Error()}
}

// errorTable maps the errors of the core to an answer: the one place where
// an error becomes a status code. Rows are tried in order (a row matches by
// errors.Is on err, by the engine's error code, or by its kind); the first
// match wins.
// An engine row without a code answers with the engine's own stable code
// and message. Codes are part of the API: never change one, only add.
var errorTable = []struct {
	err     error
	ecode   string // an engine.Error's Code
	kind    engine.Kind
	status  int
	code    string
	message string
	detail  bool // add err's own text to message
}{
	{err: store.ErrUnavailable, status: http.StatusServiceUnavailable, code: "unavailable", message: "a dependency (Redis) is unavailable; retry later"},
	{err: store.ErrInProgress, status: http.StatusConflict, code: "idempotency_key_in_use", message: "a request with this Idempotency-Key is in flight; retry later"},
	{err: store.ErrKeyReused, status: http.StatusUnprocessableEntity, code: "idempotency_key_reused", message: "this Idempotency-Key was used with other parameters"},
	{err: store.ErrInvalidKey, status: http.StatusBadRequest, code: "invalid_idempotency_key", message: "the Idempotency-Key is empty or too long"},
	{err: errBodyTimeout, status: http.StatusRequestTimeout, code: "request_timeout", message: "the request body did not arrive in time; send it again"},
	{err: errBodyIncomplete, status: http.StatusBadRequest, code: "incomplete_body", message: "the request body ended before its announced length; send it again"},
	{ecode: engine.CodeIdempotencyInterrupted, status: http.StatusConflict, code: "idempotency_key_interrupted",
		message: "an earlier request with this Idempotency-Key was cut off and its outcome is unknown; it is not run again: look the order up (GET /v1/payments?externalReference=... or ?messageId=...) and send a new request with a new key only if there is none"},
	{err: paylink.ErrUnsealable, status: http.StatusConflict, code: "paylink_unrecoverable",
		message: "the pay link was made by the first request with this Idempotency-Key, but its URL cannot be recovered (the merchant key changed since); make a new link with a new key"},
	{err: paylink.ErrNotFound, status: http.StatusNotFound, code: "paylink_not_found", message: "no such pay link (or it is past its retention)"},
	{err: paylink.ErrNotRevocable, status: http.StatusConflict, code: "paylink_not_revocable", message: "the pay link was paid or is being paid; it cannot be revoked (GET it for its status)"},
	{err: paylink.ErrBusy, status: http.StatusConflict, code: "paylink_busy", message: "a click on the pay link is starting a payment right now; retry in a few seconds"},
	// A notification that is not Trustly's: no signed reply, a 4xx.
	{err: trustly.ErrBadSignature, status: http.StatusBadRequest, code: "bad_signature", message: "the signature does not verify"},
	{err: trustly.ErrInvalidNotification, status: http.StatusBadRequest, code: "invalid_notification", message: "not a valid Trustly notification"},
	// A platform adapter's verdict on a webhook (Translate, Answer). Only
	// an authentic request's problem is detailed (detail: the adapter's text).
	{err: adapter.ErrUnauthenticated, status: http.StatusUnauthorized, code: "webhook_unauthenticated", message: "the platform's signature is missing, wrong or too old"},
	{err: adapter.ErrInvalid, status: http.StatusBadRequest, code: "webhook_invalid", message: "the platform's request is malformed", detail: true},
	{err: adapter.ErrUnsupported, status: http.StatusNotFound, code: "webhook_unsupported", message: "the platform adapter does not take this request"},
	{err: adapter.ErrPluginDead, status: http.StatusServiceUnavailable, code: "adapter_unavailable", message: "the platform adapter is not running or timed out; retry later"},
	{err: adapter.ErrRetryable, status: http.StatusServiceUnavailable, code: "adapter_unavailable", message: "the platform adapter is not running or timed out; retry later"},
	// The adapter could not read what it needs back from its platform (a
	// REST call refused): the platform's answer, not ours.
	{err: adapter.ErrPermanent, status: http.StatusBadGateway, code: "platform_refused", message: "the platform refused what the adapter asked of it", detail: true},
	// The engine's kinds (engine.Error; Code is its stable code).
	{kind: engine.KindInvalid, status: http.StatusBadRequest},
	{kind: engine.KindNotFound, status: http.StatusNotFound, code: "not_found", message: "no such order"},
	{kind: engine.KindConflict, status: http.StatusConflict},
	{kind: engine.KindUnavailable, status: http.StatusServiceUnavailable, code: "unavailable", message: "a dependency (Redis) is unavailable; retry later"},
	{kind: engine.KindUpstream, status: http.StatusBadGateway},
}

// errorAnswer says how to answer err: status, stable code and a message
// safe to show the caller. Unknown errors are 500 with a generic message;
// their text goes to the log only.
func errorAnswer(err error) (status int, code, message string) {
	var he *httpError
	var inv *shopapi.InvalidError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.code, he.message
	case errors.As(err, &inv):
		return http.StatusBadRequest, "invalid_request", inv.Message
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit)
	}
	var ee *engine.Error
	isEngine := errors.As(err, &ee)
	for _, row := range errorTable {
		switch {
		case row.err != nil && errors.Is(err, row.err),
			row.ecode != "" && isEngine && ee.Code == row.ecode:
			if row.detail {
				return row.status, row.code, row.message + ": " + err.Error()
			}
			return row.status, row.code, row.message
		case row.kind != "" && isEngine && ee.Kind == row.kind:
			if row.code != "" {
				return row.status, row.code, row.message
			}
			msg := ee.Message
			if ee.Code == engine.CodeInvalidRequest {
				msg = "invalid request: " + msg
			}
			if msg == "" {
				msg = strings.ReplaceAll(ee.Code, "_", " ")
			}
			return row.status, ee.Code, msg
		}
	}
	return http.StatusInternalServerError, "internal", "internal error; the request id identifies it in the logs"
}

// writeError answers err as JSON and returns the status it chose.
func writeError(w http.ResponseWriter, r *http.Request, err error) int {
	status, b := errorResponse(r, err)
	writeJSON(w, status, b)
	return status
}

// errorResponse is the status and JSON body answering err; err is noted
// as the request's cause for observe to log.
func errorResponse(r *http.Request, err error) (int, []byte) {
	noteError(r.Context(), err)
	status, code, message := errorAnswer(err)
	return status, marshalJSON(shopapi.ErrorBody{Error: shopapi.ErrorDetail{Code: code, Message: message, RequestID: RequestID(r.Context())}})
}

// encode writes v as the JSON answer.
func encode[T any](w http.ResponseWriter, status int, v T) {
	writeJSON(w, status, marshalJSON(v))
}

func marshalJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"error":{"code":"internal","message":"cannot encode the answer","request_id":""}}` + "\n")
	}
	return append(b, '\n')
}

// writeJSON writes a JSON answer. A failure to write means the client has
// gone; there is nobody left to tell.
func writeJSON(w http.ResponseWriter, status int, b []byte) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// A known length lets observe send the answer before its log line.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decode reads the request body as one JSON value of type T. The body is
// already bounded by the listener's size limit; unknown fields are refused so
// a misspelt field is a 400, not a silently ignored option.
func decode[T any](r *http.Request) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return v, errUnsupportedMedia
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return v, err
		}
		if err := bodyError(err); errors.Is(err, errBodyTimeout) {
			return v, err
		}
		return v, errInvalidJSON(err)
	}
	if dec.More() {
		return v, errInvalidJSON(errors.New("more than one JSON value"))
	}
	return v, nil
}
