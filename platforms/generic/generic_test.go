package generic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
)

func TestVerify(t *testing.T) {
	body := []byte(`{"event_id":"e","type":"ping"}`)
	good := func() http.Header {
		h := http.Header{}
		generic.SignRequest(h, webhookSecret, sentAt, body)
		return h
	}
	tests := []struct {
		name   string
		header func() http.Header
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"signed just now", good, body, sentAt, true},
		{"at the edge of the window, late", good, body, sentAt.Add(generic.DefaultTolerance), true},
		{"at the edge of the window, early clock", good, body, sentAt.Add(-generic.DefaultTolerance), true},
		{"a replay after the window", good, body, sentAt.Add(generic.DefaultTolerance + time.Second), false},
		{"from the future", good, body, sentAt.Add(-generic.DefaultTolerance - time.Second), false},
		{"body changed", good, []byte(`{"event_id":"e","type":"pong"}`), sentAt, false},
		{"timestamp rewritten to look fresh", func() http.Header {
			h := good()
			h.Set(generic.HeaderTimestamp, "1772366500")
			return h
		}, body, sentAt, false},
		{"signed with another secret", func() http.Header {
			h := http.Header{}
			generic.SignRequest(h, []byte("not the secret at all"), sentAt, body)
			return h
		}, body, sentAt, false},
		{"no signature", func() http.Header { h := good(); h.Del(generic.HeaderSignature); return h }, body, sentAt, false},
		{"no timestamp", func() http.Header { h := good(); h.Del(generic.HeaderTimestamp); return h }, body, sentAt, false},
		{"no sha256= prefix", func() http.Header {
			h := good()
			h.Set(generic.HeaderSignature, strings.TrimPrefix(h.Get(generic.HeaderSignature), "sha256="))
			return h
		}, body, sentAt, false},
		{"not hex", func() http.Header { h := good(); h.Set(generic.HeaderSignature, "sha256=zz"); return h }, body, sentAt, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := generic.Verify(tt.header(), webhookSecret, tt.body, tt.now, generic.DefaultTolerance)
			if tt.ok && err != nil {
				t.Fatalf("Verify = %v, want ok", err)
			}
			if !tt.ok && !errors.Is(err, adapter.ErrUnauthenticated) {
				t.Fatalf("Verify = %v, want ErrUnauthenticated", err)
			}
		})
	}
}

func TestTranslateRefusesIncompleteEvents(t *testing.T) {
	a, err := generic.New(generic.Config{WebhookSecret: webhookSecret, CallbackURL: "http://shop.invalid/cb", CallbackSecret: callbackSecret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, body string }{
		{"not JSON", `payment please`},
		{"no event id", `{"type":"ping"}`},
		{"event id with spaces", `{"event_id":"a b","type":"ping"}`},
		{"unknown type", `{"event_id":"e","type":"payment.teleported"}`},
		{"payment without order", `{"event_id":"e","type":"payment.requested"}`},
		{"payment with a float amount", `{"event_id":"e","type":"payment.requested","order":{"id":"1","amount_minor":1.5,"currency":"SEK","customer":{"id":"c"}}}`},
		{"payment with an amount as a string", `{"event_id":"e","type":"payment.requested","order":{"id":"1","amount_minor":"100","currency":"SEK","customer":{"id":"c"}}}`},
		{"payment of zero", `{"event_id":"e","type":"payment.requested","order":{"id":"1","amount_minor":0,"currency":"SEK","customer":{"id":"c"}}}`},
		{"payment in a lower-case currency", `{"event_id":"e","type":"payment.requested","order":{"id":"1","amount_minor":1,"currency":"sek","customer":{"id":"c"}}}`},
		{"payment without customer id", `{"event_id":"e","type":"payment.requested","order":{"id":"1","amount_minor":1,"currency":"SEK"}}`},
		{"refund without refund", `{"event_id":"e","type":"refund.requested","order":{"id":"1"}}`},
		{"mandate without e-mail", `{"event_id":"e","type":"mandate.requested","customer":{"id":"c"}}`},
		{"charge without mandate", `{"event_id":"e","type":"charge.requested","order":{"id":"1","amount_minor":1,"currency":"SEK","customer":{"id":"c","email":"c@example.se"}}}`},
		{"charge without the customer's e-mail", `{"event_id":"e","type":"charge.requested","order":{"id":"1","amount_minor":1,"currency":"SEK","customer":{"id":"c"}},"mandate_reference":"m"}`},
		{"cancel without charge", `{"event_id":"e","type":"charge.cancel_requested","order":{"id":"1"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			generic.SignRequest(h, webhookSecret, sentAt, []byte(tt.body))
			cmds, err := a.Translate(context.Background(), adapter.Request{Header: h, Body: []byte(tt.body), ReceivedAt: sentAt})
			if !errors.Is(err, adapter.ErrInvalid) {
				t.Fatalf("Translate = %+v, %v; want ErrInvalid", cmds, err)
			}
		})
	}
}

// TestApplyStatusClassifiesTheShopsAnswer runs against a real HTTP server:
// the sender is never mocked.
func TestApplyStatusClassifiesTheShopsAnswer(t *testing.T) {
	tests := []struct {
		status int
		want   adapter.Class
	}{
		{200, adapter.ClassNone},
		{204, adapter.ClassNone},
		{302, adapter.ClassPermanent},
		{400, adapter.ClassPermanent},
		{401, adapter.ClassPermanent},
		{404, adapter.ClassPermanent},
		{409, adapter.ClassPermanent},
		{422, adapter.ClassPermanent},
		{408, adapter.ClassRetryable},
		{429, adapter.ClassRetryable},
		{500, adapter.ClassRetryable},
		{502, adapter.ClassRetryable},
		{503, adapter.ClassRetryable},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == http.StatusFound {
					w.Header().Set("Location", "http://elsewhere.invalid/")
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			err := newAdapter(t, srv.URL).ApplyStatus(context.Background(), change())
			if got := adapter.Classify(err); got != tt.want {
				t.Fatalf("ApplyStatus against %d = %v (class %s), want class %s", tt.status, err, got, tt.want)
			}
		})
	}
}

func TestApplyStatusToAShopThatIsNotListeningIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/cb"
	ln.Close() // nothing listens there any more: connection refused
	err = newAdapter(t, url).ApplyStatus(context.Background(), change())
	if adapter.Classify(err) != adapter.ClassRetryable {
		t.Fatalf("ApplyStatus = %v, want retryable", err)
	}
}

func TestCallbackIsSignedAndCarriesTheChange(t *testing.T) {
	stamp := sentAt.Add(3 * time.Second)
	var got generic.Callback
	var verr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verr = generic.Verify(r.Header, callbackSecret, body, stamp, generic.DefaultTolerance)
		if r.Header.Get(generic.HeaderIdempotencyKey) != "chg_1" {
			verr = errors.New("no Idempotency-Key")
		}
		_ = json.Unmarshal(body, &got)
	}))
	defer srv.Close()
	a, err := generic.New(generic.Config{WebhookSecret: webhookSecret, CallbackURL: srv.URL, CallbackSecret: callbackSecret,
		Now: func() time.Time { return stamp }})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyStatus(context.Background(), change()); err != nil {
		t.Fatal(err)
	}
	if verr != nil {
		t.Fatalf("shop could not verify the callback: %v", verr)
	}
	want := generic.Callback{ChangeID: "chg_1", OrderID: "1001", OrderNumber: "SO-1001", Status: "paid",
		AmountMinor: 10350, Currency: "SEK", ProviderReference: "4567123890", OccurredAt: "2026-03-01T12:00:00Z"}
	if got != want {
		t.Errorf("callback\n got %+v\nwant %+v", got, want)
	}
}

func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	secretFile, shortFile := filepath.Join(dir, "secret"), filepath.Join(dir, "short")
	// Mounted secrets usually end in a newline, which is not part of the secret.
	if err := os.WriteFile(secretFile, append(slices.Clone(webhookSecret), '\n'), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shortFile, []byte("short\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		generic.EnvWebhookSecret:  string(webhookSecret),
		generic.EnvCallbackSecret: string(callbackSecret),
		generic.EnvCallbackURL:    "https://shop.example/trustly",
	}
	tests := []struct {
		name   string
		change map[string]string
		errHas string
	}{
		{"complete", nil, ""},
		{"short webhook secret", map[string]string{generic.EnvWebhookSecret: "short"}, generic.EnvWebhookSecret},
		{"no callback secret", map[string]string{generic.EnvCallbackSecret: ""}, generic.EnvCallbackSecret},
		{"callback URL without scheme", map[string]string{generic.EnvCallbackURL: "shop.example/trustly"}, generic.EnvCallbackURL},
		{"tolerance not a duration", map[string]string{generic.EnvTolerance: "5"}, generic.EnvTolerance},
		{"secret both as value and file", map[string]string{generic.EnvWebhookSecret + "_FILE": secretFile}, "both set"},
		{"secret file missing", map[string]string{generic.EnvWebhookSecret: "", generic.EnvWebhookSecret + "_FILE": "/nonexistent/secret"}, generic.EnvWebhookSecret + "_FILE"},
		{"secret from a file", map[string]string{generic.EnvWebhookSecret: "", generic.EnvWebhookSecret + "_FILE": secretFile}, ""},
		{"short secret from a file", map[string]string{generic.EnvCallbackSecret: "", generic.EnvCallbackSecret + "_FILE": shortFile}, generic.EnvCallbackSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if v, ok := tt.change[k]; ok {
					return v
				}
				return env[k]
			}
			_, err := generic.NewFromEnv(getenv)
			if tt.errHas == "" && err != nil {
				t.Fatalf("NewFromEnv = %v", err)
			}
			if tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("NewFromEnv = %v, want an error naming %s", err, tt.errHas)
			}
		})
	}
	cfg, err := generic.FromEnv(func(k string) string {
		if k == generic.EnvWebhookSecret+"_FILE" {
			return secretFile
		}
		if k == generic.EnvWebhookSecret {
			return ""
		}
		return env[k]
	})
	if err != nil || !bytes.Equal(cfg.WebhookSecret, webhookSecret) {
		t.Errorf("secret from a file = %q, %v; want the file's content without its newline", cfg.WebhookSecret, err)
	}
}

func newAdapter(t *testing.T, url string) *generic.Adapter {
	t.Helper()
	a, err := generic.New(generic.Config{WebhookSecret: webhookSecret, CallbackURL: url, CallbackSecret: callbackSecret})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func change() adapter.StatusChange {
	return adapter.StatusChange{ID: "chg_1", Order: adapter.Order{ID: "1001", Number: "SO-1001"}, Status: adapter.StatusPaid,
		Amount: adapter.Money{Minor: 10350, Currency: "SEK"}, ProviderReference: "4567123890", OccurredAt: sentAt}
}
