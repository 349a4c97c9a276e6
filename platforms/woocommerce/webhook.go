package woocommerce

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// The delivery headers of a WooCommerce webhook (woocommerce/woocommerce,
// plugins/woocommerce/includes/class-wc-webhook.php, get_new_delivery_id
// and deliver; woocommerce-rest-api-docs, source/includes/wp-api-v3/_webhooks.md).
const (
	HeaderSignature  = "X-WC-Webhook-Signature" // base64(HMAC-SHA256(secret, raw body))
	HeaderTopic      = "X-WC-Webhook-Topic"     // order.created, order.updated, …
	HeaderResource   = "X-WC-Webhook-Resource"
	HeaderEvent      = "X-WC-Webhook-Event"
	HeaderWebhookID  = "X-WC-Webhook-ID"
	HeaderDeliveryID = "X-WC-Webhook-Delivery-ID"
)

// Order is the part of a REST API v3 order (the body of an order webhook
// and of GET /orders/{id}) the adapter reads. Money is a decimal string.
type Order struct {
	ID            int64      `json:"id"`
	Number        string     `json:"number,omitempty"`
	OrderKey      string     `json:"order_key,omitempty"`
	Status        string     `json:"status"`
	Currency      string     `json:"currency"`
	Total         string     `json:"total"`
	CustomerID    int64      `json:"customer_id"`
	Billing       Billing    `json:"billing"`
	PaymentMethod string     `json:"payment_method"`
	TransactionID string     `json:"transaction_id"`
	Refunds       []Refund   `json:"refunds"`
	MetaData      []MetaData `json:"meta_data,omitempty"`
}

// Billing is the order's payer.
type Billing struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Country   string `json:"country"`
}

// Refund is one entry of an order's refunds: total is negative ("-50.00").
type Refund struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
	Total  string `json:"total"`
}

// MetaData is one custom field of an order.
type MetaData struct {
	ID    int64           `json:"id,omitempty"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// refundMarker tags the reason of every refund the adapter records itself
// (a Trustly refund made outside WooCommerce). Translate skips refunds that
// carry it: without that, recording a refund would start another one.
const refundMarker = "[trustly-sidecar "

// deliveryIDRE bounds the delivery id (WooCommerce sends a hash, wp_hash of
// the webhook id and the time): it may end up in error messages and logs.
var deliveryIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`) })

// Translate verifies a webhook and turns the refunds of a Trustly order into
// refund commands. The ping WooCommerce sends when a webhook is saved is
// answered with no command.
//
// A refund's idempotency key is its WooCommerce refund id, not the delivery
// id: every order.updated delivery carries all of the order's refunds, so
// only the refund's own id makes a refund happen once however many
// deliveries mention it (and a redelivery of the same X-WC-Webhook-Delivery-ID
// carries the same ids). The delivery id is checked but not kept: the host
// fingerprints each command, and a later delivery must make the same one.
func (a *Adapter) Translate(ctx context.Context, req adapter.Request) ([]adapter.Command, error) {
	if req.Header.Get(HeaderSignature) == "" {
		if isPing(req) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: no %s header", adapter.ErrUnauthenticated, HeaderSignature)
	}
	if err := Verify(req.Header, a.cfg.WebhookSecret, req.Body); err != nil {
		return nil, err
	}
	delivery := req.Header.Get(HeaderDeliveryID)
	if !deliveryIDRE().MatchString(delivery) {
		return nil, fmt.Errorf("%w: %s %.40q: want 1-128 of A-Z a-z 0-9 . _ : -", adapter.ErrInvalid, HeaderDeliveryID, delivery)
	}
	resource, event, _ := strings.Cut(req.Header.Get(HeaderTopic), ".")
	if resource != "order" || (event != "created" && event != "updated") {
		return nil, nil // a topic the adapter has nothing to do with (deleted orders, products, …)
	}
	var o Order
	if err := json.Unmarshal(req.Body, &o); err != nil {
		return nil, fmt.Errorf("%w: body is not a WooCommerce order: %w", adapter.ErrInvalid, err)
	}
	if o.ID <= 0 {
		return nil, fmt.Errorf("%w: order without an id", adapter.ErrInvalid)
	}
	if o.PaymentMethod != a.cfg.GatewayID || !a.cfg.WebhookRefunds {
		return nil, nil
	}
	type candidate struct {
		id    int64
		minor int64
	}
	var found []candidate
	for _, r := range o.Refunds {
		if strings.Contains(r.Reason, refundMarker) {
			continue // recorded by this adapter: the Trustly refund exists already
		}
		minor, err := parseMoney(r.Total, o.Currency)
		if err != nil {
			return nil, fmt.Errorf("%w: order %d refund %d: %w", adapter.ErrInvalid, o.ID, r.ID, err)
		}
		if r.ID <= 0 || minor == 0 {
			return nil, fmt.Errorf("%w: order %d: a refund needs an id and an amount", adapter.ErrInvalid, o.ID)
		}
		if minor < 0 {
			minor = -minor // the REST API lists refunds as negative totals
		}
		found = append(found, candidate{r.ID, minor})
	}
	if len(found) == 0 {
		return nil, nil
	}
	// The webhook's refunds[] says nothing about who moves the money
	// (id, reason and total only: class-wc-rest-orders-v2-controller.php,
	// get_formatted_item_data), so the refunds' own records are read: only
	// a refund the plugin marked for the sidecar is carried out here.
	by, err := a.refundsBy(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	id := strconv.FormatInt(o.ID, 10)
	var cmds []adapter.Command
	for _, r := range found {
		if by[r.id] != RefundBySidecar {
			continue
		}
		cmds = append(cmds, adapter.Command{
			Kind:           adapter.CommandRefund,
			IdempotencyKey: refundKeyPrefix + id + ":" + strconv.FormatInt(r.id, 10),
			Order:          adapter.Order{ID: id, Number: number(o)},
			Amount:         adapter.Money{Minor: r.minor, Currency: o.Currency},
			// Nothing of the delivery goes in: the host fingerprints the
			// whole command, so a later delivery must make the same bytes.
			Metadata: map[string]string{"wc_refund_id": strconv.FormatInt(r.id, 10)},
		})
	}
	return cmds, nil
}

// number is what the shopper sees, when it is not the id.
func number(o Order) string {
	if o.Number == strconv.FormatInt(o.ID, 10) {
		return ""
	}
	return o.Number
}

// isPing: a new or re-activated webhook first POSTs the form body
// "webhook_id=<id>" (class-wc-webhook.php, deliver_ping), unsigned. It may
// carry nothing else, so it can never become a command.
func isPing(req adapter.Request) bool {
	v, err := url.ParseQuery(string(req.Body))
	if err != nil || len(v) != 1 || len(v["webhook_id"]) != 1 {
		return false
	}
	n, err := strconv.ParseUint(v.Get("webhook_id"), 10, 63)
	return err == nil && n > 0
}

// Sign returns the X-WC-Webhook-Signature value of body, as WooCommerce
// computes it. Tests and the stand-in sign with it.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks h's X-WC-Webhook-Signature over body, in constant time.
// WooCommerce signs no timestamp, so there is no replay window: a replayed
// delivery is harmless because its commands carry the same idempotency keys.
func Verify(h http.Header, secret, body []byte) error {
	got, err := base64.StdEncoding.DecodeString(h.Get(HeaderSignature))
	if err != nil {
		return fmt.Errorf("%w: %s is not base64", adapter.ErrUnauthenticated, HeaderSignature)
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", adapter.ErrUnauthenticated, HeaderSignature)
	}
	return nil
}
