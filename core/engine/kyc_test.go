package engine_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
)

// kycPayment asks for KYC, naming the shopper by a Swedish personnummer
// (born 1980-01-30; the world's clock says 2025-03-03).
func kycPayment() engine.PaymentRequest {
	r := payment(10000)
	r.RequestKYC = true
	r.NationalIdentificationNumber = "800130-1234"
	return r
}

func policy(p engine.KYCPolicy) func(*engine.Config) {
	return func(c *engine.Config) { c.KYC = p }
}

// syncBuffer is a log sink the notification route and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestKYCDecidesTheDeposit(t *testing.T) { onEach(t, testKYCDecidesTheDeposit) }

func testKYCDecidesTheDeposit(t *testing.T, b backend) {
	adult := engine.KYCPolicy{MinimumAge: 18, MatchNationalID: true}
	for _, tc := range []struct {
		name     string
		policy   engine.KYCPolicy
		req      func(r *engine.PaymentRequest)
		identity string
		decision string
		reason   string
		final    engine.State
		platform string
	}{
		{"the named adult goes on", adult, nil, sim.KYCAdult, "CONTINUE", engine.KYCPassed, engine.StatePaid, "started>pending>paid"},
		{"a minor is stopped", adult, nil, sim.KYCMinor, "FINISH", engine.KYCUnderMinimumAge, engine.StateCancelled, "started>cancelled"},
		{"another person than the shop named is stopped", adult, nil, sim.KYCOther, "FINISH", engine.KYCNationalIDMismatch, engine.StateCancelled, "started>cancelled"},
		{"another person passes without the match rule", engine.KYCPolicy{MinimumAge: 18}, nil, sim.KYCOther, "CONTINUE", engine.KYCPassed, engine.StatePaid, "started>pending>paid"},
		{"Trustly's own abort is not overruled", adult, nil, sim.KYCAbort, "FINISH", engine.KYCTrustlyAborted, engine.StateCancelled, "started>cancelled"},
		{"the payment's own minimum age", adult, func(r *engine.PaymentRequest) { r.KYCMinimumAge = 50 }, sim.KYCAdult, "FINISH", engine.KYCUnderMinimumAge, engine.StateCancelled, "started>cancelled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, b)
			var logs syncBuffer
			w.eng = w.engine(w.api, policy(tc.policy), func(c *engine.Config) {
				c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			r := kycPayment()
			if tc.req != nil {
				tc.req(&r)
			}
			o := w.pay(r)
			if o.KYC == nil || !o.KYC.Requested || o.KYC.Decision != "" {
				t.Fatalf("new order's KYC = %+v, want requested and undecided", o.KYC)
			}
			target, err := w.sim.ApproveAs(o.TrustlyOrderID, "", 0, tc.identity)
			if err != nil {
				t.Fatal(err)
			}
			wantTarget := "https://shop.example/ok"
			if tc.decision == "FINISH" {
				wantTarget = "https://shop.example/fail"
			}
			if target != wantTarget {
				t.Errorf("shopper sent to %q, want %q", target, wantTarget)
			}
			so, _ := w.sim.Order(o.TrustlyOrderID)
			if so.KYC != tc.decision {
				t.Errorf("Trustly was answered %q, want %q", so.KYC, tc.decision)
			}
			w.advance(10 * time.Second)
			got := w.wantState(o.ID, tc.final)
			if got.KYC == nil || got.KYC.Decision != tc.decision || got.KYC.Reason != tc.reason || got.KYC.DecidedAt.IsZero() || got.KYC.NotificationID == "" {
				t.Errorf("KYC = %+v, want %s %s", got.KYC, tc.decision, tc.reason)
			}
			w.pump()
			if p := w.got.path(o.ID); p != tc.platform {
				t.Errorf("platform heard %s, want %s", p, tc.platform)
			}
			tl, err := w.eng.Timeline(w.ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := "kyc_" + strings.ToLower(tc.decision)
			found := false
			for _, e := range tl {
				found = found || e.Kind == engine.TimelineNotification && e.What == want
			}
			if !found {
				t.Errorf("timeline has no %s: %+v", want, tl)
			}
			// What the bank said of the person stays out of the log.
			for _, secret := range []string{"198001301234", "1980-01-30", "SE197505059876", "Öberg", "Simulated Street", "800130"} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the log holds personal data %q", secret)
				}
			}
		})
	}
}

// A resent kyc gets the first answer, whatever the policy says now:
// Trustly must hear one decision per notification.
func TestKYCResendGetsTheFirstAnswer(t *testing.T) {
	w := newWorld(t, backends[0])
	w.eng = w.engine(w.api, policy(engine.KYCPolicy{MinimumAge: 18}))
	o := w.pay(kycPayment())
	if _, err := w.sim.ApproveAs(o.TrustlyOrderID, "", 0, sim.KYCMinor); err != nil {
		t.Fatal(err)
	}
	var kyc sim.Notification
	for _, n := range w.sim.Notifications(o.TrustlyOrderID) {
		if n.Method == "kyc" {
			kyc = n
		}
	}
	if kyc.Status != "FINISH" {
		t.Fatalf("kyc answered %q, want FINISH", kyc.Status)
	}
	w.eng = w.engine(w.api, policy(engine.KYCPolicy{}))
	att, err := w.sim.Replay(w.ctx, kyc.NotificationID)
	if err != nil || !att.OK || att.Status != "FINISH" {
		t.Fatalf("resent kyc answered %+v, %v; want FINISH again", att, err)
	}
}

// The failure paths: a kyc no order takes, and one whose data does not
// read, are kept for a person and answered FINISH; a kyc for a paid order
// is FINISH too, and a Deposit that did not ask is not stopped.
func TestKYCFailurePaths(t *testing.T) {
	w := newWorld(t, backends[0])
	w.eng = w.engine(w.api, policy(engine.KYCPolicy{MinimumAge: 18, MatchNationalID: true}))
	o := w.pay(payment(10000))

	send := func(orderID string, data map[string]any) sim.Notification {
		t.Helper()
		n, err := w.sim.SendCustom(w.ctx, orderID, sim.CustomNotification{Method: "kyc", Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Attempts) == 0 || !n.Attempts[0].OK {
			t.Fatalf("kyc not answered: %+v", n.Attempts)
		}
		return n
	}
	if n := send(o.TrustlyOrderID, map[string]any{"orderid": "999", "messageid": "never-ours", "kycentityid": "e-1"}); n.Status != "FINISH" {
		t.Errorf("kyc for an unknown order answered %q, want FINISH", n.Status)
	}
	if n := send(o.TrustlyOrderID, map[string]any{"kycentityid": map[string]any{"not": "text"}}); n.Status != "FINISH" {
		t.Errorf("malformed kyc answered %q, want FINISH", n.Status)
	}
	kept, err := w.eng.Unrouted(w.ctx, 10)
	if err != nil || len(kept) != 2 {
		t.Fatalf("unrouted = %+v, %v; want both kyc kept", kept, err)
	}
	for _, k := range kept {
		if k.Method != "kyc" || k.Answer != "FINISH" || k.Reason == "" {
			t.Errorf("kept %+v", k)
		}
	}
	// Not asked for by the payment: the shopper is not stopped.
	if n := send(o.TrustlyOrderID, map[string]any{"kycentityid": "e-2", "attributes": map[string]any{"dob": "2015-01-01"}}); n.Status != "CONTINUE" {
		t.Errorf("kyc for a Deposit that asked for none answered %q, want CONTINUE", n.Status)
	}
	if got := w.state(o.ID); got.KYC == nil || got.KYC.Reason != engine.KYCNotRequested || got.KYC.Requested {
		t.Errorf("KYC = %+v, want not_requested", got.KYC)
	}
	// A kyc for an order that is already paid does not start another transfer.
	w.approve(o, "")
	w.advance(10 * time.Second)
	w.wantState(o.ID, engine.StatePaid)
	if n := send(o.TrustlyOrderID, map[string]any{"kycentityid": "e-3"}); n.Status != "FINISH" {
		t.Errorf("kyc for a paid order answered %q, want FINISH", n.Status)
	}
	// A minimum age without KYC, or out of range, is refused up front.
	for _, r := range []engine.PaymentRequest{
		func() engine.PaymentRequest { r := payment(100); r.KYCMinimumAge = 18; return r }(),
		func() engine.PaymentRequest { r := kycPayment(); r.KYCMinimumAge = 200; return r }(),
	} {
		if _, err := w.eng.CreatePayment(w.ctx, r); engine.KindOf(err) != engine.KindInvalid {
			t.Errorf("CreatePayment(min age %d, kyc %v) = %v, want KindInvalid", r.KYCMinimumAge, r.RequestKYC, err)
		}
	}
}
