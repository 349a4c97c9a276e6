package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
)

// notificationFunc is a test NotificationHandler.
type notificationFunc func(ctx context.Context, body []byte) ([]byte, error)

func (f notificationFunc) HandleNotification(ctx context.Context, body []byte) ([]byte, error) {
	return f(ctx, body)
}

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})})
}

const credit = `{"method":"credit","version":"1.1","params":{"signature":"c2ln","uuid":"u-1","data":{"notificationid":"n-1"}}}`

func startPublic(t *testing.T, h NotificationHandler) (*httptest.Server, *metrics.Set, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	m := metrics.New()
	srv := httptest.NewServer(NewPublic(testLogger(logs), m, testSecret, 1024, h, nil, nil))
	t.Cleanup(srv.Close)
	return srv, m, logs
}

func TestNotificationRoute(t *testing.T) {
	var got []byte
	reply := `{"result":{"signature":"x","uuid":"u-1","method":"credit","data":{"status":"OK"}},"version":"1.1"}`
	srv, _, logs := startPublic(t, notificationFunc(func(_ context.Context, body []byte) ([]byte, error) {
		got = body
		return []byte(reply), nil
	}))
	url := srv.URL + "/trustly/notifications/" + testSecret

	a := do(t, http.MethodPost, url, credit, "Content-Type", "application/json")
	if a.Status != http.StatusOK || a.Body != reply || a.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q (%s), want 200 with the handler's reply as application/json", a.Status, a.Body, a.Header.Get("Content-Type"))
	}
	if string(got) != credit {
		t.Errorf("handler got %q, want the body as sent", got)
	}

	for _, tt := range []struct {
		name, method, url string
		status            int
		code              string
	}{
		{"wrong secret", http.MethodPost, srv.URL + "/trustly/notifications/" + strings.ToUpper(testSecret), http.StatusNotFound, "not_found"},
		{"secret's prefix", http.MethodPost, srv.URL + "/trustly/notifications/" + testSecret[:10], http.StatusNotFound, "not_found"},
		{"no secret", http.MethodPost, srv.URL + "/trustly/notifications/", http.StatusNotFound, "not_found"},
		{"GET", http.MethodGet, url, http.StatusMethodNotAllowed, "method_not_allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			a := do(t, tt.method, tt.url, credit)
			if a.Status != tt.status || a.ErrorCode(t) != tt.code {
				t.Errorf("got %d %s, want %d %s", a.Status, a.Body, tt.status, tt.code)
			}
			if got != nil {
				t.Error("the handler was called")
			}
		})
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Errorf("the logs hold the notification secret:\n%s", logs)
	}
}

func TestNotificationTooLarge(t *testing.T) {
	called := false
	srv, m, _ := startPublic(t, notificationFunc(func(context.Context, []byte) ([]byte, error) {
		called = true
		return nil, nil
	}))
	a := do(t, http.MethodPost, srv.URL+"/trustly/notifications/"+testSecret, strings.Repeat("x", 1025))
	if a.Status != http.StatusRequestEntityTooLarge || a.ErrorCode(t) != "request_too_large" {
		t.Errorf("got %d %s, want 413 request_too_large", a.Status, a.Body)
	}
	if called {
		t.Error("the handler was called with a truncated body")
	}
	scrape(t, m, `trustly_sidecar_notifications_total{method="other",outcome="too_large"} 1`)
}

func TestNotificationErrorsMapToStatus(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		outcome string
	}{
		{"Redis down: Trustly must retry", fmt.Errorf("engine: apply: %w", store.ErrUnavailable), http.StatusServiceUnavailable, "unavailable", "unavailable"},
		{"bad signature", fmt.Errorf("engine: %w", trustly.ErrBadSignature), http.StatusBadRequest, "bad_signature", "rejected"},
		{"TEST/LIVE key mix-up", fmt.Errorf("engine: %w", trustly.ErrKeyMixup), http.StatusBadRequest, "bad_signature", "rejected"},
		{"not a notification", fmt.Errorf("engine: %w", trustly.ErrNotNotification), http.StatusBadRequest, "invalid_notification", "rejected"},
		{"anything else", errors.New("engine: bug"), http.StatusInternalServerError, "internal", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, m, logs := startPublic(t, notificationFunc(func(context.Context, []byte) ([]byte, error) {
				return []byte("never sent"), tt.err
			}))
			a := do(t, http.MethodPost, srv.URL+"/trustly/notifications/"+testSecret, credit)
			if a.Status != tt.status || a.ErrorCode(t) != tt.code {
				t.Errorf("got %d %s, want %d %s", a.Status, a.Body, tt.status, tt.code)
			}
			if strings.Contains(a.Body, "never sent") || strings.Contains(a.Body, "engine:") {
				t.Errorf("answer %q leaks the reply or the internal error", a.Body)
			}
			if tt.status == http.StatusServiceUnavailable && a.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if !strings.Contains(logs.Await(tt.err.Error()), tt.err.Error()) {
				t.Errorf("the error is not logged:\n%s", logs)
			}
			scrape(t, m, fmt.Sprintf(`trustly_sidecar_notifications_total{method="credit",outcome=%q} 1`, tt.outcome))
		})
	}
}

func TestRequestIDs(t *testing.T) {
	logs := &logBuffer{}
	h := NewPublic(testLogger(logs), metrics.New(), testSecret, 1024, notificationFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
		return nil, errors.New("boom")
	}), nil, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()

	a := do(t, http.MethodGet, srv.URL+"/healthz", "", "X-Request-Id", "shop-req_42.a:b")
	if got := a.Header.Get("X-Request-Id"); got != "shop-req_42.a:b" {
		t.Errorf("sane X-Request-Id not kept: %q", got)
	}
	for _, bad := range []string{"has space", "ünicode", strings.Repeat("a", 129), "quote\""} {
		a := do(t, http.MethodGet, srv.URL+"/healthz", "", "X-Request-Id", bad)
		if got := a.Header.Get("X-Request-Id"); got == bad || !saneRequestID(got) {
			t.Errorf("X-Request-Id %q answered with %q", bad, got)
		}
	}
	a = do(t, http.MethodPost, srv.URL+"/trustly/notifications/"+testSecret, credit, "X-Request-Id", "trace-7")
	if a.ErrorCode(t) != "internal" {
		t.Errorf("got %s", a.Body)
	}
	// The handler's own log record carries the id through the context.
	found := false
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "notification not applied") && strings.Contains(line, `"request_id":"trace-7"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no log record with the request id:\n%s", logs)
	}
}

func TestPanicBecomes500(t *testing.T) {
	srv, _, logs := startPublic(t, notificationFunc(func(context.Context, []byte) ([]byte, error) {
		panic("engine exploded")
	}))
	a := do(t, http.MethodPost, srv.URL+"/trustly/notifications/"+testSecret, credit)
	if a.Status != http.StatusInternalServerError || a.ErrorCode(t) != "internal" {
		t.Errorf("got %d %s", a.Status, a.Body)
	}
	if !strings.Contains(logs.String(), "engine exploded") {
		t.Errorf("panic not logged:\n%s", logs)
	}
}

func startPrivate(t *testing.T, token string, ready ...ReadinessCheck) (*httptest.Server, *metrics.Set) {
	t.Helper()
	m := metrics.New()
	srv := httptest.NewServer(NewPrivate(testLogger(io.Discard), m, token, 2048, ready, nil))
	t.Cleanup(srv.Close)
	return srv, m
}

func TestBearerToken(t *testing.T) {
	srv, _ := startPrivate(t, testToken)
	for _, path := range []string{"/metrics", "/openapi.json", "/v1/balance"} {
		for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic " + testToken, "Bearer " + testToken + "x"} {
			a := do(t, http.MethodGet, srv.URL+path, "", "Authorization", auth)
			if a.Status != http.StatusUnauthorized || a.ErrorCode(t) != "unauthorized" || a.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s with %q: got %d %s, want 401", path, auth, a.Status, a.Body)
			}
		}
		a := do(t, http.MethodGet, srv.URL+path, "", "Authorization", "Bearer "+testToken)
		if a.Status == http.StatusUnauthorized {
			t.Errorf("%s with the token: 401", path)
		}
	}
	if a := do(t, http.MethodGet, srv.URL+"/readyz", ""); a.Status != http.StatusOK {
		t.Errorf("/readyz without token: %d, want 200 (probes send no token)", a.Status)
	}
}

func TestReadyz(t *testing.T) {
	pluginErr := errors.New("plugin woocommerce is restarting")
	var mu sync.Mutex
	var fail error
	srv, _ := startPrivate(t, "", ReadinessCheck{Name: "plugins", Check: func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return fail
	}})
	a := do(t, http.MethodGet, srv.URL+"/readyz", "")
	if a.Status != http.StatusOK || !strings.Contains(a.Body, `"plugins":"ok"`) {
		t.Errorf("got %d %s", a.Status, a.Body)
	}
	mu.Lock()
	fail = pluginErr
	mu.Unlock()
	a = do(t, http.MethodGet, srv.URL+"/readyz", "")
	if a.Status != http.StatusServiceUnavailable || !strings.Contains(a.Body, `"plugins":"fail"`) || strings.Contains(a.Body, "woocommerce") {
		t.Errorf("got %d %s, want 503 naming the check but not the error", a.Status, a.Body)
	}
}

// An advisory check shows its failure without taking the sidecar out of
// service.
func TestReadyzAdvisoryCheck(t *testing.T) {
	srv, _ := startPrivate(t, "",
		ReadinessCheck{Name: "redis", Check: func(context.Context) error { return nil }},
		ReadinessCheck{Name: "redis_durability", Advisory: true, Check: func(context.Context) error { return errors.New("appendonly no") }})
	a := do(t, http.MethodGet, srv.URL+"/readyz", "")
	if a.Status != http.StatusOK || !strings.Contains(a.Body, `"redis_durability":"weak"`) || !strings.Contains(a.Body, `"status":"ready"`) {
		t.Errorf("got %d %s, want 200 with the advisory check weak", a.Status, a.Body)
	}
}

func TestV1RoutesAnswerNotImplemented(t *testing.T) {
	srv, _ := startPrivate(t, "")
	for _, tt := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{http.MethodPost, "/v1/payments", `{"amount":"10.00"}`, http.StatusNotImplemented, "not_implemented"},
		{http.MethodGet, "/v1/payments/p1", "", http.StatusNotImplemented, "not_implemented"},
		{http.MethodDelete, "/v1/charges/c1", "", http.StatusNotImplemented, "not_implemented"},
		{http.MethodPost, "/v1/payments", `{"amount":`, http.StatusBadRequest, "invalid_json"},
		{http.MethodPost, "/v1/payments", `[1]`, http.StatusBadRequest, "invalid_json"},
		{http.MethodPost, "/v1/payments", `{} {}`, http.StatusBadRequest, "invalid_json"},
		{http.MethodPost, "/v1/mandates", `{"x":"` + strings.Repeat("a", 3000) + `"}`, http.StatusRequestEntityTooLarge, "request_too_large"},
		{http.MethodPut, "/v1/payments", `{}`, http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodGet, "/v1/nothing", "", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/nothing", "", http.StatusNotFound, "not_found"},
	} {
		a := do(t, tt.method, srv.URL+tt.path, tt.body, "Content-Type", "application/json")
		if a.Status != tt.status || a.ErrorCode(t) != tt.code {
			t.Errorf("%s %s %.20q: got %d %s, want %d %s", tt.method, tt.path, tt.body, a.Status, a.Body, tt.status, tt.code)
		}
	}
	a := do(t, http.MethodPost, srv.URL+"/v1/payments", `{}`, "Content-Type", "text/plain")
	if a.Status != http.StatusUnsupportedMediaType || a.ErrorCode(t) != "unsupported_media_type" {
		t.Errorf("text/plain: got %d %s", a.Status, a.Body)
	}
}

// scrape reads the metrics and checks that each line is among them.
func scrape(t *testing.T, m *metrics.Set, lines ...string) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	// The request metrics are recorded after the answer is sent: poll.
	var missing []string
	var a answer
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		a = do(t, http.MethodGet, srv.URL, "")
		missing = missing[:0]
		for _, l := range lines {
			if !strings.Contains(a.Body, l+"\n") {
				missing = append(missing, l)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, l := range missing {
		t.Errorf("metrics lack %q", l)
	}
	return a.Body
}

func TestMetrics(t *testing.T) {
	srv, m, _ := startPublic(t, notificationFunc(func(context.Context, []byte) ([]byte, error) { return []byte("{}"), nil }))
	do(t, http.MethodPost, srv.URL+"/trustly/notifications/"+testSecret, credit)
	do(t, http.MethodPost, srv.URL+"/trustly/notifications/"+testSecret, `{"method":"made-up-by-an-attacker"}`)
	do(t, http.MethodGet, srv.URL+"/healthz", "")
	do(t, http.MethodGet, srv.URL+"/no/such/path", "")

	m.TrustlyCall("Deposit", nil)
	m.TrustlyCall("Deposit", &trustly.Error{Code: 616})
	m.TrustlyCall("Refund", context.DeadlineExceeded)
	m.IdempotencyReplay("createPayment")
	m.PluginRestart("woocommerce")
	m.SetOutboxStats(func(context.Context) (metrics.OutboxStats, error) {
		return metrics.OutboxStats{Depth: 3, OldestAge: 90 * time.Second, Dead: 2}, nil
	})
	m.SetEngineStats(func() engine.Stats { return engine.Stats{Reconciles: 4, Expired: 1, Open: 7} })
	m.Notification("credit", engine.NotifyApplied)
	m.Notification("credit", engine.NotifyDuplicate)
	m.Notification("", engine.NotifyRejected)

	body := scrape(t, m,
		`trustly_sidecar_http_request_duration_seconds_count{listener="public",method="POST",route="/trustly/notifications/{secret}",status="200"} 2`,
		`trustly_sidecar_http_request_duration_seconds_count{listener="public",method="GET",route="/healthz",status="200"} 1`,
		`trustly_sidecar_http_request_duration_seconds_count{listener="public",method="GET",route="unmatched",status="404"} 1`,
		`trustly_sidecar_notifications_total{method="credit",outcome="replied"} 1`,
		`trustly_sidecar_notifications_total{method="other",outcome="replied"} 1`,
		`trustly_sidecar_trustly_calls_total{code="ok",method="Deposit"} 1`,
		`trustly_sidecar_trustly_calls_total{code="616",method="Deposit"} 1`,
		`trustly_sidecar_trustly_calls_total{code="error",method="Refund"} 1`,
		`trustly_sidecar_idempotency_replays_total{operation="createPayment"} 1`,
		`trustly_sidecar_plugin_restarts_total{plugin="woocommerce"} 1`,
		`trustly_sidecar_outbox_depth 3`,
		`trustly_sidecar_outbox_oldest_age_seconds 90`,
		`trustly_sidecar_outbox_dead_letters 2`,
		`trustly_sidecar_reconcile_passes_total 4`,
		`trustly_sidecar_reconcile_expired_total 1`,
		`trustly_sidecar_open_orders 7`,
		`trustly_sidecar_notification_outcomes_total{method="credit",outcome="applied"} 1`,
		`trustly_sidecar_notification_outcomes_total{method="credit",outcome="duplicate"} 1`,
		`trustly_sidecar_notification_outcomes_total{method="other",outcome="rejected"} 1`,
	)
	if !strings.Contains(body, "\ngo_goroutines ") {
		t.Error("metrics lack the Go runtime's")
	}
	if strings.Contains(body, testSecret) || strings.Contains(body, "made-up") {
		t.Error("metrics hold the secret or a method from the body")
	}
}
