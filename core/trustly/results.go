package trustly

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrUnexpectedResult wraps every failure to read a response's result data:
// a field missing or of the wrong type. The call may still have been
// accepted by Trustly, so callers must not treat this as "not done".
var ErrUnexpectedResult = errors.New("trustly: unexpected result data")

// The parse functions below take result.data exactly as ParseJSON produced
// it (map[string]any, []any, string, json.Number, nil), after the client has
// verified its signature. Fields they do not know are ignored.

// DepositResult is Deposit's answer: the order and the checkout URL the
// shopper opens with GET. The URL expires within minutes; never cache it.
type DepositResult struct {
	OrderID string
	URL     string
}

// SelectAccountResult is SelectAccount's answer, shaped like Deposit's.
type SelectAccountResult struct {
	OrderID string
	URL     string
}

// RefundResult is Refund's answer. Accepted means Trustly took the refund
// for processing, not that money has left; a refused refund comes back as a
// Trustly error instead.
type RefundResult struct {
	OrderID  string
	Accepted bool
}

// ChargeResult is Charge's answer. Accepted means the order was taken; the
// money moves only when notifications say so. When not accepted, OrderID is
// usually empty and Rejected holds Trustly's reason code, e.g.
// "ERROR_MANDATE_NOT_FOUND".
type ChargeResult struct {
	OrderID  string
	Accepted bool
	Rejected string
}

// CancelChargeResult is CancelCharge's answer; Rejected explains a refusal.
type CancelChargeResult struct {
	Accepted bool
	Rejected string
}

// Balance is the merchant's balance in one currency. It may be negative.
type Balance struct {
	Currency string
	Balance  int64 // minor units
}

// Withdrawal is one payout in GetWithdrawals' answer. TransferState is
// informational only: Trustly may add, change or remove states without
// notice, so no logic may depend on a specific value.
type Withdrawal struct {
	OrderID          string
	Reference        string
	Datestamp        string // when Trustly received the request, as Trustly wrote it
	ModificationDate string
	TransferState    string
	Amount           int64 // minor units
	Currency         string
	AccountID        string // the receiving account
	ETA              string // expected arrival, empty when unknown
	// Raw is the entry as received, including fields not listed above.
	Raw map[string]any
}

// ParseDepositResult reads Deposit's result data.
func ParseDepositResult(data any) (*DepositResult, error) {
	orderID, url, err := parseOrderURL("Deposit", data)
	if err != nil {
		return nil, err
	}
	return &DepositResult{OrderID: orderID, URL: url}, nil
}

// ParseSelectAccountResult reads SelectAccount's result data.
func ParseSelectAccountResult(data any) (*SelectAccountResult, error) {
	orderID, url, err := parseOrderURL("SelectAccount", data)
	if err != nil {
		return nil, err
	}
	return &SelectAccountResult{OrderID: orderID, URL: url}, nil
}

func parseOrderURL(method string, data any) (orderID, url string, err error) {
	r, err := newResultReader(method, data)
	if err != nil {
		return "", "", err
	}
	orderID = r.number("orderid", true)
	url = r.text("url", true)
	return orderID, url, r.err
}

// ParseRefundResult reads Refund's result data.
func ParseRefundResult(data any) (*RefundResult, error) {
	r, err := newResultReader("Refund", data)
	if err != nil {
		return nil, err
	}
	res := &RefundResult{OrderID: r.number("orderid", true), Accepted: r.flag("result")}
	if r.err != nil {
		return nil, r.err
	}
	return res, nil
}

// ParseChargeResult reads Charge's result data.
func ParseChargeResult(data any) (*ChargeResult, error) {
	r, err := newResultReader("Charge", data)
	if err != nil {
		return nil, err
	}
	res := &ChargeResult{Accepted: r.flag("result")}
	// An accepted Charge must name its order: without it the notifications
	// that follow cannot be matched.
	res.OrderID = r.number("orderid", res.Accepted)
	res.Rejected = r.text("rejected", false)
	if r.err != nil {
		return nil, r.err
	}
	return res, nil
}

// ParseCancelChargeResult reads CancelCharge's result data.
func ParseCancelChargeResult(data any) (*CancelChargeResult, error) {
	r, err := newResultReader("CancelCharge", data)
	if err != nil {
		return nil, err
	}
	res := &CancelChargeResult{Accepted: r.flag("result"), Rejected: r.text("rejected", false)}
	if r.err != nil {
		return nil, r.err
	}
	return res, nil
}

// ParseBalanceResult reads Balance's result data: a list of
// {currency, balance}. An empty list is a valid answer.
func ParseBalanceResult(data any) ([]Balance, error) {
	entries, err := resultList("Balance", data)
	if err != nil {
		return nil, err
	}
	out := make([]Balance, 0, len(entries))
	for i, e := range entries {
		r, err := newResultReader(fmt.Sprintf("Balance[%d]", i), e)
		if err != nil {
			return nil, err
		}
		b := Balance{Currency: r.text("currency", true), Balance: r.amount("balance")}
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, b)
	}
	return out, nil
}

// ParseWithdrawalsResult reads GetWithdrawals' result data: a list of
// payouts. An empty list is a valid answer (nothing paid out yet).
func ParseWithdrawalsResult(data any) ([]Withdrawal, error) {
	entries, err := resultList("GetWithdrawals", data)
	if err != nil {
		return nil, err
	}
	out := make([]Withdrawal, 0, len(entries))
	for i, e := range entries {
		r, err := newResultReader(fmt.Sprintf("GetWithdrawals[%d]", i), e)
		if err != nil {
			return nil, err
		}
		w := Withdrawal{
			OrderID:          r.number("orderid", true),
			Reference:        r.number("reference", false),
			Datestamp:        r.text("datestamp", false),
			ModificationDate: r.text("modificationdate", false),
			TransferState:    r.text("transferstate", false),
			Amount:           r.amount("amount"),
			Currency:         r.text("currency", true),
			AccountID:        r.number("accountid", false),
			ETA:              r.text("eta", false),
			Raw:              r.obj,
		}
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, w)
	}
	return out, nil
}

func resultList(method string, data any) ([]any, error) {
	list, ok := data.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s: data is %s, want a list", ErrUnexpectedResult, method, jsonType(data))
	}
	return list, nil
}

// resultReader reads fields from one result object and keeps the first
// error, so a parse function reads straight through and checks once.
type resultReader struct {
	where string
	obj   map[string]any
	err   error
}

func newResultReader(where string, data any) (*resultReader, error) {
	obj, ok := data.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s: data is %s, want an object", ErrUnexpectedResult, where, jsonType(data))
	}
	return &resultReader{where: where, obj: obj}, nil
}

func (r *resultReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s: %s", ErrUnexpectedResult, r.where, fmt.Sprintf(format, args...))
	}
}

// text reads a string field; null and absent read as "", which is an error
// when required.
func (r *resultReader) text(key string, required bool) string {
	return r.read(key, required, false)
}

// number reads a field that is numeric by nature (order ids, amounts) and
// takes an unquoted number as its exact text: Trustly quotes them, but a
// JSON number here is still unambiguous.
func (r *resultReader) number(key string, required bool) string {
	return r.read(key, required, true)
}

func (r *resultReader) read(key string, required, numbers bool) string {
	var s string
	switch v := r.obj[key].(type) {
	case nil:
	case string:
		s = v
	case json.Number:
		if !numbers {
			r.fail("%s is a number, want a string", key)
			return ""
		}
		s = string(v)
	default:
		r.fail("%s is %s, want a string", key, jsonType(v))
		return ""
	}
	if s == "" && required {
		r.fail("%s is missing", key)
	}
	return s
}

// flag reads Trustly's "1"/"0" result flag. Anything else is an error rather
// than a guess: mistaking a refusal for an acceptance loses money.
func (r *resultReader) flag(key string) bool {
	v := r.obj[key]
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = string(t)
	case nil:
		r.fail("%s is missing", key)
		return false
	default:
		r.fail("%s is %s, want \"1\" or \"0\"", key, jsonType(v))
		return false
	}
	switch s {
	case "1":
		return true
	case "0":
		return false
	}
	r.fail("%s is %q, want \"1\" or \"0\"", key, s)
	return false
}

// amount reads a money field into minor units; it may be negative.
func (r *resultReader) amount(key string) int64 {
	s := r.number(key, true)
	if s == "" {
		return 0
	}
	v, err := ParseAmount(s)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("%w: %s: %s: %w", ErrUnexpectedResult, r.where, key, err)
	}
	return v
}
