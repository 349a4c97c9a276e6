package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
)

// freshStore hands out fresh claims, or fails them with claimErr.
type freshStore struct{ claimErr error }

func (s *freshStore) Claim(_ context.Context, scope, key, fp string) (store.Claim, *store.Outcome, error) {
	if s.claimErr != nil {
		return store.Claim{}, nil, s.claimErr
	}
	return store.Claim{Scope: scope, Key: key, Fingerprint: fp, Token: 1}, nil, nil
}
func (s *freshStore) Progress(context.Context, store.Claim, string) error        { return nil }
func (s *freshStore) Complete(context.Context, store.Claim, store.Outcome) error { return nil }
func (s *freshStore) Release(context.Context, store.Claim) error                 { return nil }

// failingEngine fails every payment with err.
type failingEngine struct {
	Engine
	err error
}

func (e failingEngine) PreparePayment(context.Context, engine.PaymentRequest) func(context.Context) (engine.Order, error) {
	return func(context.Context) (engine.Order, error) { return engine.Order{}, e.err }
}

// logRecords parses the JSON log lines, once observe's line of the request
// is among them: observe logs after it has sent the answer.
func logRecords(t *testing.T, logs *logBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.Await(`"msg":"http request"`)))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, rec)
	}
	return out
}

// Every 5xx is logged at ERROR with its cause and the request id; a 4xx is
// not logged at ERROR.
func TestServerErrorsAreLoggedWithTheirCause(t *testing.T) {
	readOnly := errors.New("READONLY You can't write against a read only replica.")
	tests := []struct {
		name      string
		engineErr error // the engine's answer to CreatePayment
		claimErr  error // the idempotency store's answer to Claim
		status    int
		cause     string // in the ERROR record's err; "" no ERROR record
	}{
		{name: "an unmapped error", engineErr: errors.New("engine: the disk is on fire"), status: 500, cause: "the disk is on fire"},
		{name: "Redis refuses the order's write", engineErr: fmt.Errorf("store: create order: %w", readOnly), status: 500, cause: "create order: READONLY"},
		{name: "Redis refuses the idempotency claim", claimErr: fmt.Errorf("store: idempotency claim: %w", readOnly), status: 500, cause: "idempotency claim: READONLY"},
		{name: "Redis down", engineErr: fmt.Errorf("store: create order: %w", store.ErrUnavailable), status: 503, cause: "create order"},
		{name: "the caller's mistake", engineErr: &engine.Error{Kind: engine.KindInvalid, Code: engine.CodeInvalidRequest, Message: "Amount: required"}, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			api := &API{log: testLogger(logs), m: metrics.New(), engine: failingEngine{err: tt.engineErr}, idem: &freshStore{claimErr: tt.claimErr}}
			srv := httptest.NewServer(NewPrivate(api.log, api.m, testToken, 1<<20, nil, api))
			t.Cleanup(srv.Close)

			a := do(t, http.MethodPost, srv.URL+"/v1/payments", `{"amount":100,"currency":"SEK"}`,
				"Idempotency-Key", "k1", "X-Request-Id", "req-42", "Authorization", "Bearer "+testToken)
			if a.Status != tt.status {
				t.Fatalf("status %d %s, want %d", a.Status, a.Body, tt.status)
			}
			var errRecs []map[string]any
			for _, rec := range logRecords(t, logs) {
				if rec["level"] == "ERROR" {
					errRecs = append(errRecs, rec)
				}
			}
			if tt.cause == "" {
				if len(errRecs) != 0 {
					t.Errorf("a %d was logged at ERROR: %v", tt.status, errRecs)
				}
				return
			}
			if len(errRecs) != 1 {
				t.Fatalf("%d ERROR records, want exactly one:\n%s", len(errRecs), logs)
			}
			rec := errRecs[0]
			if cause, _ := rec["err"].(string); !strings.Contains(cause, tt.cause) {
				t.Errorf("err = %q, want the cause %q", rec["err"], tt.cause)
			}
			if rec["request_id"] != "req-42" || rec["status"] != float64(tt.status) {
				t.Errorf("record %v lacks request_id req-42 or status %d", rec, tt.status)
			}
			if strings.Contains(logs.String(), testToken) {
				t.Error("the log holds the bearer token")
			}
		})
	}
}

// A notification the sidecar fails to apply (5xx) is logged with its cause
// at ERROR once; one it refuses (4xx) only at WARN.
func TestNotificationFailuresAreLoggedWithTheirCause(t *testing.T) {
	for _, tt := range []struct {
		name  string
		err   error
		level string
	}{
		{"a bug", errors.New("engine: apply: nil map"), "ERROR"},
		{"Redis down", fmt.Errorf("engine: apply: %w", store.ErrUnavailable), "ERROR"},
		{"not Trustly's", fmt.Errorf("engine: %w", trustly.ErrBadSignature), "WARN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, logs := startPublic(t, notificationFunc(func(context.Context, []byte) ([]byte, error) { return nil, tt.err }))
			do(t, http.MethodPost, srv.URL+"/trustly/notifications/"+testSecret, credit, "X-Request-Id", "req-7")
			var found, errs int
			for _, rec := range logRecords(t, logs) {
				if rec["level"] == "ERROR" {
					errs++
				}
				if cause, _ := rec["err"].(string); cause == tt.err.Error() && rec["level"] == tt.level && rec["request_id"] == "req-7" {
					found++
				}
			}
			if found != 1 || (tt.level != "ERROR" && errs != 0) {
				t.Errorf("want the cause once at %s with the request id (and no ERROR for a refusal):\n%s", tt.level, logs)
			}
		})
	}
}
