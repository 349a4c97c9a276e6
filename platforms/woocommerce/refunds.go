package woocommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Who moves the money of a WooCommerce refund. A refund reaches the sidecar
// two ways: WooCommerce calls the plugin's process_refund (the "Refund via
// Trustly" button, or the REST API with api_refund true), and every
// order.updated webhook lists all of the order's refunds. Only one of them
// may act on a refund, or the shopper is paid back twice. WooCommerce
// creates every refund in wc_create_refund (wc-order-functions.php), which
// fires woocommerce_create_refund before the refund's first save and only
// then, when asked to, calls the gateway. The plugin stamps the refund
// there, with its RefundByMeta meta data, and that stamp is the one answer:
//
//	gateway  the plugin's process_refund carries it out (refund_payment true)
//	sidecar  this adapter carries it out from the webhook (the plugin's
//	         "the sidecar refunds what is recorded" mode, an admin's
//	         "Refund manually")
//	manual   nobody: the money went back outside Trustly, or the order's
//	         status was set to Refunded (wc_order_fully_refunded)
//
// A refund with no stamp (made while the plugin was not active) is never
// carried out: paying nobody is visible and can be mended; paying twice
// cannot be taken back.
const (
	RefundByMeta    = "trustly_refund_by"
	RefundByGateway = "gateway"
	RefundBySidecar = "sidecar"
	RefundByManual  = "manual"
)

// refundKeyPrefix starts the idempotency key of a refund command; the rest
// is "<order id>:<refund id>".
const refundKeyPrefix = Name + ":refund:"

// refundsBy reads how each refund of order id is to be carried out
// (GET /orders/{id}/refunds: refunded_payment and meta_data are fields of
// the order refund resource, woocommerce-rest-api-docs
// source/includes/wp-api-v3/_order-refunds.md). A refund WooCommerce says a
// gateway already paid out counts as the gateway's, whatever its stamp. One
// page of 100 (the API's maximum): a refund beyond it is not carried out.
func (a *Adapter) refundsBy(ctx context.Context, orderID int64) (map[int64]string, error) {
	var list []struct {
		ID              int64      `json:"id"`
		RefundedPayment bool       `json:"refunded_payment"`
		MetaData        []MetaData `json:"meta_data"`
	}
	if err := a.call(ctx, "GET", "/orders/"+strconv.FormatInt(orderID, 10)+"/refunds?per_page=100", nil, &list); err != nil {
		return nil, err
	}
	by := make(map[int64]string, len(list))
	for _, r := range list {
		by[r.ID] = ""
		for _, m := range r.MetaData {
			var v string
			if m.Key == RefundByMeta && json.Unmarshal(m.Value, &v) == nil {
				by[r.ID] = v
			}
		}
		if r.RefundedPayment {
			by[r.ID] = RefundByGateway
		}
	}
	return by, nil
}

// failedRefundNotes is what the order note says about a refund the sidecar
// could not carry out, by the host's error code (stable codes of its API).
// The wording matters for money: a refund that may still happen must never
// tell the admin to refund again. Any other code was refused for good.
var failedRefundNotes = map[string]string{
	// Another delivery of the same order is running it: no note.
	"idempotency_key_in_use": "",
	// Not run (the sidecar's store was down); nothing was sent to Trustly.
	"unavailable": "Trustly: WooCommerce refund #%s was not sent to Trustly yet: %s (%s). " +
		"It is sent the next time WooCommerce sends this order to the sidecar (saving the order does). Do not record it again.",
	// Cut off at the sidecar earlier: it may have reached Trustly.
	"idempotency_key_interrupted": "Trustly: WooCommerce refund #%s may or may not have reached Trustly: %s (%s). " +
		"Do not refund again before checking this order's payment in the sidecar (trustly-sidecar orders show).",
}

// refusedRefundNote is the note of a refund the sidecar refused.
const refusedRefundNote = "Trustly: WooCommerce refund #%s was NOT paid back through Trustly: %s (%s). " +
	"The refund stays recorded here; no money went to the shopper. Fix the cause and refund again, or pay the shopper back another way."

// Answer is unsupported: WooCommerce's webhooks only want a 2xx, and the
// host writes that answer. Before that, a refund the sidecar could not carry
// out is written on its order as a note, once, so the person who recorded
// it sees that no money went back (the webhook's answer only reaches
// WooCommerce's delivery log, which nobody reads). A note that cannot be
// written does not change the answer: the host logs the failed command.
func (a *Adapter) Answer(ctx context.Context, _ adapter.Request, results []adapter.Result) (adapter.Response, error) {
	for _, r := range results {
		rest, ok := strings.CutPrefix(r.IdempotencyKey, refundKeyPrefix)
		if r.OK || !ok {
			continue
		}
		format, known := failedRefundNotes[r.ErrorCode]
		if !known {
			format = refusedRefundNote
		}
		order, refund, ok := strings.Cut(rest, ":")
		if format == "" || !ok || !orderIDRE().MatchString(order) {
			continue
		}
		tag := "[trustly-sidecar refund-failed " + refund + " " + r.ErrorCode + "]"
		_ = a.noteOnce(ctx, "/orders/"+order, tag, fmt.Sprintf(format, refund, r.Message, r.ErrorCode))
	}
	return adapter.Response{}, fmt.Errorf("%w: WooCommerce webhooks are asynchronous", adapter.ErrUnsupported)
}

// noteOnce adds an internal note ending with tag unless one has it.
func (a *Adapter) noteOnce(ctx context.Context, path, tag, text string) error {
	var notes []struct {
		Note string `json:"note"`
	}
	if err := a.call(ctx, "GET", path+"/notes?type=internal", nil, &notes); err != nil {
		return err
	}
	for _, n := range notes {
		if strings.Contains(n.Note, tag) {
			return nil
		}
	}
	return a.call(ctx, "POST", path+"/notes", map[string]any{"note": strings.TrimSpace(text + " " + tag), "customer_note": false}, nil)
}
