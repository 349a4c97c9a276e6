package httpapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// The asynchronous answer, platform by platform: a platform that resends
// gets the failure's status; one that never does (WooCommerce) gets 200 with
// the failure in the body, and the failure is logged for a person.
func TestAsyncAnswerFollowsWhatThePlatformDoesWithErrors(t *testing.T) {
	refused := shopapi.WebhookResult{Kind: "refund", IdempotencyKey: "woocommerce:refund:1001:2001", PlatformOrder: "1001", Status: http.StatusConflict,
		Error: &shopapi.ErrorDetail{Code: "amount_exceeds_refundable", Message: "at most 53.50 SEK can be refunded"}}
	down := shopapi.WebhookResult{Kind: "refund", IdempotencyKey: "woocommerce:refund:1001:2002", PlatformOrder: "1001", Status: http.StatusServiceUnavailable,
		Error: &shopapi.ErrorDetail{Code: "unavailable", Message: "a dependency (Redis) is unavailable; retry later"}}
	cutOff := shopapi.WebhookResult{Kind: "refund", IdempotencyKey: "woocommerce:refund:1001:2003", PlatformOrder: "1001", Status: http.StatusConflict,
		Error: &shopapi.ErrorDetail{Code: "idempotency_key_interrupted", Message: "an earlier request with this Idempotency-Key was cut off"}}
	done := shopapi.WebhookResult{Kind: "refund", IdempotencyKey: "woocommerce:refund:1001:2000", OK: true, Status: http.StatusCreated}
	for _, tc := range []struct {
		name        string
		redelivery  adapter.Redelivery
		results     []shopapi.WebhookResult
		wantStatus  int
		wantOutcome string
		wantLog     []string // each a line's distinctive text; none when empty
	}{
		{"all done", adapter.RedeliveryNever, []shopapi.WebhookResult{done}, 200, webhookOK, nil},
		{"a platform that resends gets the failure", adapter.RedeliveryOnError, []shopapi.WebhookResult{done, refused}, 409, webhookFailed, nil},
		{"an undeclared platform is assumed to resend", adapter.RedeliveryUnknown, []shopapi.WebhookResult{done, refused}, 409, webhookFailed, nil},
		{"WooCommerce: a refusal is acknowledged and logged", adapter.RedeliveryNever, []shopapi.WebhookResult{done, refused}, 200, webhookFailedAcknowledged,
			[]string{"level=WARN", "key=woocommerce:refund:1001:2001", "platform_order=1001", "code=amount_exceeds_refundable", "a person must act"}},
		{"WooCommerce: a store outage is acknowledged and logged as an error", adapter.RedeliveryNever, []shopapi.WebhookResult{down, refused}, 200, webhookFailedAcknowledged,
			[]string{"level=ERROR", "key=woocommerce:refund:1001:2002", "status=503", "next delivery of this order runs it"}},
		{"WooCommerce: an unknown outcome is an error for a person", adapter.RedeliveryNever, []shopapi.WebhookResult{done, cutOff}, 200, webhookFailedAcknowledged,
			[]string{"level=ERROR", "key=woocommerce:refund:1001:2003", "outcome unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			h := &Webhooks{log: slog.New(slog.NewTextHandler(&logs, nil))}
			var first *shopapi.WebhookResult
			for i := range tc.results {
				if !tc.results[i].OK {
					first = &tc.results[i]
					break
				}
			}
			outcome := webhookOK
			if first != nil {
				outcome = webhookFailed
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/shop", nil)
			got := h.answerAsync(w, r, adapter.Description{Name: "shop", Async: true, Redelivery: tc.redelivery}, tc.results, first, outcome)
			if w.Code != tc.wantStatus || got != tc.wantOutcome {
				t.Fatalf("status %d, outcome %s; want %d, %s", w.Code, got, tc.wantStatus, tc.wantOutcome)
			}
			var ans shopapi.WebhookAnswer
			if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil || len(ans.Results) != len(tc.results) || (first != nil) != (ans.Error != nil) {
				t.Fatalf("body %s (%v)", w.Body, err)
			}
			if first != nil && ans.Error.Code != first.Error.Code {
				t.Fatalf("the body's error %+v, want the first failure's", ans.Error)
			}
			if tc.wantLog == nil && logs.Len() != 0 {
				t.Fatalf("logged %s", logs.String())
			}
			if tc.wantLog != nil {
				line := strings.Split(logs.String(), "\n")[0]
				for _, want := range tc.wantLog {
					if !strings.Contains(line, want) {
						t.Errorf("log %q lacks %q", line, want)
					}
				}
				failed := 0
				for _, r := range tc.results {
					if !r.OK {
						failed++
					}
				}
				if n := strings.Count(logs.String(), "answered 200"); n != failed {
					t.Errorf("%d log lines for the failures:\n%s", n, logs.String())
				}
			}
		})
	}
}

// A request the adapter verified but could not translate, for its
// platform's sake (down, refusing) or its own (restarting): acknowledged to
// a platform that never resends, answered with its status otherwise; a
// refused signature or body is always the sender's to fix.
func TestTranslateErrorsOfAPlatformThatNeverResends(t *testing.T) {
	for _, tc := range []struct {
		name       string
		redelivery adapter.Redelivery
		err        error
		wantAck    bool
		wantCode   string
	}{
		{"its platform down", adapter.RedeliveryNever, fmt.Errorf("%w: GET refunds: 503", adapter.ErrRetryable), true, "adapter_unavailable"},
		{"its platform refusing", adapter.RedeliveryNever, fmt.Errorf("%w: GET refunds: 404", adapter.ErrPermanent), true, "platform_refused"},
		{"the plugin restarting", adapter.RedeliveryNever, adapter.ErrPluginDead, true, "adapter_unavailable"},
		{"a bad signature", adapter.RedeliveryNever, adapter.ErrUnauthenticated, false, ""},
		{"a malformed body", adapter.RedeliveryNever, adapter.ErrInvalid, false, ""},
		{"a platform that resends", adapter.RedeliveryOnError, adapter.ErrRetryable, false, ""},
		{"an undeclared platform", adapter.RedeliveryUnknown, adapter.ErrPermanent, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			h := &Webhooks{log: slog.New(slog.NewTextHandler(&logs, nil))}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/shop", nil)
			got := h.acknowledgeTranslateError(w, r, adapter.Description{Name: "shop", Async: true, Redelivery: tc.redelivery}, fmt.Errorf("translate: %w", tc.err))
			if got != tc.wantAck {
				t.Fatalf("acknowledged = %v, want %v", got, tc.wantAck)
			}
			if !tc.wantAck {
				if w.Body.Len() != 0 || logs.Len() != 0 {
					t.Errorf("wrote %q, logged %q; want nothing (the caller answers)", w.Body, logs.String())
				}
				return
			}
			var ans shopapi.WebhookAnswer
			if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil || w.Code != http.StatusOK || ans.Error == nil || ans.Error.Code != tc.wantCode {
				t.Fatalf("%d %s (%v); want 200 with code %s", w.Code, w.Body, err, tc.wantCode)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "code="+tc.wantCode) {
				t.Errorf("log %q lacks the error line", logs.String())
			}
		})
	}
}
