package demo

import (
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// Every state the order page can show, in words: the browser test reaches
// most of them; reversed, expired and the mixed refund cases only here.
func TestDescribe(t *testing.T) {
	paid := shopapi.Order{ID: "p1", State: "paid", Amount: 29800, Currency: "SEK", Credited: 29800, Refundable: 29800}
	refund := func(state string, amount int64) shopapi.Order {
		return shopapi.Order{State: state, Amount: amount, Currency: "SEK", Flow: "refund"}
	}
	with := func(o shopapi.Order, refunded int64) shopapi.Order {
		o.Refunded, o.Refundable = refunded, o.Credited-refunded
		return o
	}
	tests := []struct {
		name       string
		p          shopapi.Order
		refunds    []shopapi.Order
		state      string
		label      string
		detail     string
		waiting    bool
		retry      bool
		refundable bool
	}{
		{"started", shopapi.Order{State: "started", Amount: 29800, Currency: "SEK"}, nil,
			"waiting", "Waiting for the payment", "Nothing is paid yet. Approve at the bank, or close the bank page to stop.", true, false, false},
		{"pending", shopapi.Order{State: "pending", Amount: 29800, Currency: "SEK"}, nil,
			"pending", "Pending: the bank accepted", "The money has not arrived yet. Do not ship until the order is paid.", true, false, false},
		{"paid", paid, nil, "paid", "Paid", "Trustly's signed credit notification arrived: the money is in. Ship the order.", false, false, true},
		{"refund in progress", with(paid, 10000), []shopapi.Order{refund("started", 10000)},
			"refunding", "Paid: refund in progress", "A refund of 100.00 SEK was sent to Trustly; it is done when Trustly confirms the payout.", false, false, true},
		{"partially refunded", with(paid, 10000), []shopapi.Order{refund("refunded", 10000)},
			"partially-refunded", "Partially refunded", "100.00 SEK of 298.00 SEK was paid back; 198.00 SEK can still be refunded.", false, false, true},
		{"refunded", with(paid, 29800), []shopapi.Order{refund("refunded", 10000), refund("refunded", 19800)},
			"refunded", "Refunded", "298.00 SEK was paid back to the customer's bank account.", false, false, false},
		{"refund failed", paid, []shopapi.Order{refund("failed", 29800)},
			"refund-failed", "Refund failed", "The last refund did not go through: the money is still with the shop. You can try again.", false, false, true},
		{"refund failed after a partial refund", with(paid, 10000), []shopapi.Order{refund("refunded", 10000), refund("failed", 19800)},
			"refund-failed", "Refund failed", "The last refund did not go through: the money is still with the shop. You can try again. Refunded so far: 100.00 SEK of 298.00 SEK.", false, false, true},
		{"refund refused by Trustly", paid, []shopapi.Order{refund("rejected", 29800)},
			"refund-failed", "Refund failed", "The last refund did not go through: the money is still with the shop. You can try again.", false, false, true},
		{"reversed", shopapi.Order{State: "reversed", Amount: 29800, Currency: "SEK"}, nil,
			"reversed", "Reversed", "The bank took the payment back after it was credited. Do not ship; contact the customer.", false, false, false},
		{"cancelled", shopapi.Order{State: "cancelled", Amount: 29800, Currency: "SEK"}, nil,
			"cancelled", "Cancelled: not paid", "The payment was declined or abandoned at the bank. Nothing was charged.", false, true, false},
		{"expired", shopapi.Order{State: "expired", Amount: 29800, Currency: "SEK"}, nil,
			"expired", "Expired: not paid", "The bank page was not used in time. Nothing was charged.", false, true, false},
		{"rejected", shopapi.Order{State: "rejected", Amount: 29800, Currency: "SEK"}, nil,
			"rejected", "Not started", "Trustly refused the payment. Nothing was charged.", false, true, false},
		{"unknown", shopapi.Order{State: "unknown", Amount: 29800, Currency: "SEK"}, nil,
			"unknown", "Being checked", "The outcome is not known yet; the sidecar asks Trustly.", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := describe(tt.p, tt.refunds, nil)
			if v.State != tt.state || v.Label != tt.label || v.Detail != tt.detail {
				t.Errorf("got %s %q %q\nwant %s %q %q", v.State, v.Label, v.Detail, tt.state, tt.label, tt.detail)
			}
			if v.Waiting != tt.waiting || v.Retry != tt.retry || v.Refundable != tt.refundable {
				t.Errorf("waiting %v retry %v refundable %v, want %v %v %v", v.Waiting, v.Retry, v.Refundable, tt.waiting, tt.retry, tt.refundable)
			}
		})
	}
}

// Refund lines say where each refund stands; "refunded" only once Trustly
// confirmed the payout.
func TestDescribeRefundLines(t *testing.T) {
	p := shopapi.Order{ID: "p1", State: "paid", Amount: 29800, Currency: "SEK", Credited: 29800, Refunded: 29800}
	v := describe(p, []shopapi.Order{{State: "refunded", Amount: 10000}, {State: "failed", Amount: 5000}, {State: "new", Amount: 19800}}, nil)
	want := []refundView{
		{"100.00 SEK", "refunded", "refunded"},
		{"50.00 SEK", "refund-failed", "failed: the money stayed with the shop"},
		{"198.00 SEK", "refunding", "in progress: waiting for Trustly to confirm the payout"},
	}
	if len(v.Refunds) != len(want) {
		t.Fatalf("refunds %+v", v.Refunds)
	}
	for i := range want {
		if v.Refunds[i] != want[i] {
			t.Errorf("refund %d: %+v, want %+v", i, v.Refunds[i], want[i])
		}
	}
	if v.RefundKey != "r3" {
		t.Errorf("refund key %q", v.RefundKey)
	}
}
