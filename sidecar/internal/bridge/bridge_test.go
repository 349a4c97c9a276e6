package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
		{engine.FlowMandate, engine.StateStarted, ""},
		{engine.FlowMandate, engine.StateActive, adapter.StatusMandateActive},
		{engine.FlowMandate, engine.StateDeclined, adapter.StatusMandateDeclined},
		{engine.FlowMandate, engine.StateCancelled, adapter.StatusMandateDeclined},
		{engine.FlowMandate, engine.StateRevoked, adapter.StatusMandateRevoked},
	}
	for _, tt := range tests {
		got, ok := platformStatus(tt.flow, tt.to)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s → %s: %q %v, want %q", tt.flow, tt.to, got, ok, tt.want)
		}
	}
	// An attempt that never reached Trustly and expired is no news.
	if ch, ok := statusChangeOf(engine.StatusChange{OrderID: "o9", Seq: 2, Kind: "state", Flow: engine.FlowDeposit, From: engine.StateNew, To: engine.StateExpired}); ok {
		t.Errorf("an attempt that never started, expired, is told: %+v", ch)
	}
	if _, ok := statusChangeOf(engine.StatusChange{OrderID: "o9", Seq: 2, Kind: "state", Flow: engine.FlowDeposit, From: engine.StateStarted, To: engine.StateExpired}); !ok {
		t.Error("a started attempt that expired is not told")
	}
	if ch, _ := statusChangeOf(engine.StatusChange{OrderID: "p1.r", Seq: 3, Kind: "state", Flow: engine.FlowRefund, To: engine.StateRefunded,
		Parent: "p1", PaymentReference: "wc-1001", Amount: 3000, Currency: "SEK"}); ch.Order.ID != "wc-1001" {
		t.Errorf("a refund of a payment the platform made is about %q, want its reference wc-1001", ch.Order.ID)
	}
	ch, ok := statusChangeOf(engine.StatusChange{OrderID: "r1", Seq: 3, Kind: "state", Flow: engine.FlowRefund, To: engine.StateRefunded,
		Parent: "p1", Amount: 3000, Currency: "SEK", TrustlyOrderID: "123"})
	if !ok || ch.ID != "r1:3" || ch.Order.ID != "p1" || ch.Amount != (adapter.Money{Minor: 3000, Currency: "SEK"}) || ch.ProviderReference != "123" {
		t.Errorf("refund change: %+v", ch)
	}
}

// The shop hears what matters in words: an anomaly as an attention change,
// a refund's failure with Trustly's reason, a debit as money reversed.
func TestChangesCarryWhatAPersonNeeds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      engine.StatusChange
		status adapter.PaymentStatus
		says   []string
	}{
		{"an amount other than ordered", engine.StatusChange{OrderID: "o1", Seq: 4, Kind: "attention", Flow: engine.FlowDeposit, To: engine.StatePaid,
			Note: "credit of 90.00 SEK, the order is for 103.00 SEK"}, adapter.StatusAttention, []string{"Needs a person: credit of 90.00 SEK, the order is for 103.00 SEK"}},
		{"a refund whose payout failed", engine.StatusChange{OrderID: "p1.r", Seq: 3, Kind: "state", Flow: engine.FlowRefund, To: engine.StateFailed, Parent: "p1",
			Amount: 2500, Currency: "SEK", Reason: "payout failed: incorrect_account_number"}, adapter.StatusRefundFailed,
			[]string{"The refund of 25.00 SEK failed", "Reason: payout failed: incorrect_account_number."}},
		{"a debit after credit", engine.StatusChange{OrderID: "o2", Seq: 5, Kind: "state", Flow: engine.FlowDeposit, To: engine.StateReversed,
			Amount: 10300, Currency: "EUR"}, adapter.StatusReversed, []string{"payment of 103.00 EUR was reversed", "no longer with the merchant"}},
		{"a mandate revoked", engine.StatusChange{OrderID: "m1", Seq: 3, Kind: "state", Flow: engine.FlowMandate, To: engine.StateRevoked}, adapter.StatusMandateRevoked,
			[]string{"revoked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, ok := statusChangeOf(tc.c)
			if !ok || ch.Status != tc.status {
				t.Fatalf("change %+v, %v; want status %s", ch, ok, tc.status)
			}
			for _, s := range tc.says {
				if !strings.Contains(ch.Message, s) {
					t.Errorf("message %q lacks %q", ch.Message, s)
				}
			}
		})
	}
}

// applying is an adapter whose ApplyStatus answers err.
type applying struct {
	adapter.Adapter
	err error
}

func (a applying) ApplyStatus(context.Context, adapter.StatusChange) error { return a.err }

// Only what the adapter refuses for good is permanent, and so
// dead-lettered; everything else, however long it lasts, is retried.
func TestDeliverRetriesAllButWhatTheAdapterRefusesForGood(t *testing.T) {
	paid := engine.StatusChange{OrderID: "p1", Seq: 2, Kind: "state", Flow: engine.FlowDeposit, To: engine.StatePaid}
	down := func(context.Context) error { return ErrNoAdapter }
	for _, tc := range []struct {
		name      string
		err       error
		ready     func(context.Context) error
		permanent bool
	}{
		{"delivered", nil, nil, false},
		{"platform down (ErrRetryable)", fmt.Errorf("%w: 503", adapter.ErrRetryable), nil, false},
		{"plugin died mid-call", adapter.ErrPluginDead, nil, false},
		{"plugin not up in time", nil, down, false},
		{"timeout", context.DeadlineExceeded, nil, false},
		{"an unclassified error (an adapter bug)", errors.New("nil map"), nil, false},
		{"ErrPermanent", fmt.Errorf("%w: order deleted", adapter.ErrPermanent), nil, true},
		{"ErrInvalid", adapter.ErrInvalid, nil, true},
		{"ErrUnsupported", adapter.ErrUnsupported, nil, true},
		{"ErrUnauthenticated", adapter.ErrUnauthenticated, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(applying{err: tc.err}, slog.New(slog.DiscardHandler), tc.ready)
			err := b.Deliver(context.Background(), paid)
			if got := errors.Is(err, engine.ErrPermanent); got != tc.permanent {
				t.Fatalf("Deliver = %v; permanent %v, want %v", err, got, tc.permanent)
			}
			if (err == nil) != (tc.err == nil && tc.ready == nil) {
				t.Fatalf("Deliver = %v", err)
			}
		})
	}
}
