package saleorfake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// Checkout is the buyer side of a payload's sourceObject.
type Checkout struct {
	ID        string
	Email     string
	UserID    string // empty for a guest
	FirstName string
	LastName  string
	Country   string
}

func (c Checkout) json() map[string]any {
	var user any
	if c.UserID != "" {
		user = map[string]any{"id": c.UserID, "email": c.Email, "firstName": c.FirstName, "lastName": c.LastName}
	}
	return map[string]any{
		"__typename": "Checkout", "id": c.ID, "email": c.Email, "user": user,
		"billingAddress": map[string]any{"firstName": c.FirstName, "lastName": c.LastName, "phone": "",
			"country": map[string]any{"code": c.Country}},
		"shippingAddress": map[string]any{"postalCode": "11122", "city": "Stockholm", "streetAddress1": "Drottninggatan 1",
			"streetAddress2": "", "country": map[string]any{"code": c.Country}},
	}
}

// The payloads below are what Saleor sends for the manifest's subscription
// queries (platforms/saleor/events.go): the "event" object, with the
// selected fields only. Amounts are JSON numbers, as Saleor's JSON
// serializes Decimal.

// InitializeSession is TRANSACTION_INITIALIZE_SESSION's body.
func (s *Saleor) InitializeSession(txID string, c Checkout, amount, currency, key string, at time.Time) []byte {
	return mustJSON(map[string]any{
		"__typename": "TransactionInitializeSession", "issuedAt": at.UTC().Format(time.RFC3339Nano),
		"idempotencyKey": key, "merchantReference": txID, "customerIpAddress": "192.0.2.10", "data": nil,
		"action":      map[string]any{"amount": json.Number(amount), "currency": currency, "actionType": "CHARGE"},
		"transaction": s.TransactionJSON(txID), "sourceObject": c.json(),
	})
}

// ProcessSession is TRANSACTION_PROCESS_SESSION's body.
func (s *Saleor) ProcessSession(txID string, c Checkout, amount, currency string, at time.Time) []byte {
	return mustJSON(map[string]any{
		"__typename": "TransactionProcessSession", "issuedAt": at.UTC().Format(time.RFC3339Nano),
		"merchantReference": txID, "customerIpAddress": "192.0.2.10", "data": nil,
		"action":      map[string]any{"amount": json.Number(amount), "currency": currency, "actionType": "CHARGE"},
		"transaction": s.TransactionJSON(txID), "sourceObject": c.json(),
	})
}

// ActionRequested is a TRANSACTION_{CHARGE,REFUND,CANCELATION}_REQUESTED
// body; typeName is its __typename, actionType CHARGE, REFUND or CANCEL.
func (s *Saleor) ActionRequested(typeName, actionType, txID, amount, currency string, at time.Time) []byte {
	return mustJSON(map[string]any{
		"__typename": typeName, "issuedAt": at.UTC().Format(time.RFC3339Nano),
		"action":      map[string]any{"amount": json.Number(amount), "currency": currency, "actionType": actionType},
		"transaction": s.TransactionJSON(txID),
	})
}

// GatewayInitialize is PAYMENT_GATEWAY_INITIALIZE_SESSION's body.
func GatewayInitialize(amount string, at time.Time) []byte {
	return mustJSON(map[string]any{"__typename": "PaymentGatewayInitializeSession", "issuedAt": at.UTC().Format(time.RFC3339Nano),
		"amount": json.Number(amount), "data": nil})
}

// Deliver POSTs a signed webhook to url and returns the app's answer, as
// Saleor's synchronous transport does (one POST, JSON back).
func (s *Saleor) Deliver(ctx context.Context, url, event string, body []byte) (int, []byte, error) {
	return Post(ctx, url, s.Headers(event, body), body)
}

// Post sends body with the given headers: for forged and tampered requests.
func Post(ctx context.Context, url string, h http.Header, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
