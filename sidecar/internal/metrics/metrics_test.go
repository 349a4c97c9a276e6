package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
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

// The store's count of writes its replicas did not acknowledge in time is
// exported as a counter, 0 before the store is wired.
func TestReplicaAckTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func() int64
		want string
	}{
		{"no store yet", nil, "trustly_sidecar_redis_replica_ack_timeouts_total 0"},
		{"store counted", func() int64 { return 7 }, "trustly_sidecar_redis_replica_ack_timeouts_total 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New()
			if tc.hook != nil {
				m.SetReplicaAckTimeouts(tc.hook)
			}
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			body, _ := io.ReadAll(rec.Body)
			if !strings.Contains(string(body), "\n"+tc.want+"\n") {
				t.Errorf("metrics lack %q", tc.want)
			}
		})
	}
}

// Beside the shop the pod's readiness does not follow Redis or the adapter, so
// /metrics carries /readyz's checks for alerts.
func TestReadinessMetrics(t *testing.T) {
	m := metrics.New()
	m.SetReadiness(func(context.Context) map[string]bool {
		return map[string]bool{"redis": false, "adapter": true}
	})
	// With Redis down the outbox's figures fail too; the rest must still answer.
	m.SetOutboxStats(func(context.Context) (metrics.OutboxStats, error) {
		return metrics.OutboxStats{}, errors.New("redis unavailable")
	})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Errorf("/metrics answers %d while one collector fails", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{`trustly_sidecar_ready{check="adapter"} 1`, `trustly_sidecar_ready{check="redis"} 0`} {
		if !strings.Contains(string(body), "\n"+want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A call is counted by its outcome; one the engine held back because the
// order could not be stored first never reached Trustly and is not a call.
func TestTrustlyCallsCountWhatWasSent(t *testing.T) {
	m := metrics.New()
	m.TrustlyCall("Deposit", nil)
	m.TrustlyCall("Deposit", &trustly.Error{Code: trustly.CodeDuplicateMessageID})
	m.TrustlyCall("Deposit", fmt.Errorf("%w: store down", trustly.ErrNotSent))
	m.TrustlyCall("Refund", fmt.Errorf("%w: reset", trustly.ErrTransport))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	var got []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "trustly_sidecar_trustly_calls_total{") {
			got = append(got, l)
		}
	}
	want := []string{
		`trustly_sidecar_trustly_calls_total{code="637",method="Deposit"} 1`,
		`trustly_sidecar_trustly_calls_total{code="error",method="Refund"} 1`,
		`trustly_sidecar_trustly_calls_total{code="ok",method="Deposit"} 1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls counted:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
