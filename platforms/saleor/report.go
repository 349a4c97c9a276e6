package saleor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// A status change reaches Saleor as one transactionEventReport on the
// transaction the payment was started for (Order.ID is its id). Arguments
// and answer: saleor/graphql/schema.graphql, Mutation.transactionEventReport
// (id, pspReference!, type: TransactionEventTypeEnum!, amount, time,
// message, availableActions) and type TransactionEventReport
// (alreadyProcessed, errors{field message code}). The same event reported
// again is answered alreadyProcessed: the change landed before, which is
// success here.
const reportMutation = `mutation TrustlyReport($id: ID!, $psp: String!, $type: TransactionEventTypeEnum!,
  $amount: PositiveDecimal, $time: DateTime, $message: String, $actions: [TransactionActionEnum!]) {
  transactionEventReport(id: $id, pspReference: $psp, type: $type, amount: $amount, time: $time,
    message: $message, availableActions: $actions) {
    alreadyProcessed
    errors { field message code }
  }
}`

// report is how one payment status is told to Saleor. Event types:
// TransactionEventTypeEnum in saleor/graphql/schema.graphql.
type report struct {
	Type string
	// Actions are what Saleor's dashboard offers next; nil leaves them.
	Actions []string
	// Refund events carry the refund's own pspReference (refundPSP of
	// the sidecar order the change is about).
	Refund bool
}

// statusTable is the one mapping from our statuses to Saleor's events
// (shared/platforms.md's Saleor column, with its CHECKs settled against the
// enum): Trustly's pending is CHARGE_REQUEST (there is no CHARGE_PENDING; a
// request is Saleor's "under way"), a debit after a credit is CHARGE_BACK,
// a note is INFO. A mandate is no money on a Saleor transaction (its
// payment and its charges are), so its changes report nothing.
var statusTable = map[adapter.PaymentStatus]*report{
	adapter.StatusPending:         {Type: "CHARGE_REQUEST"},
	adapter.StatusPaid:            {Type: "CHARGE_SUCCESS", Actions: []string{"REFUND"}},
	adapter.StatusCancelled:       {Type: "CHARGE_FAILURE", Actions: []string{}},
	adapter.StatusReversed:        {Type: "CHARGE_BACK"},
	adapter.StatusRefundPending:   {Type: "REFUND_REQUEST", Refund: true},
	adapter.StatusRefunded:        {Type: "REFUND_SUCCESS", Refund: true},
	adapter.StatusRefundFailed:    {Type: "REFUND_FAILURE", Refund: true},
	adapter.StatusAttention:       {Type: "INFO"},
	adapter.StatusMandateActive:   nil,
	adapter.StatusMandateDeclined: nil,
	adapter.StatusMandateRevoked:  nil,
}

// ApplyStatus reports a change to Saleor.
func (a *Adapter) ApplyStatus(ctx context.Context, ch adapter.StatusChange) error {
	r, known := statusTable[ch.Status]
	switch {
	case !known:
		return fmt.Errorf("%w: status %q has no Saleor event", adapter.ErrPermanent, ch.Status)
	case r == nil:
		return nil
	case ch.Order.ID == "":
		return fmt.Errorf("%w: change %s names no transaction", adapter.ErrPermanent, ch.ID)
	}
	psp := ch.ProviderReference
	if r.Refund {
		// The refund's sidecar order, as its answer named it; Trustly's
		// OrderID is not needed (a refund Trustly refused has none).
		psp = refundPSP(changeOrderID(ch.ID))
	}
	if psp == "" {
		return fmt.Errorf("%w: change %s names no Trustly OrderID (or, for a refund, no sidecar order)", adapter.ErrPermanent, ch.ID)
	}
	vars := map[string]any{"id": ch.Order.ID, "psp": psp, "type": r.Type}
	if ch.Amount.Minor > 0 {
		vars["amount"] = formatAmount(ch.Amount.Minor)
	}
	if !ch.OccurredAt.IsZero() {
		vars["time"] = ch.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	if ch.Message != "" {
		vars["message"] = truncate(ch.Message, 500)
	}
	if r.Actions != nil {
		vars["actions"] = r.Actions
	}
	token, err := a.tokens.get(a.cfg.APIURL)
	if err != nil {
		return err
	}
	var out struct {
		TransactionEventReport *struct {
			AlreadyProcessed bool `json:"alreadyProcessed"`
			Errors           []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"errors"`
		} `json:"transactionEventReport"`
	}
	if err := a.graphql(ctx, token, reportMutation, vars, &out); err != nil {
		return fmt.Errorf("transactionEventReport %s for %s: %w", r.Type, ch.ID, err)
	}
	res := out.TransactionEventReport
	switch {
	case res == nil:
		return fmt.Errorf("%w: transactionEventReport answered no result", adapter.ErrRetryable)
	case len(res.Errors) > 0:
		e := res.Errors[0]
		// Saleor refused this event (NOT_FOUND, INCORRECT_DETAILS, INVALID,
		// …): sending it again will not change its mind.
		return fmt.Errorf("%w: transactionEventReport %s for %s: %s %s: %.200s", adapter.ErrPermanent, r.Type, ch.ID, e.Code, e.Field, e.Message)
	}
	return nil
}

// errGraphQL is a GraphQL error answer (permission, syntax, unknown
// argument): Saleor read the request and refused it.
var errGraphQL = errors.New("graphql error")

// graphql calls Saleor's API with the app token. Transport failures, 5xx,
// 429 and a refused token (401/403: the app reinstalled, the new token not
// here yet) are retryable; other refusals and GraphQL errors permanent.
func (a *Adapter) graphql(ctx context.Context, token, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fmt.Errorf("%w: %w", adapter.ErrPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.APIURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", adapter.ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%w: %w", adapter.ErrRetryable, ctxErr)
		}
		return fmt.Errorf("%w: %w", adapter.ErrRetryable, err)
	}
	defer resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 500 || c == http.StatusTooManyRequests || c == http.StatusRequestTimeout:
		return fmt.Errorf("%w: Saleor answered %d", adapter.ErrRetryable, c)
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		return fmt.Errorf("%w: Saleor refused the app token (%d): reinstall the app", adapter.ErrRetryable, c)
	case c != http.StatusOK && c != http.StatusBadRequest:
		// 400 carries GraphQL errors, read below.
		return fmt.Errorf("%w: Saleor answered %d", adapter.ErrPermanent, c)
	}
	var env struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Exception struct {
					Code string `json:"code"`
				} `json:"exception"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&env); err != nil {
		return fmt.Errorf("%w: Saleor's answer: %w", adapter.ErrRetryable, err)
	}
	if len(env.Errors) > 0 {
		e := env.Errors[0]
		switch e.Extensions.Exception.Code {
		case "PermissionDenied", "ExpiredSignatureError", "InvalidTokenError":
			// An unknown app token makes the request anonymous, so a token
			// revoked by a reinstall reads as a missing permission. The
			// reinstall brings a new token: retrying lands then.
			return fmt.Errorf("%w: Saleor refused the app token (%s): %.200s", adapter.ErrRetryable, e.Extensions.Exception.Code, e.Message)
		}
		return fmt.Errorf("%w: %w: %.300s", adapter.ErrPermanent, errGraphQL, e.Message)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("%w: Saleor's answer: %w", adapter.ErrRetryable, err)
	}
	return nil
}

// changeOrderID is the sidecar order a change is about: its ID reads
// "<order id>:<seq>" (adapter.StatusChange.ID).
func changeOrderID(changeID string) string {
	i := strings.LastIndexByte(changeID, ':')
	if i <= 0 {
		return ""
	}
	return changeID[:i]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n-- // not inside a UTF-8 sequence
	}
	return s[:n]
}
