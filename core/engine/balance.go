package engine

import (
	"context"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// checkBalance refuses a refund the merchant's Trustly balance does not
// cover, judged on a balance at most RefundBalanceMaxAge old. It refuses
// only on a known balance in the refund's currency: with none (never
// fetched, or no such currency listed) the refund goes to Trustly, which
// decides. An older balance that would refuse is fetched again first, so a
// balance that grew since (settled deposits) does not refuse a refund it
// now covers.
func (e *Engine) checkBalance(ctx context.Context, amount int64, currency string) error {
	bal, at, err := e.store.Balances(ctx)
	if err != nil {
		return storeErr(err)
	}
	b, known := bal[currency]
	if at.IsZero() || !known || b >= amount {
		return nil
	}
	if e.now().Sub(at) > e.cfg.RefundBalanceMaxAge && e.api != nil {
		if err := e.freshBalance(ctx, at); err != nil {
			return err
		}
		if bal, at, err = e.store.Balances(ctx); err != nil {
			return storeErr(err)
		}
		if b, known = bal[currency]; !known || b >= amount {
			return nil
		}
	}
	return errf(KindConflict, CodeBalanceInsufficient, nil,
		"refund of %s %s exceeds the merchant's Trustly balance of %s %s (fetched %s); Trustly would queue a refund of funds not yet settled: set ignoreBalance to send it anyway",
		trustly.FormatAmount(amount), currency, trustly.FormatAmount(b), currency, at.UTC().Format(time.RFC3339))
}

// freshBalance makes one Balance call for the refunds waiting on it: one per
// RefundBalanceMaxAge over every process sharing the store, one at a time
// within this process. A process that loses the race waits a little for
// the winner's answer to be saved (newer than seen); either way the caller
// rereads the stored balance.
func (e *Engine) freshBalance(ctx context.Context, seen time.Time) error {
	return e.balanceCall.do(func() error {
		ok, err := e.store.TakeBalanceRefresh(ctx, e.cfg.RefundBalanceMaxAge)
		if err != nil {
			return storeErr(err)
		}
		if !ok {
			return e.awaitBalance(ctx, seen)
		}
		list, err := e.api.Balance(ctx)
		if err != nil {
			return upstreamErr(err)
		}
		m := make(map[string]int64, len(list))
		for _, b := range list {
			m[b.Currency] = b.Balance
		}
		return storeErr(e.store.SaveBalances(ctx, m, e.now()))
	})
}

// balanceWait bounds the wait for another process's Balance call.
const balanceWait = 5 * time.Second

func (e *Engine) awaitBalance(ctx context.Context, seen time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, balanceWait)
	defer cancel()
	for {
		_, at, err := e.store.Balances(ctx)
		if err != nil || at.After(seen) {
			return storeErr(err)
		}
		select {
		case <-ctx.Done():
			return nil // the stored balance decides, old as it is
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// shared runs one call at a time and lets the callers that arrived while it
// ran take its result instead of making their own.
type shared struct {
	mu      sync.Mutex
	running *sharedRun
}

type sharedRun struct {
	done chan struct{}
	err  error
}

func (s *shared) do(fn func() error) error {
	s.mu.Lock()
	if r := s.running; r != nil {
		s.mu.Unlock()
		<-r.done
		return r.err
	}
	r := &sharedRun{done: make(chan struct{})}
	s.running = r
	s.mu.Unlock()
	r.err = fn()
	s.mu.Lock()
	s.running = nil
	s.mu.Unlock()
	close(r.done)
	return r.err
}
