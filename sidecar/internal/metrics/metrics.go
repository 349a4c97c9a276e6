// Package metrics is what the sidecar exports on /metrics (Prometheus):
// HTTP requests, Trustly calls, notifications, idempotent replays, webhooks,
// plugin restarts, and the engine's and outbox's figures at each scrape.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Set is what the sidecar exports on /metrics. The HTTP layer records
// requests and notifications itself; the engine, the outbox and the plugin
// host are handed *Set and call the methods below (each declares the
// small interface it needs). Every label takes values from a fixed set, so
// nothing a caller sends can grow the number of series.
type Set struct {
	reg           *prometheus.Registry
	requests      *prometheus.HistogramVec
	trustlyCalls  *prometheus.CounterVec
	notifications *prometheus.CounterVec
	replays       *prometheus.CounterVec
	restarts      *prometheus.CounterVec
	outcomes      *prometheus.CounterVec
	webhooks      *prometheus.CounterVec
	redis         redisGauges

	mu     sync.Mutex
	outbox func(context.Context) (OutboxStats, error)
	engine func() engine.Stats
	ready  func(context.Context) map[string]bool
}

// OutboxStats is the state of the outbox to the shop platform at one moment.
type OutboxStats struct {
	Depth     int64         // entries not yet delivered
	OldestAge time.Duration // age of the oldest of them; 0 when empty
	Dead      int64         // dead-lettered entries, waiting for 'outbox replay'
	Retrying  int64         // entries that failed and wait to be tried again
	// This process's delivery attempts since it started, by outcome.
	Delivered, Retried, DeadLettered, Stale int64
}

var _ engine.Observer = (*Set)(nil)

const metricsNamespace = "trustly_sidecar"

// outboxStatsTimeout bounds the outbox hook during a scrape.
const outboxStatsTimeout = 2 * time.Second

// New returns metrics in a registry of their own (with the Go runtime
// and process collectors), so tests and several servers never share state.
func New() *Set {
	m := &Set{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace,
			Name:      "http_request_duration_seconds",
			Help:      "Time to answer an HTTP request, by listener, route template, method and status.",
			Buckets:   []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"listener", "route", "method", "status"}),
		trustlyCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "trustly_calls_total",
			Help:      "Calls to Trustly's API by method and result: ok, a Trustly error code, or error (no answer from Trustly).",
		}, []string{"method", "code"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "notifications_total",
			Help:      "Notifications received by method and outcome: replied, rejected, too_large, unavailable, error.",
		}, []string{"method", "outcome"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "idempotency_replays_total",
			Help:      "Shop API requests answered from a stored idempotent answer, by operation.",
		}, []string{"operation"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "notification_outcomes_total",
			Help:      "What the engine did with each notification, by method and outcome: applied, unchanged, anomaly, duplicate, unrouted, rejected, failed.",
		}, []string{"method", "outcome"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "plugin_restarts_total",
			Help:      "Platform adapter plugin restarts by plugin.",
		}, []string{"plugin"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "webhooks_total",
			Help:      "Platform webhooks by platform (other: a path naming no running adapter) and outcome: ok, pending (a synchronous platform answered by its deadline with commands still running), failed, failed_acknowledged (answered 2xx to a platform that never resends), unauthenticated, invalid, not_found, unavailable, error.",
		}, []string{"platform", "outcome"}),
	}
	m.reg.MustRegister(m.webhooks,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.trustlyCalls, m.notifications, m.replays, m.restarts, m.outcomes,
		outboxCollector{m}, engineCollector{m}, readyCollector{m},
	)
	m.redis = newRedisGauges(m.reg)
	return m
}

// Handler serves the metrics in Prometheus' text format. A collector that
// fails (the outbox's figures while Redis is down) leaves out its own series
// only: the rest, trustly_sidecar_ready above all, still answers 200.
func (m *Set) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveRequest records one answered HTTP request by route template.
func (m *Set) ObserveRequest(listener, route, method string, status int, d time.Duration) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	m.requests.WithLabelValues(listener, route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// TrustlyCall counts one call to Trustly's API (method as Trustly names it,
// e.g. "Deposit") and its outcome: nil is ok; a *trustly.Error is its code;
// anything else (timeouts, unverifiable answers) is "error".
func (m *Set) TrustlyCall(method string, err error) {
	if errors.Is(err, trustly.ErrNotSent) {
		return // not a call: the order could not be stored first
	}
	code := "ok"
	if err != nil {
		code = "error"
		if c := trustly.ErrorCode(err); c != 0 {
			code = strconv.Itoa(int(c))
		}
	}
	m.trustlyCalls.WithLabelValues(method, code).Inc()
}

// Notification outcomes.
const (
	OutcomeReplied     = "replied"     // a signed reply went back (OK or FAILED)
	OutcomeRejected    = "rejected"    // not a valid notification from Trustly (4xx)
	OutcomeTooLarge    = "too_large"   // over the size limit (413)
	OutcomeUnavailable = "unavailable" // Redis down (503); Trustly retries
	OutcomeError       = "error"       // anything else (5xx); Trustly retries
)

// NotificationReceived counts one notification at the route. Unknown methods are counted as
// "other": the method comes from an unverified body.
func (m *Set) NotificationReceived(method, outcome string) {
	if !trustly.NotificationMethod(method).Known() {
		method = "other"
	}
	m.notifications.WithLabelValues(method, outcome).Inc()
}

// Notification is the engine's Observer: what it did with one
// notification. Methods come from the engine's fixed set (unknown ones are
// engine.MethodOther, unparsable ones ""); outcomes are its Notify* values.
func (m *Set) Notification(method, outcome string) {
	if method == "" || !trustly.NotificationMethod(method).Known() {
		method = engine.MethodOther
	}
	m.outcomes.WithLabelValues(method, outcome).Inc()
}

// IdempotencyReplay counts a shop API request answered from its stored
// idempotent answer; operation is the API operation, e.g. "createPayment".
func (m *Set) IdempotencyReplay(operation string) {
	m.replays.WithLabelValues(operation).Inc()
}

// Webhook counts one platform webhook; platform is the running adapter's
// name, or "" when the path named no running adapter.
func (m *Set) Webhook(platform, outcome string) {
	if platform == "" {
		platform = "other"
	}
	m.webhooks.WithLabelValues(platform, outcome).Inc()
}

// PluginRestart counts a restart of a platform adapter plugin.
func (m *Set) PluginRestart(plugin string) {
	m.restarts.WithLabelValues(plugin).Inc()
}

// SetOutboxStats installs the hook that reports the outbox at each scrape;
// until one is installed the outbox gauges are absent.
func (m *Set) SetOutboxStats(f func(context.Context) (OutboxStats, error)) {
	m.mu.Lock()
	m.outbox = f
	m.mu.Unlock()
}

// SetEngineStats installs the hook that reports the engine's reconciler
// counters at each scrape.
func (m *Set) SetEngineStats(f func() engine.Stats) {
	m.mu.Lock()
	m.engine = f
	m.mu.Unlock()
}

var (
	outboxDeadDesc = prometheus.NewDesc(metricsNamespace+"_outbox_dead_letters",
		"Dead-lettered outbox entries: status changes the platform refused for good; see 'outbox list'.", nil, nil)
	reconcilesDesc = prometheus.NewDesc(metricsNamespace+"_reconcile_passes_total",
		"Passes of the reconciler over open orders since start.", nil, nil)
	expiredDesc = prometheus.NewDesc(metricsNamespace+"_reconcile_expired_total",
		"Orders the reconciler marked expired (no outcome before their deadline) since start.", nil, nil)
	resolvedDesc = prometheus.NewDesc(metricsNamespace+"_reconcile_resolved_total",
		"Refunds of unknown outcome the reconciler resolved since start.", nil, nil)
	openDesc = prometheus.NewDesc(metricsNamespace+"_open_orders",
		"Orders waiting for an outcome after the last complete reconciler pass.", nil, nil)
)

// engineCollector reads the engine's counters at scrape time.
type engineCollector struct{ m *Set }

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- reconcilesDesc
	ch <- expiredDesc
	ch <- resolvedDesc
	ch <- openDesc
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	f := c.m.engine
	c.m.mu.Unlock()
	if f == nil {
		return
	}
	s := f()
	ch <- prometheus.MustNewConstMetric(reconcilesDesc, prometheus.CounterValue, float64(s.Reconciles))
	ch <- prometheus.MustNewConstMetric(expiredDesc, prometheus.CounterValue, float64(s.Expired))
	ch <- prometheus.MustNewConstMetric(resolvedDesc, prometheus.CounterValue, float64(s.Resolved))
	ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(s.Open))
}

var (
	outboxDepthDesc = prometheus.NewDesc(metricsNamespace+"_outbox_depth",
		"Outbox entries not yet delivered to the shop platform.", nil, nil)
	outboxAgeDesc = prometheus.NewDesc(metricsNamespace+"_outbox_oldest_age_seconds",
		"Age of the oldest undelivered outbox entry; 0 when the outbox is empty.", nil, nil)
	// A retryable failure is retried until it lands, however long that
	// takes; these say how many are waiting and how often tries fail, so
	// an alert on the oldest age has a cause to point at.
	outboxRetryingDesc = prometheus.NewDesc(metricsNamespace+"_outbox_retrying",
		"Outbox entries whose delivery failed at least once and that wait to be tried again (retried until they land).", nil, nil)
	outboxDeliveriesDesc = prometheus.NewDesc(metricsNamespace+"_outbox_deliveries_total",
		"Delivery attempts of outbox entries since start, by outcome: delivered, retry (failed, tried again later), dead (refused for good, dead-lettered), stale (a replayed change older than what the platform has, skipped).",
		[]string{"outcome"}, nil)
)

// outboxCollector asks the outbox hook at scrape time, so the gauges are
// never stale.
type outboxCollector struct{ m *Set }

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxAgeDesc
	ch <- outboxDeadDesc
	ch <- outboxRetryingDesc
	ch <- outboxDeliveriesDesc
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	f := c.m.outbox
	c.m.mu.Unlock()
	if f == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), outboxStatsTimeout)
	defer cancel()
	s, err := f(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepthDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(s.Depth))
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, s.OldestAge.Seconds())
	ch <- prometheus.MustNewConstMetric(outboxDeadDesc, prometheus.GaugeValue, float64(s.Dead))
	ch <- prometheus.MustNewConstMetric(outboxRetryingDesc, prometheus.GaugeValue, float64(s.Retrying))
	for outcome, n := range map[string]int64{"delivered": s.Delivered, "retry": s.Retried, "dead": s.DeadLettered, "stale": s.Stale} {
		ch <- prometheus.MustNewConstMetric(outboxDeliveriesDesc, prometheus.CounterValue, float64(n), outcome)
	}
}

var readyDesc = prometheus.NewDesc(metricsNamespace+"_ready",
	"The readiness checks of /readyz at scrape time, by check (redis, redis_data, adapter): 1 ok, 0 failing. Beside the shop the pod's readiness does not follow them, so alert on this.",
	[]string{"check"}, nil)

// readyTimeout bounds the readiness checks during a scrape.
const readyTimeout = 2 * time.Second

// SetReadiness sets the hook that runs /readyz's checks (advisory ones left
// out) for the scrape.
func (m *Set) SetReadiness(f func(context.Context) map[string]bool) {
	m.mu.Lock()
	m.ready = f
	m.mu.Unlock()
}

// readyCollector runs the readiness checks at scrape time.
type readyCollector struct{ m *Set }

func (c readyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- readyDesc }

func (c readyCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	f := c.m.ready
	c.m.mu.Unlock()
	if f == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for check, ok := range f(ctx) {
		v := 0.0
		if ok {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, v, check)
	}
}

// What serve found out about its Redis (sidecar/internal/storecheck;
// core/store/LAYOUT.md, "What the store requires of Redis").
type redisGauges struct {
	durability  *prometheus.GaugeVec
	dataLost    prometheus.Gauge
	ackTimeouts *counterHook
}

// counterHook is a counter kept elsewhere (the store counts its replica
// acknowledgement timeouts; core cannot import this package), read at each
// scrape; 0 until a hook is installed.
type counterHook struct {
	mu sync.Mutex
	f  func() int64
}

func (h *counterHook) value() float64 {
	h.mu.Lock()
	f := h.f
	h.mu.Unlock()
	if f == nil {
		return 0
	}
	return float64(f())
}

func newRedisGauges(reg *prometheus.Registry) redisGauges {
	g := redisGauges{
		durability: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace,
			Name:      "redis_durability",
			Help:      "Whether Redis keeps what it acknowledges, by check: eviction (maxmemory-policy noeviction), aof (appendonly yes), fsync (appendfsync always). 1 ok, 0 weaker or unknown.",
		}, []string{"check"}),
		dataLost: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace,
			Name:      "redis_data_lost",
			Help:      "1 while the store's marker key is gone or changed: Redis lost its data since this process saw it (see /readyz check redis_data).",
		}),
	}
	g.ackTimeouts = &counterHook{}
	reg.MustRegister(g.durability, g.dataLost, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: metricsNamespace,
		Name:      "redis_replica_ack_timeouts_total",
		Help:      "Writes whose replica acknowledgements (WAIT) did not come within REDIS_REPLICA_ACK_TIMEOUT; each was answered 503 (Trustly and the shop retry). Rising: a replica is slow or stuck.",
	}, g.ackTimeouts.value))
	return g
}

// SetReplicaAckTimeouts installs the hook that reports the store's count
// of replica acknowledgement timeouts at each scrape.
func (m *Set) SetReplicaAckTimeouts(f func() int64) {
	m.redis.ackTimeouts.mu.Lock()
	m.redis.ackTimeouts.f = f
	m.redis.ackTimeouts.mu.Unlock()
}

// SetRedisDurability records one durability check (eviction, aof, fsync).
func (m *Set) SetRedisDurability(check string, ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	m.redis.durability.WithLabelValues(check).Set(v)
}

// SetRedisDataLost records whether Redis lost its data.
func (m *Set) SetRedisDataLost(lost bool) {
	v := 0.0
	if lost {
		v = 1
	}
	m.redis.dataLost.Set(v)
}
