package engine

import (
	"errors"
	"fmt"
	"testing"
)

var machines = []*Machine{&Deposit, &Mandate, &Charge, &Refund}

// The tables must be well formed: one row per (state, event), known states,
// never a step down in rank, every state reachable.
func TestMachinesAreWellFormed(t *testing.T) {
	for _, m := range machines {
		t.Run(string(m.Flow), func(t *testing.T) {
			if _, ok := m.Rank[m.Initial]; !ok {
				t.Fatalf("initial state %q has no rank", m.Initial)
			}
			seen := map[[2]string]bool{}
			reach := map[State]bool{m.Initial: true}
			for _, r := range m.Rows {
				k := [2]string{string(r.From), string(r.On)}
				if seen[k] {
					t.Errorf("two rows for %s on %s", r.From, r.On)
				}
				seen[k] = true
				fr, ok1 := m.Rank[r.From]
				tr, ok2 := m.Rank[r.To]
				if !ok1 || !ok2 {
					t.Errorf("row %v uses a state without rank", r)
					continue
				}
				if tr < fr {
					t.Errorf("row %v moves backwards (rank %d → %d)", r, fr, tr)
				}
			}
			for changed := true; changed; {
				changed = false
				for _, r := range m.Rows {
					if reach[r.From] && !reach[r.To] {
						reach[r.To], changed = true, true
					}
				}
			}
			for s := range m.Rank {
				if !reach[s] {
					t.Errorf("state %q cannot be reached from %q", s, m.Initial)
				}
			}
		})
	}
}

func run(t *testing.T, m *Machine, events ...Event) (State, []error) {
	t.Helper()
	s := m.Initial
	var anomalies []error
	for _, e := range events {
		next, _, err := m.Next(s, e)
		if err != nil {
			if !errors.Is(err, ErrAnomaly) {
				t.Fatalf("unexpected error %v", err)
			}
			anomalies = append(anomalies, err)
		}
		s = next
	}
	return s, anomalies
}

const (
	acc  = EventAccepted
	rej  = EventRejected
	unk  = EventUnknown
	pen  = EventPending
	cred = EventCredit
	deb  = EventDebit
	canc = EventCancel
	exp  = EventExpire
	m1   = EventMandateActive
	m0   = EventMandateDeclined
	pay  = EventPayoutConfirmation
	pf   = EventPayoutFailed
	cc   = EventCancelCharge
	acct = EventAccount
)

func TestFlows(t *testing.T) {
	tests := []struct {
		name      string
		m         *Machine
		events    []Event
		want      State
		anomalies int
	}{
		{"deposit paid in order", &Deposit, []Event{acc, pen, cred}, StatePaid, 0},
		{"deposit credit before pending", &Deposit, []Event{acc, cred, pen}, StatePaid, 0},
		{"deposit notifications before our call's answer was stored", &Deposit, []Event{pen, cred, acc}, StatePaid, 0},
		{"D1: credit then debit right after", &Deposit, []Event{acc, pen, cred, deb}, StateReversed, 0},
		{"debit overtakes its credit", &Deposit, []Event{acc, deb, cred, pen}, StateReversed, 0},
		{"every notification twice", &Deposit, []Event{acc, pen, pen, cred, cred, acc}, StatePaid, 0},
		{"cancel after pending", &Deposit, []Event{acc, pen, canc}, StateCancelled, 0},
		{"pending after cancel", &Deposit, []Event{acc, canc, pen}, StateCancelled, 0},
		{"credit after cancel: money counts", &Deposit, []Event{acc, canc, cred}, StatePaid, 0},
		{"cancel after credit is an anomaly", &Deposit, []Event{acc, cred, canc}, StatePaid, 1},
		{"expired, then the shopper paid late", &Deposit, []Event{acc, exp, pen, cred}, StatePaid, 0},
		{"pending is never expired", &Deposit, []Event{acc, pen, exp}, StatePending, 1},
		{"account before and after credit", &Deposit, []Event{acc, acct, cred, acct}, StatePaid, 0},
		{"rejected deposit ignores notifications", &Deposit, []Event{rej, cred}, StateRejected, 1},
		{"lost answer, then notifications", &Deposit, []Event{unk, pen, cred}, StatePaid, 0},

		{"mandate active", &Mandate, []Event{acc, m1}, StateActive, 0},
		{"mandate declined", &Mandate, []Event{acc, m0}, StateDeclined, 0},
		{"mandate revoked later", &Mandate, []Event{acc, m1, m0}, StateRevoked, 0},
		{"mandate cancelled by shopper", &Mandate, []Event{acc, canc}, StateCancelled, 0},
		{"mandate account repeated", &Mandate, []Event{acc, m1, m1, acct}, StateActive, 0},
		{"credit on a mandate is an anomaly", &Mandate, []Event{acc, cred}, StateStarted, 1},

		{"charge paid", &Charge, []Event{acc, pen, cred}, StatePaid, 0},
		{"charge rejected (result 0)", &Charge, []Event{rej}, StateRejected, 0},
		{"charge cancelled before payment date", &Charge, []Event{acc, cc, canc}, StateCancelled, 0},
		{"charge could not be processed", &Charge, []Event{acc, pen, canc}, StateCancelled, 0},
		// Trustly sends pending when it has the Charge; its cut-off, not
		// this table, decides whether CancelCharge still works.
		{"charge cancelled after its pending", &Charge, []Event{acc, pen, cc}, StateCancelled, 0},
		{"cancelcharge once paid is an anomaly", &Charge, []Event{acc, pen, cred, cc}, StatePaid, 1},
		{"charge reversed", &Charge, []Event{acc, cred, deb, pen}, StateReversed, 0},

		{"refund paid out", &Refund, []Event{acc, pay}, StateRefunded, 0},
		{"refund failed: credit on the refund order", &Refund, []Event{acc, cred}, StateFailed, 0},
		{"refund failed after payout", &Refund, []Event{acc, pay, cred, pay}, StateFailed, 0},
		{"refund failed: payoutfailed", &Refund, []Event{acc, pf}, StateFailed, 0},
		{"payout returned after it was confirmed", &Refund, []Event{acc, pay, pf, pf, cred}, StateFailed, 0},
		{"refund timed out, then its payout failed", &Refund, []Event{unk, pf}, StateFailed, 0},
		{"payoutfailed on a deposit is an anomaly", &Deposit, []Event{acc, cred, pf}, StatePaid, 1},
		{"refund timed out, then paid out", &Refund, []Event{unk, pay}, StateRefunded, 0},
		{"refund timed out, GetWithdrawals shows nothing", &Refund, []Event{unk, rej}, StateRejected, 0},
		{"refund rejected", &Refund, []Event{rej, rej}, StateRejected, 0},
		{"pending on a refund is an anomaly", &Refund, []Event{acc, pen}, StateStarted, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, anomalies := run(t, tt.m, tt.events...)
			if got != tt.want || len(anomalies) != tt.anomalies {
				t.Errorf("%v → %s with %d anomalies %v; want %s with %d", tt.events, got, len(anomalies), anomalies, tt.want, tt.anomalies)
			}
		})
	}
}

// Whatever order and however often Trustly delivers a set of notifications,
// the order ends in the same state.
func TestDepositOrderIndependence(t *testing.T) {
	tests := []struct {
		events []Event
		want   State
	}{
		{[]Event{pen, cred}, StatePaid},
		{[]Event{pen, cred, deb}, StateReversed},
		{[]Event{pen, canc}, StateCancelled},
		{[]Event{pen, cred, acct}, StatePaid},
	}
	for _, tt := range tests {
		for _, seq := range permutationsWithRepeats(tt.events) {
			events := append([]Event{acc}, seq...)
			if got, _ := run(t, &Deposit, events...); got != tt.want {
				t.Errorf("%v → %s, want %s", events, got, tt.want)
			}
		}
	}
}

// permutationsWithRepeats returns every ordering of events, and every
// ordering with one event delivered twice.
func permutationsWithRepeats(events []Event) [][]Event {
	var out [][]Event
	var perm func(prefix, rest []Event)
	perm = func(prefix, rest []Event) {
		if len(rest) == 0 {
			out = append(out, append([]Event(nil), prefix...))
			return
		}
		for i := range rest {
			next := append(append([]Event(nil), rest[:i]...), rest[i+1:]...)
			perm(append(prefix, rest[i]), next)
		}
	}
	perm(nil, events)
	for _, dup := range events {
		perm(nil, append(append([]Event(nil), events...), dup))
	}
	return out
}

func TestTargetsMatchNext(t *testing.T) {
	for _, m := range machines {
		for _, r := range m.Rows {
			if got := m.Targets(r.On)[r.From]; got != r.To {
				t.Errorf("%s: Targets(%s)[%s] = %q, want %q", m.Flow, r.On, r.From, got, r.To)
			}
		}
	}
	if _, err := MachineFor("nope"); err == nil {
		t.Error("unknown flow accepted")
	}
	for _, m := range machines {
		got, err := MachineFor(m.Flow)
		if err != nil || got != m {
			t.Errorf("MachineFor(%s) = %v, %v", m.Flow, got, err)
		}
		if s := m.States(); len(s) != len(m.Rank) || s[0] != m.Initial {
			t.Errorf("%s: States() = %v", m.Flow, s)
		}
	}
}

func ExampleMachine_Next() {
	s, _, _ := Deposit.Next(StateStarted, EventCredit)
	fmt.Println(s)
	_, _, err := Deposit.Next(StatePaid, EventCancel)
	fmt.Println(err)
	// Output:
	// paid
	// engine: event not expected in this state: deposit order in state "paid" got "cancel"
}
