// Package bridge delivers the engine's outbox to a platform adapter: each
// status change of an order becomes the adapter's StatusChange (one table
// from flow and state to platform status) and goes to ApplyStatus; what the
// adapter refuses for good is dead-lettered, anything else retried.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Bridge is the engine.Deliverer whose other side is adapter.ApplyStatus.
type Bridge struct {
	a   adapter.Adapter
	log *slog.Logger
	// ready, when set, waits (bounded by its context) until the plugin is
	// up, so a restart costs a short wait rather than a counted failure.
	ready func(context.Context) error
}

var _ engine.Deliverer = (*Bridge)(nil)

// New delivers to a; ready, when set, waits (bounded by its context) until
// the plugin is up.
func New(a adapter.Adapter, log *slog.Logger, ready func(context.Context) error) *Bridge {
	return &Bridge{a: a, log: log, ready: ready}
}

// readyWait bounds how long a delivery waits for a restarting plugin.
const readyWait = 10 * time.Second

// Deliver maps c to the adapter's StatusChange and applies it. What the
// adapter refuses for good is engine.Permanent (dead-lettered); anything
// else, a dead plugin included, is retried by the outbox.
func (b *Bridge) Deliver(ctx context.Context, c engine.StatusChange) error {
	log := b.log.With(slog.String("order", c.OrderID), slog.Int64("seq", c.Seq), slog.String("orderid", c.TrustlyOrderID))
	ch, ok := statusChangeOf(c)
	if !ok {
		// Nothing the platform has a status for (a checkout opened):
		// delivered by telling nobody.
		log.DebugContext(ctx, "status change not for the platform", "kind", c.Kind, "flow", c.Flow, "to", c.To)
		return nil
	}
	if b.ready != nil {
		wctx, cancel := context.WithTimeout(ctx, readyWait)
		err := b.ready(wctx)
		cancel()
		if err != nil {
			return fmt.Errorf("deliver %s: %w: %w", ch.ID, adapter.ErrPluginDead, err)
		}
	}
	if ch.Status == adapter.StatusAttention {
		log.WarnContext(ctx, "order needs a person's attention", "note", c.Note)
	}
	err := b.a.ApplyStatus(ctx, ch)
	switch adapter.Classify(err) {
	case adapter.ClassNone:
		log.InfoContext(ctx, "status delivered to the platform", "change", ch.ID, "status", ch.Status)
		return nil
	case adapter.ClassPermanent, adapter.ClassInvalid, adapter.ClassUnsupported, adapter.ClassUnauthenticated:
		return engine.Permanent(fmt.Errorf("deliver %s: %w", ch.ID, err))
	}
	return fmt.Errorf("deliver %s: %w", ch.ID, err)
}

// changeAttention is the outbox kind of an anomaly kept for a person.
const changeAttention = "attention"

// statusChangeOf is the adapter's view of an outbox entry: the change ID
// "<order id>:<seq>" is stable across redeliveries, so platforms dedupe on
// it. The second result is false when the platform has no status for it.
func statusChangeOf(c engine.StatusChange) (adapter.StatusChange, bool) {
	st, ok := adapter.StatusAttention, true
	if c.Kind != changeAttention {
		st, ok = platformStatus(c.Flow, c.To)
	}
	if c.From == engine.StateNew && c.To == engine.StateExpired {
		// The attempt never reached Trustly (the store failed before the
		// call, or the process died in it, and no notification ever
		// came): nothing happened to tell. A "cancelled" here could reach
		// the platform after the retry's "paid" for the same order.
		ok = false
	}
	if !ok {
		return adapter.StatusChange{}, false
	}
	order := c.ExternalReference
	if order == "" {
		order = c.OrderID
	}
	if c.Flow == engine.FlowRefund && c.Parent != "" {
		// A refund is news about the paid order it refunds, which the
		// platform knows by its own reference (the sidecar's id only when
		// the payment was made without one).
		order = c.PaymentReference
		if order == "" {
			order = c.Parent
		}
	}
	amount := c.Amount
	if st == adapter.StatusPaid && c.Credited > 0 {
		amount = c.Credited
	}
	return adapter.StatusChange{
		ID:                c.OrderID + ":" + strconv.FormatInt(c.Seq, 10),
		Order:             adapter.Order{ID: order},
		Status:            st,
		Amount:            adapter.Money{Minor: amount, Currency: c.Currency},
		ProviderReference: c.TrustlyOrderID,
		Message:           message(st, c),
		OccurredAt:        c.At,
	}, true
}

// message is the note a person reads with the change in the platform's
// admin: what happened in words, with Trustly's reason where it gave one.
func message(st adapter.PaymentStatus, c engine.StatusChange) string {
	money := trustly.FormatAmount(c.Amount) + " " + c.Currency
	var m string
	switch st {
	case adapter.StatusAttention:
		return "Needs a person: " + c.Note
	case adapter.StatusReversed:
		m = "Trustly reported a debit: the payment of " + money + " was reversed by the bank after it was credited. " +
			"The money is no longer with the merchant: stop the delivery, or recover the goods or the money."
	case adapter.StatusRefundFailed:
		m = "The refund of " + money + " failed; the amount can be refunded again."
	case adapter.StatusMandateDeclined:
		m = "The direct debit mandate was not set up."
	case adapter.StatusMandateRevoked:
		m = "The direct debit mandate was revoked: no further charges can be made with it."
	}
	if c.Reason != "" {
		m = strings.TrimSpace(m + " Reason: " + c.Reason + ".")
	}
	if c.Note != "" {
		m = strings.TrimSpace(m + " " + c.Note)
	}
	return m
}

// platformStatus is the one table from an order's flow and new state to
// the status a platform is told.
func platformStatus(f engine.Flow, s engine.State) (adapter.PaymentStatus, bool) {
	switch f {
	case engine.FlowDeposit, engine.FlowCharge:
		switch s {
		case engine.StatePending:
			return adapter.StatusPending, true
		case engine.StatePaid:
			return adapter.StatusPaid, true
		case engine.StateCancelled, engine.StateExpired, engine.StateRejected, engine.StateFailed:
			return adapter.StatusCancelled, true
		case engine.StateReversed:
			return adapter.StatusReversed, true
		}
	case engine.FlowMandate:
		switch s {
		case engine.StateActive:
			return adapter.StatusMandateActive, true
		case engine.StateDeclined, engine.StateCancelled, engine.StateExpired, engine.StateRejected:
			return adapter.StatusMandateDeclined, true
		case engine.StateRevoked:
			return adapter.StatusMandateRevoked, true
		}
	case engine.FlowRefund:
		switch s {
		case engine.StateStarted: // Trustly accepted the Refund call
			return adapter.StatusRefundPending, true
		case engine.StateRefunded:
			return adapter.StatusRefunded, true
		case engine.StateRejected, engine.StateFailed:
			return adapter.StatusRefundFailed, true
		}
	}
	return "", false
}

// Group is the outbox consumer group of the platform deliveries: serve
// delivers under it, the operator's outbox commands read it.
const Group = "platform"

// ErrNoAdapter is the readiness problem of a plugin that is down.
var ErrNoAdapter = errors.New("the adapter plugin is not running")
