package engine

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// Balances are the merchant's balances as of the last Balance call.
type Balances struct {
	ByCurrency map[string]int64 // minor units
	At         time.Time        // zero: never fetched
}

// Balance returns the last known balances; it never calls Trustly.
func (e *Engine) Balance(ctx context.Context) (Balances, error) {
	b, at, err := e.store.Balances(ctx)
	if err != nil {
		return Balances{}, storeErr(err)
	}
	return Balances{ByCurrency: b, At: at}, nil
}

// RefreshBalance calls Balance when no sidecar process sharing the store
// has done so within the interval, and reports whether it did.
func (e *Engine) RefreshBalance(ctx context.Context) (bool, error) {
	ok, err := e.store.TakeBalanceSlot(ctx, e.cfg.BalanceInterval)
	if err != nil || !ok {
		return false, storeErr(err)
	}
	list, err := e.api.Balance(ctx)
	if err != nil {
		return true, upstreamErr(err)
	}
	m := make(map[string]int64, len(list))
	for _, b := range list {
		m[b.Currency] = b.Balance
	}
	return true, storeErr(e.store.SaveBalances(ctx, m, e.now()))
}

// Reconciled counts what one Reconcile pass did, for metrics.
type Reconciled struct {
	Expired  int   // orders with no outcome long after their URL expired
	Resolved int   // refunds of unknown outcome settled from GetWithdrawals
	Open     int64 // orders still awaiting an outcome
}

// Reconcile marks stale orders expired and resolves unknown refunds.
func (e *Engine) Reconcile(ctx context.Context) (rep Reconciled, err error) {
	defer func() { e.countReconcile(rep, err == nil) }()
	ids, err := e.store.DueOpen(ctx, e.now(), 100)
	if err != nil {
		return rep, storeErr(err)
	}
	for _, id := range ids {
		o, err := e.store.Get(ctx, id)
		if err != nil {
			return rep, storeErr(err)
		}
		if o.Flow == string(FlowRefund) {
			done, err := e.resolveRefund(ctx, o)
			if err != nil {
				return rep, err
			}
			if done {
				rep.Resolved++
			}
			continue
		}
		a, err := e.apply(ctx, o, step{event: EventExpire})
		if err != nil {
			return rep, storeErr(err)
		}
		if a.Outcome == store.OutcomeApplied {
			rep.Expired++
			e.log.Info("engine: stale order expired", slog.String("order", o.ID), slog.String("messageid", o.MessageID), slog.String("from", a.From))
		}
	}
	rep.Open, err = e.store.OpenCount(ctx)
	return rep, storeErr(err)
}

// resolveRefund looks for an unknown refund, or one still new long after
// its call (the process died around it), in GetWithdrawals of its paid
// order: a payout of the same amount that no refund of ours claims is it.
// Not found for RefundGiveUp, it is taken as never executed and its amount
// is released.
func (e *Engine) resolveRefund(ctx context.Context, r store.Order) (bool, error) {
	paid, err := e.store.Get(ctx, r.Parent)
	if err != nil {
		return false, storeErr(err)
	}
	list, err := e.api.GetWithdrawals(ctx, paid.TrustlyOrderID)
	if err != nil {
		// Try again later; the refund keeps holding its amount meanwhile.
		_, aerr := e.apply(ctx, r, step{event: EventUnknown, openUntil: e.now().Add(e.cfg.ResolveEvery)})
		return false, errors.Join(upstreamErr(err), storeErr(aerr))
	}
	for _, w := range list {
		if w.Amount != r.Amount || w.Currency != r.Currency || w.OrderID == "" {
			continue
		}
		if _, err := e.store.ByTrustlyOrderID(ctx, w.OrderID); !errors.Is(err, store.ErrNotFound) {
			if err != nil {
				return false, storeErr(err)
			}
			continue // another refund of ours
		}
		if _, err := e.apply(ctx, r, step{event: EventAccepted, set: store.OrderPatch{TrustlyOrderID: w.OrderID}}); err != nil {
			return false, storeErr(err)
		}
		return true, storeErr(e.store.IndexTrustlyOrderID(ctx, w.OrderID, r.ID))
	}
	if e.now().Sub(r.Created) >= e.cfg.RefundGiveUp {
		_, err := e.apply(ctx, r, step{event: EventRejected, set: store.OrderPatch{Reason: "not listed by GetWithdrawals"}})
		return err == nil, storeErr(err)
	}
	_, err = e.apply(ctx, r, step{event: EventUnknown, openUntil: e.now().Add(e.cfg.ResolveEvery)})
	return false, storeErr(err)
}

// Run refreshes the balance and reconciles every tick until ctx ends.
// Failures are logged; the next tick tries again.
func (e *Engine) Run(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if _, err := e.RefreshBalance(ctx); err != nil {
			e.log.Warn("engine: balance", slog.String("error", err.Error()))
		}
		if rep, err := e.Reconcile(ctx); err != nil {
			e.log.Warn("engine: reconcile", slog.String("error", err.Error()))
		} else if rep.Expired+rep.Resolved > 0 {
			e.log.Info("engine: reconciled", slog.Int("expired", rep.Expired), slog.Int("resolved", rep.Resolved), slog.Int64("open", rep.Open))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
