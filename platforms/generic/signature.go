package generic

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// The signature scheme, the same in both directions (shop → sidecar webhooks,
// sidecar → shop callbacks), each direction with its own secret:
//
//	X-Timestamp: <unix seconds>
//	X-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>
//
// The timestamp is inside the MAC: a timestamp header the MAC did not cover
// would not stop a replay, since anyone could rewrite it.
const (
	HeaderSignature = "X-Signature"
	HeaderTimestamp = "X-Timestamp"
	// DefaultTolerance is how far a request's timestamp may be from the
	// receiver's clock, either way. Five minutes absorbs clock skew and
	// queueing while keeping a captured request useless soon after.
	DefaultTolerance = 5 * time.Minute
)

var (
	errUnsigned = errors.New("no " + HeaderSignature + " or " + HeaderTimestamp + " header")
	errMismatch = errors.New("signature does not match the body")
)

// Sign returns the X-Signature value for body sent at ts.
func Sign(secret []byte, ts time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

// SignRequest sets both signature headers on h.
func SignRequest(h http.Header, secret []byte, ts time.Time, body []byte) {
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks the signature headers of a request whose body is body,
// received at now. Every failure is adapter.ErrUnauthenticated, with the
// reason: the shop's developer reads it when their integration is wrong.
func Verify(h http.Header, secret []byte, body []byte, now time.Time, tolerance time.Duration) error {
	sig, ts := h.Get(HeaderSignature), h.Get(HeaderTimestamp)
	if sig == "" || ts == "" {
		return fmt.Errorf("%w: %w", adapter.ErrUnauthenticated, errUnsigned)
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return fmt.Errorf("%w: %s must start with \"sha256=\"", adapter.ErrUnauthenticated, HeaderSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex: %w", adapter.ErrUnauthenticated, HeaderSignature, err)
	}
	// The MAC first, the clock second: a forged request learns nothing
	// about our clock.
	if !hmac.Equal(got, mac(secret, ts, body)) {
		return fmt.Errorf("%w: %w", adapter.ErrUnauthenticated, errMismatch)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not unix seconds: %q", adapter.ErrUnauthenticated, HeaderTimestamp, ts)
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: %s is %s away from now (tolerance %s): a replay or a wrong clock",
			adapter.ErrUnauthenticated, HeaderTimestamp, skew.Round(time.Second), tolerance)
	}
	return nil
}
