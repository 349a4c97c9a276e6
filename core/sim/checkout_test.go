package sim_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

func TestCheckoutPageShowsTheOrderInUTF8(t *testing.T) {
	h := newHarness(t)
	res := h.deposit(nil)
	resp := h.get(res.URL)
	page := readBody(resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "utf-8") {
		t.Fatalf("HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"Åsa Öberg", "103.00 SEK", "Exempel Butik", res.OrderID, `value="D1"`, `value="G3"`, "Approve", "Decline"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// The bank page is a bank list, then the approve step, and says it is a
// simulator; in the merchant's iframe (URLTarget _top) its form replaces
// the whole page, as Trustly's checkout does.
func TestCheckoutPageIsABankListLabelledAsSimulator(t *testing.T) {
	h := newHarness(t)
	page := readBody(h.get(h.deposit(nil).URL))
	for _, want := range []string{"Trustly simulator", "no real bank, no real money", "Choose your bank", "Nordvik Sparbank",
		"Granite Bank", `name="bank"`, `value="approve"`, `value="decline"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `target="_top"`) {
		t.Error("a page opened on its own targets _top")
	}
	framed := readBody(h.get(h.deposit(func(r *trustly.DepositRequest) { r.URLTarget = "_top" }).URL))
	if !strings.Contains(framed, `<form method="post" target="_top">`) {
		t.Errorf("URLTarget _top: the form does not target _top:\n%s", framed)
	}
}

func TestCheckoutApproveRedirectsToSuccessURL(t *testing.T) {
	h := newHarness(t)
	res := h.deposit(nil)
	resp, err := h.browser.PostForm(res.URL, url.Values{"action": {"approve"}, "scenario": {""}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example/success" {
		t.Fatalf("HTTP %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	h.advance(time.Minute)
	if got := h.merchant.methods(); strings.Join(got, ",") != "pending,credit" {
		t.Fatalf("received %v", got)
	}
	// A second visit cannot pay twice.
	resp = h.get(res.URL)
	if body := readBody(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "CREDITED") {
		t.Errorf("second visit: HTTP %d", resp.StatusCode)
	}
}

func TestCheckoutDeclineSendsCancelAndRedirectsToFailURL(t *testing.T) {
	h := newHarness(t)
	res := h.deposit(nil)
	resp, err := h.browser.PostForm(res.URL, url.Values{"action": {"decline"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example/fail" {
		t.Fatalf("HTTP %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	h.advance(0)
	if got := h.merchant.methods(); strings.Join(got, ",") != "cancel" {
		t.Fatalf("received %v", got)
	}
	if o, _ := h.sim.Order(res.OrderID); o.State != sim.StateCancelled {
		t.Errorf("state %s", o.State)
	}
}

func TestCheckoutExpires(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{
		{"default 30 minutes", 0},
		{"configured 10 minutes", 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *sim.Config) { c.CheckoutTTL = tc.ttl })
			ttl := tc.ttl
			if ttl == 0 {
				ttl = sim.DefaultCheckoutTTL
			}
			res := h.deposit(nil)
			h.advance(ttl - time.Second)
			if resp := h.get(res.URL); resp.StatusCode != http.StatusOK {
				t.Fatalf("a second before expiry: HTTP %d", resp.StatusCode)
			}
			h.advance(time.Second)
			resp := h.get(res.URL)
			if body := readBody(resp); resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired") {
				t.Fatalf("after expiry: HTTP %d\n%s", resp.StatusCode, body)
			}
			// Walking away ends in a cancel.
			if got := h.merchant.methods(); strings.Join(got, ",") != "cancel" {
				t.Fatalf("received %v", got)
			}
			resp = h.post(h.sim.URL()+"/sim/orders/"+res.OrderID+"/approve", nil)
			if resp.StatusCode != http.StatusGone {
				t.Errorf("approve after expiry: HTTP %d", resp.StatusCode)
			}
			resp.Body.Close()
			resp, err := h.browser.PostForm(res.URL, url.Values{"action": {"approve"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusGone {
				t.Errorf("checkout approve after expiry: HTTP %d", resp.StatusCode)
			}
		})
	}
}

func TestCheckoutUnknownTokenAndBadScenario(t *testing.T) {
	h := newHarness(t)
	if resp := h.get(h.sim.URL() + "/checkout/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown token: HTTP %d", resp.StatusCode)
	}
	res := h.deposit(nil)
	resp := h.post(h.sim.URL()+"/sim/orders/"+res.OrderID+"/approve?scenario=Z9", nil)
	if body := readBody(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Z9") {
		t.Errorf("unknown scenario: HTTP %d %s", resp.StatusCode, body)
	}
	if resp := h.post(h.sim.URL()+"/sim/orders/42/approve", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown order: HTTP %d", resp.StatusCode)
	}
}

func TestSuggestedAmountIsChosenByTheShopper(t *testing.T) {
	h := newHarness(t)
	res := h.deposit(func(r *trustly.DepositRequest) {
		r.Amount, r.SuggestedMinAmount, r.SuggestedMaxAmount = 0, 1000, 5000
	})
	if page := readBody(h.get(res.URL)); !strings.Contains(page, `name="amount" value="10.00"`) {
		t.Fatalf("page does not offer the amount:\n%s", page)
	}
	resp := h.post(h.sim.URL()+"/sim/orders/"+res.OrderID+"/approve?amount=60.00", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("amount above the maximum: HTTP %d", resp.StatusCode)
	}
	resp.Body.Close()
	resp = h.post(h.sim.URL()+"/sim/orders/"+res.OrderID+"/approve?amount=25.50", nil)
	resp.Body.Close()
	h.advance(time.Minute)
	credit, err := h.merchant.last().Credit()
	if err != nil || credit.Amount != 2550 {
		t.Fatalf("credit %+v, %v", credit, err)
	}
}

func TestApproveGoAPI(t *testing.T) {
	h := newHarness(t)
	res := h.deposit(nil)
	if _, err := h.sim.Approve(res.OrderID, "D1", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.Decline(res.OrderID); err == nil {
		t.Fatal("declined an approved order")
	}
	if err := h.sim.Advance(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h.merchant.methods(), ","); got != "pending,credit,debit" {
		t.Fatalf("received %s", got)
	}
}
