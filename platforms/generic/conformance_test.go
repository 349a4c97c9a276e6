package generic_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic/fakeshop"
)

var (
	webhookSecret  = []byte("whsec_0123456789abcdef")
	callbackSecret = []byte("cbsec_fedcba9876543210")
	// sentAt is when the fixtures were signed; nothing reads the wall clock.
	sentAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func TestConformance(t *testing.T) {
	adaptertest.Run(t, subject, fixtures(t))
}

func subject(t *testing.T) adaptertest.Subject {
	shop := fakeshop.New(t, callbackSecret)
	a, err := generic.New(generic.Config{WebhookSecret: webhookSecret, CallbackURL: shop.URL, CallbackSecret: callbackSecret})
	if err != nil {
		t.Fatal(err)
	}
	return adaptertest.Subject{Adapter: a, Platform: shop}
}

// signed is a webhook as the shop sends it at ts, received a moment later.
func signed(t *testing.T, file string, ts time.Time) adapter.Request {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	generic.SignRequest(h, webhookSecret, ts, body)
	return adapter.Request{Method: http.MethodPost, Path: "/", Header: h, Body: body, ReceivedAt: ts.Add(2 * time.Second)}
}

// request is a fixture whose redelivery is re-signed a minute later, as a
// shop's retry would be.
func request(t *testing.T, file string, want ...adapter.Command) adaptertest.Request {
	again := signed(t, file, sentAt.Add(time.Minute))
	return adaptertest.Request{Name: file, Request: signed(t, file, sentAt), Redelivery: &again, Want: want}
}

func fixtures(t *testing.T) adaptertest.Fixtures {
	asa := adapter.Customer{ID: "cust_42", Email: "asa.ek@example.se", FirstName: "Åsa", LastName: "Ek", Country: "SE", Phone: "+46701234567"}
	bad := request(t, "float-amount.json")
	bad.WantErr = adapter.ErrInvalid
	return adaptertest.Fixtures{
		SignatureHeaders: []string{generic.HeaderSignature, generic.HeaderTimestamp},
		Requests: []adaptertest.Request{
			request(t, "payment.requested.json", adapter.Command{
				Kind: adapter.CommandPay, IdempotencyKey: "generic:evt_1001_pay",
				Order: adapter.Order{ID: "1001", Number: "SO-1001"}, Amount: adapter.Money{Minor: 10350, Currency: "SEK"},
				Customer: asa, Metadata: map[string]string{"channel": "web"},
			}),
			request(t, "refund.requested.json", adapter.Command{
				Kind: adapter.CommandRefund, IdempotencyKey: "generic:evt_1001_refund_1",
				Order: adapter.Order{ID: "1001"}, Amount: adapter.Money{Minor: 5000, Currency: "SEK"}, Reference: "4567123890",
			}),
			request(t, "mandate.requested.json", adapter.Command{
				Kind: adapter.CommandMandate, IdempotencyKey: "generic:evt_sub_7_mandate",
				Customer: adapter.Customer{ID: "cust_42", Email: "asa.ek@example.se", Country: "SE"},
			}),
			request(t, "charge.requested.json", adapter.Command{
				Kind: adapter.CommandCharge, IdempotencyKey: "generic:evt_sub_7_renewal_3",
				Order: adapter.Order{ID: "1077"}, Amount: adapter.Money{Minor: 19900, Currency: "SEK"},
				Customer: adapter.Customer{ID: "cust_42", Email: "asa.ek@example.se"}, Reference: "mandate_cust_42",
			}),
			request(t, "charge.cancel_requested.json", adapter.Command{
				Kind: adapter.CommandCancelCharge, IdempotencyKey: "generic:evt_sub_7_renewal_3_cancel",
				Order: adapter.Order{ID: "1077"}, Reference: "4567000111",
			}),
			request(t, "ping.json"),
			bad,
		},
		Changes: []adapter.StatusChange{
			{ID: "chg_1", Order: adapter.Order{ID: "1001", Number: "SO-1001"}, Status: adapter.StatusPaid,
				Amount: adapter.Money{Minor: 10350, Currency: "SEK"}, ProviderReference: "4567123890", OccurredAt: sentAt},
			{ID: "chg_2", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusRefundPending,
				Amount: adapter.Money{Minor: 5000, Currency: "SEK"}, Message: "refund accepted by Trustly"},
		},
	}
}
