package engine_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

func TestMain(m *testing.M) {
	if child() {
		return
	}
	redistest.Main(m)
}

var (
	keysOnce            sync.Once
	merchantKey, simKey *rsa.PrivateKey
)

func keys() {
	keysOnce.Do(func() {
		gen := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			return k
		}
		merchantKey, simKey = gen(), gen()
	})
}

var start = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// world is the simulator, our engine on Redis and its notification route,
// all over real HTTP, on the simulator's manual clock.
type world struct {
	t     *testing.T
	ctx   context.Context
	sim   *sim.Server
	clock *sim.ManualClock
	eng   *engine.Engine
	store *store.RedisOrders
	// rdb and keys reach under the store, to stage a crash window.
	rdb  redis.UniversalClient
	keys store.Keys
	// apiHook, when set, sees every API call on its way to the simulator.
	apiHook func(w http.ResponseWriter, r *http.Request, next http.Handler)
	got     recorder
	// api is the Trustly client the engine uses; notifyURL its route.
	api       *trustly.Client
	notifyURL string
}

type opts struct {
	rdb         redis.UniversalClient
	maxAttempts int
	balances    map[string]int64
	// outboxMaxLen is the store's OutboxMaxLen (0: its default).
	outboxMaxLen int64
}

// backend is a Redis the engine runs on; the end-to-end tests run on each.
type backend struct {
	name   string
	client func(t *testing.T) redis.UniversalClient
}

var backends = []backend{
	{"redis", func(t *testing.T) redis.UniversalClient {
		return redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	}},
	{"embedded", func(t *testing.T) redis.UniversalClient {
		rdb, err := store.NewEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		return rdb
	}},
	{"cluster", func(t *testing.T) redis.UniversalClient {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: redistest.SharedCluster(t, 3)})
	}},
}

// onEach runs test once per backend.
func onEach(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

func newWorld(t *testing.T, b backend, o ...func(*opts)) *world {
	t.Helper()
	keys()
	op := opts{maxAttempts: 1, balances: map[string]int64{"SEK": 1_000_000}}
	for _, f := range o {
		f(&op)
	}
	if op.rdb == nil {
		op.rdb = b.client(t)
		t.Cleanup(func() { op.rdb.Close() })
	}
	w := &world{t: t, ctx: context.Background(), clock: sim.NewManualClock(start)}
	s, err := sim.New(sim.Config{Username: "u", Password: "p", MerchantPublicKey: &merchantKey.PublicKey, Key: simKey,
		Relaxed: true, Clock: w.clock, SettlementDelay: time.Minute, Balances: op.balances})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w.sim = s
	simURL, _ := url.Parse(s.URL())
	proxy := httputil.NewSingleHostReverseProxy(simURL)
	api := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.apiHook != nil {
			w.apiHook(rw, r, proxy)
			return
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(api.Close)
	client, err := trustly.NewClient(trustly.ClientConfig{Environment: trustly.Sim, URL: api.URL + "/api/1",
		Credentials: trustly.Credentials{Username: "u", Password: "p"}, PrivateKey: merchantKey,
		TrustlyPublicKey: s.PublicKey(), MaxAttempts: op.maxAttempts, Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	k, err := store.NewKeys(redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	w.store = store.NewRedisOrders(op.rdb, k, store.OrdersOptions{OutboxMaxLen: op.outboxMaxLen})
	w.rdb, w.keys = op.rdb, k
	notif := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reply, err := w.eng.HandleNotification(r.Context(), body)
		switch {
		case errors.Is(err, store.ErrUnavailable):
			http.Error(rw, "unavailable", http.StatusServiceUnavailable)
		case err != nil:
			http.Error(rw, "bad notification", http.StatusBadRequest)
		default:
			rw.Header().Set("Content-Type", "application/json")
			rw.Write(reply)
		}
	}))
	t.Cleanup(notif.Close)
	w.api, w.notifyURL = client, notif.URL+"/trustly/notifications/secret"
	w.eng = w.engine(client)
	return w
}

// engine returns another engine on the world's store and clock, calling
// Trustly through api: a second sidecar process, or one that crashes.
func (w *world) engine(api engine.Trustly, cfg ...func(*engine.Config)) *engine.Engine {
	w.t.Helper()
	c := engine.Config{Store: w.store, Trustly: api, Environment: trustly.Sim,
		Verifier: trustly.NewVerifierKey(trustly.Sim, w.sim.PublicKey()), MerchantKey: merchantKey,
		NotificationURL: w.notifyURL, Now: w.clock.Now}
	for _, f := range cfg {
		f(&c)
	}
	eng, err := engine.New(c)
	if err != nil {
		w.t.Fatal(err)
	}
	return eng
}

func (w *world) advance(d time.Duration) {
	w.t.Helper()
	if err := w.sim.Advance(w.ctx, d); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) pay(r engine.PaymentRequest) engine.Order {
	w.t.Helper()
	o, err := w.eng.CreatePayment(w.ctx, r)
	if err != nil {
		w.t.Fatalf("CreatePayment: %v", err)
	}
	return o
}

// mandateRequest asks shopper-1 for a direct debit mandate.
func mandateRequest() engine.MandateRequest {
	return engine.MandateRequest{EndUserID: "shopper-1", Country: "SE", Locale: "sv_SE",
		Firstname: "Åsa", Lastname: "Öberg", Email: "asa@example.com", SuccessURL: "https://shop.example/ok", FailURL: "https://shop.example/fail"}
}

// activeMandate gives shopper-1 an active mandate.
func (w *world) activeMandate() engine.Order {
	w.t.Helper()
	m, err := w.eng.CreateMandate(w.ctx, mandateRequest())
	if err != nil {
		w.t.Fatal(err)
	}
	w.approve(m, "")
	w.advance(time.Second)
	return w.wantState(m.ID, engine.StateActive)
}

func payment(amount int64) engine.PaymentRequest {
	return engine.PaymentRequest{EndUserID: "shopper-1", Currency: "SEK", Amount: amount, Country: "SE", Locale: "sv_SE",
		Firstname: "Åsa", Lastname: "Öberg", Email: "asa@example.com", SuccessURL: "https://shop.example/ok",
		FailURL: "https://shop.example/fail", ShopperStatement: "Shop"}
}

func (w *world) approve(o engine.Order, scenario string) {
	w.t.Helper()
	if _, err := w.sim.Approve(o.TrustlyOrderID, scenario, 0); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) state(id string) engine.Order {
	w.t.Helper()
	o, err := w.eng.GetPayment(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

func (w *world) wantState(id string, want engine.State) engine.Order {
	w.t.Helper()
	o := w.state(id)
	if o.State != want {
		w.t.Fatalf("order %s is %s, want %s (attention %q)", id, o.State, want, o.Attention)
	}
	return o
}

// recorder is a Deliverer that keeps what it got.
type recorder struct {
	mu   sync.Mutex
	got  []engine.StatusChange
	fail func(engine.StatusChange) error
}

func (r *recorder) Deliver(_ context.Context, c engine.StatusChange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(c); err != nil {
			return err
		}
	}
	r.got = append(r.got, c)
	return nil
}

func (r *recorder) path(orderID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, c := range r.got {
		if c.OrderID == orderID {
			s = append(s, string(c.To))
		}
	}
	return strings.Join(s, ">")
}

func (w *world) pump() {
	w.t.Helper()
	if _, err := w.eng.Outbox(&w.got, engine.OutboxConfig{}).Pump(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

func TestDepositScenarios(t *testing.T) { onEach(t, testDepositScenarios) }

func testDepositScenarios(t *testing.T, b backend) {
	for _, tc := range []struct {
		scenario string
		want     engine.State
		path     string
	}{
		{"", engine.StatePaid, "started>pending>paid"},
		{"D1", engine.StateReversed, "started>pending>paid>reversed"},
		{"D3", engine.StatePending, "started>pending"},
		{"D4", engine.StateCancelled, "started>pending>cancelled"},
		{"D5", engine.StatePaid, "started>paid"},
		{"G1", engine.StatePaid, "started>pending>paid"},
		{"G2", engine.StatePaid, "started>pending>paid"},
		{"G3", engine.StatePaid, "started>pending>paid"},
	} {
		t.Run("scenario "+tc.scenario, func(t *testing.T) {
			w := newWorld(t, b)
			o := w.pay(payment(10000))
			if o.State != engine.StateStarted || o.URL == "" || o.TrustlyOrderID == "" {
				t.Fatalf("after Deposit: %+v", o)
			}
			w.approve(o, tc.scenario)
			w.advance(2 * time.Hour)
			got := w.wantState(o.ID, tc.want)
			if tc.want == engine.StatePaid && got.Credited != 10000 {
				t.Fatalf("credited %d", got.Credited)
			}
			w.pump()
			if p := w.got.path(o.ID); p != tc.path {
				t.Fatalf("platform saw %s, want %s", p, tc.path)
			}
		})
	}
}

func TestExpressUsesTheVerifiedAccountOfAReturningShopper(t *testing.T) {
	onEach(t, testExpressUsesTheVerifiedAccountOfAReturningShopper)
}

func testExpressUsesTheVerifiedAccountOfAReturningShopper(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.approve(o, "G1") // sends account notifications
	w.advance(time.Minute)
	again := w.pay(payment(500))
	if again.AccountID == "" {
		t.Fatal("returning shopper's Deposit carries no AccountID")
	}
	r := payment(500)
	r.NoExpress = true
	if opted := w.pay(r); opted.AccountID != "" {
		t.Fatalf("opted-out Deposit carries AccountID %s", opted.AccountID)
	}
}

func TestAmountMismatchIsRecordedNeverPaid(t *testing.T) {
	onEach(t, testAmountMismatchIsRecordedNeverPaid)
}

func testAmountMismatchIsRecordedNeverPaid(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	if _, err := w.sim.SendCustom(w.ctx, o.TrustlyOrderID, sim.CustomNotification{Method: "credit", Data: map[string]any{"amount": "1.00"}}); err != nil {
		t.Fatal(err)
	}
	got := w.wantState(o.ID, engine.StateStarted)
	if !strings.Contains(got.Attention, "amount") {
		t.Fatalf("attention = %q", got.Attention)
	}
	w.pump()
	w.got.mu.Lock()
	last := w.got.got[len(w.got.got)-1]
	w.got.mu.Unlock()
	if last.Kind != "attention" {
		t.Fatalf("platform got %+v, want an attention entry", last)
	}
}

func TestRefunds(t *testing.T) { onEach(t, testRefunds) }

func testRefunds(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(time.Minute)
	w.wantState(o.ID, engine.StatePaid)

	part, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 3000})
	if err != nil || part.State != engine.StateStarted || part.TrustlyOrderID == "" {
		t.Fatalf("partial refund = %+v, %v", part, err)
	}
	_, err = w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 7001})
	var ee *engine.Error
	if !errors.As(err, &ee) || ee.Code != engine.CodeAmountExceedsRefundable || ee.Kind != engine.KindConflict {
		t.Fatalf("over-refund = %v", err)
	}
	rest, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID})
	if err != nil || rest.Amount != 7000 {
		t.Fatalf("full refund of the rest = %+v, %v", rest, err)
	}
	w.advance(time.Hour)
	w.wantState(part.ID, engine.StateRefunded)
	w.wantState(rest.ID, engine.StateRefunded)
	if p := w.state(o.ID); p.Refunded != 10000 || p.Refundable != 0 {
		t.Fatalf("paid order after refunds: %+v", p)
	}
}

func TestConcurrentRefundsNeverExceedTheCredit(t *testing.T) {
	onEach(t, testConcurrentRefundsNeverExceedTheCredit)
}

func testConcurrentRefundsNeverExceedTheCredit(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(time.Minute)
	var wg sync.WaitGroup
	var ok, refused atomic.Int32
	for range 10 {
		wg.Go(func() {
			_, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 4000})
			var ee *engine.Error
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &ee) && ee.Code == engine.CodeAmountExceedsRefundable:
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 2 || refused.Load() != 8 {
		t.Fatalf("%d refunds accepted, %d refused; want 2 and 8", ok.Load(), refused.Load())
	}
}

func TestAFailedRefundReleasesItsAmount(t *testing.T) { onEach(t, testAFailedRefundReleasesItsAmount) }

func testAFailedRefundReleasesItsAmount(t *testing.T, b backend) {
	// RF: the money comes back as a credit on the refund order; PF: Trustly
	// says so with payoutfailed and its reason.
	for _, tc := range []struct{ scenario, reason string }{
		{"RF", ""},
		{"PF", "payout failed: incorrect_account_number (Format of the account number specified is not correct)"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			w := newWorld(t, b)
			req := payment(10000)
			req.ExternalReference = "shop-order-77"
			o := w.pay(req)
			w.approve(o, tc.scenario)
			w.advance(time.Minute)
			r, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 10000})
			if err != nil {
				t.Fatal(err)
			}
			w.advance(time.Hour)
			got := w.wantState(r.ID, engine.StateFailed)
			if got.Reason != tc.reason {
				t.Errorf("reason %q, want %q", got.Reason, tc.reason)
			}
			// The platform hears the failure with the same reason.
			w.pump()
			var told *engine.StatusChange
			for i := range w.got.got {
				if c := w.got.got[i]; c.OrderID == r.ID && c.To == engine.StateFailed {
					told = &c
				}
			}
			if told == nil || told.Reason != tc.reason || told.PaymentReference != "shop-order-77" {
				t.Errorf("platform told %+v, want the failure with reason %q about shop-order-77", told, tc.reason)
			}
			if p := w.state(o.ID); p.Refundable != 10000 {
				t.Fatalf("refundable after the failed refund = %d", p.Refundable)
			}
			// The money is back: it can be refunded again.
			if _, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 10000}); err != nil {
				t.Fatalf("a second refund after the failed one: %v", err)
			}
		})
	}
}

func TestARefundWithALostAnswerIsResolvedByItsNotification(t *testing.T) {
	onEach(t, testARefundWithALostAnswerIsResolvedByItsNotification)
}

func testARefundWithALostAnswerIsResolvedByItsNotification(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(time.Minute)
	w.apiHook = func(rw http.ResponseWriter, r *http.Request, next http.Handler) {
		// Trustly executes the Refund; its answer never arrives.
		next.ServeHTTP(httptest.NewRecorder(), r)
		http.Error(rw, "gateway timeout", http.StatusGatewayTimeout)
	}
	r, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 2500})
	w.apiHook = nil
	if err != nil || r.State != engine.StateUnknown {
		t.Fatalf("refund with a lost answer = %+v, %v; want unknown and no error", r, err)
	}
	if p := w.state(o.ID); p.Refundable != 7500 {
		t.Fatalf("an unknown refund must hold its amount: refundable %d", p.Refundable)
	}
	w.advance(time.Hour)
	got := w.wantState(r.ID, engine.StateRefunded)
	if got.TrustlyOrderID == "" {
		t.Fatal("resolved refund has no Trustly orderid")
	}
}

func TestARefundWithALostAnswerIsResolvedByGetWithdrawals(t *testing.T) {
	onEach(t, testARefundWithALostAnswerIsResolvedByGetWithdrawals)
}

func testARefundWithALostAnswerIsResolvedByGetWithdrawals(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(time.Minute)
	w.apiHook = func(rw http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(httptest.NewRecorder(), r)
		http.Error(rw, "gateway timeout", http.StatusGatewayTimeout)
	}
	r, _ := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: 2500})
	w.apiHook = nil
	w.clock.Advance(engine.DefaultResolveEvery + time.Second) // no notification yet: still queued for settlement
	rep, err := w.eng.Reconcile(w.ctx)
	if err != nil || rep.Resolved != 1 {
		t.Fatalf("Reconcile = %+v, %v", rep, err)
	}
	w.wantState(r.ID, engine.StateStarted)
}

func TestLostDepositAnswerThen637MakesAFreshAttempt(t *testing.T) {
	onEach(t, testLostDepositAnswerThen637MakesAFreshAttempt)
}

func testLostDepositAnswerThen637MakesAFreshAttempt(t *testing.T, b backend) {
	w := newWorld(t, b, func(o *opts) { o.maxAttempts = 2 })
	var deposits atomic.Int32
	w.apiHook = func(rw http.ResponseWriter, r *http.Request, next http.Handler) {
		if deposits.Add(1) == 1 {
			next.ServeHTTP(httptest.NewRecorder(), r) // accepted, answer lost
			http.Error(rw, "bad gateway", http.StatusBadGateway)
			return
		}
		next.ServeHTTP(rw, r)
	}
	o := w.pay(payment(10000))
	if o.State != engine.StateStarted || len(o.MessageIDs) != 2 || o.URL == "" {
		t.Fatalf("after 637: %+v, want a started second attempt with both MessageIDs", o)
	}
	w.apiHook = nil
	// The lost attempt's checkout expires with a cancel; the new one is paid.
	w.approve(o, "")
	w.advance(2 * time.Hour)
	w.wantState(o.ID, engine.StatePaid)
	for _, mid := range o.MessageIDs {
		l, err := w.eng.FindPayments(w.ctx, engine.PaymentQuery{MessageID: mid})
		if err != nil || len(l) != 1 || l[0].ID != o.ID {
			t.Fatalf("MessageID %s → %+v, %v", mid, l, err)
		}
	}
}

func TestMandateThenCharge(t *testing.T) { onEach(t, testMandateThenCharge) }

func testMandateThenCharge(t *testing.T, b backend) {
	w := newWorld(t, b)
	_, err := w.eng.CreateCharge(w.ctx, engine.ChargeRequest{EndUserID: "shopper-1", Currency: "SEK", Amount: 1000, ShopperStatement: "Shop", Email: "asa@example.com"})
	var ee *engine.Error
	if !errors.As(err, &ee) || ee.Code != engine.CodeNoActiveMandate {
		t.Fatalf("charge without mandate = %v", err)
	}
	m, err := w.eng.CreateMandate(w.ctx, mandateRequest())
	if err != nil {
		t.Fatal(err)
	}
	w.approve(m, "")
	w.advance(time.Second)
	w.wantState(m.ID, engine.StateActive)
	c, err := w.eng.CreateCharge(w.ctx, engine.ChargeRequest{EndUserID: "shopper-1", Currency: "SEK", Amount: 1000, ShopperStatement: "Shop", Email: "asa@example.com"})
	if err != nil || c.State != engine.StateStarted {
		t.Fatalf("charge = %+v, %v", c, err)
	}
	w.advance(time.Minute)
	w.wantState(c.ID, engine.StatePaid)
}

func TestMandatePendingWithoutAmountIsApplied(t *testing.T) {
	onEach(t, testMandatePendingWithoutAmountIsApplied)
}

// Trustly sends SelectAccount a pending without amount or currency: it is
// answered OK and applied (nothing for a person), and the mandate goes on.
func testMandatePendingWithoutAmountIsApplied(t *testing.T, b backend) {
	w := newWorld(t, b)
	m, err := w.eng.CreateMandate(w.ctx, mandateRequest())
	if err != nil {
		t.Fatal(err)
	}
	n, err := w.sim.SendCustom(w.ctx, m.TrustlyOrderID, sim.CustomNotification{Method: "pending",
		Data: map[string]any{"amount": nil, "currency": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if _, has := n.Data["amount"]; has {
		t.Fatalf("the simulator sent an amount: %v", n.Data)
	}
	if last := n.Attempts[len(n.Attempts)-1]; !last.OK || last.Status != "OK" {
		t.Fatalf("pending not answered OK: %+v", n.Attempts)
	}
	if o := w.wantState(m.ID, engine.StateStarted); o.Attention != "" {
		t.Fatalf("the pending was kept for a person: %q", o.Attention)
	}
	if l, err := w.store.ListUnrouted(w.ctx, 10); err != nil || len(l) != 0 {
		t.Fatalf("the pending was set aside as unrouted (%d records), %v", len(l), err)
	}
	w.approve(m, "")
	w.advance(time.Second)
	w.wantState(m.ID, engine.StateActive)
}

func TestPendingChargeCanBeCancelled(t *testing.T) { onEach(t, testPendingChargeCanBeCancelled) }

// Trustly sends pending as soon as it has a Charge; a charge for a later
// day is still cancellable then, until Trustly's cut-off.
func testPendingChargeCanBeCancelled(t *testing.T, b backend) {
	w := newWorld(t, b)
	w.activeMandate()
	later := w.sim.Now().AddDate(0, 0, 7).Format(time.DateOnly)
	c, err := w.eng.CreateCharge(w.ctx, engine.ChargeRequest{EndUserID: "shopper-1", Currency: "SEK", Amount: 1000,
		ShopperStatement: "Shop", Email: "asa@example.com", PaymentDate: later})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.SendCustom(w.ctx, c.TrustlyOrderID, sim.CustomNotification{Method: "pending"}); err != nil {
		t.Fatal(err)
	}
	w.wantState(c.ID, engine.StatePending)
	got, err := w.eng.CancelCharge(w.ctx, c.ID)
	if err != nil || got.State != engine.StateCancelled {
		t.Fatalf("cancel of a pending charge = %+v, %v", got, err)
	}
}

func TestUnknownOrdersAndMethodsAreKeptAndAnswered(t *testing.T) {
	onEach(t, testUnknownOrdersAndMethodsAreKeptAndAnswered)
}

func testUnknownOrdersAndMethodsAreKeptAndAnswered(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	n, err := w.sim.SendCustom(w.ctx, o.TrustlyOrderID, sim.CustomNotification{Method: "newthing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Attempts) == 0 || !n.Attempts[len(n.Attempts)-1].OK {
		t.Fatalf("unknown method not answered OK: %+v", n.Attempts)
	}
	n, err = w.sim.SendCustom(w.ctx, o.TrustlyOrderID, sim.CustomNotification{Method: "credit",
		Data: map[string]any{"orderid": "999", "messageid": "never-ours"}})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Attempts[len(n.Attempts)-1].OK {
		t.Fatalf("orphan not answered OK: %+v", n.Attempts)
	}
	l, err := w.store.ListUnrouted(w.ctx, 10)
	if err != nil || len(l) != 2 {
		t.Fatalf("unrouted = %+v, %v", l, err)
	}
	// A person sees them through the engine: what came, why it was kept,
	// what Trustly was told, and the data without the signature.
	kept, err := w.eng.Unrouted(w.ctx, 10)
	if err != nil || len(kept) != 2 {
		t.Fatalf("engine.Unrouted = %+v, %v", kept, err)
	}
	byMethod := map[string]engine.Unrouted{}
	for _, k := range kept {
		byMethod[k.Method] = k
	}
	if k := byMethod["credit"]; k.OrderID != "999" || k.MessageID != "never-ours" || k.Answer != "OK" ||
		!strings.Contains(k.Reason, "no order") || k.Data["amount"] == nil || k.At.IsZero() {
		t.Errorf("kept credit: %+v", k)
	}
	if k := byMethod["newthing"]; k.Reason == "" || k.Answer != "OK" {
		t.Errorf("kept unknown method: %+v", k)
	}
	for _, limit := range []int64{0, -1, engine.MaxUnroutedList + 1} {
		if _, err := w.eng.Unrouted(w.ctx, limit); engine.KindOf(err) != engine.KindInvalid {
			t.Errorf("limit %d: %v, want KindInvalid", limit, err)
		}
	}
	w.wantState(o.ID, engine.StateStarted)
}

func TestRedisDownMeansNoReply(t *testing.T) {
	srv := redistest.NewServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	w := newWorld(t, backends[0], func(o *opts) { o.rdb = rdb })
	o := w.pay(payment(10000))
	srv.Stop()
	w.approve(o, "")
	w.advance(10 * time.Second)
	for _, n := range w.sim.Notifications(o.TrustlyOrderID) {
		for _, a := range n.Attempts {
			if a.OK {
				t.Fatalf("%s answered OK while Redis was down", n.Method)
			}
		}
	}
	srv.Start()
	_ = o
}

func TestReconcilerExpiresStaleOrders(t *testing.T) { onEach(t, testReconcilerExpiresStaleOrders) }

func testReconcilerExpiresStaleOrders(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.clock.Advance(engine.DefaultCheckoutTTL + engine.DefaultStaleAfter + time.Second)
	rep, err := w.eng.Reconcile(w.ctx)
	if err != nil || rep.Expired != 1 {
		t.Fatalf("Reconcile = %+v, %v", rep, err)
	}
	w.wantState(o.ID, engine.StateExpired)
}

// An order's timeline tells the support person everything, in order: the
// Deposit call with its MessageID, the notifications (a repeat marked as
// such), the changes of state and what the platform was told.
func TestTimelineTellsAnOrdersWholeStory(t *testing.T) { onEach(t, testTimeline) }

func testTimeline(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.approve(o, "G2") // the same credit delivered twice
	w.advance(2 * time.Minute)
	w.pump()
	tl, err := w.eng.Timeline(w.ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range tl {
		s := e.Kind + " " + e.What + " " + e.Outcome
		if e.To != "" {
			s += " →" + string(e.To)
		}
		got = append(got, s)
		if e.At.IsZero() {
			t.Errorf("entry without a time: %+v", e)
		}
	}
	want := []string{
		"call Deposit ok",
		"change accepted applied →started",
		"notification pending applied →pending",
		"notification credit applied →paid",
		"notification credit duplicate",
	}
	joined := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("timeline lacks %q:\n%s", w, joined)
		}
	}
	if !strings.Contains(joined, "platform state delivered →paid") || !strings.Contains(tl[0].Note, "MessageID "+o.MessageID) {
		t.Errorf("timeline lacks the platform delivery or the MessageID:\n%s\nfirst note %q", joined, tl[0].Note)
	}
	if _, err := w.eng.Timeline(w.ctx, "no-such-order"); engine.KindOf(err) != engine.KindNotFound {
		t.Errorf("Timeline of an unknown order = %v, want not found", err)
	}
}

// A refund's notification that arrives after its answer is stored on the
// order but before the Trustly orderid is indexed (two writes) still finds
// the refund, not the paid order it refunds: the refund completes.
func TestARefundNotificationBetweenItsAnswerAndItsIndex(t *testing.T) {
	onEach(t, testRefundIndexWindow)
}

func testRefundIndexWindow(t *testing.T, b backend) {
	w := newWorld(t, b)
	o := w.pay(payment(10000))
	w.approve(o, "")
	w.advance(time.Minute)
	for i, amount := range []int64{2500, 2500} { // two refunds of one amount: the second is the one in the window
		r, err := w.eng.Refund(w.ctx, engine.RefundRequest{PaymentID: o.ID, Amount: amount})
		if err != nil || r.TrustlyOrderID == "" {
			t.Fatalf("refund %d: %+v, %v", i, r, err)
		}
		if i == 1 {
			// The crash window: the order has the orderid, the index not.
			if err := w.rdb.Del(w.ctx, w.keys.TrustlyOrderIndex(r.TrustlyOrderID)).Err(); err != nil {
				t.Fatal(err)
			}
		}
		w.advance(time.Hour)
		got := w.wantState(r.ID, engine.StateRefunded)
		if got.Attention != "" {
			t.Errorf("refund %d: attention %q", i, got.Attention)
		}
	}
	if p := w.state(o.ID); p.Attention != "" || p.Refunded != 5000 {
		t.Fatalf("the paid order: refunded %d, attention %q", p.Refunded, p.Attention)
	}
}
