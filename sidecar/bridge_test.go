package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic/fakeshop"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

var callbackSecret = []byte("cbsec_fedcba9876543210")

// shopWithAdapter is a sidecar whose adapter is the generic plugin (a real
// process, by path) writing back to a fake shop.
func shopWithAdapter(t *testing.T) (*shop, *fakeshop.Shop) {
	t.Helper()
	if genericBin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	fs := fakeshop.New(t, callbackSecret)
	s := startShopEnv(t, map[string]string{
		config.Key("ADAPTER"):       genericBin,
		config.Key("ADAPTER_ENV"):   generic.EnvCallbackURL + "," + generic.EnvCallbackSecret + "," + generic.EnvWebhookSecret,
		generic.EnvCallbackURL:      fs.URL,
		generic.EnvCallbackSecret:   string(callbackSecret),
		generic.EnvWebhookSecret:    "whsec_0123456789abcdef",
		"TRUSTLY_SIDECAR_LOG_LEVEL": "debug",
	})
	return s, fs
}

// pay creates and approves a payment for shop order ref.
func (s *shop) pay(ref string) shopapi.Order {
	s.t.Helper()
	p := s.order(s.call(http.MethodPost, "/v1/payments", "pay-"+ref, strings.Replace(paymentBody, "%s", `,"externalReference":"`+ref+`"`, 1)), http.StatusCreated)
	s.approve(p, sim.DefaultScenario)
	return p
}

// eventually polls cond until it holds; the deadline is a fail-safe, not
// a timing assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2EPaidReachesTheShopThroughTheAdapter(t *testing.T) {
	s, fs := shopWithAdapter(t)
	s.pay("ORD-1")
	s.advance(time.Minute)
	eventually(t, "the shop hears paid", func() bool { return fs.Snapshot("ORD-1") == "pending,paid" })
	for _, cb := range fs.Received() {
		if cb.OrderID != "ORD-1" || cb.AmountMinor != 10300 || cb.Currency != "SEK" || !strings.Contains(cb.ChangeID, ":") {
			t.Errorf("callback: %+v", cb)
		}
	}
	if a := s.call(http.MethodGet, "/readyz", "", ""); a.Status != http.StatusOK {
		t.Errorf("readyz with the adapter up: %d %s", a.Status, a.Body)
	}
}

var pidRe = regexp.MustCompile(`msg="adapter ready".* pid=(\d+)`)

// adapterPid is the pid of the adapter process the sidecar logged last.
func (s *shop) adapterPid() int {
	s.t.Helper()
	var pid int
	eventually(s.t, "the adapter is up", func() bool {
		m := pidRe.FindAllStringSubmatch(s.log.String(), -1)
		if len(m) == 0 {
			return false
		}
		pid, _ = strconv.Atoi(m[len(m)-1][1])
		return pid > 0
	})
	return pid
}

// The plugin is kill -9ed with a callback in flight: the engine's outbox
// keeps the change owed, the supervisor restarts the plugin, and every
// status reaches the shop once.
func TestKillingThePluginMidDeliveryLosesNoStatusUpdate(t *testing.T) {
	s, fs := shopWithAdapter(t)
	firstPid := s.adapterPid()
	const n = 5
	for i := range n {
		s.pay(fmt.Sprintf("ORD-%d", i))
	}
	release := fs.Hold()
	s.advance(time.Minute)
	first := <-fs.Arrived()
	if err := syscall.Kill(firstPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	release()

	for i := range n {
		ref := fmt.Sprintf("ORD-%d", i)
		eventually(t, ref+" paid at the shop", func() bool { return fs.Snapshot(ref) == "pending,paid" })
	}
	sent := 0
	for _, cb := range fs.Received() {
		if cb.ChangeID == first.ChangeID {
			sent++
		}
	}
	if sent < 2 {
		t.Errorf("change %s reached the shop %d times; the one cut off by the kill must have been sent again", first.ChangeID, sent)
	}
	if pid := s.adapterPid(); pid == firstPid {
		t.Errorf("the adapter was not restarted (pid %d)", pid)
	}
	eventually(t, "the restart is counted", func() bool {
		return strings.Contains(s.call(http.MethodGet, "/metrics", "", "").Body, `trustly_sidecar_plugin_restarts_total{plugin="generic"} 1`)
	})
	if dead := s.call(http.MethodGet, "/metrics", "", "").Body; !strings.Contains(dead, "trustly_sidecar_outbox_dead_letters 0") {
		t.Errorf("dead letters after the kill:\n%s", grepLines(dead, "outbox"))
	}
}

// The outage, with the real plugin: pending is refused and
// dead-lettered, paid reaches the shop, and replaying every dead letter
// afterwards must not tell the shop pending after paid. The newest state
// wins: the replayed pending is skipped (and counted), never delivered.
func TestReplayingAnOlderChangeAfterANewerOneLeavesTheShopAtTheNewer(t *testing.T) {
	s, fs := shopWithAdapter(t)
	fs.SetMode(adaptertest.Rejecting)
	s.pay("ORD-S")
	s.advance(time.Second) // pending only; credit comes 5s later
	eventually(t, "pending dead-lettered", func() bool {
		return strings.Contains(clie(t, s.env, "outbox", "list").stdout, "pending")
	})
	fs.SetMode(adaptertest.Healthy)
	s.advance(10 * time.Second)
	eventually(t, "the shop hears paid", func() bool { return fs.Snapshot("ORD-S") == "paid" })
	expect{code: 0, stdout: []string{"replayed "}}.check(t, clie(t, s.env, "outbox", "replay", "--all"))
	eventually(t, "the replayed pending is skipped", func() bool {
		return strings.Contains(s.call(http.MethodGet, "/metrics", "", "").Body, `trustly_sidecar_outbox_deliveries_total{outcome="stale"} 1`)
	})
	if got := fs.Snapshot("ORD-S"); got != "paid" {
		t.Fatalf("the shop saw %q after the replay, want paid", got)
	}
	// The shop got pending once: the time it refused it.
	pending := 0
	for _, cb := range fs.Received() {
		if cb.Status == string(adapter.StatusPending) {
			pending++
		}
	}
	if pending != 1 {
		t.Fatalf("pending reached the shop %d times, want once (refused)", pending)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

var reattachRe = regexp.MustCompile(adapter.EnvReattach + `='([^']+)'`)

// The documented debug path: an adapter serving in debug mode (as under a
// debugger) prints the reattach variable; serve given it connects to that
// process instead of starting one, delivers through it, and leaves it
// running when it stops.
func TestE2EServeReattachesToAnAdapterInDebugMode(t *testing.T) {
	if genericBin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	fs := fakeshop.New(t, callbackSecret)
	cmd := exec.Command(genericBin)
	cmd.Env = append(os.Environ(), adapter.EnvDebug+"=1",
		generic.EnvCallbackURL+"="+fs.URL, generic.EnvCallbackSecret+"="+string(callbackSecret),
		generic.EnvWebhookSecret+"=whsec_0123456789abcdef")
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var value string
	eventually(t, "the adapter prints its reattach line", func() bool {
		m := reattachRe.FindStringSubmatch(out.String())
		if m != nil {
			value = m[1]
		}
		return m != nil
	})

	s := startShopEnv(t, map[string]string{
		config.Key("ADAPTER"):           genericBin,
		config.Key("REATTACH_ADAPTERS"): value,
	})
	eventually(t, "readyz with the reattached adapter", func() bool {
		a := s.call(http.MethodGet, "/readyz", "", "")
		return a.Status == http.StatusOK && strings.Contains(a.Body, `"adapter":"ok"`)
	})
	s.pay("ORD-DBG")
	s.advance(time.Minute)
	eventually(t, "the shop hears paid through the debugged adapter", func() bool { return fs.Snapshot("ORD-DBG") == "pending,paid" })
	if !strings.Contains(s.log.String(), "reattached=true") {
		t.Errorf("serve does not say it reattached:\n%s", grepLines(s.log.String(), "adapter"))
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the debugged adapter is gone: %v", err)
	}
}
