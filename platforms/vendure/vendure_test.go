package vendure_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/vendure"
)

// The vector is checked by the Go and the TypeScript side alike, so the two
// implementations of the scheme cannot drift apart.
func TestSignatureVector(t *testing.T) {
	b, err := os.ReadFile("testdata/signature-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Secret, Direction, Body, Signature string
		Timestamp                          int64
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	got := vendure.Sign([]byte(v.Secret), v.Direction, time.Unix(v.Timestamp, 0), []byte(v.Body))
	if got != v.Signature {
		t.Fatalf("signature %s, vector says %s", got, v.Signature)
	}
}

func TestVerifyRefuses(t *testing.T) {
	at := time.Unix(1772366400, 0)
	body := []byte(`{"event":"ping"}`)
	good := http.Header{}
	vendure.SignRequest(good, secret, vendure.DirectionWebhook, at, body)
	for _, tc := range []struct {
		name      string
		h         http.Header
		direction string
		now       time.Time
	}{
		{"the other direction's signature (reflection)", good, vendure.DirectionCallback, at},
		{"too old", good, vendure.DirectionWebhook, at.Add(6 * time.Minute)},
		{"from the future", good, vendure.DirectionWebhook, at.Add(-6 * time.Minute)},
		{"no prefix", http.Header{vendure.HeaderTimestamp: good[vendure.HeaderTimestamp],
			vendure.HeaderSignature: {good.Get(vendure.HeaderSignature)[len("sha256="):]}}, vendure.DirectionWebhook, at},
		{"unsigned", http.Header{}, vendure.DirectionWebhook, at},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := vendure.Verify(tc.h, secret, tc.direction, body, tc.now, vendure.DefaultTolerance)
			if !errors.Is(err, adapter.ErrUnauthenticated) {
				t.Fatalf("got %v", err)
			}
		})
	}
	if err := vendure.Verify(good, secret, vendure.DirectionWebhook, body, at.Add(4*time.Minute), vendure.DefaultTolerance); err != nil {
		t.Fatalf("a good request within tolerance: %v", err)
	}
}

// Each status from the controller has one outcome.
func TestApplyStatusClasses(t *testing.T) {
	for code, want := range map[int]adapter.Class{
		200: adapter.ClassNone, 204: adapter.ClassNone,
		408: adapter.ClassRetryable, 409: adapter.ClassRetryable, 429: adapter.ClassRetryable,
		500: adapter.ClassRetryable, 502: adapter.ClassRetryable, 503: adapter.ClassRetryable,
		400: adapter.ClassPermanent, 401: adapter.ClassPermanent, 404: adapter.ClassPermanent,
		422: adapter.ClassPermanent, 301: adapter.ClassPermanent,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "https://elsewhere.example/")
			w.WriteHeader(code)
		}))
		a, err := vendure.New(vendure.Config{CallbackURL: srv.URL, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		err = a.ApplyStatus(context.Background(), adapter.StatusChange{ID: "pay_01:1", Order: adapter.Order{ID: "pay_01"}, Status: adapter.StatusPending})
		if got := adapter.Classify(err); got != want {
			t.Errorf("%d: class %v (%v), want %v", code, got, err, want)
		}
		srv.Close()
	}
	// Vendure not listening at all: retryable, it will come back.
	a, _ := vendure.New(vendure.Config{CallbackURL: "http://127.0.0.1:1/trustly/status", Secret: secret})
	err := a.ApplyStatus(context.Background(), adapter.StatusChange{ID: "pay_01:1", Order: adapter.Order{ID: "pay_01"}, Status: adapter.StatusPending})
	if adapter.Classify(err) != adapter.ClassRetryable {
		t.Fatalf("connection refused: %v", err)
	}
}

// The callback carries what the plugin needs: the payment (the Vendure
// Payment's transactionId) and, for a refund, the refund's id taken from
// the change id.
func TestCallbackBody(t *testing.T) {
	var got vendure.Callback
	var key string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := vendure.Verify(r.Header, secret, vendure.DirectionCallback, body, time.Now(), time.Minute); err != nil {
			t.Error(err)
		}
		key = r.Header.Get(vendure.HeaderIdempotencyKey)
		_ = json.Unmarshal(body, &got)
	}))
	defer srv.Close()
	a, _ := vendure.New(vendure.Config{CallbackURL: srv.URL, Secret: secret})
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	err := a.ApplyStatus(context.Background(), adapter.StatusChange{
		ID: "ref:07:4", Order: adapter.Order{ID: "pay_01"}, Status: adapter.StatusRefundFailed,
		Amount: adapter.Money{Minor: 5000, Currency: "SEK"}, Message: "The refund of 50.00 SEK failed", OccurredAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := vendure.Callback{ChangeID: "ref:07:4", PaymentID: "pay_01", RefundID: "ref:07", Status: "refund-failed",
		AmountMinor: 5000, Currency: "SEK", Message: "The refund of 50.00 SEK failed", OccurredAt: "2026-03-01T11:00:00Z"}
	if got != want || key != "ref:07:4" {
		t.Fatalf("callback %+v (key %q), want %+v", got, key, want)
	}
	// A payment's change names no refund.
	got = vendure.Callback{}
	if err := a.ApplyStatus(context.Background(), adapter.StatusChange{ID: "pay_01:2", Order: adapter.Order{ID: "pay_01"}, Status: adapter.StatusPaid}); err != nil {
		t.Fatal(err)
	}
	if got.RefundID != "" {
		t.Fatalf("refund id %q on a payment change", got.RefundID)
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{vendure.EnvCallbackURL: "http://127.0.0.1:3000/trustly/status", vendure.EnvSecret: "short"}
	if _, err := vendure.FromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
	f := t.TempDir() + "/secret"
	if err := os.WriteFile(f, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	env = map[string]string{vendure.EnvCallbackURL: "http://127.0.0.1:3000/trustly/status", vendure.EnvSecret + "_FILE": f}
	c, err := vendure.FromEnv(func(k string) string { return env[k] })
	if err != nil || string(c.Secret) != string(secret) {
		t.Fatalf("from a file: %v %q", err, c.Secret)
	}
	env[vendure.EnvCallbackURL] = "ftp://x"
	if _, err := vendure.FromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("an ftp callback URL was accepted")
	}
}
