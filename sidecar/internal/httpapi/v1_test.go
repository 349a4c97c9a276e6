package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
)

// interruptedStore hands out claims whose earlier holder died mid-request.
type interruptedStore struct{ ran bool }

func (s *interruptedStore) Claim(_ context.Context, scope, key, fp string) (store.Claim, *store.Outcome, error) {
	return store.Claim{Scope: scope, Key: key, Fingerprint: fp, Token: 2, RecoveryPoint: "started"}, nil, nil
}
func (s *interruptedStore) Progress(context.Context, store.Claim, string) error { return nil }
func (s *interruptedStore) Complete(context.Context, store.Claim, store.Outcome) error {
	s.ran = true
	return nil
}
func (s *interruptedStore) Release(context.Context, store.Claim) error { return nil }

// panicEngine fails the test if the shop API calls the engine at all.
type panicEngine struct{ Engine }

func TestAnInterruptedRequestIsNotRunAgain(t *testing.T) {
	idem := &interruptedStore{}
	api := &API{log: testLogger(&logBuffer{}), m: metrics.New(), engine: panicEngine{}, idem: idem}
	srv := httptest.NewServer(NewPrivate(api.log, api.m, "", 1<<20, nil, api))
	t.Cleanup(srv.Close)

	a := do(t, http.MethodDelete, srv.URL+"/v1/charges/o1", "", "Idempotency-Key", "k1")
	if a.Status != http.StatusConflict || a.ErrorCode(t) != engine.CodeIdempotencyInterrupted {
		t.Fatalf("got %d %s, want 409 %s", a.Status, a.Body, engine.CodeIdempotencyInterrupted)
	}
	if !strings.Contains(a.Body, "look the order up") {
		t.Errorf("the answer does not tell the caller to look the order up: %s", a.Body)
	}
	if idem.ran {
		t.Error("an interrupted request's answer was stored: it ran again")
	}
}
