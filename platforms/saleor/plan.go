package saleor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// The answers Saleor parses (saleor/webhook/response_schemas/transaction.py,
// parsed by saleor/payment/utils.py parse_transaction_action_data_for_*):
//
//   - the session webhooks (TRANSACTION_INITIALIZE_SESSION, _PROCESS_
//     SESSION) take result CHARGE_ACTION_REQUIRED (pspReference optional),
//     CHARGE_SUCCESS or CHARGE_REQUEST (pspReference required; REQUEST means
//     "asked for, the outcome comes later"), CHARGE_FAILURE, and the
//     AUTHORIZATION_ twins; data goes back to the storefront as it is;
//   - the action webhooks (TRANSACTION_CHARGE_/REFUND_/CANCELATION_
//     REQUESTED) take {"pspReference"} alone (asynchronous: Saleor keeps its
//     request event pending until transactionEventReport says how it ended),
//     or result X_SUCCESS (pspReference required) or X_FAILURE;
//   - PAYMENT_GATEWAY_INITIALIZE_SESSION takes {"data": …}.
//
// amount, time, externalUrl, message and actions are optional everywhere;
// a missing amount is the requested one, so we always send it.
type answer struct {
	PSPReference string      `json:"pspReference,omitempty"`
	Result       string      `json:"result,omitempty"`
	Amount       json.Number `json:"amount,omitempty"`
	Data         any         `json:"data,omitempty"`
	Message      string      `json:"message,omitempty"`
	Actions      []string    `json:"actions,omitempty"`
}

// sessionData is what the storefront gets in transactionInitialize's and
// transactionProcess's data.
type sessionData struct {
	RedirectURL string `json:"redirectUrl,omitempty"` // where to send the shopper: Trustly's checkout
	Pending     bool   `json:"pending,omitempty"`     // not known yet: call transactionProcess in a moment
}

// plan is what one webhook asks for: at most one command, and how to answer
// with its result.
type plan struct {
	command *adapter.Command
	answer  func(results []adapter.Result) any
}

// planOf decides, from the event alone, what to do and how to answer, so
// Translate and Answer (separate calls, maybe separate processes) agree.
func planOf(ev event) (plan, error) {
	switch ev.TypeName {
	case "PaymentGatewayInitializeSession":
		return plan{answer: func([]adapter.Result) any {
			return map[string]any{"data": map[string]any{"provider": "trustly", "flows": []string{"CHARGE"}}}
		}}, nil

	case "TransactionInitializeSession":
		if err := ev.need("action", "transaction", "sourceObject"); err != nil {
			return plan{}, err
		}
		return sessionPlan(ev, ev.IdempotencyKey, "")

	case "TransactionProcessSession":
		if err := ev.need("action", "transaction", "sourceObject"); err != nil {
			return plan{}, err
		}
		if psp := ev.Transaction.PSPReference; psp != "" {
			// The shopper is back from Trustly. Whether the bank paid is
			// Trustly's notification's to say; until then the charge is
			// requested, and transactionEventReport settles it.
			amount := ev.Action.Amount
			return plan{answer: func([]adapter.Result) any {
				return answer{PSPReference: psp, Result: "CHARGE_REQUEST", Amount: amount,
					Message: "Waiting for Trustly to confirm the bank transfer."}
			}}, nil
		}
		// Initialize's answer was still pending: ask again under its key,
		// which returns its outcome once it has one.
		return sessionPlan(ev, ev.Transaction.initializeKey(), "no transactionInitialize request found for this transaction")

	case "TransactionChargeRequested":
		if err := ev.need("action", "transaction"); err != nil {
			return plan{}, err
		}
		psp, amount := ev.Transaction.PSPReference, ev.Action.Amount
		return plan{answer: func([]adapter.Result) any {
			return answer{PSPReference: psp, Result: "CHARGE_FAILURE", Amount: amount,
				Message: "Trustly bank payments are charged when the shopper pays; there is nothing authorized to charge."}
		}}, nil

	case "TransactionRefundRequested":
		return refundPlan(ev)

	case "TransactionCancelationRequested":
		if err := ev.need("action", "transaction"); err != nil {
			return plan{}, err
		}
		psp, amount := ev.Transaction.PSPReference, ev.Action.Amount
		return plan{answer: func([]adapter.Result) any {
			return answer{PSPReference: psp, Result: "CANCEL_FAILURE", Amount: amount,
				Message: "A Trustly bank payment cannot be cancelled once started; refund it instead."}
		}}, nil
	}
	return plan{}, fmt.Errorf("%w: event %.80q is not one this app subscribes to", adapter.ErrInvalid, ev.TypeName)
}

// need reports a selection the event lacks: a webhook whose subscription
// query is not the manifest's.
func (e event) need(fields ...string) error {
	for _, f := range fields {
		missing := (f == "action" && e.Action == nil) || (f == "transaction" && (e.Transaction == nil || e.Transaction.ID == "")) ||
			(f == "sourceObject" && e.Source == nil)
		if missing {
			return fmt.Errorf("%w: %s without %s (is the webhook's subscription query the manifest's?)", adapter.ErrInvalid, e.TypeName, f)
		}
	}
	return nil
}

// storefrontData is what the storefront may put in transactionInitialize's
// (and transactionProcess's) paymentGateway.data for this app. Saleor
// passes it through as the payload's data.
type storefrontData struct {
	// StoreMandate: pay now and register a direct debit mandate, so later
	// checkouts of the same customer can be charged without the shopper.
	StoreMandate bool `json:"storeMandate"`
	// ChargeMandate: charge the customer's active mandate instead of
	// sending the shopper to Trustly.
	ChargeMandate bool `json:"chargeMandate"`
}

// sessionPlan is a payment for a session webhook: one command under
// Saleor's idempotency key for the initialize, answered with Trustly's
// checkout URL (a Deposit), or with the charge requested (a stored
// mandate's Charge).
func sessionPlan(ev event, saleorKey, noKey string) (plan, error) {
	amount := ev.Action.Amount
	fail := func(msg string) plan {
		return plan{answer: func([]adapter.Result) any {
			return answer{Result: "CHARGE_FAILURE", Amount: amount, Message: msg}
		}}
	}
	if ev.Action.ActionType != "CHARGE" {
		// Trustly has no authorize-then-capture for bank payments.
		return fail("Trustly takes CHARGE payments only: set the channel's transaction flow strategy to CHARGE."), nil
	}
	if saleorKey == "" {
		return fail(noKey), nil
	}
	var data storefrontData
	if len(ev.Data) > 0 && string(ev.Data) != "null" {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return fail("paymentGateway.data is not this app's object ({\"storeMandate\"|\"chargeMandate\": true}): " + err.Error()), nil
		}
	}
	cmd, err := payCommand(ev, saleorKey)
	if err != nil {
		return plan{}, err
	}
	switch {
	case data.StoreMandate && data.ChargeMandate:
		return fail("storeMandate and chargeMandate exclude each other"), nil
	case data.StoreMandate:
		cmd.RequestMandate = true
	case data.ChargeMandate:
		return chargePlan(cmd, saleorKey, amount), nil
	}
	return plan{command: &cmd, answer: func(rs []adapter.Result) any {
		if len(rs) != 1 {
			return answer{Result: "CHARGE_FAILURE", Amount: amount, Message: "the payment was not started"}
		}
		r := rs[0]
		switch {
		case pending(r):
			return answer{Result: "CHARGE_ACTION_REQUIRED", Amount: amount, Data: sessionData{Pending: true},
				Message: "Trustly has not answered yet: call transactionProcess for the checkout URL."}
		case !r.OK:
			return answer{Result: "CHARGE_FAILURE", Amount: amount, Message: failure(r)}
		}
		return answer{PSPReference: r.ProviderReference, Result: "CHARGE_ACTION_REQUIRED", Amount: amount,
			Data: sessionData{RedirectURL: r.RedirectURL}, Message: "Send the shopper to Trustly."}
	}}, nil
}

// chargePlan charges the customer's active mandate: no shopper at Trustly,
// so the answer is CHARGE_REQUEST with the charge's OrderID, and the
// outcome follows by transactionEventReport.
func chargePlan(pay adapter.Command, saleorKey string, amount json.Number) plan {
	cmd := adapter.Command{Kind: adapter.CommandCharge, IdempotencyKey: idempotencyKey("charge", saleorKey),
		Order: pay.Order, Amount: pay.Amount, Customer: pay.Customer, Metadata: pay.Metadata}
	return plan{command: &cmd, answer: func(rs []adapter.Result) any {
		switch {
		case len(rs) != 1:
			return answer{Result: "CHARGE_FAILURE", Amount: amount, Message: "the charge was not started"}
		case pending(rs[0]):
			return answer{Result: "CHARGE_ACTION_REQUIRED", Amount: amount, Data: sessionData{Pending: true},
				Message: "Trustly has not answered yet: call transactionProcess with the same data."}
		case !rs[0].OK:
			return answer{Result: "CHARGE_FAILURE", Amount: amount, Message: failure(rs[0])}
		}
		return answer{PSPReference: rs[0].ProviderReference, Result: "CHARGE_REQUEST", Amount: amount,
			Message: "Charging the customer's direct debit mandate."}
	}}
}

// refundPlan is a refund of the transaction's payment: the amount Saleor
// asks for, keyed by its request event, answered asynchronously (the
// payout's outcome comes by transactionEventReport).
func refundPlan(ev event) (plan, error) {
	if err := ev.need("action", "transaction"); err != nil {
		return plan{}, err
	}
	minor, err := parseAmount(ev.Action.Amount)
	if err != nil {
		return plan{}, fmt.Errorf("%w: refund %w", adapter.ErrInvalid, err)
	}
	t := ev.Transaction
	key := t.requestKey("REFUND_REQUEST")
	if key == "" {
		return plan{}, fmt.Errorf("%w: refund request without its REFUND_REQUEST event (is the subscription query the manifest's?)", adapter.ErrInvalid)
	}
	cmd := adapter.Command{
		Kind: adapter.CommandRefund, IdempotencyKey: idempotencyKey("refund", key),
		Order:     adapter.Order{ID: t.ID},
		Amount:    adapter.Money{Minor: minor, Currency: ev.Action.Currency},
		Reference: t.PSPReference,
	}
	amount := ev.Action.Amount
	return plan{command: &cmd, answer: func(rs []adapter.Result) any {
		switch {
		case len(rs) != 1:
			return answer{PSPReference: refusedRefundPSP(key), Result: "REFUND_FAILURE", Amount: amount, Message: "the refund was not started"}
		case pending(rs[0]) || rs[0].OK && rs[0].OrderID == "":
			// No refund order to name yet, and a pspReference named
			// otherwise would never meet the outcome's report. Saleor
			// sends this webhook again on a 5xx, with the same payload and
			// request event, so the same key (saleor/webhook/transport/
			// synchronous/transport.py handle_transaction_request_task:
			// retry_backoff=10, max_retries=5, about 5 minutes; the
			// sidecar's Refund call settles well within it): the retry
			// gets the finished command's answer. An OK without OrderID is
			// a host older than Result.OrderID: the same, and the log
			// says so.
			return retryLater{msg: "Trustly has not answered the refund yet: send the request again."}
		case !rs[0].OK:
			return answer{PSPReference: or(refundPSP(rs[0].OrderID), refusedRefundPSP(key)), Result: "REFUND_FAILURE", Amount: amount,
				Message: failure(rs[0])}
		}
		// Accepted (or its outcome still unknown): Saleor keeps the refund
		// requested until the payout's outcome is reported under the same
		// pspReference.
		return answer{PSPReference: refundPSP(rs[0].OrderID)}
	}}, nil
}

// refundPSP is a refund's pspReference in Saleor: the sidecar's order of
// the refund, which Answer has (Result.OrderID) and every later status
// change of the refund names (the prefix of StatusChange.ID). Saleor ties a
// refund's outcome to its request by pspReference alone: the request event
// takes the pspReference of the webhook's answer (saleor/payment/utils.py
// create_transaction_event_from_request_and_webhook_response), events are
// grouped by pspReference and a REFUND_REQUEST stays pending until a
// REFUND_SUCCESS or REFUND_FAILURE of the same pspReference exists
// (saleor/payment/transaction_item_calculations.py
// _should_increase_pending_amount; transaction_event_report.py
// get_related_granted_refund), and a second event of one type and
// pspReference is the first again (alreadyProcessed) or refused with
// another amount (INCORRECT_DETAILS: get_already_existing_event). So each
// refund needs its own, known on both sides: Trustly's OrderID is not (the
// answer may come before Trustly names the refund, and Trustly may name
// it by the payment's OrderID), the amount is not unique.
func refundPSP(sidecarOrderID string) string {
	if sidecarOrderID == "" {
		return ""
	}
	return "refund:" + sidecarOrderID
}

// refusedRefundPSP is the pspReference of a refund refused before the
// sidecar made an order for it: Saleor's request key, unique per request,
// so two refusals do not read as one event (get_already_existing_event);
// hashed when it is long, like our idempotency keys.
func refusedRefundPSP(saleorKey string) string {
	return idempotencyKey("refund-request", saleorKey)
}

// retryLater is an answer Saleor must not book: a 503, after which Saleor
// sends the action webhook again (see refundPlan).
type retryLater struct{ msg string }

// payCommand is the Deposit for a session: the transaction is the order
// status changes name, the checkout's or order's buyer the payer.
func payCommand(ev event, saleorKey string) (adapter.Command, error) {
	minor, err := parseAmount(ev.Action.Amount)
	if err != nil {
		return adapter.Command{}, fmt.Errorf("%w: %w", adapter.ErrInvalid, err)
	}
	s := ev.Source
	email := or(s.Email, s.UserEmail)
	var first, last, phone string
	if s.Billing != nil {
		first, last, phone = s.Billing.FirstName, s.Billing.LastName, s.Billing.Phone
	}
	customerID := ""
	if s.User != nil {
		email = or(email, s.User.Email)
		first, last = or(first, s.User.FirstName), or(last, s.User.LastName)
		customerID = s.User.ID
	}
	if customerID == "" && email != "" {
		// A guest: Trustly's EndUserID must be stable per payer, and the
		// e-mail is what Saleor knows of one.
		customerID = "guest:" + strings.ToLower(email)
	}
	cmd := adapter.Command{
		Kind:           adapter.CommandPay,
		IdempotencyKey: idempotencyKey("init", saleorKey),
		Order:          adapter.Order{ID: ev.Transaction.ID, Number: or(s.Number, ev.MerchantReference)},
		Amount:         adapter.Money{Minor: minor, Currency: ev.Action.Currency},
		Customer: adapter.Customer{ID: customerID, Email: email, FirstName: first, LastName: last,
			Country: s.Billing.country(), Phone: phone},
		Metadata: map[string]string{"saleorSource": s.TypeName + ":" + s.ID},
	}
	if a := s.Shipping; a != nil {
		cmd.ShippingAddress = adapter.Address{Country: a.country(), PostalCode: a.PostalCode, City: a.City,
			Line1: a.StreetAddress1, Line2: a.StreetAddress2}
	}
	return cmd, nil
}

// idempotencyKey is ours for Saleor's key: the same Saleor key gives the
// same command, whichever webhook carries it. A key too long for the
// sidecar is hashed.
func idempotencyKey(kind, saleorKey string) string {
	k := kind + ":" + saleorKey
	if len(k) > 200 || strings.ContainsFunc(saleorKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		sum := sha256.Sum256([]byte(saleorKey))
		k = kind + ":sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}

// pending is a command the host has not finished within Saleor's wait
// (Result.Pending): it goes on, and a later request under the same key gets
// its outcome. A key in use by a request still running (Saleor calling
// again while the first call works) is the same for the answer.
func pending(r adapter.Result) bool {
	return r.Pending || !r.OK && (r.ErrorCode == "idempotency_key_in_use" || r.ErrorCode == "idempotency_key_interrupted")
}

// failure is the reason of a failed command in words for Saleor's event
// message (at most 512 characters there).
func failure(r adapter.Result) string {
	msg := strings.TrimSpace(r.ErrorCode + ": " + r.Message)
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return "Trustly payment refused: " + strings.TrimPrefix(msg, ": ")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// jsonResponse is v as the JSON answer; URLs keep their & and queries their
// >= (no HTML escaping: nobody renders these as HTML).
func jsonResponse(status int, v any) (adapter.Response, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return adapter.Response{}, fmt.Errorf("answer: %w", err)
	}
	return adapter.Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: bytes.TrimSuffix(b.Bytes(), []byte("\n"))}, nil
}
