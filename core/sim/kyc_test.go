package sim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// kycMerchant answers kyc with status (and everything else OK), or with
// HTTP 500 when status is "".
func kycMerchant(h *harness, status trustly.ReplyStatus) {
	h.merchant.setReply(func(n *trustly.Notification, _ int) (int, []byte) {
		if n.Method != "kyc" {
			return http.StatusOK, nil
		}
		if status == "" {
			return http.StatusInternalServerError, []byte("down")
		}
		b, err := trustly.NewReply(merchantKey, n, status)
		if err != nil {
			h.t.Error(err)
		}
		return http.StatusOK, b
	})
}

func kycDeposit(h *harness) *trustly.DepositResult {
	return h.deposit(func(r *trustly.DepositRequest) {
		r.RequestKYC = true
		r.NationalIdentificationNumber = "800130-1234"
	})
}

// The bank page offers whom the bank identifies only when the Deposit
// asked for KYC; a FINISH sends the shopper to the FailURL and cancels.
func TestKYCFinishEndsTheDeposit(t *testing.T) {
	h := newHarness(t)
	if page := readBody(h.get(h.deposit(nil).URL)); strings.Contains(page, `name="kyc"`) {
		t.Error("the bank page offers a KYC identity for a Deposit without RequestKYC")
	}
	kycMerchant(h, trustly.ReplyFinish)
	res := kycDeposit(h)
	if page := readBody(h.get(res.URL)); !strings.Contains(page, `<option value="minor">`) {
		t.Fatalf("the bank page offers no KYC identity:\n%s", page)
	}
	resp, err := h.browser.PostForm(res.URL, url.Values{"action": {"approve"}, "kyc": {"minor"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "https://shop.example/fail" {
		t.Fatalf("HTTP %d to %q, want 303 to the FailURL", resp.StatusCode, loc)
	}
	h.advance(time.Minute)
	if got := strings.Join(h.merchant.methods(), ","); got != "kyc,cancel" {
		t.Fatalf("merchant received %s, want kyc,cancel", got)
	}
	k, err := h.merchant.all()[0].KYC()
	if err != nil {
		t.Fatal(err)
	}
	if want := start.UTC().AddDate(-16, 0, 0).Format(time.DateOnly); k.DateOfBirth != want || k.PersonID == "SE198001301234" || k.KYCEntityID == "" {
		t.Errorf("the minor's kyc: %+v, want born %s and another personid", k, want)
	}
	if o, _ := h.sim.Order(res.OrderID); o.State != sim.StateCancelled || o.KYC != "FINISH" {
		t.Errorf("order %s, kyc %q; want CANCELLED after FINISH", o.State, o.KYC)
	}
}

// CONTINUE lets the deposit go on, with the shop's own shopper reported.
func TestKYCContinueGoesOn(t *testing.T) {
	h := newHarness(t)
	kycMerchant(h, trustly.ReplyContinue)
	res := kycDeposit(h)
	target, err := h.sim.ApproveAs(res.OrderID, sim.DefaultScenario, 0, sim.KYCAdult)
	if err != nil || target != "https://shop.example/success" {
		t.Fatalf("ApproveAs = %q, %v", target, err)
	}
	h.advance(time.Minute)
	if got := strings.Join(h.merchant.methods(), ","); got != "kyc,pending,credit" {
		t.Fatalf("merchant received %s, want kyc,pending,credit", got)
	}
	k, _ := h.merchant.all()[0].KYC()
	if k.PersonID != "SE198001301234" || k.DateOfBirth != "1980-01-30" || k.FirstName != "Åsa" {
		t.Errorf("the adult's kyc: %+v, want the person of 800130-1234", k)
	}
}

// No valid answer is no permission: the deposit ends, and the kyc is not
// resent after the shopper has gone.
func TestKYCWithoutAnAnswerEndsTheDeposit(t *testing.T) {
	h := newHarness(t)
	kycMerchant(h, "")
	res := kycDeposit(h)
	if target, err := h.sim.ApproveAs(res.OrderID, "", 0, sim.KYCAdult); err != nil || target != "https://shop.example/fail" {
		t.Fatalf("ApproveAs = %q, %v", target, err)
	}
	h.advance(24 * time.Hour)
	if got := strings.Join(h.merchant.methods(), ","); got != "kyc,cancel" {
		t.Fatalf("merchant received %s, want kyc,cancel (no resent kyc)", got)
	}
	// An answer not allowed for kyc (OK) counts as none.
	h2 := newHarness(t)
	h2.merchant.setReply(func(n *trustly.Notification, _ int) (int, []byte) {
		b, _ := trustly.SignReply(merchantKey, n.Method, n.UUID, trustly.ReplyOK)
		if n.Method == "kyc" {
			// SignReply refuses OK for kyc; build what a careless merchant sends.
			return http.StatusOK, []byte(`{"result":{"signature":"x","uuid":"` + n.UUID + `","method":"kyc","data":{"status":"OK"}},"version":"1.1"}`)
		}
		return http.StatusOK, b
	})
	res = kycDeposit(h2)
	if target, _ := h2.sim.ApproveAs(res.OrderID, "", 0, sim.KYCAdult); target != "https://shop.example/fail" {
		t.Errorf("an OK to kyc let the deposit go on (%q)", target)
	}
}

func TestKYCAbortAndUnknownIdentity(t *testing.T) {
	h := newHarness(t)
	kycMerchant(h, trustly.ReplyFinish)
	res := kycDeposit(h)
	if _, err := h.sim.ApproveAs(res.OrderID, "", 0, "teenager"); err == nil {
		t.Fatal("an unknown KYC identity was taken")
	}
	if _, err := h.sim.ApproveAs(res.OrderID, "", 0, sim.KYCAbort); err != nil {
		t.Fatal(err)
	}
	k, err := h.merchant.all()[0].KYC()
	if err != nil || !k.Abort || k.AbortMessage != "unverified" {
		t.Errorf("abort kyc: %+v, %v", k, err)
	}
}
