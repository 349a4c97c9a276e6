package engine_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// noTrustly counts calls that must never be made.
type noTrustly struct{ calls atomic.Int32 }

var errCalled = errors.New("engine test: Trustly was called")

func (n *noTrustly) Deposit(context.Context, *trustly.DepositRequest) (*trustly.DepositResult, error) {
	n.calls.Add(1)
	return nil, errCalled
}
func (n *noTrustly) SelectAccount(context.Context, *trustly.SelectAccountRequest) (*trustly.SelectAccountResult, error) {
	n.calls.Add(1)
	return nil, errCalled
}
func (n *noTrustly) Refund(context.Context, *trustly.RefundRequest) (*trustly.RefundResult, error) {
	n.calls.Add(1)
	return nil, errCalled
}
func (n *noTrustly) Charge(context.Context, *trustly.ChargeRequest) (*trustly.ChargeResult, error) {
	n.calls.Add(1)
	return nil, errCalled
}
func (n *noTrustly) CancelCharge(context.Context, *trustly.CancelChargeRequest) (*trustly.CancelChargeResult, error) {
	n.calls.Add(1)
	return nil, errCalled
}
func (n *noTrustly) Balance(context.Context) ([]trustly.Balance, error) {
	n.calls.Add(1)
	return nil, errCalled
}
func (n *noTrustly) GetWithdrawals(context.Context, string) ([]trustly.Withdrawal, error) {
	n.calls.Add(1)
	return nil, errCalled
}

// snapshot is every key under the test's prefix with its value, as text.
func snapshot(t *testing.T, ctx context.Context, rdb *redis.Client, prefix string) map[string]string {
	t.Helper()
	ks, err := rdb.Keys(ctx, prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range ks {
		v, err := rdb.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// Every rule Trustly holds a request to is checked by the engine before
// anything is stored: the request is refused as invalid, naming the field,
// and no order, index or outbox entry is written and Trustly is not called.
func TestTrustlyRulesRefuseBeforeAnythingIsStored(t *testing.T) {
	keys()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	t.Cleanup(func() { rdb.Close() })
	prefix := redistest.Prefix(t)
	k, err := store.NewKeys(prefix)
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewRedisOrders(rdb, k, store.OrdersOptions{})
	api := &noTrustly{}
	eng, err := engine.New(engine.Config{Store: st, Trustly: api, Environment: trustly.Live,
		Verifier: trustly.NewVerifierKey(trustly.Sim, &simKey.PublicKey), MerchantKey: merchantKey,
		NotificationURL: "https://shop.example/trustly/notifications/secret", Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	// What the refunds, charges and cancels below need to get as far as
	// their checks: a paid payment, a shopper with an active mandate and
	// a charge Trustly accepted.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.Create(ctx, store.Order{ID: "paid", Flow: string(engine.FlowDeposit), State: string(engine.StatePaid),
		Currency: "SEK", Amount: 10000, Credited: 10000, TrustlyOrderID: "1234567890", MessageID: "m-paid"}))
	must(st.Create(ctx, store.Order{ID: "paid-odd", Flow: string(engine.FlowDeposit), State: string(engine.StatePaid),
		Currency: "SEK", Amount: 10000, Credited: 10000, TrustlyOrderID: "not-a-trustly-id", MessageID: "m-odd"}))
	must(st.Create(ctx, store.Order{ID: "charge-odd", Flow: string(engine.FlowCharge), State: string(engine.StateStarted),
		Currency: "SEK", Amount: 1000, TrustlyOrderID: "T-1", MessageID: "m-charge"}))
	must(st.SaveAccount(ctx, "shopper-1", store.Account{AccountID: "A1", Verified: true, Mandate: store.MandateActive, Updated: start}))

	pay := func(f func(*engine.PaymentRequest)) func() error {
		return func() error {
			r := payment(10000)
			f(&r)
			_, err := eng.CreatePayment(ctx, r)
			return err
		}
	}
	mandate := func(f func(*engine.MandateRequest)) func() error {
		return func() error {
			r := engine.MandateRequest{EndUserID: "shopper-1", Country: "SE", Locale: "sv_SE", Firstname: "Åsa", Lastname: "Öberg",
				Email: "asa@example.com", SuccessURL: "https://shop.example/ok", FailURL: "https://shop.example/fail"}
			f(&r)
			_, err := eng.CreateMandate(ctx, r)
			return err
		}
	}
	charge := func(f func(*engine.ChargeRequest)) func() error {
		return func() error {
			r := engine.ChargeRequest{EndUserID: "shopper-1", Currency: "SEK", Amount: 1000, ShopperStatement: "Shop", Email: "asa@example.com"}
			f(&r)
			_, err := eng.CreateCharge(ctx, r)
			return err
		}
	}
	check := func(f func(*engine.PaymentRequest)) func() error {
		return func() error {
			r := payment(10000)
			f(&r)
			return eng.CheckPayment(r)
		}
	}
	if err := eng.CheckPayment(payment(10000)); err != nil {
		t.Fatalf("CheckPayment of a good payment: %v", err)
	}
	refund := func(r engine.RefundRequest) func() error {
		return func() error { _, err := eng.Refund(ctx, r); return err }
	}
	long := strings.Repeat("x", trustly.MaxTextLength+1)

	for _, tc := range []struct {
		name  string
		call  func() error
		field string // Trustly's name of the field at fault; "" for the engine's own rules
	}{
		{"a payment without a shopper statement", pay(func(r *engine.PaymentRequest) { r.ShopperStatement = "" }), "ShopperStatement"},
		{"a payment with a shopper statement too long", pay(func(r *engine.PaymentRequest) { r.ShopperStatement = long }), "ShopperStatement"},
		{"a payment with an external reference too long", pay(func(r *engine.PaymentRequest) { r.ExternalReference = long }), "ExternalReference"},
		{"a payment without an e-mail", pay(func(r *engine.PaymentRequest) { r.Email = "" }), "Email"},
		{"a payment with a malformed e-mail", pay(func(r *engine.PaymentRequest) { r.Email = "asa@" }), "Email"},
		{"a payment without a first name", pay(func(r *engine.PaymentRequest) { r.Firstname = "" }), "Firstname"},
		{"a payment without a last name", pay(func(r *engine.PaymentRequest) { r.Lastname = "" }), "Lastname"},
		{"a payment without a shopper id", pay(func(r *engine.PaymentRequest) { r.EndUserID = "" }), "EndUserID"},
		{"a payment with a shopper id too long", pay(func(r *engine.PaymentRequest) { r.EndUserID = strings.Repeat("u", trustly.MaxIDLength+1) }), "EndUserID"},
		{"a payment without an amount or suggested amounts", pay(func(r *engine.PaymentRequest) { r.Amount = 0 }), "Amount"},
		{"a payment with an amount and suggested amounts", pay(func(r *engine.PaymentRequest) { r.SuggestedMaxAmount = 20000 }), "Amount"},
		{"a payment with a suggested minimum above the maximum", pay(func(r *engine.PaymentRequest) {
			r.Amount, r.SuggestedMinAmount, r.SuggestedMaxAmount = 0, 5001, 5000
		}), "SuggestedMinAmount"},
		{"a payment of a negative amount", pay(func(r *engine.PaymentRequest) { r.Amount = -100 }), "Amount"},
		{"a payment with a negative suggested minimum", pay(func(r *engine.PaymentRequest) { r.Amount, r.SuggestedMinAmount = 0, -1 }), "SuggestedMinAmount"},
		{"a payment without a currency", pay(func(r *engine.PaymentRequest) { r.Currency = "" }), "Currency"},
		{"a payment in a currency that is not ISO 4217", pay(func(r *engine.PaymentRequest) { r.Currency = "sek" }), "Currency"},
		{"a payment without a country", pay(func(r *engine.PaymentRequest) { r.Country = "" }), "Country"},
		{"a payment from UK instead of GB", pay(func(r *engine.PaymentRequest) { r.Country = "UK" }), "Country"},
		{"a payment without a locale", pay(func(r *engine.PaymentRequest) { r.Locale = "" }), "Locale"},
		{"a payment with a malformed locale", pay(func(r *engine.PaymentRequest) { r.Locale = "sv-SE" }), "Locale"},
		{"a payment without a success URL", pay(func(r *engine.PaymentRequest) { r.SuccessURL = "" }), "SuccessURL"},
		{"a payment with a relative success URL", pay(func(r *engine.PaymentRequest) { r.SuccessURL = "/thanks" }), "SuccessURL"},
		{"a payment with an ftp fail URL", pay(func(r *engine.PaymentRequest) { r.FailURL = "ftp://shop.example/fail" }), "FailURL"},
		{"a payment opening in a new window", pay(func(r *engine.PaymentRequest) { r.URLTarget = "_blank" }), "URLTarget"},
		{"a payment with a control character in the URL target", pay(func(r *engine.PaymentRequest) { r.URLTarget = "_top\n" }), "URLTarget"},
		{"a payment with a list of IPs", pay(func(r *engine.PaymentRequest) { r.IP = "203.0.113.7, 10.0.0.1" }), "IP"},

		{"a checked payment (a pay link) without an e-mail", check(func(r *engine.PaymentRequest) { r.Email = "" }), "Email"},
		{"a checked payment (a pay link) with a relative fail URL", check(func(r *engine.PaymentRequest) { r.FailURL = "/fail" }), "FailURL"},

		{"a mandate without an e-mail", mandate(func(r *engine.MandateRequest) { r.Email = "" }), "Email"},
		{"a mandate without a first name", mandate(func(r *engine.MandateRequest) { r.Firstname = "" }), "Firstname"},
		{"a mandate without a last name", mandate(func(r *engine.MandateRequest) { r.Lastname = "" }), "Lastname"},
		{"a mandate without a shopper id", mandate(func(r *engine.MandateRequest) { r.EndUserID = "" }), "EndUserID"},
		{"a mandate with a malformed country", mandate(func(r *engine.MandateRequest) { r.Country = "SWE" }), "Country"},
		{"a mandate with a malformed locale", mandate(func(r *engine.MandateRequest) { r.Locale = "swedish" }), "Locale"},
		{"a mandate with a relative success URL", mandate(func(r *engine.MandateRequest) { r.SuccessURL = "ok" }), "SuccessURL"},
		{"a mandate without a fail URL", mandate(func(r *engine.MandateRequest) { r.FailURL = "" }), "FailURL"},
		{"a mandate with a date of birth day first", mandate(func(r *engine.MandateRequest) { r.DateOfBirth = "31-01-1979" }), "DateOfBirth"},

		{"a charge without a shopper statement", charge(func(r *engine.ChargeRequest) { r.ShopperStatement = "" }), "ShopperStatement"},
		{"a charge with a comma in the shopper statement", charge(func(r *engine.ChargeRequest) { r.ShopperStatement = "Shop, Inc" }), "ShopperStatement"},
		{"a charge without an e-mail", charge(func(r *engine.ChargeRequest) { r.Email = "" }), "Email"},
		{"a charge of nothing", charge(func(r *engine.ChargeRequest) { r.Amount = 0 }), "Amount"},
		{"a charge of a negative amount", charge(func(r *engine.ChargeRequest) { r.Amount = -1 }), "Amount"},
		{"a charge in a currency that is not ISO 4217", charge(func(r *engine.ChargeRequest) { r.Currency = "SE" }), "Currency"},
		{"a charge without a shopper id", charge(func(r *engine.ChargeRequest) { r.EndUserID = "" }), "EndUserID"},
		{"a charge with a payment date without zero padding", charge(func(r *engine.ChargeRequest) { r.PaymentDate = "2030-5-7" }), "PaymentDate"},
		{"a charge with an external reference too long", charge(func(r *engine.ChargeRequest) { r.ExternalReference = long }), "ExternalReference"},

		{"a refund of a negative amount", refund(engine.RefundRequest{PaymentID: "paid", Amount: -1}), ""},
		{"a refund with an external reference too long", refund(engine.RefundRequest{PaymentID: "paid", Amount: 100, ExternalReference: long}), "ExternalReference"},
		{"a refund of a payment whose Trustly order id is not Trustly's", refund(engine.RefundRequest{PaymentID: "paid-odd"}), "OrderID"},

		{"cancelling a charge whose Trustly order id is not Trustly's", func() error { _, err := eng.CancelCharge(ctx, "charge-odd"); return err }, "OrderID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, ctx, rdb, prefix)
			err := tc.call()
			var ee *engine.Error
			if !errors.As(err, &ee) || ee.Kind != engine.KindInvalid || ee.Code != engine.CodeInvalidRequest {
				t.Fatalf("err = %v; want an invalid_request of kind invalid", err)
			}
			if tc.field != "" {
				var te *trustly.Error
				if !errors.As(err, &te) || te.Field != tc.field || !te.Local {
					t.Fatalf("err = %v; want it to wrap Trustly's problem with %s", err, tc.field)
				}
				if !strings.Contains(ee.Message, tc.field) {
					t.Errorf("message %q does not name %s", ee.Message, tc.field)
				}
			}
			if after := snapshot(t, ctx, rdb, prefix); !maps.Equal(before, after) {
				added := slices.DeleteFunc(slices.Collect(maps.Keys(after)), func(k string) bool { return before[k] == after[k] })
				t.Errorf("the store changed: %v", added)
			}
			if n := api.calls.Load(); n != 0 {
				t.Errorf("Trustly was called %d times", n)
			}
		})
	}
}

// Requests are checked against the environment they go to, so an engine
// that calls Trustly must be told which one.
func TestNewNeedsTheEnvironmentWithTrustly(t *testing.T) {
	keys()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:0"}) // never dialled
	t.Cleanup(func() { rdb.Close() })
	k, _ := store.NewKeys("p")
	base := engine.Config{Store: store.NewRedisOrders(rdb, k, store.OrdersOptions{}),
		Verifier: trustly.NewVerifierKey(trustly.Sim, &simKey.PublicKey), MerchantKey: merchantKey}
	for _, tc := range []struct {
		name string
		api  engine.Trustly
		env  trustly.Environment
		ok   bool
	}{
		{"notifications only, no environment", nil, "", true},
		{"Trustly without an environment", &noTrustly{}, "", false},
		{"Trustly with an unknown environment", &noTrustly{}, "PROD", false},
		{"Trustly in TEST", &noTrustly{}, trustly.Test, true},
		{"Trustly in LIVE", &noTrustly{}, trustly.Live, true},
		{"Trustly in the simulator", &noTrustly{}, trustly.Sim, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.Trustly, c.Environment = tc.api, tc.env
			if _, err := engine.New(c); (err == nil) != tc.ok {
				t.Fatalf("New = %v, want ok %t", err, tc.ok)
			}
		})
	}
}

// An offline engine (operator tools) needs no keys and answers no
// notification; without Offline, the keys stay required.
func TestOfflineEngineNeedsNoKeysAndAnswersNoNotification(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:0"}) // never dialled
	t.Cleanup(func() { rdb.Close() })
	k, _ := store.NewKeys("p")
	st := store.NewRedisOrders(rdb, k, store.OrdersOptions{})
	if _, err := engine.New(engine.Config{Store: st}); err == nil {
		t.Fatal("New without keys and without Offline succeeded")
	}
	eng, err := engine.New(engine.Config{Store: st, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if reply, err := eng.HandleNotification(context.Background(), []byte(`{"method":"credit"}`)); err == nil || reply != nil {
		t.Fatalf("HandleNotification = %q, %v; want no reply and an error", reply, err)
	}
}
