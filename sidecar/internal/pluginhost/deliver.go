package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Delivery is one outbox entry: a status change owed to the platform.
type Delivery struct {
	ID     string // the outbox's id for the entry
	Change adapter.StatusChange
}

// Outbox is what delivery needs of the outbox (the Redis stream, later):
// entries in order, and settling each one. An entry that is neither Done nor
// Dead stays owed: after a sidecar crash the outbox hands it out again.
type Outbox interface {
	// Next blocks until an entry is due or ctx ends.
	Next(ctx context.Context) (Delivery, error)
	// Done records that the platform has the change.
	Done(ctx context.Context, id string) error
	// Dead records that the platform refused the change for good.
	Dead(ctx context.Context, id string, reason error) error
}

// DeliverOptions tune Deliver. Zero values take the defaults.
type DeliverOptions struct {
	Logger *slog.Logger
	// AttemptTimeout bounds one ApplyStatus (default 10s).
	AttemptTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts at one
	// entry (defaults 100ms, 30s).
	MinBackoff, MaxBackoff time.Duration
}

// Deliver applies the outbox's entries through a, one at a time and in
// order (a platform must not see "paid" before "pending"), until ctx ends.
// A retryable failure — the platform down, a timeout, the plugin dead and
// being restarted — is retried with backoff until it succeeds: nothing is
// lost, and because status changes are idempotent a resend whose first
// attempt did land is harmless. A permanent failure is dead-lettered.
func Deliver(ctx context.Context, a adapter.Adapter, ob Outbox, opts DeliverOptions) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 10 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	for {
		d, err := ob.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("outbox: next: %w", err)
		}
		if err := deliverOne(ctx, a, ob, d, opts); err != nil {
			if ctx.Err() != nil {
				return nil // the entry stays owed
			}
			return err
		}
	}
}

func deliverOne(ctx context.Context, a adapter.Adapter, ob Outbox, d Delivery, opts DeliverOptions) error {
	wait := opts.MinBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, opts.AttemptTimeout)
		err := a.ApplyStatus(actx, d.Change)
		cancel()
		switch adapter.Classify(err) {
		case adapter.ClassNone:
			if err := ob.Done(ctx, d.ID); err != nil {
				return fmt.Errorf("outbox: done %s: %w", d.ID, err)
			}
			return nil
		case adapter.ClassPermanent, adapter.ClassInvalid, adapter.ClassUnsupported, adapter.ClassUnauthenticated:
			opts.Logger.Error("status change refused for good", "entry", d.ID, "change", d.Change.ID, "error", err)
			if err := ob.Dead(ctx, d.ID, err); err != nil {
				return fmt.Errorf("outbox: dead %s: %w", d.ID, err)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Retryable, or unclassified (an adapter bug): keep the entry owed
		// and try again; the attempt count makes a stuck entry visible.
		level := slog.LevelWarn
		if errors.Is(err, adapter.ErrPluginDead) {
			level = slog.LevelInfo // the supervisor is already on it
		}
		opts.Logger.Log(ctx, level, "status change not applied; retrying", "entry", d.ID, "change", d.Change.ID, "attempt", attempt, "in", wait, "error", err)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(wait*2, opts.MaxBackoff)
	}
}
