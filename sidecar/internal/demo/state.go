package demo

import (
	"context"
	"net/http"
	"strconv"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// orderView is what the order page shows, in words: the page renders it
// and its script polls it (GET /orders/{ref}/status), so both say the same.
type orderView struct {
	// State is the order's state for the shopper (a CSS class too):
	// waiting, pending, paid, refunding, partially-refunded, refunded,
	// refund-failed, reversed, cancelled, expired, rejected, unknown.
	State  string `json:"state"`
	Label  string `json:"label"`
	Detail string `json:"detail"`
	// Waiting: no outcome yet; the note on how an order turns paid is shown.
	Waiting bool `json:"waiting"`
	// Open: the checkout at the bank can still be used (the lightbox).
	Open bool `json:"open"`
	// Retry: the payment did not happen and the cart is kept: try again.
	Retry      bool         `json:"retry"`
	Refundable bool         `json:"refundable"`
	RefundMax  string       `json:"refundMax"` // "149.00", the refund form's default
	RefundKey  string       `json:"refundKey"` // the refund form's idempotency part
	Refunds    []refundView `json:"refunds"`
	Link       *linkView    `json:"link,omitempty"`
	// Timeline is what the sidecar's GET /v1/payments/{id}/events says,
	// in words: what a shop's support person reads.
	Timeline []timelineLine `json:"timeline"`

	payment string // the sidecar's payment order, for refunds
}

type timelineLine struct {
	Time string `json:"time"`
	Kind string `json:"kind"`
	Text string `json:"text"`
}

type refundView struct {
	Amount string `json:"amount"`
	State  string `json:"state"` // refunding, refunded, refund-failed, rejected
	Label  string `json:"label"`
}

type linkView struct {
	Status    string `json:"status"`
	Label     string `json:"label"`
	Revocable bool   `json:"revocable"`
}

var linkLabels = map[string]string{
	"active":     "Active: waiting for the customer to pay",
	"processing": "The customer's bank accepted; waiting for the money",
	"paid":       "Paid",
	"reversed":   "Paid, then returned by the bank",
	"revoked":    "Withdrawn by the shop: the link no longer pays",
	"expired":    "Expired: the link no longer pays",
}

// view reads the order from the sidecar and says where it stands. A paid
// order empties the cart it was made from (if that cart is unchanged).
func (s *demoShop) view(ctx context.Context, o *shopOrder) (orderView, error) {
	var v orderView
	paymentID := o.PaymentID
	if o.LinkID != "" {
		var st shopapi.PayLinkStatus
		if err := s.call(ctx, http.MethodGet, "/v1/paylinks/"+o.LinkID, "", nil, &st); err != nil {
			return v, err
		}
		v.Link = &linkView{Status: st.Status, Label: linkLabels[st.Status], Revocable: st.Status == "active"}
		if v.Link.Label == "" {
			v.Link.Label = st.Status
		}
		switch {
		case st.Payment != nil:
			paymentID = st.Payment.ID
		case len(st.Attempts) > 0:
			paymentID = st.Attempts[len(st.Attempts)-1].ID
		}
		if paymentID == "" {
			v.State, v.Waiting = "waiting", st.Status == "active"
			switch st.Status {
			case "revoked", "expired":
				v.State, v.Label = "cancelled", "Not paid: the link was "+map[string]string{"revoked": "withdrawn", "expired": "not used in time"}[st.Status]
				v.Detail, v.Retry = "Nothing was charged. The cart is kept.", true
			default:
				v.Label = "Waiting for the customer to pay by link"
				v.Detail = "Open the link as the customer would, or send it. Nothing is charged until the customer approves at the bank."
			}
			return v, nil
		}
	}
	var p shopapi.Order
	if err := s.call(ctx, http.MethodGet, "/v1/payments/"+paymentID, "", nil, &p); err != nil {
		return v, err
	}
	var refunds []shopapi.Order
	for _, id := range p.Refunds {
		var rf shopapi.Order
		if err := s.call(ctx, http.MethodGet, "/v1/payments/"+id, "", nil, &rf); err != nil {
			return v, err
		}
		refunds = append(refunds, rf)
	}
	v = describe(p, refunds, v.Link)
	var tl shopapi.Timeline
	if err := s.call(ctx, http.MethodGet, "/v1/payments/"+paymentID+"/events", "", nil, &tl); err != nil {
		return v, err
	}
	v.Timeline = timelineOf(tl)
	if p.Credited > 0 {
		s.paid(o)
	}
	return v, nil
}

// paid empties the cart an order was made from, unless it changed since.
func (s *demoShop) paid(o *shopOrder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess := s.sessions[o.session]; sess != nil && sess.cartVersion == o.cartVersion && len(sess.cart) > 0 {
		sess.cart = nil
		sess.cartVersion++
	}
}

// describe says in words where a payment and its refunds stand.
func describe(p shopapi.Order, refunds []shopapi.Order, link *linkView) orderView {
	v := orderView{payment: p.ID, Link: link, Refundable: p.Refundable > 0, RefundMax: formatInput(p.Refundable)}
	money := func(n int64) string { return formatMoney(n, p.Currency) }
	var done, inFlight int64
	for _, rf := range refunds {
		r := refundView{Amount: money(rf.Amount)}
		switch rf.State {
		case "refunded":
			r.State, r.Label = "refunded", "refunded"
			done += rf.Amount
		case "failed":
			r.State, r.Label = "refund-failed", "failed: the money stayed with the shop"
		case "rejected":
			r.State, r.Label = "refund-failed", "refused by Trustly: nothing was refunded"
		default: // new, started, unknown: sent, not confirmed
			r.State, r.Label = "refunding", "in progress: waiting for Trustly to confirm the payout"
			inFlight += rf.Amount
		}
		v.Refunds = append(v.Refunds, r)
	}
	v.RefundKey = "r" + strconv.Itoa(len(refunds))
	switch p.State {
	case "new", "started":
		v.State, v.Label, v.Waiting, v.Open = "waiting", "Waiting for the payment", true, p.State == "started"
		v.Detail = "Nothing is paid yet. Approve at the bank, or close the bank page to stop."
	case "pending":
		v.State, v.Label, v.Waiting = "pending", "Pending: the bank accepted", true
		v.Detail = "The money has not arrived yet. Do not ship until the order is paid."
	case "paid":
		last := ""
		if len(v.Refunds) > 0 {
			last = v.Refunds[len(v.Refunds)-1].State
		}
		switch {
		case inFlight > 0:
			v.State, v.Label = "refunding", "Paid: refund in progress"
			v.Detail = "A refund of " + money(inFlight) + " was sent to Trustly; it is done when Trustly confirms the payout."
		case last == "refund-failed":
			v.State, v.Label = "refund-failed", "Refund failed"
			v.Detail = "The last refund did not go through: the money is still with the shop. You can try again."
			if done > 0 {
				v.Detail += " Refunded so far: " + money(done) + " of " + money(p.Credited) + "."
			}
		case done > 0 && p.Refundable == 0:
			v.State, v.Label = "refunded", "Refunded"
			v.Detail = money(done) + " was paid back to the customer's bank account."
		case done > 0:
			v.State, v.Label = "partially-refunded", "Partially refunded"
			v.Detail = money(done) + " of " + money(p.Credited) + " was paid back; " + money(p.Refundable) + " can still be refunded."
		default:
			v.State, v.Label = "paid", "Paid"
			v.Detail = "Trustly's signed credit notification arrived: the money is in. Ship the order."
		}
	case "reversed":
		v.State, v.Label = "reversed", "Reversed"
		v.Detail = "The bank took the payment back after it was credited. Do not ship; contact the customer."
	case "cancelled":
		v.State, v.Label, v.Retry = "cancelled", "Cancelled: not paid", true
		v.Detail = "The payment was declined or abandoned at the bank. Nothing was charged."
	case "expired":
		v.State, v.Label, v.Retry = "expired", "Expired: not paid", true
		v.Detail = "The bank page was not used in time. Nothing was charged."
	case "rejected":
		v.State, v.Label, v.Retry = "rejected", "Not started", true
		v.Detail = "Trustly refused the payment. Nothing was charged."
	default:
		v.State, v.Label, v.Waiting = "unknown", "Being checked", true
		v.Detail = "The outcome is not known yet; the sidecar asks Trustly."
	}
	return v
}

// timelineOf says each event of the payment's timeline in a line.
func timelineOf(tl shopapi.Timeline) []timelineLine {
	out := make([]timelineLine, 0, len(tl.Events))
	for _, e := range tl.Events {
		var text string
		switch e.Kind {
		case "call":
			text = "Called Trustly: " + e.What + " (" + e.Outcome + ")"
		case "notification":
			text = "Trustly sent " + e.What
			switch e.Outcome {
			case "duplicate":
				text += " again: answered as before, nothing changed"
			case "applied":
				text += ": the order is now " + e.To
			default:
				text += ": " + e.Outcome
			}
		case "platform":
			text = "The shop was told: " + e.To
		default:
			text = "The order is now " + e.To + " (" + e.What + ")"
		}
		if e.Note != "" && e.Kind != "platform" {
			text += " · " + e.Note
		}
		out = append(out, timelineLine{Time: e.At.Format("15:04:05"), Kind: e.Kind, Text: text})
	}
	return out
}
