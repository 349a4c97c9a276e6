package vendure_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/vendure"
)

var (
	secret = []byte("vendure-shared-secret-0123456789")
	// sentAt is when the fixtures were signed; nothing reads the wall clock.
	sentAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func TestConformance(t *testing.T) {
	adaptertest.Run(t, subject, fixtures(t))
}

func subject(t *testing.T) adaptertest.Subject {
	shop := newFakeVendure(t, secret)
	a, err := vendure.New(vendure.Config{CallbackURL: shop.url, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return adaptertest.Subject{Adapter: a, Platform: shop}
}

// signed is a webhook as the plugin sends it at ts, received a moment later.
func signed(t *testing.T, file string, ts time.Time) adapter.Request {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	vendure.SignRequest(h, secret, vendure.DirectionWebhook, ts, body)
	return adapter.Request{Method: http.MethodPost, Path: "/", Header: h, Body: body, ReceivedAt: ts.Add(2 * time.Second)}
}

func fixtures(t *testing.T) adaptertest.Fixtures {
	again := signed(t, "ping.json", sentAt.Add(time.Minute))
	return adaptertest.Fixtures{
		SignatureHeaders: []string{vendure.HeaderSignature, vendure.HeaderTimestamp},
		Requests: []adaptertest.Request{
			{Name: "ping", Request: signed(t, "ping.json", sentAt), Redelivery: &again},
			{Name: "unknown-event", Request: signed(t, "unknown-event.json", sentAt), WantErr: adapter.ErrInvalid},
		},
		Changes: []adapter.StatusChange{
			{ID: "pay_01:3", Order: adapter.Order{ID: "pay_01"}, Status: adapter.StatusPaid,
				Amount: adapter.Money{Minor: 10350, Currency: "SEK"}, ProviderReference: "4567123890", OccurredAt: sentAt},
			{ID: "ref_07:2", Order: adapter.Order{ID: "pay_01"}, Status: adapter.StatusRefunded,
				Amount: adapter.Money{Minor: 5000, Currency: "SEK"}},
			{ID: "pay_01:9", Order: adapter.Order{ID: "pay_01"}, Status: adapter.StatusAttention,
				Message: "Needs a person: credited 100.00 SEK, ordered 103.50 SEK"},
		},
	}
}
