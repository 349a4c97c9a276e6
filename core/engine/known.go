package engine

import (
	"slices"
	"sync"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// knownOrders is what this process remembers of the orders Trustly has
// told it about, by Trustly orderid, so that the next notification of one
// is a single script instead of a read and a script.
//
// What a notification's step is decided on (stepFor: flow, terms, the
// shopper, MessageID, Trustly's orderid) does not change once Trustly knows
// the order, except the MessageID, which a fresh attempt replaces; the
// transition is therefore applied only while the order still carries the
// orderid and MessageID remembered (store.Transition.IfTrustlyOrderID,
// IfMessageID), and a memory found out of date is dropped and the order read.
// State is never remembered: the script decides it.
//
// Without a read the engine does not know whether the order has seen the
// notification, so it signs the reply before the script (which keeps it
// with the dedupe record). So that a resend this process answered before
// costs no signature, the memory also holds the notificationids it
// answered for the order; those take the read path, which knows.
type knownOrders struct {
	mu sync.Mutex
	m  map[string]*knownOrder
}

// knownOrdersMax bounds the memory to a few MB; when full it starts again,
// which costs each order one read.
const knownOrdersMax = 1 << 13

// knownAnswered is how many answered notificationids an order keeps: an
// order gets a handful of notifications in its life.
const knownAnswered = 8

type knownOrder struct {
	order    store.Order
	answered []string
}

// fastMethods are the notifications whose step needs nothing but what the
// memory holds; account and kyc read the order (and more) as before.
var fastMethods = map[string]bool{
	string(trustly.NotifyPending): true, string(trustly.NotifyCredit): true, string(trustly.NotifyDebit): true,
	string(trustly.NotifyCancel): true, string(trustly.NotifyPayoutConfirmation): true, string(trustly.NotifyPayoutFailed): true,
}

// lookup returns the remembered order for notification n when it may go
// without a read: a method that needs no more, the same MessageID (or
// none), and a notificationid this process has not answered.
func (k *knownOrders) lookup(n *trustly.Notification) (store.Order, bool) {
	if !fastMethods[n.Method] || n.OrderID == "" || n.NotificationID == "" {
		return store.Order{}, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ko := k.m[n.OrderID]
	if ko == nil || slices.Contains(ko.answered, n.NotificationID) {
		return store.Order{}, false
	}
	if n.MessageID != "" && n.MessageID != ko.order.MessageID && ko.order.Flow != string(FlowRefund) {
		// An earlier attempt's notification: the read path knows its rules.
		return store.Order{}, false
	}
	return ko.order, true
}

// remember keeps o, read for Trustly orderid tid, and that notification nid
// (if any) was answered.
func (k *knownOrders) remember(tid string, o store.Order, nid string) {
	if tid == "" || o.TrustlyOrderID != tid {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ko := k.m[tid]
	if ko == nil {
		if k.m == nil || len(k.m) >= knownOrdersMax {
			k.m = make(map[string]*knownOrder)
		}
		ko = &knownOrder{}
		k.m[tid] = ko
	}
	// Only what stepFor and apply use: the memory stays small.
	ko.order = store.Order{ID: o.ID, Flow: o.Flow, Parent: o.Parent, Currency: o.Currency,
		Amount: o.Amount, MinAmount: o.MinAmount, MaxAmount: o.MaxAmount, EndUserID: o.EndUserID,
		MessageID: o.MessageID, MessageIDs: o.MessageIDs, TrustlyOrderID: o.TrustlyOrderID}
	ko.note(nid)
}

// answered notes that nid of Trustly orderid tid was answered.
func (k *knownOrders) answered(tid, nid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ko := k.m[tid]; ko != nil {
		ko.note(nid)
	}
}

func (ko *knownOrder) note(nid string) {
	if nid == "" || slices.Contains(ko.answered, nid) {
		return
	}
	if len(ko.answered) == knownAnswered {
		ko.answered = slices.Delete(ko.answered, 0, 1)
	}
	ko.answered = append(ko.answered, nid)
}

func (k *knownOrders) forget(tid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, tid)
}
