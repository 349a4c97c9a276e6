package woocommerce_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce/wcfake"
)

// One WooCommerce refund is never two Trustly refunds: the webhook carries
// out only the refunds the plugin stamped for the sidecar, never one the
// gateway's process_refund carries out, nor one paid back outside Trustly.
func TestOnlyRefundsStampedForTheSidecarBecomeTrustlyRefunds(t *testing.T) {
	for _, tc := range []struct {
		name string
		by   string // the plugin's stamp
		want bool   // a Trustly refund from the webhook
	}{
		{"recorded for the sidecar (webhook mode)", woocommerce.RefundBySidecar, true},
		{"the Refund via Trustly button: process_refund does it", woocommerce.RefundByGateway, false},
		{"Refund manually: the money went back outside Trustly", woocommerce.RefundByManual, false},
		{"no stamp: made while the plugin was not active", "", false},
		{"a stamp this adapter does not know", "someone-else", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shop := wcfake.New(t)
			id := shop.AddOrder("processing", 100000, "SEK")
			rid := shop.AddRefund(id, 25000, "damaged", tc.by)
			a := newAdapter(t, shop) // WebhookRefunds on: the stamp decides
			cmds, err := a.Translate(t.Context(), shop.Webhook(id))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(cmds) == 1; got != tc.want || len(cmds) > 1 {
				t.Fatalf("commands %+v, want a refund: %v", cmds, tc.want)
			}
			if tc.want && cmds[0].IdempotencyKey != "woocommerce:refund:"+itoa(id)+":"+itoa(rid) {
				t.Fatalf("key %s", cmds[0].IdempotencyKey)
			}
		})
	}
}

// The two paths on one order: the admin used the Trustly button once
// (process_refund sent it) and recorded a refund for the sidecar once. Each
// becomes exactly one Trustly refund: the webhook takes the second only.
func TestGatewayAndWebhookRefundsOnOneOrderAreEachDoneOnce(t *testing.T) {
	shop := wcfake.New(t)
	id := shop.AddOrder("processing", 100000, "SEK")
	shop.AddRefund(id, 10000, "by the button", woocommerce.RefundByGateway)
	recorded := shop.AddRefund(id, 5000, "recorded", woocommerce.RefundBySidecar)
	shop.AddRefund(id, 3000, "cash at the counter", woocommerce.RefundByManual)
	a := newAdapter(t, shop)
	for range 3 { // every later delivery lists every refund again
		cmds, err := a.Translate(t.Context(), shop.Webhook(id))
		if err != nil || len(cmds) != 1 || cmds[0].Amount.Minor != 5000 || cmds[0].Metadata["wc_refund_id"] != itoa(recorded) {
			t.Fatalf("%+v, %v; want the recorded refund only", cmds, err)
		}
	}
}

// When the refunds cannot be read, nothing is guessed: the delivery fails
// as the REST API's answer says (the host then answers and logs it).
func TestRefundsThatCannotBeReadMakeNoCommand(t *testing.T) {
	for _, tc := range []struct {
		code  int
		class adapter.Class
	}{{503, adapter.ClassRetryable}, {401, adapter.ClassPermanent}} {
		shop := wcfake.New(t)
		id := shop.AddOrder("processing", 100000, "SEK")
		shop.AdminRefund(id, 2500, "")
		a := newAdapter(t, shop)
		shop.FailNext(tc.code)
		cmds, err := a.Translate(t.Context(), shop.Webhook(id))
		if len(cmds) != 0 || adapter.Classify(err) != tc.class {
			t.Fatalf("%d: %+v, %v", tc.code, cmds, err)
		}
	}
}

// Refunds off, no REST read at all: a delivery never waits on the shop.
func TestWebhookRefundsOffReadsNothing(t *testing.T) {
	shop := wcfake.New(t)
	id := shop.AddOrder("processing", 100000, "SEK")
	shop.AdminRefund(id, 2500, "")
	a := newAdapter(t, shop, func(c *woocommerce.Config) { c.WebhookRefunds = false })
	if cmds, err := a.Translate(t.Context(), shop.Webhook(id)); err != nil || len(cmds) != 0 {
		t.Fatalf("%+v, %v", cmds, err)
	}
	if r := shop.Requests(); len(r) != 0 {
		t.Fatalf("REST requests %q", r)
	}
}

// A refund the sidecar could not carry out is written on its order, once,
// for the person who recorded it; one still running elsewhere, a refund
// that worked, and other commands are not.
func TestAFailedWebhookRefundIsNotedOnTheOrder(t *testing.T) {
	shop := wcfake.New(t)
	id := shop.AddOrder("processing", 100000, "SEK")
	other := shop.AddOrder("processing", 100000, "SEK")
	a := newAdapter(t, shop)
	key := func(order, refund int64) string { return "woocommerce:refund:" + itoa(order) + ":" + itoa(refund) }
	results := []adapter.Result{
		{IdempotencyKey: key(id, 2001), ErrorCode: "refund_exceeds_credited", Message: "more than was paid"},
		{IdempotencyKey: key(id, 2002), OK: true, ProviderReference: "4567000001"},
		{IdempotencyKey: key(other, 2003), ErrorCode: "idempotency_key_in_use", Message: "in flight"},
		{IdempotencyKey: "woocommerce:pay:" + itoa(other), ErrorCode: "invalid_request", Message: "x"},
	}
	for range 2 { // a later delivery fails the same way: still one note
		_, err := a.Answer(t.Context(), adapter.Request{}, results)
		if !errors.Is(err, adapter.ErrUnsupported) {
			t.Fatalf("Answer: %v; want ErrUnsupported (the host answers)", err)
		}
	}
	notes := shop.Notes(id)
	if len(notes) != 1 || !strings.Contains(notes[0], "refund #2001 was NOT paid back") || !strings.Contains(notes[0], "more than was paid") ||
		!strings.Contains(notes[0], "[trustly-sidecar refund-failed 2001 refund_exceeds_credited]") {
		t.Fatalf("notes %q", notes)
	}
	// A refund that may still happen never tells the admin to refund again.
	for _, tc := range []struct{ code, want string }{
		{"unavailable", "not sent to Trustly yet"},
		{"idempotency_key_interrupted", "may or may not have reached Trustly"},
	} {
		order := shop.AddOrder("processing", 100000, "SEK")
		if _, err := a.Answer(t.Context(), adapter.Request{}, []adapter.Result{{IdempotencyKey: key(order, 2005), ErrorCode: tc.code, Message: "m"}}); !errors.Is(err, adapter.ErrUnsupported) {
			t.Fatal(err)
		}
		n := shop.Notes(order)
		if len(n) != 1 || !strings.Contains(n[0], tc.want) || strings.Contains(n[0], "refund again,") {
			t.Errorf("%s: notes %q", tc.code, n)
		}
	}
	if n := shop.Notes(other); len(n) != 0 {
		t.Fatalf("notes on the other order %q", n)
	}
	// The shop down while noting: the answer is still the host's.
	shop.FailNext(503)
	if _, err := a.Answer(t.Context(), adapter.Request{}, []adapter.Result{{IdempotencyKey: key(other, 2004), ErrorCode: "unavailable"}}); !errors.Is(err, adapter.ErrUnsupported) {
		t.Fatalf("Answer with the shop down: %v", err)
	}
}
