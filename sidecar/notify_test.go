package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
)

// clie runs one command line in-process with an environment.
func clie(t *testing.T, env envMap, args ...string) result {
	t.Helper()
	var stdout, stderr logBuffer
	err := run(t.Context(), append([]string{"trustly-sidecar"}, args...), env.get, strings.NewReader(""), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cli.ExitCode(err)}
}

func TestNotifyCommand(t *testing.T) {
	s := startShop(t)
	p := s.order(s.call(http.MethodPost, "/v1/payments", "n-1", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	pem, err := trustly.MarshalPrivateKey(simKey())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "sim.pem")
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	url := s.pub + "/trustly/notifications/" + testSecret
	args := []string{"notify", "--url", url, "--key", keyFile, "--method", "credit", "--orderid", p.TrustlyOrderID,
		"--messageid", p.MessageID, "--amount", "103.00", "--currency", "SEK", "--enduserid", "shopper-1",
		"--notificationid", "n-credit-1", "--merchant-public-key", filepath.Join(keyDir, publicKeyFile)}
	expect{code: 0, stdout: []string{"HTTP 200 OK", `"status":"OK"`, "reply signature: valid; status OK"}}.check(t, clie(t, nil, args...))
	if got := s.get(p.ID); got.State != "paid" || got.Credited != 10300 {
		t.Fatalf("after a credit sent by notify: %+v", got)
	}
	// The same notificationid again: deduplicated, the same answer.
	expect{code: 0, stdout: []string{"HTTP 200 OK", "reply signature: valid"}}.check(t, clie(t, nil, args...))
	if got := s.get(p.ID); got.Credited != 10300 {
		t.Fatalf("a repeated credit counted twice: %+v", got)
	}

	// Minor units work too; a key the sidecar does not trust is refused.
	wrong := []string{"notify", "--url", url, "--key", filepath.Join(keyDir, privateKeyFile), "--orderid", p.TrustlyOrderID,
		"--messageid", p.MessageID, "--amount", "10300"}
	r := clie(t, nil, wrong...)
	expect{code: 1, stdout: []string{"HTTP 400"}}.check(t, r)
	if strings.Contains(r.stdout+r.stderr, testSecret) {
		t.Error("notify printed the notification secret")
	}
	expect{code: 2, stderr: []string{"--orderid is required"}}.check(t, clie(t, nil, "notify", "--url", url, "--key", keyFile))
	expect{code: 2, stderr: []string{"--amount"}}.check(t, clie(t, nil, "notify", "--url", url, "--key", keyFile, "--orderid", "1", "--messageid", "m", "--amount", "1.5"))
}

func TestOutboxCommands(t *testing.T) {
	addr := testRedisAddr(t)
	env := validEnv(t).with("REDIS_MODE", "single", "REDIS_ADDRS", addr, "REDIS_PREFIX", testPrefix(t))
	expect{code: 0, stdout: []string{"no dead-lettered status changes"}}.check(t, clie(t, env, "outbox", "list"))
	expect{code: 0, stdout: []string{"no dead-lettered status changes"}}.check(t, clie(t, env, "outbox", "replay", "--all"))
	expect{code: 2, stderr: []string{"give --all or one or more"}}.check(t, clie(t, env, "outbox", "replay"))
	expect{code: 2, stderr: []string{"is not an entry SHARD/ID"}}.check(t, clie(t, env, "outbox", "replay", "x"))
	// The Redis settings are all these commands need; the rest may be
	// missing or wrong.
	redisOnly := envMap{}.with("REDIS_MODE", "single", "REDIS_ADDRS", addr, "REDIS_PREFIX", testPrefix(t), "TRUSTLY_URL", "not a url")
	expect{code: 0, stdout: []string{"no dead-lettered status changes"}}.check(t, clie(t, redisOnly, "outbox", "list"))
	expect{code: 0, stdout: []string{"no notifications kept for a person"}}.check(t, clie(t, redisOnly, "unrouted"))
	expect{code: 1, stderr: []string{"REDIS_ADDRS", `"nowhere" is not HOST:PORT`}}.check(t, clie(t, redisOnly.with("REDIS_ADDRS", "nowhere"), "outbox", "list"))
	expect{code: 1, stderr: []string{"REDIS_MODE=embedded: the embedded store lives inside serve's process"}}.check(t, clie(t, envMap{}.with("REDIS_MODE", "embedded"), "outbox", "list"))
}

// A change the shop refuses for good is dead-lettered; once the shop is
// fixed, outbox replay delivers it.
func TestOutboxDeadLettersAndReplay(t *testing.T) {
	s, fs := shopWithAdapter(t)
	fs.SetMode(adaptertest.Rejecting)
	s.pay("ORD-D")
	s.advance(time.Minute)
	var list result
	eventually(t, "both changes dead-lettered", func() bool {
		list = clie(t, s.env, "outbox", "list")
		return strings.Count(list.stdout, "\n") == 3 // header + pending + paid
	})
	expect{code: 0, stdout: []string{"ENTRY", "pending", "paid", "permanent"}}.check(t, list)
	if fs.Snapshot("ORD-D") != "" {
		t.Fatalf("the refusing shop applied %q", fs.Snapshot("ORD-D"))
	}
	fs.SetMode(adaptertest.Healthy)
	expect{code: 0, stdout: []string{"replayed "}}.check(t, clie(t, s.env, "outbox", "replay", "--all"))
	eventually(t, "the replayed changes reach the shop", func() bool { return fs.Snapshot("ORD-D") == "pending,paid" })
	expect{code: 0, stdout: []string{"no dead-lettered"}}.check(t, clie(t, s.env, "outbox", "list"))
}
