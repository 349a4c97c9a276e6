// Package engine runs Trustly payment flows: one state machine per flow,
// written as a table, applied to orders atomically in the store.
package engine

import (
	"errors"
	"fmt"
	"slices"
)

// Flow names a kind of order. Each flow has its own state machine.
type Flow string

// The flows of Trustly's e-commerce guide. Pay by invoice and pay by link are
// Deposits (with an ExternalReference, or started from a link page).
const (
	FlowDeposit Flow = "deposit"
	FlowMandate Flow = "mandate" // SelectAccount with RequestDirectDebitMandate
	FlowCharge  Flow = "charge"
	FlowRefund  Flow = "refund"
)

// State is where an order stands. The zero value is not a state.
type State string

// States. Not every flow uses every state; each table lists its own.
const (
	// StateNew: the attempt (and its MessageID) is stored; Trustly not yet
	// answered. Persisting before calling is what makes a lost answer safe.
	StateNew State = "new"
	// StateStarted: Trustly accepted the call (orderid, and a url to open).
	StateStarted State = "started"
	// StateUnknown: the call may or may not have been executed (a Refund
	// timed out); only a notification or GetWithdrawals can tell.
	StateUnknown State = "unknown"
	// StateRejected: Trustly refused the call; nothing happened.
	StateRejected State = "rejected"
	// StatePending: the shopper finished at the bank; money not confirmed.
	StatePending State = "pending"
	// StatePaid: credit received — the only state in which to ship.
	StatePaid State = "paid"
	// StateReversed: a debit took the money back after (or before) credit.
	StateReversed State = "reversed"
	// StateCancelled: Trustly cancelled the order, or CancelCharge succeeded.
	StateCancelled State = "cancelled"
	// StateExpired: no outcome long after the checkout URL expired.
	StateExpired State = "expired"
	// StateActive and StateDeclined: a mandate's outcome; StateRevoked: a
	// later account notification withdrew an active mandate.
	StateActive   State = "active"
	StateDeclined State = "declined"
	StateRevoked  State = "revoked"
	// StateRefunded: the refund left Trustly (payoutconfirmation).
	// StateFailed: the refund did not go through (a credit on the refund
	// order brought the money back).
	StateRefunded State = "refunded"
	StateFailed   State = "failed"
)

// Event is what moves an order: Trustly's notifications, the outcome of our
// own calls, and the reconciler's verdicts.
type Event string

// Events.
const (
	// Outcomes of the API call that started the order.
	EventAccepted Event = "accepted" // result ok (Deposit/SelectAccount url, Refund/Charge result "1")
	EventRejected Event = "rejected" // Trustly error, or Charge/Refund result "0"
	EventUnknown  Event = "unknown"  // transport failure where resending is unsafe
	// Notifications.
	EventPending            Event = "pending"
	EventCredit             Event = "credit"
	EventDebit              Event = "debit"
	EventCancel             Event = "cancel"
	EventAccount            Event = "account"           // account info, no mandate flag
	EventMandateActive      Event = "account_mandate_1" // account with directdebitmandate "1"
	EventMandateDeclined    Event = "account_mandate_0" // account with directdebitmandate "0"
	EventPayoutConfirmation Event = "payoutconfirmation"
	EventPayoutFailed       Event = "payoutfailed" // a refund's payout failed or was returned
	// A kyc notification, by what it was answered (kyc.go).
	EventKYCContinue Event = "kyc_continue"
	EventKYCFinish   Event = "kyc_finish"
	// Our own.
	EventCancelCharge Event = "cancelcharge" // CancelCharge answered result "1"
	EventExpire       Event = "expire"       // reconciler: no outcome long after the URL expired
)

// Row is one transition: in state From, event On leads to To. To == From
// means the event is expected there and changes nothing (a repeat, or a
// notification that arrives after a later one).
type Row struct {
	From State
	On   Event
	To   State
}

// Machine is one flow's state machine. Pairs not listed are anomalies: the
// order stays where it is and the event is recorded for a human.
type Machine struct {
	Flow    Flow
	Initial State
	// Rank orders the states: no transition goes to a lower rank, so an
	// order never moves backwards whatever order notifications come in.
	Rank map[State]int
	Rows []Row
}

// ErrAnomaly marks an event that has no row for the order's state.
var ErrAnomaly = errors.New("engine: event not expected in this state")

// Next returns the state after event in state from. changed is false for
// rows that keep the state. An unlisted pair returns from and ErrAnomaly.
func (m *Machine) Next(from State, on Event) (to State, changed bool, err error) {
	for _, r := range m.Rows {
		if r.From == from && r.On == on {
			return r.To, r.To != from, nil
		}
	}
	return from, false, fmt.Errorf("%w: %s order in state %q got %q", ErrAnomaly, m.Flow, from, on)
}

// Targets lists, for one event, every state it applies in and where it
// leads. The store's transition script takes this as its argument, so the
// table here stays the only definition of the machine.
func (m *Machine) Targets(on Event) map[State]State {
	out := map[State]State{}
	for _, r := range m.Rows {
		if r.On == on {
			out[r.From] = r.To
		}
	}
	return out
}

// States lists the machine's states by rank.
func (m *Machine) States() []State {
	out := make([]State, 0, len(m.Rank))
	for s := range m.Rank {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b State) int {
		if d := m.Rank[a] - m.Rank[b]; d != 0 {
			return d
		}
		return cmpString(string(a), string(b))
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MachineFor returns the machine of flow.
func MachineFor(f Flow) (*Machine, error) {
	switch f {
	case FlowDeposit:
		return &Deposit, nil
	case FlowMandate:
		return &Mandate, nil
	case FlowCharge:
		return &Charge, nil
	case FlowRefund:
		return &Refund, nil
	}
	return nil, fmt.Errorf("engine: unknown flow %q", f)
}
