package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/paylink"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// Engine is what the shop API and the webhooks need of core/engine.
type Engine interface {
	CreatePayment(ctx context.Context, r engine.PaymentRequest) (engine.Order, error)
	PreparePayment(ctx context.Context, r engine.PaymentRequest) func(context.Context) (engine.Order, error)
	GetPayment(ctx context.Context, id string) (engine.Order, error)
	FindPayments(ctx context.Context, q engine.PaymentQuery) ([]engine.Order, error)
	Refund(ctx context.Context, r engine.RefundRequest) (engine.Order, error)
	CreateMandate(ctx context.Context, r engine.MandateRequest) (engine.Order, error)
	PrepareMandate(ctx context.Context, r engine.MandateRequest) func(context.Context) (engine.Order, error)
	CreateCharge(ctx context.Context, r engine.ChargeRequest) (engine.Order, error)
	PrepareCharge(ctx context.Context, r engine.ChargeRequest) func(context.Context) (engine.Order, error)
	CancelCharge(ctx context.Context, id string) (engine.Order, error)
	Balance(ctx context.Context) (engine.Balances, error)
	Unrouted(ctx context.Context, limit int64) ([]engine.Unrouted, error)
	Timeline(ctx context.Context, id string) ([]engine.TimelineEntry, error)
}

var _ Engine = (*engine.Engine)(nil)

// API serves /v1 (the JSON is package shopapi's). A nil *API answers every
// operation 501.
type API struct {
	log    *slog.Logger
	m      *metrics.Set
	engine Engine
	idem   store.Idempotency
	hooks  *Webhooks      // nil: no adapter, platform webhooks are 404
	links  *paylink.Links // nil: POST /v1/paylinks answers 501
}

// NewAPI is the shop API over the engine, with its idempotency store.
// hooks (platform webhooks) and links (pay links) may be nil: their
// routes then answer 404 no_adapter and 501.
func NewAPI(log *slog.Logger, m *metrics.Set, e Engine, idem store.Idempotency, hooks *Webhooks, links *paylink.Links) *API {
	return &API{log: log, m: m, engine: e, idem: idem, hooks: hooks, links: links}
}

// idempotencyScope is the one scope of shop API keys: a key reused on
// another operation is a reuse with other parameters (422).
const idempotencyScope = "v1"

// ReplayedHeader marks an answer replayed from the idempotency store.
const ReplayedHeader = "Idempotent-Replayed"

// Errors of the shop API's own validation.
var (
	errIdempotencyKeyRequired = &httpError{http.StatusBadRequest, "idempotency_key_required", "this operation requires an Idempotency-Key header"}
)

// errReplayedFailure is the logged cause of a 5xx replayed from the
// idempotency store: the first request's cause was logged when it ran.
var errReplayedFailure = errors.New("replayed the stored failure of the first request with this Idempotency-Key (its cause was logged then)")

func invalid(format string, a ...any) error { return shopapi.Invalid(format, a...) }

// opResult is what an operation produced: a status and a JSON value.
type opResult struct {
	status int
	body   any
	// stored, when set, is what the idempotency record keeps instead of
	// body: the answer without a secret in clear (a pay link's token),
	// turned back into body by the operation's reveal on a replay.
	stored any
}

// operation decodes and checks a request, returning the work to run; an
// error here is the caller's mistake and nothing has happened.
type operation func(r *http.Request, body []byte) (func(ctx context.Context) (opResult, error), error)

// created is the answer of a request that started order o: 201 and the
// order, as orderOutcome stores it.
func created(o engine.Order, err error) (opResult, error) {
	if err != nil {
		return opResult{}, err
	}
	return opResult{status: http.StatusCreated, body: shopapi.OrderOf(o)}, nil
}

// decodeBody decodes the already read (size-limited) body as T.
func decodeBody[T any](r *http.Request, body []byte) (T, error) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decode[T](r)
}

func (a *API) createPayment() http.Handler {
	return a.mutatingOrder("createPayment", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		req, err := decodeBody[shopapi.CreatePaymentRequest](r, body)
		if err != nil {
			return nil, err
		}
		s := req.Shopper
		// Decoded before the idempotency key is claimed: the shopper's
		// accounts are read beside the claim, not after it.
		create := a.engine.PreparePayment(r.Context(), engine.PaymentRequest{
			EndUserID: s.EndUserID, Currency: req.Currency, Amount: req.Amount,
			SuggestedMinAmount: req.SuggestedMinAmount, SuggestedMaxAmount: req.SuggestedMaxAmount,
			Country: s.Country, Locale: s.Locale, Firstname: s.FirstName, Lastname: s.LastName, Email: s.Email,
			SuccessURL: req.SuccessURL, FailURL: req.FailURL, ShopperStatement: req.ShopperStatement,
			IP: s.IP, MobilePhone: s.MobilePhone, NationalIdentificationNumber: s.NationalIdentificationNumber,
			ExternalReference: req.ExternalReference, NoExpress: req.NoExpress, URLTarget: req.URLTarget,
			UnchangeableNationalIdentificationNumber: s.UnchangeableNationalIdentificationNumber,
			RequestDirectDebitMandate:                req.RequestDirectDebitMandate,
			ShippingAddress:                          shippingAddress(req.ShippingAddress),
			RequestKYC:                               req.RequestKYC, KYCMinimumAge: req.KYCMinimumAge,
			RecipientInformation: req.RecipientInformation.Trustly(),
		})
		return func(ctx context.Context) (opResult, error) { return created(create(ctx)) }, nil
	})
}

func (a *API) createRefund() http.Handler {
	return a.mutating("createRefund", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		req, err := decodeBody[shopapi.CreateRefundRequest](r, body)
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

func (a *API) createMandate() http.Handler {
	return a.mutatingOrder("createMandate", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		req, err := decodeBody[shopapi.CreateMandateRequest](r, body)
		if err != nil {
			return nil, err
		}
		s := req.Shopper
		// Begun before the idempotency key is claimed, as a payment is.
		create := a.engine.PrepareMandate(r.Context(), engine.MandateRequest{
			EndUserID: s.EndUserID, Country: s.Country, Locale: s.Locale, Firstname: s.FirstName, Lastname: s.LastName,
			Email: s.Email, SuccessURL: req.SuccessURL, FailURL: req.FailURL, IP: s.IP, MobilePhone: s.MobilePhone,
			NationalIdentificationNumber: s.NationalIdentificationNumber,
		})
		return func(ctx context.Context) (opResult, error) { return created(create(ctx)) }, nil
	})
}

func (a *API) createCharge() http.Handler {
	return a.mutatingOrder("createCharge", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		req, err := decodeBody[shopapi.CreateChargeRequest](r, body)
		if err != nil {
			return nil, err
		}
		// The mandate is read, and the Charge begun, beside the claim.
		create := a.engine.PrepareCharge(r.Context(), engine.ChargeRequest{
			EndUserID: req.EndUserID, Currency: req.Currency, Amount: req.Amount, PaymentDate: req.PaymentDate,
			ShopperStatement: req.ShopperStatement, Email: req.Email, ExternalReference: req.ExternalReference,
		})
		return func(ctx context.Context) (opResult, error) { return created(create(ctx)) }, nil
	})
}

func (a *API) cancelCharge() http.Handler {
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
			return opResult{status: http.StatusOK, body: shopapi.OrderOf(o)}, nil
		}, nil
	})
}

func (a *API) getPayment(flows ...engine.Flow) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, err := a.engine.GetPayment(r.Context(), mux.Vars(r)["id"])
		if err == nil && len(flows) > 0 && !flowIn(o.Flow, flows) {
			err = errNotFound
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, shopapi.OrderOf(o))
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
func (a *API) findPayments() http.Handler {
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
		out := shopapi.OrderList{Orders: make([]shopapi.Order, 0, len(l))}
		for _, o := range l {
			out.Orders = append(out.Orders, shopapi.OrderOf(o))
		}
		encode(w, http.StatusOK, out)
	})
}

func (a *API) getBalance() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := a.engine.Balance(r.Context())
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := shopapi.BalanceList{Balances: []shopapi.Balance{}, At: b.At}
		for c, n := range b.ByCurrency {
			out.Balances = append(out.Balances, shopapi.Balance{Currency: c, Amount: n})
		}
		sortBalances(out.Balances)
		encode(w, http.StatusOK, out)
	})
}

// defaultUnroutedLimit is how many kept notifications a listing shows
// unless ?limit= says otherwise.
const defaultUnroutedLimit = 100

// listUnrouted lists the notifications kept for a person, oldest first.
func (a *API) listUnrouted() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(defaultUnroutedLimit)
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				writeError(w, r, invalid("limit must be a whole number"))
				return
			}
			limit = n
		}
		l, err := a.engine.Unrouted(r.Context(), limit)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := shopapi.UnroutedList{Notifications: make([]shopapi.UnroutedNotification, 0, len(l))}
		for _, u := range l {
			out.Notifications = append(out.Notifications, shopapi.UnroutedNotification{NotificationID: u.NotificationID,
				Method: u.Method, TrustlyOrderID: u.OrderID, MessageID: u.MessageID, Reason: u.Reason, Answer: u.Answer,
				Data: u.Data, ReceivedAt: u.At})
		}
		encode(w, http.StatusOK, out)
	})
}

func sortBalances(b []shopapi.Balance) {
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
func (a *API) mutating(name string, op operation) http.Handler {
	return a.mutatingWith(name, op, nil, nil)
}

// mutatingOrder is mutating for an operation that answers with the order
// it starts (created): its answer may be stored beside the order's
// transition (engine.IdempotentOrder).
func (a *API) mutatingOrder(name string, op operation) http.Handler {
	return a.mutatingWith(name, op, nil, orderOutcome)
}

// mutatingSealed is mutating for an operation whose answer holds a secret
// (opResult.stored): a replayed 2xx answer goes through reveal, which turns
// the stored form back into the answer.
func (a *API) mutatingSealed(name string, op operation, reveal func(stored []byte) ([]byte, error)) http.Handler {
	return a.mutatingWith(name, op, reveal, nil)
}

func (a *API) mutatingWith(name string, op operation, reveal func(stored []byte) ([]byte, error),
	answer func(engine.Order) store.Outcome) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			writeError(w, r, errIdempotencyKeyRequired)
			return
		}
		body, err := readBody(r.Body)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if answer != nil {
			// A payment's order may then be created with the claim.
			r = r.WithContext(engine.WithOrderClaim(r.Context()))
		}
		work, err := op(r, body)
		if err != nil {
			writeError(w, r, err)
			return
		}
		fp, err := store.Fingerprint(body, r.Method, r.URL.Path)
		if err != nil {
			writeError(w, r, errInvalidJSON(err))
			return
		}
		ctx := r.Context()
		var fresh []byte // the answer, when the record keeps another form
		status, out, replayed, err := idempotent(ctx, a.idem, idempotencyScope, key, fp, answer,
			func(ctx context.Context) (int, []byte, error) {
				ans, err := work(ctx)
				if err != nil {
					status, b := errorResponse(r, err)
					return status, b, err
				}
				if ans.stored != nil {
					fresh = marshalJSON(ans.body)
					return ans.status, marshalJSON(ans.stored), nil
				}
				return ans.status, marshalJSON(ans.body), nil
			})
		if replayed && reveal != nil && status >= 200 && status < 300 {
			var rerr error
			if out, rerr = reveal(out); rerr != nil {
				writeError(w, r, rerr)
				return
			}
		}
		if !replayed && fresh != nil {
			out = fresh
		}
		switch {
		case replayed:
			a.m.IdempotencyReplay(name)
			a.log.InfoContext(ctx, "idempotent replay", "operation", name, "status", status)
			if status >= 500 {
				noteError(ctx, errReplayedFailure)
			}
			w.Header().Set(ReplayedHeader, "true")
		case status == 0:
			// Refused before running: in flight, reused, interrupted, or
			// the store is down.
			writeError(w, r, err)
			return
		case err != nil:
			// The answer was made from run's error (noted then); a failure
			// to store or release the key may be joined to it since.
			noteError(ctx, err)
		}
		writeJSON(w, status, out)
	})
}

func (a *API) createPayLink() http.Handler {
	p := a.links
	if p == nil {
		return handleNotImplemented(true)
	}
	reveal := func(stored []byte) ([]byte, error) {
		var l shopapi.PayLink
		if err := json.Unmarshal(stored, &l); err != nil {
			return nil, fmt.Errorf("stored pay link answer: %w", err)
		}
		l, err := p.Reveal(l)
		if err != nil {
			return nil, err
		}
		return marshalJSON(l), nil
	}
	return a.mutatingSealed("createPayLink", func(r *http.Request, body []byte) (func(context.Context) (opResult, error), error) {
		req, err := decodeBody[shopapi.CreatePayLinkRequest](r, body)
		if err != nil {
			return nil, err
		}
		if err := p.Check(req); err != nil {
			return nil, err
		}
		return func(ctx context.Context) (opResult, error) {
			out, err := p.Create(ctx, req)
			if err != nil {
				return opResult{}, err
			}
			sealed, err := p.Seal(out)
			if err != nil {
				return opResult{}, err
			}
			return opResult{status: http.StatusCreated, body: out, stored: sealed}, nil
		}, nil
	}, reveal)
}

// getPayLink is GET /v1/paylinks/{id}: the link's status, its attempts and
// the payment it led to.
func (a *API) getPayLink() http.Handler {
	if a.links == nil {
		return handleNotImplemented(false)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := a.links.Status(r.Context(), mux.Vars(r)["id"])
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, st)
	})
}

// revokePayLink is DELETE /v1/paylinks/{id}. It needs no Idempotency-Key:
// revoking twice answers the same.
func (a *API) revokePayLink() http.Handler {
	if a.links == nil {
		return handleNotImplemented(false)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := a.links.Revoke(r.Context(), mux.Vars(r)["id"])
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, st)
	})
}

func shippingAddress(a *shopapi.ShippingAddress) engine.ShippingAddress {
	if a == nil {
		return engine.ShippingAddress{}
	}
	return engine.ShippingAddress{Country: a.Country, PostalCode: a.PostalCode, City: a.City, Line1: a.Line1, Line2: a.Line2, Address: a.Address}
}

// getTimeline is GET /v1/payments/{id}/events (and the mandate's): every
// call to Trustly, notification, change of state and platform delivery of
// the order, oldest first.
func (a *API) getTimeline(flows ...engine.Flow) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["id"]
		o, err := a.engine.GetPayment(r.Context(), id)
		if err == nil && !flowIn(o.Flow, flows) {
			err = errNotFound
		}
		var tl []engine.TimelineEntry
		if err == nil {
			tl, err = a.engine.Timeline(r.Context(), id)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, shopapi.TimelineOf(o, tl))
	})
}
