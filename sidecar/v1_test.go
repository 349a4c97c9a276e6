package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// interruptedStore hands out claims whose earlier holder died mid-request.
type interruptedStore struct{ ran bool }

func (s *interruptedStore) Claim(_ context.Context, scope, key, fp string) (store.Claim, *store.StoredResponse, error) {
	return store.Claim{Scope: scope, Key: key, Fingerprint: fp, Token: 2, RecoveryPoint: "started"}, nil, nil
}
func (s *interruptedStore) Progress(context.Context, store.Claim, string) error { return nil }
func (s *interruptedStore) Complete(context.Context, store.Claim, store.StoredResponse) error {
	s.ran = true
	return nil
}
func (s *interruptedStore) Release(context.Context, store.Claim) error { return nil }

// panicEngine fails the test if the shop API calls the engine at all.
type panicEngine struct{ shopEngine }

func TestAnInterruptedRequestIsNotRunAgain(t *testing.T) {
	idem := &interruptedStore{}
	api := &v1API{log: testLogger(&logBuffer{}), m: NewMetrics(), engine: panicEngine{}, idem: idem}
	srv := httptest.NewServer(newPrivateServer(api.log, api.m, "", 1<<20, nil, api))
	t.Cleanup(srv.Close)

	a := do(t, http.MethodDelete, srv.URL+"/v1/charges/o1", "", "Idempotency-Key", "k1")
	if a.status != http.StatusConflict || a.errorCode(t) != engine.CodeIdempotencyInterrupted {
		t.Fatalf("got %d %s, want 409 %s", a.status, a.body, engine.CodeIdempotencyInterrupted)
	}
	if !strings.Contains(a.body, "look the order up") {
		t.Errorf("the answer does not tell the caller to look the order up: %s", a.body)
	}
	if idem.ran {
		t.Error("an interrupted request's answer was stored: it ran again")
	}
}
