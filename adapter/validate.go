package adapter

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rules a Command must meet before the host acts on it. They live here,
// in the SDK, so the host refuses exactly what adaptertest fails: an adapter
// that passes the kit never has its commands refused for their shape.

// Bounds of a command's fields.
const (
	// MaxIdempotencyKeyLen is the longest IdempotencyKey, in bytes (Stripe's
	// limit, and the host's idempotency store's). Hash a longer platform id.
	MaxIdempotencyKeyLen = 255
	// MaxFieldLen bounds every other text field, in bytes: ids, names,
	// e-mail, phone, Reference, metadata keys and values. Trustly's own
	// limits are lower for most.
	MaxFieldLen = 512
	// MaxMetadata is the most Metadata entries a command may carry.
	MaxMetadata = 50
	// MaxAmount bounds Amount.Minor: 100 000 000.00 of any currency, the
	// host's sanity bound on every amount it sends to Trustly (it catches a
	// unit mix-up, an amount in minor units multiplied by 100 again).
	MaxAmount int64 = 100_000_000_00
)

// currencies are the currencies the host takes (Trustly's, each with two
// decimals, as Trustly's wire has). The host's own table is
// core/trustly.Currencies; a test of the host module fails when the two
// differ, so an adapter never passes adaptertest with a currency the host
// then refuses. The SDK does not import the host: adapters never do.
var currencies = []string{"BGN", "CZK", "DKK", "EUR", "GBP", "HUF", "NOK", "PLN", "RON", "SEK"}

// Currencies lists the ISO 4217 codes a command's Amount.Currency may be,
// sorted. A shop selling in another currency cannot take Trustly payments
// in it.
func Currencies() []string { return slices.Clone(currencies) }

// CommandError is a command that breaks one rule. It wraps ErrInvalid, so
// a host answers it like any malformed request; Field names the field in
// Go syntax (Customer.Email), for a person fixing the adapter.
type CommandError struct {
	Kind    CommandKind // as the command gave it, even when unknown
	Field   string
	Problem string
}

func (e *CommandError) Error() string {
	if _, known := kindRules[e.Kind]; known {
		return fmt.Sprintf("%s command: %s %s", e.Kind, e.Field, e.Problem)
	}
	return fmt.Sprintf("command: %s %s", e.Field, e.Problem)
}

func (e *CommandError) Unwrap() error { return ErrInvalid }

// kindRule is what one kind of command cannot do without.
type kindRule struct {
	required []string   // text fields that must not be empty (names as in textFields)
	amount   amountRule // what Amount.Minor may be
	currency bool       // Amount.Currency is required (else optional)
	target   bool       // names a payment or charge: Reference or Order.ID
}

type amountRule int

const (
	amountNonNegative amountRule = iota // 0 allowed: a refund of 0 is "everything refundable"
	amountPositive
)

// kindRules is the one table of per-kind rules: a reader checks a kind by
// finding its row. Trustly requires the payer's e-mail and name for a
// Deposit, and the e-mail for a mandate and a charge.
var kindRules = map[CommandKind]kindRule{
	CommandPay: {
		required: []string{"Customer.ID", "Order.ID", "Customer.Email", "Customer.FirstName", "Customer.LastName"},
		amount:   amountPositive, currency: true,
	},
	CommandMandate: {required: []string{"Customer.ID", "Customer.Email"}},
	CommandCharge: {
		required: []string{"Customer.ID", "Customer.Email"},
		amount:   amountPositive, currency: true,
	},
	CommandRefund:       {target: true},
	CommandCancelCharge: {target: true},
}

// textFields are a command's free-text fields, each bounded by MaxFieldLen
// and free of control characters, in the order Validate reports them.
var textFields = []struct {
	name string
	get  func(*Command) string
}{
	{"Customer.ID", func(c *Command) string { return c.Customer.ID }},
	{"Order.ID", func(c *Command) string { return c.Order.ID }},
	{"Order.Number", func(c *Command) string { return c.Order.Number }},
	{"Reference", func(c *Command) string { return c.Reference }},
	{"Customer.Email", func(c *Command) string { return c.Customer.Email }},
	{"Customer.FirstName", func(c *Command) string { return c.Customer.FirstName }},
	{"Customer.LastName", func(c *Command) string { return c.Customer.LastName }},
	{"Customer.Phone", func(c *Command) string { return c.Customer.Phone }},
	{"Customer.NationalID", func(c *Command) string { return c.Customer.NationalID }},
	{"ShippingAddress.PostalCode", func(c *Command) string { return c.ShippingAddress.PostalCode }},
	{"ShippingAddress.City", func(c *Command) string { return c.ShippingAddress.City }},
	{"ShippingAddress.Line1", func(c *Command) string { return c.ShippingAddress.Line1 }},
	{"ShippingAddress.Line2", func(c *Command) string { return c.ShippingAddress.Line2 }},
	{"Recipient.FirstName", func(c *Command) string { return recipient(c).FirstName }},
	{"Recipient.LastName", func(c *Command) string { return recipient(c).LastName }},
	{"Recipient.CustomerID", func(c *Command) string { return recipient(c).CustomerID }},
	{"Recipient.Address", func(c *Command) string { return recipient(c).Address }},
	{"Recipient.DateOfBirth", func(c *Command) string { return recipient(c).DateOfBirth }},
}

// recipient is c's recipient, or an empty one.
func recipient(c *Command) Recipient {
	if c.Recipient == nil {
		return Recipient{}
	}
	return *c.Recipient
}

// Validate reports the first rule c breaks as a *CommandError (which wraps
// ErrInvalid), or nil. The host refuses a command that fails it, before
// claiming its idempotency key; adaptertest fails an adapter whose
// Translate returns one. An adapter may call it on what it built, to answer
// a platform request that lacks what Trustly needs with ErrInvalid at once.
//
// Every command needs a known Kind and an IdempotencyKey (at most
// MaxIdempotencyKeyLen bytes, no control characters). Text fields are valid
// UTF-8 (protobuf cannot carry anything else across the plugin boundary),
// at most MaxFieldLen bytes and free of control characters. Amount.Minor is
// never negative nor above MaxAmount; a currency, when given, is one of
// Currencies (SEK); a country, when given, an ISO 3166-1 alpha-2 code (SE).
// Per kind:
//
//	pay            Customer.ID, Order.ID, Customer.Email, FirstName, LastName;
//	               Amount.Minor > 0 and a currency; RequestMandate and KYC only
//	               here, KYC.MinimumAge 0..MaxKYCAge and only with KYC.Request;
//	               a Recipient only here, with a FirstName and a Country, no
//	               LastName for an organisation
//	mandate        Customer.ID, Customer.Email
//	charge         Customer.ID, Customer.Email; Amount.Minor > 0 and a currency
//	refund         Reference or Order.ID (the payment); Amount.Minor 0 refunds
//	               everything refundable
//	cancel-charge  Reference or Order.ID (the charge)
//
// What the host fills in from its own settings (success and fail URLs,
// locale, a default country, the shopper statement) is not the adapter's to
// send, and not checked here.
func (c Command) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &CommandError{Kind: c.Kind, Field: field, Problem: fmt.Sprintf(format, a...)}
	}
	rule, known := kindRules[c.Kind]
	switch {
	case c.Kind == "":
		return bad("Kind", "is required")
	case !known:
		return bad("Kind", "%.40q is not one of pay, refund, mandate, charge, cancel-charge", c.Kind)
	}

	switch key := c.IdempotencyKey; {
	case key == "":
		return bad("IdempotencyKey", "is required (derive it from the platform's delivery or event id)")
	case len(key) > MaxIdempotencyKeyLen:
		return bad("IdempotencyKey", "is %d bytes, more than %d (hash a longer platform id)", len(key), MaxIdempotencyKeyLen)
	}
	if err := checkText(c.IdempotencyKey, "IdempotencyKey", bad); err != nil {
		return err
	}

	for _, f := range textFields {
		v := f.get(&c)
		if len(v) > MaxFieldLen {
			return bad(f.name, "is %d bytes, more than %d", len(v), MaxFieldLen)
		}
		if err := checkText(v, f.name, bad); err != nil {
			return err
		}
	}
	for _, name := range rule.required {
		if field(&c, name) == "" {
			return bad(name, "is required")
		}
	}
	if rule.target && c.Reference == "" && c.Order.ID == "" {
		return bad("Reference or Order.ID", "is required (the payment or charge it is about)")
	}
	if e := c.Customer.Email; e != "" && !looksLikeEmail(e) {
		return bad("Customer.Email", "is not an e-mail address")
	}
	if cc := c.Customer.Country; cc != "" && !upperLetters(cc, 2) {
		return bad("Customer.Country", "%.8q is not an ISO 3166-1 alpha-2 code like SE", cc)
	}
	if cc := c.ShippingAddress.Country; cc != "" && !upperLetters(cc, 2) {
		return bad("ShippingAddress.Country", "%.8q is not an ISO 3166-1 alpha-2 code like SE", cc)
	}
	if c.Customer.NationalIDLocked && c.Customer.NationalID == "" {
		return bad("Customer.NationalID", "is required when Customer.NationalIDLocked is set")
	}
	if c.RequestMandate && c.Kind != CommandPay {
		return bad("RequestMandate", "is for a pay command only (a mandate command asks for one by itself)")
	}
	if r := c.Recipient; r != nil {
		switch {
		case c.Kind != CommandPay:
			return bad("Recipient", "is for a pay command only")
		case r.FirstName == "":
			return bad("Recipient.FirstName", "is required (a person's first name or the organisation's name)")
		case !upperLetters(r.Country, 2):
			return bad("Recipient.Country", "%.8q is not an ISO 3166-1 alpha-2 code like SE", r.Country)
		case r.Organisation && r.LastName != "":
			return bad("Recipient.LastName", "is for a person; an organisation has only its name in FirstName")
		}
	}
	switch k := c.KYC; {
	case k != KYC{} && c.Kind != CommandPay:
		return bad("KYC", "is for a pay command only")
	case k.MinimumAge < 0 || k.MinimumAge > MaxKYCAge:
		return bad("KYC.MinimumAge", "is %d, not an age from 0 to %d", k.MinimumAge, MaxKYCAge)
	case k.MinimumAge > 0 && !k.Request:
		return bad("KYC.MinimumAge", "needs KYC.Request (without a check there is no age to compare)")
	}

	switch {
	case c.Amount.Minor < 0:
		return bad("Amount.Minor", "is negative (%d)", c.Amount.Minor)
	case rule.amount == amountPositive && c.Amount.Minor == 0:
		return bad("Amount.Minor", "must be positive (minor units: 10300 for 103.00)")
	case c.Amount.Minor > MaxAmount:
		return bad("Amount.Minor", "is %d, more than %d (minor units: 10300 for 103.00)", c.Amount.Minor, MaxAmount)
	}
	switch cur := c.Amount.Currency; {
	case cur == "" && rule.currency:
		return bad("Amount.Currency", "is required (an ISO 4217 code like SEK)")
	case cur != "" && !upperLetters(cur, 3):
		return bad("Amount.Currency", "%.8q is not an ISO 4217 code like SEK", cur)
	case cur != "" && !slices.Contains(currencies, cur):
		return bad("Amount.Currency", "%q is not a currency Trustly takes (%s)", cur, strings.Join(currencies, " "))
	}

	if len(c.Metadata) > MaxMetadata {
		return bad("Metadata", "has %d entries, more than %d", len(c.Metadata), MaxMetadata)
	}
	// Sorted, so the same command always reports the same entry.
	for _, key := range slices.Sorted(maps.Keys(c.Metadata)) {
		v := c.Metadata[key]
		switch {
		case key == "":
			return bad("Metadata", "has an empty key")
		case len(key) > MaxFieldLen || len(v) > MaxFieldLen:
			return bad("Metadata", "entry %.40q is longer than %d bytes", key, MaxFieldLen)
		case !utf8.ValidString(key) || !utf8.ValidString(v):
			return bad("Metadata", "entry %.40q is not valid UTF-8", key)
		case strings.IndexFunc(key, unicode.IsControl) >= 0:
			return bad("Metadata", "key %.40q contains a control character", key)
		}
	}
	return nil
}

// checkText refuses what no text field may hold. The value itself stays out
// of the message: it may be a person's name or e-mail.
func checkText(s, name string, bad func(field, format string, a ...any) error) error {
	switch {
	case !utf8.ValidString(s):
		return bad(name, "is not valid UTF-8")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return bad(name, "contains a control character")
	}
	return nil
}

// field is the text field called name, from textFields.
func field(c *Command, name string) string {
	for _, f := range textFields {
		if f.name == name {
			return f.get(c)
		}
	}
	panic("adapter: kindRules names an unknown field " + name)
}

// looksLikeEmail is a shape check, not RFC 5322: something@something, no
// spaces. Trustly refuses what is not an address; this catches the field
// being filled with something else (a name, a customer id).
func looksLikeEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.IndexFunc(s, unicode.IsSpace) < 0
}

// upperLetters reports whether s is exactly n ASCII upper-case letters.
func upperLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
