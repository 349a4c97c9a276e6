package engine

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// Outcomes of a notification, for Observer.
const (
	NotifyApplied   = store.OutcomeApplied   // the order moved
	NotifyUnchanged = store.OutcomeUnchanged // expected, nothing to change
	NotifyAnomaly   = store.OutcomeAnomaly   // kept for a person (mismatch, unexpected)
	NotifyDuplicate = store.OutcomeDuplicate // a resend, answered with the first answer
	NotifyUnrouted  = "unrouted"             // no order or unknown method; kept and answered
	NotifyRejected  = "rejected"             // bad signature or format; not answered
	NotifyFailed    = "failed"               // the store failed; not answered, Trustly resends
)

// MethodOther stands for a notification method the engine does not know,
// so a metric label keeps a fixed set of values.
const MethodOther = "other"

// Observer hears what the engine does, for the daemon's metrics. It is
// called on the request's goroutine: it must be quick and never block.
type Observer interface {
	// Notification reports one notification delivery: its method (one of
	// Trustly's, MethodOther, or "" when it could not be parsed) and one
	// of the Notify* outcomes.
	Notification(method, outcome string)
}

// Stats are the engine's counters since it started, for metrics.
type Stats struct {
	// Reconciles counts Reconcile passes; Expired and Resolved add up
	// their results; Open is what the last pass left open.
	Reconciles, Expired, Resolved, Open int64
}

type counters struct {
	reconciles, expired, resolved, open atomic.Int64
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{Reconciles: e.stats.reconciles.Load(), Expired: e.stats.expired.Load(),
		Resolved: e.stats.resolved.Load(), Open: e.stats.open.Load()}
}

// countReconcile adds a pass; one that failed part way still expired
// or resolved what it counted, but its Open is not known.
func (e *Engine) countReconcile(r Reconciled, complete bool) {
	e.stats.reconciles.Add(1)
	e.stats.expired.Add(int64(r.Expired))
	e.stats.resolved.Add(int64(r.Resolved))
	if complete {
		e.stats.open.Store(r.Open)
	}
}

func (e *Engine) observe(method, outcome string) {
	if e.cfg.Observer != nil {
		e.cfg.Observer.Notification(method, outcome)
	}
}

// OutboxStats describe the outbox for metrics: the figures in Redis, shared
// by every process, and this consumer's own counters.
type OutboxStats struct {
	Shards []store.OutboxShardStats
	// Depth is every entry not yet acknowledged (pending and unread);
	// OldestAge the age of the oldest of them; Dead the dead-lettered;
	// Retrying the entries that failed at least once and wait to be tried
	// again.
	Depth, Dead, Retrying int64
	OldestAge             time.Duration
	// Delivered, Failed and DeadLettered count this consumer's deliveries
	// since it started; Retried the failures it will try again (Failed is
	// Retried plus DeadLettered); Stale the replayed changes it skipped as
	// older than what the platform has.
	Delivered, Failed, DeadLettered, Retried, Stale int64
}

type outboxCounters struct {
	delivered, failed, dead, retried, stale atomic.Int64
}

// Stats reads the outbox figures of every shard.
func (o *Outbox) Stats(ctx context.Context) (OutboxStats, error) {
	sh, err := o.e.store.OutboxStats(ctx, o.cfg.Group)
	if err != nil {
		return OutboxStats{}, storeErr(err)
	}
	st := OutboxStats{Shards: sh, Delivered: o.stats.delivered.Load(), Failed: o.stats.failed.Load(), DeadLettered: o.stats.dead.Load(),
		Retried: o.stats.retried.Load(), Stale: o.stats.stale.Load()}
	var oldest time.Time
	for _, s := range sh {
		st.Depth += s.Pending + s.Unread
		st.Dead += s.Dead
		st.Retrying += s.Retrying
		if !s.Oldest.IsZero() && (oldest.IsZero() || s.Oldest.Before(oldest)) {
			oldest = s.Oldest
		}
	}
	if !oldest.IsZero() {
		// Stream ids carry Redis's wall clock, not the engine's Now.
		st.OldestAge = max(time.Since(oldest), 0)
	}
	return st, nil
}
