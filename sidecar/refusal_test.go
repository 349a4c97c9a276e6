package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

// A full Redis (maxmemory reached under noeviction) refuses writes with
// OOM, from inside the store's scripts too. That is Redis being
// unavailable, not a fault of ours: a new payment and a notification are
// answered 503 (the shop and Trustly retry), never 500.
func TestAFullRedisIsA503(t *testing.T) {
	r := startPrivateRedis(t, "--maxmemory-policy", "noeviction")
	s := startShopEnv(t, map[string]string{config.Key("REDIS_ADDRS"): r.addr})
	p := s.order(s.call(http.MethodPost, "/v1/payments", "full-1", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	pem, err := trustly.MarshalPrivateKey(simKey())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "sim.pem")
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}

	if err := r.rdb.ConfigSet(t.Context(), "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if a := s.call(http.MethodPost, "/v1/payments", "full-2", strings.Replace(paymentBody, "%s", "", 1)); a.Status != http.StatusServiceUnavailable ||
		!strings.Contains(a.Body, `"unavailable"`) {
		t.Errorf("POST /v1/payments with Redis full: %d %s, want 503 unavailable", a.Status, a.Body)
	}
	res := clie(t, nil, "notify", "--url", s.pub+"/trustly/notifications/"+testSecret, "--key", keyFile,
		"--method", "credit", "--orderid", p.TrustlyOrderID, "--messageid", p.MessageID, "--amount", "103.00",
		"--currency", "SEK", "--enduserid", "shopper-1", "--notificationid", "n-full-1")
	if !strings.Contains(res.stdout, "HTTP 503") {
		t.Errorf("notification with Redis full: %s%s, want HTTP 503", res.stdout, res.stderr)
	}

	// Room again: the notification Trustly resends is applied.
	if err := r.rdb.ConfigSet(t.Context(), "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	res = clie(t, nil, "notify", "--url", s.pub+"/trustly/notifications/"+testSecret, "--key", keyFile,
		"--method", "credit", "--orderid", p.TrustlyOrderID, "--messageid", p.MessageID, "--amount", "103.00",
		"--currency", "SEK", "--enduserid", "shopper-1", "--notificationid", "n-full-1")
	if !strings.Contains(res.stdout, "HTTP 200") {
		t.Errorf("the resend with room again: %s%s, want HTTP 200", res.stdout, res.stderr)
	}
	if got := s.order(s.call(http.MethodGet, "/v1/payments/"+p.ID, "", ""), http.StatusOK); got.State != "paid" {
		t.Errorf("after the resend: %+v, want paid", got)
	}
}
