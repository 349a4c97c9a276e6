package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// balanceCalls counts the Balance calls an engine makes.
type balanceCalls struct {
	engine.Trustly
	n *atomic.Int32
}

func (b balanceCalls) Balance(ctx context.Context) ([]trustly.Balance, error) {
	b.n.Add(1)
	return b.Trustly.Balance(ctx)
}

func TestRefreshBalanceCallsTrustlyOncePerIntervalAcrossEngines(t *testing.T) {
	onEach(t, testRefreshBalance)
}

func testRefreshBalance(t *testing.T, b backend) {
	w := newWorld(t, b, func(o *opts) { o.balances = map[string]int64{"SEK": 123_456, "EUR": 500} })
	var calls atomic.Int32
	engines := []*engine.Engine{w.engine(balanceCalls{w.api, &calls}), w.engine(balanceCalls{w.api, &calls})}
	for round := range 3 {
		for i, e := range engines {
			did, err := e.RefreshBalance(w.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := round == 0 && i == 0; did != want {
				t.Fatalf("round %d engine %d: RefreshBalance = %v, want %v", round, i, did, want)
			}
		}
		w.clock.Advance(5 * time.Minute) // the slot is Redis's: the engines' clock does not free it
	}
	if calls.Load() != 1 {
		t.Fatalf("%d Balance calls, want 1 per 15 minutes", calls.Load())
	}
	got, err := engines[1].Balance(w.ctx)
	if err != nil || got.ByCurrency["SEK"] != 123_456 || got.ByCurrency["EUR"] != 500 || !got.At.Equal(start) {
		t.Fatalf("Balance = %+v, %v; want the figures stored at %s", got, err, start)
	}
}

func TestARefundAboveTheKnownBalanceIsRefused(t *testing.T) { onEach(t, testRefundAboveBalance) }

func testRefundAboveBalance(t *testing.T, b backend) {
	w := newWorld(t, b, func(o *opts) { o.balances = map[string]int64{"SEK": 5000} })
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(time.Minute)
	// Unknown balance: no check.
	if _, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 100}); err != nil {
		t.Fatalf("refund with no known balance: %v", err)
	}
	if _, err := w.eng.RefreshBalance(w.ctx); err != nil {
		t.Fatal(err)
	}
	bal, _ := w.eng.Balance(w.ctx)
	_, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: bal.ByCurrency["SEK"] + 1})
	var ee *engine.Error
	if !errors.As(err, &ee) || ee.Code != engine.CodeBalanceInsufficient || ee.Kind != engine.KindConflict {
		t.Fatalf("refund above the balance = %v, want %s", err, engine.CodeBalanceInsufficient)
	}
	if p := w.state(o.ID); p.Refundable != 9900 || len(p.Refunds) != 1 {
		t.Fatalf("a refused refund must reserve nothing: %+v", p)
	}
	r, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: bal.ByCurrency["SEK"] + 1, IgnoreBalance: true})
	if err != nil || r.State != engine.StateStarted {
		t.Fatalf("refund with the override = %+v, %v", r, err)
	}
}

// A known balance older than RefundBalanceMaxAge that would refuse a refund
// is fetched again first, once for all the refunds (of every process)
// waiting on it; a fresh one refuses with the figures.
func TestAStaleBalanceIsFetchedAgainBeforeItRefuses(t *testing.T) { onEach(t, testStaleBalance) }

func testStaleBalance(t *testing.T, b backend) {
	w := newWorld(t, b, func(o *opts) { o.balances = map[string]int64{"SEK": 5000} })
	var calls atomic.Int32
	engines := []*engine.Engine{w.engine(balanceCalls{w.api, &calls}), w.engine(balanceCalls{w.api, &calls})}
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(10 * time.Second) // credited, not yet settled at Trustly
	if _, err := engines[0].RefreshBalance(w.ctx); err != nil {
		t.Fatal(err)
	}
	// Fresh and too small: refused, saying the figures, with no new call.
	_, err := engines[1].Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 6000})
	var ee *engine.Error
	if !errors.As(err, &ee) || ee.Code != engine.CodeBalanceInsufficient || !strings.Contains(ee.Error(), "60.00 SEK exceeds the merchant's Trustly balance of 50.00 SEK") {
		t.Fatalf("refund above a fresh balance = %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d Balance calls, want only the first", calls.Load())
	}
	// Two minutes on, the deposit has settled: the stale 50.00 is fetched
	// again, once, for three refunds asking at the same time.
	w.advance(2 * time.Minute)
	var wg sync.WaitGroup
	var ok, exceeds atomic.Int32
	for i := range 3 {
		wg.Go(func() {
			_, err := engines[i%2].Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 6000})
			var ee *engine.Error
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &ee) && ee.Code == engine.CodeAmountExceedsRefundable:
				exceeds.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || exceeds.Load() != 2 {
		t.Fatalf("%d refunds made, %d refused as exceeding; want 1 and 2", ok.Load(), exceeds.Load())
	}
	if calls.Load() != 2 {
		t.Fatalf("%d Balance calls in all, want 2 (the refresh shared by the three refunds)", calls.Load())
	}
}

func TestCancelCharge(t *testing.T) { onEach(t, testCancelCharge) }

func testCancelCharge(t *testing.T, b backend) {
	w := newWorld(t, b)
	w.activeMandate()
	charge := func() engine.Order {
		c, err := w.eng.CreateCharge(w.ctx, engine.ChargeRequest{EndUserID: "shopper-1", Currency: "SEK", Amount: 1000,
			PaymentDate: "2025-03-05", ShopperStatement: "Shop", Email: "asa@example.com"})
		if err != nil || c.State != engine.StateStarted {
			t.Fatalf("charge = %+v, %v", c, err)
		}
		return c
	}
	early, late := charge(), charge()

	got, err := w.eng.CancelCharge(w.ctx, early.ID)
	if err != nil || got.State != engine.StateCancelled {
		t.Fatalf("CancelCharge before the cut-off = %+v, %v", got, err)
	}
	w.advance(time.Minute) // Trustly's cancel notification changes nothing more
	w.wantState(early.ID, engine.StateCancelled)
	w.pump()
	if p := w.got.path(early.ID); p != "started>cancelled" {
		t.Fatalf("platform saw %q, want started>cancelled", p)
	}

	// 18:00 Stockholm the day before the PaymentDate has passed.
	w.advance(time.Date(2025, 3, 4, 18, 0, 0, 0, time.UTC).Sub(w.clock.Now()))
	_, err = w.eng.CancelCharge(w.ctx, late.ID)
	var ee *engine.Error
	if !errors.As(err, &ee) || ee.Code != engine.CodeCancelRejected {
		t.Fatalf("CancelCharge after the cut-off = %v, want %s", err, engine.CodeCancelRejected)
	}
	// Trustly sent pending when it received the Charge; refused, it stays so.
	w.wantState(late.ID, engine.StatePending)
	if again, err := w.eng.CancelCharge(w.ctx, early.ID); err != nil || again.State != engine.StateCancelled {
		t.Fatalf("CancelCharge of a cancelled charge = %+v, %v; want it as it is", again, err)
	}
	w.advance(24 * time.Hour) // the PaymentDate comes: the late charge is collected
	w.wantState(late.ID, engine.StatePaid)
	if _, err := w.eng.CancelCharge(w.ctx, late.ID); !errors.As(err, &ee) || ee.Code != engine.CodeNotCancellable {
		t.Fatalf("CancelCharge of a paid charge = %v, want %s", err, engine.CodeNotCancellable)
	}
}

func TestRunLoopsWorkAndStop(t *testing.T) {
	w := newWorld(t, backends[0])
	stale := w.pay(payment(10000))
	w.clock.Advance(engine.DefaultCheckoutTTL + engine.DefaultStaleAfter + time.Second)

	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	ran := make(chan error, 2)
	go func() { ran <- w.eng.Run(ctx, 10*time.Millisecond) }()
	go func() { ran <- w.eng.Outbox(&w.got, engine.OutboxConfig{Poll: 10 * time.Millisecond}).Run(ctx) }()

	deadline := time.Now().Add(10 * time.Second)
	for w.got.path(stale.ID) != "started>expired" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p := w.got.path(stale.ID); p != "started>expired" {
		t.Fatalf("platform saw %q, want started>expired", p)
	}
	if bal, err := w.eng.Balance(w.ctx); err != nil || bal.At.IsZero() {
		t.Fatalf("the balance was not refreshed: %+v, %v", bal, err)
	}
	// The pass that expired the order is counted when it ends, which may be
	// after the platform heard of it: wait for the count, bounded.
	for st := w.eng.Stats(); (st.Reconciles == 0 || st.Expired != 1) && time.Now().Before(deadline); st = w.eng.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	if st := w.eng.Stats(); st.Reconciles == 0 || st.Expired != 1 {
		t.Fatalf("stats = %+v", st)
	}
	cancel()
	for range 2 {
		select {
		case err := <-ran:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a Run loop did not return after its context ended")
		}
	}
}
