package vendure

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// One secret is shared by the sidecar and the Vendure plugin, and signs
// both directions:
//
//	Trustly-Sidecar-Timestamp: <unix seconds>
//	Trustly-Sidecar-Signature: sha256=<hex HMAC-SHA256(secret, direction + "." + timestamp + "." + raw body)>
//
// The direction ("callback": sidecar → Vendure, "webhook": Vendure →
// sidecar) is inside the MAC, so a request captured in one direction cannot
// be reflected back in the other. The timestamp is inside it too: a replay
// window over a header the MAC did not cover would stop nobody.
const (
	HeaderSignature = "Trustly-Sidecar-Signature"
	HeaderTimestamp = "Trustly-Sidecar-Timestamp"

	DirectionCallback = "callback"
	DirectionWebhook  = "webhook"

	// DefaultTolerance is how far a request's timestamp may be from the
	// receiver's clock either way: clock skew and queueing, no more.
	DefaultTolerance = 5 * time.Minute
)

// Sign returns the signature header value for body sent at ts.
func Sign(secret []byte, direction string, ts time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, direction, strconv.FormatInt(ts.Unix(), 10), body))
}

// SignRequest sets both signature headers on h.
func SignRequest(h http.Header, secret []byte, direction string, ts time.Time, body []byte) {
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(secret, direction, ts, body))
}

func mac(secret []byte, direction, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(direction))
	m.Write([]byte("."))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks the signature headers of a request in direction whose body
// is body, received at now. Every failure is adapter.ErrUnauthenticated.
func Verify(h http.Header, secret []byte, direction string, body []byte, now time.Time, tolerance time.Duration) error {
	sig, ts := h.Get(HeaderSignature), h.Get(HeaderTimestamp)
	if sig == "" || ts == "" {
		return fmt.Errorf("%w: no %s or %s header", adapter.ErrUnauthenticated, HeaderSignature, HeaderTimestamp)
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil || !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("%w: %s is not sha256=<hex>", adapter.ErrUnauthenticated, HeaderSignature)
	}
	// The MAC before the clock: a forger learns nothing about our clock.
	if !hmac.Equal(got, mac(secret, direction, ts, body)) {
		return fmt.Errorf("%w: signature does not match the body", adapter.ErrUnauthenticated)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not unix seconds", adapter.ErrUnauthenticated, HeaderTimestamp)
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: %s is %s away from now (tolerance %s): a replay or a wrong clock",
			adapter.ErrUnauthenticated, HeaderTimestamp, skew.Round(time.Second), tolerance)
	}
	return nil
}
