package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

// TRUSTLY_SIDECAR_RETENTION reaches the store serve runs on: a payment
// awaiting its outcome has no TTL, a paid one the retention.
func TestServeAppliesTheRetention(t *testing.T) {
	const retention = 2160 * time.Hour
	s := startShopEnv(t, map[string]string{config.Key("RETENTION"): "2160h"})
	keys, err := store.NewKeys(s.prefix)
	if err != nil {
		t.Fatal(err)
	}
	p := s.order(s.call(http.MethodPost, "/v1/payments", "ret-1", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	key := keys.Order(p.ID).Order
	if d := s.rdb.PTTL(t.Context(), key).Val(); d != -1 {
		t.Errorf("a payment awaiting its outcome: TTL %v, want none", d)
	}
	s.approve(p, sim.DefaultScenario)
	s.advance(time.Minute) // the simulator's notifications arrive within the call
	if got := s.get(p.ID); got.State != "paid" {
		t.Fatalf("after approval: %+v", got)
	}
	if d := s.rdb.PTTL(t.Context(), key).Val(); d <= retention/2 || d > retention {
		t.Errorf("a paid payment: TTL %v, want about %v", d, retention)
	}
}
