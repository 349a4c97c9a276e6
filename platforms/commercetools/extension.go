package commercetools

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// extensionInput is what commercetools POSTs to an API Extension
// (https://docs.commercetools.com/api/projects/api-extensions, "Input").
type extensionInput struct {
	Action   string `json:"action"` // Create or Update
	Resource struct {
		TypeID string          `json:"typeId"`
		ID     string          `json:"id"`
		Obj    json.RawMessage `json:"obj"`
	} `json:"resource"`
}

// authenticate compares the Authorization header with the configured value
// in constant time. The extension's body is not signed: commercetools
// authenticates a destination only by that header (HttpDestination's
// AuthorizationHeader), so the header is the route's whole authentication.
// Hashing both first keeps the comparison's time independent of the
// lengths too.
func (a *Adapter) authenticate(h http.Header) error {
	got := h.Get("Authorization")
	if got == "" {
		return fmt.Errorf("%w: no Authorization header", adapter.ErrUnauthenticated)
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256(a.cfg.ExtensionAuthorization)
	if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
		return fmt.Errorf("%w: the Authorization header is not the extension's", adapter.ErrUnauthenticated)
	}
	return nil
}

// step is one transaction the extension acts on, and the command for it.
type step struct {
	tx  transaction
	cmd adapter.Command
}

// plan is what an extension call asks of Trustly: the steps in order, or
// the problems that make the request one the extension refuses (answered
// 400 InvalidInput, so the checkout shows why and nothing is stored).
type plan struct {
	payment  payment
	steps    []step
	problems []string
}

// planOf authenticates req and works out its plan. A request about anything
// but a Trustly payment has an empty plan: the extension lets it through
// unchanged.
func (a *Adapter) planOf(req adapter.Request) (plan, error) {
	if err := a.authenticate(req.Header); err != nil {
		return plan{}, err
	}
	if req.Method != http.MethodPost || (req.Path != "" && req.Path != "/") {
		return plan{}, fmt.Errorf("%w: the extension is POSTed to the route's root, not %s %s", adapter.ErrInvalid, req.Method, req.Path)
	}
	var in extensionInput
	if err := json.Unmarshal(req.Body, &in); err != nil {
		return plan{}, fmt.Errorf("%w: extension input: %w", adapter.ErrInvalid, err)
	}
	if in.Action != "Create" && in.Action != "Update" {
		return plan{}, fmt.Errorf("%w: extension action %q, want Create or Update", adapter.ErrInvalid, in.Action)
	}
	if in.Resource.TypeID != "payment" {
		return plan{}, nil // registered for another resource as well: not ours to judge
	}
	var p payment
	if err := json.Unmarshal(in.Resource.Obj, &p); err != nil {
		return plan{}, fmt.Errorf("%w: the payment: %w", adapter.ErrInvalid, err)
	}
	if p.ID == "" {
		p.ID = in.Resource.ID
	}
	pl := plan{payment: p}
	if p.PaymentMethodInfo.PaymentInterface != a.cfg.PaymentInterface || p.ID == "" {
		return pl, nil
	}
	for _, tx := range p.Transactions {
		cmd, ok, problem := a.commandFor(&p, tx)
		switch {
		case problem != "":
			pl.problems = append(pl.problems, problem)
		case ok:
			if err := cmd.Validate(); err != nil {
				pl.problems = append(pl.problems, fmt.Sprintf("transaction %s: %v", tx.ID, err))
				continue
			}
			pl.steps = append(pl.steps, step{tx: tx, cmd: cmd})
		}
	}
	return pl, nil
}

// commandFor is the one table from a transaction to a Trustly command:
//
//	Authorization/Charge  Initial                  → pay (Deposit), or charge on the customer's mandate when trustlyRecurring
//	Authorization/Charge  Pending, no interactionId → the same command again: its outcome came after the answer (see Answer)
//	Refund                Initial                  → refund
//	CancelAuthorization   Initial                  → cancel-charge
//
// Everything else (a transaction in flight or done, a Chargeback) needs
// nothing from Trustly.
func (a *Adapter) commandFor(p *payment, tx transaction) (adapter.Command, bool, string) {
	key := "commercetools:" + p.ID + ":" + tx.ID
	amount := adapter.Money{Minor: tx.Amount.CentAmount, Currency: tx.Amount.CurrencyCode}
	if d := tx.Amount.FractionDigits; d != 0 && d != 2 {
		return adapter.Command{}, false, fmt.Sprintf("transaction %s: Trustly takes amounts with 2 decimals, this one has %d", tx.ID, d)
	}
	switch {
	case (tx.Type == txCharge || tx.Type == txAuthorization) &&
		(tx.State == stateInitial || (tx.State == statePending && tx.InteractionID == "")):
		c := p.Custom
		cust := adapter.Customer{
			ID: customerID(p), Email: c.text(fieldEmail), FirstName: c.text(fieldFirstName),
			LastName: c.text(fieldLastName), Country: c.text(fieldCountry),
		}
		if cust.ID == "" {
			return adapter.Command{}, false, "the payment names no customer and no anonymousId (Trustly's EndUserID)"
		}
		kind := adapter.CommandPay
		if c.flag(fieldRecurring) {
			kind = adapter.CommandCharge
		}
		return adapter.Command{
			Kind: kind, IdempotencyKey: key, Order: adapter.Order{ID: p.ID}, Amount: amount, Customer: cust,
			RequestMandate: kind == adapter.CommandPay && c.flag(fieldRequestMandate),
		}, true, ""
	case tx.Type == txRefund && tx.State == stateInitial:
		return adapter.Command{Kind: adapter.CommandRefund, IdempotencyKey: key, Order: adapter.Order{ID: p.ID},
			Amount: amount, Reference: paidOrderID(p)}, true, ""
	case tx.Type == txCancelAuthorization && tx.State == stateInitial:
		return adapter.Command{Kind: adapter.CommandCancelCharge, IdempotencyKey: key, Order: adapter.Order{ID: p.ID},
			Amount: amount, Reference: pendingOrderID(p)}, true, ""
	}
	return adapter.Command{}, false, ""
}

// customerID is Trustly's EndUserID: the customer, else the anonymous
// session (a guest's mandate cannot be charged later).
func customerID(p *payment) string {
	if p.Customer != nil && p.Customer.ID != "" {
		return p.Customer.ID
	}
	return p.AnonymousID
}

// paidOrderID is the Trustly OrderID of the payment's one successful
// charge, "" when there is not exactly one (the sidecar then finds the
// payment's paid attempt by the payment id).
func paidOrderID(p *payment) string {
	return onlyInteraction(p, stateSuccess)
}

// pendingOrderID is the Trustly OrderID of the payment's one pending charge.
func pendingOrderID(p *payment) string {
	return onlyInteraction(p, statePending)
}

func onlyInteraction(p *payment, state string) string {
	found := ""
	for _, tx := range p.Transactions {
		if (tx.Type == txCharge || tx.Type == txAuthorization) && tx.State == state && tx.InteractionID != "" {
			if found != "" {
				return ""
			}
			found = tx.InteractionID
		}
	}
	return found
}

// Translate authenticates commercetools' extension call and turns the
// payment's new transactions into commands. A payment the extension must
// refuse (no payer e-mail, say) yields no commands and no error: Answer
// then refuses it in commercetools' error shape, which the checkout shows.
func (a *Adapter) Translate(_ context.Context, req adapter.Request) ([]adapter.Command, error) {
	pl, err := a.planOf(req)
	if err != nil || len(pl.problems) > 0 {
		return nil, err
	}
	cmds := make([]adapter.Command, len(pl.steps))
	for i, s := range pl.steps {
		cmds[i] = s.cmd
	}
	return cmds, nil
}

// errorBody is commercetools' error shape, which an extension answers with
// status 400 to refuse a create or update
// (https://docs.commercetools.com/api/projects/api-extensions, "Response";
// https://docs.commercetools.com/api/errors, "InvalidInput").
type errorBody struct {
	Errors []errorObject `json:"errors"`
}

type errorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Answer shapes commercetools' extension response: 200 with update actions
// on the payment, or 400 InvalidInput refusing the create or update when
// the payment lacks what Trustly needs or Trustly refused a command (then
// nothing of this update is stored, and the same update again gets the
// stored outcomes of the commands that did run).
//
// The answer sets each transaction's interactionId to what the write-back
// later finds it by: Trustly's OrderID for a Charge or Authorization, the
// refund's own sidecar order id (Result.OrderID) for a Refund.
//
// A command still running at the platform's deadline (Result.Pending) puts
// its transaction in Pending without an interactionId; the next Update of
// the payment (any update action) runs the same payment command again,
// which the sidecar answers from its stored outcome: the Trustly URL then
// lands in trustlyRedirectUrl. A refund is not asked again (after the
// sidecar's 24 hours its key would start a second refund); it, like the
// payment, gets its interactionId from its first status write-back.
func (a *Adapter) Answer(_ context.Context, req adapter.Request, results []adapter.Result) (adapter.Response, error) {
	pl, err := a.planOf(req)
	if err != nil {
		return adapter.Response{}, err
	}
	if len(pl.problems) > 0 {
		return refuse(pl.problems)
	}
	if len(results) != len(pl.steps) {
		return adapter.Response{}, fmt.Errorf("%w: %d results for %d commands", adapter.ErrInvalid, len(results), len(pl.steps))
	}
	var actions []action
	var failed []string
	fields := map[string]any{}
	for i, s := range pl.steps {
		r := results[i]
		if r.IdempotencyKey != s.cmd.IdempotencyKey {
			return adapter.Response{}, fmt.Errorf("%w: result %d is for %q, not %q", adapter.ErrInvalid, i, r.IdempotencyKey, s.cmd.IdempotencyKey)
		}
		if !r.OK && !r.Pending {
			failed = append(failed, fmt.Sprintf("Trustly did not take the %s of transaction %s: %s (%s)", s.cmd.Kind, s.tx.ID, r.Message, r.ErrorCode))
			continue
		}
		actions = append(actions, a.stepActions(s, r, fields)...)
	}
	if len(failed) > 0 {
		return refuse(failed)
	}
	if len(fields) > 0 {
		actions = append(actions, a.customFieldActions(fields)...)
	}
	return respond(http.StatusOK, map[string]any{"actions": nonNil(actions)})
}

// stepActions are the update actions for one command's outcome; values for
// the payment's own custom fields go to fields.
func (a *Adapter) stepActions(s step, r adapter.Result, fields map[string]any) []action {
	if s.tx.State == statePending && r.Pending {
		return nil // asked again while Trustly still has not answered: nothing new to say
	}
	var out []action
	if s.tx.State == stateInitial {
		state := statePending
		if s.cmd.Kind == adapter.CommandCancelCharge && !r.Pending {
			state = stateSuccess // CancelCharge is done when Trustly accepts it
		}
		out = append(out, changeState(s.tx.ID, state))
	}
	ix := map[string]any{ixChangeID: s.cmd.IdempotencyKey, ixStatus: string(s.cmd.Kind) + "-accepted",
		ixAmount: decimal(s.cmd.Amount.Minor, s.cmd.Amount.Currency)}
	switch {
	case r.Pending:
		ix[ixStatus] = string(s.cmd.Kind) + "-pending"
		ix[ixMessage] = "Trustly had not answered by the extension's deadline; the sidecar finishes it, and the next update of this payment carries the outcome"
		if s.cmd.Kind != adapter.CommandPay && s.cmd.Kind != adapter.CommandCharge {
			// Not asked again (see Answer): the write-back brings it.
			ix[ixMessage] = "Trustly had not answered by the extension's deadline; the sidecar finishes it and writes the outcome into this payment"
		}
	case s.cmd.Kind == adapter.CommandPay || s.cmd.Kind == adapter.CommandCharge:
		if r.ProviderReference != "" {
			out = append(out, changeInteractionID(s.tx.ID, r.ProviderReference),
				action{"action": "setInterfaceId", "interfaceId": r.ProviderReference})
			fields[fieldOrderID] = r.ProviderReference
			ix[ixOrderID] = r.ProviderReference
		}
		if r.RedirectURL != "" {
			fields[fieldRedirectURL] = r.RedirectURL
		}
	case s.cmd.Kind == adapter.CommandRefund:
		// The refund's own sidecar order id, the prefix of the ids of the
		// status changes that follow: the write-back finds this Refund by
		// it, even among refunds of the same amount. (The Trustly OrderID
		// is the paid payment's, shared by all its refunds.)
		if r.OrderID != "" && r.OrderID != s.tx.InteractionID {
			out = append(out, changeInteractionID(s.tx.ID, r.OrderID))
		}
		if r.ProviderReference != "" {
			ix[ixOrderID] = r.ProviderReference
		}
	default:
		if r.ProviderReference != "" {
			ix[ixOrderID] = r.ProviderReference
		}
	}
	if s.tx.State == statePending && !r.Pending {
		// The replay of an outcome the first answer could not carry.
		ix[ixChangeID] = s.cmd.IdempotencyKey + ":outcome"
		ix[ixStatus] = string(s.cmd.Kind) + "-accepted"
	}
	out = append(out, action{"action": "addInterfaceInteraction",
		"type": reference{TypeID: "type", Key: a.cfg.InteractionType}, "fields": ix})
	return out
}

// customFieldActions sets the payment's own fields. The payment has a
// custom type (it carries the payer, without which there is no command):
// trustly-payment (README.md), or the shop's own with the same fields.
func (a *Adapter) customFieldActions(fields map[string]any) []action {
	out := make([]action, 0, len(fields))
	for _, name := range []string{fieldRedirectURL, fieldOrderID} {
		if v, ok := fields[name]; ok {
			out = append(out, action{"action": "setCustomField", "name": name, "value": v})
		}
	}
	return out
}

func refuse(problems []string) (adapter.Response, error) {
	b := errorBody{}
	for _, p := range problems {
		b.Errors = append(b.Errors, errorObject{Code: "InvalidInput", Message: p})
	}
	return respond(http.StatusBadRequest, b)
}

func respond(status int, v any) (adapter.Response, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return adapter.Response{}, errors.Join(adapter.ErrInvalid, err)
	}
	return adapter.Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}, nil
}

func nonNil(a []action) []action {
	if a == nil {
		return []action{}
	}
	return a
}
