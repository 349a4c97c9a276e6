package bridge

import (
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
)

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
