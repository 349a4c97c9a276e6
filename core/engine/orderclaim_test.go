package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// payClaimed runs a payment as the shop API does (the sidecar's
// createPayment): the ctx marked WithOrderClaim, the Deposit begun by
// PreparePayment, then the claim and the step under IdempotentOrder. On a
// single master the claim creates the order; on a Cluster the step does.
func payClaimed(w *world, idem store.Idempotency, key string, r engine.PaymentRequest) (engine.IdempotentResult, engine.Order, error) {
	w.t.Helper()
	ctx := engine.WithOrderClaim(w.ctx)
	step := w.eng.PreparePayment(ctx, r)
	res, err := engine.IdempotentOrder(ctx, idem, "payments", key, "fp-"+key, orderAnswer, func(ctx context.Context) (store.Outcome, error) {
		o, err := step(ctx)
		return orderAnswer(o), err
	})
	var o engine.Order
	if len(res.Outcome.Body) > 0 {
		if jerr := json.Unmarshal(res.Outcome.Body, &o); jerr != nil {
			w.t.Fatalf("answer %q: %v", res.Outcome.Body, jerr)
		}
	}
	return res, o, err
}

// ordersFor is every order carrying the invoice reference ref.
func ordersFor(w *world, ref string) []engine.Order {
	w.t.Helper()
	got, err := w.eng.FindPayments(w.ctx, engine.PaymentQuery{ExternalReference: ref})
	if err != nil && !errors.Is(err, store.ErrNotFound) && engine.KindOf(err) != engine.KindNotFound {
		w.t.Fatal(err)
	}
	return got
}

func invoice(ref string, amount int64) engine.PaymentRequest {
	r := payment(amount)
	r.ExternalReference = ref
	return r
}

// A payment run as the shop API runs it ends as one started order, whether
// its claim created the order (one master) or its step did (a Cluster); a
// repeat, a request while the key is in flight and a refused request leave
// no second order behind, and the refused one gives its key back.
func TestAPaymentRunUnderItsClaimLeavesOneOrder(t *testing.T) {
	onEach(t, func(t *testing.T, b backend) {
		w := newWorld(t, b)
		idem := store.NewRedisIdempotency(w.rdb, w.keys, store.IdempotencyOptions{})

		res, o, err := payClaimed(w, idem, "k-1", invoice("inv-1", 10000))
		if err != nil || !res.Ran || o.State != engine.StateStarted || o.TrustlyOrderID == "" || o.URL == "" {
			t.Fatalf("payment: %+v %+v %v", res, o, err)
		}
		if got := w.state(o.ID); got.State != engine.StateStarted || got.TrustlyOrderID != o.TrustlyOrderID || got.MessageID != o.MessageID {
			t.Fatalf("stored %+v, answered %+v", got, o)
		}
		if found, err := w.eng.FindPayments(w.ctx, engine.PaymentQuery{MessageID: o.MessageID}); err != nil || len(found) != 1 || found[0].ID != o.ID {
			t.Fatalf("by MessageID: %+v, %v", found, err)
		}

		again, replayed, err := payClaimed(w, idem, "k-1", invoice("inv-1", 10000))
		if err != nil || !again.Replayed || replayed.ID != o.ID {
			t.Fatalf("repeat: %+v %+v %v; want the first answer replayed", again, replayed, err)
		}
		if got := ordersFor(w, "inv-1"); len(got) != 1 {
			t.Fatalf("orders for inv-1 after a repeat: %d, want 1", len(got))
		}

		held, _, err := idem.Claim(w.ctx, "payments", "k-2", "fp-k-2")
		if err != nil {
			t.Fatal(err)
		}
		var inFlight *engine.Error
		if _, _, err := payClaimed(w, idem, "k-2", invoice("inv-2", 10000)); !errors.As(err, &inFlight) || inFlight.Code != engine.CodeIdempotencyInProgress {
			t.Fatalf("payment while its key is in flight: %v, want %s", err, engine.CodeIdempotencyInProgress)
		}
		if got := ordersFor(w, "inv-2"); len(got) != 0 {
			t.Fatalf("orders for inv-2 while its key was in flight: %d, want 0", len(got))
		}
		if err := idem.Release(w.ctx, held); err != nil {
			t.Fatal(err)
		}

		bad := invoice("inv-3", 10000)
		bad.Currency = "XXX"
		if _, _, err := payClaimed(w, idem, "k-3", bad); engine.KindOf(err) != engine.KindInvalid {
			t.Fatalf("refused payment: %v, want KindInvalid", err)
		}
		if got := ordersFor(w, "inv-3"); len(got) != 0 {
			t.Fatalf("orders for a refused payment: %d, want 0", len(got))
		}
		// The key was given back: the fixed request runs under it. Its
		// fingerprint is the test's, so it stands for the fixed request.
		if res, o, err := payClaimed(w, idem, "k-3", invoice("inv-3", 10000)); err != nil || !res.Ran || o.State != engine.StateStarted {
			t.Fatalf("the fixed request: %+v %+v %v", res, o, err)
		}
	})
}

// A returning shopper's Deposit carries the Express account also when the
// claim creates the order (and reads the account in its script), and the
// stored order names it; a shopper who opts out gets none.
func TestExpressUnderTheClaim(t *testing.T) {
	onEach(t, func(t *testing.T, b backend) {
		w := newWorld(t, b)
		idem := store.NewRedisIdempotency(w.rdb, w.keys, store.IdempotencyOptions{})
		_, first, err := payClaimed(w, idem, "k-first", payment(10000))
		if err != nil || first.AccountID != "" {
			t.Fatalf("first payment: %+v, %v; want no account yet", first, err)
		}
		w.approve(first, "G1") // sends account notifications
		w.advance(time.Minute)
		_, again, err := payClaimed(w, idem, "k-again", payment(500))
		if err != nil || again.AccountID == "" {
			t.Fatalf("returning shopper: %+v, %v; want the Express account", again, err)
		}
		if stored := w.state(again.ID); stored.AccountID != again.AccountID {
			t.Fatalf("stored account %q, answered %q", stored.AccountID, again.AccountID)
		}
		if sent, ok := w.sim.Order(again.TrustlyOrderID); !ok || sent.Attributes["AccountID"] != again.AccountID {
			t.Fatalf("the Deposit Trustly got: %+v; want AccountID %s", sent.Attributes, again.AccountID)
		}
		r := payment(500)
		r.NoExpress = true
		if _, opted, err := payClaimed(w, idem, "k-opted", r); err != nil || opted.AccountID != "" {
			t.Fatalf("opted out: %+v, %v; want no account", opted, err)
		}
	})
}

// A Redis that refuses scripts whose keys span slots, reached as one node
// (here a one-node Cluster; in production a sharding proxy), refuses the
// claim that creates the order before it runs: the payment is claimed and
// its order stored in two round trips instead, and ends the same.
func TestAPaymentWhereTheServerRefusesCrossSlotScripts(t *testing.T) {
	node := backend{"one-node cluster as a single node", func(t *testing.T) redis.UniversalClient {
		return redis.NewClient(&redis.Options{Addr: redistest.NewCluster(t, 1)[0]})
	}}
	w := newWorld(t, node)
	idem := store.NewRedisIdempotency(w.rdb, w.keys, store.IdempotencyOptions{})
	for _, key := range []string{"k-1", "k-2"} { // the refusal, then a store that knows
		res, o, err := payClaimed(w, idem, key, invoice("inv-"+key, 10000))
		if err != nil || !res.Ran || o.State != engine.StateStarted || o.TrustlyOrderID == "" {
			t.Fatalf("payment %s: %+v %+v %v", key, res, o, err)
		}
		if got := ordersFor(w, "inv-"+key); len(got) != 1 || got[0].State != engine.StateStarted {
			t.Fatalf("orders for %s: %+v, want one started", key, got)
		}
	}
	if idem.ClaimCreates() {
		t.Error("ClaimCreates is still true after the server refused its script")
	}
}
