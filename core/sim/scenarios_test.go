package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// TestScenarios drives every order option of the checkout and checks what
// the merchant receives, in order, and where the order ends.
func TestScenarios(t *testing.T) {
	tests := []struct {
		scenario string
		// checkpoints: after advancing by each duration (cumulatively), the
		// merchant has received exactly these methods.
		checkpoints []checkpoint
		final       sim.OrderState
		mandate     bool
	}{
		{"", []checkpoint{{0, "pending"}, {5 * time.Second, "pending,credit"}}, sim.StateCredited, false},
		{"D1", []checkpoint{{5 * time.Second, "pending,credit"}, {5 * time.Second, "pending,credit,debit"}}, sim.StateDebited, false},
		{"D3", []checkpoint{{71 * time.Hour, "pending"}, {time.Hour, "pending,credit"}}, sim.StateCredited, false},
		{"D4", []checkpoint{{time.Minute, "pending"}, {time.Hour, "pending,cancel"}}, sim.StateCancelled, false},
		{"D5", []checkpoint{{0, "credit"}, {10 * time.Second, "credit,pending"}}, sim.StateCredited, false},
		{"G1", []checkpoint{{0, "account"}, {10 * time.Second, "account,pending,credit"}, {10 * time.Second, "account,pending,credit,account"}}, sim.StateCredited, false},
		{"G2", []checkpoint{{5 * time.Second, "pending,credit"}, {time.Minute, "pending,credit,credit"}}, sim.StateCredited, false},
		{"G3", []checkpoint{{5 * time.Second, "pending,credit"}, {time.Minute, "pending,credit,credit"}, {5 * time.Minute, "pending,credit,credit,credit"}, {time.Hour, "pending,credit,credit,credit"}}, sim.StateCredited, false},
		{"RF", []checkpoint{{5 * time.Second, "pending,credit"}}, sim.StateCredited, false},
		{"", []checkpoint{{0, "account,pending"}, {5 * time.Second, "account,pending,credit"}}, sim.StateCredited, true},
	}
	for _, tt := range tests {
		name := tt.scenario
		if name == "" {
			name = "default"
		}
		if tt.mandate {
			name += " with a mandate"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			res := h.deposit(func(r *trustly.DepositRequest) { r.RequestDirectDebitMandate = tt.mandate })
			h.approve(res.OrderID, tt.scenario)
			for i, cp := range tt.checkpoints {
				h.advance(cp.after)
				if got := strings.Join(h.merchant.methods(), ","); got != cp.want {
					t.Fatalf("checkpoint %d: received %s, want %s", i, got, cp.want)
				}
			}
			o, _ := h.sim.Order(res.OrderID)
			if o.State != tt.final || o.Scenario != tt.scenario {
				t.Errorf("order %s in scenario %q, want %s", o.State, o.Scenario, tt.final)
			}
			for _, n := range h.sim.Notifications(res.OrderID) {
				if !n.Answered {
					t.Errorf("%s %s not answered: %+v", n.Method, n.NotificationID, n.Attempts)
				}
			}
		})
	}
}

type checkpoint struct {
	after time.Duration
	want  string
}

func TestG2ResendsTheIdenticalNotification(t *testing.T) {
	h := newHarness(t)
	res := h.deposit(nil)
	h.approve(res.OrderID, "G2")
	h.advance(2 * time.Minute)
	all := h.merchant.all()
	if len(all) != 3 {
		t.Fatalf("received %d", len(all))
	}
	first, again := all[1], all[2]
	if first.NotificationID != again.NotificationID || first.UUID != again.UUID || first.Message.Signature() != again.Message.Signature() {
		t.Errorf("the repeat differs: %s/%s vs %s/%s", first.NotificationID, first.UUID, again.NotificationID, again.UUID)
	}
	var credit sim.Notification
	for _, n := range h.sim.Notifications(res.OrderID) {
		if n.Method == "credit" {
			credit = n
		}
	}
	if len(credit.Attempts) != 2 || credit.Attempts[1].Trigger != "duplicate" {
		t.Errorf("attempts %+v", credit.Attempts)
	}
}

func TestG3RetriesUntilAReplyIsHeard(t *testing.T) {
	h := newHarness(t)
	res := h.deposit(nil)
	h.approve(res.OrderID, "G3")
	h.advance(time.Hour)
	var credit sim.Notification
	for _, n := range h.sim.Notifications(res.OrderID) {
		if n.Method == "credit" {
			credit = n
		}
	}
	if len(credit.Attempts) != 3 {
		t.Fatalf("attempts %+v", credit.Attempts)
	}
	a := credit.Attempts
	if a[0].OK || a[1].OK || !a[2].OK || !strings.Contains(a[0].Error, "lost") {
		t.Errorf("attempts %+v", a)
	}
	// Growing intervals from the retry schedule: 1m, then 5m.
	if d := a[1].At.Sub(a[0].At); d != time.Minute {
		t.Errorf("first retry after %v", d)
	}
	if d := a[2].At.Sub(a[1].At); d != 5*time.Minute {
		t.Errorf("second retry after %v", d)
	}
}
