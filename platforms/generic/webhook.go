package generic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sync"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Event types of the webhook format (README.md).
const (
	EventPing                  = "ping"
	EventPaymentRequested      = "payment.requested"
	EventRefundRequested       = "refund.requested"
	EventMandateRequested      = "mandate.requested"
	EventChargeRequested       = "charge.requested"
	EventChargeCancelRequested = "charge.cancel_requested"
)

// Event is one webhook body.
type Event struct {
	EventID string `json:"event_id"`
	Type    string `json:"type"`
	Order   *struct {
		ID          string    `json:"id"`
		Number      string    `json:"number,omitempty"`
		AmountMinor int64     `json:"amount_minor"`
		Currency    string    `json:"currency"`
		Customer    *Customer `json:"customer,omitempty"`
		// ShippingAddress, RequestMandate and KYC: see adapter.Command.
		ShippingAddress *Address `json:"shipping_address,omitempty"`
		RequestMandate  bool     `json:"request_mandate,omitempty"`
		KYC             *struct {
			Request    bool `json:"request"`
			MinimumAge int  `json:"minimum_age,omitempty"`
		} `json:"kyc,omitempty"`
		Recipient *struct {
			Organisation bool   `json:"organisation,omitempty"`
			FirstName    string `json:"first_name"`
			LastName     string `json:"last_name,omitempty"`
			Country      string `json:"country"`
			CustomerID   string `json:"customer_id,omitempty"`
			Address      string `json:"address,omitempty"`
			DateOfBirth  string `json:"date_of_birth,omitempty"`
		} `json:"recipient,omitempty"`
	} `json:"order,omitempty"`
	Refund *struct {
		ID               string `json:"id"`
		AmountMinor      int64  `json:"amount_minor"`
		Currency         string `json:"currency"`
		PaymentReference string `json:"payment_reference,omitempty"`
	} `json:"refund,omitempty"`
	MandateReference string            `json:"mandate_reference,omitempty"`
	ChargeReference  string            `json:"charge_reference,omitempty"`
	Customer         *Customer         `json:"customer,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

// Customer is the payer as the shop knows them.
type Customer struct {
	ID        string `json:"id"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Country   string `json:"country,omitempty"`
	Phone     string `json:"phone,omitempty"`
	// NationalID and NationalIDLocked: see adapter.Customer.
	NationalID       string `json:"national_id,omitempty"`
	NationalIDLocked bool   `json:"national_id_locked,omitempty"`
}

// Address is a postal address.
type Address struct {
	Country    string `json:"country,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	City       string `json:"city,omitempty"`
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
}

// Compiled on first use: the sidecar binary links every platform, and each of
// its processes (serve, every adapter) would compile them all at start.
var (
	currencyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z]{3}$`) })
	// Event ids become idempotency keys and log fields: printable, bounded.
	eventIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`) })
)

// Translate verifies the webhook's signature, then turns the event into at
// most one command whose idempotency key is "generic:" + event_id, so a
// redelivered event (new timestamp, new signature, same event_id) is the
// same command.
func (a *Adapter) Translate(_ context.Context, req adapter.Request) ([]adapter.Command, error) {
	if err := Verify(req.Header, a.cfg.WebhookSecret, req.Body, req.ReceivedAt, a.cfg.Tolerance); err != nil {
		return nil, err
	}
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("%w: body is not a webhook event: %w", adapter.ErrInvalid, err)
	}
	if !eventIDRE().MatchString(ev.EventID) {
		return nil, fmt.Errorf("%w: event_id %q: want 1-128 of A-Z a-z 0-9 . _ : -", adapter.ErrInvalid, ev.EventID)
	}
	if ev.Type == EventPing {
		return nil, nil
	}
	cmd, err := ev.command()
	if err != nil {
		return nil, fmt.Errorf("%w: event %s (%s): %w", adapter.ErrInvalid, ev.EventID, ev.Type, err)
	}
	cmd.IdempotencyKey = Name + ":" + ev.EventID
	cmd.Metadata = ev.Metadata
	return []adapter.Command{cmd}, nil
}

// command is the one table from event type to command: what each type
// requires and where each field comes from.
func (ev *Event) command() (adapter.Command, error) {
	switch ev.Type {
	case EventPaymentRequested:
		o, err := ev.order(true)
		if err != nil {
			return adapter.Command{}, err
		}
		if o.Customer.ID == "" {
			return adapter.Command{}, fmt.Errorf("order.customer.id is required")
		}
		cmd := adapter.Command{Kind: adapter.CommandPay, Order: o.Order, Amount: o.Amount, Customer: o.Customer, RequestMandate: ev.Order.RequestMandate}
		if a := ev.Order.ShippingAddress; a != nil {
			cmd.ShippingAddress = adapter.Address{Country: a.Country, PostalCode: a.PostalCode, City: a.City, Line1: a.Line1, Line2: a.Line2}
		}
		if k := ev.Order.KYC; k != nil {
			cmd.KYC = adapter.KYC{Request: k.Request, MinimumAge: k.MinimumAge}
		}
		if r := ev.Order.Recipient; r != nil {
			cmd.Recipient = &adapter.Recipient{Organisation: r.Organisation, FirstName: r.FirstName, LastName: r.LastName,
				Country: r.Country, CustomerID: r.CustomerID, Address: r.Address, DateOfBirth: r.DateOfBirth}
		}
		return cmd, nil

	case EventRefundRequested:
		o, err := ev.order(false)
		if err != nil {
			return adapter.Command{}, err
		}
		r := ev.Refund
		if r == nil || r.ID == "" {
			return adapter.Command{}, fmt.Errorf("refund.id is required")
		}
		amt, err := money(r.AmountMinor, r.Currency, "refund")
		if err != nil {
			return adapter.Command{}, err
		}
		return adapter.Command{Kind: adapter.CommandRefund, Order: o.Order, Amount: amt, Reference: r.PaymentReference}, nil

	case EventMandateRequested:
		c := ev.customer()
		if c.ID == "" || c.Email == "" {
			return adapter.Command{}, fmt.Errorf("customer.id and customer.email are required (Trustly asks for an e-mail with a mandate)")
		}
		return adapter.Command{Kind: adapter.CommandMandate, Customer: c}, nil

	case EventChargeRequested:
		o, err := ev.order(true)
		if err != nil {
			return adapter.Command{}, err
		}
		if ev.MandateReference == "" {
			return adapter.Command{}, fmt.Errorf("mandate_reference is required")
		}
		if o.Customer.ID == "" || o.Customer.Email == "" {
			// The charge is the customer's mandate's; Trustly asks for the e-mail.
			return adapter.Command{}, fmt.Errorf("order.customer.id and order.customer.email are required (Trustly asks for an e-mail with a charge)")
		}
		return adapter.Command{Kind: adapter.CommandCharge, Order: o.Order, Amount: o.Amount, Customer: o.Customer, Reference: ev.MandateReference}, nil

	case EventChargeCancelRequested:
		o, err := ev.order(false)
		if err != nil {
			return adapter.Command{}, err
		}
		if ev.ChargeReference == "" {
			return adapter.Command{}, fmt.Errorf("charge_reference is required")
		}
		return adapter.Command{Kind: adapter.CommandCancelCharge, Order: o.Order, Reference: ev.ChargeReference}, nil
	}
	return adapter.Command{}, fmt.Errorf("unknown type %q", ev.Type)
}

type orderParts struct {
	Order    adapter.Order
	Amount   adapter.Money
	Customer adapter.Customer
}

func (ev *Event) order(needAmount bool) (orderParts, error) {
	if ev.Order == nil || ev.Order.ID == "" {
		return orderParts{}, fmt.Errorf("order.id is required")
	}
	p := orderParts{Order: adapter.Order{ID: ev.Order.ID, Number: ev.Order.Number}, Customer: ev.customer()}
	if needAmount {
		amt, err := money(ev.Order.AmountMinor, ev.Order.Currency, "order")
		if err != nil {
			return orderParts{}, err
		}
		p.Amount = amt
	}
	return p, nil
}

// customer prefers the order's customer and falls back to the top-level one.
func (ev *Event) customer() adapter.Customer {
	c := ev.Customer
	if ev.Order != nil && ev.Order.Customer != nil {
		c = ev.Order.Customer
	}
	if c == nil {
		return adapter.Customer{}
	}
	return adapter.Customer{ID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Country: c.Country, Phone: c.Phone,
		NationalID: c.NationalID, NationalIDLocked: c.NationalIDLocked}
}

func money(minor int64, currency, where string) (adapter.Money, error) {
	if minor <= 0 {
		return adapter.Money{}, fmt.Errorf("%s.amount_minor must be a positive integer of minor units, got %d", where, minor)
	}
	if !currencyRE().MatchString(currency) {
		return adapter.Money{}, fmt.Errorf("%s.currency must be an ISO 4217 code like SEK, got %q", where, currency)
	}
	return adapter.Money{Minor: minor, Currency: currency}, nil
}
