package engine

// The four state machines. Read a table as "in From, On leads to To"; a row
// whose To equals its From says the event is expected there and is a no-op
// (a repeat, or a notification overtaken by a later one). Anything not
// listed is an anomaly: the order stays put and the event is kept for a
// human. Trustly does not promise an order for notifications, so each
// machine accepts them in any order and only ever moves up its ranks.

// Deposit covers one-time payments, pay by invoice and pay by link.
//
//	new ─accepted→ started ─pending→ pending ─credit→ paid ─debit→ reversed
//	 │                │                 └─cancel→ cancelled
//	 └─rejected→ rejected   └─expire→ expired (a late pending/credit still counts)
//
// A kyc (only with RequestKYC) comes while the shopper is at the bank:
// before pending, so in new, unknown or started. Its answer changes no
// state: FINISH makes Trustly end the order, and its cancel does that here.
//
// A credit always wins over cancelled or expired: money that arrived must be
// accounted for. A debit before its credit (out of order) reverses at once.
var Deposit = Machine{
	Flow:    FlowDeposit,
	Initial: StateNew,
	Rank: map[State]int{
		StateNew: 0, StateUnknown: 1, StateStarted: 2, StateRejected: 2, StateExpired: 3,
		StatePending: 4, StateCancelled: 5, StatePaid: 6, StateReversed: 7,
	},
	Rows: rows(
		callOutcome(StateExpired, StatePending, StateCancelled, StatePaid, StateReversed),

		each([]State{StateNew, StateUnknown, StateStarted, StateExpired}, EventPending, StatePending),
		each([]State{StateNew, StateUnknown, StateStarted, StateExpired, StatePending, StateCancelled}, EventCredit, StatePaid),
		each([]State{StateNew, StateUnknown, StateStarted, StateExpired, StatePending}, EventCancel, StateCancelled),
		each([]State{StateNew, StateUnknown, StateStarted, StatePending, StatePaid}, EventDebit, StateReversed),
		each([]State{StateNew, StateUnknown, StateStarted}, EventExpire, StateExpired),

		stay(StatePending, EventPending),
		stay(StatePaid, EventPending, EventCredit),
		stay(StateCancelled, EventPending, EventCancel),
		stay(StateExpired, EventExpire),
		stay(StateReversed, EventPending, EventCredit, EventDebit),
		stayAll([]State{StateNew, StateUnknown, StateStarted}, EventKYCContinue, EventKYCFinish),
		// Account details (and a mandate flag, when the Deposit asked for
		// one) are kept per shopper, not on the order.
		stayAll([]State{StateNew, StateUnknown, StateStarted, StateExpired, StatePending, StateCancelled, StatePaid, StateReversed},
			EventAccount, EventMandateActive, EventMandateDeclined),
	),
}

// Mandate is SelectAccount with RequestDirectDebitMandate: its outcome is
// the account notification's directdebitmandate flag.
//
//	new ─accepted→ started ─account "1"→ active ─account "0"→ revoked
//	 └──pending──────↗ ├─account "0"→ declined ─account "1"→ active
//	                  ├─cancel→ cancelled
//	                  └─expire→ expired (a late account still counts)
//
// Trustly's pending for a SelectAccount (the shopper finished the bank
// step; it carries no amount) changes nothing but a lost call answer.
var Mandate = Machine{
	Flow:    FlowMandate,
	Initial: StateNew,
	Rank: map[State]int{
		StateNew: 0, StateUnknown: 1, StateStarted: 2, StateRejected: 2, StateExpired: 3,
		StateCancelled: 4, StateDeclined: 4, StateActive: 5, StateRevoked: 6,
	},
	Rows: rows(
		callOutcome(StateExpired, StateCancelled, StateDeclined, StateActive, StateRevoked),

		each([]State{StateNew, StateUnknown, StateStarted, StateExpired, StateDeclined}, EventMandateActive, StateActive),
		each([]State{StateNew, StateUnknown, StateStarted, StateExpired}, EventMandateDeclined, StateDeclined),
		each([]State{StateNew, StateUnknown, StateStarted, StateExpired}, EventCancel, StateCancelled),
		each([]State{StateNew, StateUnknown, StateStarted}, EventExpire, StateExpired),
		one(StateActive, EventMandateDeclined, StateRevoked),
		each([]State{StateNew, StateUnknown}, EventPending, StateStarted),

		stayAll([]State{StateStarted, StateExpired, StateDeclined, StateActive, StateRevoked, StateCancelled}, EventPending),
		stay(StateActive, EventMandateActive, EventAccount),
		stay(StateDeclined, EventMandateDeclined, EventCancel, EventAccount),
		stay(StateCancelled, EventCancel, EventMandateDeclined),
		stay(StateRevoked, EventMandateDeclined, EventMandateActive, EventAccount),
		stay(StateExpired, EventExpire),
		stayAll([]State{StateNew, StateUnknown, StateStarted, StateExpired}, EventAccount),
	),
}

// Charge collects from an active mandate. There is no checkout URL, so
// nothing expires; CancelCharge stops it before its PaymentDate. Trustly
// sends pending when it has received the Charge, long before a future
// PaymentDate, so a pending charge may still be cancelled: Trustly's answer
// (its cut-off) decides, not this table.
//
//	new ─accepted→ started ─pending→ pending ─credit→ paid ─debit→ reversed
//	 └─rejected→ rejected     │         ├─cancel→ cancelled   (could not be processed)
//	                          └─────────┴─cancelcharge→ cancelled
var Charge = Machine{
	Flow:    FlowCharge,
	Initial: StateNew,
	Rank: map[State]int{
		StateNew: 0, StateUnknown: 1, StateStarted: 2, StateRejected: 2,
		StatePending: 3, StateCancelled: 4, StatePaid: 5, StateReversed: 6,
	},
	Rows: rows(
		callOutcome(StatePending, StateCancelled, StatePaid, StateReversed),

		each([]State{StateNew, StateUnknown, StateStarted}, EventPending, StatePending),
		each([]State{StateNew, StateUnknown, StateStarted, StatePending, StateCancelled}, EventCredit, StatePaid),
		each([]State{StateNew, StateUnknown, StateStarted, StatePending}, EventCancel, StateCancelled),
		each([]State{StateStarted, StatePending}, EventCancelCharge, StateCancelled),
		each([]State{StateNew, StateUnknown, StateStarted, StatePending, StatePaid}, EventDebit, StateReversed),

		stay(StatePending, EventPending),
		stay(StatePaid, EventPending, EventCredit),
		stay(StateCancelled, EventPending, EventCancel, EventCancelCharge),
		stay(StateReversed, EventPending, EventCredit, EventDebit),
		stayAll([]State{StateNew, StateUnknown, StateStarted, StatePending, StateCancelled, StatePaid, StateReversed}, EventAccount),
	),
}

// Refund pays back part or all of a credited Deposit or Charge. Refund has
// no MessageID, so a timeout leaves it unknown until a notification (or
// GetWithdrawals, reported as accepted/rejected) settles it.
//
//	new ─accepted→ started ─payoutconfirmation→ refunded ─credit/payoutfailed→ failed
//	 ├─rejected→ rejected    └─credit/payoutfailed→ failed (the money came back)
//	 └─unknown→ unknown ─accepted/rejected/notifications→ …
var Refund = Machine{
	Flow:    FlowRefund,
	Initial: StateNew,
	Rank: map[State]int{
		StateNew: 0, StateUnknown: 1, StateStarted: 2, StateRejected: 2, StateRefunded: 3, StateFailed: 4,
	},
	Rows: rows(
		callOutcome(StateRefunded, StateFailed),

		each([]State{StateNew, StateUnknown, StateStarted}, EventPayoutConfirmation, StateRefunded),
		each([]State{StateNew, StateUnknown, StateStarted, StateRefunded}, EventCredit, StateFailed),
		// payoutfailed says the same as that credit, with Trustly's reason;
		// a payout the bank returns after confirming it fails too.
		each([]State{StateNew, StateUnknown, StateStarted, StateRefunded}, EventPayoutFailed, StateFailed),

		stay(StateRefunded, EventPayoutConfirmation),
		stay(StateFailed, EventCredit, EventPayoutConfirmation, EventPayoutFailed),
	),
}

// callOutcome is what every flow shares: the answer to the API call that
// starts the order. later lists the states past started, where that answer
// may still arrive because notifications were stored before it.
func callOutcome(later ...State) []Row {
	return rows(
		one(StateNew, EventAccepted, StateStarted),
		one(StateNew, EventRejected, StateRejected),
		one(StateNew, EventUnknown, StateUnknown),
		one(StateUnknown, EventAccepted, StateStarted),
		one(StateUnknown, EventRejected, StateRejected),
		stay(StateStarted, EventAccepted),
		stay(StateRejected, EventRejected),
		stay(StateUnknown, EventUnknown),
		stayAll(later, EventAccepted, EventUnknown),
	)
}

func one(from State, on Event, to State) []Row { return []Row{{From: from, On: on, To: to}} }

func each(froms []State, on Event, to State) []Row {
	out := make([]Row, 0, len(froms))
	for _, f := range froms {
		out = append(out, Row{From: f, On: on, To: to})
	}
	return out
}

func stay(s State, events ...Event) []Row {
	out := make([]Row, 0, len(events))
	for _, e := range events {
		out = append(out, Row{From: s, On: e, To: s})
	}
	return out
}

func stayAll(states []State, events ...Event) []Row {
	var out []Row
	for _, s := range states {
		out = append(out, stay(s, events...)...)
	}
	return out
}

func rows(groups ...[]Row) []Row {
	var out []Row
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
