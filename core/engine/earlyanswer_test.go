package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// orderAnswer stands for the shop API's answer: the order as JSON.
func orderAnswer(o engine.Order) store.Outcome {
	b, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	return store.Outcome{Code: "201", Body: b}
}

// An accepted call's answer is stored under its idempotency key in the
// round trip that carries the call's transition, not after it: while that
// round trip is held, the record is not done yet, and the round trip
// writes it. The answer is the order as the transition leaves it, byte for
// byte, and a repeat gets it again.
func TestAnAcceptedCallsAnswerIsStoredBesideItsTransition(t *testing.T) {
	for _, flow := range []string{"payment", "mandate", "charge"} {
		t.Run(flow, func(t *testing.T) {
			hook := &heldScript{match: orderTransition, hold: 50 * time.Millisecond}
			rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
			rdb.AddHook(hook)
			t.Cleanup(func() { rdb.Close() })
			w := newWorld(t, backends[0], func(o *opts) { o.rdb = rdb })
			// A clock a millisecond further at every read: the answer
			// must carry the transition's own time, not one read again.
			var ticks atomic.Int64
			w.eng = w.engine(w.api, func(c *engine.Config) {
				c.Now = func() time.Time { return time.Now().Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
			})
			if flow == "charge" {
				w.activeMandate()
			}
			idem := store.NewRedisIdempotency(rdb, w.keys, store.IdempotencyOptions{})
			record := w.keys.Idempotency("shop", "k-"+flow).Record
			var stateWhileHeld atomic.Value
			hook.check = func() {
				st, _ := w.rdb.HGet(context.Background(), record, "state").Result()
				stateWhileHeld.Store(st)
			}
			var id string
			run := func(ctx context.Context) (store.Outcome, error) {
				hook.on.Store(true)
				defer hook.on.Store(false)
				o, err := create(ctx, w, flow)
				id = o.ID
				return orderAnswer(o), err
			}
			res, err := engine.IdempotentOrder(w.ctx, idem, "shop", "k-"+flow, "fp", orderAnswer, run)
			if err != nil || !res.Ran {
				t.Fatalf("ran %v, err %v", res.Ran, err)
			}
			if got := stateWhileHeld.Load(); got != "running" {
				t.Errorf("the idempotency record was %q while the transition was held; want running", got)
			}
			if !hook.carriedKey(record) {
				t.Errorf("the transition's round trip did not write the idempotency record")
			}
			o, err := w.eng.GetPayment(w.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if o.State != engine.StateStarted || o.TrustlyOrderID == "" {
				t.Fatalf("order %s %s tid %q after the transition", o.ID, o.State, o.TrustlyOrderID)
			}
			if want := orderAnswer(o); res.Outcome.Code != want.Code || !bytes.Equal(res.Outcome.Body, want.Body) {
				t.Errorf("answered %s %s\nwant the order as stored: %s %s", res.Outcome.Code, res.Outcome.Body, want.Code, want.Body)
			}
			again, err := engine.IdempotentOrder(w.ctx, idem, "shop", "k-"+flow, "fp", orderAnswer, func(context.Context) (store.Outcome, error) {
				t.Error("a repeat ran")
				return store.Outcome{}, nil
			})
			if err != nil || !again.Replayed || !bytes.Equal(again.Outcome.Body, res.Outcome.Body) {
				t.Errorf("repeat: replayed %v %s, err %v; want the first answer", again.Replayed, again.Outcome.Body, err)
			}
		})
	}
}

// When the transition fails after the answer was stored, the caller gets
// the stored answer (what a repeat gets) with the store's error, the order
// stays as created (its notifications and the reconciler take it from
// there), and the failure is logged at ERROR.
func TestAStoredAnswerStandsWhenItsTransitionFails(t *testing.T) {
	hook := &heldScript{match: orderTransition, hold: 50 * time.Millisecond, fail: true}
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	rdb.AddHook(hook)
	t.Cleanup(func() { rdb.Close() })
	w := newWorld(t, backends[0], func(o *opts) { o.rdb = rdb })
	var logs bytes.Buffer
	w.eng = w.engine(w.api, func(c *engine.Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	idem := store.NewRedisIdempotency(rdb, w.keys, store.IdempotencyOptions{})

	var id string
	res, err := engine.IdempotentOrder(w.ctx, idem, "shop", "k", "fp", orderAnswer, func(ctx context.Context) (store.Outcome, error) {
		hook.on.Store(true)
		defer hook.on.Store(false)
		o, err := w.eng.CreatePayment(ctx, payment(10000))
		id = o.ID
		return store.Outcome{Code: "500", Body: []byte(`{"error":"not this"}`)}, err
	})
	if !res.Ran || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ran %v, err %v; want the store's error", res.Ran, err)
	}
	var answered engine.Order
	if err := json.Unmarshal(res.Outcome.Body, &answered); err != nil || res.Outcome.Code != "201" {
		t.Fatalf("answered %s %s (%v); want the stored 201", res.Outcome.Code, res.Outcome.Body, err)
	}
	if answered.State != engine.StateStarted || answered.URL == "" {
		t.Errorf("answered %s with URL %q; want started with Trustly's URL", answered.State, answered.URL)
	}
	o, err := w.eng.GetPayment(w.ctx, answered.ID)
	if err != nil {
		t.Fatal(err)
	}
	if id != "" || o.State != engine.StateNew {
		t.Errorf("the order is %s (run saw id %q); want new, and no order from the failed call", o.State, id)
	}
	again, err := engine.IdempotentOrder(w.ctx, idem, "shop", "k", "fp", orderAnswer, func(context.Context) (store.Outcome, error) {
		t.Error("a repeat ran")
		return store.Outcome{}, nil
	})
	if err != nil || !again.Replayed || !bytes.Equal(again.Outcome.Body, res.Outcome.Body) {
		t.Errorf("repeat: replayed %v %s, err %v; want the first answer", again.Replayed, again.Outcome.Body, err)
	}
	line := ""
	for l := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) && strings.Contains(l, answered.ID) {
			line = l
		}
	}
	if line == "" || !strings.Contains(line, "connection reset") {
		t.Errorf("no ERROR line naming the order and the cause:\n%s", logs.String())
	}
}

// Only the calls that start an order answer early: a refund's answer
// (its reservation, its parent) follows its transition, as before.
func TestARefundsAnswerFollowsItsTransition(t *testing.T) {
	hook := &heldScript{match: orderTransition, hold: 50 * time.Millisecond}
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	rdb.AddHook(hook)
	t.Cleanup(func() { rdb.Close() })
	w := newWorld(t, backends[0], func(o *opts) { o.rdb = rdb })
	paid := w.pay(payment(10000))
	w.approve(paid, "")
	w.advance(time.Minute)
	idem := store.NewRedisIdempotency(rdb, w.keys, store.IdempotencyOptions{})
	record := w.keys.Idempotency("shop", "r").Record
	var states []string
	hook.check = func() { states = append(states, w.rdb.HGet(context.Background(), record, "state").Val()) }
	res, err := engine.IdempotentOrder(w.ctx, idem, "shop", "r", "fp", orderAnswer, func(ctx context.Context) (store.Outcome, error) {
		hook.on.Store(true)
		defer hook.on.Store(false)
		r, err := w.eng.Refund(ctx, engine.RefundRequest{PaymentID: paid.ID, Amount: 100})
		out := orderAnswer(r)
		out.Code = "299" // run's own outcome, to tell it from an early one
		return out, err
	})
	if err != nil || res.Outcome.Code != "299" {
		t.Fatalf("answered %s (%v); want run's own outcome", res.Outcome.Code, err)
	}
	if len(states) == 0 || states[len(states)-1] != "running" {
		t.Errorf("the record was %q while the refund's transitions were held; want running", states)
	}
}

func create(ctx context.Context, w *world, flow string) (engine.Order, error) {
	switch flow {
	case "payment":
		return w.eng.CreatePayment(ctx, payment(10000))
	case "mandate":
		return w.eng.CreateMandate(ctx, mandateRequest())
	}
	return w.eng.CreateCharge(ctx, engine.ChargeRequest{EndUserID: "shopper-1", Currency: "SEK", Amount: 1000,
		ShopperStatement: "Shop", Email: "asa@example.com"})
}
