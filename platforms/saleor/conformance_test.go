package saleor_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/saleor"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/saleor/saleorfake"
)

var (
	// sentAt is when the fixtures were issued; nothing reads the wall clock.
	sentAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	txID   = "VHJhbnNhY3Rpb25JdGVtOjE="
	buyer  = saleorfake.Checkout{ID: "Q2hlY2tvdXQ6MQ==", Email: "asa.ek@example.se", UserID: "VXNlcjo3",
		FirstName: "Åsa", LastName: "Ek", Country: "SE"}
	// signingKey is shared by every stand-in of the conformance run, so
	// fixtures signed once verify against each.
	signingKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
)

const appToken = "conformance-app-token"

func TestConformance(t *testing.T) {
	adaptertest.Run(t, subject, fixtures(t))
}

// newSaleor is a stand-in that knows the fixtures' transaction, with the
// adapter on it.
func newSaleor(t *testing.T) (*saleorfake.Saleor, *saleor.Adapter) {
	t.Helper()
	sal := saleorfake.New(t, signingKey())
	sal.SetToken(appToken)
	sal.NewTransaction(txID, "SEK", "103.50", "init-key-1", sentAt)
	a, err := saleor.New(saleor.Config{APIURL: sal.APIURL, AppToken: []byte(appToken), PublicURL: "https://pay.example/platform/saleor"})
	if err != nil {
		t.Fatal(err)
	}
	return sal, a
}

func subject(t *testing.T) adaptertest.Subject {
	sal, a := newSaleor(t)
	return adaptertest.Subject{Adapter: a, Platform: sal}
}

// signed is a webhook as Saleor sends it, received two seconds later. The
// Saleor-Api-Url header is left out: each check has its own stand-in.
func signed(sal *saleorfake.Saleor, event string, body []byte) adapter.Request {
	h := sal.Headers(event, body)
	h.Del("Saleor-Api-Url")
	return adapter.Request{Method: http.MethodPost, Path: "/", Header: h, Body: body, ReceivedAt: sentAt.Add(2 * time.Second)}
}

func fixtures(t *testing.T) adaptertest.Fixtures {
	sal, _ := newSaleor(t)
	init := signed(sal, "TRANSACTION_INITIALIZE_SESSION", sal.InitializeSession(txID, buyer, "103.5", "SEK", "init-key-1", sentAt))
	refundKey := sal.RequestRefund(txID, "50", sentAt)
	refund := signed(sal, "TRANSACTION_REFUND_REQUESTED",
		sal.ActionRequested("TransactionRefundRequested", "REFUND", txID, "50", "SEK", sentAt))
	gateway := signed(sal, "PAYMENT_GATEWAY_INITIALIZE_SESSION", saleorfake.GatewayInitialize("103.5", sentAt))
	wrongPath := signed(sal, "TRANSACTION_INITIALIZE_SESSION", sal.InitializeSession(txID, buyer, "103.5", "SEK", "init-key-1", sentAt))
	wrongPath.Path = "/webhooks/transaction-refund-requested"

	pay := adapter.Command{
		Kind: adapter.CommandPay, IdempotencyKey: "init:init-key-1",
		Order:  adapter.Order{ID: txID, Number: txID},
		Amount: adapter.Money{Minor: 10350, Currency: "SEK"},
		Customer: adapter.Customer{ID: "VXNlcjo3", Email: "asa.ek@example.se", FirstName: "Åsa", LastName: "Ek",
			Country: "SE"},
		Metadata:        map[string]string{"saleorSource": "Checkout:Q2hlY2tvdXQ6MQ=="},
		ShippingAddress: adapter.Address{Country: "SE", PostalCode: "11122", City: "Stockholm", Line1: "Drottninggatan 1"},
	}
	return adaptertest.Fixtures{
		SignatureHeaders: []string{saleor.HeaderSignature},
		Requests: []adaptertest.Request{
			{Name: "transaction-initialize-session", Request: init, Want: []adapter.Command{pay}},
			{Name: "transaction-refund-requested", Request: refund, Want: []adapter.Command{{
				Kind: adapter.CommandRefund, IdempotencyKey: "refund:" + refundKey, Order: adapter.Order{ID: txID},
				Amount: adapter.Money{Minor: 5000, Currency: "SEK"}}}},
			{Name: "payment-gateway-initialize-session", Request: gateway},
			{Name: "event-at-another-webhook's-path", Request: wrongPath, WantErr: adapter.ErrInvalid},
		},
		Changes: []adapter.StatusChange{
			{ID: "pay_01:3", Order: adapter.Order{ID: txID}, Status: adapter.StatusPaid,
				Amount: adapter.Money{Minor: 10350, Currency: "SEK"}, ProviderReference: "4567123890", OccurredAt: sentAt},
			{ID: "pay_01.ab12:2", Order: adapter.Order{ID: txID}, Status: adapter.StatusRefunded,
				Amount: adapter.Money{Minor: 5000, Currency: "SEK"}, ProviderReference: "4567123890", OccurredAt: sentAt},
			{ID: "pay_01:9", Order: adapter.Order{ID: txID}, Status: adapter.StatusAttention, ProviderReference: "4567123890",
				Amount: adapter.Money{Minor: 10000, Currency: "SEK"}, Message: "Needs a person: credited 100.00 SEK, ordered 103.50 SEK"},
		},
		Answers: []adaptertest.Answer{
			{Name: "initialize: Trustly's URL", Request: init, WantStatus: http.StatusOK, Results: []adapter.Result{{
				IdempotencyKey: "init:init-key-1", OK: true, ProviderReference: "4567123890", RedirectURL: "https://sim.example/checkout/1"}}},
			{Name: "initialize: refused", Request: init, WantStatus: http.StatusOK, Results: []adapter.Result{{
				IdempotencyKey: "init:init-key-1", ErrorCode: "invalid_request", Message: "no country"}}},
			{Name: "refund accepted", Request: refund, WantStatus: http.StatusOK, Results: []adapter.Result{{
				IdempotencyKey: "refund:" + refundKey, OrderID: "pay_01.ab12cd34ef56", OK: true, ProviderReference: "4567123890"}}},
			{Name: "refund still running at Saleor's deadline", Request: refund, WantStatus: http.StatusServiceUnavailable,
				Results: []adapter.Result{{IdempotencyKey: "refund:" + refundKey, Pending: true}}},
			{Name: "gateway", Request: gateway, WantStatus: http.StatusOK},
		},
	}
}
