package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// syncShop is the adapter. It keeps no state between calls: the host may
// restart it at any moment and resend what was in flight.
type syncShop struct {
	secret   []byte // signs SyncShop's requests to us
	apiURL   string // SyncShop's REST API
	apiToken string
	http     *http.Client
	// within is SyncShop's timeout for our answer (0: it waits); public:
	// SyncShop calls from outside the pod.
	within time.Duration
	public bool
}

var _ adapter.Adapter = (*syncShop)(nil)

func fromEnv(getenv func(string) string) (*syncShop, error) {
	s := &syncShop{
		secret: []byte(getenv("SYNCSHOP_SECRET")), apiURL: strings.TrimSuffix(getenv("SYNCSHOP_API_URL"), "/"),
		apiToken: getenv("SYNCSHOP_API_TOKEN"), http: &http.Client{},
	}
	if len(s.secret) < 16 || s.apiURL == "" || s.apiToken == "" {
		return nil, errors.New("set SYNCSHOP_SECRET (16+ bytes), SYNCSHOP_API_URL and SYNCSHOP_API_TOKEN")
	}
	if v := getenv("SYNCSHOP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("SYNCSHOP_TIMEOUT %q: want a positive duration such as 2s", v)
		}
		s.within = d
	}
	s.public = getenv("SYNCSHOP_PUBLIC") == "true"
	return s, nil
}

func (s *syncShop) Describe(context.Context) (adapter.Description, error) {
	return adapter.Description{Name: "syncshop", Version: "0.1.0", Flows: []adapter.Flow{adapter.FlowPayment}, Sync: true,
		AnswerWithin: s.within, Public: s.public}, nil
}

// request is what SyncShop POSTs and waits on.
type request struct {
	RequestID string `json:"request_id"`
	Action    string `json:"action"`
	Order     struct {
		ID          string `json:"id"`
		AmountMinor int64  `json:"amount_minor"`
		Currency    string `json:"currency"`
	} `json:"order"`
	Customer struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		FirstName string `json:"first_name"` // Trustly requires the payer's name
		LastName  string `json:"last_name"`
		Country   string `json:"country"`
	} `json:"customer"`
}

const signatureHeader = "X-Syncshop-Signature" // base64(HMAC-SHA256(secret, raw body))

func (s *syncShop) Translate(_ context.Context, req adapter.Request) ([]adapter.Command, error) {
	// Authenticate the raw bytes before reading a single field.
	got, err := base64.StdEncoding.DecodeString(req.Header.Get(signatureHeader))
	if err != nil || len(got) == 0 {
		return nil, fmt.Errorf("%w: missing or malformed %s", adapter.ErrUnauthenticated, signatureHeader)
	}
	m := hmac.New(sha256.New, s.secret)
	m.Write(req.Body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return nil, fmt.Errorf("%w: %s does not match the body", adapter.ErrUnauthenticated, signatureHeader)
	}
	var r request
	if err := json.Unmarshal(req.Body, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", adapter.ErrInvalid, err)
	}
	if r.RequestID == "" || r.Action != "pay" || r.Order.ID == "" || r.Order.AmountMinor <= 0 || len(r.Order.Currency) != 3 {
		return nil, fmt.Errorf("%w: want request_id, action \"pay\", order id, positive amount_minor and currency", adapter.ErrInvalid)
	}
	return []adapter.Command{{
		Kind:           adapter.CommandPay,
		IdempotencyKey: "syncshop:" + r.RequestID, // SyncShop resends a timed-out request with the same id
		Order:          adapter.Order{ID: r.Order.ID},
		Amount:         adapter.Money{Minor: r.Order.AmountMinor, Currency: r.Order.Currency},
		Customer: adapter.Customer{ID: r.Customer.ID, Email: r.Customer.Email,
			FirstName: r.Customer.FirstName, LastName: r.Customer.LastName, Country: r.Customer.Country},
	}}, nil
}

// Answer shapes the reply SyncShop is waiting for.
func (s *syncShop) Answer(_ context.Context, _ adapter.Request, results []adapter.Result) (adapter.Response, error) {
	if len(results) != 1 {
		return adapter.Response{}, fmt.Errorf("%w: want the result of exactly one command, got %d", adapter.ErrInvalid, len(results))
	}
	r := results[0]
	reply := map[string]string{"result": "ACTION_REQUIRED", "redirect_url": r.RedirectURL, "psp_reference": r.ProviderReference}
	switch {
	case r.Pending:
		// Not done by SyncShop's deadline: SyncShop asks again with the
		// same request_id, and gets the outcome then.
		reply = map[string]string{"result": "PENDING"}
	case !r.OK:
		reply = map[string]string{"result": "FAILURE", "message": r.Message, "code": r.ErrorCode}
	}
	body, err := json.Marshal(reply)
	if err != nil {
		return adapter.Response{}, err
	}
	return adapter.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}, nil
}

// ApplyStatus reports a payment event to SyncShop's REST API. SyncShop
// answers 409 to an event id it already has: that is success.
func (s *syncShop) ApplyStatus(ctx context.Context, ch adapter.StatusChange) error {
	body, err := json.Marshal(map[string]any{"event_id": ch.ID, "status": ch.Status, "psp_reference": ch.ProviderReference})
	if err != nil {
		return fmt.Errorf("%w: %w", adapter.ErrPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.apiURL+"/orders/"+url.PathEscape(ch.Order.ID)+"/payment-events", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", adapter.ErrPermanent, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", adapter.ErrRetryable, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c < 300, c == http.StatusConflict:
		return nil
	case c == http.StatusTooManyRequests, c >= 500:
		return fmt.Errorf("%w: SyncShop answered %d", adapter.ErrRetryable, c)
	default:
		return fmt.Errorf("%w: SyncShop answered %d", adapter.ErrPermanent, c)
	}
}
