// Package faultsuite is the reliability suite of issue #15: two `serve`
// processes of the real binary on one Redis, the simulator sending a stream
// of notifications (with duplicates and out-of-order deliveries) and the
// generic adapter writing back to a callback server, while the suite kills a
// sidecar, stops and freezes Redis, kills the plugin, fails the callback and
// holds slow connections open. Afterwards Audit compares what the simulator
// sent with what Redis and the callback server hold and prints one table.
//
// The suite lives under core/internal because core/internal/redistest (a
// private redis-server it may stop, freeze and restart) is reachable only
// from core/; it drives the sidecar from outside, as an operator would, by
// building and executing the binary, so it needs nothing internal to
// sidecar/. The audit itself is plain code on a recorded History, so it has
// a unit test of its own that must see a loss, a double application and an
// out-of-order callback.
package faultsuite

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Sent is one notification the simulator made, with what happened to its
// deliveries.
type Sent struct {
	ID     string // notificationid
	Order  string // Trustly's orderid
	Method string
	// Deliveries is every POST of it: the first, resends after a failure,
	// and the duplicates and replays sent on purpose.
	Deliveries int
	// Retries are resends after a delivery without a valid OK.
	Retries int
	// Late counts deliveries made after a newer notification of the same
	// order had been sent: out-of-order deliveries the sidecar must absorb.
	Late int
	// Answered counts the deliveries the sidecar answered with a signed OK
	// (a reply the simulator then treated as lost included).
	Answered int
}

// Callback is one callback the callback server received, in arrival order.
type Callback struct {
	Order    string // the shop's order (the ExternalReference)
	ChangeID string // "<sidecar order id>:<seq>"
	Status   string
	// Accepted is set when the server took it (2xx); a refused one is
	// expected to come again.
	Accepted bool
}

// Order is one payment the suite made, with its end state in each place.
type Order struct {
	Ref       string // ExternalReference: the shop's order
	TrustlyID string
	Want      string // the status the simulator's final state means
	Redis     string // the order's state in Redis
	// Shop is the statuses the callback server applied, oldest first.
	Shop []string
}

// History is what a run left behind, gathered after the run settled.
type History struct {
	Sent []Sent
	// Logged is, per notificationid, how many times the store took it into
	// account (its entries in the orders' event logs in Redis); a duplicate
	// the store recognised adds none.
	Logged    map[string]int
	Callbacks []Callback
	Orders    []Order
	// DeadLettered counts the outbox's dead letters in Redis.
	DeadLettered int
}

// Figures are the audit's counts: never times.
type Figures struct {
	Sent, Deliveries, Late, Applied, DuplicatesAbsorbed int
	Retries, CallbackResends                            int
	Lost, DoubleApplied                                 int
	Delivered, OutOfOrder, FinalMissing                 int
	DeadLettered, Attention                             int
}

// Audit computes the figures of h. Lost, DoubleApplied, OutOfOrder and
// FinalMissing must be 0 after any run, whatever failed during it; problems
// names each one that is not, for the test's failure message.
func Audit(h History) (f Figures, problems []string) {
	f.Sent = len(h.Sent)
	f.DeadLettered = h.DeadLettered
	for _, n := range h.Sent {
		f.Deliveries += n.Deliveries
		f.Retries += n.Retries
		f.Late += n.Late
		// Every OK after the first was the sidecar recognising a
		// notification it had already taken (a duplicate, a replay, a
		// resend of one whose OK Trustly never heard).
		f.DuplicatesAbsorbed += max(n.Answered-1, 0)
		switch logged := h.Logged[n.ID]; {
		case logged == 0 || n.Answered == 0:
			// Never taken into account, or never answered: Trustly would
			// still be resending it, or has the payment while we do not.
			f.Lost++
			problems = append(problems, fmt.Sprintf("notification %s (%s of order %s) lost: logged %d times, answered OK %d times", n.ID, n.Method, n.Order, logged, n.Answered))
		case logged > 1:
			f.DoubleApplied++
			problems = append(problems, fmt.Sprintf("notification %s (%s of order %s) applied %d times", n.ID, n.Method, n.Order, logged))
		default:
			f.Applied++
		}
	}

	// The callback server: a change id is delivered once it was accepted;
	// anything it received again was a resend. Within an order the change
	// ids' seqs must never go down: the shop must never hear an older
	// status after a newer one.
	seen := map[string]bool{}
	delivered := map[string]bool{}
	newest := map[string]int64{}
	for _, cb := range h.Callbacks {
		if seen[cb.ChangeID] {
			f.CallbackResends++
		}
		seen[cb.ChangeID] = true
		if cb.Accepted && !delivered[cb.ChangeID] {
			delivered[cb.ChangeID] = true
			f.Delivered++
		}
		prefix, seq, ok := splitChangeID(cb.ChangeID)
		if !ok {
			f.OutOfOrder++
			problems = append(problems, fmt.Sprintf("callback for order %s has a change id %q without a seq", cb.Order, cb.ChangeID))
			continue
		}
		if last, ok := newest[prefix]; ok && seq < last {
			f.OutOfOrder++
			problems = append(problems, fmt.Sprintf("order %s: the callback got %s (seq %d) after seq %d", cb.Order, cb.Status, seq, last))
		}
		newest[prefix] = max(newest[prefix], seq)
	}

	for _, o := range h.Orders {
		// An attention is a note for a person, no state: it may come
		// between any two and more than once. The checks below are on the
		// states.
		states := o.Shop[:0:0]
		for _, st := range o.Shop {
			if st == attention {
				f.Attention++
				continue
			}
			states = append(states, st)
		}
		// The same status applied twice under two change ids is a second
		// shipment, a second refund: a double on the platform side.
		counts := map[string]int{}
		for _, st := range states {
			counts[st]++
		}
		for _, st := range slices.Sorted(maps.Keys(counts)) {
			if counts[st] > 1 {
				f.DoubleApplied++
				problems = append(problems, fmt.Sprintf("order %s: the shop applied %s %d times (%s)", o.Ref, st, counts[st], strings.Join(o.Shop, ",")))
			}
		}
		// By status too, not only by seq: the shop's statuses must only
		// ever move forward (a pending after paid would undo a shipment).
		for i := 1; i < len(states); i++ {
			if statusRank[states[i]] <= statusRank[states[i-1]] && states[i] != states[i-1] {
				f.OutOfOrder++
				problems = append(problems, fmt.Sprintf("order %s: the shop applied %s after %s (%s)", o.Ref, states[i], states[i-1], strings.Join(o.Shop, ",")))
			}
		}
		last := ""
		if len(states) > 0 {
			last = states[len(states)-1]
		}
		if o.Redis != o.Want || last != o.Want {
			f.FinalMissing++
			problems = append(problems, fmt.Sprintf("order %s (%s): want %s, Redis holds %q, the shop last applied %q", o.Ref, o.TrustlyID, o.Want, o.Redis, last))
		}
	}
	return f, problems
}

// attention is adapter.StatusAttention: something about the order a person
// should look at (an anomaly), not a change of state.
const attention = "attention"

// statusRank orders a payment's platform statuses (adapter.PaymentStatus):
// each may only be followed by a higher one. The final ones share the top.
var statusRank = map[string]int{"pending": 1, "paid": 2, "reversed": 3, "cancelled": 3}

// splitChangeID splits "<order id>:<seq>" (adapter.StatusChange.ID).
func splitChangeID(id string) (order string, seq int64, ok bool) {
	i := strings.LastIndexByte(id, ':')
	if i <= 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return id[:i], seq, true
}

// Table is the one table the suite prints: each figure with what it counts.
func (f Figures) Table() string {
	var b strings.Builder
	rows := []struct {
		what string
		n    int
		note string
	}{
		{"notifications sent", f.Sent, "distinct notifications the simulator made"},
		{"deliveries", f.Deliveries, "POSTs of them: firsts, resends, duplicates, replays"},
		{"out-of-order deliveries", f.Late, "of them, sent after a newer notification of the order"},
		{"applied", f.Applied, "taken into account exactly once in Redis"},
		{"duplicates absorbed", f.DuplicatesAbsorbed, "OKs for a notification already taken, nothing re-applied"},
		{"retries", f.Retries, "resends by the simulator after no valid OK"},
		{"callback resends", f.CallbackResends, "callbacks received again (refused, cut off, or after a crash)"},
		{"lost", f.Lost, "must be 0"},
		{"double-applied", f.DoubleApplied, "must be 0 (in Redis or at the shop)"},
		{"platform changes delivered", f.Delivered, "distinct change ids the callback server accepted"},
		{"out of order", f.OutOfOrder, "must be 0: an older status after a newer one"},
		{"final state missing", f.FinalMissing, "must be 0: Redis and the shop end where Trustly did"},
		{"dead-lettered", f.DeadLettered, "outbox entries given up"},
		{"attention", f.Attention, "anomalies the shop was told of, for a person"},
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "%-27s %7d   %s\n", r.what, r.n, r.note)
	}
	return b.String()
}
