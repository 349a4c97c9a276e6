package storetest

import (
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// retention is short enough to tell a refreshed TTL from a shortened one,
// long enough never to run out during a test.
const retention = 30 * 24 * time.Hour

// pttl returns key's TTL: -1 when it has none, -2 when it does not exist.
func (o *orders) pttl(key string) time.Duration {
	o.t.Helper()
	d, err := o.rdb.PTTL(o.ctx, key).Result()
	if err != nil {
		o.t.Fatal(err)
	}
	return d
}

// kept fails unless every key exists without a TTL.
func (o *orders) kept(what string, keys ...string) {
	o.t.Helper()
	for _, k := range keys {
		if d := o.pttl(k); d != -1 {
			o.t.Errorf("%s: %s has TTL %v, want none (kept)", what, k, d)
		}
	}
}

// expiring fails unless every key expires within the retention, and not
// much sooner: a refreshed TTL is close to the retention, a shortened one
// (see shorten) far below.
func (o *orders) expiring(what string, keys ...string) {
	o.t.Helper()
	for _, k := range keys {
		if d := o.pttl(k); d <= retention/2 || d > retention {
			o.t.Errorf("%s: %s has TTL %v, want about %v", what, k, d, retention)
		}
	}
}

// shorten stands in for time passing: the keys' TTL drops to a minute.
func (o *orders) shorten(keys ...string) {
	o.t.Helper()
	for _, k := range keys {
		must(o.t, o.rdb.PExpire(o.ctx, k, time.Minute).Err())
	}
}

// orderKeys are an order's keys and its index entries.
func (o *orders) orderKeys(id string, indexes ...string) []string {
	k := o.k.Order(id)
	return append([]string{k.Order, k.Dedupe, k.Log}, indexes...)
}

func runRetention(t *testing.T, newClient NewClient) {
	open := []string{"new", "started"}
	opts := store.OrdersOptions{Retention: retention}

	t.Run("retention: an order and its indexes expire only once settled, and every write pushes it out", func(t *testing.T) {
		o := newOrders(t, newClient, opts)
		o.create("p1", func(x *store.Order) { x.ExternalReference = "inv-1" })
		must(t, o.s.AddMessageID(o.ctx, "p1", "m-p1-b", now))
		must(t, o.s.IndexTrustlyOrderID(o.ctx, "T1", "p1"))
		idx := []string{o.k.MessageIDIndex("m-p1"), o.k.MessageIDIndex("m-p1-b"), o.k.TrustlyOrderIndex("T1"), o.k.ReferenceIndex("inv-1")}
		o.kept("created", append([]string{o.k.Order("p1").Order}, idx...)...)

		// As the engine does: the transition names the Trustly orderid on
		// the order, which is how its index entry follows the order.
		o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted, OpenStates: open, OpenUntil: now.Add(time.Hour), NotificationID: "n1",
			Set: store.OrderPatch{TrustlyOrderID: "T1"}})
		o.kept("open", o.orderKeys("p1", idx...)...)
		o.apply(store.Transition{OrderID: "p1", Event: "pending", Targets: pending, OpenStates: open, KeepStates: []string{"pending"}, NotificationID: "n2"})
		o.kept("pending (kept)", o.orderKeys("p1", idx...)...)

		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, OpenStates: open, KeepStates: []string{"pending"},
			SetOnChange: store.OrderPatch{Credited: ptr(int64(10000))}, NotificationID: "n3"})
		o.expiring("paid", o.orderKeys("p1", idx...)...)

		// Time passes; a late notification (unchanged) refreshes it all.
		o.shorten(o.orderKeys("p1", idx...)...)
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, OpenStates: open, NotificationID: "n4"})
		o.expiring("refreshed", o.orderKeys("p1", idx...)...)

		// An index entry written later takes the order's TTL.
		must(t, o.s.IndexTrustlyOrderID(o.ctx, "T1", "p1"))
		o.expiring("index written again", o.k.TrustlyOrderIndex("T1"))

		// A repeat writes nothing to the order but heals its index entries
		// (a crash after the script left them as they were).
		o.shorten(o.k.MessageIDIndex("m-p1"))
		if a := o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n3"}); a.Outcome != store.OutcomeDuplicate {
			t.Fatalf("repeat = %+v", a)
		}
		o.expiring("healed by a repeat", o.k.MessageIDIndex("m-p1"))
	})

	t.Run("retention: a settled order kept again (a late pending after expiry) loses its TTL, index entries too", func(t *testing.T) {
		o := newOrders(t, newClient, opts)
		o.create("p1")
		must(t, o.s.IndexTrustlyOrderID(o.ctx, "T1", "p1"))
		keys := o.orderKeys("p1", o.k.MessageIDIndex("m-p1"), o.k.TrustlyOrderIndex("T1"))
		set := store.OrderPatch{TrustlyOrderID: "T1"}
		o.apply(store.Transition{OrderID: "p1", Event: "expire", Targets: map[string]string{"new": "expired"}, OpenStates: open, Set: set, NotificationID: "n0"})
		o.expiring("expired", keys...)
		o.apply(store.Transition{OrderID: "p1", Event: "pending", Targets: map[string]string{"expired": "pending"}, OpenStates: open,
			KeepStates: []string{"pending"}, NotificationID: "n1", Set: set})
		o.kept("pending again", keys...)
		// Kept before and after: nothing to refresh, and nothing expires.
		o.apply(store.Transition{OrderID: "p1", Event: "pending", Targets: map[string]string{"pending": "pending"}, OpenStates: open,
			KeepStates: []string{"pending"}, NotificationID: "n2", Set: set})
		o.kept("a repeat while kept", keys...)
	})

	t.Run("retention: a paid Deposit is kept while the mandate it asked for is active", func(t *testing.T) {
		o := newOrders(t, newClient, opts)
		o.create("p1")
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1"})
		keys := o.orderKeys("p1", o.k.MessageIDIndex("m-p1"))
		o.expiring("paid", keys...)
		account := map[string]string{"paid": "paid"}
		o.apply(store.Transition{OrderID: "p1", Event: "mandate_active", Targets: account, NotificationID: "n2", Set: store.OrderPatch{Mandate: store.MandateActive}})
		o.kept("mandate active", keys...)
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n3"})
		o.kept("a later event, mandate still active", keys...)
		o.apply(store.Transition{OrderID: "p1", Event: "mandate_declined", Targets: account, NotificationID: "n4", Set: store.OrderPatch{Mandate: store.MandateInactive}})
		o.expiring("mandate revoked", keys...)
	})

	t.Run("retention: a line appended to an order's log expires with the order, and none outlives it", func(t *testing.T) {
		o := newOrders(t, newClient, opts)
		o.create("p1")
		line := store.LogEntry{At: now, Event: "call:Deposit", Outcome: "accepted"}
		must(t, o.s.AppendLog(o.ctx, "p1", line)) // no transition yet: the log is new
		o.kept("open order's log", o.k.Order("p1").Log)
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1"})
		must(t, o.rdb.Del(o.ctx, o.k.Order("p1").Log).Err()) // as if no line had been written yet
		must(t, o.s.AppendLog(o.ctx, "p1", store.LogEntry{At: now, Event: "platform", Outcome: "delivered"}))
		o.expiring("a new log of a settled order", o.k.Order("p1").Log)

		// An order that is gone (expired) gets no log that would never expire.
		must(t, o.s.AppendLog(o.ctx, "gone", line))
		if n := o.rdb.Exists(o.ctx, o.k.Order("gone").Log).Val(); n != 0 {
			t.Errorf("a log was created for an order that is gone")
		}
	})

	t.Run("retention: a refund keeps its paid order at least as long as itself", func(t *testing.T) {
		o := newOrders(t, newClient, opts)
		o.create("p1", func(x *store.Order) { x.ExternalReference = "inv-1" })
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, SetOnChange: store.OrderPatch{Credited: ptr(int64(10000)), TrustlyOrderID: "T1"},
			NotificationID: "n1"})
		must(t, o.s.IndexTrustlyOrderID(o.ctx, "T1", "p1"))
		// A refund's notifications find it through its paid order's
		// MessageID: the paid order's index entries must last as long.
		paid := o.orderKeys("p1", o.k.MessageIDIndex("m-p1"), o.k.TrustlyOrderIndex("T1"), o.k.ReferenceIndex("inv-1"))
		o.shorten(paid...)
		_, err := o.s.ReserveRefund(o.ctx, store.Order{ID: "p1.r", Parent: "p1", Flow: "refund", State: "new", Currency: "SEK", Amount: 100}, "paid", now.Add(time.Minute))
		must(t, err)
		o.expiring("paid order at refund", paid...)
		o.kept("new refund", o.k.Order("p1.r").Order)

		o.shorten(paid...)
		o.apply(store.Transition{OrderID: "p1.r", ParentID: "p1", Event: "rejected", Targets: rejected, ReleaseOn: []string{"rejected"}, OpenStates: open})
		o.expiring("rejected refund", o.orderKeys("p1.r")[:1]...)
		o.expiring("its paid order", paid...)
	})

	t.Run("retention: a kept paid order is not given a TTL by its refund", func(t *testing.T) {
		o := newOrders(t, newClient, store.OrdersOptions{Retention: -1})
		o.create("p1")
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, SetOnChange: store.OrderPatch{Credited: ptr(int64(10000))}, NotificationID: "n1"})
		_, err := o.s.ReserveRefund(o.ctx, store.Order{ID: "p1.r", Parent: "p1", Flow: "refund", State: "new", Currency: "SEK", Amount: 100}, "paid", time.Time{})
		must(t, err)
		o.apply(store.Transition{OrderID: "p1.r", ParentID: "p1", Event: "rejected", Targets: rejected, ReleaseOn: []string{"rejected"}})
		o.kept("negative retention: nothing expires", append(o.orderKeys("p1"), o.k.Order("p1.r").Order, o.k.MessageIDIndex("m-p1"))...)
	})

	t.Run("retention: a shopper with an active mandate is kept", func(t *testing.T) {
		o := newOrders(t, newClient, opts)
		must(t, o.s.SaveAccount(o.ctx, "u1", store.Account{AccountID: "A1", Verified: true}))
		o.expiring("no mandate", o.k.Accounts("u1"))
		must(t, o.s.SaveAccount(o.ctx, "u1", store.Account{AccountID: "A1", Verified: true, Mandate: store.MandateActive}))
		o.kept("active mandate", o.k.Accounts("u1"))
		must(t, o.s.SaveAccount(o.ctx, "u1", store.Account{AccountID: "A2"}))
		o.kept("another account, mandate still active", o.k.Accounts("u1"))
		must(t, o.s.SaveAccount(o.ctx, "u1", store.Account{AccountID: "A1", Mandate: store.MandateInactive}))
		o.expiring("mandate ended", o.k.Accounts("u1"))
	})

	t.Run("retention: unrouted notifications and their index entries expire", func(t *testing.T) {
		o := newOrders(t, newClient, opts)
		old := store.Unrouted{NotificationID: "n-old", Method: "kyc", Answer: "OK", At: now}
		_, _, err := o.s.SaveUnrouted(o.ctx, old)
		must(t, err)
		o.expiring("unrouted record", o.k.Unrouted("n-old"))
		_, _, err = o.s.SaveUnrouted(o.ctx, store.Unrouted{NotificationID: "n-new", Method: "kyc", Answer: "OK", At: now.Add(retention + time.Hour)})
		must(t, err)
		l, err := o.s.ListUnrouted(o.ctx, 10)
		if err != nil || len(l) != 1 || l[0].NotificationID != "n-new" {
			t.Fatalf("list = %+v, %v; want only the one within the retention", l, err)
		}
	})
}

func runRetain(t *testing.T, newClient NewClient) {
	t.Run("retain: keys written while nothing expired get the TTL their next write would give them", func(t *testing.T) {
		// Written with retention off, as before it existed.
		old := newOrders(t, newClient, store.OrdersOptions{Retention: -1})
		open := []string{"new", "started"}
		for _, id := range []string{"paid", "pending", "open", "mandate"} {
			old.create(id)
		}
		must(t, old.s.IndexTrustlyOrderID(old.ctx, "T-paid", "paid"))
		old.apply(store.Transition{OrderID: "paid", Event: "credit", Targets: credit, OpenStates: open, NotificationID: "n1", Set: store.OrderPatch{TrustlyOrderID: "T-paid"}})
		old.apply(store.Transition{OrderID: "pending", Event: "pending", Targets: pending, OpenStates: open, KeepStates: []string{"pending"}})
		old.apply(store.Transition{OrderID: "open", Event: "accepted", Targets: accepted, OpenStates: open, OpenUntil: now.Add(time.Hour)})
		old.apply(store.Transition{OrderID: "mandate", Event: "credit", Targets: credit, Set: store.OrderPatch{Mandate: store.MandateActive}})
		must(t, old.s.SaveAccount(old.ctx, "u-plain", store.Account{AccountID: "A1"}))
		must(t, old.s.SaveAccount(old.ctx, "u-mandate", store.Account{AccountID: "A2", Mandate: store.MandateActive}))
		_, _, err := old.s.SaveUnrouted(old.ctx, store.Unrouted{NotificationID: "n-u", Method: "kyc", Answer: "OK", At: now})
		must(t, err)

		o := &orders{t: t, ctx: old.ctx, s: store.NewRedisOrders(old.rdb, old.k, store.OrdersOptions{Retention: retention}), rdb: old.rdb, k: old.k}
		settled := func(flow, state string) bool { return state == "paid" }
		const grace = 24 * time.Hour
		later := now.Add(10 * 24 * time.Hour)
		want := store.RetainReport{Orders: 1, Accounts: 1, Unrouted: 1}
		if got, err := o.s.Retain(o.ctx, settled, later, grace, true); err != nil || got != want {
			t.Fatalf("dry run = %+v, %v; want %+v", got, err, want)
		}
		o.kept("after a dry run", o.k.Order("paid").Order)
		if got, err := o.s.Retain(o.ctx, settled, later, grace, false); err != nil || got != want {
			t.Fatalf("retain = %+v, %v; want %+v", got, err, want)
		}
		// The retention after the last write, ten days ago.
		for _, k := range o.orderKeys("paid", o.k.MessageIDIndex("m-paid"), o.k.TrustlyOrderIndex("T-paid")) {
			if d := o.pttl(k); d <= retention-11*24*time.Hour || d > retention-10*24*time.Hour {
				t.Errorf("%s: TTL %v, want the retention less the ten days since its last write", k, d)
			}
		}
		o.expiring("accounts without a mandate", o.k.Accounts("u-plain"))
		if d := o.pttl(o.k.Unrouted("n-u")); d <= 0 || d > retention-10*24*time.Hour {
			t.Errorf("unrouted: TTL %v", d)
		}
		o.kept("not settled, or a mandate", o.k.Order("pending").Order, o.k.Order("open").Order, o.k.Order("mandate").Order,
			o.k.MessageIDIndex("m-open"), o.k.Accounts("u-mandate"))
		if got, err := o.s.Retain(o.ctx, settled, later, grace, false); err != nil || got != (store.RetainReport{}) {
			t.Errorf("a second run = %+v, %v; want nothing left", got, err)
		}
		// Long past its retention: it goes after the grace, not at once.
		must(t, o.rdb.Persist(o.ctx, o.k.Order("paid").Order).Err())
		if _, err := o.s.Retain(o.ctx, settled, now.Add(2*retention), grace, false); err != nil {
			t.Fatal(err)
		}
		if d := o.pttl(o.k.Order("paid").Order); d > grace || d <= grace-time.Minute {
			t.Errorf("an order past its retention: TTL %v, want the grace %v", d, grace)
		}
	})
}
