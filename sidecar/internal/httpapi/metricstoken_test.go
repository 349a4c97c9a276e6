package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWithMetricsToken(t *testing.T) {
	const shop, prom = "shop-token-0123456789", "prometheus-token-0123456789"
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("metrics")) })
	next := requireToken(shop, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("next")) }))
	h := WithMetricsToken(next, prom, metrics)
	for _, c := range []struct {
		method, path, token string
		code                int
		body                string
	}{
		{"GET", "/metrics", prom, 200, "metrics"},
		{"GET", "/metrics", shop, 200, "next"},
		{"GET", "/metrics", "", 401, ""},
		{"GET", "/v1/balance", prom, 401, ""},
		{"POST", "/v1/payments", prom, 401, ""},
		{"POST", "/metrics", prom, 401, ""},
		{"GET", "/v1/balance", shop, 200, "next"},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.token != "" {
			r.Header.Set("Authorization", "Bearer "+c.token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.code || (c.body != "" && w.Body.String() != c.body) {
			t.Errorf("%s %s with %q: %d %q, want %d %q", c.method, c.path, c.token, w.Code, w.Body.String(), c.code, c.body)
		}
	}
}
