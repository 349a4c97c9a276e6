package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
)

// The outbox's figures an SRE alerts on: how old the oldest undelivered
// change is, how many wait for a retry, and what delivery attempts end in.
func TestOutboxMetrics(t *testing.T) {
	m := metrics.New()
	m.SetOutboxStats(func(context.Context) (metrics.OutboxStats, error) {
		return metrics.OutboxStats{Depth: 30, OldestAge: 2 * time.Hour, Dead: 1, Retrying: 12,
			Delivered: 40, Retried: 700, DeadLettered: 1, Stale: 3}, nil
	})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"trustly_sidecar_outbox_depth 30",
		"trustly_sidecar_outbox_oldest_age_seconds 7200",
		"trustly_sidecar_outbox_dead_letters 1",
		"trustly_sidecar_outbox_retrying 12",
		`trustly_sidecar_outbox_deliveries_total{outcome="delivered"} 40`,
		`trustly_sidecar_outbox_deliveries_total{outcome="retry"} 700`,
		`trustly_sidecar_outbox_deliveries_total{outcome="dead"} 1`,
		`trustly_sidecar_outbox_deliveries_total{outcome="stale"} 3`,
	} {
		if !strings.Contains(string(body), "\n"+want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}
