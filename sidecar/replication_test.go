package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

// With REDIS_REPLICA_ACKS=all the sidecar answers only what its replica
// has. While the replica hangs (SIGSTOP: connected, acknowledging nothing)
// a notification is answered 503, though its transition ran on the master
// (Trustly resends), and a new payment 503 before Trustly is called; once
// the replica runs again the resend is answered OK and the retried payment
// 201. The metric counts the writes that were not acknowledged.
func TestAnswersWaitForTheReplica(t *testing.T) {
	master := startPrivateRedis(t)
	host, port, _ := net.SplitHostPort(master.addr)
	replica := startPrivateRedis(t, "--replicaof", host, port)
	deadline := time.Now().Add(waitTimeout)
	for {
		info, err := master.rdb.Info(t.Context(), "replication").Result()
		if err == nil && strings.Contains(info, "state=online") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not come online: %v\n%s", err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s := startShopEnv(t, map[string]string{
		config.Key("REDIS_ADDRS"):               master.addr,
		config.Key("REDIS_REPLICA_ACKS"):        "all",
		config.Key("REDIS_REPLICA_ACK_TIMEOUT"): "200ms",
	})
	p := s.order(s.call(http.MethodPost, "/v1/payments", "repl-1", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	pem, err := trustly.MarshalPrivateKey(simKey())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "sim.pem")
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	notify := func() string {
		res := clie(t, nil, "notify", "--url", s.pub+"/trustly/notifications/"+testSecret, "--key", keyFile,
			"--method", "credit", "--orderid", p.TrustlyOrderID, "--messageid", p.MessageID, "--amount", "103.00",
			"--currency", "SEK", "--enduserid", "shopper-1", "--notificationid", "n-repl-1")
		return res.stdout + res.stderr
	}

	replica.freeze(t)
	if out := notify(); !strings.Contains(out, "HTTP 503") {
		t.Errorf("notification with the replica hung: want 503, got\n%s", out)
	}
	if a := s.call(http.MethodPost, "/v1/payments", "repl-2", strings.Replace(paymentBody, "%s", "", 1)); a.Status != http.StatusServiceUnavailable {
		t.Errorf("payment with the replica hung: %d %s, want 503", a.Status, a.Body)
	}
	if got := metricLine(t, s.priv, "trustly_sidecar_redis_replica_ack_timeouts_total"); got == "trustly_sidecar_redis_replica_ack_timeouts_total 0" {
		t.Errorf("no acknowledgement timeout counted: %s", got)
	}

	if err := syscall.Kill(replica.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if out := notify(); !strings.Contains(out, "HTTP 200 OK") || !strings.Contains(out, `"status":"OK"`) {
		t.Errorf("Trustly's resend once the replica runs: want OK, got\n%s", out)
	}
	s.order(s.call(http.MethodPost, "/v1/payments", "repl-2", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
}
