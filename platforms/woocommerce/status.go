package woocommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// transition is what a payment status does to a WooCommerce order: the
// status it sets, and the statuses it may set it from. Any other current
// status was set by someone else after the payment started (an admin, a
// fulfilment plugin): the adapter leaves it and only writes the note.
type transition struct {
	To      string
	From    []string
	SetPaid bool // set_paid: WooCommerce stamps date_paid and reduces stock
}

// transitions is the one table of what the adapter may do to an order's
// status (README.md shows it to shop owners). Statuses not listed (refunds,
// mandates, attention) only add a note.
//
//	pending ──pending──▶ on-hold ──paid──▶ processing ──reversed──▶ on-hold
//	   │                    │
//	   └─────cancelled──────┴──▶ failed
var transitions = map[adapter.PaymentStatus]transition{
	adapter.StatusPending: {To: "on-hold", From: []string{"pending"}},
	// failed is a From: a shopper whose first attempt failed may pay again.
	adapter.StatusPaid: {To: "processing", From: []string{"pending", "on-hold", "failed"}, SetPaid: true},
	// Trustly's cancel (the shopper aborted, the bank rejected, the
	// payment expired) is WooCommerce's "failed": payment failed or was
	// declined, and the shopper may pay the order again. "cancelled" in
	// WooCommerce means an admin or the shopper gave the order up.
	adapter.StatusCancelled: {To: "failed", From: []string{"pending", "on-hold"}},
	// Money taken back after the order was paid: hold it, so nobody ships.
	adapter.StatusReversed: {To: "on-hold", From: []string{"processing", "completed"}},
}

// Compiled on first use: the sidecar binary links every platform, and each of
// its processes (serve, every adapter) would compile them all at start.
var orderIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[1-9][0-9]{0,18}$`) })

// ApplyStatus reads the order, moves its status when the table allows,
// records a Trustly refund made outside WooCommerce as a WooCommerce refund
// (once), and adds the change as an order note (once). Every step checks
// the order first, so applying a change again changes nothing.
func (a *Adapter) ApplyStatus(ctx context.Context, ch adapter.StatusChange) error {
	if ch.ID == "" || ch.Status == "" {
		return fmt.Errorf("%w: a status change needs an id and a status", adapter.ErrPermanent)
	}
	if !orderIDRE().MatchString(ch.Order.ID) {
		// WooCommerce order ids are numbers; the plugin sends the order id
		// as the payment's externalReference.
		return fmt.Errorf("%w: change %s: order %.40q is not a WooCommerce order id", adapter.ErrPermanent, ch.ID, ch.Order.ID)
	}
	path := "/orders/" + ch.Order.ID
	var o Order
	if err := a.call(ctx, "GET", path, nil, &o); err != nil {
		return err
	}
	note := noteText(ch)
	if t, ok := transitions[ch.Status]; ok {
		switch {
		case o.Status == t.To:
			// Already there: this change, delivered again.
		case slices.Contains(t.From, o.Status):
			upd := map[string]any{"status": t.To}
			if t.SetPaid {
				upd["set_paid"] = true
				if ch.ProviderReference != "" {
					upd["transaction_id"] = ch.ProviderReference
				}
			}
			if err := a.call(ctx, "PUT", path, upd, nil); err != nil {
				return err
			}
		default:
			note = strings.TrimSpace(note + fmt.Sprintf(" The order's status stays %q (set after the payment started); Trustly's status would make it %q.", o.Status, t.To))
		}
	}
	if ch.Status == adapter.StatusRefunded {
		if err := a.recordRefund(ctx, o, ch); err != nil {
			return err
		}
	}
	return a.addNote(ctx, path, ch, note)
}

// defaultNotes say what happened when the host sent no message.
var defaultNotes = map[adapter.PaymentStatus]string{
	adapter.StatusPending:         "Trustly: the bank transfer is under way.",
	adapter.StatusPaid:            "Trustly: the payment of %s was credited.",
	adapter.StatusCancelled:       "Trustly: the payment was not completed.",
	adapter.StatusReversed:        "Trustly: the payment of %s was reversed after it was credited; the money is no longer with the shop.",
	adapter.StatusRefundPending:   "Trustly: a refund of %s was accepted.",
	adapter.StatusRefunded:        "Trustly: a refund of %s was paid out.",
	adapter.StatusRefundFailed:    "Trustly: the refund of %s failed: no money went back to the shopper. The WooCommerce refund stays recorded; refund again or pay the shopper back another way.",
	adapter.StatusMandateActive:   "Trustly: the direct debit mandate is active.",
	adapter.StatusMandateDeclined: "Trustly: the direct debit mandate was not set up.",
	adapter.StatusMandateRevoked:  "Trustly: the direct debit mandate was revoked.",
	adapter.StatusAttention:       "Trustly: this order needs a person's attention.",
}

// noteText is the host's message, or the table's words when it sent none.
func noteText(ch adapter.StatusChange) string {
	if ch.Message != "" {
		return ch.Message
	}
	text := defaultNotes[ch.Status]
	if strings.Contains(text, "%s") {
		text = fmt.Sprintf(text, formatMoney(ch.Amount.Minor, ch.Amount.Currency)+" "+ch.Amount.Currency)
	}
	return text
}

// addNote adds the change's note unless an earlier delivery did: each note
// ends with the change id, which the note list is searched for.
func (a *Adapter) addNote(ctx context.Context, path string, ch adapter.StatusChange, text string) error {
	if ch.ProviderReference != "" {
		text += " Trustly OrderID " + ch.ProviderReference + "."
	}
	return a.noteOnce(ctx, path, "[trustly-sidecar "+ch.ID+"]", text)
}

// recordRefund makes a paid-out Trustly refund visible in WooCommerce once.
// A refund an admin added in WooCommerce (which Translate turned into this
// Trustly refund) is already there: the first unclaimed WooCommerce refund
// of exactly this amount is claimed for it in the order's meta data. Only a
// refund made outside WooCommerce (the sidecar's API, its CLI) is posted, with
// api_refund false so WooCommerce does not call the gateway again, and with
// the marker in its reason so Translate does not turn it into another one
// (woocommerce-rest-api-docs, source/includes/wp-api-v3/_order-refunds.md).
func (a *Adapter) recordRefund(ctx context.Context, o Order, ch adapter.StatusChange) error {
	sid, _, _ := strings.Cut(ch.ID, ":") // the sidecar's id of this refund
	claimKey := "trustly_refund_" + sid
	marker := refundMarker + "refund " + sid + "]"
	claimed := map[string]bool{}
	for _, m := range o.MetaData {
		if !strings.HasPrefix(m.Key, "trustly_refund_") {
			continue
		}
		if m.Key == claimKey {
			return nil
		}
		var v string
		if json.Unmarshal(m.Value, &v) == nil {
			claimed[v] = true
		}
	}
	for _, r := range o.Refunds {
		if strings.Contains(r.Reason, marker) {
			return nil
		}
	}
	for _, r := range o.Refunds {
		id := strconv.FormatInt(r.ID, 10)
		minor, err := parseMoney(r.Total, o.Currency)
		if err != nil || strings.Contains(r.Reason, refundMarker) || claimed[id] {
			continue
		}
		if -minor == ch.Amount.Minor || minor == ch.Amount.Minor {
			return a.call(ctx, "PUT", "/orders/"+ch.Order.ID, map[string]any{
				"meta_data": []map[string]string{{"key": claimKey, "value": id}},
			}, nil)
		}
	}
	if ch.Amount.Currency != "" && ch.Amount.Currency != o.Currency {
		return fmt.Errorf("%w: change %s: refund in %s, order in %s", adapter.ErrPermanent, ch.ID, ch.Amount.Currency, o.Currency)
	}
	return a.call(ctx, "POST", "/orders/"+ch.Order.ID+"/refunds", map[string]any{
		"amount":     formatMoney(ch.Amount.Minor, o.Currency),
		"reason":     "Refunded through Trustly " + marker,
		"api_refund": false,
	}, nil)
}
