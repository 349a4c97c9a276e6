package vendure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Callback is the body POSTed to the Vendure plugin's controller
// (README.md). Money is in minor units, as Vendure keeps it.
type Callback struct {
	ChangeID string `json:"change_id"`
	// PaymentID is the sidecar's payment, which the plugin stored as the
	// Vendure Payment's transactionId.
	PaymentID string `json:"payment_id"`
	// RefundID is the sidecar's refund for refund-* statuses (the Vendure
	// Refund's transactionId), empty otherwise.
	RefundID          string `json:"refund_id,omitempty"`
	Status            string `json:"status"`
	AmountMinor       int64  `json:"amount_minor"`
	Currency          string `json:"currency"`
	ProviderReference string `json:"provider_reference,omitempty"`
	Message           string `json:"message,omitempty"`
	OccurredAt        string `json:"occurred_at,omitempty"` // RFC 3339
}

// HeaderIdempotencyKey carries the change id, so the plugin can dedupe a
// redelivery without parsing the body.
const HeaderIdempotencyKey = "Idempotency-Key"

var refundStatuses = map[adapter.PaymentStatus]bool{
	adapter.StatusRefundPending: true, adapter.StatusRefunded: true, adapter.StatusRefundFailed: true,
}

// ApplyStatus POSTs the change to the plugin's controller and classifies
// the answer (classify).
func (a *Adapter) ApplyStatus(ctx context.Context, ch adapter.StatusChange) error {
	if ch.ID == "" || ch.Order.ID == "" || ch.Status == "" {
		return fmt.Errorf("%w: a status change needs an id, an order id and a status", adapter.ErrPermanent)
	}
	cb := Callback{
		ChangeID: ch.ID, PaymentID: ch.Order.ID, Status: string(ch.Status),
		AmountMinor: ch.Amount.Minor, Currency: ch.Amount.Currency,
		ProviderReference: ch.ProviderReference, Message: ch.Message,
	}
	if refundStatuses[ch.Status] {
		// A refund's change is about the paid order (Order.ID) and names
		// the refund itself in its ID, "<refund id>:<seq>" (adapter docs).
		id, _, ok := cutLast(ch.ID, ":")
		if !ok || id == "" {
			return fmt.Errorf("%w: refund change %q does not name its refund", adapter.ErrPermanent, ch.ID)
		}
		cb.RefundID = id
	}
	if !ch.OccurredAt.IsZero() {
		cb.OccurredAt = ch.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	body, err := json.Marshal(cb)
	if err != nil {
		return fmt.Errorf("%w: encode callback: %w", adapter.ErrPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: build callback request: %w", adapter.ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, ch.ID)
	SignRequest(req.Header, a.cfg.Secret, DirectionCallback, a.cfg.Now(), body)

	code, snippet, err := adapter.Deliver(a.cfg.HTTPClient, req)
	if err != nil {
		return fmt.Errorf("callback %s: %w", ch.ID, err)
	}
	return classify(code, ch.ID, snippet)
}

// classify is the one table from the controller's HTTP status to the
// outcome: 2xx done; 408, 409 (a concurrent write to the same order), 429
// and 5xx retryable; anything else permanent: 401 (the secrets differ), 400
// (malformed), 404 (no Vendure payment has this transactionId: another
// shop's payment, or a deleted order) and 422 (a transition Vendure
// refuses) will not change by retrying, so a person looks at them.
func classify(code int, id string, body []byte) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout, code == http.StatusConflict,
		code == http.StatusTooManyRequests, code >= 500:
		return fmt.Errorf("%w: callback %s: Vendure answered %d: %s", adapter.ErrRetryable, id, code, bytes.TrimSpace(body))
	default:
		return fmt.Errorf("%w: callback %s: Vendure answered %d: %s", adapter.ErrPermanent, id, code, bytes.TrimSpace(body))
	}
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
