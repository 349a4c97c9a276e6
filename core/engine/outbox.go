package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// StatusChange is one outbox entry: an order moved (Kind "state") or needs
// a person (Kind "attention": an amount mismatch, an unexpected event).
// Seq numbers an order's changes 1, 2, 3…; they are delivered in that order.
type StatusChange struct {
	OrderID           string
	Seq               int64
	Kind              string
	Flow              Flow
	Event             Event
	From, To          State
	NotificationID    string
	At                time.Time
	Amount, Credited  int64
	Currency          string
	ExternalReference string
	TrustlyOrderID    string
	EndUserID         string
	Parent            string // a refund's paid order
	Note              string // the anomaly, for Kind "attention"
	// Reason is why the order ended as it did, when Trustly said (a
	// refund's failed payout, a refused call): the order's reason as the
	// delivery reads it.
	Reason string
	// PaymentReference is, for a refund, the paid order's
	// ExternalReference: the platform's order the refund is news about.
	PaymentReference string
	// Replay is set when a person replayed a dead-lettered entry.
	Replay bool
}

// Deliverer is the adapter side: it applies a status change to the shop
// platform's order. An error that wraps ErrPermanent dead-letters the
// entry; any other error (the platform down, a timeout, a restarting
// plugin, an unclassified error) is retried with backoff until it lands,
// unless OutboxConfig.MaxAttempts bounds it. Deliver must be idempotent
// per (OrderID, Seq): after a crash an entry may be delivered again.
type Deliverer interface {
	Deliver(ctx context.Context, c StatusChange) error
}

// ErrPermanent marks a delivery that retrying cannot fix.
var ErrPermanent = errors.New("engine: delivery failed permanently")

// Permanent wraps err as a permanent delivery failure.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// OutboxBackoff is the default wait after n failed deliveries: 1s·2ⁿ⁻¹, at
// most 5 minutes (reached after 9 failures, about 8.5 minutes in), and 1s
// for n = 0 (an entry that waits for an earlier change of its order).
func OutboxBackoff(n int64) time.Duration {
	return min(time.Second<<min(max(n-1, 0), 20), 5*time.Minute)
}

// OutboxConfig tunes an Outbox; zero values take the defaults.
type OutboxConfig struct {
	Group    string // consumer group; default "platform"
	Consumer string // this process's name in the group; default random
	// MaxAttempts, when positive, dead-letters an entry after that many
	// failed deliveries. Zero, the default, retries every failure that is
	// not ErrPermanent until it lands: Trustly retries a notification for
	// days, and a shop down for as long must still get every change.
	// Waiting for an earlier change of the same order is not a failure
	// and does not count.
	MaxAttempts int64
	// Backoff is the wait after n failed deliveries (n = 0: an entry that
	// waits for an earlier change of its order); default OutboxBackoff.
	Backoff func(n int64) time.Duration
	Batch   int64         // entries per shard per pass; default 100
	Poll    time.Duration // wait between passes in Run; default 200ms
}

// Outbox delivers status changes to a Deliverer through the store's
// consumer group, per order in Seq order.
type Outbox struct {
	e     *Engine
	d     Deliverer
	cfg   OutboxConfig
	stats outboxCounters
}

// Outbox returns the outbox consumer for d.
func (e *Engine) Outbox(d Deliverer, cfg OutboxConfig) *Outbox {
	if cfg.Group == "" {
		cfg.Group = "platform"
	}
	if cfg.Consumer == "" {
		cfg.Consumer = "c-" + e.newID()[:8]
	}
	if cfg.Backoff == nil {
		cfg.Backoff = OutboxBackoff
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	return &Outbox{e: e, d: d, cfg: cfg}
}

// Pump makes one pass over every shard: due retries first, then new
// entries. It returns how many entries were delivered.
func (o *Outbox) Pump(ctx context.Context) (int, error) {
	s := o.e.store
	if err := s.EnsureOutboxGroup(ctx, o.cfg.Group); err != nil {
		return 0, storeErr(err)
	}
	due := func(failures int64, idle time.Duration) bool { return idle >= o.cfg.Backoff(failures) }
	minIdle := min(o.cfg.Backoff(0), o.cfg.Backoff(1))
	delivered := 0
	for sh := range store.Shards {
		retry, err := s.ClaimOutbox(ctx, sh, o.cfg.Group, o.cfg.Consumer, minIdle, o.cfg.Batch, due)
		if err != nil {
			return delivered, storeErr(err)
		}
		fresh, err := s.ReadOutbox(ctx, sh, o.cfg.Group, o.cfg.Consumer, o.cfg.Batch)
		if err != nil {
			return delivered, storeErr(err)
		}
		for _, en := range append(retry, fresh...) {
			ok, err := o.one(ctx, en)
			if err != nil {
				return delivered, err
			}
			if ok {
				delivered++
			}
		}
	}
	return delivered, nil
}

func (o *Outbox) one(ctx context.Context, en store.OutboxEntry) (bool, error) {
	s := o.e.store
	c := changeOf(en)
	log := o.e.log.With(slog.String("order", c.OrderID), slog.Int64("seq", c.Seq), slog.String("orderid", c.TrustlyOrderID))
	if c.Replay {
		// A person put it back from the dead letters. The newest state
		// wins: when the platform already has this change or a later one
		// of the order, telling it this one now would set the order back.
		landed, err := s.Landed(ctx, c.OrderID)
		if err != nil {
			return false, storeErr(err)
		}
		if c.Seq <= landed {
			o.stats.stale.Add(1)
			log.Warn("engine: replayed change is older than what the platform has; skipped",
				slog.Int64("landed", landed), slog.String("to", string(c.To)))
			return false, storeErr(s.SkipOutbox(ctx, en, o.cfg.Group))
		}
	} else {
		last, err := s.Delivered(ctx, c.OrderID)
		if err != nil {
			return false, storeErr(err)
		}
		switch {
		case c.Seq <= last:
			// Delivered already (a crash between delivery and ack).
			return false, storeErr(s.SkipOutbox(ctx, en, o.cfg.Group))
		case c.Seq > last+1:
			// An earlier change of this order is still on its way; this one
			// stays pending and comes back after Backoff(failures so far).
			// Waiting is not a failure: it is not counted.
			return false, nil
		}
	}
	if c.Flow == FlowRefund && c.Parent != "" {
		// The platform knows the paid order by its own reference; the
		// refund's entry carries only the parent's sidecar id.
		p, err := s.Get(ctx, c.Parent)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, storeErr(err)
		}
		c.PaymentReference = p.ExternalReference
	}
	if reasoned(c.To) {
		// The reason lives on the order, not in the entry; only these
		// few outcomes have one, so only they cost a read.
		ord, err := s.Get(ctx, c.OrderID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, storeErr(err)
		}
		c.Reason = ord.Reason
	}
	err := o.d.Deliver(ctx, c)
	if err == nil {
		o.stats.delivered.Add(1)
		o.e.notePlatform(ctx, c)
		return true, storeErr(s.AckOutbox(ctx, en, o.cfg.Group, ""))
	}
	o.stats.failed.Add(1)
	failures := en.Failures + 1
	if errors.Is(err, ErrPermanent) || (o.cfg.MaxAttempts > 0 && failures >= o.cfg.MaxAttempts) {
		o.stats.dead.Add(1)
		log.Error("engine: delivery given up; dead-lettered", slog.Int64("failures", failures), slog.String("error", err.Error()))
		return false, storeErr(s.AckOutbox(ctx, en, o.cfg.Group, err.Error()))
	}
	o.stats.retried.Add(1)
	log.Warn("engine: delivery failed; will retry", slog.Int64("failures", failures),
		slog.Duration("after", o.cfg.Backoff(failures)), slog.String("error", err.Error()))
	_, ferr := s.FailOutbox(ctx, en)
	return false, storeErr(ferr)
}

// Run pumps until ctx ends.
func (o *Outbox) Run(ctx context.Context) error {
	for {
		n, err := o.Pump(ctx)
		if err != nil {
			o.e.log.Warn("engine: outbox", slog.String("error", err.Error()))
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.cfg.Poll):
		}
	}
}

// DeadEntry is a dead-lettered status change.
type DeadEntry struct {
	Shard  int
	ID     string
	Reason string
	Change StatusChange
}

// ListDead returns dead-lettered entries (up to limit per shard).
func (o *Outbox) ListDead(ctx context.Context, limit int64) ([]DeadEntry, error) {
	l, err := o.e.store.ListDead(ctx, limit)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]DeadEntry, 0, len(l))
	for _, en := range l {
		out = append(out, DeadEntry{Shard: en.Shard, ID: en.ID, Reason: en.DeadReason, Change: changeOf(en)})
	}
	return out, nil
}

// Replay puts a dead-lettered entry back into the outbox.
func (o *Outbox) Replay(ctx context.Context, shard int, id string) error {
	_, err := o.e.store.ReplayDead(ctx, shard, id)
	return storeErr(err)
}

// PendingEntry is a status change handed to the platform and not yet
// acknowledged: in delivery, waiting for its retry, or for an earlier
// change of its order.
type PendingEntry struct {
	Shard int
	ID    string
	// Deliveries counts the times it was handed out, Failures the failed
	// deliveries among them.
	Deliveries, Failures int64
	Change               StatusChange
}

// ListPending returns the changes not yet acknowledged (up to limit per
// shard), oldest first.
func (o *Outbox) ListPending(ctx context.Context, limit int64) ([]PendingEntry, error) {
	l, err := o.e.store.ListPending(ctx, o.cfg.Group, limit)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]PendingEntry, 0, len(l))
	for _, en := range l {
		out = append(out, PendingEntry{Shard: en.Shard, ID: en.ID, Deliveries: en.Deliveries, Failures: en.Failures, Change: changeOf(en)})
	}
	return out, nil
}

// ReasonSkipped is the dead-letter reason of a change a person gave up on.
const ReasonSkipped = "skipped by operator"

// Skip gives up on a pending change a person decided will not land (a
// platform that refuses it retryably forever): it goes to the dead
// letters with ReasonSkipped, counts as delivered so its order's later
// changes flow again, and can be replayed like any dead letter. It is
// logged at WARN. A change not pending is refused (store.ErrNotPending,
// KindConflict): an unread one would still be delivered.
func (o *Outbox) Skip(ctx context.Context, shard int, id string) (StatusChange, error) {
	en, err := o.e.store.GiveUpOutbox(ctx, shard, o.cfg.Group, id, ReasonSkipped)
	if errors.Is(err, store.ErrNotPending) {
		return StatusChange{}, &Error{Kind: KindConflict, Code: CodeNotPending, Err: err}
	}
	if err != nil {
		return StatusChange{}, storeErr(err)
	}
	c := changeOf(en)
	o.e.log.WarnContext(ctx, "outbox change skipped by operator; dead-lettered",
		slog.Int("shard", shard), slog.String("entry", id), slog.String("order", c.OrderID), slog.Int64("seq", c.Seq),
		slog.String("to", string(c.To)), slog.Int64("failures", en.Failures))
	return c, nil
}

func changeOf(en store.OutboxEntry) StatusChange {
	return StatusChange{
		OrderID: en.OrderID, Seq: en.Seq, Kind: en.Kind, Flow: Flow(en.Flow), Event: Event(en.Event),
		From: State(en.From), To: State(en.To), NotificationID: en.NotificationID, At: en.At,
		Amount: en.Amount, Credited: en.Credited, Currency: en.Currency, ExternalReference: en.ExternalReference,
		TrustlyOrderID: en.TrustlyOrderID, EndUserID: en.EndUserID, Parent: en.Parent, Note: en.Note, Replay: en.Replay,
	}
}

// reasoned are the states an order reaches with a reason Trustly gave.
func reasoned(s State) bool { return s == StateFailed || s == StateRejected }
