package woocommerce_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce/wcfake"
)

var webhookSecret = []byte("wc-webhook-secret-0123456789")

func TestConformance(t *testing.T) {
	adaptertest.Run(t, subject, fixtures(t))
}

// newShop is the stand-in with order 1001 pending and 1002 paid, with the
// refunds of testdata/order.updated.refund.json: two an admin recorded for
// the sidecar to carry out, one the adapter recorded itself.
func newShop(t *testing.T) *wcfake.Shop {
	shop := wcfake.New(t)
	shop.AddOrder("pending", 10350, "SEK")
	paid := shop.AddOrder("processing", 103500, "SEK")
	shop.SeedRefund(paid, 1104, 1000, "Refunded through Trustly [trustly-sidecar refund p_1.r_abc]", woocommerce.RefundByManual)
	shop.SeedRefund(paid, 1105, 24650, "damaged cup", woocommerce.RefundBySidecar)
	shop.SeedRefund(paid, 1107, 2000, "", woocommerce.RefundBySidecar)
	return shop
}

func newAdapter(t *testing.T, shop *wcfake.Shop, edit ...func(*woocommerce.Config)) *woocommerce.Adapter {
	t.Helper()
	cfg := woocommerce.Config{WebhookSecret: shop.WebhookSecret, StoreURL: shop.URL, ConsumerKey: shop.Key,
		ConsumerSecret: []byte(shop.Secret), WebhookRefunds: true}
	for _, e := range edit {
		e(&cfg)
	}
	a, err := woocommerce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func subject(t *testing.T) adaptertest.Subject {
	shop := newShop(t)
	return adaptertest.Subject{Adapter: newAdapter(t, shop), Platform: shop}
}

// delivery is a fixture as WooCommerce delivers it on topic.
func delivery(t *testing.T, file, topic string, n int) adapter.Request {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(woocommerce.HeaderTopic, topic)
	h.Set(woocommerce.HeaderDeliveryID, strconv.Itoa(n))
	h.Set(woocommerce.HeaderWebhookID, "12")
	h.Set(woocommerce.HeaderSignature, woocommerce.Sign(webhookSecret, body))
	return adapter.Request{Method: http.MethodPost, Path: "/", Header: h, Body: body, ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// request: the redelivery is a later delivery of the same order (a new
// delivery id), which must make the same commands.
func request(t *testing.T, file, topic string, want ...adapter.Command) adaptertest.Request {
	again := delivery(t, file, topic, 9001)
	return adaptertest.Request{Name: file + "/" + topic, Request: delivery(t, file, topic, 1), Redelivery: &again, Want: want}
}

func refundCmd(refundID string, minor int64) adapter.Command {
	return adapter.Command{Kind: adapter.CommandRefund, IdempotencyKey: "woocommerce:refund:1002:" + refundID,
		Order: adapter.Order{ID: "1002"}, Amount: adapter.Money{Minor: minor, Currency: "SEK"},
		Metadata: map[string]string{"wc_refund_id": refundID}}
}

func fixtures(t *testing.T) adaptertest.Fixtures {
	bad := request(t, "order.refund-bad-amount.json", "order.updated")
	bad.WantErr = adapter.ErrInvalid
	refunds := request(t, "order.updated.refund.json", "order.updated",
		// The refund the adapter recorded itself (its reason carries the
		// marker) is not refunded again.
		refundCmd("1107", 2000), refundCmd("1105", 24650))
	return adaptertest.Fixtures{
		SignatureHeaders: []string{woocommerce.HeaderSignature},
		Requests: []adaptertest.Request{
			refunds,
			request(t, "order.created.json", "order.created"),
			request(t, "order.other-gateway.json", "order.updated"),
			request(t, "order.updated.refund.json", "order.deleted"),
			bad,
		},
		Changes: []adapter.StatusChange{
			{ID: "p_1:3", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPaid,
				Amount: adapter.Money{Minor: 10350, Currency: "SEK"}, ProviderReference: "4567123890"},
			{ID: "p_1:2", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPending, Amount: adapter.Money{Minor: 10350, Currency: "SEK"}},
			{ID: "p_2.r_1:4", Order: adapter.Order{ID: "1002"}, Status: adapter.StatusRefunded,
				Amount: adapter.Money{Minor: 5000, Currency: "SEK"}, ProviderReference: "4567000999"},
			{ID: "p_2:9", Order: adapter.Order{ID: "1002"}, Status: adapter.StatusReversed,
				Amount: adapter.Money{Minor: 103500, Currency: "SEK"}, Message: "Trustly reported a debit."},
			{ID: "p_1:5", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusAttention, Message: "Needs a person: credit of 90.00 SEK"},
		},
	}
}
