package main

import (
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
)

func TestOutboxSkipUsage(t *testing.T) {
	env := validEnv(t).with("REDIS_MODE", "single", "REDIS_ADDRS", testRedisAddr(t), "REDIS_PREFIX", testPrefix(t))
	expect{code: 0, stdout: []string{"no pending status changes"}}.check(t, clie(t, env, "outbox", "pending"))
	expect{code: 2, stderr: []string{"give one or more SHARD/ID"}}.check(t, clie(t, env, "outbox", "skip"))
	expect{code: 2, stderr: []string{"is not an entry SHARD/ID"}}.check(t, clie(t, env, "outbox", "skip", "3"))
	expect{code: 1, stderr: []string{"not found"}}.check(t, clie(t, env, "outbox", "skip", "3/1-1"))
}

// A change the platform refuses retryably is retried until it lands and
// holds back its order's later changes. A person gives up on it with
// outbox skip: it is dead-lettered ("skipped by operator"), logged, and the
// later change flows once the platform takes changes again.
func TestOutboxSkipReleasesTheLaterChanges(t *testing.T) {
	s, fs := shopWithAdapter(t)
	fs.SetMode(adaptertest.Unavailable)
	s.pay("ORD-S")
	s.advance(time.Minute)
	var first, seq string
	eventually(t, "the first change failing, the second waiting", func() bool {
		r := clie(t, s.env, "outbox", "pending")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 3 { // header, pending (failing), paid (waiting)
			return false
		}
		f := strings.Fields(lines[1])
		if f[4] != "pending" || f[len(f)-1] == "0" {
			return false
		}
		first, seq = f[0], f[2]
		return true
	})

	r := clie(t, s.env, "outbox", "skip", first)
	expect{code: 0, stdout: []string{"skipped " + first, "seq " + seq + " to pending", "dead-lettered"},
		stderr: []string{"outbox change skipped by operator", "seq=" + seq}}.check(t, r)
	expect{code: 0, stdout: []string{"  " + seq + "  ", "pending", "skipped by operator"}}.check(t, clie(t, s.env, "outbox", "list"))
	expect{code: 1, stderr: []string{"not pending"}}.check(t, clie(t, s.env, "outbox", "skip", first))

	fs.SetMode(adaptertest.Healthy)
	eventually(t, "the later change reaches the shop", func() bool { return fs.Snapshot("ORD-S") == "paid" })
}
