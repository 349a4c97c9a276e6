package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic/fakeshop"
)

var callbackSecret = []byte("cbsec_fedcba9876543210")

func TestPlatformStatusTable(t *testing.T) {
	tests := []struct {
		flow engine.Flow
		to   engine.State
		want adapter.PaymentStatus // "" for nothing to tell
	}{
		{engine.FlowDeposit, engine.StateStarted, ""},
		{engine.FlowDeposit, engine.StatePending, adapter.StatusPending},
		{engine.FlowDeposit, engine.StatePaid, adapter.StatusPaid},
		{engine.FlowDeposit, engine.StateCancelled, adapter.StatusCancelled},
		{engine.FlowDeposit, engine.StateExpired, adapter.StatusCancelled},
		{engine.FlowDeposit, engine.StateReversed, adapter.StatusReversed},
		{engine.FlowCharge, engine.StatePaid, adapter.StatusPaid},
		{engine.FlowRefund, engine.StateStarted, adapter.StatusRefundPending},
		{engine.FlowRefund, engine.StateRefunded, adapter.StatusRefunded},
		{engine.FlowRefund, engine.StateFailed, adapter.StatusRefundFailed},
		{engine.FlowMandate, engine.StateActive, ""},
	}
	for _, tt := range tests {
		got, ok := platformStatus(tt.flow, tt.to)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s → %s: %q %v, want %q", tt.flow, tt.to, got, ok, tt.want)
		}
	}
	ch, ok := statusChangeOf(engine.StatusChange{OrderID: "r1", Seq: 3, Kind: "state", Flow: engine.FlowRefund, To: engine.StateRefunded,
		Parent: "p1", Amount: 3000, Currency: "SEK", TrustlyOrderID: "123"})
	if !ok || ch.ID != "r1:3" || ch.Order.ID != "p1" || ch.Amount != (adapter.Money{Minor: 3000, Currency: "SEK"}) || ch.ProviderReference != "123" {
		t.Errorf("refund change: %+v", ch)
	}
}

// shopWithAdapter is a sidecar whose adapter is the generic plugin (a real
// process, by path) writing back to a fake shop.
func shopWithAdapter(t *testing.T) (*shop, *fakeshop.Shop) {
	t.Helper()
	if genericBin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	fs := fakeshop.New(t, callbackSecret)
	s := startShopEnv(t, map[string]string{
		key("ADAPTER"):              genericBin,
		key("ADAPTER_ENV"):          generic.EnvCallbackURL + "," + generic.EnvCallbackSecret + "," + generic.EnvWebhookSecret,
		generic.EnvCallbackURL:      fs.URL,
		generic.EnvCallbackSecret:   string(callbackSecret),
		generic.EnvWebhookSecret:    "whsec_0123456789abcdef",
		"TRUSTLY_SIDECAR_LOG_LEVEL": "debug",
	})
	return s, fs
}

// pay creates and approves a payment for shop order ref.
func (s *shop) pay(ref string) Order {
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
	if a := s.call(http.MethodGet, "/readyz", "", ""); a.status != http.StatusOK {
		t.Errorf("readyz with the adapter up: %d %s", a.status, a.body)
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
		return strings.Contains(s.call(http.MethodGet, "/metrics", "", "").body, `trustly_sidecar_plugin_restarts_total{plugin="generic"} 1`)
	})
	if dead := s.call(http.MethodGet, "/metrics", "", "").body; !strings.Contains(dead, "trustly_sidecar_outbox_dead_letters 0") {
		t.Errorf("dead letters after the kill:\n%s", grepLines(dead, "outbox"))
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
