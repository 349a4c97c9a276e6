package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/gorilla/mux"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// The shop API (/v1). Money is always an integer number of minor units
// (`amount`, öre or cents) with an ISO 4217 `currency`; there are no floats
// and no decimal strings anywhere in it.

// shopEngine is what the shop API needs of core/engine.
type shopEngine interface {
	CreatePayment(ctx context.Context, r engine.PaymentRequest) (engine.Order, error)
	GetPayment(ctx context.Context, id string) (engine.Order, error)
	FindPayments(ctx context.Context, q engine.PaymentQuery) ([]engine.Order, error)
	Refund(ctx context.Context, r engine.RefundRequest) (engine.Order, error)
	CreateMandate(ctx context.Context, r engine.MandateRequest) (engine.Order, error)
	CreateCharge(ctx context.Context, r engine.ChargeRequest) (engine.Order, error)
	CancelCharge(ctx context.Context, id string) (engine.Order, error)
	Balance(ctx context.Context) (engine.Balances, error)
}

var _ shopEngine = (*engine.Engine)(nil)

// v1API serves /v1. A nil *v1API answers every operation 501.
type v1API struct {
	log    *slog.Logger
	m      *Metrics
	engine shopEngine
	idem   store.Idempotency
	hooks  *webhooks // nil: no adapter, platform webhooks are 404
	links  *payLinks // nil: POST /v1/paylinks answers 501
}

// idempotencyScope is the one scope of shop API keys: a key reused on
// another operation is a reuse with other parameters (422).
const idempotencyScope = "v1"

// replayedHeader marks an answer replayed from the idempotency store.
const replayedHeader = "Idempotent-Replayed"

// Errors of the shop API's own validation.
var (
	errIdempotencyKeyRequired = &httpError{http.StatusBadRequest, "idempotency_key_required", "this operation requires an Idempotency-Key header"}
)

func invalid(format string, a ...any) error {
	return &httpError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, a...)}
}

// ---- JSON of the API ----

// Shopper is who pays; endUserId is stable per shopper (a hash for guests).
type Shopper struct {
	EndUserID                    string `json:"endUserId"`
	FirstName                    string `json:"firstName,omitempty"`
	LastName                     string `json:"lastName,omitempty"`
	Email                        string `json:"email,omitempty"`
	Country                      string `json:"country,omitempty"`
	Locale                       string `json:"locale,omitempty"`
	MobilePhone                  string `json:"mobilePhone,omitempty"`
	NationalIdentificationNumber string `json:"nationalIdentificationNumber,omitempty"`
	IP                           string `json:"ip,omitempty"`
}

// CreatePaymentRequest starts a Deposit; externalReference makes it an
// invoice payment, searchable by the invoice id.
type CreatePaymentRequest struct {
	Amount             int64   `json:"amount"`
	SuggestedMinAmount int64   `json:"suggestedMinAmount,omitempty"`
	SuggestedMaxAmount int64   `json:"suggestedMaxAmount,omitempty"`
	Currency           string  `json:"currency"`
	Shopper            Shopper `json:"shopper"`
	SuccessURL         string  `json:"successUrl"`
	FailURL            string  `json:"failUrl"`
	ShopperStatement   string  `json:"shopperStatement,omitempty"`
	ExternalReference  string  `json:"externalReference,omitempty"`
	NoExpress          bool    `json:"noExpress,omitempty"`
	// URLTarget is the frame SuccessURL/FailURL load in when the checkout
	// is shown in an iframe (e.g. "_top"); see Trustly's presentation guide.
	URLTarget string `json:"urlTarget,omitempty"`
}

// CreateRefundRequest refunds amount, or everything refundable when 0.
type CreateRefundRequest struct {
	Amount            int64  `json:"amount,omitempty"`
	Currency          string `json:"currency,omitempty"`
	ExternalReference string `json:"externalReference,omitempty"`
	IgnoreBalance     bool   `json:"ignoreBalance,omitempty"`
}

// CreateMandateRequest asks the shopper for a direct debit mandate.
type CreateMandateRequest struct {
	Shopper    Shopper `json:"shopper"`
	SuccessURL string  `json:"successUrl"`
	FailURL    string  `json:"failUrl"`
}

// CreateChargeRequest charges the shopper's account with an active mandate.
type CreateChargeRequest struct {
	EndUserID         string `json:"endUserId"`
	Amount            int64  `json:"amount"`
	Currency          string `json:"currency"`
	PaymentDate       string `json:"paymentDate,omitempty"`
	ShopperStatement  string `json:"shopperStatement,omitempty"`
	Email             string `json:"email,omitempty"`
	ExternalReference string `json:"externalReference,omitempty"`
}

// Order is every answer about an order of any flow (deposit, mandate,
// charge, refund). Amounts are minor units.
type Order struct {
	ID                string    `json:"id"`
	Flow              string    `json:"flow"`
	State             string    `json:"state"`
	Amount            int64     `json:"amount"`
	MinAmount         int64     `json:"minAmount,omitempty"`
	MaxAmount         int64     `json:"maxAmount,omitempty"`
	Currency          string    `json:"currency,omitempty"`
	Credited          int64     `json:"credited"`
	Refunded          int64     `json:"refunded"`
	Refundable        int64     `json:"refundable"`
	EndUserID         string    `json:"endUserId"`
	ExternalReference string    `json:"externalReference,omitempty"`
	MessageID         string    `json:"messageId,omitempty"`
	TrustlyOrderID    string    `json:"trustlyOrderId,omitempty"`
	URL               string    `json:"url,omitempty"`
	PaymentDate       string    `json:"paymentDate,omitempty"`
	PaymentID         string    `json:"paymentId,omitempty"`
	Refunds           []string  `json:"refunds,omitempty"`
	Attention         string    `json:"attention,omitempty"`
	Reason            string    `json:"reason,omitempty"`
	Created           time.Time `json:"created"`
	Updated           time.Time `json:"updated"`
}

// OrderList is the answer of a search.
type OrderList struct {
	Orders []Order `json:"orders"`
}

// Balance is one currency's balance at Trustly.
type Balance struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

// BalanceList is the last known balance; at is when it was fetched.
type BalanceList struct {
	Balances []Balance `json:"balances"`
	At       time.Time `json:"at,omitzero"`
}

func orderOf(o engine.Order) Order {
	return Order{
		ID: o.ID, Flow: string(o.Flow), State: string(o.State), Amount: o.Amount, MinAmount: o.MinAmount, MaxAmount: o.MaxAmount,
		Currency: o.Currency, Credited: o.Credited, Refunded: o.Refunded, Refundable: o.Refundable, EndUserID: o.EndUserID,
		ExternalReference: o.ExternalReference, MessageID: o.MessageID, TrustlyOrderID: o.TrustlyOrderID, URL: o.URL,
		PaymentDate: o.PaymentDate, PaymentID: o.Parent, Refunds: o.Refunds, Attention: o.Attention, Reason: o.Reason,
		Created: o.Created, Updated: o.Updated,
	}
}

// ---- validation ----

var (
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
	countryRe  = regexp.MustCompile(`^[A-Z]{2}$`)
	localeRe   = regexp.MustCompile(`^[a-z]{2}_[A-Z]{2}$`)
	dateRe     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// maxField bounds free-text fields; Trustly's own limits are lower for most.
const maxField = 512

func checkCurrency(c string) error {
	if !currencyRe.MatchString(c) {
		return invalid("currency %q is not an ISO 4217 code like SEK", c)
	}
	return nil
}

func checkURLField(name, v string) error {
	u, err := url.Parse(v)
	if v == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid("%s must be an absolute http(s) URL", name)
	}
	return nil
}

func (s Shopper) check() error {
	switch {
	case s.EndUserID == "" || len(s.EndUserID) > maxField:
		return invalid("shopper.endUserId is required (at most %d characters)", maxField)
	case s.FirstName == "" || s.LastName == "":
		return invalid("shopper.firstName and shopper.lastName are required")
	case !countryRe.MatchString(s.Country):
		return invalid("shopper.country %q must be an ISO 3166-1 alpha-2 code like SE", s.Country)
	case !localeRe.MatchString(s.Locale):
		return invalid("shopper.locale %q must be a locale like sv_SE (Trustly requires it)", s.Locale)
	case s.Country != "" && !countryRe.MatchString(s.Country):
		return invalid("shopper.country %q is not an ISO 3166-1 alpha-2 code like SE", s.Country)
	}
	return nil
}

func (r CreatePaymentRequest) check() error {
	if err := r.Shopper.check(); err != nil {
		return err
	}
	if err := checkCurrency(r.Currency); err != nil {
		return err
	}
	switch {
	case r.Amount < 0 || r.SuggestedMinAmount < 0 || r.SuggestedMaxAmount < 0:
		return invalid("amounts must not be negative")
	case r.ShopperStatement == "":
		return invalid("shopperStatement (the text on the shopper's bank statement) is required")
	case r.Shopper.Email == "":
		return invalid("shopper.email is required")
	case r.Amount == 0 && r.SuggestedMinAmount == 0 && r.SuggestedMaxAmount == 0:
		return invalid("amount (minor units, e.g. 10300 for 103.00) is required")
	case r.Amount > 0 && (r.SuggestedMinAmount > 0 || r.SuggestedMaxAmount > 0):
		return invalid("give either amount or suggestedMinAmount/suggestedMaxAmount")
	case r.SuggestedMaxAmount > 0 && r.SuggestedMinAmount > r.SuggestedMaxAmount:
		return invalid("suggestedMinAmount is above suggestedMaxAmount")
	case len(r.URLTarget) > 64 || controlRe.MatchString(r.URLTarget):
		return invalid("urlTarget is a frame name like _top (at most 64 characters)")
	case len(r.ExternalReference) > maxField || len(r.ShopperStatement) > maxField:
		return invalid("externalReference and shopperStatement hold at most %d characters", maxField)
	}
	if err := checkURLField("successUrl", r.SuccessURL); err != nil {
		return err
	}
	return checkURLField("failUrl", r.FailURL)
}

func (r CreateRefundRequest) check() error {
	if r.Amount < 0 {
		return invalid("amount must not be negative (0 or absent refunds everything refundable)")
	}
	if r.Currency != "" {
		return checkCurrency(r.Currency)
	}
	return nil
}

func (r CreateMandateRequest) check() error {
	if err := r.Shopper.check(); err != nil {
		return err
	}
	if r.Shopper.Email == "" {
		return invalid("shopper.email is required for a mandate")
	}
	if err := checkURLField("successUrl", r.SuccessURL); err != nil {
		return err
	}
	return checkURLField("failUrl", r.FailURL)
}

func (r CreateChargeRequest) check() error {
	switch {
	case r.EndUserID == "" || len(r.EndUserID) > maxField:
		return invalid("endUserId is required")
	case r.Amount <= 0:
		return invalid("amount must be a positive number of minor units")
	case r.ShopperStatement == "":
		return invalid("shopperStatement (the text on the shopper's bank statement) is required")
	case r.Email == "":
		return invalid("email (the shopper's) is required for a charge")
	case r.PaymentDate != "" && !dateRe.MatchString(r.PaymentDate):
		return invalid("paymentDate must be YYYY-MM-DD")
	}
	return checkCurrency(r.Currency)
}

// ---- handlers ----

// opResult is what an operation produced: a status and a JSON value.
type opResult struct {
	status int
	body   any
}

// operation decodes and checks a request, returning the work to run; an
// error here is the caller's mistake and nothing has happened.
type operation func(r *http.Request, body []byte) (func(ctx context.Context) (opResult, error), error)

func created(o engine.Order, err error) (opResult, error) {
	if err != nil {
		return opResult{}, err
	}
	return opResult{http.StatusCreated, orderOf(o)}, nil
}

// decodeBody decodes the already read (size-limited) body as T.
func decodeBody[T any](r *http.Request, body []byte) (T, error) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decode[T](r)
}

// checker is a request that checks itself before anything is stored.
type checker interface{ check() error }

// decodeChecked decodes the body as T and checks it.
func decodeChecked[T checker](r *http.Request, body []byte) (T, error) {
	req, err := decodeBody[T](r, body)
	if err != nil {
		return req, err
	}
	return req, req.check()
}

func (a *v1API) createPayment() http.Handler {
	return a.mutating("createPayment", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		req, err := decodeChecked[CreatePaymentRequest](r, body)
		if err != nil {
			return nil, err
		}
		s := req.Shopper
		return func(ctx context.Context) (opResult, error) {
			return created(a.engine.CreatePayment(ctx, engine.PaymentRequest{
				EndUserID: s.EndUserID, Currency: req.Currency, Amount: req.Amount,
				SuggestedMinAmount: req.SuggestedMinAmount, SuggestedMaxAmount: req.SuggestedMaxAmount,
				Country: s.Country, Locale: s.Locale, Firstname: s.FirstName, Lastname: s.LastName, Email: s.Email,
				SuccessURL: req.SuccessURL, FailURL: req.FailURL, ShopperStatement: req.ShopperStatement,
				IP: s.IP, MobilePhone: s.MobilePhone, NationalIdentificationNumber: s.NationalIdentificationNumber,
				ExternalReference: req.ExternalReference, NoExpress: req.NoExpress, URLTarget: req.URLTarget,
			}))
		}, nil
	})
}

func (a *v1API) createRefund() http.Handler {
	return a.mutating("createRefund", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		req, err := decodeChecked[CreateRefundRequest](r, body)
		if err != nil {
			return nil, err
		}
		id := mux.Vars(r)["id"]
		return func(ctx context.Context) (opResult, error) {
			return created(a.engine.Refund(ctx, engine.RefundRequest{PaymentID: id, Amount: req.Amount, Currency: req.Currency,
				ExternalReference: req.ExternalReference, IgnoreBalance: req.IgnoreBalance}))
		}, nil
	})
}

func (a *v1API) createMandate() http.Handler {
	return a.mutating("createMandate", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		req, err := decodeChecked[CreateMandateRequest](r, body)
		if err != nil {
			return nil, err
		}
		s := req.Shopper
		return func(ctx context.Context) (opResult, error) {
			return created(a.engine.CreateMandate(ctx, engine.MandateRequest{
				EndUserID: s.EndUserID, Country: s.Country, Locale: s.Locale, Firstname: s.FirstName, Lastname: s.LastName,
				Email: s.Email, SuccessURL: req.SuccessURL, FailURL: req.FailURL, IP: s.IP, MobilePhone: s.MobilePhone,
				NationalIdentificationNumber: s.NationalIdentificationNumber,
			}))
		}, nil
	})
}

func (a *v1API) createCharge() http.Handler {
	return a.mutating("createCharge", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		req, err := decodeChecked[CreateChargeRequest](r, body)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) (opResult, error) {
			return created(a.engine.CreateCharge(ctx, engine.ChargeRequest{
				EndUserID: req.EndUserID, Currency: req.Currency, Amount: req.Amount, PaymentDate: req.PaymentDate,
				ShopperStatement: req.ShopperStatement, Email: req.Email, ExternalReference: req.ExternalReference,
			}))
		}, nil
	})
}

func (a *v1API) cancelCharge() http.Handler {
	return a.mutating("cancelCharge", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		if len(bytes.TrimSpace(body)) > 0 {
			return nil, invalid("cancelling a charge takes no body")
		}
		id := mux.Vars(r)["id"]
		return func(ctx context.Context) (opResult, error) {
			o, err := a.engine.CancelCharge(ctx, id)
			if err != nil {
				return opResult{}, err
			}
			return opResult{http.StatusOK, orderOf(o)}, nil
		}, nil
	})
}

func (a *v1API) getPayment(flows ...engine.Flow) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, err := a.engine.GetPayment(r.Context(), mux.Vars(r)["id"])
		if err == nil && len(flows) > 0 && !flowIn(o.Flow, flows) {
			err = errNotFound
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, orderOf(o))
	})
}

func flowIn(f engine.Flow, flows []engine.Flow) bool {
	for _, x := range flows {
		if f == x {
			return true
		}
	}
	return false
}

// findPayments searches by exactly one of messageId, trustlyOrderId and
// externalReference.
func (a *v1API) findPayments() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q engine.PaymentQuery
		given := 0
		for k, v := range r.URL.Query() {
			if len(v) != 1 || v[0] == "" {
				writeError(w, r, invalid("query parameter %s must be given once, not empty", k))
				return
			}
			switch k {
			case "messageId":
				q.MessageID = v[0]
			case "trustlyOrderId":
				q.TrustlyOrderID = v[0]
			case "externalReference":
				q.ExternalReference = v[0]
			default:
				writeError(w, r, invalid("unknown query parameter %q (want messageId, trustlyOrderId or externalReference)", k))
				return
			}
			given++
		}
		if given != 1 {
			writeError(w, r, invalid("give exactly one of messageId, trustlyOrderId, externalReference"))
			return
		}
		l, err := a.engine.FindPayments(r.Context(), q)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := OrderList{Orders: make([]Order, 0, len(l))}
		for _, o := range l {
			out.Orders = append(out.Orders, orderOf(o))
		}
		encode(w, http.StatusOK, out)
	})
}

func (a *v1API) getBalance() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := a.engine.Balance(r.Context())
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := BalanceList{Balances: []Balance{}, At: b.At}
		for c, n := range b.ByCurrency {
			out.Balances = append(out.Balances, Balance{Currency: c, Amount: n})
		}
		sortBalances(out.Balances)
		encode(w, http.StatusOK, out)
	})
}

func sortBalances(b []Balance) {
	for i := 1; i < len(b); i++ {
		for j := i; j > 0 && b[j].Currency < b[j-1].Currency; j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
}

// mutating runs op under the request's Idempotency-Key with the engine's
// Stripe semantics (engine.Idempotent): the request is checked first (a bad
// one claims nothing), then run under the key; a repeat with the same key
// and body gets the first answer with Idempotent-Replayed: true, one with
// another body 422, one while the first still runs 409, and one whose first
// run was cut off (the sidecar died mid-request) 409
// idempotency_key_interrupted: it is never run a second time.
func (a *v1API) mutating(name string, op operation) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			writeError(w, r, errIdempotencyKeyRequired)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, r, err)
			return
		}
		work, err := op(r, body)
		if err != nil {
			writeError(w, r, err)
			return
		}
		fp, err := store.Fingerprint(r.Method, r.URL.Path, body)
		if err != nil {
			writeError(w, r, errInvalidJSON(err))
			return
		}
		ctx := r.Context()
		status, out, replayed, err := engine.Idempotent(ctx, a.idem, idempotencyScope, key, fp,
			func(ctx context.Context) (int, []byte, error) {
				ans, err := work(ctx)
				if err != nil {
					status, b := errorResponse(r, err)
					return status, b, err
				}
				return ans.status, marshalJSON(ans.body), nil
			})
		switch {
		case replayed:
			a.m.IdempotencyReplay(name)
			a.log.InfoContext(ctx, "idempotent replay", "operation", name, "status", status)
			w.Header().Set(replayedHeader, "true")
		case status == 0:
			// Refused before running: in flight, reused, interrupted, or
			// the store is down.
			writeError(w, r, err)
			return
		case err != nil && status >= 500:
			a.log.ErrorContext(ctx, "operation failed", "operation", name, "status", status, "err", err)
		}
		writeJSON(w, status, out)
	})
}
