package generic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Callback is the body POSTed to the shop's callback URL (README.md).
type Callback struct {
	ChangeID          string `json:"change_id"`
	OrderID           string `json:"order_id"`
	OrderNumber       string `json:"order_number,omitempty"`
	Status            string `json:"status"`
	AmountMinor       int64  `json:"amount_minor"`
	Currency          string `json:"currency"`
	ProviderReference string `json:"provider_reference,omitempty"`
	Message           string `json:"message,omitempty"`
	OccurredAt        string `json:"occurred_at,omitempty"` // RFC 3339
}

// HeaderIdempotencyKey carries the change id, so a shop can dedupe a
// redelivered callback without parsing the body.
const HeaderIdempotencyKey = "Idempotency-Key"

// ApplyStatus POSTs the change to the callback URL and classifies the
// answer: 2xx done; 408, 429, 5xx and network failures retryable; any other
// status permanent.
func (a *Adapter) ApplyStatus(ctx context.Context, ch adapter.StatusChange) error {
	if ch.ID == "" || ch.Order.ID == "" || ch.Status == "" {
		return fmt.Errorf("%w: a status change needs an id, an order id and a status", adapter.ErrPermanent)
	}
	cb := Callback{
		ChangeID: ch.ID, OrderID: ch.Order.ID, OrderNumber: ch.Order.Number, Status: string(ch.Status),
		AmountMinor: ch.Amount.Minor, Currency: ch.Amount.Currency,
		ProviderReference: ch.ProviderReference, Message: ch.Message,
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
	SignRequest(req.Header, a.cfg.CallbackSecret, a.cfg.Now(), body)

	code, snippet, err := adapter.Deliver(a.cfg.HTTPClient, req)
	if err != nil {
		return fmt.Errorf("callback %s: %w", ch.ID, err)
	}
	return classify(code, ch.ID, snippet)
}

// classify is the one table from the shop's HTTP status to the outcome.
func classify(code int, id string, body []byte) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return fmt.Errorf("%w: callback %s: shop answered %d: %s", adapter.ErrRetryable, id, code, bytes.TrimSpace(body))
	default:
		return fmt.Errorf("%w: callback %s: shop answered %d: %s", adapter.ErrPermanent, id, code, bytes.TrimSpace(body))
	}
}
