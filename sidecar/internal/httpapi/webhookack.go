package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// The answer to an asynchronous platform whose webhook carried commands.
// The status exists for the platform's sender, so it should say what the
// sender can do about it:
//
//	platform resends on non-2xx   a failed command  → its own status (the
//	(or unknown: the default)                          resend may succeed)
//	platform never resends        a failed command  → 200, the failure in
//	(WooCommerce)                                      the body, logged and
//	                                                   counted for a person
//
// WooCommerce does not resend a failed delivery, and after more than 5
// non-2xx answers in a row it disables the webhook (class-wc-webhook.php,
// log_delivery and failed_delivery; woocommerce_max_webhook_delivery_failures):
// an error status there recovers nothing and costs every later delivery,
// refunds included. So a failed command is acknowledged, and what keeps it
// from being lost is this side: the failure is logged (ERROR when it did
// not run or its outcome is unknown, WARN when it was refused, with what
// happens next) with its idempotency key, platform order and request id; counted as outcome "failed_acknowledged" of
// trustly_sidecar_webhooks_total; kept under its idempotency key, so a later
// delivery gets the same answer; and shown to the adapter's Answer, which may
// tell the platform's people (the WooCommerce adapter writes an order note).
// A request the adapter could not even verify or read (Translate's errors)
// is answered as before, by platformWebhook.

// webhookFailedAcknowledged is the metric outcome of a webhook answered 2xx
// although a command failed (the platform would not resend it).
const webhookFailedAcknowledged = "failed_acknowledged"

// answerAsync writes the JSON summary an asynchronous platform gets and
// returns the metric outcome. first is the first failed result, or nil.
func (h *Webhooks) answerAsync(w http.ResponseWriter, r *http.Request, desc adapter.Description,
	results []shopapi.WebhookResult, first *shopapi.WebhookResult, outcome string) string {
	ans := shopapi.WebhookAnswer{Platform: desc.Name, Results: results}
	status := http.StatusOK
	if first != nil {
		ans.Error = first.Error
		if desc.Redelivery == adapter.RedeliveryNever {
			h.logAcknowledged(r.Context(), desc.Name, results)
			outcome = webhookFailedAcknowledged
		} else {
			status = first.Status
		}
	}
	encode(w, status, ans)
	return outcome
}

// acknowledgedNext says, by the failed command's error code, how bad it is
// and what happens next; any other code is refused for good (WARN: a person
// must act), any other 5xx ERROR with an unknown outcome.
var acknowledgedNext = map[string]struct {
	level slog.Level
	next  string
}{
	// Not run (Redis down): the key was not claimed.
	"unavailable": {slog.LevelError, "not run: the platform's next delivery of this order runs it"},
	// Another delivery of the same order runs it right now.
	"idempotency_key_in_use": {slog.LevelInfo, "another delivery is running it"},
	// Cut off earlier: never run again by itself.
	"idempotency_key_interrupted": {slog.LevelError, "outcome unknown: a person must check the order before doing it again"},
}

// logAcknowledged logs each failed command of a webhook answered 2xx: the
// platform will not send it again, so this line is where a person finds it.
func (h *Webhooks) logAcknowledged(ctx context.Context, platform string, results []shopapi.WebhookResult) {
	for _, res := range results {
		if res.OK {
			continue
		}
		level, next := slog.LevelWarn, "refused: a person must act (the platform's order, or the shop API)"
		if res.Status == 0 || res.Status >= 500 {
			level, next = slog.LevelError, "failed: a person must check the order before doing it again"
		}
		attrs := []any{"platform", platform, "kind", res.Kind, "key", res.IdempotencyKey, "platform_order", res.PlatformOrder, "status", res.Status}
		if res.Error != nil {
			if n, ok := acknowledgedNext[res.Error.Code]; ok {
				level, next = n.level, n.next
			}
			attrs = append(attrs, "code", res.Error.Code, "err", res.Error.Message)
		}
		h.log.Log(ctx, level, "platform webhook command failed; answered 200, the platform does not resend", append(attrs, "next", next)...)
	}
}

// acknowledgeTranslateError answers 200 (and reports true) when a platform
// that never resends sent a request the adapter verified but could not turn
// into commands for a reason on either side of it (its platform down or
// refusing, the plugin restarting): an error status would lose nothing less
// and count toward the platform giving up on the webhook. A signature or
// body the adapter refused is still answered as such: that is the sender's
// to fix.
func (h *Webhooks) acknowledgeTranslateError(w http.ResponseWriter, r *http.Request, desc adapter.Description, err error) bool {
	if desc.Redelivery != adapter.RedeliveryNever {
		return false
	}
	switch adapter.Classify(err) {
	case adapter.ClassUnauthenticated, adapter.ClassInvalid, adapter.ClassUnsupported:
		return false
	}
	_, code, msg := errorAnswer(err)
	h.log.ErrorContext(r.Context(), "platform webhook not translated; answered 200, the platform does not resend",
		"platform", desc.Name, "code", code, "err", err, "next", "not run: a person must look at the platform's event")
	encode(w, http.StatusOK, shopapi.WebhookAnswer{Platform: desc.Name, Results: []shopapi.WebhookResult{},
		Error: &shopapi.ErrorDetail{Code: code, Message: msg, RequestID: RequestID(r.Context())}})
	return true
}
