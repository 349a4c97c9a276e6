package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
)

// recordingAdapter answers every request with what it was told of it, and
// asks for nothing to run.
type recordingAdapter struct {
	mu   sync.Mutex
	desc adapter.Description
}

func (a *recordingAdapter) describe() (adapter.Description, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.desc, true
}

func (a *recordingAdapter) Describe(context.Context) (adapter.Description, error) {
	d, _ := a.describe()
	return d, nil
}

func (a *recordingAdapter) Translate(context.Context, adapter.Request) ([]adapter.Command, error) {
	return nil, nil
}

func (a *recordingAdapter) Answer(_ context.Context, req adapter.Request, _ []adapter.Result) (adapter.Response, error) {
	b, err := json.Marshal(seenRequest{req.Method, req.Path, req.RawQuery, req.Public, req.BaseURL, string(req.Body)})
	return adapter.Response{Status: http.StatusOK, Body: b}, err
}

func (a *recordingAdapter) ApplyStatus(context.Context, adapter.StatusChange) error { return nil }

type seenRequest struct {
	Method, Path, RawQuery string
	Public                 bool
	BaseURL, Body          string
}

// A platform's requests reach its adapter on both listeners, with the path
// below the platform's route, the query, where they came in and the public
// URL the adapter's routes are at; the public listener serves only a Public
// adapter.
func TestPlatformRequestsReachTheAdapterWithTheirPath(t *testing.T) {
	rec := &recordingAdapter{desc: adapter.Description{Name: "shopx", Sync: true, Public: true}}
	log, m := testLogger(io.Discard), metrics.New()
	hooks := NewWebhooks(log, m, nil, nil, rec, config.ShopDefaults{}, func(context.Context) error { return nil }, rec.describe, time.Now,
		"https://pay.example.com/")
	pub := httptest.NewServer(NewPublic(log, m, testSecret, 1024, nil, nil, hooks.PublicHandler(64)))
	defer pub.Close()
	priv := httptest.NewServer(NewPrivate(log, m, "", 1<<20, nil, NewAPI(log, m, nil, nil, hooks, nil)))
	defer priv.Close()

	const base = "https://pay.example.com/platform/shopx"
	for _, c := range []struct {
		name, method, url, body string
		want                    seenRequest
	}{
		{"a manifest on the public listener", http.MethodGet, pub.URL + "/platform/shopx/manifest?v=2&x=%C3%A5", "",
			seenRequest{"GET", "/manifest", "v=2&x=%C3%A5", true, base, ""}},
		{"a webhook at the public route itself", http.MethodPost, pub.URL + "/platform/shopx", "{}",
			seenRequest{"POST", "/", "", true, base, "{}"}},
		{"a nested webhook path", http.MethodPost, pub.URL + "/platform/shopx/webhooks/charge-requested", "{}",
			seenRequest{"POST", "/webhooks/charge-requested", "", true, base, "{}"}},
		{"the private route", http.MethodPost, priv.URL + "/v1/webhooks/shopx", "{}",
			seenRequest{"POST", "/", "", false, base, "{}"}},
		{"below the private route", http.MethodPost, priv.URL + "/v1/webhooks/shopx/a/b", "{}",
			seenRequest{"POST", "/a/b", "", false, base, "{}"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := do(t, c.method, c.url, c.body)
			var got seenRequest
			if err := json.Unmarshal([]byte(a.Body), &got); a.Status != http.StatusOK || err != nil {
				t.Fatalf("%d %s %v", a.Status, a.Body, err)
			}
			if got != c.want {
				t.Errorf("the adapter saw %+v, want %+v", got, c.want)
			}
		})
	}

	for _, c := range []struct {
		name, method, url, body string
		want                    int
	}{
		{"another platform's name", http.MethodGet, pub.URL + "/platform/other/manifest", "", http.StatusNotFound},
		{"a body over the public limit", http.MethodPost, pub.URL + "/platform/shopx", string(make([]byte, 65)), http.StatusRequestEntityTooLarge},
		{"a method the route does not take", http.MethodDelete, pub.URL + "/platform/shopx", "", http.StatusMethodNotAllowed},
	} {
		t.Run(c.name, func(t *testing.T) {
			if a := do(t, c.method, c.url, c.body); a.Status != c.want {
				t.Errorf("%d %s; want %d", a.Status, a.Body, c.want)
			}
		})
	}

	// No longer Public (a new adapter version): gone from the public
	// listener, still served privately.
	rec.mu.Lock()
	rec.desc.Public = false
	rec.mu.Unlock()
	if a := do(t, http.MethodGet, pub.URL+"/platform/shopx/manifest", ""); a.Status != http.StatusNotFound {
		t.Errorf("public route of an adapter that is not Public: %d %s", a.Status, a.Body)
	}
	a := do(t, http.MethodPost, priv.URL+"/v1/webhooks/shopx", "{}")
	var got seenRequest
	if err := json.Unmarshal([]byte(a.Body), &got); err != nil || a.Status != http.StatusOK || got.BaseURL != "" {
		t.Errorf("private route of an adapter that is not Public: %d %s (want no BaseURL)", a.Status, a.Body)
	}
}
