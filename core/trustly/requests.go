package trustly

import (
	"errors"
	"fmt"
	"slices"
)

// Data errors. Validate finds the same problems earlier and with Trustly's
// code; these stop a request that skipped Validate from being built wrong.
var (
	// ErrNoCredentials: Trustly would answer 616 to a request without them.
	ErrNoCredentials = errors.New("trustly: username and password are required")
	// ErrExtraConflict: an Extra attribute would silently replace (or be
	// replaced by) a typed field, so what is signed would not be what the
	// caller meant.
	ErrExtraConflict = errors.New("trustly: Extra attribute duplicates a typed field")
)

// Wire conventions shared by every request in this file:
//
//   - Money is int64 minor units in Go and Trustly's "103.00" on the wire
//     (FormatAmount). Optional amounts are omitted when zero.
//   - Optional strings are omitted when empty.
//   - Flags are bools in Go and the string "1" on the wire when true. A false
//     flag is omitted rather than sent as "0": that is how Trustly's examples
//     show optional flags, and "absent" is the documented default of each.

// Interface guards: every typed request is a Request.
var (
	_ Request = (*DepositRequest)(nil)
	_ Request = (*RefundRequest)(nil)
	_ Request = (*SelectAccountRequest)(nil)
	_ Request = (*ChargeRequest)(nil)
	_ Request = (*CancelChargeRequest)(nil)
	_ Request = (*BalanceRequest)(nil)
	_ Request = (*GetWithdrawalsRequest)(nil)
)

// DepositRequest asks Trustly for a checkout URL where the shopper pays from
// their bank account. The result is a DepositResult.
type DepositRequest struct {
	NotificationURL string
	// EndUserID must be stable per shopper (Trustly Express and risk checks
	// depend on it); use a hash for guests.
	EndUserID string
	// MessageID is the merchant's unique id for this attempt.
	MessageID string

	Currency string
	// Amount in minor units. Zero leaves the amount to the shopper, within
	// SuggestedMinAmount/SuggestedMaxAmount; at least one of them must then
	// be set. Amount and the suggestions are mutually exclusive.
	Amount             int64
	SuggestedMinAmount int64
	SuggestedMaxAmount int64

	Country   string // ISO 3166-1 alpha-2, e.g. "SE"
	Locale    string // "sv" or "sv_SE"
	Firstname string
	Lastname  string
	Email     string

	SuccessURL       string
	FailURL          string
	ShopperStatement string

	IP                           string // exactly one address, never a list
	MobilePhone                  string
	NationalIdentificationNumber string
	// UnchangeableNationalIdentificationNumber locks the number the shopper
	// logs in with (Swedish banks); NationalIdentificationNumber is then required.
	UnchangeableNationalIdentificationNumber bool

	URLTarget   string // "_top", "_self" or "_parent"
	TemplateURL string
	URLScheme   string // native apps
	// ExternalReference is the merchant's reference (e.g. an invoice id);
	// Trustly does not require it to be unique.
	ExternalReference string

	ShippingAddressCountry    string
	ShippingAddressPostalCode string
	ShippingAddressCity       string
	ShippingAddressLine1      string
	ShippingAddressLine2      string
	// ShippingAddress is the whole address in one string, for merchants that
	// cannot split it into the fields above.
	ShippingAddress string

	// AccountID of a returning shopper (Trustly Express); same EndUserID.
	AccountID                 string
	RequestDirectDebitMandate bool
	// HoldNotifications keeps Trustly from delivering notifications, for
	// replaying them by hand. TEST only.
	HoldNotifications bool
	// RequestKYC asks Trustly for a kyc notification after the shopper has
	// logged in to their bank and before the transfer is signed; the
	// merchant's reply (CONTINUE or FINISH) decides whether it goes on.
	// https://eu.developers.trustly.com/doc/reference/kyc-notification
	RequestKYC bool
	// RecipientInformation names the payee (ultimate creditor) where
	// Trustly requires it: money transfer services, e-wallets, prepaid
	// cards, partners aggregating merchants. Nil sends none.
	RecipientInformation *RecipientInformation

	// Extra holds attributes Trustly adds after this package was written.
	// A key that names a typed field above is refused, never merged.
	Extra map[string]string
}

// RecipientInformation is the Deposit attribute of that name: who the money
// is finally for. Trustly's reference (the Deposit page's example, and its
// official clients' RecipientOrSenderInformation) has Partytype, Firstname,
// Lastname and CountryCode required and the rest optional; Lastname is
// null for an organisation.
// https://eu.developers.trustly.com/doc/reference/deposit
type RecipientInformation struct {
	// PartyType is PartyPerson or PartyOrganisation.
	PartyType string
	// FirstName is the person's first name or the organisation's name.
	FirstName string
	// LastName is the person's last name; empty for an organisation (sent
	// as null, as in Trustly's example).
	LastName string
	// CountryCode is ISO 3166-1 alpha-2: where the recipient resides.
	CountryCode string
	// CustomerID identifies the recipient consistently across payments
	// (an account or customer number, never a transaction id).
	CustomerID string
	// Address is the full address without the country.
	Address string
	// DateOfBirth is YYYY-MM-DD for a person, the organisation number for
	// an organisation.
	DateOfBirth string
}

// The party types of RecipientInformation.Partytype.
const (
	PartyPerson       = "PERSON"
	PartyOrganisation = "ORGANISATION"
)

// wire is the attribute's object as Trustly takes it; the keys are
// Trustly's (note "Partytype", not "PartyType").
func (ri *RecipientInformation) wire() map[string]any {
	m := map[string]any{
		"Partytype":   ri.PartyType,
		"Firstname":   ri.FirstName,
		"CountryCode": ri.CountryCode,
	}
	if ri.LastName != "" {
		m["Lastname"] = ri.LastName
	} else {
		m["Lastname"] = nil
	}
	for k, v := range map[string]string{"CustomerID": ri.CustomerID, "Address": ri.Address, "DateOfBirth": ri.DateOfBirth} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// Method implements Request.
func (*DepositRequest) Method() string { return "Deposit" }

// messageID implements Request.
func (r *DepositRequest) messageID() string { return r.MessageID }

// depositAttributes are the typed attribute names, for refusing them in Extra.
var depositAttributes = []string{
	"Currency", "Amount", "SuggestedMinAmount", "SuggestedMaxAmount", "Country", "Locale",
	"Firstname", "Lastname", "Email", "SuccessURL", "FailURL", "ShopperStatement", "IP",
	"MobilePhone", "NationalIdentificationNumber", "UnchangeableNationalIdentificationNumber",
	"URLTarget", "TemplateURL", "URLScheme", "ExternalReference", "ShippingAddressCountry",
	"ShippingAddressPostalCode", "ShippingAddressCity", "ShippingAddressLine1",
	"ShippingAddressLine2", "ShippingAddress", "AccountID", "RequestDirectDebitMandate",
	"HoldNotifications", "RequestKYC", "RecipientInformation",
}

// Data implements Request.
func (r *DepositRequest) Data(creds Credentials) (map[string]any, error) {
	a := attributes{}
	a.str("Currency", r.Currency)
	a.amount("Amount", r.Amount)
	a.amount("SuggestedMinAmount", r.SuggestedMinAmount)
	a.amount("SuggestedMaxAmount", r.SuggestedMaxAmount)
	a.str("Country", r.Country)
	a.str("Locale", r.Locale)
	a.str("Firstname", r.Firstname)
	a.str("Lastname", r.Lastname)
	a.str("Email", r.Email)
	a.str("SuccessURL", r.SuccessURL)
	a.str("FailURL", r.FailURL)
	a.str("ShopperStatement", r.ShopperStatement)
	a.str("IP", r.IP)
	a.str("MobilePhone", r.MobilePhone)
	a.str("NationalIdentificationNumber", r.NationalIdentificationNumber)
	a.flag("UnchangeableNationalIdentificationNumber", r.UnchangeableNationalIdentificationNumber)
	a.str("URLTarget", r.URLTarget)
	a.str("TemplateURL", r.TemplateURL)
	a.str("URLScheme", r.URLScheme)
	a.str("ExternalReference", r.ExternalReference)
	a.str("ShippingAddressCountry", r.ShippingAddressCountry)
	a.str("ShippingAddressPostalCode", r.ShippingAddressPostalCode)
	a.str("ShippingAddressCity", r.ShippingAddressCity)
	a.str("ShippingAddressLine1", r.ShippingAddressLine1)
	a.str("ShippingAddressLine2", r.ShippingAddressLine2)
	a.str("ShippingAddress", r.ShippingAddress)
	a.str("AccountID", r.AccountID)
	a.flag("RequestDirectDebitMandate", r.RequestDirectDebitMandate)
	a.flag("HoldNotifications", r.HoldNotifications)
	a.flag("RequestKYC", r.RequestKYC)
	if r.RecipientInformation != nil {
		a["RecipientInformation"] = r.RecipientInformation.wire()
	}
	if err := a.extra(r.Extra, depositAttributes); err != nil {
		return nil, err
	}
	return buildData(creds, map[string]any{
		"NotificationURL": r.NotificationURL,
		"EndUserID":       r.EndUserID,
		"MessageID":       r.MessageID,
	}, a)
}

// RefundRequest pays (part of) a Deposit or Charge back to the account that
// paid. Refund has no MessageID: never resend one blindly after a timeout;
// check GetWithdrawals first. The result is a RefundResult.
type RefundRequest struct {
	OrderID  string // of the Deposit or Charge
	Amount   int64  // minor units, > 0
	Currency string
	// ExternalReference is sent as the only attribute when set; otherwise
	// Attributes is null (Trustly requires the key either way).
	ExternalReference string
}

// Method implements Request.
func (*RefundRequest) Method() string { return "Refund" }

// MessageID implements Request; Refund has none.
func (*RefundRequest) messageID() string { return "" }

// Data implements Request.
func (r *RefundRequest) Data(creds Credentials) (map[string]any, error) {
	a := attributes{}
	a.str("ExternalReference", r.ExternalReference)
	return buildData(creds, map[string]any{
		"OrderID":  r.OrderID,
		"Amount":   FormatAmount(r.Amount),
		"Currency": r.Currency,
	}, a)
}

// SelectAccountRequest asks the shopper to pick a bank account, typically to
// set up a direct debit mandate for later Charges. The result is a
// SelectAccountResult; the account arrives in an account notification.
type SelectAccountRequest struct {
	NotificationURL string
	EndUserID       string
	MessageID       string

	Locale    string
	Country   string
	Firstname string
	Lastname  string

	SuccessURL string
	FailURL    string
	// Email is required when RequestDirectDebitMandate is set.
	Email                        string
	IP                           string
	MobilePhone                  string
	DateOfBirth                  string // YYYY-MM-DD
	NationalIdentificationNumber string
	RequestDirectDebitMandate    bool
	URLTarget                    string

	// Extra holds attributes Trustly adds after this package was written.
	Extra map[string]string
}

// Method implements Request.
func (*SelectAccountRequest) Method() string { return "SelectAccount" }

// messageID implements Request.
func (r *SelectAccountRequest) messageID() string { return r.MessageID }

var selectAccountAttributes = []string{
	"Locale", "Country", "Firstname", "Lastname", "SuccessURL", "FailURL", "Email", "IP",
	"MobilePhone", "DateOfBirth", "NationalIdentificationNumber", "RequestDirectDebitMandate",
	"URLTarget",
}

// Data implements Request.
func (r *SelectAccountRequest) Data(creds Credentials) (map[string]any, error) {
	a := attributes{}
	a.str("Locale", r.Locale)
	a.str("Country", r.Country)
	a.str("Firstname", r.Firstname)
	a.str("Lastname", r.Lastname)
	a.str("SuccessURL", r.SuccessURL)
	a.str("FailURL", r.FailURL)
	a.str("Email", r.Email)
	a.str("IP", r.IP)
	a.str("MobilePhone", r.MobilePhone)
	a.str("DateOfBirth", r.DateOfBirth)
	a.str("NationalIdentificationNumber", r.NationalIdentificationNumber)
	a.flag("RequestDirectDebitMandate", r.RequestDirectDebitMandate)
	a.str("URLTarget", r.URLTarget)
	if err := a.extra(r.Extra, selectAccountAttributes); err != nil {
		return nil, err
	}
	return buildData(creds, map[string]any{
		"NotificationURL": r.NotificationURL,
		"EndUserID":       r.EndUserID,
		"MessageID":       r.MessageID,
	}, a)
}

// ChargeRequest debits an account with an active direct debit mandate
// (Trustly Direct Debit, Sweden). The result is a ChargeResult.
type ChargeRequest struct {
	// AccountID comes from an account notification with directdebitmandate "1".
	AccountID       string
	NotificationURL string
	EndUserID       string
	MessageID       string
	Amount          int64 // minor units, > 0
	Currency        string

	// ShopperStatement may hold only A–Z a–z 0–9 . - _ and space.
	ShopperStatement string
	Email            string
	// PaymentDate is YYYY-MM-DD; empty charges as soon as possible.
	PaymentDate       string
	ExternalReference string

	// Extra holds attributes Trustly adds after this package was written.
	Extra map[string]string
}

// Method implements Request.
func (*ChargeRequest) Method() string { return "Charge" }

// messageID implements Request.
func (r *ChargeRequest) messageID() string { return r.MessageID }

var chargeAttributes = []string{"ShopperStatement", "Email", "PaymentDate", "ExternalReference"}

// Data implements Request.
func (r *ChargeRequest) Data(creds Credentials) (map[string]any, error) {
	a := attributes{}
	a.str("ShopperStatement", r.ShopperStatement)
	a.str("Email", r.Email)
	a.str("PaymentDate", r.PaymentDate)
	a.str("ExternalReference", r.ExternalReference)
	if err := a.extra(r.Extra, chargeAttributes); err != nil {
		return nil, err
	}
	return buildData(creds, map[string]any{
		"AccountID":       r.AccountID,
		"NotificationURL": r.NotificationURL,
		"EndUserID":       r.EndUserID,
		"MessageID":       r.MessageID,
		"Amount":          FormatAmount(r.Amount),
		"Currency":        r.Currency,
	}, a)
}

// CancelChargeRequest cancels a Charge whose PaymentDate is in the future
// (Trustly's cut-off is 18:00 Stockholm time the day before it). The result
// is a CancelChargeResult.
type CancelChargeRequest struct {
	OrderID string // of the Charge
}

// Method implements Request.
func (*CancelChargeRequest) Method() string { return "CancelCharge" }

// MessageID implements Request; CancelCharge has none.
func (*CancelChargeRequest) messageID() string { return "" }

// Data implements Request.
func (r *CancelChargeRequest) Data(creds Credentials) (map[string]any, error) {
	return buildData(creds, map[string]any{"OrderID": r.OrderID}, nil)
}

// BalanceRequest asks for the merchant's balance per currency. Trustly asks
// that it be called at most every 15 minutes. The result is a []Balance.
type BalanceRequest struct{}

// Method implements Request.
func (*BalanceRequest) Method() string { return "Balance" }

// MessageID implements Request; Balance has none.
func (*BalanceRequest) messageID() string { return "" }

// Data implements Request.
func (*BalanceRequest) Data(creds Credentials) (map[string]any, error) {
	return buildData(creds, map[string]any{}, nil)
}

// GetWithdrawalsRequest lists the payouts made for an order (Refund,
// Withdraw, AccountPayout). The result is a []Withdrawal.
type GetWithdrawalsRequest struct {
	OrderID string
}

// Method implements Request.
func (*GetWithdrawalsRequest) Method() string { return "GetWithdrawals" }

// MessageID implements Request; GetWithdrawals has none.
func (*GetWithdrawalsRequest) messageID() string { return "" }

// Data implements Request.
func (r *GetWithdrawalsRequest) Data(creds Credentials) (map[string]any, error) {
	return buildData(creds, map[string]any{"OrderID": r.OrderID}, nil)
}

// attributes collects a request's Attributes object, leaving out what is not
// set so that only the values the caller chose are signed.
type attributes map[string]any

func (a attributes) str(key, v string) {
	if v != "" {
		a[key] = v
	}
}

func (a attributes) amount(key string, minor int64) {
	if minor != 0 {
		a[key] = FormatAmount(minor)
	}
}

func (a attributes) flag(key string, on bool) {
	if on {
		a[key] = "1"
	}
}

// extra adds the caller's untyped attributes, refusing any key that a typed
// field owns whether or not that field is set, so the outcome never depends
// on which values happen to be empty.
func (a attributes) extra(extra map[string]string, typed []string) error {
	if k, bad := extraConflict(extra, typed); bad {
		return fmt.Errorf("%w: %q", ErrExtraConflict, k)
	}
	for k, v := range extra {
		a[k] = v
	}
	return nil
}

// extraConflict returns the first (in byte order, so the same every run)
// Extra key that is empty or owned by a typed field.
func extraConflict(extra map[string]string, typed []string) (string, bool) {
	for _, k := range sortedKeys(extra) {
		if k == "" || slices.Contains(typed, k) {
			return k, true
		}
	}
	return "", false
}

// buildData assembles params.Data: credentials, the method's fields and
// Attributes, which is null (key present) when the method sends none.
func buildData(creds Credentials, fields map[string]any, attrs attributes) (map[string]any, error) {
	if creds.Username == "" || creds.Password == "" {
		return nil, ErrNoCredentials
	}
	d := make(map[string]any, len(fields)+3)
	for k, v := range fields {
		d[k] = v
	}
	d["Username"] = creds.Username
	d["Password"] = creds.Password
	if len(attrs) == 0 {
		d["Attributes"] = nil
	} else {
		d["Attributes"] = map[string]any(attrs)
	}
	return d, nil
}
