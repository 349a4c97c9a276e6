package engine

import (
	"context"
	"errors"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// orderClaim carries the order a payment creates from PreparePayment to
// IdempotentOrder, so that an idempotency store with every key on one
// master creates it in the claim's own script (store.RedisIdempotency's
// ClaimCreate): one round trip and one wait for the replicas before the
// Deposit instead of two. Only a fresh claim creates it: a replay, a key in
// flight or reused, and an interrupted request leave no order behind, as
// when the step writes it. Elsewhere (a Cluster, where the record and the
// order are on different masters) the step writes it after the claim, as
// before.
type orderClaim struct {
	// Set by PreparePayment: the order (nil for a request refused before
	// any write) and what to start beside a claim that does not create it
	// (the shopper's accounts read).
	order  *store.NewOrder
	beside func()
	// Set by the claim: it created the order, with express as its
	// account.
	created bool
	express string
}

// orderClaimer is an idempotency store that can create a request's order
// with its claim.
type orderClaimer interface {
	ClaimCreates() bool
	ClaimCreate(ctx context.Context, scope, key, fingerprint, point string, n store.NewOrder) (store.Claim, *store.Outcome, string, error)
}

type orderClaimKey struct{}

// WithOrderClaim marks ctx as a request's whose order may be created with
// its idempotency claim: give it to PreparePayment and then to
// IdempotentOrder (with the step PreparePayment returned as run). Without
// it the step creates the order.
func WithOrderClaim(ctx context.Context) context.Context {
	return context.WithValue(ctx, orderClaimKey{}, &orderClaim{})
}

func orderClaimFrom(ctx context.Context) *orderClaim {
	p, _ := ctx.Value(orderClaimKey{}).(*orderClaim)
	return p
}

// claimCreating claims key and creates p's order with the claim when idem
// can; ok is false when it cannot, and then p's beside work has started.
func claimCreating(ctx context.Context, idem store.Idempotency, p *orderClaim, scope, key, fingerprint string) (c store.Claim, stored *store.Outcome, ok bool, err error) {
	if p == nil {
		return store.Claim{}, nil, false, nil
	}
	if claimer, can := idem.(orderClaimer); can && p.order != nil && claimer.ClaimCreates() {
		c, stored, p.express, err = claimer.ClaimCreate(ctx, scope, key, fingerprint, pointStarted, *p.order)
		// A server that refused the script wrote nothing (a sharded Redis
		// reached as one node): claim below, as a store that cannot.
		if !errors.Is(err, store.ErrCrossSlot) {
			p.created = err == nil && stored == nil && c.RecoveryPoint == ""
			return c, stored, true, err
		}
	}
	if p.beside != nil {
		p.beside()
	}
	return store.Claim{}, nil, false, nil
}

// createdWithClaim reports whether the claim created o (and with which
// Express account): then the step must not create it again.
func createdWithClaim(ctx context.Context, o store.Order) (express string, ok bool) {
	p := orderClaimFrom(ctx)
	if p == nil || !p.created || p.order == nil || p.order.Order.ID != o.ID {
		return "", false
	}
	return p.express, true
}
