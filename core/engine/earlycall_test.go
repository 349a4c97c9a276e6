package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// waitFor bounds a wait for something that should happen at once.
const waitFor = 5 * time.Second

// sentCall is a call that reached Trustly.
type sentCall struct {
	Method     string
	Attributes map[string]any
}

// sentCalls records the calls that reach Trustly.
func (w *world) sentCalls() func() []sentCall {
	var mu sync.Mutex
	var got []sentCall
	w.apiHook = func(rw http.ResponseWriter, r *http.Request, next http.Handler) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var env struct {
			Method string
			Params struct {
				Data struct{ Attributes map[string]any }
			}
		}
		_ = json.Unmarshal(body, &env)
		mu.Lock()
		got = append(got, sentCall{env.Method, env.Params.Data.Attributes})
		mu.Unlock()
		next.ServeHTTP(rw, r)
	}
	return func() []sentCall {
		mu.Lock()
		defer mu.Unlock()
		return append([]sentCall(nil), got...)
	}
}

// The Deposit is begun, and signed, before the shopper's accounts are
// read, without an Express account. A returning shopper's Deposit is
// signed again with theirs: Trustly sees that one only.
func TestAReturningShopperGetsOneDepositWithTheirAccount(t *testing.T) {
	w := newWorld(t, backends[0])
	w.approve(w.pay(payment(10000)), "G1") // account notifications
	w.advance(time.Minute)
	sent := w.sentCalls()
	again := w.pay(payment(500))
	got := sent()
	if again.AccountID == "" || len(got) != 1 || got[0].Method != "Deposit" || got[0].Attributes["AccountID"] != again.AccountID {
		t.Fatalf("calls at Trustly %v; want one Deposit, with AccountID %q", got, again.AccountID)
	}
}

// recordingTrustly hands the outcome of each call that starts a checkout
// to ended.
type recordingTrustly struct {
	engine.Trustly
	ended chan error
}

func (r recordingTrustly) Deposit(ctx context.Context, d *trustly.DepositRequest) (*trustly.DepositResult, error) {
	res, err := r.Trustly.Deposit(ctx, d)
	r.ended <- err
	return res, err
}

func (r recordingTrustly) Charge(ctx context.Context, d *trustly.ChargeRequest) (*trustly.ChargeResult, error) {
	res, err := r.Trustly.Charge(ctx, d)
	r.ended <- err
	return res, err
}

func (r recordingTrustly) SelectAccount(ctx context.Context, d *trustly.SelectAccountRequest) (*trustly.SelectAccountResult, error) {
	res, err := r.Trustly.SelectAccount(ctx, d)
	r.ended <- err
	return res, err
}

// A payment, mandate or charge whose step never runs (its idempotency key held an
// answer) sends nothing, and its begun call ends with the request's
// context.
func TestACallNeverStartedIsNotSent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(ctx context.Context, e *engine.Engine)
	}{
		{"payment", func(ctx context.Context, e *engine.Engine) { _ = e.PreparePayment(ctx, payment(10000)) }},
		{"mandate", func(ctx context.Context, e *engine.Engine) { _ = e.PrepareMandate(ctx, mandateRequest()) }},
		{"charge", func(ctx context.Context, e *engine.Engine) {
			_ = e.PrepareCharge(ctx, engine.ChargeRequest{EndUserID: "shopper-1", Currency: "SEK", Amount: 1000,
				ShopperStatement: "Shop", Email: "asa@example.com"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, backends[0])
			if tc.name == "charge" {
				w.activeMandate()
			}
			sent := w.sentCalls()
			rec := recordingTrustly{Trustly: w.api, ended: make(chan error, 1)}
			ctx, cancel := context.WithCancel(w.ctx)
			tc.prepare(ctx, w.engine(rec))
			time.Sleep(50 * time.Millisecond) // far longer than a signature
			cancel()
			select {
			case err := <-rec.ended:
				if !errors.Is(err, trustly.ErrNotSent) {
					t.Fatalf("the begun call ended with %v; want ErrNotSent", err)
				}
			case <-time.After(waitFor):
				t.Fatal("the begun call did not end with its request")
			}
			if got := sent(); len(got) != 0 {
				t.Fatalf("calls at Trustly %v; want none", got)
			}
		})
	}
}

// The call begun early runs under the step's context too: a step that
// ends (its idempotency claim lost) ends the call it let go.
func TestAStepsEndEndsItsBegunCall(t *testing.T) {
	w := newWorld(t, backends[0])
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w.apiHook = func(rw http.ResponseWriter, r *http.Request, next http.Handler) {
		once.Do(func() { close(arrived) })
		<-release
		next.ServeHTTP(rw, r)
	}
	defer close(release)
	step := w.eng.PreparePayment(w.ctx, payment(10000))
	ctx, cancel := context.WithCancel(w.ctx)
	go func() {
		<-arrived
		cancel()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := step(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("step = nil; want the call's end")
		}
	case <-time.After(waitFor):
		t.Fatal("the step waited for Trustly's answer after its context ended")
	}
}
