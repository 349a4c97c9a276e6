package commercetools

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// target says which transaction a status change is about.
type target int

const (
	noTransaction target = iota // an interaction only
	paymentTx                   // the Charge (or Authorization) of the Trustly payment
	refundTx                    // the Refund
	chargebackTx                // a new Chargeback
)

// rule is what one status does to the payment.
type rule struct {
	target target
	state  string // the transaction's new state
}

// statusTable is the one table from the sidecar's statuses to the Payment
// (docs/adapters.md lists the statuses). Every change also records an
// interface interaction, and a payment status (not a refund's) sets
// paymentStatus.interfaceCode/interfaceText. A transaction already in a
// final state is not moved again (commercetools refuses it); the
// interaction still records what Trustly said.
var statusTable = map[adapter.PaymentStatus]rule{
	adapter.StatusPending:       {paymentTx, statePending}, // the bank transfer is under way: it stays Pending
	adapter.StatusPaid:          {paymentTx, stateSuccess},
	adapter.StatusCancelled:     {paymentTx, stateFailure},
	adapter.StatusReversed:      {chargebackTx, stateSuccess}, // money taken back after the credit
	adapter.StatusRefundPending: {refundTx, statePending},
	adapter.StatusRefunded:      {refundTx, stateSuccess},
	adapter.StatusRefundFailed:  {refundTx, stateFailure},
	adapter.StatusAttention:     {noTransaction, ""}, // for a person: recorded, nothing changes
	// No mandate statuses: the extension never sets up a mandate on its
	// own (a first payment asks for one with trustlyRequestMandate), so
	// they come to no commercetools payment.
}

// maxConflicts bounds the re-reads after 409 ConcurrentModification within
// one delivery; beyond it the host retries the whole change later.
const maxConflicts = 8

// ApplyStatus writes a change into the Payment named by change.Order.ID:
// read it, work out the actions, update with its version; on 409
// ConcurrentModification (the checkout or another writer got there
// first) read it again and redo. The change's interaction makes a second
// application a no-op.
func (a *Adapter) ApplyStatus(ctx context.Context, ch adapter.StatusChange) error {
	r, ok := statusTable[ch.Status]
	if !ok {
		return fmt.Errorf("%w: status %q has no commercetools mapping", adapter.ErrUnsupported, ch.Status)
	}
	if ch.Order.ID == "" {
		return fmt.Errorf("%w: change %s names no payment", adapter.ErrPermanent, ch.ID)
	}
	path := "/payments/" + url.PathEscape(ch.Order.ID)
	for conflicts := 0; ; conflicts++ {
		var p payment
		if err := a.call(ctx, "GET", path, nil, &p); err != nil {
			return err
		}
		if p.hasInteraction(ch.ID) {
			return nil // applied before
		}
		actions := a.changeActions(&p, ch, r)
		err := a.call(ctx, "POST", path, map[string]any{"version": p.Version, "actions": actions}, nil)
		if !errors.Is(err, errConflict) {
			return err
		}
		if conflicts == maxConflicts {
			return fmt.Errorf("%w: payment %s kept changing under %d updates", adapter.ErrRetryable, ch.Order.ID, maxConflicts)
		}
	}
}

// changeActions are the update actions of change ch under rule r on p.
func (a *Adapter) changeActions(p *payment, ch adapter.StatusChange, r rule) []action {
	var out []action
	switch r.target {
	case paymentTx:
		out = append(out, moveOrAdd(p, findPaymentTx(p, ch.ProviderReference), txCharge, ch.ProviderReference, ch.Amount, r.state)...)
		out = append(out,
			action{"action": "setStatusInterfaceCode", "interfaceCode": string(ch.Status)},
			action{"action": "setStatusInterfaceText", "interfaceText": statusText(ch)})
	case refundTx:
		// A refund is known by the sidecar's refund id (the change id's
		// prefix), which the extension's answer set as its interactionId:
		// several refunds of one payment share Trustly's OrderID.
		out = append(out, moveOrAdd(p, findRefundTx(p, refundID(ch.ID), ch.Amount), txRefund, refundID(ch.ID), ch.Amount, r.state)...)
	case chargebackTx:
		out = append(out, addTx(txChargeback, ch.ProviderReference, ch.Amount, r.state),
			action{"action": "setStatusInterfaceCode", "interfaceCode": string(ch.Status)},
			action{"action": "setStatusInterfaceText", "interfaceText": statusText(ch)})
	}
	fields := map[string]any{ixChangeID: ch.ID, ixStatus: string(ch.Status)}
	if ch.ProviderReference != "" {
		fields[ixOrderID] = ch.ProviderReference
	}
	if ch.Amount.Currency != "" {
		fields[ixAmount] = decimal(ch.Amount.Minor, ch.Amount.Currency)
	}
	if ch.Message != "" {
		fields[ixMessage] = ch.Message
	}
	if !ch.OccurredAt.IsZero() {
		fields[ixAt] = ch.OccurredAt.UTC().Format(time.RFC3339)
	}
	return append(out, action{"action": "addInterfaceInteraction",
		"type": reference{TypeID: "type", Key: a.cfg.InteractionType}, "fields": fields})
}

// moveOrAdd moves transaction i (with interactionID set when it has none)
// to state, or adds the transaction when the payment has none to move (a
// payment started outside the extension, or a refund made elsewhere).
func moveOrAdd(p *payment, i int, typ, interactionID string, amount adapter.Money, state string) []action {
	if i < 0 {
		return []action{addTx(typ, interactionID, amount, state)}
	}
	tx := p.Transactions[i]
	var out []action
	if tx.InteractionID == "" && interactionID != "" {
		out = append(out, changeInteractionID(tx.ID, interactionID))
	}
	if tx.State != state && !tx.final() {
		out = append(out, changeState(tx.ID, state))
	}
	return out
}

func addTx(typ, interactionID string, amount adapter.Money, state string) action {
	tx := map[string]any{"type": typ, "state": state,
		"amount": money{CentAmount: amount.Minor, CurrencyCode: amount.Currency}}
	if interactionID != "" {
		tx["interactionId"] = interactionID
	}
	return action{"action": "addTransaction", "transaction": tx}
}

// findPaymentTx is the Charge or Authorization of Trustly's OrderID; else
// the newest one in flight that no OrderID was recorded on (the answer was
// pending); -1 when there is none.
func findPaymentTx(p *payment, orderID string) int {
	isPay := func(t transaction) bool { return t.Type == txCharge || t.Type == txAuthorization }
	for i, t := range p.Transactions {
		if isPay(t) && orderID != "" && t.InteractionID == orderID {
			return i
		}
	}
	for i := len(p.Transactions) - 1; i >= 0; i-- {
		if t := p.Transactions[i]; isPay(t) && t.InteractionID == "" && !t.final() {
			return i
		}
	}
	return -1
}

// findRefundTx is the Refund recorded under the sidecar's refund id (the
// extension's answer records it); -1 when there is none to move.
//
// A Refund without an interactionId has no id to match: one whose answer
// came before Trustly's (Result.Pending carries no order id) and one
// answered before the extension recorded the id. For those it falls back
// to the oldest Refund in flight without one, of the same amount if there
// is such. That is a guess between refunds of the same amount, so it is
// kept to the refunds nothing else can find: a Refund tagged with another
// id is never taken.
func findRefundTx(p *payment, id string, amount adapter.Money) int {
	fallback := -1
	for i, t := range p.Transactions {
		if t.Type != txRefund {
			continue
		}
		if t.InteractionID == id {
			return i
		}
		if t.InteractionID == "" && !t.final() {
			if t.Amount.CentAmount == amount.Minor && t.Amount.CurrencyCode == amount.Currency {
				return i
			}
			if fallback < 0 {
				fallback = i
			}
		}
	}
	return fallback
}

// refundID is the sidecar's refund id: the change id without its ":seq".
func refundID(changeID string) string {
	if i := strings.LastIndexByte(changeID, ':'); i > 0 {
		return changeID[:i]
	}
	return changeID
}

// statusText is paymentStatus.interfaceText: the change's message, or the
// status in words.
func statusText(ch adapter.StatusChange) string {
	if ch.Message != "" {
		return ch.Message
	}
	return "Trustly: " + string(ch.Status)
}
