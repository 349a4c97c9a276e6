// Package adapter is the SDK for writing a trustly-sidecar platform adapter:
// the plugin that connects the sidecar to one shop platform (WooCommerce,
// Saleor, commercetools, a custom shop, ...).
//
// An adapter implements Adapter and calls Serve from its main. The sidecar
// runs it as a separate process (hashicorp/go-plugin over gRPC) and talks to
// it only through this interface, so an adapter never imports the sidecar's
// core and a crashing adapter never takes the sidecar down.
//
// The types here are the adapter's own view of a payment: money in minor
// units with an ISO 4217 currency, the platform's order reference and the
// customer. They are deliberately not the core's types, so the core can
// change without breaking adapters.
//
// Every Command an adapter returns must pass Command.Validate: those are the
// rules the sidecar refuses a command by (Trustly needs the payer's e-mail
// and name for a payment, an ISO 4217 currency, ...), and adaptertest fails
// an adapter whose Translate returns a command that breaks one.
//
// Adapters must be stateless: the sidecar restarts a crashed adapter and
// resends whatever it was doing, so everything an adapter needs arrives in
// the call (or in its configuration, read once at start).
package adapter

import (
	"context"
	"net/http"
	"time"
)

// Adapter is what a platform adapter implements. The host calls it from
// several goroutines at once; every method must honour ctx's deadline.
type Adapter interface {
	// Describe says who the adapter is and what it can do. The host calls it
	// after every (re)start.
	Describe(ctx context.Context) (Description, error)

	// Translate verifies an inbound platform request (a webhook, or the
	// request of a synchronous platform) and turns it into zero or more
	// payment commands. It must check the platform's signature over
	// req.Body exactly as received before trusting anything in it: a
	// missing or wrong signature is ErrUnauthenticated, a malformed body
	// ErrInvalid. Zero commands is a valid answer (a ping, a topic the
	// adapter ignores).
	//
	// Each command's IdempotencyKey is derived from the platform's delivery
	// or event id, so a redelivery of the same event yields the same keys
	// and the host acts on it once. Each command must pass its Validate;
	// a request that cannot make a valid command is ErrInvalid.
	Translate(ctx context.Context, req Request) ([]Command, error)

	// Answer renders the HTTP response to a synchronous platform request
	// (Saleor's synchronous webhooks, a commercetools API extension) after
	// the host has carried out the commands Translate returned; results are
	// in the same order as those commands. The platform is waiting, so
	// Answer must return well within ctx's deadline. Adapters of purely
	// asynchronous platforms return ErrUnsupported.
	Answer(ctx context.Context, req Request, results []Result) (Response, error)

	// ApplyStatus writes a payment status change into the platform's order.
	// nil means done. Otherwise the error says what the host does next:
	// ErrRetryable (platform down, busy, timed out: the host retries with
	// backoff until it lands, however long that takes) or ErrPermanent (the
	// platform refused: retrying will not help; the change is dead-lettered
	// for a person). An unclassified error is retried, but adaptertest
	// reports it.
	//
	// The host may deliver the same change more than once (after a crash,
	// a timeout, a restart), so applying it again must be harmless:
	// change.ID identifies it for the platform.
	ApplyStatus(ctx context.Context, change StatusChange) error
}

// Description is an adapter's answer to Describe.
type Description struct {
	Name    string // short lower-case platform name, e.g. "woocommerce"
	Version string // the adapter's own version, for logs and /readyz
	Flows   []Flow // the payment flows the adapter can translate
	// Async: the platform sends webhooks and takes status by write-back.
	// Sync: the platform calls and waits for an answer (see Answer).
	// A platform can be both (Saleor answers synchronously and takes
	// asynchronous status reports).
	Async bool
	Sync  bool
	// AnswerWithin is how long a synchronous platform waits for an answer
	// (its timeout for the call: commercetools' API extension timeout, for
	// instance). The host calls Answer no later than that after the request
	// arrived, keeping a margin for Answer itself; a command still running
	// then is reported as Result.Pending, goes on in the background (the
	// platform hanging up does not stop it) and completes under its
	// idempotency key, so the same request sent again gets its outcome.
	// Zero: the host waits for every command, however long.
	AnswerWithin time.Duration
	// Public says the platform calls from outside the pod (a SaaS platform,
	// another cluster): the host then also serves the adapter's routes on
	// its public listener, at /platform/{name} and below, besides the
	// private /v1/webhooks/{name}. Every public request reaches Translate,
	// so the adapter must authenticate all of them (a manifest or another
	// page meant for anyone is the exception it decides on).
	Public bool
	// Redelivery is what the platform does with a request the host answers
	// with an error status. The host answers an asynchronous platform that
	// never resends (RedeliveryNever) 2xx even when a command failed, with
	// the failure in the body, logged and counted for a person: an error
	// status would recover nothing there and may cost more (WooCommerce
	// disables a webhook after a few). Unset: the host assumes it resends.
	Redelivery Redelivery
}

// Redelivery is what a platform does with a request answered non-2xx.
type Redelivery string

// The platforms' habits, for Description.Redelivery.
const (
	RedeliveryUnknown Redelivery = ""         // not declared: the host assumes RedeliveryOnError
	RedeliveryOnError Redelivery = "on-error" // it sends the request again later
	RedeliveryNever   Redelivery = "never"    // it logs the failure and never sends it again
)

// Flow is a payment scenario an adapter supports.
type Flow string

// The flows of Trustly's e-commerce guide.
const (
	FlowPayment   Flow = "payment"     // one-time payment (Deposit)
	FlowRefund    Flow = "refund"      // full and partial refunds
	FlowRecurring Flow = "recurring"   // mandate, then charges
	FlowInvoice   Flow = "invoice"     // pay by invoice
	FlowPayByLink Flow = "pay-by-link" // a link the platform or e-mail delivers
)

// Request is an inbound platform request, as the sidecar received it.
type Request struct {
	Method string
	// Path is the path below the adapter's route (/v1/webhooks/{name} or
	// /platform/{name}): "/" at the route itself, "/manifest" below it.
	Path     string
	RawQuery string // the query string, without '?'
	Header   http.Header
	Body     []byte // raw, exactly as received: signatures are over these bytes
	// Public is true for a request that came in on the public listener
	// (see Description.Public).
	Public bool
	// BaseURL is the absolute URL of the adapter's public route
	// (https://pay.example.com/platform/{name}), for an adapter that
	// must tell the platform where to call (an app manifest); empty when
	// the adapter is not Public.
	BaseURL string
	// ReceivedAt is the host's clock when the request arrived. Adapters use
	// it (not their own clock) for replay windows, so tests are repeatable.
	ReceivedAt time.Time
}

// Money is an amount in minor units (cents, öre) of an ISO 4217 currency.
// There are no floats anywhere in the contract.
type Money struct {
	Minor    int64
	Currency string
}

// Order is the platform's reference to an order.
type Order struct {
	ID     string // the platform's stable id
	Number string // what the shopper sees, when it differs from ID
}

// Customer is what the platform knows about the payer. Trustly needs some of
// it (EndUserID, e-mail for mandates, country for the bank selection).
type Customer struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
	Country   string // ISO 3166-1 alpha-2
	Phone     string
	// NationalID is the payer's national identification number (a Swedish
	// personnummer), when the platform has it; NationalIDLocked makes the
	// bank accept only that person (Trustly's
	// UnchangeableNationalIdentificationNumber).
	NationalID       string
	NationalIDLocked bool
}

// Address is a postal address: where the goods of a payment go.
type Address struct {
	Country    string // ISO 3166-1 alpha-2
	PostalCode string
	City       string
	Line1      string
	Line2      string
}

// CommandKind is what the host is asked to do.
type CommandKind string

// The commands an inbound request can turn into.
const (
	CommandPay          CommandKind = "pay"           // start a one-time payment (Deposit)
	CommandRefund       CommandKind = "refund"        // refund (part of) a paid order; Reference names it
	CommandMandate      CommandKind = "mandate"       // set up a direct debit mandate (SelectAccount)
	CommandCharge       CommandKind = "charge"        // charge an active mandate
	CommandCancelCharge CommandKind = "cancel-charge" // cancel a charge not yet executed; Reference names it
)

// Command is one thing the platform asked for. Validate says whether the
// host will carry it out.
type Command struct {
	Kind CommandKind
	// IdempotencyKey is stable across redeliveries of the same platform
	// event: derive it from the platform's delivery or event id, never from
	// the clock or a random source.
	IdempotencyKey string
	Order          Order
	Amount         Money
	Customer       Customer
	Reference      string            // the payment a refund or cancel is about, the mandate a charge uses
	Metadata       map[string]string // platform extras the host stores and echoes, never interprets
	// ShippingAddress of a pay command, when the platform has one (Trustly
	// uses it in its risk checks).
	ShippingAddress Address
	// RequestMandate makes a pay command also register a direct debit
	// mandate (pay now, charge later: the first payment of a subscription).
	// The payer's mandate is then active for later charge commands.
	RequestMandate bool
	// KYC asks Trustly to identify the payer of a pay command before the
	// payment goes on (Trustly's RequestKYC). The sidecar decides by its
	// configured rules (a minimum age, the national id matching
	// Customer.NationalID); a payer who fails them is stopped, and the
	// platform hears the payment cancelled.
	KYC KYC
	// Recipient is the payee of a pay command when it is not the shop
	// itself (Trustly's RecipientInformation: money transfer services,
	// e-wallets, marketplaces that aggregate merchants); nil for a shop's
	// own sale.
	Recipient *Recipient
}

// Recipient is who a payment's money is for, as Trustly needs it from a
// merchant that collects for others.
type Recipient struct {
	Organisation bool   // an organisation, not a person
	FirstName    string // the person's first name, or the organisation's name
	LastName     string // the person's last name; empty for an organisation
	Country      string // ISO 3166-1 alpha-2: where the recipient resides
	CustomerID   string // the recipient's stable id at the platform
	Address      string // the full address without the country
	// DateOfBirth is YYYY-MM-DD for a person, the organisation number for
	// an organisation.
	DateOfBirth string
}

// KYC is a pay command's identity check.
type KYC struct {
	Request bool
	// MinimumAge overrides the sidecar's configured minimum age for this
	// payment (an age-restricted basket); 0 keeps it. At most MaxKYCAge.
	MinimumAge int
}

// MaxKYCAge bounds KYC.MinimumAge.
const MaxKYCAge = 130

// Result is the host's outcome of one command, for Answer.
type Result struct {
	IdempotencyKey string
	// OrderID is the sidecar's order the command made or acted on (a
	// refund's own order for a refund): the prefix of the IDs of the
	// StatusChanges that follow, so an adapter can tie them to what it
	// answered.
	OrderID           string
	OK                bool
	ProviderReference string // Trustly's OrderID
	RedirectURL       string // where to send the shopper, for a new payment
	ErrorCode         string // a stable machine code when !OK
	Message           string
	// Pending: the command was still running when the answer was due
	// (Description.AnswerWithin). OK is false and nothing else is set; the
	// command completes in the background, and the same request sent again
	// gets its outcome (or Pending again while it runs).
	Pending bool
}

// Response is the HTTP answer to a synchronous platform request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// PaymentStatus is the state the host reports to the platform.
type PaymentStatus string

// The statuses an order can be told about. The mapping to each platform's
// order states is the adapter's (one table per adapter).
const (
	StatusPending       PaymentStatus = "pending"        // Trustly pending: bank transfer under way
	StatusPaid          PaymentStatus = "paid"           // Trustly credit: money arrived
	StatusCancelled     PaymentStatus = "cancelled"      // Trustly cancel: the payment will not happen
	StatusReversed      PaymentStatus = "reversed"       // Trustly debit after credit
	StatusRefundPending PaymentStatus = "refund-pending" // Trustly accepted a refund
	StatusRefunded      PaymentStatus = "refunded"       // the refund was paid out
	StatusRefundFailed  PaymentStatus = "refund-failed"  // the refund's payout failed or Trustly refused it; Message says why
	// A direct debit mandate (a recurring order's setup): active (charges
	// may follow), declined by the shopper or the bank, or revoked later.
	StatusMandateActive   PaymentStatus = "mandate-active"
	StatusMandateDeclined PaymentStatus = "mandate-declined"
	StatusMandateRevoked  PaymentStatus = "mandate-revoked"
	// StatusAttention is no change of state: something about the order a
	// person must look at (an amount or currency other than ordered, a
	// notification that contradicts the order's state). Message says what;
	// a platform records it as a note and changes nothing else.
	StatusAttention PaymentStatus = "attention"
)

// StatusChange is one status update for one order.
type StatusChange struct {
	// ID is unique per change and the same on every redelivery of it: the
	// platform-side idempotency key. It reads "<sidecar order id>:<seq>",
	// seq counting that order's changes upward (with gaps): of two IDs with
	// the same prefix, the higher seq is the newer change. The host never
	// delivers a change after a newer one of the same order has reached the
	// platform (a replayed older change is skipped).
	ID                string
	Order             Order
	Status            PaymentStatus
	Amount            Money
	ProviderReference string // Trustly's OrderID
	Message           string // a note a person may read in the platform's admin
	OccurredAt        time.Time
}
