package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// crashing is a Trustly whose process dies around a call: after the call
// (sent) or before it (not sent), the context of the engine's request ends,
// so the call's outcome is never stored.
type crashing struct {
	engine.Trustly
	cancel func()
	sent   bool
}

func (c crashing) Deposit(ctx context.Context, r *trustly.DepositRequest) (*trustly.DepositResult, error) {
	defer c.cancel()
	if !c.sent {
		return nil, context.Canceled
	}
	return c.Trustly.Deposit(ctx, r)
}

func (c crashing) Refund(ctx context.Context, r *trustly.RefundRequest) (*trustly.RefundResult, error) {
	defer c.cancel()
	if !c.sent {
		return nil, context.Canceled
	}
	return c.Trustly.Refund(ctx, r)
}

// crash runs call on an engine that dies around its Trustly call.
func (w *world) crash(sent bool, call func(ctx context.Context, e *engine.Engine)) {
	w.t.Helper()
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	call(ctx, w.engine(crashing{Trustly: w.api, cancel: cancel, sent: sent}))
}

// the only order of a world whose engine crashed before returning it
func (w *world) onlyOrder(ref string) engine.Order {
	w.t.Helper()
	l, err := w.eng.FindPayments(w.ctx, engine.PaymentQuery{ExternalReference: ref})
	if err != nil || len(l) != 1 {
		w.t.Fatalf("orders of %s = %+v, %v", ref, l, err)
	}
	return l[0]
}

func TestADepositWhoseAnswerWasNeverStoredIsExpired(t *testing.T) {
	onEach(t, testADepositWhoseAnswerWasNeverStoredIsExpired)
}

func testADepositWhoseAnswerWasNeverStoredIsExpired(t *testing.T, b backend) {
	w := newWorld(t, b)
	r := payment(10000)
	r.ExternalReference = "inv-crash"
	w.crash(true, func(ctx context.Context, e *engine.Engine) {
		if _, err := e.CreatePayment(ctx, r); err == nil {
			t.Fatal("CreatePayment survived its crash")
		}
	})
	o := w.onlyOrder("inv-crash")
	if o.State != engine.StateNew {
		t.Fatalf("after the crash: %s, want new", o.State)
	}
	// No notification ever comes (the simulator's clock is not run).
	w.clock.Advance(engine.DefaultCheckoutTTL + engine.DefaultStaleAfter - time.Second)
	if rep, err := w.eng.Reconcile(w.ctx); err != nil || rep.Expired != 0 || rep.Open != 1 {
		t.Fatalf("Reconcile before the deadline = %+v, %v; want nothing expired, one open", rep, err)
	}
	w.clock.Advance(2 * time.Second)
	rep, err := w.eng.Reconcile(w.ctx)
	if err != nil || rep.Expired != 1 || rep.Open != 0 {
		t.Fatalf("Reconcile = %+v, %v; want the order expired", rep, err)
	}
	w.wantState(o.ID, engine.StateExpired)
}

func TestARefundCutOffBeforeItsOutcomeIsResolved(t *testing.T) {
	onEach(t, testARefundCutOffBeforeItsOutcomeIsResolved)
}

func testARefundCutOffBeforeItsOutcomeIsResolved(t *testing.T, b backend) {
	for _, tc := range []struct {
		name string
		sent bool
	}{{"the call went out", true}, {"the call never went out", false}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, b)
			o := w.pay(payment(10000))
			w.approve(o, "")
			w.advance(time.Minute)
			w.crash(tc.sent, func(ctx context.Context, e *engine.Engine) {
				if _, err := e.Refund(ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 2500}); err == nil {
					t.Fatal("Refund survived its crash")
				}
			})
			p := w.state(o.ID)
			if len(p.Refunds) != 1 || p.Refundable != 7500 {
				t.Fatalf("paid order after the crash: %+v", p)
			}
			r := w.wantState(p.Refunds[0], engine.StateNew)

			// A refund stays new only for as long as its call lasts.
			w.clock.Advance(engine.DefaultResolveEvery + time.Second)
			rep, err := w.eng.Reconcile(w.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.sent {
				if rep.Resolved != 1 {
					t.Fatalf("Reconcile = %+v; want the refund found by GetWithdrawals", rep)
				}
				if got := w.wantState(r.ID, engine.StateStarted); got.TrustlyOrderID == "" {
					t.Fatal("resolved refund has no Trustly orderid")
				}
				w.advance(time.Hour)
				w.wantState(r.ID, engine.StateRefunded)
				return
			}
			if rep.Resolved != 0 || rep.Open != 1 {
				t.Fatalf("Reconcile = %+v; want the refund still open", rep)
			}
			w.wantState(r.ID, engine.StateUnknown)
			if p := w.state(o.ID); p.Refundable != 7500 {
				t.Fatalf("an unresolved refund must hold its amount: refundable %d", p.Refundable)
			}
			w.clock.Advance(engine.DefaultRefundGiveUp)
			if rep, err := w.eng.Reconcile(w.ctx); err != nil || rep.Resolved != 1 || rep.Open != 0 {
				t.Fatalf("Reconcile after the give-up window = %+v, %v", rep, err)
			}
			w.wantState(r.ID, engine.StateRejected)
			if p := w.state(o.ID); p.Refundable != 10000 {
				t.Fatalf("refundable after giving up = %d, want all of it again", p.Refundable)
			}
		})
	}
}

// overtaken is a Trustly whose Deposit answer comes back only after the
// shopper declined and the cancel was answered: the order ends before the
// call that started it is recorded.
type overtaken struct {
	engine.Trustly
	w *world
}

func (o overtaken) Deposit(ctx context.Context, r *trustly.DepositRequest) (*trustly.DepositResult, error) {
	res, err := o.Trustly.Deposit(ctx, r)
	if err == nil {
		if _, err := o.w.sim.Decline(res.OrderID); err != nil {
			o.w.t.Fatal(err)
		}
		o.w.sim.RunDue(ctx)
	}
	return res, err
}

// The orderid's index entry is written beside the call's transition; when
// a notification has ended the order first, the entry still expires with
// the order instead of outliving it.
func TestAnOrderEndedBeforeItsAnswerKeepsNoIndexForever(t *testing.T) {
	onEach(t, testAnOrderEndedBeforeItsAnswerKeepsNoIndexForever)
}

func testAnOrderEndedBeforeItsAnswerKeepsNoIndexForever(t *testing.T, b backend) {
	w := newWorld(t, b)
	o, err := w.engine(overtaken{Trustly: w.api, w: w}).CreatePayment(w.ctx, payment(10000))
	if err != nil {
		t.Fatal(err)
	}
	w.wantState(o.ID, engine.StateCancelled)
	orderTTL := w.rdb.PTTL(w.ctx, w.keys.Order(o.ID).Order).Val()
	indexTTL := w.rdb.PTTL(w.ctx, w.keys.TrustlyOrderIndex(o.TrustlyOrderID)).Val()
	if orderTTL <= 0 || indexTTL <= 0 || indexTTL > orderTTL+time.Minute {
		t.Fatalf("order TTL %v, its orderid's index entry %v: want the entry to expire with the order", orderTTL, indexTTL)
	}
}

// heldScript holds, while on, every script call that match picks: it
// sleeps hold, runs check (when set), then fails the call when fail is
// set, else runs it. Redis that takes its time, or goes away, at one step.
type heldScript struct {
	match func(args []any) bool
	hold  time.Duration
	fail  bool
	check func()
	on    atomic.Bool
	done  atomic.Int64 // when the last held call ended, Unix ns

	mu      sync.Mutex
	carried [][]any // the commands that went in a held script's round trip
}

// orderCreate picks EVALSHA sha 2 <order> <open set>: only the order's
// creation has an order and one more key.
func orderCreate(a []any) bool {
	return len(a) > 4 && fmt.Sprint(a[2]) == "2" && strings.Contains(fmt.Sprint(a[3]), ":order:")
}

// orderTransition picks the transition script: EVALSHA with its eight keys.
func orderTransition(a []any) bool { return len(a) > 3 && fmt.Sprint(a[2]) == "8" }

func (h *heldScript) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessPipelineHook holds a pipeline that carries a matching script, as
// ProcessHook holds the script alone; fail fails that script only, unsent,
// as a script that raised an error: the rest of the round trip is written.
func (h *heldScript) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		held := -1
		for i, c := range cmds {
			if c.Name() == "evalsha" && h.on.Load() && h.match(c.Args()) {
				held = i
			}
		}
		if held < 0 {
			return next(ctx, cmds)
		}
		h.mu.Lock()
		h.carried = nil
		for _, c := range cmds {
			h.carried = append(h.carried, c.Args())
		}
		h.mu.Unlock()
		time.Sleep(h.hold)
		defer h.done.Store(time.Now().UnixNano())
		if h.check != nil {
			h.check()
		}
		if !h.fail {
			return next(ctx, cmds)
		}
		cmds[held].SetErr(errors.New("connection reset by peer"))
		rest := slices.Delete(slices.Clone(cmds), held, held+1)
		if len(rest) == 0 {
			return cmds[held].Err()
		}
		return next(ctx, rest)
	}
}

// carriedKey reports whether a held script's round trip wrote key (as a
// script's first key or a command's).
func (h *heldScript) carriedKey(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.carried {
		if len(a) > 3 && (a[0] == "evalsha" || a[0] == "eval") && fmt.Sprint(a[3]) == key {
			return true
		}
		if len(a) > 1 && fmt.Sprint(a[1]) == key {
			return true
		}
	}
	return false
}
func (h *heldScript) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "evalsha" || !h.on.Load() || !h.match(cmd.Args()) {
			return next(ctx, cmd)
		}
		time.Sleep(h.hold)
		defer h.done.Store(time.Now().UnixNano())
		if h.check != nil {
			h.check()
		}
		if h.fail {
			err := errors.New("connection reset by peer")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

// The call that starts an order is signed while the order is stored, and
// sent only once it is: a store that is slow holds the call back, a store
// that fails means nothing reaches Trustly, for every flow that starts
// with a call carrying a MessageID.
func TestACallIsSentOnlyOnceItsOrderIsStored(t *testing.T) {
	for _, fail := range []bool{false, true} {
		for _, flow := range []string{"payment", "mandate", "charge"} {
			t.Run(fmt.Sprintf("%s/store fails %v", flow, fail), func(t *testing.T) {
				hook := &heldScript{match: orderCreate, hold: 30 * time.Millisecond, fail: fail} // far longer than a signature
				rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
				rdb.AddHook(hook)
				t.Cleanup(func() { rdb.Close() })
				w := newWorld(t, backends[0], func(o *opts) { o.rdb = rdb })
				if flow == "charge" {
					w.activeMandate()
				}
				var mu sync.Mutex
				var arrived []int64
				w.apiHook = func(rw http.ResponseWriter, r *http.Request, next http.Handler) {
					mu.Lock()
					arrived = append(arrived, time.Now().UnixNano())
					mu.Unlock()
					next.ServeHTTP(rw, r)
				}
				indexPatterns := []string{w.keys.MessageIDIndex("*"), w.keys.ReferenceIndex("*")}
				before := map[string]bool{}
				for _, pattern := range indexPatterns {
					for _, k := range w.rdb.Keys(w.ctx, pattern).Val() {
						before[k] = true
					}
				}
				hook.on.Store(true)
				var err error
				switch flow {
				case "payment":
					r := payment(10000)
					r.ExternalReference = "invoice-1"
					_, err = w.eng.CreatePayment(w.ctx, r)
				case "mandate":
					_, err = w.eng.CreateMandate(w.ctx, mandateRequest())
				case "charge":
					_, err = w.eng.CreateCharge(w.ctx, engine.ChargeRequest{EndUserID: "shopper-1", Currency: "SEK", Amount: 1000,
						ShopperStatement: "Shop", Email: "asa@example.com"})
				}
				hook.on.Store(false)
				w.apiHook = nil
				mu.Lock()
				defer mu.Unlock()
				if fail {
					if !errors.Is(err, engine.ErrNothingSent) || len(arrived) != 0 {
						t.Fatalf("err = %v, %d calls reached Trustly; want ErrNothingSent and none", err, len(arrived))
					}
					// The index entries, written beside the order, are taken
					// back: they would point at no order, and never expire.
					for _, pattern := range indexPatterns {
						for _, k := range w.rdb.Keys(w.ctx, pattern).Val() {
							if !before[k] {
								t.Errorf("index entry %s left for an order never stored", k)
							}
						}
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(arrived) != 1 || arrived[0] < hook.done.Load() {
					t.Fatalf("%d calls; the first reached Trustly %v before its order was stored",
						len(arrived), time.Duration(hook.done.Load()-arrived[0]))
				}
			})
		}
	}
}
