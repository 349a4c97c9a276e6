package sim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// mandate runs SelectAccount with RequestDirectDebitMandate through the
// checkout with the given order option and returns the account notification.
func (h *harness) mandate(endUserID, scenario string) trustly.AccountNotification {
	h.t.Helper()
	res, err := h.client.SelectAccount(context.Background(), &trustly.SelectAccountRequest{
		NotificationURL: h.merchant.url(), EndUserID: endUserID, MessageID: nextMessageID(),
		Locale: "sv_SE", Country: "SE", Firstname: "Åsa", Lastname: "Öberg",
		SuccessURL: "https://shop.example/ok", FailURL: "https://shop.example/fail",
		Email: "asa@example.se", RequestDirectDebitMandate: true,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if !numeric.MatchString(res.OrderID) {
		h.t.Fatalf("orderid %q", res.OrderID)
	}
	before := len(h.merchant.all())
	h.approve(res.OrderID, scenario)
	h.advance(time.Second)
	got := h.merchant.all()[before:]
	if len(got) != 2 || got[0].Method != "pending" {
		h.t.Fatalf("after approval: %v, want pending then account", h.merchant.methods()[before:])
	}
	// SelectAccount moves no money: its pending carries no amount.
	if p, err := got[0].Pending(); err != nil || p.Amount != 0 || p.Currency != "" || p.OrderID != res.OrderID {
		h.t.Fatalf("pending %+v, %v", p, err)
	}
	a, err := got[1].Account()
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func TestSelectAccountMandate(t *testing.T) {
	h := newHarness(t)
	t.Run("approved: directdebitmandate 1", func(t *testing.T) {
		a := h.mandate("subscriber-1", "")
		if a.DirectDebitMandate == nil || !*a.DirectDebitMandate || !a.Verified || !numeric.MatchString(a.AccountID) ||
			a.ClearingHouse != "SWEDEN" || len(a.LastDigits) != 6 || !strings.HasSuffix(a.Descriptor, a.LastDigits) {
			t.Fatalf("account %+v", a)
		}
	})
	t.Run("declined: directdebitmandate 0", func(t *testing.T) {
		a := h.mandate("subscriber-2", "MD")
		if a.DirectDebitMandate == nil || *a.DirectDebitMandate {
			t.Fatalf("account %+v", a)
		}
	})
	t.Run("checkout page offers only account options", func(t *testing.T) {
		res, err := h.client.SelectAccount(context.Background(), &trustly.SelectAccountRequest{
			NotificationURL: h.merchant.url(), EndUserID: "x", MessageID: nextMessageID(),
			Locale: "sv_SE", Country: "SE", Firstname: "Åsa", Lastname: "Öberg",
			SuccessURL: "https://shop.example/ok", FailURL: "https://shop.example/fail",
		})
		if err != nil {
			t.Fatal(err)
		}
		page := readBody(h.get(res.URL))
		if !strings.Contains(page, `value="MD"`) || strings.Contains(page, `value="D1"`) || !strings.Contains(page, "Select your bank account") {
			t.Errorf("page:\n%s", page)
		}
		// Without a mandate request the account carries no mandate flag.
		h.approve(res.OrderID, "")
		h.advance(time.Second)
		a, err := h.merchant.last().Account()
		if err != nil || a.DirectDebitMandate != nil {
			t.Errorf("account %+v, %v", a, err)
		}
	})
	t.Run("declined in the checkout: cancel", func(t *testing.T) {
		res, err := h.client.SelectAccount(context.Background(), &trustly.SelectAccountRequest{
			NotificationURL: h.merchant.url(), EndUserID: "y", MessageID: nextMessageID(),
			Locale: "sv_SE", Country: "SE", Firstname: "A", Lastname: "B",
			SuccessURL: "https://shop.example/ok", FailURL: "https://shop.example/fail",
		})
		if err != nil {
			t.Fatal(err)
		}
		resp := h.post(h.sim.URL()+"/sim/orders/"+res.OrderID+"/decline", nil)
		resp.Body.Close()
		h.advance(0)
		if h.merchant.last().Method != "cancel" {
			t.Errorf("got %s", h.merchant.last().Method)
		}
	})
}

func (h *harness) chargeRequest(accountID, endUserID, paymentDate string) *trustly.ChargeRequest {
	return &trustly.ChargeRequest{
		AccountID: accountID, NotificationURL: h.merchant.url(), EndUserID: endUserID,
		MessageID: nextMessageID(), Amount: 9900, Currency: "SEK",
		ShopperStatement: "Monthly box", Email: "asa@example.se", PaymentDate: paymentDate,
	}
}

func TestChargeNeedsAnActiveMandate(t *testing.T) {
	h := newHarness(t)
	active := h.mandate("subscriber-1", "")
	declined := h.mandate("subscriber-2", "MD")
	tests := []struct {
		name      string
		accountID string
		endUserID string
	}{
		{"unknown account", "1234567890", "subscriber-1"},
		{"declined mandate", declined.AccountID, "subscriber-2"},
		{"someone else's account", active.AccountID, "subscriber-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.client.Charge(context.Background(), h.chargeRequest(tt.accountID, tt.endUserID, ""))
			if err != nil || res.Accepted || res.Rejected != sim.RejectMandateNotFound || res.OrderID != "" {
				t.Fatalf("%+v, %v", res, err)
			}
		})
	}
}

func TestChargeOnItsPaymentDate(t *testing.T) {
	h := newHarness(t)
	a := h.mandate("subscriber-1", "")
	ctx := context.Background()
	t.Run("without a PaymentDate: at once", func(t *testing.T) {
		res, err := h.client.Charge(ctx, h.chargeRequest(a.AccountID, "subscriber-1", ""))
		if err != nil || !res.Accepted || !numeric.MatchString(res.OrderID) {
			t.Fatalf("%+v, %v", res, err)
		}
		h.advance(time.Minute)
		c, err := h.merchant.last().Credit()
		if err != nil || c.OrderID != res.OrderID || c.Amount != 9900 {
			t.Fatalf("credit %+v, %v", c, err)
		}
	})
	t.Run("with a PaymentDate: on that day", func(t *testing.T) {
		// Now is Monday 2025-03-03 10:01 in Stockholm.
		res, err := h.client.Charge(ctx, h.chargeRequest(a.AccountID, "subscriber-1", "2025-03-05"))
		if err != nil || !res.Accepted {
			t.Fatalf("%+v, %v", res, err)
		}
		// Trustly's pending comes when it has received the Charge.
		before := len(h.merchant.all())
		h.advance(time.Second)
		if got := h.merchant.all()[before:]; len(got) != 1 || got[0].Method != "pending" || got[0].OrderID != res.OrderID {
			t.Fatalf("on receipt: %v", h.merchant.methods()[before:])
		}
		before = len(h.merchant.all())
		h.advance(24 * time.Hour)
		if len(h.merchant.all()) != before {
			t.Fatalf("charged early: %v", h.merchant.methods())
		}
		h.advance(24 * time.Hour)
		got := h.merchant.all()[before:]
		if len(got) != 1 || got[0].Method != "credit" || got[0].OrderID != res.OrderID {
			t.Fatalf("got %v", h.merchant.methods()[before:])
		}
		o, _ := h.sim.Order(res.OrderID)
		want := time.Date(2025, 3, 5, 0, 0, 0, 0, sim.Stockholm())
		if !o.ExecuteAt.Equal(want) || o.State != sim.StateCredited {
			t.Errorf("order %s executed at %v, want %v", o.State, o.ExecuteAt, want)
		}
	})
}

// A PaymentDate on a weekend is drawn on the next bank day.
func TestChargeOnAWeekendIsDrawnOnMonday(t *testing.T) {
	h := newHarness(t)
	a := h.mandate("subscriber-1", "")
	// Now is Monday 2025-03-03; 2025-03-08 is a Saturday.
	res, err := h.client.Charge(context.Background(), h.chargeRequest(a.AccountID, "subscriber-1", "2025-03-08"))
	if err != nil || !res.Accepted {
		t.Fatalf("%+v, %v", res, err)
	}
	o, _ := h.sim.Order(res.OrderID)
	if want := time.Date(2025, 3, 10, 0, 0, 0, 0, sim.Stockholm()); !o.ExecuteAt.Equal(want) {
		t.Fatalf("drawn at %v, want Monday %v", o.ExecuteAt, want)
	}
}

func TestCancelCharge(t *testing.T) {
	// Deadline for PaymentDate 2025-03-05: 2025-03-04 18:00 Stockholm = 17:00 UTC.
	deadline := time.Date(2025, 3, 4, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		paymentDate string
		at          time.Time // when CancelCharge is called
		accepted    bool
		rejected    string
	}{
		{"future date, a day before the cut-off", "2025-03-05", start, true, ""},
		{"a minute before the cut-off", "2025-03-05", deadline.Add(-time.Minute), true, ""},
		{"at the cut-off", "2025-03-05", deadline, false, sim.RejectPastCutoff},
		{"after the charge was drawn", "2025-03-05", deadline.Add(12 * time.Hour), false, sim.RejectPastCutoff},
		{"no PaymentDate", "", start, false, sim.RejectNoPaymentDate},
		{"a PaymentDate of the day it was sent", start.In(sim.Stockholm()).Format(time.DateOnly), start, false, sim.RejectNoPaymentDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			a := h.mandate("subscriber-1", "")
			ctx := context.Background()
			res, err := h.client.Charge(ctx, h.chargeRequest(a.AccountID, "subscriber-1", tt.paymentDate))
			if err != nil || !res.Accepted {
				t.Fatalf("charge %+v, %v", res, err)
			}
			h.advance(time.Second) // the pending of a received Charge
			if d := tt.at.Sub(h.sim.Now()); d > 0 {
				h.advance(d)
			}
			before := len(h.merchant.all())
			cres, err := h.client.CancelCharge(ctx, &trustly.CancelChargeRequest{OrderID: res.OrderID})
			if err != nil || cres.Accepted != tt.accepted || cres.Rejected != tt.rejected {
				t.Fatalf("cancel %+v, %v; want accepted %v rejected %q", cres, err, tt.accepted, tt.rejected)
			}
			h.advance(3 * 24 * time.Hour)
			got := strings.Join(h.merchant.methods()[before:], ",")
			credited := false
			for _, n := range h.merchant.all() {
				credited = credited || n.Method == "credit" && n.OrderID == res.OrderID
			}
			if tt.accepted && (got != "cancel" || credited) {
				t.Errorf("after cancelling: received %s, want cancel only", got)
			}
			if !tt.accepted && !credited {
				t.Errorf("a charge that was not cancelled was not credited")
			}
			if tt.accepted {
				again, err := h.client.CancelCharge(ctx, &trustly.CancelChargeRequest{OrderID: res.OrderID})
				if err != nil || again.Accepted || again.Rejected != sim.RejectAlreadyCancelled {
					t.Errorf("second cancel %+v, %v", again, err)
				}
			}
		})
	}
	t.Run("not a Charge", func(t *testing.T) {
		h := newHarness(t)
		res := h.paid("")
		_, err := h.client.CancelCharge(context.Background(), &trustly.CancelChargeRequest{OrderID: res.OrderID})
		if trustly.ErrorCode(err) != trustly.CodeInvalidParameters {
			t.Fatalf("err = %v", err)
		}
	})
}
