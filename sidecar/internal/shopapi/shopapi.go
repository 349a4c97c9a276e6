// Package shopapi is the JSON of the shop API (/v1): the requests a shop
// sends and the answers it gets. Whether Trustly would take a request is
// checked once, by the engine, before anything is stored. Money is always an integer number of minor units
// (`amount`, öre or cents) with an ISO 4217 `currency`; there are no floats
// and no decimal strings anywhere in it. The HTTP layer (httpapi), pay links
// and the demo shop share these types; nothing here knows HTTP.
package shopapi

import (
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// InvalidError is a request the shop API refuses before anything happens:
// the caller's mistake, described for the caller.
type InvalidError struct{ Message string }

func (e *InvalidError) Error() string { return "invalid_request: " + e.Message }

// Invalid returns an *InvalidError.
func Invalid(format string, a ...any) error {
	return &InvalidError{Message: fmt.Sprintf(format, a...)}
}

func invalid(format string, a ...any) error { return Invalid(format, a...) }

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
	// UnchangeableNationalIdentificationNumber locks the shopper to that
	// number at the bank (Sweden); the number is then required.
	UnchangeableNationalIdentificationNumber bool   `json:"unchangeableNationalIdentificationNumber,omitempty"`
	IP                                       string `json:"ip,omitempty"`
}

// ShippingAddress is where the goods go: split, or in one line (address).
type ShippingAddress struct {
	Country    string `json:"country,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	City       string `json:"city,omitempty"`
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	Address    string `json:"address,omitempty"`
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
	// RequestDirectDebitMandate pays now and sets up a direct debit
	// mandate in the same checkout; shopper.email is then required.
	RequestDirectDebitMandate bool             `json:"requestDirectDebitMandate,omitempty"`
	ShippingAddress           *ShippingAddress `json:"shippingAddress,omitempty"`
	// URLTarget is the frame SuccessURL/FailURL load in when the checkout
	// is shown in an iframe (e.g. "_top"); see Trustly's presentation guide.
	URLTarget string `json:"urlTarget,omitempty"`
	// RequestKYC asks Trustly for the shopper's identity before the
	// transfer; the sidecar answers Trustly's kyc by its KYC rules, with
	// KYCMinimumAge (when above 0) as this payment's minimum age.
	RequestKYC           bool                  `json:"requestKyc,omitempty"`
	KYCMinimumAge        int                   `json:"kycMinimumAge,omitempty"`
	RecipientInformation *RecipientInformation `json:"recipientInformation,omitempty"`
}

// RecipientInformation is the payee of a Deposit (Trustly's attribute of
// that name), for money transfer services, e-wallets, prepaid cards and
// partners that aggregate merchants.
type RecipientInformation struct {
	PartyType   string `json:"partyType"` // PERSON or ORGANISATION
	FirstName   string `json:"firstName"` // or the organisation's name
	LastName    string `json:"lastName,omitempty"`
	CountryCode string `json:"countryCode"`
	CustomerID  string `json:"customerId,omitempty"`
	Address     string `json:"address,omitempty"`
	// DateOfBirth is YYYY-MM-DD for a person, the organisation number for
	// an organisation.
	DateOfBirth string `json:"dateOfBirth,omitempty"`
}

// Trustly is RecipientInformation for the engine; nil stays nil.
func (ri *RecipientInformation) Trustly() *trustly.RecipientInformation {
	if ri == nil {
		return nil
	}
	return &trustly.RecipientInformation{PartyType: ri.PartyType, FirstName: ri.FirstName, LastName: ri.LastName,
		CountryCode: ri.CountryCode, CustomerID: ri.CustomerID, Address: ri.Address, DateOfBirth: ri.DateOfBirth}
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
	KYC               *KYC      `json:"kyc,omitempty"`
	Created           time.Time `json:"created"`
	Updated           time.Time `json:"updated"`
}

// KYC is a Deposit's identity check: the rules and, once Trustly's kyc
// came, the answer and why. Never the person's data.
type KYC struct {
	Requested       bool      `json:"requested"`
	MinimumAge      int       `json:"minimumAge,omitempty"`
	NationalIDMatch bool      `json:"nationalIdMatch,omitempty"`
	Decision        string    `json:"decision,omitempty"`
	Reason          string    `json:"reason,omitempty"`
	Detail          string    `json:"detail,omitempty"`
	NotificationID  string    `json:"notificationId,omitempty"`
	DecidedAt       time.Time `json:"decidedAt,omitzero"`
}

func kycOf(k *engine.KYC) *KYC {
	if k == nil {
		return nil
	}
	return &KYC{Requested: k.Requested, MinimumAge: k.MinimumAge, NationalIDMatch: k.NationalIDMatch, Decision: k.Decision,
		Reason: k.Reason, Detail: k.Detail, NotificationID: k.NotificationID, DecidedAt: k.DecidedAt}
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

// OrderOf is the API's view of an engine order.
func OrderOf(o engine.Order) Order {
	return Order{
		ID: o.ID, Flow: string(o.Flow), State: string(o.State), Amount: o.Amount, MinAmount: o.MinAmount, MaxAmount: o.MaxAmount,
		Currency: o.Currency, Credited: o.Credited, Refunded: o.Refunded, Refundable: o.Refundable, EndUserID: o.EndUserID,
		ExternalReference: o.ExternalReference, MessageID: o.MessageID, TrustlyOrderID: o.TrustlyOrderID, URL: o.URL,
		PaymentDate: o.PaymentDate, PaymentID: o.Parent, Refunds: o.Refunds, Attention: o.Attention, Reason: o.Reason,
		KYC: kycOf(o.KYC), Created: o.Created, Updated: o.Updated,
	}
}

// Whether Trustly would take a request is checked once, by the engine,
// before anything is stored (core/trustly's rules); the API checks only
// what is its own, like a pay link's order reference.

// CreatePayLinkRequest makes a pay link for one order and amount.
type CreatePayLinkRequest struct {
	OrderReference   string   `json:"orderReference"`
	Amount           int64    `json:"amount"`
	Currency         string   `json:"currency"`
	Shopper          Shopper  `json:"shopper"`
	SuccessURL       string   `json:"successUrl"`
	FailURL          string   `json:"failUrl"`
	ShopperStatement string   `json:"shopperStatement"`
	TTLSeconds       int64    `json:"ttlSeconds,omitempty"`
	Send             []string `json:"send,omitempty"` // "email", "sms"
}

// PayLink is the answer: the link, and how its deliveries went.
type PayLink struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	OrderReference string     `json:"orderReference"`
	Amount         int64      `json:"amount"`
	Currency       string     `json:"currency"`
	ExpiresAt      time.Time  `json:"expiresAt"`
	Deliveries     []Delivery `json:"deliveries"`
}

// PayLinkStatus is a link as GET and DELETE /v1/paylinks/{id} show it.
type PayLinkStatus struct {
	ID             string     `json:"id"`
	OrderReference string     `json:"orderReference"`
	Amount         int64      `json:"amount"`
	Currency       string     `json:"currency"`
	Created        time.Time  `json:"created"`
	ExpiresAt      time.Time  `json:"expiresAt"`
	RevokedAt      *time.Time `json:"revokedAt,omitempty"`
	// Status: active (payable), processing (the bank accepted, not yet
	// credited), paid, reversed (paid, then returned by the bank), revoked
	// (by the shop) or expired.
	Status string `json:"status"`
	// Attempts are the Deposits the link's Pay button made, oldest first.
	Attempts []Order `json:"attempts"`
	// Payment is the attempt that was paid or is being paid, if any.
	Payment *Order `json:"payment,omitempty"`
}

// Delivery is the outcome of sending the link over one channel.
type Delivery struct {
	Channel string `json:"channel"`
	Status  string `json:"status"` // sent or failed
	Error   string `json:"error,omitempty"`
}

// ControlRe finds control characters, which no free-text field may hold.
var ControlRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[\x00-\x1f\x7f]`) })

// Check checks what is the link's own: its order reference. The Deposit a
// click will make is checked by the engine when the link is made; its life
// and delivery channels by the pay-link service, which knows the settings.
func (r CreatePayLinkRequest) Check() error {
	if r.OrderReference == "" || len(r.OrderReference) > 128 || ControlRe().MatchString(r.OrderReference) {
		return invalid("orderReference (the shop's order id, at most 128 printable characters) is required")
	}
	return nil
}

// WebhookResult is one command's outcome in an asynchronous platform's
// answer.
type WebhookResult struct {
	Kind           string `json:"kind"`
	IdempotencyKey string `json:"idempotencyKey"`
	OK             bool   `json:"ok"`
	Status         int    `json:"status"`
	OrderID        string `json:"orderId,omitempty"`
	PlatformOrder  string `json:"platformOrderId,omitempty"`
	TrustlyOrderID string `json:"trustlyOrderId,omitempty"`
	URL            string `json:"url,omitempty"`
	Replayed       bool   `json:"replayed,omitempty"`
	// Pending: still running when a synchronous platform's answer was due.
	Pending bool         `json:"pending,omitempty"`
	Error   *ErrorDetail `json:"error,omitempty"`
}

// WebhookAnswer is what an asynchronous platform gets: 200 when every
// command succeeded, else the first failure's status with its error, and
// always every command's result.
type WebhookAnswer struct {
	Platform string          `json:"platform"`
	Results  []WebhookResult `json:"results"`
	Error    *ErrorDetail    `json:"error,omitempty"`
}

// UnroutedNotification is a notification no order took, kept for a person:
// what Trustly sent (its data, without the signature), why it was kept and
// what Trustly was answered.
type UnroutedNotification struct {
	NotificationID string         `json:"notificationId"`
	Method         string         `json:"method"`
	TrustlyOrderID string         `json:"trustlyOrderId,omitempty"`
	MessageID      string         `json:"messageId,omitempty"`
	Reason         string         `json:"reason"`
	Answer         string         `json:"answer"`
	Data           map[string]any `json:"data,omitempty"`
	ReceivedAt     time.Time      `json:"receivedAt"`
}

// UnroutedList is the answer of GET /v1/notifications/unrouted, oldest
// first.
type UnroutedList struct {
	Notifications []UnroutedNotification `json:"notifications"`
}

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error's stable machine code, a message safe to show the
// caller, and the request id that finds it in the logs.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// Timeline is an order's story, for GET /v1/payments/{id}/events.
type Timeline struct {
	OrderID string          `json:"orderId"`
	State   string          `json:"state"`
	Events  []TimelineEvent `json:"events"`
}

// TimelineEvent is one entry of a Timeline.
type TimelineEvent struct {
	At time.Time `json:"at"`
	// Kind: call (to Trustly), notification (from Trustly), change (of
	// state, from a call's answer or the reconciler) or platform (a status
	// change the shop platform received).
	Kind           string `json:"kind"`
	What           string `json:"what"`
	NotificationID string `json:"notificationId,omitempty"`
	Outcome        string `json:"outcome,omitempty"`
	From           string `json:"from,omitempty"`
	To             string `json:"to,omitempty"`
	Note           string `json:"note,omitempty"`
}

// TimelineOf is the answer for order o with its timeline.
func TimelineOf(o engine.Order, tl []engine.TimelineEntry) Timeline {
	out := Timeline{OrderID: o.ID, State: string(o.State), Events: make([]TimelineEvent, 0, len(tl))}
	for _, e := range tl {
		out.Events = append(out.Events, TimelineEvent{At: e.At.UTC(), Kind: e.Kind, What: e.What, NotificationID: e.NotificationID,
			Outcome: e.Outcome, From: string(e.From), To: string(e.To), Note: e.Note})
	}
	return out
}
