package commercetools

import (
	"encoding/json"
	"strconv"
)

// The parts of commercetools' Payment the adapter reads
// (https://docs.commercetools.com/api/projects/payments, "Payment").
type payment struct {
	ID                string            `json:"id"`
	Version           int64             `json:"version"`
	Customer          *reference        `json:"customer,omitempty"`
	AnonymousID       string            `json:"anonymousId,omitempty"`
	InterfaceID       string            `json:"interfaceId,omitempty"`
	AmountPlanned     money             `json:"amountPlanned"`
	PaymentMethodInfo paymentMethodInfo `json:"paymentMethodInfo"`
	Transactions      []transaction     `json:"transactions"`
	Interactions      []customFields    `json:"interfaceInteractions"`
	Custom            *customFields     `json:"custom,omitempty"`
}

type reference struct {
	TypeID string `json:"typeId"`
	ID     string `json:"id,omitempty"`
	Key    string `json:"key,omitempty"`
}

// money is commercetools' Money (centPrecision: centAmount is in minor
// units of currencyCode).
type money struct {
	CentAmount     int64  `json:"centAmount"`
	CurrencyCode   string `json:"currencyCode"`
	FractionDigits int    `json:"fractionDigits,omitempty"`
}

type paymentMethodInfo struct {
	PaymentInterface string `json:"paymentInterface"`
	Method           string `json:"method,omitempty"`
}

// The TransactionType and TransactionState values
// (https://docs.commercetools.com/api/projects/payments, "TransactionType",
// "TransactionState").
const (
	txAuthorization       = "Authorization"
	txCharge              = "Charge"
	txRefund              = "Refund"
	txCancelAuthorization = "CancelAuthorization"
	txChargeback          = "Chargeback"

	stateInitial = "Initial"
	statePending = "Pending"
	stateSuccess = "Success"
	stateFailure = "Failure"
)

type transaction struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	Amount        money  `json:"amount"`
	State         string `json:"state"`
	InteractionID string `json:"interactionId,omitempty"`
}

// final: commercetools does not move a transaction out of these.
func (t transaction) final() bool { return t.State == stateSuccess || t.State == stateFailure }

// customFields is CustomFields: a Type reference and its field values.
type customFields struct {
	Type   reference                  `json:"type"`
	Fields map[string]json.RawMessage `json:"fields"`
}

// text is the string field name, "" when absent or not a string.
func (c *customFields) text(name string) string {
	if c == nil {
		return ""
	}
	var s string
	if json.Unmarshal(c.Fields[name], &s) != nil {
		return ""
	}
	return s
}

// flag is the boolean field name, false when absent or not a boolean.
func (c *customFields) flag(name string) bool {
	if c == nil {
		return false
	}
	var b bool
	return json.Unmarshal(c.Fields[name], &b) == nil && b
}

// The custom fields of the Payment's custom type (README.md has the Type's
// JSON, key trustly-payment). The checkout fills in the payer; the extension fills in
// the rest.
const (
	fieldEmail          = "trustlyEmail"
	fieldFirstName      = "trustlyFirstName"
	fieldLastName       = "trustlyLastName"
	fieldCountry        = "trustlyCountry"
	fieldRequestMandate = "trustlyRequestMandate" // pay now, charge later: Trustly's mandate with this payment
	fieldRecurring      = "trustlyRecurring"      // a Charge of this payment uses the customer's mandate
	fieldRedirectURL    = "trustlyRedirectUrl"    // where to send the shopper (the extension writes it)
	fieldOrderID        = "trustlyOrderId"        // Trustly's OrderID of the latest attempt
)

// The fields of the interface interaction type (InteractionType): one
// interaction per Trustly event the payment has seen.
const (
	ixChangeID = "changeId" // the sidecar's change id, or the command's idempotency key
	ixStatus   = "status"
	ixOrderID  = "trustlyOrderId"
	ixAmount   = "amount"
	ixMessage  = "message"
	ixAt       = "occurredAt"
)

// hasInteraction says whether an interaction with this change id is
// recorded: the change was applied (its actions went in one update).
func (p *payment) hasInteraction(changeID string) bool {
	for i := range p.Interactions {
		if p.Interactions[i].text(ixChangeID) == changeID {
			return true
		}
	}
	return false
}

// action is one update action; the keys are commercetools' own.
type action map[string]any

func changeState(txID, state string) action {
	return action{"action": "changeTransactionState", "transactionId": txID, "state": state}
}

func changeInteractionID(txID, id string) action {
	return action{"action": "changeTransactionInteractionId", "transactionId": txID, "interactionId": id}
}

// decimal renders minor units as the 2-decimal string Trustly and a person
// read, e.g. 10350 SEK → "103.50 SEK".
func decimal(m int64, currency string) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	frac := strconv.FormatInt(m%100, 10)
	if len(frac) < 2 {
		frac = "0" + frac
	}
	return sign + strconv.FormatInt(m/100, 10) + "." + frac + " " + currency
}
