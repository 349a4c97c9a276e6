package trustly

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Notification errors. Signature failures are not among them: those wrap
// ErrBadSignature (and ErrKeyMixup for a TEST/LIVE mix-up), so a handler can
// tell "not from Trustly" apart from "from Trustly but not understood".
var (
	// ErrInvalidNotification is wrapped by every failure to read a
	// notification's envelope or fields, malformed JSON included.
	ErrInvalidNotification = errors.New("trustly: invalid notification")
	// ErrNotNotification means the body is another kind of Trustly message,
	// e.g. a request or a response posted to the notification URL.
	ErrNotNotification = fmt.Errorf("%w: not a notification", ErrInvalidNotification)
	// ErrWrongNotificationMethod is returned by a typed view (Credit, Debit,
	// ...) asked of a notification of another method.
	ErrWrongNotificationMethod = errors.New("trustly: notification is of another method")
)

// NotificationMethod names a notification Trustly documents.
type NotificationMethod string

// The notification methods this package has typed views for. Trustly may add
// others; those still verify and parse, with Known() false.
const (
	NotifyPending            NotificationMethod = "pending"
	NotifyCredit             NotificationMethod = "credit"
	NotifyDebit              NotificationMethod = "debit"
	NotifyCancel             NotificationMethod = "cancel"
	NotifyAccount            NotificationMethod = "account"
	NotifyPayoutConfirmation NotificationMethod = "payoutconfirmation"
	// NotifyPayoutFailed: a refund or payout could not be sent, or was
	// returned (eu.developers.trustly.com/doc/reference/payoutfailed-notification;
	// production only, off unless Trustly enables it). For a Refund it goes
	// to the original Deposit's NotificationURL.
	NotifyPayoutFailed NotificationMethod = "payoutfailed"
	NotifyKYC          NotificationMethod = "kyc"
)

// Known reports whether m is one of the documented notification methods.
// Matching is exact: Trustly sends them lowercase and signs the text as sent.
func (m NotificationMethod) Known() bool {
	switch m {
	case NotifyPending, NotifyCredit, NotifyDebit, NotifyCancel, NotifyAccount, NotifyPayoutConfirmation, NotifyPayoutFailed, NotifyKYC:
		return true
	}
	return false
}

// Notification is a notification Trustly posted to the NotificationURL.
//
// Data, Attributes and Message share the parsed tree: modifying them changes
// what a later Verify covers, so treat them as read-only.
type Notification struct {
	// Method is the method as received, known or not.
	Method string
	UUID   string
	// NotificationID is the dedupe key: Trustly resends a notification with
	// the same id until it gets a valid reply.
	NotificationID string
	OrderID        string
	MessageID      string
	EndUserID      string
	// Timestamp is zero when the notification carries none or when
	// RawTimestamp cannot be read; ParseTimestamp(RawTimestamp) says why.
	// A timestamp is informational, so a new format must not stop a payment.
	Timestamp    time.Time
	RawTimestamp string
	// Data is params.data exactly as received (numbers as json.Number).
	Data map[string]any
	// Attributes is data.attributes, or nil when absent or null.
	Attributes map[string]any
	Message    *Message

	verified bool
}

// ParseNotification parses a notification body and verifies its signature
// with v over the raw tree as received. Any method verifies and parses,
// unknown ones included, so that they can be answered and kept for a person.
//
// The signature is checked before any field is read, so a forged body is
// reported as ErrBadSignature rather than by whatever field it got wrong.
func ParseNotification(body []byte, v *Verifier) (*Notification, error) {
	if v == nil {
		return nil, fmt.Errorf("trustly: notification: %w", ErrNoVerifierKey)
	}
	n, err := parseNotificationEnvelope(body)
	if err != nil {
		return nil, err
	}
	if err := n.Message.Verify(v); err != nil {
		return nil, fmt.Errorf("trustly: %q notification uuid %q: %w", n.Method, n.UUID, err)
	}
	if err := n.readCommon(); err != nil {
		return nil, err
	}
	n.verified = true
	return n, nil
}

// ParseNotificationUnverified parses a notification without checking its
// signature, for tools that only display one (a log viewer, the simulator's
// inspector). Its result must never drive state: anyone can post a body to
// the NotificationURL.
func ParseNotificationUnverified(body []byte) (*Notification, error) {
	n, err := parseNotificationEnvelope(body)
	if err != nil {
		return nil, err
	}
	if err := n.readCommon(); err != nil {
		return nil, err
	}
	return n, nil
}

// Verified reports whether the notification came from ParseNotification and
// its signature checked out.
func (n *Notification) Verified() bool { return n.verified }

// Known reports whether the method is one of the documented ones.
func (n *Notification) Known() bool { return NotificationMethod(n.Method).Known() }

func parseNotificationEnvelope(body []byte) (*Notification, error) {
	m, err := ParseMessage(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidNotification, err)
	}
	if m.Kind != KindNotification {
		return nil, fmt.Errorf("%w: the body is a %s (method %q)", ErrNotNotification, m.Kind, m.Method())
	}
	if m.Method() == "" {
		return nil, fmt.Errorf("%w: method is missing", ErrInvalidNotification)
	}
	if m.UUID() == "" {
		return nil, fmt.Errorf("%w: params.uuid is missing", ErrInvalidNotification)
	}
	data, ok := m.Data().(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: params.data is %s, not an object", ErrInvalidNotification, jsonType(m.Data()))
	}
	return &Notification{Method: m.Method(), UUID: m.UUID(), Data: data, Message: m}, nil
}

// readCommon fills the fields every notification shares.
func (n *Notification) readCommon() error {
	f := notifFields{m: n.Data, path: "params.data"}
	var err error
	if n.NotificationID, err = f.text("notificationid"); err != nil {
		return err
	}
	if n.NotificationID == "" {
		return fmt.Errorf("%w: params.data.notificationid is missing (it is what tells a resend from a new notification)", ErrInvalidNotification)
	}
	if n.OrderID, err = f.text("orderid"); err != nil {
		return err
	}
	if n.MessageID, err = f.text("messageid"); err != nil {
		return err
	}
	if n.EndUserID, err = f.text("enduserid"); err != nil {
		return err
	}
	if n.RawTimestamp, err = f.text("timestamp"); err != nil {
		return err
	}
	if n.RawTimestamp != "" {
		if t, err := ParseTimestamp(n.RawTimestamp); err == nil {
			n.Timestamp = t
		}
	}
	n.Attributes, err = f.object("attributes")
	return err
}

// notifFields reads values out of a raw data object, naming the path of a
// bad one in the error.
type notifFields struct {
	m    map[string]any
	path string
}

// text reads a value as a string. Trustly sends strings, but a number is
// taken as its original text, which is also what the signature covered.
// Absent and null read as "".
func (f notifFields) text(key string) (string, error) {
	switch v := f.m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return string(v), nil
	default:
		return "", fmt.Errorf("%w: %s.%s is %s, not a string", ErrInvalidNotification, f.path, key, jsonType(v))
	}
}

// required reads a text value that must be present and non-empty.
func (f notifFields) required(key string) (string, error) {
	s, err := f.text(key)
	if err == nil && s == "" {
		err = fmt.Errorf("%w: %s.%s is missing", ErrInvalidNotification, f.path, key)
	}
	return s, err
}

// flag reads Trustly's "1"/"0" flags. Anything else is an error, not false:
// a mandate or verification must not be read as absent because of a typo.
func (f notifFields) flag(key string) (value, present bool, err error) {
	s, err := f.text(key)
	if err != nil {
		return false, false, err
	}
	switch {
	case s == "1":
		return true, true, nil
	case s == "0":
		return false, true, nil
	case s == "" && f.m[key] == nil:
		return false, false, nil
	}
	return false, false, fmt.Errorf("%w: %s.%s is %q, want \"1\" or \"0\"", ErrInvalidNotification, f.path, key, s)
}

func (f notifFields) object(key string) (map[string]any, error) {
	switch v := f.m[key].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	default:
		return nil, fmt.Errorf("%w: %s.%s is %s, not an object", ErrInvalidNotification, f.path, key, jsonType(v))
	}
}

func (n *Notification) want(m NotificationMethod) error {
	if n.Method != string(m) {
		return fmt.Errorf("%w: want %s, got %q (notificationid %s)", ErrWrongNotificationMethod, m, n.Method, n.NotificationID)
	}
	if n.OrderID == "" {
		return fmt.Errorf("%w: %s notification %s has no orderid", ErrInvalidNotification, m, n.NotificationID)
	}
	return nil
}

// MoneyNotification is what pending, credit, debit and payoutconfirmation
// notifications share: an amount moved for an order.
type MoneyNotification struct {
	OrderID   string
	MessageID string
	EndUserID string
	// Amount is in minor units: "902.50" is 90250.
	Amount   int64
	Currency string
}

// PendingNotification: the shopper finished the bank step; the money is not
// confirmed yet. Reserve stock, but do not ship.
type PendingNotification struct{ MoneyNotification }

// CreditNotification: funds confirmed, the only signal to ship. Also sent
// when a refund or payout fails and the money comes back.
type CreditNotification struct{ MoneyNotification }

// DebitNotification: a credited deposit failed after all, or a withdrawal
// asks to decrease the shopper's balance. The only notification that may be
// answered FAILED.
type DebitNotification struct{ MoneyNotification }

// PayoutConfirmationNotification: a refund or payout has left Trustly.
type PayoutConfirmationNotification struct{ MoneyNotification }

// PayoutFailedNotification: a refund or payout could not be sent or was
// returned by the receiving bank; the money stays with (or came back to)
// the merchant. ErrorCode is Trustly's machine-readable reason
// ("incorrect_account_number"), ErrorMessage its text; both may be empty.
type PayoutFailedNotification struct {
	MoneyNotification
	ErrorCode    string
	ErrorMessage string
}

// Pending returns the pending view, or an error for another method or a
// missing or malformed orderid, or a malformed amount or currency. A
// SelectAccount's pending carries no amount (Trustly sends one only for
// Deposits and Charges): then Amount is 0 and Currency "".
func (n *Notification) Pending() (PendingNotification, error) {
	if err := n.want(NotifyPending); err != nil {
		return PendingNotification{}, err
	}
	if v, ok := n.Data["amount"]; !ok || v == nil {
		if _, ok := n.Data["currency"]; ok {
			return PendingNotification{}, fmt.Errorf("%w: pending notification %s has a currency but no amount", ErrInvalidNotification, n.NotificationID)
		}
		return PendingNotification{MoneyNotification{OrderID: n.OrderID, MessageID: n.MessageID, EndUserID: n.EndUserID}}, nil
	}
	m, err := n.money(NotifyPending)
	return PendingNotification{m}, err
}

// Credit returns the credit view; see Pending for the errors.
func (n *Notification) Credit() (CreditNotification, error) {
	m, err := n.money(NotifyCredit)
	return CreditNotification{m}, err
}

// Debit returns the debit view; see Pending for the errors.
func (n *Notification) Debit() (DebitNotification, error) {
	m, err := n.money(NotifyDebit)
	return DebitNotification{m}, err
}

// PayoutConfirmation returns the payoutconfirmation view; see Pending for the
// errors. Trustly's example sends the amount without decimals ("11"); that
// reads as 1100.
func (n *Notification) PayoutConfirmation() (PayoutConfirmationNotification, error) {
	m, err := n.money(NotifyPayoutConfirmation)
	return PayoutConfirmationNotification{m}, err
}

// PayoutFailed returns the payoutfailed view; see Pending for the errors.
func (n *Notification) PayoutFailed() (PayoutFailedNotification, error) {
	m, err := n.money(NotifyPayoutFailed)
	if err != nil {
		return PayoutFailedNotification{}, err
	}
	text := func(k string) string {
		s, _ := n.Data[k].(string)
		return s
	}
	return PayoutFailedNotification{MoneyNotification: m, ErrorCode: text("errorcode"), ErrorMessage: text("errormessage")}, nil
}

func (n *Notification) money(method NotificationMethod) (MoneyNotification, error) {
	if err := n.want(method); err != nil {
		return MoneyNotification{}, err
	}
	f := notifFields{m: n.Data, path: "params.data"}
	amount, err := f.required("amount")
	if err != nil {
		return MoneyNotification{}, err
	}
	minor, err := ParseAmount(amount)
	if err != nil {
		return MoneyNotification{}, fmt.Errorf("%w: %s notification %s: %w", ErrInvalidNotification, method, n.NotificationID, err)
	}
	if minor <= 0 {
		return MoneyNotification{}, fmt.Errorf("%w: %s notification %s: %w %q: must be greater than zero", ErrInvalidNotification, method, n.NotificationID, ErrInvalidAmount, amount)
	}
	currency, err := f.required("currency")
	if err != nil {
		return MoneyNotification{}, err
	}
	if !notifCurrencyCode(currency) {
		return MoneyNotification{}, fmt.Errorf("%w: %s notification %s: currency %q is not an ISO 4217 code", ErrInvalidNotification, method, n.NotificationID, currency)
	}
	return MoneyNotification{
		OrderID:   n.OrderID,
		MessageID: n.MessageID,
		EndUserID: n.EndUserID,
		Amount:    minor,
		Currency:  currency,
	}, nil
}

func notifCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// CancelNotification: the order was not completed (abandoned checkout, a
// Charge that could not be processed, a declined or cancelled mandate).
type CancelNotification struct {
	OrderID   string
	MessageID string
	EndUserID string
	// Attributes is kept raw: for direct debit mandates Trustly documents a
	// reason here without naming its key.
	Attributes map[string]any
}

// Cancel returns the cancel view, or an error for another method or a
// missing orderid.
func (n *Notification) Cancel() (CancelNotification, error) {
	if err := n.want(NotifyCancel); err != nil {
		return CancelNotification{}, err
	}
	return CancelNotification{OrderID: n.OrderID, MessageID: n.MessageID, EndUserID: n.EndUserID, Attributes: n.Attributes}, nil
}

// AccountNotification describes the bank account used in an order (opt-in
// for Deposit, the result of SelectAccount) and, for direct debit, the state
// of the mandate.
type AccountNotification struct {
	OrderID   string
	MessageID string
	// AccountID is what Charge takes once the mandate is active.
	AccountID string
	Verified  bool

	ClearingHouse string // e.g. "SWEDEN"
	Bank          string
	Descriptor    string // masked, e.g. "**** *084057"
	LastDigits    string
	// DirectDebitMandate is nil when the attribute is absent (no mandate was
	// asked for), false for "0" (sent for approval, or deactivated) and true
	// for "1" (active: Charge may be used).
	DirectDebitMandate *bool
	// Attributes is kept raw: with Trustly's KYC add-on it also carries
	// personal data (personid, name, address, zipcode, city). Do not log it.
	Attributes map[string]any
}

// Account returns the account view, or an error for another method, a
// missing orderid or accountid, or a verified or directdebitmandate flag
// other than "1"/"0".
func (n *Notification) Account() (AccountNotification, error) {
	if err := n.want(NotifyAccount); err != nil {
		return AccountNotification{}, err
	}
	f := notifFields{m: n.Data, path: "params.data"}
	a := AccountNotification{OrderID: n.OrderID, MessageID: n.MessageID, Attributes: n.Attributes}
	var err error
	if a.AccountID, err = f.required("accountid"); err != nil {
		return AccountNotification{}, err
	}
	verified, present, err := f.flag("verified")
	if err != nil {
		return AccountNotification{}, err
	}
	if !present {
		return AccountNotification{}, fmt.Errorf("%w: params.data.verified is missing", ErrInvalidNotification)
	}
	a.Verified = verified

	attr := notifFields{m: n.Attributes, path: "params.data.attributes"}
	for _, fld := range []struct {
		key string
		dst *string
	}{
		{"clearinghouse", &a.ClearingHouse},
		{"bank", &a.Bank},
		{"descriptor", &a.Descriptor},
		{"lastdigits", &a.LastDigits},
	} {
		if *fld.dst, err = attr.text(fld.key); err != nil {
			return AccountNotification{}, err
		}
	}
	mandate, present, err := attr.flag("directdebitmandate")
	if err != nil {
		return AccountNotification{}, err
	}
	if present {
		a.DirectDebitMandate = &mandate
	}
	return a, nil
}

// KYCNotification carries the identity Trustly read from the shopper's bank
// before a deposit (only when the Deposit asked for it with RequestKYC "1").
// It is personal data: do not log it. It is answered CONTINUE or FINISH, not
// OK (see ReplyStatus).
type KYCNotification struct {
	OrderID   string
	MessageID string
	// KYCEntityID is Trustly's id for the shopper's bank profile. Trustly
	// warns that it may change, so it is no substitute for PersonID.
	KYCEntityID string

	PersonID    string // only in SE, FI and EE
	FirstName   string
	LastName    string
	DateOfBirth string // as sent, e.g. "1965-12-17"
	Street      string
	ZipCode     string
	City        string
	Country     string // as sent, e.g. "Sweden"
	// Abort is Trustly's own stop: it could not identify the shopper, or
	// found a reason not to go on, and says why in AbortMessage (its
	// schema's examples: "unverified", "underage"). The kyc variant with
	// abort and abortmessage is in Trustly's published models
	// (KYCAbortNotificationData in trustly-client-js' generated models);
	// the reference page does not describe it.
	Abort        bool
	AbortMessage string
	// Attributes is kept raw for fields Trustly adds per market.
	Attributes map[string]any
}

// KYC returns the kyc view, or an error for another method, a missing
// orderid or a field of the wrong type.
func (n *Notification) KYC() (KYCNotification, error) {
	if err := n.want(NotifyKYC); err != nil {
		return KYCNotification{}, err
	}
	k := KYCNotification{OrderID: n.OrderID, MessageID: n.MessageID, Attributes: n.Attributes}
	data := notifFields{m: n.Data, path: "params.data"}
	var err error
	if k.KYCEntityID, err = data.text("kycentityid"); err != nil {
		return KYCNotification{}, err
	}
	if k.Abort, _, err = data.flag("abort"); err != nil {
		return KYCNotification{}, err
	}
	if k.AbortMessage, err = data.text("abortmessage"); err != nil {
		return KYCNotification{}, err
	}
	attr := notifFields{m: n.Attributes, path: "params.data.attributes"}
	for _, fld := range []struct {
		key string
		dst *string
	}{
		{"personid", &k.PersonID},
		{"firstname", &k.FirstName},
		{"lastname", &k.LastName},
		{"dob", &k.DateOfBirth},
		{"street", &k.Street},
		{"zipcode", &k.ZipCode},
		{"city", &k.City},
		{"country", &k.Country},
	} {
		if *fld.dst, err = attr.text(fld.key); err != nil {
			return KYCNotification{}, err
		}
	}
	return k, nil
}
