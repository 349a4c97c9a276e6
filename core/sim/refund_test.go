package sim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

func (h *harness) refund(orderID string, amount int64, currency string) (*trustly.RefundResult, error) {
	return h.client.Refund(context.Background(), &trustly.RefundRequest{OrderID: orderID, Amount: amount, Currency: currency})
}

func TestRefundsPartialUpToTheCreditedAmount(t *testing.T) {
	h := newHarness(t)
	res := h.paid("")
	first, err := h.refund(res.OrderID, 3000, "SEK")
	if err != nil || !first.Accepted || !numeric.MatchString(first.OrderID) {
		t.Fatalf("first refund: %+v, %v", first, err)
	}
	second, err := h.refund(res.OrderID, 7300, "SEK")
	if err != nil || !second.Accepted {
		t.Fatalf("second refund: %+v, %v", second, err)
	}
	_, err = h.refund(res.OrderID, 1, "SEK")
	if trustly.ErrorCode(err) != trustly.CodeInvalidAmount {
		t.Fatalf("over-refund: %v", err)
	}
	// The answer says only ERROR_INVALID_AMOUNT, as Trustly's does; the
	// simulator's log says why.
	if rec := h.lastAPIError(); !strings.Contains(fmt.Sprint(rec["detail"]), "exceeds the 0.00 SEK left to refund") || rec["orderid"] != res.OrderID {
		t.Errorf("log record %v", rec)
	}
	o, _ := h.sim.Order(res.OrderID)
	if o.Refunded != 10300 || len(o.Refunds) != 2 {
		t.Errorf("order %+v", o)
	}
}

func TestRefundRefusals(t *testing.T) {
	h := newHarness(t)
	paid := h.paid("")
	unpaid := h.deposit(nil)
	debited := h.paid("D1")
	tests := []struct {
		name     string
		orderID  string
		amount   int64
		currency string
		want     trustly.Code
		msg      string
	}{
		{"more than credited", paid.OrderID, 10301, "SEK", trustly.CodeInvalidAmount, "exceeds the 103.00 SEK left"},
		{"another currency", paid.OrderID, 100, "EUR", trustly.CodeInvalidCurrencyCode, "not the order's currency SEK"},
		{"an order not credited", unpaid.OrderID, 100, "SEK", trustly.CodeInvalidParameters, "not credited"},
		{"a debited order", debited.OrderID, 100, "SEK", trustly.CodeInvalidParameters, "not credited"},
		{"an unknown order", "1000000001", 100, "SEK", trustly.CodeInvalidParameters, "no order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.refund(tt.orderID, tt.amount, tt.currency)
			if trustly.ErrorCode(err) != tt.want {
				t.Fatalf("err = %v, want %d", err, tt.want)
			}
			var te *trustly.Error
			if errors.As(err, &te) && te.Message != tt.want.Name() {
				t.Errorf("message %q, want the bare %s", te.Message, tt.want.Name())
			}
			if rec := h.lastAPIError(); !strings.Contains(fmt.Sprint(rec["detail"]), tt.msg) || rec["method"] != "Refund" {
				t.Errorf("log record %v, want detail with %q", rec, tt.msg)
			}
		})
	}
	t.Run("a refund order", func(t *testing.T) {
		r, err := h.refund(paid.OrderID, 100, "SEK")
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.refund(r.OrderID, 100, "SEK")
		if trustly.ErrorCode(err) != trustly.CodeInvalidParameters {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestRefundWaitsForSettlement: a refund of unsettled funds is queued until
// the deposit settles, then paid out of the balance with a
// payoutconfirmation; GetWithdrawals and Balance tell the story.
func TestRefundWaitsForSettlement(t *testing.T) {
	h := newHarness(t, func(c *sim.Config) { c.Balances = map[string]int64{"EUR": 500} })
	res := h.paid("") // credited at start+5s, settles an hour later
	ctx := context.Background()

	r, err := h.refund(res.OrderID, 4000, "SEK")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := h.client.GetWithdrawals(ctx, r.OrderID)
	if err != nil || len(ws) != 1 || ws[0].TransferState != "QUEUED" || ws[0].Amount != 4000 || ws[0].Currency != "SEK" || ws[0].OrderID != r.OrderID {
		t.Fatalf("queued: %+v, %v", ws, err)
	}
	bal, err := h.client.Balance(ctx)
	if err != nil || len(bal) != 1 || bal[0] != (trustly.Balance{Currency: "EUR", Balance: 500}) {
		t.Fatalf("before settlement: %+v, %v", bal, err)
	}
	before := len(h.merchant.all())
	h.advance(58 * time.Minute) // start+59m: not settled yet
	if len(h.merchant.all()) != before {
		t.Fatalf("something was sent before settlement: %v", h.merchant.methods())
	}
	h.advance(2 * time.Minute) // settles at start+1h0m5s
	n := h.merchant.last()
	pc, err := n.PayoutConfirmation()
	if err != nil || pc.OrderID != r.OrderID || pc.Amount != 4000 || pc.Currency != "SEK" || pc.EndUserID != "shopper-åsa" {
		t.Fatalf("payoutconfirmation %+v, %v", pc, err)
	}
	ws, _ = h.client.GetWithdrawals(ctx, r.OrderID)
	if ws[0].TransferState != "EXECUTED" {
		t.Errorf("after payout: %+v", ws)
	}
	// GetWithdrawals on the paid order lists its refunds.
	ws, err = h.client.GetWithdrawals(ctx, res.OrderID)
	if err != nil || len(ws) != 1 || ws[0].OrderID != r.OrderID {
		t.Errorf("by the paid order: %+v, %v", ws, err)
	}
	bal, _ = h.client.Balance(ctx)
	want := []trustly.Balance{{Currency: "EUR", Balance: 500}, {Currency: "SEK", Balance: 10300 - 4000}}
	if len(bal) != 2 || bal[0] != want[0] || bal[1] != want[1] {
		t.Errorf("balance %+v, want %+v", bal, want)
	}
	// A refund of settled funds leaves at once.
	r2, err := h.refund(res.OrderID, 300, "SEK")
	if err != nil {
		t.Fatal(err)
	}
	h.advance(0)
	if pc, err := h.merchant.last().PayoutConfirmation(); err != nil || pc.OrderID != r2.OrderID {
		t.Errorf("immediate payout: %+v, %v", pc, err)
	}
}

func TestRefundWaitsForBalance(t *testing.T) {
	// The merchant owes Trustly 50.00: after settlement the balance does not
	// cover the refund, which waits until another payment settles.
	h := newHarness(t, func(c *sim.Config) { c.Balances = map[string]int64{"SEK": -5000} })
	res := h.paid("")
	r, err := h.refund(res.OrderID, 10300, "SEK")
	if err != nil {
		t.Fatal(err)
	}
	h.advance(2 * time.Hour)
	if o, _ := h.sim.Order(r.OrderID); o.State != sim.StateQueued || !strings.Contains(o.Note, "balance does not cover") {
		t.Fatalf("refund %s (%s)", o.State, o.Note)
	}
	h.paid("")
	h.advance(3 * time.Hour)
	if o, _ := h.sim.Order(r.OrderID); o.State != sim.StateExecuted {
		t.Fatalf("refund %s (%s)", o.State, o.Note)
	}
	if b := h.sim.Balances()["SEK"]; b != -5000+10300+10300-10300 {
		t.Errorf("balance %d", b)
	}
}

func TestRefundFailureSendsACreditOnTheRefundOrder(t *testing.T) {
	h := newHarness(t)
	res := h.paid("RF")
	r, err := h.refund(res.OrderID, 10300, "SEK")
	if err != nil {
		t.Fatal(err)
	}
	h.advance(2 * time.Hour)
	c, err := h.merchant.last().Credit()
	if err != nil || c.OrderID != r.OrderID || c.Amount != 10300 {
		t.Fatalf("credit on the refund order: %+v, %v", c, err)
	}
	ws, _ := h.client.GetWithdrawals(context.Background(), r.OrderID)
	if len(ws) != 1 || ws[0].TransferState != "FAILED" {
		t.Errorf("withdrawals %+v", ws)
	}
	// The money is back: it may be refunded again, and the balance is whole.
	if o, _ := h.sim.Order(res.OrderID); o.Refundable() != 10300 {
		t.Errorf("refundable %d", o.Refundable())
	}
	if b := h.sim.Balances()["SEK"]; b != 10300 {
		t.Errorf("balance %d", b)
	}
}

func TestPayoutFailureSendsPayoutfailedWithItsReason(t *testing.T) {
	h := newHarness(t)
	res := h.paid("PF")
	r, err := h.refund(res.OrderID, 10300, "SEK")
	if err != nil {
		t.Fatal(err)
	}
	h.advance(2 * time.Hour)
	n := h.merchant.last()
	v, err := n.PayoutFailed()
	if err != nil || v.OrderID != r.OrderID || v.Amount != 10300 || v.ErrorCode != "incorrect_account_number" || v.ErrorMessage == "" {
		t.Fatalf("payoutfailed on the refund order: %+v, %v", v, err)
	}
	if o, _ := h.sim.Order(res.OrderID); o.Refundable() != 10300 {
		t.Errorf("refundable %d", o.Refundable())
	}
}

func TestBalanceIsEmptyAtFirst(t *testing.T) {
	h := newHarness(t)
	bal, err := h.client.Balance(context.Background())
	if err != nil || len(bal) != 0 {
		t.Fatalf("%+v, %v", bal, err)
	}
}
