package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Order is what the shop API shows of an order of any flow.
type Order struct {
	ID    string
	Flow  Flow
	State State
	// Currency and Amount asked for (minor units); MinAmount/MaxAmount
	// when the shopper chooses.
	Currency                     string
	Amount, MinAmount, MaxAmount int64
	// Credited is what arrived; Refunded what refunds hold or took;
	// Refundable what may still be refunded.
	Credited, Refunded, Refundable int64
	EndUserID                      string
	ExternalReference              string
	MessageID                      string
	MessageIDs                     []string
	TrustlyOrderID                 string
	// URL is Trustly's checkout URL (Deposit, SelectAccount): open it at
	// once; it expires within minutes and is never cached by us.
	URL         string
	AccountID   string
	PaymentDate string
	Parent      string
	Refunds     []string
	// Attention is the last anomaly a person should look at (an amount
	// mismatch, an unexpected event); Reason why Trustly refused the call.
	Attention, Reason string
	// KYC is the identity check of a Deposit that asked for one (nil
	// otherwise): the rules applied and, once Trustly's kyc came, the answer.
	KYC              *KYC
	Created, Updated time.Time
}

func view(o store.Order) Order {
	v := Order{
		ID: o.ID, Flow: Flow(o.Flow), State: State(o.State), Currency: o.Currency,
		Amount: o.Amount, MinAmount: o.MinAmount, MaxAmount: o.MaxAmount,
		Credited: o.Credited, Refunded: o.Refunded, EndUserID: o.EndUserID, ExternalReference: o.ExternalReference,
		MessageID: o.MessageID, MessageIDs: o.MessageIDs, TrustlyOrderID: o.TrustlyOrderID, URL: o.URL,
		AccountID: o.AccountID, PaymentDate: o.PaymentDate, Parent: o.Parent, Refunds: o.Refunds,
		Attention: o.Attention, Reason: o.Reason, KYC: kycView(o.KYC), Created: o.Created, Updated: o.Updated,
	}
	if v.State == StatePaid {
		v.Refundable = max(o.Credited-o.Refunded, 0)
	}
	return v
}

// PaymentRequest starts a Deposit: a one-time payment, an invoice payment
// (ExternalReference = the invoice id) or the click on a pay link.
type PaymentRequest struct {
	EndUserID string
	Currency  string
	// Amount in minor units, or 0 with SuggestedMinAmount/SuggestedMaxAmount.
	Amount, SuggestedMinAmount, SuggestedMaxAmount int64
	Country, Locale, Firstname, Lastname, Email    string
	SuccessURL, FailURL, ShopperStatement          string
	IP, MobilePhone, NationalIdentificationNumber  string
	URLTarget, TemplateURL, URLScheme              string
	ExternalReference                              string
	// UnchangeableNationalIdentificationNumber locks the shopper to the
	// NationalIdentificationNumber given (Swedish banks).
	UnchangeableNationalIdentificationNumber bool
	// RequestDirectDebitMandate pays now and asks for a direct debit mandate
	// in the same checkout (Trustly's recurring guide): the account
	// notification's directdebitmandate "1" then makes the shopper's mandate
	// active for later charges, as a SelectAccount's would. Email required.
	RequestDirectDebitMandate bool
	// ShippingAddress, when the shop has one (Trustly's risk checks).
	ShippingAddress ShippingAddress
	// NoExpress opts out of Trustly Express: no stored AccountID is sent
	// even for a returning shopper with a verified account.
	NoExpress bool
	// RequestKYC asks Trustly for a kyc notification, decided by the
	// engine's KYCPolicy (kyc.go); KYCMinimumAge, when above 0, replaces
	// the policy's minimum age for this payment.
	RequestKYC    bool
	KYCMinimumAge int
	// RecipientInformation names the payee where Trustly requires it (money
	// transfer services, e-wallets, prepaid cards, aggregating partners).
	RecipientInformation *trustly.RecipientInformation
	// Extra attributes Trustly added after this was written.
	Extra map[string]string
}

// ShippingAddress is where the goods go, split (Country ISO 3166-1 alpha-2,
// PostalCode, City, Line1, Line2) or, for shops that cannot split it, in
// one string (Address).
type ShippingAddress struct {
	Country, PostalCode, City, Line1, Line2, Address string
}

// CheckPayment says whether CreatePayment would refuse r before calling
// Trustly, without storing or calling anything: for work that makes the
// Deposit later (a pay link is checked when it is made, paid at the click).
func (e *Engine) CheckPayment(r PaymentRequest) error {
	if err := e.validate(e.depositRequest(r, "check-"+e.newID())); err != nil {
		return err
	}
	return checkKYCRequest(r)
}

// depositRequest is the Deposit for r with MessageID mid.
func (e *Engine) depositRequest(r PaymentRequest, mid string) *trustly.DepositRequest {
	return &trustly.DepositRequest{
		NotificationURL: e.cfg.NotificationURL, EndUserID: r.EndUserID, MessageID: mid,
		Currency: r.Currency, Amount: r.Amount, SuggestedMinAmount: r.SuggestedMinAmount, SuggestedMaxAmount: r.SuggestedMaxAmount,
		Country: r.Country, Locale: r.Locale, Firstname: r.Firstname, Lastname: r.Lastname, Email: r.Email,
		SuccessURL: r.SuccessURL, FailURL: r.FailURL, ShopperStatement: r.ShopperStatement,
		IP: r.IP, MobilePhone: r.MobilePhone, NationalIdentificationNumber: r.NationalIdentificationNumber,
		URLTarget: r.URLTarget, TemplateURL: r.TemplateURL, URLScheme: r.URLScheme,
		ExternalReference: r.ExternalReference, Extra: r.Extra,
		UnchangeableNationalIdentificationNumber: r.UnchangeableNationalIdentificationNumber,
		RequestDirectDebitMandate:                r.RequestDirectDebitMandate,
		ShippingAddressCountry:                   r.ShippingAddress.Country, ShippingAddressPostalCode: r.ShippingAddress.PostalCode,
		ShippingAddressCity: r.ShippingAddress.City, ShippingAddressLine1: r.ShippingAddress.Line1,
		ShippingAddressLine2: r.ShippingAddress.Line2, ShippingAddress: r.ShippingAddress.Address,
		RequestKYC: r.RequestKYC, RecipientInformation: r.RecipientInformation,
	}
}

// CreatePayment checks the Deposit as Trustly would, stores the payment
// with its MessageID, then calls Deposit. A request Trustly would refuse is
// an *Error of KindInvalid and stores nothing. A lost answer is resent with
// the same MessageID by the client; a 637 then starts a fresh attempt with
// a new MessageID, the old one staying mapped.
func (e *Engine) CreatePayment(ctx context.Context, r PaymentRequest) (Order, error) {
	return e.PreparePayment(ctx, r)(ctx)
}

// PreparePayment is CreatePayment in two steps, for a caller with a round
// trip of its own to make first (an idempotency claim): it begins the
// Deposit (built and signed, held before sending) now, beside that round
// trip, and returns the step that creates the payment. The shopper's
// accounts (the Express account the Deposit names) are read beside the
// round trip too; under WithOrderClaim, by the claim's own script where it
// can create the order (IdempotentOrder). Nothing is written or sent
// before the claim or the step; a step never run cost a read and a
// signature, and its call ends with ctx.
//
// The Deposit is begun without an Express account: a shopper who has one
// gets a Deposit signed again, with it, by the step.
func (e *Engine) PreparePayment(ctx context.Context, r PaymentRequest) func(context.Context) (Order, error) {
	accounts := func() (store.Accounts, error) { return store.Accounts{}, nil }
	var readAccounts func()
	if !r.NoExpress {
		type read struct {
			a   store.Accounts
			err error
		}
		done := make(chan read, 1)
		readAccounts = sync.OnceFunc(func() {
			go func() {
				a, err := e.store.Accounts(ctx, r.EndUserID)
				done <- read{a, err}
			}()
		})
		accounts = sync.OnceValues(func() (store.Accounts, error) {
			readAccounts()
			got := <-done
			return got.a, got.err
		})
	}
	now := e.now()
	o := store.Order{ID: e.newID(), Flow: string(FlowDeposit), State: string(Deposit.Initial),
		Currency: r.Currency, Amount: r.Amount, MinAmount: r.SuggestedMinAmount, MaxAmount: r.SuggestedMaxAmount,
		EndUserID: r.EndUserID, ExternalReference: r.ExternalReference, MessageID: e.newID(), Created: now, Updated: now,
		KYC: e.kycRecordFor(r)}
	req := e.depositRequest(r, o.MessageID)
	invalid := e.validate(req)
	if invalid == nil {
		invalid = checkKYCRequest(r)
	}
	switch p := orderClaimFrom(ctx); {
	case p != nil && invalid == nil:
		// The claim may create the order and read the Express account
		// in its own script; a claim that cannot starts the read
		// beside itself.
		p.order = &store.NewOrder{Order: o, OpenUntil: e.checkoutDeadline(), Express: !r.NoExpress}
		p.beside = readAccounts
	case readAccounts != nil:
		readAccounts()
	}
	var early *earlyCall[*trustly.DepositResult]
	if invalid == nil {
		// A copy: the step may change its request (an Express account,
		// a fresh MessageID) while this one is still being signed.
		begun := *req
		early = beginCall(ctx, func(ctx context.Context) (*trustly.DepositResult, error) { return e.api.Deposit(ctx, &begun) })
	}
	return func(ctx context.Context) (Order, error) {
		if invalid != nil {
			return Order{}, invalid
		}
		return e.createPayment(ctx, r, o, req, accounts, early)
	}
}

func (e *Engine) createPayment(ctx context.Context, r PaymentRequest, o store.Order, req *trustly.DepositRequest,
	accounts func() (store.Accounts, error), early *earlyCall[*trustly.DepositResult]) (Order, error) {
	storeOrder := func(ctx context.Context) error { return e.store.CreateOpen(ctx, o, e.checkoutDeadline()) }
	express, created := createdWithClaim(ctx, o)
	if created {
		storeOrder = func(context.Context) error { return nil }
	} else {
		accts, err := accounts()
		if err != nil {
			early.drop()
			return Order{}, beforeCall(storeErr(err))
		}
		express = accts.Express
	}
	req.AccountID = express
	o.AccountID = express
	if express != "" {
		// The Deposit begun without the account is not the one to send.
		early.drop()
		early = beginCall(ctx, func(ctx context.Context) (*trustly.DepositResult, error) { return e.api.Deposit(ctx, req) })
	}
	res, err, stored := early.sendWhenStored(ctx, storeOrder)
	if stored != nil {
		return Order{}, beforeCall(storeErr(stored))
	}
	calls := []store.LogEntry{e.callLine("Deposit", req.MessageID, err)}
	for tries := 0; errors.Is(err, trustly.ErrAcceptedURLLost) && tries < 2; tries++ {
		if res, err = e.freshAttempt(ctx, o, func(mid string) (*trustly.DepositResult, error) {
			req.MessageID = mid
			res, err := e.api.Deposit(ctx, req)
			calls = append(calls, e.callLine("Deposit", mid, err))
			return res, err
		}); err == nil {
			break
		}
	}
	var tid, url string
	if res != nil {
		tid, url = res.OrderID, res.URL
	}
	return e.started(ctx, o, tid, url, err, calls)
}

// answerEarly gives the request's answer-early hook (IdempotentOrder) the
// order as s will leave it, when s may be answered before its transition
// is back, and reports whether it did, with that order and the write that
// stores the answer when it is the caller's to send (store.Along). It
// fixes s's time, so that the answer and the stored order say the same.
func (e *Engine) answerEarly(ctx context.Context, o store.Order, s *step) (bool, store.Order, *store.Along) {
	ea := earlyAnswerFrom(ctx)
	if ea == nil || !s.answerEarly {
		return false, store.Order{}, nil
	}
	m, err := MachineFor(Flow(o.Flow))
	if err != nil {
		return false, store.Order{}, nil
	}
	to, ok := m.Targets(s.event)[State(o.State)]
	if !ok {
		return false, store.Order{}, nil
	}
	s.now = e.now()
	after := o.After(string(to), s.set, s.now)
	return true, after, ea.give(view(after))
}

// freshAttempt stores a new MessageID on o before calling again.
func freshAttempt[T any](e *Engine, ctx context.Context, o store.Order, call func(mid string) (T, error)) (T, error) {
	var zero T
	mid := e.newID()
	e.log.Warn("engine: accepted attempt's answer lost (637); starting a fresh attempt",
		slog.String("order", o.ID), slog.String("old_messageid", o.MessageID), slog.String("messageid", mid))
	if err := e.store.AddMessageID(ctx, o.ID, mid, e.now()); err != nil {
		return zero, storeErr(err)
	}
	return call(mid)
}

func (e *Engine) freshAttempt(ctx context.Context, o store.Order, call func(mid string) (*trustly.DepositResult, error)) (*trustly.DepositResult, error) {
	return freshAttempt(e, ctx, o, call)
}

// started records the outcome of the call that starts a checkout order
// (Deposit, SelectAccount) and returns the order as it now stands.
func (e *Engine) started(ctx context.Context, o store.Order, tid, url string, callErr error, calls []store.LogEntry) (Order, error) {
	deadline := e.checkoutDeadline()
	var s step
	var ret error
	switch {
	case callErr == nil:
		// A resend under a fresh MessageID changed the order since it was
		// created: its answer waits for the transition's.
		s = step{event: EventAccepted, set: store.OrderPatch{TrustlyOrderID: tid, URL: url}, openUntil: deadline,
			answerEarly: len(calls) == 1}
	case errors.Is(callErr, trustly.ErrOutcomeUnknown):
		// The MessageID stays mapped: if Trustly did accept, the
		// notifications find the order, else the reconciler expires it.
		s = step{event: EventUnknown, openUntil: deadline}
		ret = errf(KindUpstream, CodeOutcomeUnknown, callErr, "Trustly's answer was lost; the order may still start")
	default:
		s = step{event: EventRejected, set: store.OrderPatch{Reason: reasonOf(callErr)}}
		ret = upstreamErr(callErr)
	}
	s.lines = calls
	return e.record(ctx, o, s, tid, ret)
}

// checkoutDeadline is when an order whose checkout starts now is stale:
// its URL has expired and no notification came for StaleAfter more.
func (e *Engine) checkoutDeadline() time.Time {
	return e.now().Add(e.cfg.CheckoutTTL + e.cfg.StaleAfter)
}

func reasonOf(err error) string {
	var te *trustly.Error
	if errors.As(err, &te) {
		return te.Code.String()
	}
	return err.Error()
}

// upstreamErr classifies Trustly's refusal: our own validation found before
// sending is the caller's mistake; anything Trustly answered is upstream.
func upstreamErr(err error) error {
	var te *trustly.Error
	if errors.As(err, &te) && te.Local {
		return errf(KindInvalid, CodeInvalidRequest, err, "%s", te.Field)
	}
	return errf(KindUpstream, CodeTrustlyRejected, err, "%s", reasonOf(err))
}

// GetPayment returns the order id (of any flow).
func (e *Engine) GetPayment(ctx context.Context, id string) (Order, error) {
	o, err := e.store.Get(ctx, id)
	if err != nil {
		return Order{}, storeErr(err)
	}
	return view(o), nil
}

// PaymentQuery finds orders by one of its fields.
type PaymentQuery struct {
	ID, MessageID, TrustlyOrderID, ExternalReference string
}

// FindPayments returns the orders matching q: one for an id, a MessageID
// or a Trustly orderid; every attempt for an ExternalReference.
func (e *Engine) FindPayments(ctx context.Context, q PaymentQuery) ([]Order, error) {
	var o store.Order
	var err error
	switch {
	case q.ID != "":
		o, err = e.store.Get(ctx, q.ID)
	case q.MessageID != "":
		o, err = e.store.ByMessageID(ctx, q.MessageID)
	case q.TrustlyOrderID != "":
		o, err = e.store.ByTrustlyOrderID(ctx, q.TrustlyOrderID)
	case q.ExternalReference != "":
		l, err := e.store.ByExternalReference(ctx, q.ExternalReference)
		if err != nil {
			return nil, storeErr(err)
		}
		out := make([]Order, 0, len(l))
		for _, o := range l {
			out = append(out, view(o))
		}
		return out, nil
	default:
		return nil, errf(KindInvalid, CodeInvalidRequest, nil, "no search field given")
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr(err)
	}
	return []Order{view(o)}, nil
}

// RefundRequest pays back part or all of a paid Deposit or Charge.
type RefundRequest struct {
	PaymentID string
	// Amount in minor units; 0 refunds everything still refundable.
	Amount int64
	// Currency, when set, must be the payment's.
	Currency          string
	ExternalReference string
	// IgnoreBalance skips the check against the last known balance, for
	// when that balance is known to be stale.
	IgnoreBalance bool
}

// Refund reserves the amount on the payment (never more than credited minus
// refunded, also for concurrent requests), then calls Refund once. A
// refusal releases the amount; a lost answer leaves the refund unknown,
// holding its amount, until a notification or GetWithdrawals settles it —
// Refund is never sent again blindly. An unknown refund is returned with no
// error: it is a refund in progress. A refund Trustly would refuse is an
// *Error of KindInvalid, checked before the amount is reserved.
func (e *Engine) Refund(ctx context.Context, r RefundRequest) (Order, error) {
	if r.Amount < 0 {
		return Order{}, errf(KindInvalid, CodeInvalidRequest, nil, "negative amount")
	}
	paid, err := e.store.Get(ctx, r.PaymentID)
	if err != nil {
		return Order{}, storeErr(err)
	}
	if paid.Flow != string(FlowDeposit) && paid.Flow != string(FlowCharge) {
		return Order{}, errf(KindConflict, CodeNotRefundable, nil, "a %s order cannot be refunded", paid.Flow)
	}
	if r.Currency != "" && r.Currency != paid.Currency {
		return Order{}, errf(KindInvalid, CodeInvalidRequest, nil, "currency %s is not the payment's %s", r.Currency, paid.Currency)
	}
	want := r.Amount
	if want == 0 {
		want = paid.Credited - paid.Refunded
	}
	req := &trustly.RefundRequest{OrderID: paid.TrustlyOrderID, Amount: want, Currency: paid.Currency, ExternalReference: r.ExternalReference}
	if paid.State == string(StatePaid) {
		// Checked only where the reservation below can succeed: for a
		// payment in another state it refuses with the state, as it
		// always did. An amount of 0 asks for what is left, which only
		// the reservation knows: it refuses when nothing is.
		var ours []string
		if r.Amount == 0 {
			ours = append(ours, "Amount")
		}
		if err := e.validate(req, ours...); err != nil {
			return Order{}, err
		}
	}
	if !r.IgnoreBalance {
		if err := e.checkBalance(ctx, want, paid.Currency); err != nil {
			return Order{}, err
		}
	}
	now := e.now()
	ref, err := e.store.ReserveRefund(ctx, store.Order{
		ID: paid.ID + "." + e.newID()[:12], Flow: string(FlowRefund), State: string(Refund.Initial),
		Currency: paid.Currency, Amount: r.Amount, EndUserID: paid.EndUserID, ExternalReference: r.ExternalReference,
		Parent: paid.ID, Created: now, Updated: now,
	}, string(StatePaid), now.Add(e.cfg.ResolveEvery))
	var ex *store.ExceedsError
	switch {
	case errors.As(err, &ex):
		return Order{}, errf(KindConflict, CodeAmountExceedsRefundable, err, "at most %s %s can be refunded", trustly.FormatAmount(ex.Refundable), paid.Currency)
	case errors.Is(err, store.ErrNotRefundable):
		return Order{}, errf(KindConflict, CodeNotRefundable, err, "the payment is %s", paid.State)
	case err != nil:
		return Order{}, storeErr(err)
	}
	log := e.log.With(slog.String("order", ref.ID), slog.String("orderid", paid.TrustlyOrderID), slog.String("messageid", paid.MessageID))
	req.Amount = ref.Amount
	res, callErr := e.api.Refund(ctx, req)
	call := e.callLine("Refund", "", refusal(callErr, res != nil && !res.Accepted, nil))
	var s step
	var ret error
	switch {
	case callErr == nil && res.Accepted:
		s = step{event: EventAccepted, set: store.OrderPatch{TrustlyOrderID: res.OrderID}}
	case callErr == nil:
		s = step{event: EventRejected, set: store.OrderPatch{Reason: "result 0"}}
		ret = errf(KindUpstream, CodeTrustlyRejected, nil, "Trustly did not accept the refund")
	case errors.Is(callErr, trustly.ErrOutcomeUnknown):
		log.Warn("engine: refund outcome unknown; resolving from notifications or GetWithdrawals", slog.String("error", callErr.Error()))
		s = step{event: EventUnknown, openUntil: now.Add(e.cfg.ResolveEvery)}
	default:
		s = step{event: EventRejected, set: store.OrderPatch{Reason: reasonOf(callErr)}}
		ret = upstreamErr(callErr)
	}
	s.lines = []store.LogEntry{call}
	return e.record(ctx, ref, s, s.set.TrustlyOrderID, ret)
}

// MandateRequest asks the shopper to choose an account and approve a
// direct debit mandate (SelectAccount with RequestDirectDebitMandate).
type MandateRequest struct {
	EndUserID                                                             string
	Country, Locale, Firstname, Lastname                                  string
	Email                                                                 string // required by Trustly for a mandate
	SuccessURL, FailURL                                                   string
	IP, MobilePhone, DateOfBirth, NationalIdentificationNumber, URLTarget string
}

// CreateMandate starts a mandate order; its account notification decides
// it. A request Trustly would refuse is an *Error of KindInvalid and stores
// nothing.
func (e *Engine) CreateMandate(ctx context.Context, r MandateRequest) (Order, error) {
	return e.PrepareMandate(ctx, r)(ctx)
}

// PrepareMandate is CreateMandate in two steps, as PreparePayment: the
// SelectAccount is begun (built, signed, held) now, beside the caller's
// idempotency claim, and sent only by the step it returns.
func (e *Engine) PrepareMandate(ctx context.Context, r MandateRequest) func(context.Context) (Order, error) {
	now := e.now()
	o := store.Order{ID: e.newID(), Flow: string(FlowMandate), State: string(Mandate.Initial),
		EndUserID: r.EndUserID, MessageID: e.newID(), Created: now, Updated: now}
	req := &trustly.SelectAccountRequest{
		NotificationURL: e.cfg.NotificationURL, EndUserID: r.EndUserID, MessageID: o.MessageID,
		Locale: r.Locale, Country: r.Country, Firstname: r.Firstname, Lastname: r.Lastname,
		SuccessURL: r.SuccessURL, FailURL: r.FailURL, Email: r.Email, IP: r.IP, MobilePhone: r.MobilePhone,
		DateOfBirth: r.DateOfBirth, NationalIdentificationNumber: r.NationalIdentificationNumber,
		RequestDirectDebitMandate: true, URLTarget: r.URLTarget,
	}
	invalid := e.validate(req)
	var early *earlyCall[*trustly.SelectAccountResult]
	if invalid == nil {
		// A copy: a fresh attempt changes the step's MessageID.
		begun := *req
		early = beginCall(ctx, func(ctx context.Context) (*trustly.SelectAccountResult, error) {
			return e.api.SelectAccount(ctx, &begun)
		})
	}
	return func(ctx context.Context) (Order, error) {
		if invalid != nil {
			return Order{}, invalid
		}
		return e.createMandate(ctx, o, req, early)
	}
}

func (e *Engine) createMandate(ctx context.Context, o store.Order, req *trustly.SelectAccountRequest,
	early *earlyCall[*trustly.SelectAccountResult]) (Order, error) {
	res, err, stored := early.sendWhenStored(ctx, func(ctx context.Context) error {
		return e.store.CreateOpen(ctx, o, e.checkoutDeadline())
	})
	if stored != nil {
		return Order{}, beforeCall(storeErr(stored))
	}
	calls := []store.LogEntry{e.callLine("SelectAccount", req.MessageID, err)}
	for tries := 0; errors.Is(err, trustly.ErrAcceptedURLLost) && tries < 2; tries++ {
		if res, err = freshAttempt(e, ctx, o, func(mid string) (*trustly.SelectAccountResult, error) {
			req.MessageID = mid
			res, err := e.api.SelectAccount(ctx, req)
			calls = append(calls, e.callLine("SelectAccount", mid, err))
			return res, err
		}); err == nil {
			break
		}
	}
	var tid, url string
	if res != nil {
		tid, url = res.OrderID, res.URL
	}
	return e.started(ctx, o, tid, url, err, calls)
}

// ChargeRequest collects from the shopper's account with an active mandate.
type ChargeRequest struct {
	EndUserID         string
	Currency          string
	Amount            int64
	PaymentDate       string // YYYY-MM-DD; empty = as soon as possible
	ShopperStatement  string
	Email             string
	ExternalReference string
}

// CreateCharge calls Charge with the account whose mandate is active. A
// request Trustly would refuse is an *Error of KindInvalid and stores
// nothing.
func (e *Engine) CreateCharge(ctx context.Context, r ChargeRequest) (Order, error) {
	return e.PrepareCharge(ctx, r)(ctx)
}

// PrepareCharge is CreateCharge in two steps, as PreparePayment: the
// shopper's mandate is read now, beside the caller's idempotency claim,
// and the Charge on its account begun (built, signed, held) as soon as it
// is known; only the step it returns sends it.
func (e *Engine) PrepareCharge(ctx context.Context, r ChargeRequest) func(context.Context) (Order, error) {
	id := e.newID()
	req := &trustly.ChargeRequest{
		NotificationURL: e.cfg.NotificationURL, EndUserID: r.EndUserID, MessageID: e.newID(),
		Amount: r.Amount, Currency: r.Currency, ShopperStatement: r.ShopperStatement,
		Email: r.Email, PaymentDate: r.PaymentDate, ExternalReference: r.ExternalReference,
	}
	// The account is the mandate's, looked up below: not the caller's.
	if err := e.validate(req, "AccountID"); err != nil {
		return func(context.Context) (Order, error) { return Order{}, err }
	}
	done := make(chan mandateRead, 1)
	go func() {
		a, err := e.store.Accounts(ctx, r.EndUserID)
		got := mandateRead{accts: a, err: err}
		if err == nil && a.Mandate != "" {
			begun := *req
			begun.AccountID = a.Mandate
			got.early = beginCall(ctx, func(ctx context.Context) (*trustly.ChargeResult, error) { return e.api.Charge(ctx, &begun) })
		}
		done <- got
	}()
	return func(ctx context.Context) (Order, error) { return e.createCharge(ctx, r, id, req, <-done) }
}

// mandateRead is what PrepareCharge read, and the Charge it began on the
// mandate's account (nil when there is none).
type mandateRead struct {
	accts store.Accounts
	err   error
	early *earlyCall[*trustly.ChargeResult]
}

func (e *Engine) createCharge(ctx context.Context, r ChargeRequest, id string, req *trustly.ChargeRequest, got mandateRead) (Order, error) {
	if got.err != nil {
		return Order{}, beforeCall(storeErr(got.err))
	}
	accts := got.accts
	if accts.Mandate == "" {
		return Order{}, errf(KindConflict, CodeNoActiveMandate, nil, "shopper %s has no account with an active mandate", r.EndUserID)
	}
	req.AccountID = accts.Mandate
	now := e.now()
	o := store.Order{ID: id, Flow: string(FlowCharge), State: string(Charge.Initial),
		Currency: r.Currency, Amount: r.Amount, EndUserID: r.EndUserID, ExternalReference: r.ExternalReference,
		MessageID: req.MessageID, AccountID: accts.Mandate, PaymentDate: r.PaymentDate, Created: now, Updated: now}
	res, callErr, stored := got.early.sendWhenStored(ctx, func(ctx context.Context) error { return e.store.Create(ctx, o) })
	if stored != nil {
		return Order{}, beforeCall(storeErr(stored))
	}
	call := e.callLine("Charge", req.MessageID, refusal(callErr, res != nil && !res.Accepted, func() string { return res.Rejected }))
	var s step
	var ret error
	switch {
	case callErr == nil && res.Accepted:
		s = step{event: EventAccepted, set: store.OrderPatch{TrustlyOrderID: res.OrderID}, answerEarly: true}
	case callErr == nil:
		s = step{event: EventRejected, set: store.OrderPatch{Reason: res.Rejected}}
		ret = errf(KindConflict, CodeChargeRejected, nil, "Trustly rejected the charge: %s", res.Rejected)
	case errors.Is(callErr, trustly.ErrAcceptedURLLost):
		// A Charge has no URL: 637 after a resend means it was accepted;
		// its notifications carry the MessageID and the orderid.
		s = step{event: EventAccepted}
	case errors.Is(callErr, trustly.ErrOutcomeUnknown):
		s = step{event: EventUnknown}
		ret = errf(KindUpstream, CodeOutcomeUnknown, callErr, "Trustly's answer was lost; the charge may still happen")
	default:
		s = step{event: EventRejected, set: store.OrderPatch{Reason: reasonOf(callErr)}}
		ret = upstreamErr(callErr)
	}
	s.lines = []store.LogEntry{call}
	return e.record(ctx, o, s, s.set.TrustlyOrderID, ret)
}

// CancelCharge stops a Charge before its PaymentDate. A request Trustly
// would refuse is an *Error of KindInvalid and is not sent.
func (e *Engine) CancelCharge(ctx context.Context, id string) (Order, error) {
	o, err := e.store.Get(ctx, id)
	if err != nil {
		return Order{}, storeErr(err)
	}
	if o.Flow != string(FlowCharge) {
		return Order{}, errf(KindConflict, CodeNotCancellable, nil, "a %s order is not a charge", o.Flow)
	}
	_, changed, err := Charge.Next(State(o.State), EventCancelCharge)
	if err == nil && !changed {
		// Cancelled already: asking Trustly again would only be refused.
		return view(o), nil
	}
	if err != nil || o.TrustlyOrderID == "" {
		return Order{}, errf(KindConflict, CodeNotCancellable, err, "the charge is %s", o.State)
	}
	req := &trustly.CancelChargeRequest{OrderID: o.TrustlyOrderID}
	if err := e.validate(req); err != nil {
		return Order{}, err
	}
	res, err := e.api.CancelCharge(ctx, req)
	e.noteCall(ctx, o.ID, "CancelCharge", "", refusal(err, res != nil && !res.Accepted, func() string { return res.Rejected }))
	switch {
	case errors.Is(err, trustly.ErrOutcomeUnknown):
		return view(o), errf(KindUpstream, CodeOutcomeUnknown, err, "the cancel notification will tell")
	case err != nil:
		return view(o), upstreamErr(err)
	case !res.Accepted:
		return view(o), errf(KindConflict, CodeCancelRejected, nil, "Trustly refused: %s", res.Rejected)
	}
	if _, err := e.apply(ctx, o, step{event: EventCancelCharge}); err != nil {
		return Order{}, storeErr(err)
	}
	return e.GetPayment(ctx, id)
}

// String shows an order for logs without personal or bank data.
func (o Order) String() string {
	return fmt.Sprintf("%s %s %s %s %s", o.Flow, o.ID, o.State, trustly.FormatAmount(o.Amount), o.Currency)
}

// record applies the outcome of a Trustly call to the order, indexes the
// Trustly orderid it brought (if any), and returns the order as stored
// (as answered, when the answer was given early) with ret, the error the
// caller should see.
func (e *Engine) record(ctx context.Context, o store.Order, s step, tid string, ret error) (Order, error) {
	early, predicted, answer := e.answerEarly(ctx, o, &s)
	// The shop's answer is what was given early, whatever the transition
	// returns, and the predicted order holds all the known-orders memory
	// takes from one (the orderid, MessageID, flow and terms, never the
	// state): the script need not send the whole order back, which cost a
	// third of its time inside Redis. Otherwise the order as answered comes
	// back from the script itself.
	s.withOrder = !early
	// The orderid's index entry and the stored answer go with the
	// transition, in its round trip: they are in other slots and none
	// needs another's answer (store.Along).
	var along []*store.Along
	if tid != "" {
		along = append(along, e.store.IndexAlong(tid, o.ID))
	}
	if answer != nil {
		along = append(along, answer)
		// The answer is stored even when the caller has gone: the
		// request ran (Idempotent's stores use the same context).
		ctx = context.WithoutCancel(ctx)
	}
	a, err := e.apply(ctx, o, s, along...)
	var ierr error
	if tid != "" {
		ierr = along[0].Err()
	}
	if err = errors.Join(err, ierr); err != nil {
		if early {
			// The shop is answered with the stored outcome all the same:
			// the order stays as created, which its notifications and
			// the reconciler handle, and a person should know.
			e.log.ErrorContext(ctx, "engine: the call's answer is stored for the shop but not on its order",
				slog.String("order", o.ID), slog.String("messageid", o.MessageID), slog.String("error", err.Error()))
		}
		return Order{}, storeErr(err)
	}
	if tid != "" && a.TTL > 0 {
		// The order already ends (a notification came before the call's
		// answer): its entry takes the order's TTL, as the transition told.
		if err := e.store.IndexTrustlyOrderIDTTL(ctx, tid, o.ID, a.TTL); err != nil {
			return Order{}, storeErr(err)
		}
	}
	cur := a.Order
	if early {
		cur = &predicted
	}
	if cur == nil {
		got, err := e.store.Get(ctx, o.ID)
		if err != nil {
			return Order{}, storeErr(err)
		}
		cur = &got
	}
	// Its notifications need no read of it in this process (knownOrders).
	e.known.remember(tid, *cur, "")
	return view(*cur), ret
}
