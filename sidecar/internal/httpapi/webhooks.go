package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// Platform requests: /v1/webhooks/{platform}[/...] on the private listener
// and, for an adapter that says it is Public, /platform/{platform}[/...] on
// the public one. The running adapter verifies and translates the request
// (Translate); each command runs once under its own idempotency key (scope:
// the platform) through the engine; the adapter shapes the answer of a
// synchronous platform (Answer), by its deadline (AnswerWithin) with the
// commands still running reported as pending, and an asynchronous one gets a
// JSON summary of the results.

// Errors of the webhook route.
var (
	errNoAdapterHook   = &httpError{http.StatusNotFound, "no_adapter", "no platform adapter is configured (TRUSTLY_SIDECAR_ADAPTER), so no platform webhooks are taken"}
	errUnknownPlatform = &httpError{http.StatusNotFound, "unknown_platform", "no such platform: the path must name the running adapter"}
	errAdapterDown     = &httpError{http.StatusServiceUnavailable, "adapter_unavailable", "the platform adapter is not running (restarting); retry later"}
	errBadAnswer       = &httpError{http.StatusBadGateway, "adapter_bad_answer", "the platform adapter's answer is not a valid HTTP response"}
)

// errNoSuchOrder is the engine's not-found, so that Idempotent releases the
// key: the order may exist by the platform's next delivery.
var errNoSuchOrder = &engine.Error{Kind: engine.KindNotFound, Code: "not_found", Message: "no such order"}

// webhookReadyWait bounds how long a webhook waits for a restarting plugin.
const webhookReadyWait = 5 * time.Second

// commandTimeout bounds a platform's commands once they run on their own:
// the platform may hang up (or its deadline pass) while a Deposit is under
// way, and the command must finish, or fail, under its idempotency key
// rather than die half-way. Trustly calls are bounded well below it.
const commandTimeout = 2 * time.Minute

// Webhooks serves the platform webhook route for one adapter.
type Webhooks struct {
	log      *slog.Logger
	m        *metrics.Set
	engine   Engine
	idem     store.Idempotency
	adapter  adapter.Adapter
	defaults config.ShopDefaults
	// describe is the running adapter's description, waiting (bounded by
	// ctx) while it restarts.
	describe func(ctx context.Context) (adapter.Description, error)
	now      func() time.Time
	// publicBase is the public listener's origin (PUBLIC_BASE_URL), for
	// Request.BaseURL.
	publicBase string
	// running counts commands that outlived their request (Drain).
	running sync.WaitGroup
}

// NewWebhooks serves the platform webhooks of adapter a: ready waits
// (bounded by its context) for a restarting plugin, describe returns its
// description once it runs; now is the clock requests are stamped with;
// publicBase is the public listener's origin.
func NewWebhooks(log *slog.Logger, m *metrics.Set, e Engine, idem store.Idempotency, a adapter.Adapter, defaults config.ShopDefaults,
	ready func(context.Context) error, describe func() (adapter.Description, bool), now func() time.Time, publicBase string) *Webhooks {
	return &Webhooks{log: log, m: m, engine: e, idem: idem, adapter: a, defaults: defaults, describe: hostDescribe(ready, describe), now: now,
		publicBase: strings.TrimSuffix(publicBase, "/")}
}

// Drain waits, once ctx ends, for the commands that outlived their
// requests (a synchronous platform's pending ones): run it as a background
// task, so that a shutdown lets them finish under their keys.
func (h *Webhooks) Drain(ctx context.Context) error {
	<-ctx.Done()
	h.running.Wait()
	return nil
}

// hostDescribe waits for the supervised plugin and returns its description.
func hostDescribe(ready func(context.Context) error, desc func() (adapter.Description, bool)) func(context.Context) (adapter.Description, error) {
	return func(ctx context.Context) (adapter.Description, error) {
		wctx, cancel := context.WithTimeout(ctx, webhookReadyWait)
		defer cancel()
		if err := ready(wctx); err != nil {
			return adapter.Description{}, fmt.Errorf("%w: %w", errAdapterDown, err)
		}
		d, ok := desc()
		if !ok {
			return adapter.Description{}, errAdapterDown
		}
		return d, nil
	}
}

// Webhook outcomes, the label of trustly_sidecar_webhooks_total.
const (
	webhookOK              = "ok"              // every command succeeded (or there were none)
	webhookPending         = "pending"         // answered by the deadline with commands still running
	webhookFailed          = "failed"          // a command was refused or failed
	webhookUnauthenticated = "unauthenticated" // the adapter refused the signature
	webhookInvalid         = "invalid"         // the adapter found the request malformed
	webhookNotFound        = "not_found"       // no adapter, or another platform's name
	webhookUnavailable     = "unavailable"     // plugin or store down
	webhookError           = "error"           // anything else
)

// platformWebhook is the private route's handler. With no adapter it
// answers 404 no_adapter.
func (a *API) platformWebhook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.hooks == nil {
			a.m.Webhook("", webhookNotFound)
			writeError(w, r, errNoAdapterHook)
			return
		}
		a.hooks.handle(w, r, false)
	})
}

// PublicHandler is the public route's handler (/platform/{platform}/...):
// 404 unless the running adapter is Public. Bodies are bounded by maxBody
// (the private listener bounds its own).
func (h *Webhooks) PublicHandler(maxBody int64) http.Handler {
	return limitBody(maxBody, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.handle(w, r, true) }))
}

// handle serves one platform request and counts it.
func (h *Webhooks) handle(w http.ResponseWriter, r *http.Request, public bool) {
	platform, outcome, err := h.serve(w, r, public)
	h.m.Webhook(platform, outcome)
	if err != nil {
		status := writeError(w, r, err)
		log := h.log.WarnContext
		if status >= 500 {
			log = h.log.ErrorContext
		}
		// The adapter's text says why (never the signature itself).
		log(r.Context(), "platform webhook refused", "platform", platform, "status", status, "public", public, "err", err)
	}
}

// serve handles one webhook. It writes the answer itself, or returns the
// error to answer; platform is "" until the path is known to name the
// adapter (metric labels stay a fixed set).
func (h *Webhooks) serve(w http.ResponseWriter, r *http.Request, public bool) (platform, outcome string, err error) {
	ctx := r.Context()
	arrived := time.Now() // the platform's deadline runs on the real clock, whatever h.now says
	desc, err := h.describe(ctx)
	if err != nil {
		return "", webhookUnavailable, err
	}
	if mux.Vars(r)["platform"] != desc.Name || public && !desc.Public {
		return "", webhookNotFound, errUnknownPlatform
	}
	platform = desc.Name
	body, err := readBody(r.Body) // bounded by the listener's limit
	if err != nil {
		return platform, webhookInvalid, err
	}
	req := adapter.Request{Method: r.Method, Path: "/" + mux.Vars(r)["rest"], RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, ReceivedAt: h.now(), Public: public}
	if desc.Public && h.publicBase != "" {
		req.BaseURL = h.publicBase + "/platform/" + desc.Name
	}
	cmds, err := h.adapter.Translate(ctx, req)
	if err != nil {
		err = fmt.Errorf("translate: %w", err)
		if h.acknowledgeTranslateError(w, r, desc, err) {
			return platform, webhookFailedAcknowledged, nil
		}
		return platform, adapterOutcome(err), err
	}

	var answerBy time.Time
	if desc.Sync && desc.AnswerWithin > 0 {
		answerBy = arrived.Add(desc.AnswerWithin - answerMargin(desc.AnswerWithin))
	}
	results := h.runAll(ctx, platform, cmds, answerBy)
	outcome = webhookOK
	var first *shopapi.WebhookResult // the first failure
	for i, res := range results {
		switch {
		case res.Pending:
			outcome = webhookPending
		case !res.OK && first == nil:
			first = &results[i]
		}
	}
	if first != nil {
		outcome = webhookFailed
	}

	resp, err := h.adapter.Answer(ctx, req, adapterResults(results))
	switch {
	case errors.Is(err, adapter.ErrUnsupported):
		// An asynchronous platform: our own summary (webhookack.go). A
		// command still in flight from an earlier delivery is no answer
		// yet: idempotency_key_in_use, deliver again later.
		for i := range results {
			if r := &results[i]; r.Pending {
				status, code, msg := errorAnswer(store.ErrInProgress)
				r.Pending, r.Status, r.Error = false, status, &shopapi.ErrorDetail{Code: code, Message: msg, RequestID: RequestID(ctx)}
				if first == nil {
					first, outcome = r, webhookFailed
				}
			}
		}
		return platform, h.answerAsync(w, r, desc, results, first, outcome), nil
	case err != nil:
		return platform, webhookError, fmt.Errorf("answer: %w", err)
	}
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	if resp.Status < 200 || resp.Status > 599 {
		return platform, webhookError, fmt.Errorf("%w: status %d", errBadAnswer, resp.Status)
	}
	for k, v := range resp.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Transfer-Encoding", "Connection", "X-Request-Id":
			continue
		}
		w.Header()[http.CanonicalHeaderKey(k)] = v
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
	return platform, outcome, nil
}

// answerMargin is the part of a platform's deadline kept for Answer and
// the way back: a fifth of it, at most a second.
func answerMargin(within time.Duration) time.Duration {
	return min(within/5, time.Second)
}

// runAll runs the commands in order, each once under its key, on a context
// of their own: a platform hanging up does not stop them. With a zero
// answerBy it returns when all are done; otherwise by answerBy at the
// latest, the unfinished ones as Pending, which then finish in the
// background (Drain waits for them).
func (h *Webhooks) runAll(ctx context.Context, platform string, cmds []adapter.Command, answerBy time.Time) []shopapi.WebhookResult {
	var mu sync.Mutex
	results := make([]shopapi.WebhookResult, len(cmds))
	for i, c := range cmds {
		results[i] = shopapi.WebhookResult{Kind: string(c.Kind), IdempotencyKey: c.IdempotencyKey, PlatformOrder: c.Order.ID, Pending: true}
	}
	done := make(chan struct{})
	h.running.Add(1)
	go func() {
		defer h.running.Done()
		defer close(done)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commandTimeout)
		defer cancel()
		for i, c := range cmds {
			res := h.run(cctx, platform, c)
			mu.Lock()
			results[i] = res
			mu.Unlock()
		}
	}()
	var late <-chan time.Time
	if !answerBy.IsZero() {
		t := time.NewTimer(time.Until(answerBy))
		defer t.Stop()
		late = t.C
	}
	select {
	case <-done:
	case <-late:
		h.log.WarnContext(ctx, "platform request answered with commands still running", "platform", platform)
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(results)
}

// adapterOutcome is the metric outcome of an adapter's error.
func adapterOutcome(err error) string {
	switch adapter.Classify(err) {
	case adapter.ClassUnauthenticated:
		return webhookUnauthenticated
	case adapter.ClassInvalid:
		return webhookInvalid
	case adapter.ClassRetryable:
		return webhookUnavailable
	}
	return webhookError
}

// run carries out one command under its idempotency key and reports the
// result. A command that is not even valid claims nothing.
func (h *Webhooks) run(ctx context.Context, platform string, c adapter.Command) shopapi.WebhookResult {
	res := shopapi.WebhookResult{Kind: string(c.Kind), IdempotencyKey: c.IdempotencyKey, PlatformOrder: c.Order.ID}
	fail := func(err error) shopapi.WebhookResult {
		status, code, msg := errorAnswer(err)
		res.Status, res.Error = status, &shopapi.ErrorDetail{Code: code, Message: msg, RequestID: RequestID(ctx)}
		return res
	}
	// As the shop API runs a request that starts an order: its call
	// begun beside the claim, its order created with the claim where
	// the store can (engine.WithOrderClaim).
	ctx = engine.WithOrderClaim(ctx)
	work, err := h.command(ctx, c)
	if err != nil {
		return fail(err)
	}
	cb, err := json.Marshal(c)
	if err != nil {
		return fail(err)
	}
	fp, err := store.Fingerprint(cb, http.MethodPost, "/v1/webhooks/"+platform+"/"+string(c.Kind))
	if err != nil {
		return fail(err)
	}
	status, out, replayed, err := idempotent(ctx, h.idem, platform, c.IdempotencyKey, fp, orderOutcome,
		func(ctx context.Context) (int, []byte, error) {
			o, err := work(ctx)
			if err != nil {
				status, code, msg := errorAnswer(err)
				return status, marshalJSON(shopapi.ErrorBody{Error: shopapi.ErrorDetail{Code: code, Message: msg}}), err
			}
			out := orderOutcome(o)
			return http.StatusCreated, out.Body, nil
		})
	if status == 0 {
		if errors.Is(err, store.ErrInProgress) {
			// The platform sent the request again while its first
			// delivery's command still runs (it answered pending).
			res.Pending = true
			return res
		}
		// Not run: the key reused, interrupted, store down.
		return fail(err)
	}
	if err != nil && status >= 500 {
		h.log.ErrorContext(ctx, "webhook command failed", "platform", platform, "kind", c.Kind, "key", c.IdempotencyKey, "err", err)
	}
	res.Status, res.Replayed = status, replayed
	if status >= 300 {
		var e shopapi.ErrorBody
		_ = json.Unmarshal(out, &e)
		e.Error.RequestID = RequestID(ctx)
		res.Error = &e.Error
		return res
	}
	var o shopapi.Order
	if err := json.Unmarshal(out, &o); err != nil {
		return fail(fmt.Errorf("stored answer of %s: %w", c.IdempotencyKey, err))
	}
	res.OK, res.OrderID, res.TrustlyOrderID, res.URL = true, o.ID, o.TrustlyOrderID, o.URL
	return res
}

// adapterResults is the results in the adapter's terms, for Answer.
func adapterResults(rs []shopapi.WebhookResult) []adapter.Result {
	out := make([]adapter.Result, 0, len(rs))
	for _, r := range rs {
		ar := adapter.Result{IdempotencyKey: r.IdempotencyKey, OrderID: r.OrderID, OK: r.OK, ProviderReference: r.TrustlyOrderID, RedirectURL: r.URL, Pending: r.Pending}
		if r.Error != nil {
			ar.ErrorCode, ar.Message = r.Error.Code, r.Error.Message
		}
		out = append(out, ar)
	}
	return out
}

// command is the one table from a command's kind to the engine call, with
// the shop-wide defaults filling what the platform did not send. The
// command's shape is the SDK's rule (adapter.Command.Validate, which the
// conformance kit holds adapters to); whether Trustly would take the
// request is the engine's, checked before anything is stored. The returned
// work runs under the idempotency key; a checkout's or charge's call is
// begun (built and signed) under ctx now, beside the claim, and ends with
// ctx if the work never runs.
func (h *Webhooks) command(ctx context.Context, c adapter.Command) (func(context.Context) (engine.Order, error), error) {
	if err := c.Validate(); err != nil {
		return nil, invalid("the adapter's command: %v", err)
	}
	d := h.defaults
	cust := c.Customer
	country := or(cust.Country, d.Country)
	switch c.Kind {
	case adapter.CommandPay:
		if err := need(d, country); err != nil {
			return nil, err
		}
		req := engine.PaymentRequest{
			EndUserID: cust.ID, Currency: c.Amount.Currency, Amount: c.Amount.Minor,
			Country: country, Locale: d.Locale, Firstname: cust.FirstName, Lastname: cust.LastName, Email: cust.Email,
			MobilePhone: cust.Phone, SuccessURL: d.SuccessURL, FailURL: d.FailURL, ShopperStatement: d.ShopperStatement,
			ExternalReference:                        c.Order.ID, // status changes find the platform's order by it
			NationalIdentificationNumber:             cust.NationalID,
			UnchangeableNationalIdentificationNumber: cust.NationalIDLocked,
			RequestDirectDebitMandate:                c.RequestMandate,
			RequestKYC:                               c.KYC.Request || d.RequestKYC,
			KYCMinimumAge:                            c.KYC.MinimumAge,
			RecipientInformation:                     recipientInformation(c.Recipient),
			ShippingAddress: engine.ShippingAddress{Country: c.ShippingAddress.Country, PostalCode: c.ShippingAddress.PostalCode,
				City: c.ShippingAddress.City, Line1: c.ShippingAddress.Line1, Line2: c.ShippingAddress.Line2},
		}
		return h.engine.PreparePayment(ctx, req), nil

	case adapter.CommandMandate:
		if err := need(d, country); err != nil {
			return nil, err
		}
		req := engine.MandateRequest{
			EndUserID: cust.ID, Country: country, Locale: d.Locale, Firstname: cust.FirstName, Lastname: cust.LastName,
			Email: cust.Email, MobilePhone: cust.Phone, SuccessURL: d.SuccessURL, FailURL: d.FailURL,
		}
		return h.engine.PrepareMandate(ctx, req), nil

	case adapter.CommandCharge:
		if d.ShopperStatement == "" {
			return nil, invalid("no shopper statement: set %s", config.Key("SHOP_SHOPPER_STATEMENT"))
		}
		req := engine.ChargeRequest{EndUserID: cust.ID, Currency: c.Amount.Currency, Amount: c.Amount.Minor,
			ShopperStatement: d.ShopperStatement, Email: cust.Email, ExternalReference: c.Order.ID}
		return h.engine.PrepareCharge(ctx, req), nil

	case adapter.CommandRefund:
		return func(ctx context.Context) (engine.Order, error) {
			id, err := h.resolve(ctx, c.Reference, c.Order.ID)
			if err != nil {
				return engine.Order{}, err
			}
			return h.engine.Refund(ctx, engine.RefundRequest{PaymentID: id, Amount: c.Amount.Minor, Currency: c.Amount.Currency})
		}, nil

	case adapter.CommandCancelCharge:
		return func(ctx context.Context) (engine.Order, error) {
			id, err := h.resolve(ctx, c.Reference, c.Order.ID)
			if err != nil {
				return engine.Order{}, err
			}
			return h.engine.CancelCharge(ctx, id)
		}, nil
	}
	return nil, invalid("unknown command kind %q", c.Kind) // Validate knows every kind; a newer SDK may not
}

// recipientInformation is the adapter's recipient in Trustly's terms.
func recipientInformation(r *adapter.Recipient) *trustly.RecipientInformation {
	if r == nil {
		return nil
	}
	party := trustly.PartyPerson
	if r.Organisation {
		party = trustly.PartyOrganisation
	}
	return &trustly.RecipientInformation{PartyType: party, FirstName: r.FirstName, LastName: r.LastName, CountryCode: r.Country,
		CustomerID: r.CustomerID, Address: r.Address, DateOfBirth: r.DateOfBirth}
}

// need checks the defaults a checkout (Deposit, SelectAccount) cannot do
// without.
func need(d config.ShopDefaults, country string) error {
	switch {
	case d.SuccessURL == "" || d.FailURL == "":
		return invalid("no success or fail URL for the shopper: set %s and %s", config.Key("SHOP_SUCCESS_URL"), config.Key("SHOP_FAIL_URL"))
	case d.Locale == "":
		return invalid("no locale: set %s", config.Key("SHOP_LOCALE"))
	case country == "":
		return invalid("no country from the platform and none by default: set %s", config.Key("SHOP_COUNTRY"))
	}
	return nil
}

// resolve finds the order a refund or cancel is about: by the reference
// (our order id, else Trustly's OrderID), else the platform order's one
// payment.
func (h *Webhooks) resolve(ctx context.Context, ref, platformOrder string) (string, error) {
	if ref != "" {
		if o, err := h.engine.GetPayment(ctx, ref); err == nil {
			return o.ID, nil
		} else if engine.KindOf(err) != engine.KindNotFound {
			return "", err
		}
		l, err := h.engine.FindPayments(ctx, engine.PaymentQuery{TrustlyOrderID: ref})
		if err != nil {
			return "", err
		}
		if len(l) > 0 {
			return l[0].ID, nil
		}
		return "", errNoSuchOrder
	}
	l, err := h.engine.FindPayments(ctx, engine.PaymentQuery{ExternalReference: platformOrder})
	if err != nil {
		return "", err
	}
	var found []engine.Order
	for _, o := range l {
		if o.Flow == engine.FlowDeposit || o.Flow == engine.FlowCharge {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 0:
		return "", errNoSuchOrder
	case 1:
		return found[0].ID, nil
	}
	// Several attempts for one order: the one that was paid.
	for _, o := range found {
		if o.Credited > 0 {
			return o.ID, nil
		}
	}
	return found[len(found)-1].ID, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
