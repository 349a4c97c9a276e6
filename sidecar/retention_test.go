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

// retain gives an order written while nothing expired the TTL its next
// write would have given it; a dry run only counts.
func TestRetainCommand(t *testing.T) {
	s := startShopEnv(t, map[string]string{config.Key("RETENTION"): "0"})
	keys, err := store.NewKeys(s.prefix)
	if err != nil {
		t.Fatal(err)
	}
	p := s.order(s.call(http.MethodPost, "/v1/payments", "ret-2", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	s.approve(p, sim.DefaultScenario)
	s.advance(time.Minute)
	key := keys.Order(p.ID).Order
	if d := s.rdb.PTTL(t.Context(), key).Val(); d != -1 {
		t.Fatalf("paid with RETENTION=0: TTL %v, want none", d)
	}
	expect{code: 2, stderr: []string{"shorter than 2160h"}}.check(t, clie(t, s.env, "retain", "--retention", "24h"))
	expect{code: 2, stderr: []string{"shorter than 2160h"}}.check(t, clie(t, s.env, "retain"))
	expect{code: 0, stdout: []string{"would give a TTL to 1 orders"}}.check(t, clie(t, s.env, "retain", "--dry-run", "--retention", "2160h"))
	if d := s.rdb.PTTL(t.Context(), key).Val(); d != -1 {
		t.Fatalf("after a dry run: TTL %v, want none", d)
	}
	expect{code: 0, stdout: []string{"gave a TTL to 1 orders"}}.check(t, clie(t, s.env, "retain", "--retention", "2160h"))
	// About the retention after its last change; serve's clock here is the
	// simulator's, a little ahead of the command's.
	if d := s.rdb.PTTL(t.Context(), key).Val(); d <= 1080*time.Hour || d > 2161*time.Hour {
		t.Errorf("after retain: TTL %v, want about 2160h", d)
	}
	expect{code: 0, stdout: []string{"gave a TTL to 0 orders"}}.check(t, clie(t, s.env, "retain", "--retention", "2160h"))
}
