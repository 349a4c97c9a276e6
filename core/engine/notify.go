package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// HandleNotification applies one notification exactly once and returns the
// signed reply to write with HTTP 200.
//
// The order of work is what makes "OK only after the effect is durable"
// true: verify → find the order → one transition script (state, dedupe
// record, outbox entry, log) → the idempotent follow-ups (indexes, the
// shopper's account) → sign the reply. Any store failure returns an error
// wrapping store.ErrUnavailable and no reply, so Trustly resends; a resend
// finds the dedupe record, redoes the follow-ups and gets the first answer.
//
// A signature or format failure returns an *Error of KindInvalid: nothing is
// stored, nothing answered (Trustly would not send such a body).
//
// Every notification Trustly sends is answered OK once stored — also a
// debit after a credit (the payment becomes reversed and the platform is
// told through the outbox), an amount mismatch (recorded, surfaced, never
// paid), an unknown method or an order we never created (kept for a person).
// FAILED is not used: Trustly documents it only for debit, meaning "could
// not decrease the balance", which for a Deposit only tells Trustly what it
// knows already, while the order must still be reversed on our side; a
// non-OK answer would only make Trustly resend forever.
func (e *Engine) HandleNotification(ctx context.Context, body []byte) ([]byte, error) {
	reply, method, outcome, err := e.handleNotification(ctx, body)
	e.observe(method, outcome)
	return reply, err
}

// handleNotification is HandleNotification, also telling the method (as a
// metric label) and the Notify* outcome.
func (e *Engine) handleNotification(ctx context.Context, body []byte) (reply []byte, method, outcome string, err error) {
	if e.cfg.Offline {
		return nil, "", NotifyRejected, errors.New("engine: an offline engine answers no notifications")
	}
	n, err := trustly.ParseNotification(body, e.cfg.Verifier)
	if err != nil {
		return nil, "", NotifyRejected, &Error{Kind: KindInvalid, Code: CodeNotificationRejected, Err: err}
	}
	method = MethodOther
	if n.Known() {
		method = n.Method
	}
	log := e.log.With(slog.String("method", n.Method), slog.String("notificationid", n.NotificationID),
		slog.String("orderid", n.OrderID), slog.String("messageid", n.MessageID))

	status := trustly.ReplyOK
	if n.Method == string(trustly.NotifyKYC) {
		// A kyc no order takes is not checked, so it does not go on
		// (kyc.go); one an order takes is answered by the policy.
		status = trustly.ReplyFinish
	}
	unrouted := func(reason string) ([]byte, string, string, error) {
		reply, err := e.unrouted(ctx, log, n, body, reason, status)
		if err != nil {
			return nil, method, NotifyFailed, err
		}
		return reply, method, NotifyUnrouted, nil
	}
	if !n.Known() {
		return unrouted("method not handled")
	}
	if o, ok := e.known.lookup(n); ok {
		// Decided on what this process remembers: one script, which
		// refuses if the order has moved on (then the order is read).
		reply, outcome, err := e.handleFor(ctx, log, n, o, true, true, status)
		var stale staleMemory
		if !errors.As(err, &stale) {
			if reason, ok := unreadable(err); ok {
				return unrouted(reason)
			}
			return reply, method, outcome, err
		}
		e.known.forget(n.OrderID)
		log.Debug("engine: remembered order out of date; reading it", slog.String("error", stale.Error()))
	}
	o, fresh, err := e.route(ctx, n)
	if errors.Is(err, store.ErrNotFound) {
		// Trustly resends an unanswered notification for a long time, so
		// an order we never created (another system on the same account,
		// or data lost) is kept for a person and answered.
		return unrouted("no order with this orderid or messageid")
	}
	if err != nil {
		return nil, method, NotifyFailed, err
	}
	reply, outcome, err = e.handleFor(ctx, log, n, o, fresh, false, status)
	if reason, ok := unreadable(err); ok {
		return unrouted(reason)
	}
	return reply, method, outcome, err
}

// staleMemory: the order no longer matches what this process remembered
// of it (or is gone); nothing was written.
type staleMemory struct{ error }

// unreadableError: signed by Trustly but not readable as its method.
type unreadableError struct{ error }

func unreadable(err error) (string, bool) {
	var u unreadableError
	if errors.As(err, &u) {
		return u.Error(), true
	}
	return "", false
}

// handleFor applies notification n to order o and returns the signed reply.
// fresh says o is known not to have seen n; remembered that o was not read
// but remembered (knownOrders), so the transition is made conditional on it.
func (e *Engine) handleFor(ctx context.Context, log *slog.Logger, n *trustly.Notification, o store.Order, fresh, remembered bool, status trustly.ReplyStatus) (reply []byte, outcome string, err error) {
	log = log.With(slog.String("order", o.ID), slog.String("flow", o.Flow))
	s, acct, err := e.stepFor(n, o)
	if err != nil {
		return nil, NotifyFailed, unreadableError{err}
	}
	if s.answer != "" {
		status = s.answer
	}
	if remembered {
		s.ifTrustlyOrderID, s.ifMessageID = n.OrderID, o.MessageID
	}
	if fresh {
		// Not seen on this order (or not known to be, when remembered):
		// sign now, so the reply is kept with the dedupe record by the
		// transition script itself (no round trip of its own); a repeat
		// then costs no signature.
		if s.reply, err = trustly.NewReply(e.cfg.MerchantKey, n, status); err != nil {
			return nil, NotifyFailed, err
		}
	}
	a, err := e.apply(ctx, o, s)
	if remembered && (errors.Is(err, store.ErrChanged) || errors.Is(err, store.ErrNotFound)) {
		return nil, NotifyFailed, staleMemory{err}
	}
	if err != nil {
		return nil, NotifyFailed, fmt.Errorf("engine: notification %s: %w", n.NotificationID, err)
	}
	if err := e.followUps(ctx, n, o, s, acct); err != nil {
		return nil, NotifyFailed, err
	}
	if remembered {
		e.known.answered(n.OrderID, n.NotificationID)
	} else {
		// Read for this notification: remembered for the next ones, with
		// the orderid the transition may just have written.
		known := o
		if s.set.TrustlyOrderID != "" {
			known.TrustlyOrderID = s.set.TrustlyOrderID
		}
		e.known.remember(n.OrderID, known, n.NotificationID)
	}
	switch a.Outcome {
	case store.OutcomeAnomaly:
		log.Warn("engine: notification needs attention", slog.String("state", a.To), slog.String("event", string(s.event)))
	case store.OutcomeDuplicate:
		// The transition script wrote the repeat into the timeline.
		log.Info("engine: repeated notification", slog.String("answer", a.Answer))
		status = trustly.ReplyStatus(a.Answer)
		// Same notification, same answer: the bytes sent the first time,
		// with no new signature (a repeat's uuid is checked, not assumed).
		if a.Reply != nil && trustly.ReplyEchoes(a.Reply, n) {
			return a.Reply, a.Outcome, nil
		}
	default:
		log.Info("engine: notification applied", slog.String("outcome", a.Outcome), slog.String("from", a.From), slog.String("to", a.To))
	}
	if s.reply != nil && a.Outcome != store.OutcomeDuplicate {
		return s.reply, a.Outcome, nil
	}
	// A repeat with no kept reply for its uuid. One signed before the
	// script said it was a repeat (a remembered order) carries the same
	// answer when the first delivery's answer is the one assumed.
	reply = s.reply
	if reply == nil || status != cmp.Or(s.answer, trustly.ReplyOK) {
		if reply, err = trustly.NewReply(e.cfg.MerchantKey, n, status); err != nil {
			return nil, NotifyFailed, err
		}
	}
	if err := e.store.SaveReply(ctx, o.ID, n.NotificationID, reply); err != nil {
		// The answer stands without it; a repeat signs again.
		log.Warn("engine: notification reply not kept", slog.String("error", err.Error()))
	}
	return reply, a.Outcome, nil
}

func (e *Engine) unrouted(ctx context.Context, log *slog.Logger, n *trustly.Notification, body []byte, reason string, status trustly.ReplyStatus) ([]byte, error) {
	first, kept, err := e.store.SaveUnrouted(ctx, store.Unrouted{
		NotificationID: n.NotificationID, Method: n.Method, OrderID: n.OrderID, MessageID: n.MessageID,
		Reason: reason, Answer: string(status), Body: body, At: e.now(),
	})
	if err != nil {
		return nil, fmt.Errorf("engine: notification %s: %w", n.NotificationID, err)
	}
	if first != "" {
		status = trustly.ReplyStatus(first)
		// Same notification, same answer, the same bytes: no signature.
		if kept != nil && trustly.ReplyEchoes(kept, n) {
			log.Info("engine: repeated notification kept for a person", slog.String("reason", reason))
			return kept, nil
		}
	}
	log.Warn("engine: notification kept for a person", slog.String("reason", reason))
	reply, err := trustly.NewReply(e.cfg.MerchantKey, n, status)
	if err != nil {
		return nil, err
	}
	if kept == nil {
		if err := e.store.SaveUnroutedReply(ctx, n.NotificationID, reply); err != nil {
			// The answer stands without it; a repeat signs again.
			log.Warn("engine: notification reply not kept", slog.String("error", err.Error()))
		}
	}
	return reply, nil
}

// route finds the order a notification is about: by Trustly's orderid,
// else by MessageID (every attempt's stays mapped). A refund's
// notifications carry the paid order's MessageID and the refund's own
// orderid; when that orderid is not known yet (the Refund answer was lost)
// the refund is the paid order's unresolved one of the same amount.
// fresh says the order is known not to have seen the notification yet
// (found by orderid, the common case); false also when that is not known.
func (e *Engine) route(ctx context.Context, n *trustly.Notification) (o store.Order, fresh bool, err error) {
	o, seen, err := e.store.ForNotification(ctx, n.OrderID, n.NotificationID)
	if err == nil || !errors.Is(err, store.ErrNotFound) || n.MessageID == "" {
		return o, err == nil && !seen, err
	}
	o, err = e.routeByMessageID(ctx, n)
	return o, false, err
}

func (e *Engine) routeByMessageID(ctx context.Context, n *trustly.Notification) (store.Order, error) {
	o, err := e.store.ByMessageID(ctx, n.MessageID)
	if err != nil {
		return o, err
	}
	if o.TrustlyOrderID == "" || o.TrustlyOrderID == n.OrderID || len(o.Refunds) == 0 {
		return o, nil
	}
	switch trustly.NotificationMethod(n.Method) {
	case trustly.NotifyPayoutConfirmation, trustly.NotifyPayoutFailed, trustly.NotifyCredit:
	default:
		return o, nil
	}
	amount, _ := trustly.ParseAmount(fmt.Sprint(n.Data["amount"]))
	for _, id := range o.Refunds {
		r, err := e.store.Get(ctx, id)
		if err != nil {
			return store.Order{}, err
		}
		// The refund whose answer is stored but not yet indexed (the
		// notification came between the two writes), then the one whose
		// answer was lost.
		if r.TrustlyOrderID == n.OrderID {
			return r, nil
		}
		if r.TrustlyOrderID == "" && r.Amount == amount && (r.State == string(StateUnknown) || r.State == string(StateNew)) {
			return r, nil
		}
	}
	return o, nil
}

// stepFor turns a notification into the event for order o, checking money
// notifications against what the order asked for.
func (e *Engine) stepFor(n *trustly.Notification, o store.Order) (step, *store.Account, error) {
	s := step{notificationID: n.NotificationID}
	// A notification of an earlier attempt (one whose answer was lost).
	superseded := n.MessageID != "" && n.MessageID != o.MessageID && slices.Contains(o.MessageIDs, n.MessageID) && o.Flow != string(FlowRefund)
	if o.TrustlyOrderID == "" && !superseded {
		// Our call's answer was lost; the notification tells the orderid.
		s.set.TrustlyOrderID = n.OrderID
	}
	terms := Terms{Currency: o.Currency, Amount: o.Amount, MinAmount: o.MinAmount, MaxAmount: o.MaxAmount}
	paidFlow := o.Flow == string(FlowDeposit) || o.Flow == string(FlowCharge)
	var acct *store.Account
	switch trustly.NotificationMethod(n.Method) {
	case trustly.NotifyPending, trustly.NotifyCredit:
		v, err := n.Pending()
		if n.Method == string(trustly.NotifyCredit) {
			var c trustly.CreditNotification
			c, err = n.Credit()
			v = trustly.PendingNotification(c)
		}
		if err != nil {
			return s, nil, err
		}
		s.event = Event(n.Method)
		if paidFlow {
			if err := terms.Check(v.Amount, v.Currency); err != nil {
				s.anomaly = err.Error()
			}
			if s.event == EventCredit {
				credited := v.Amount
				s.onChange.Credited = &credited
			}
		}
	case trustly.NotifyDebit:
		if _, err := n.Debit(); err != nil {
			return s, nil, err
		}
		s.event = EventDebit
	case trustly.NotifyPayoutConfirmation:
		if _, err := n.PayoutConfirmation(); err != nil {
			return s, nil, err
		}
		s.event = EventPayoutConfirmation
	case trustly.NotifyPayoutFailed:
		v, err := n.PayoutFailed()
		if err != nil {
			return s, nil, err
		}
		s.event = EventPayoutFailed
		s.set.Reason = payoutFailedReason(v)
	case trustly.NotifyCancel:
		if _, err := n.Cancel(); err != nil {
			return s, nil, err
		}
		s.event = EventCancel
		// The checkout of an attempt whose answer was lost was never shown;
		// its expiry must not cancel the attempt the shopper is paying in.
		s.ignore = superseded
	case trustly.NotifyKYC:
		s, err := e.kycStep(n, o, s)
		return s, nil, err
	case trustly.NotifyAccount:
		v, err := n.Account()
		if err != nil {
			return s, nil, err
		}
		s.event = EventAccount
		mandate := ""
		if v.DirectDebitMandate != nil {
			s.event = EventMandateDeclined
			mandate = store.MandateInactive
			if *v.DirectDebitMandate {
				s.event = EventMandateActive
				mandate = store.MandateActive
			}
		}
		s.set.AccountID = v.AccountID
		if o.Flow != string(FlowMandate) {
			// A Deposit's mandate keeps the Deposit (store.OrderPatch.Mandate);
			// a mandate order's own state does that.
			s.set.Mandate = mandate
		}
		acct = &store.Account{AccountID: v.AccountID, Verified: v.Verified, Bank: v.Bank, ClearingHouse: v.ClearingHouse,
			Descriptor: v.Descriptor, LastDigits: v.LastDigits, Mandate: mandate, Updated: e.now()}
	default:
		return s, nil, fmt.Errorf("no event for method %q", n.Method)
	}
	return s, acct, nil
}

// followUps are the writes outside the order's slot that a notification
// implies. Each is idempotent and runs on every delivery, repeats
// included, so a crash after the transition heals when Trustly resends.
func (e *Engine) followUps(ctx context.Context, n *trustly.Notification, o store.Order, s step, acct *store.Account) error {
	if tid := s.set.TrustlyOrderID; tid != "" {
		if err := e.store.IndexTrustlyOrderID(ctx, tid, o.ID); err != nil {
			return err
		}
	}
	if acct == nil || o.EndUserID == "" {
		return nil
	}
	if o.Flow == string(FlowMandate) {
		// The mandate's own machine decides, so an old "1" arriving after
		// a newer "0" cannot re-activate it.
		cur, err := e.store.Get(ctx, o.ID)
		if err != nil {
			return err
		}
		switch State(cur.State) {
		case StateActive:
			acct.Mandate = store.MandateActive
		case StateRevoked, StateDeclined, StateCancelled:
			acct.Mandate = store.MandateInactive
		default:
			acct.Mandate = ""
		}
	}
	return e.store.SaveAccount(ctx, o.EndUserID, *acct)
}

// payoutFailedReason is the refund's reason from Trustly's payoutfailed:
// the code for machines, the text for the person reading it.
func payoutFailedReason(v trustly.PayoutFailedNotification) string {
	reason := "payout failed"
	if v.ErrorCode != "" {
		reason += ": " + v.ErrorCode
	}
	if v.ErrorMessage != "" {
		reason += " (" + v.ErrorMessage + ")"
	}
	return reason
}
