package paylink

import (
	"context"
	"errors"
	"fmt"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// Errors of the shop API's pay-link operations; the HTTP layer maps them.
var (
	ErrNotFound = errors.New("paylink: no such pay link")
	// ErrNotRevocable: the link was paid or is being paid; revoking it
	// would say something untrue.
	ErrNotRevocable = errors.New("paylink: the link is paid or being paid")
	// ErrBusy: a click is making a Deposit right now; ask again shortly.
	ErrBusy = errors.New("paylink: a click on the link is in progress")
)

// The statuses of a link (shopapi.PayLinkStatus.Status).
const (
	StatusActive     = "active"
	StatusProcessing = "processing"
	StatusPaid       = "paid"
	StatusReversed   = "reversed"
	StatusRevoked    = "revoked"
	StatusExpired    = "expired"
)

// Status is the link with the id the shop API showed, with its attempts.
func (p *Links) Status(ctx context.Context, id string) (shopapi.PayLinkStatus, error) {
	_, l, found, err := p.Store.GetByID(ctx, id)
	if err != nil {
		return shopapi.PayLinkStatus{}, err
	}
	if !found {
		return shopapi.PayLinkStatus{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return p.status(ctx, l)
}

// Revoke withdraws a link: its page then says so and its button makes no
// Deposit. Revoking a revoked link changes nothing; a paid one, or one being
// paid, is ErrNotRevocable. An attempt already at Trustly is not cancelled
// (Trustly has no call for that): if the shopper completes it, the link's
// status becomes paid all the same, which the answer's attempts show.
func (p *Links) Revoke(ctx context.Context, id string) (shopapi.PayLinkStatus, error) {
	hash, _, found, err := p.Store.GetByID(ctx, id)
	if err != nil {
		return shopapi.PayLinkStatus{}, err
	}
	if !found {
		return shopapi.PayLinkStatus{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	// Under the click lock, so no click is between deciding and Deposit.
	release, ok, err := p.Store.Lock(ctx, hash, clickLockTTL)
	if err != nil {
		return shopapi.PayLinkStatus{}, err
	}
	if !ok {
		return shopapi.PayLinkStatus{}, ErrBusy
	}
	defer release()
	l, found, err := p.Store.Get(ctx, hash)
	if err != nil {
		return shopapi.PayLinkStatus{}, err
	}
	if !found {
		return shopapi.PayLinkStatus{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	st, err := p.status(ctx, l)
	if err != nil {
		return shopapi.PayLinkStatus{}, err
	}
	switch st.Status {
	case StatusRevoked:
		return st, nil
	case StatusPaid, StatusProcessing, StatusReversed:
		return st, fmt.Errorf("%w (%s)", ErrNotRevocable, st.Status)
	}
	now := p.now().UTC()
	l.Revoked = &now
	if err := p.Store.Update(ctx, hash, l); err != nil {
		return shopapi.PayLinkStatus{}, err
	}
	p.Log.InfoContext(ctx, "pay link revoked", "link", l.ID, "order_reference", l.OrderReference, "attempts", len(l.Attempts))
	return p.status(ctx, l)
}

// status reads l's attempts and names its state, by the same precedence
// as a click decides: money first (paid, being paid, returned), then the
// shop's word, then time.
func (p *Links) status(ctx context.Context, l store.PayLink) (shopapi.PayLinkStatus, error) {
	st := shopapi.PayLinkStatus{ID: l.ID, OrderReference: l.OrderReference, Amount: l.Amount, Currency: l.Currency,
		Created: l.Created, ExpiresAt: l.ExpiresAt, RevokedAt: l.Revoked, Attempts: []shopapi.Order{}}
	rank := 0 // of st.Status below; higher wins
	set := func(r int, status string) {
		if r > rank {
			rank, st.Status = r, status
		}
	}
	for _, id := range l.Attempts {
		o, err := p.Engine.GetPayment(ctx, id)
		if err != nil {
			return shopapi.PayLinkStatus{}, err
		}
		so := shopapi.OrderOf(o)
		st.Attempts = append(st.Attempts, so)
		switch o.State {
		case engine.StatePaid:
			st.Payment = &so
			set(5, StatusPaid)
		case engine.StateReversed:
			st.Payment = &so
			set(4, StatusReversed)
		case engine.StatePending:
			st.Payment = &so
			set(3, StatusProcessing)
		}
	}
	switch {
	case l.Revoked != nil:
		set(2, StatusRevoked)
	case !p.now().Before(l.ExpiresAt):
		set(1, StatusExpired)
	default:
		set(1, StatusActive)
	}
	return st, nil
}
