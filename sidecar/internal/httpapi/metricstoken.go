package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// WithMetricsToken lets a second bearer token (TRUSTLY_SIDECAR_METRICS_TOKEN)
// read GET /metrics and nothing else, so Prometheus need not hold the shop API
// token, which can charge and refund. Every other request, and /metrics with
// any other credential, goes to next unchanged (the shop API token still reads
// /metrics there).
func WithMetricsToken(next http.Handler, token string, metrics http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && r.Method == http.MethodGet {
			if got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				sum := sha256.Sum256([]byte(got))
				if subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
					metrics.ServeHTTP(w, r)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
