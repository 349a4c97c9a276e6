package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// completeStore claims every key and fails Complete with err.
type completeStore struct{ err error }

func (s completeStore) Claim(_ context.Context, scope, key, fp string) (store.Claim, *store.Outcome, error) {
	return store.Claim{Scope: scope, Key: key, Fingerprint: fp, Token: 1}, nil, nil
}
func (completeStore) Progress(context.Context, store.Claim, string) error { return nil }
func (s completeStore) Complete(context.Context, store.Claim, store.Outcome) error {
	return s.err
}
func (completeStore) Release(context.Context, store.Claim) error { return nil }

// A 201 whose stored record the replicas did not acknowledge is not given:
// the shop gets no answer (503) and its retry replays the stored one. Other
// failures to store keep today's answer.
func TestAnAnswerNotReplicatedIsNotGiven(t *testing.T) {
	for _, tt := range []struct {
		name       string
		err        error
		wantStatus int
	}{
		{"stored and replicated", nil, http.StatusCreated},
		{"not replicated", fmt.Errorf("store: complete: %w", store.ErrNotReplicated), 0},
		{"store down", fmt.Errorf("store: complete: %w", store.ErrUnavailable), http.StatusCreated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, replayed, err := idempotent(t.Context(), completeStore{tt.err}, "v1", "k", "fp", nil,
				func(context.Context) (int, []byte, error) { return http.StatusCreated, []byte(`{}`), nil })
			if status != tt.wantStatus || replayed {
				t.Fatalf("status %d replayed %t, want %d", status, replayed, tt.wantStatus)
			}
			if tt.wantStatus == 0 && !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("error %v does not say unavailable (503)", err)
			}
		})
	}
}
