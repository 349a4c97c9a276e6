// Package shopapi is the JSON of the shop API (/v1): the requests a shop
// sends, the answers it gets, and the checks a request must pass before
// anything is stored. Money is always an integer number of minor units
// (`amount`, öre or cents) with an ISO 4217 `currency`; there are no floats
// and no decimal strings anywhere in it. The HTTP layer (httpapi), pay links
// and the demo shop share these types; nothing here knows HTTP.
package shopapi

import (
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
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

// OrderOf is the API's view of an engine order.
func OrderOf(o engine.Order) Order {
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
	CountryRe  = regexp.MustCompile(`^[A-Z]{2}$`)
	LocaleRe   = regexp.MustCompile(`^[a-z]{2}_[A-Z]{2}$`)
	dateRe     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// MaxField bounds free-text fields; Trustly's own limits are lower for most.
const MaxField = 512

// CheckCurrency refuses what is not an ISO 4217 code.
func CheckCurrency(c string) error {
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
	case s.EndUserID == "" || len(s.EndUserID) > MaxField:
		return invalid("shopper.endUserId is required (at most %d characters)", MaxField)
	case s.FirstName == "" || s.LastName == "":
		return invalid("shopper.firstName and shopper.lastName are required")
	case !CountryRe.MatchString(s.Country):
		return invalid("shopper.country %q must be an ISO 3166-1 alpha-2 code like SE", s.Country)
	case !LocaleRe.MatchString(s.Locale):
		return invalid("shopper.locale %q must be a locale like sv_SE (Trustly requires it)", s.Locale)
	case s.Country != "" && !CountryRe.MatchString(s.Country):
		return invalid("shopper.country %q is not an ISO 3166-1 alpha-2 code like SE", s.Country)
	}
	return nil
}

func (r CreatePaymentRequest) Check() error {
	if err := r.Shopper.check(); err != nil {
		return err
	}
	if err := CheckCurrency(r.Currency); err != nil {
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
	case len(r.URLTarget) > 64 || ControlRe.MatchString(r.URLTarget):
		return invalid("urlTarget is a frame name like _top (at most 64 characters)")
	case len(r.ExternalReference) > MaxField || len(r.ShopperStatement) > MaxField:
		return invalid("externalReference and shopperStatement hold at most %d characters", MaxField)
	}
	if err := checkURLField("successUrl", r.SuccessURL); err != nil {
		return err
	}
	return checkURLField("failUrl", r.FailURL)
}

func (r CreateRefundRequest) Check() error {
	if r.Amount < 0 {
		return invalid("amount must not be negative (0 or absent refunds everything refundable)")
	}
	if r.Currency != "" {
		return CheckCurrency(r.Currency)
	}
	return nil
}

func (r CreateMandateRequest) Check() error {
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

func (r CreateChargeRequest) Check() error {
	switch {
	case r.EndUserID == "" || len(r.EndUserID) > MaxField:
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
	return CheckCurrency(r.Currency)
}

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

// Delivery is the outcome of sending the link over one channel.
type Delivery struct {
	Channel string `json:"channel"`
	Status  string `json:"status"` // sent or failed
	Error   string `json:"error,omitempty"`
}

// ControlRe finds control characters, which no free-text field may hold.
var ControlRe = regexp.MustCompile(`[\x00-\x1f\x7f]`)

// Check checks the link's shape; the pay-link service checks its life and
// delivery channels, which depend on the configuration.
func (r CreatePayLinkRequest) Check() error {
	if err := r.Shopper.check(); err != nil {
		return err
	}
	if err := CheckCurrency(r.Currency); err != nil {
		return err
	}
	switch {
	case r.OrderReference == "" || len(r.OrderReference) > 128 || ControlRe.MatchString(r.OrderReference):
		return invalid("orderReference (the shop's order id, at most 128 printable characters) is required")
	case r.Amount <= 0:
		return invalid("amount (minor units, e.g. 10300 for 103.00) must be positive")
	case r.ShopperStatement == "" || len(r.ShopperStatement) > MaxField:
		return invalid("shopperStatement (the text on the shopper's bank statement) is required")
	case r.Shopper.Email == "":
		return invalid("shopper.email is required")
	}
	if err := checkURLField("successUrl", r.SuccessURL); err != nil {
		return err
	}
	return checkURLField("failUrl", r.FailURL)
}

// WebhookResult is one command's outcome in an asynchronous platform's
// answer.
type WebhookResult struct {
	Kind           string       `json:"kind"`
	IdempotencyKey string       `json:"idempotencyKey"`
	OK             bool         `json:"ok"`
	Status         int          `json:"status"`
	OrderID        string       `json:"orderId,omitempty"`
	PlatformOrder  string       `json:"platformOrderId,omitempty"`
	TrustlyOrderID string       `json:"trustlyOrderId,omitempty"`
	URL            string       `json:"url,omitempty"`
	Replayed       bool         `json:"replayed,omitempty"`
	Error          *ErrorDetail `json:"error,omitempty"`
}

// WebhookAnswer is what an asynchronous platform gets: 200 when every
// command succeeded, else the first failure's status with its error, and
// always every command's result.
type WebhookAnswer struct {
	Platform string          `json:"platform"`
	Results  []WebhookResult `json:"results"`
	Error    *ErrorDetail    `json:"error,omitempty"`
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
