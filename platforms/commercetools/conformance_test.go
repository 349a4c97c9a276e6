package commercetools_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/commercetools"
)

// extensionAuth is the extension destination's Authorization header value.
const extensionAuth = "Basic dHJ1c3RseS1zaWRlY2FyOmV4dGVuc2lvbi1zZWNyZXQ="

// receivedAt pins the fixtures' arrival; nothing reads the wall clock.
var receivedAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestConformance(t *testing.T) {
	adaptertest.Run(t, subject, fixtures(t))
}

func config(f *fakeCT) commercetools.Config {
	return commercetools.Config{
		ProjectKey: fakeProject, APIURL: f.srv.URL, AuthURL: f.srv.URL,
		ClientID: fakeClient, ClientSecret: []byte(fakeSecret),
		ExtensionAuthorization: []byte(extensionAuth),
	}
}

func subject(t *testing.T) adaptertest.Subject {
	f := newFakeCT(t)
	f.add(t, paidPayment)
	a, err := commercetools.New(config(f))
	if err != nil {
		t.Fatal(err)
	}
	return adaptertest.Subject{Adapter: a, Platform: f}
}

// paidPayment is a payment whose Trustly charge is pending and whose
// refund the extension started: each tagged with what the extension's
// answer set (Trustly's OrderID, the refund's sidecar order id).
const paidPayment = `{"id":"6a1f0f4e-3c1b-4c55-9f3e-1d2a3b4c5d6e","amountPlanned":{"centAmount":10350,"currencyCode":"SEK","fractionDigits":2},
 "paymentMethodInfo":{"paymentInterface":"trustly"},
 "transactions":[
  {"id":"tx-charge","type":"Charge","amount":{"centAmount":10350,"currencyCode":"SEK","fractionDigits":2},"state":"Pending","interactionId":"4567123890"},
  {"id":"tx-refund","type":"Refund","amount":{"centAmount":5000,"currencyCode":"SEK","fractionDigits":2},"state":"Pending","interactionId":"ref_7"}]}`

// extension is the request commercetools posts for the input in file.
func extension(t *testing.T, file string) adapter.Request {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return adapter.Request{Method: http.MethodPost, Path: "/", Body: body, ReceivedAt: receivedAt,
		Header: http.Header{"Authorization": {extensionAuth}, "Content-Type": {"application/json"}}}
}

var asa = adapter.Customer{ID: "c0ffee00-1111-4222-8333-444455556666", Email: "asa.ek@example.se", FirstName: "Åsa", LastName: "Ek"}

func fixtures(t *testing.T) adaptertest.Fixtures {
	const pay = "6a1f0f4e-3c1b-4c55-9f3e-1d2a3b4c5d6e"
	const sub = "0b9e2a11-5d6e-4f70-8a1b-2c3d4e5f6a7b"
	se := asa
	se.Country = "SE"
	payCmd := adapter.Command{Kind: adapter.CommandPay, IdempotencyKey: "commercetools:" + pay + ":7b2e1d3c-0000-4000-8000-000000000001",
		Order: adapter.Order{ID: pay}, Amount: adapter.Money{Minor: 10350, Currency: "SEK"}, Customer: se}
	return adaptertest.Fixtures{
		SignatureHeaders: []string{"Authorization"},
		HeaderAuth:       true,
		Requests: []adaptertest.Request{
			{Name: "create-charge", Request: extension(t, "create-charge.json"), Want: []adapter.Command{payCmd}},
			{Name: "update-refund", Request: extension(t, "update-refund.json"), Want: []adapter.Command{{
				Kind: adapter.CommandRefund, IdempotencyKey: "commercetools:" + pay + ":7b2e1d3c-0000-4000-8000-000000000002",
				Order: adapter.Order{ID: pay}, Amount: adapter.Money{Minor: 5000, Currency: "SEK"}, Reference: "4567123890"}}},
			{Name: "recurring-charge", Request: extension(t, "recurring-charge.json"), Want: []adapter.Command{{
				Kind: adapter.CommandCharge, IdempotencyKey: "commercetools:" + sub + ":7b2e1d3c-0000-4000-8000-000000000010",
				Order: adapter.Order{ID: sub}, Amount: adapter.Money{Minor: 19900, Currency: "SEK"}, Customer: asa}}},
			{Name: "update-cancel", Request: extension(t, "update-cancel.json"), Want: []adapter.Command{{
				Kind: adapter.CommandCancelCharge, IdempotencyKey: "commercetools:" + sub + ":7b2e1d3c-0000-4000-8000-000000000011",
				Order: adapter.Order{ID: sub}, Amount: adapter.Money{Minor: 19900, Currency: "SEK"}, Reference: "9876543210"}}},
			{Name: "other-interface", Request: extension(t, "other-interface.json")},
			{Name: "missing-payer", Request: extension(t, "missing-payer.json")},
		},
		Changes: []adapter.StatusChange{
			{ID: "ord_1:3", Order: adapter.Order{ID: pay}, Status: adapter.StatusPaid,
				Amount: adapter.Money{Minor: 10350, Currency: "SEK"}, ProviderReference: "4567123890", OccurredAt: receivedAt},
			{ID: "ref_7:2", Order: adapter.Order{ID: pay}, Status: adapter.StatusRefunded,
				Amount: adapter.Money{Minor: 5000, Currency: "SEK"}, ProviderReference: "4567123890"},
			{ID: "ord_1:9", Order: adapter.Order{ID: pay}, Status: adapter.StatusAttention,
				Message: "Needs a person: credited 100.00 SEK, ordered 103.50 SEK"},
		},
		Answers: []adaptertest.Answer{
			{Name: "deposit-started", Request: extension(t, "create-charge.json"), WantStatus: http.StatusOK,
				Results: []adapter.Result{{IdempotencyKey: payCmd.IdempotencyKey, OK: true, ProviderReference: "4567123890", RedirectURL: "https://trustly.example/checkout/abc"}}},
			{Name: "deposit-refused", Request: extension(t, "create-charge.json"), WantStatus: http.StatusBadRequest,
				Results: []adapter.Result{{IdempotencyKey: payCmd.IdempotencyKey, ErrorCode: "trustly_refused", Message: "ERROR_INVALID_EMAIL"}}},
			{Name: "deposit-pending", Request: extension(t, "create-charge.json"), WantStatus: http.StatusOK,
				Results: []adapter.Result{{IdempotencyKey: payCmd.IdempotencyKey, Pending: true}}},
			{Name: "missing-payer", Request: extension(t, "missing-payer.json"), WantStatus: http.StatusBadRequest},
			{Name: "other-interface", Request: extension(t, "other-interface.json"), WantStatus: http.StatusOK},
		},
	}
}
