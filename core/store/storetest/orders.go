package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// A small machine, as data: the store only ever sees targets.
var (
	accepted = map[string]string{"new": "started", "started": "started"}
	credit   = map[string]string{"new": "paid", "started": "paid", "pending": "paid", "paid": "paid"}
	pending  = map[string]string{"new": "pending", "started": "pending", "pending": "pending", "paid": "paid"}
	rejected = map[string]string{"new": "rejected", "rejected": "rejected"}
)

type orders struct {
	t   *testing.T
	ctx context.Context
	s   *store.RedisOrders
	rdb redis.UniversalClient
	k   store.Keys
}

func newOrders(t *testing.T, newClient NewClient, opts ...store.OrdersOptions) *orders {
	t.Helper()
	keys, err := store.NewKeys(redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	var o store.OrdersOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	rdb := newClient(t)
	return &orders{t: t, ctx: context.Background(), s: store.NewRedisOrders(rdb, keys, o), rdb: rdb, k: keys}
}

var now = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func (o *orders) create(id string, mut ...func(*store.Order)) store.Order {
	o.t.Helper()
	ord := store.Order{ID: id, Flow: "deposit", State: "new", Currency: "SEK", Amount: 10000,
		MessageID: "m-" + id, EndUserID: "u-1", Created: now}
	for _, m := range mut {
		m(&ord)
	}
	if err := o.s.Create(o.ctx, ord); err != nil {
		o.t.Fatal(err)
	}
	return ord
}

func (o *orders) apply(tr store.Transition) store.Applied {
	o.t.Helper()
	tr.Now = now
	if tr.Answer == "" {
		tr.Answer = "OK"
	}
	a, err := o.s.Apply(o.ctx, tr)
	if err != nil {
		o.t.Fatalf("Apply(%s %s): %v", tr.OrderID, tr.Event, err)
	}
	return a
}

func (o *orders) get(id string) store.Order {
	o.t.Helper()
	ord, err := o.s.Get(o.ctx, id)
	if err != nil {
		o.t.Fatal(err)
	}
	return ord
}

func (o *orders) outbox(id string) []store.OutboxEntry {
	o.t.Helper()
	all, err := o.s.ListOutbox(o.ctx, store.ShardOf(id), 1000)
	if err != nil {
		o.t.Fatal(err)
	}
	var out []store.OutboxEntry
	for _, e := range all {
		if e.OrderID == id {
			out = append(out, e)
		}
	}
	return out
}

// RunOrders runs the order store's contract against the backend newClient reaches.
func RunOrders(t *testing.T, newClient NewClient) {
	runRetention(t, newClient)
	runGiveUp(t, newClient)
	runRetain(t, newClient)
	t.Run("an order is found by id, every MessageID, Trustly orderid and reference", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1", func(x *store.Order) { x.ExternalReference = "inv-7" })
		o.create("p2", func(x *store.Order) { x.ExternalReference = "inv-7"; x.Created = now.Add(time.Second) })
		if err := o.s.Create(o.ctx, store.Order{ID: "p1", Flow: "deposit", State: "new"}); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second Create = %v, want ErrExists", err)
		}
		if err := o.s.AddMessageID(o.ctx, "p1", "m-p1-b", now); err != nil {
			t.Fatal(err)
		}
		if err := o.s.IndexTrustlyOrderID(o.ctx, "T1", "p1"); err != nil {
			t.Fatal(err)
		}
		for _, look := range []func() (store.Order, error){
			func() (store.Order, error) { return o.s.ByMessageID(o.ctx, "m-p1") },
			func() (store.Order, error) { return o.s.ByMessageID(o.ctx, "m-p1-b") },
			func() (store.Order, error) { return o.s.ByTrustlyOrderID(o.ctx, "T1") },
		} {
			got, err := look()
			if err != nil || got.ID != "p1" || got.MessageID != "m-p1-b" || len(got.MessageIDs) != 2 {
				t.Fatalf("lookup = %+v, %v", got, err)
			}
		}
		refs, err := o.s.ByExternalReference(o.ctx, "inv-7")
		if err != nil || len(refs) != 2 || refs[0].ID != "p1" || refs[1].ID != "p2" {
			t.Fatalf("ByExternalReference = %+v, %v", refs, err)
		}
		if _, err := o.s.ByMessageID(o.ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown MessageID = %v, want ErrNotFound", err)
		}
	})

	t.Run("a patch is written on an expected event, its on-change part only on a change", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1")
		o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted,
			Set: store.OrderPatch{TrustlyOrderID: "T1", URL: "https://t.example/1"}, SetOnChange: store.OrderPatch{Reason: "changed"}})
		if g := o.get("p1"); g.TrustlyOrderID != "T1" || g.URL != "https://t.example/1" || g.Reason != "changed" {
			t.Fatalf("after a change = %+v", g)
		}
		// started → started: no change. Set is written, SetOnChange is not,
		// and an empty field keeps what is there.
		o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted,
			Set: store.OrderPatch{AccountID: "A1"}, SetOnChange: store.OrderPatch{Reason: "again", Credited: ptr(int64(5))}})
		if g := o.get("p1"); g.TrustlyOrderID != "T1" || g.URL != "https://t.example/1" || g.AccountID != "A1" || g.Reason != "changed" || g.Credited != 0 {
			t.Fatalf("after no change = %+v", g)
		}
		// An anomaly writes neither.
		o.apply(store.Transition{OrderID: "p1", Event: "rejected", Targets: rejected, Set: store.OrderPatch{Reason: "anomaly"}})
		if g := o.get("p1"); g.Reason != "changed" || g.State != "started" {
			t.Fatalf("after an anomaly = %+v", g)
		}
	})

	t.Run("a transition writes state, one outbox entry and the dedupe record at once", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1")
		a := o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1",
			SetOnChange: store.OrderPatch{Credited: ptr(int64(10000))}})
		if a.Outcome != store.OutcomeApplied || a.From != "new" || a.To != "paid" || a.Seq != 1 {
			t.Fatalf("first credit = %+v", a)
		}
		dup := o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1", Answer: "OTHER"})
		if dup.Outcome != store.OutcomeDuplicate || dup.Answer != "OK" {
			t.Fatalf("repeat = %+v, want duplicate with the first answer", dup)
		}
		late := o.apply(store.Transition{OrderID: "p1", Event: "pending", Targets: pending, NotificationID: "n0"})
		if late.Outcome != store.OutcomeUnchanged || late.To != "paid" {
			t.Fatalf("late pending = %+v, want unchanged", late)
		}
		if got := o.get("p1"); got.State != "paid" || got.Credited != 10000 || got.Seq != 1 {
			t.Fatalf("order = %+v", got)
		}
		if e := o.outbox("p1"); len(e) != 1 || e[0].To != "paid" || e[0].Seq != 1 || e[0].NotificationID != "n1" ||
			e[0].Kind != store.OutboxState || e[0].Event != "credit" || e[0].From != "new" || e[0].Flow != "deposit" ||
			e[0].Amount != 10000 || e[0].Credited != 10000 || e[0].Currency != "SEK" || e[0].EndUserID != "u-1" || !e[0].At.Equal(now) {
			t.Fatalf("outbox = %+v, want one entry to paid", e)
		}
	})

	t.Run("Applied tells the order's TTL, and its orderid entry takes it", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1")
		a := o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted, OpenStates: []string{"started"}})
		if a.TTL != 0 {
			t.Fatalf("an open order's TTL = %v, want 0 (kept)", a.TTL)
		}
		if err := o.s.IndexTrustlyOrderIDTTL(o.ctx, "T1", "p1", a.TTL); err != nil {
			t.Fatal(err)
		}
		if d, err := o.rdb.PTTL(o.ctx, o.k.TrustlyOrderIndex("T1")).Result(); err != nil || d != -1 {
			t.Fatalf("entry of a kept order: PTTL %v, %v; want none", d, err)
		}
		b := o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1"})
		if b.TTL <= 0 || b.TTL > store.DefaultRetention {
			t.Fatalf("a paid order's TTL = %v, want the retention", b.TTL)
		}
		if err := o.s.IndexTrustlyOrderIDTTL(o.ctx, "T1", "p1", b.TTL); err != nil {
			t.Fatal(err)
		}
		if d, err := o.rdb.PTTL(o.ctx, o.k.TrustlyOrderIndex("T1")).Result(); err != nil || d <= b.TTL-time.Minute || d > b.TTL {
			t.Fatalf("entry PTTL %v, %v; want the order's %v", d, err, b.TTL)
		}
		if got, err := o.s.ByTrustlyOrderID(o.ctx, "T1"); err != nil || got.ID != "p1" {
			t.Fatalf("ByTrustlyOrderID = %+v, %v", got, err)
		}
	})

	t.Run("a duplicate hands back the reply kept for the first delivery", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1")
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1", Answer: "OK"})
		dup := o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1", Answer: "OK"})
		if dup.Outcome != store.OutcomeDuplicate || dup.Reply != nil {
			t.Fatalf("repeat before a reply was kept = %+v, want a duplicate without one", dup)
		}
		reply := []byte(`{"result":{"signature":"s","uuid":"u","method":"credit","data":{"status":"OK"}},"version":"1.1"}`)
		if err := o.s.SaveReply(o.ctx, "p1", "n1", reply); err != nil {
			t.Fatal(err)
		}
		dup = o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1", Answer: "OK"})
		if dup.Outcome != store.OutcomeDuplicate || string(dup.Reply) != string(reply) || dup.Answer != "OK" {
			t.Fatalf("repeat = %+v, want the kept reply byte for byte", dup)
		}
		// No record, no reply: a reply never creates a dedupe hash that
		// would outlive its order.
		if err := o.s.SaveReply(o.ctx, "p1", "n-unknown", reply); err != nil {
			t.Fatal(err)
		}
		if err := o.s.SaveReply(o.ctx, "gone", "n1", reply); err != nil {
			t.Fatal(err)
		}
		if n, err := o.rdb.Exists(o.ctx, o.k.Order("gone").Dedupe).Result(); err != nil || n != 0 {
			t.Fatalf("dedupe hash of a missing order: exists %d, %v", n, err)
		}
		if ok, err := o.rdb.HExists(o.ctx, o.k.Order("p1").Dedupe, "reply:n-unknown").Result(); err != nil || ok {
			t.Fatalf("reply kept without a record: %v, %v", ok, err)
		}
		fresh := o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n2", Answer: "OK"})
		if fresh.Reply != nil {
			t.Fatalf("a first delivery = %+v, want no reply", fresh)
		}
	})

	t.Run("an unexpected event or a mismatch is an anomaly with an attention entry", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1")
		a := o.apply(store.Transition{OrderID: "p1", Event: "refund-thing", Targets: map[string]string{"paid": "x"}, NotificationID: "n1"})
		if a.Outcome != store.OutcomeAnomaly || a.To != "new" {
			t.Fatalf("anomaly = %+v", a)
		}
		m := o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n2", Anomaly: "amount mismatch"})
		if m.Outcome != store.OutcomeAnomaly || m.To != "new" {
			t.Fatalf("mismatch = %+v, want the state kept", m)
		}
		got := o.get("p1")
		if got.State != "new" || got.Attention != "amount mismatch" || got.Seq != 2 {
			t.Fatalf("order = %+v", got)
		}
		e := o.outbox("p1")
		if len(e) != 2 || e[1].Kind != store.OutboxAttention || e[1].Note != "amount mismatch" {
			t.Fatalf("outbox = %+v", e)
		}
		if l, _ := o.s.Log(o.ctx, "p1"); len(l) != 2 {
			t.Fatalf("log = %q", l)
		}
	})

	t.Run("a conditional transition writes nothing once the order has moved on", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1", func(ord *store.Order) { ord.TrustlyOrderID = "T1" })
		for _, tc := range []struct {
			name     string
			tid, mid string
		}{
			{"another Trustly orderid", "T2", ""},
			{"another MessageID (a fresh attempt)", "T1", "m-older"},
			{"both", "T2", "m-older"},
		} {
			_, err := o.s.Apply(o.ctx, store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n-" + tc.name,
				Answer: "OK", Now: now, Reply: []byte("signed"), IfTrustlyOrderID: tc.tid, IfMessageID: tc.mid})
			if !errors.Is(err, store.ErrChanged) {
				t.Fatalf("%s: Apply = %v, want ErrChanged", tc.name, err)
			}
		}
		if got := o.get("p1"); got.State != "new" || got.Seq != 0 {
			t.Fatalf("order after refused transitions = %+v, want it untouched", got)
		}
		if n, err := o.rdb.Exists(o.ctx, o.k.Order("p1").Dedupe).Result(); err != nil || n != 0 {
			t.Fatalf("dedupe hash after refused transitions: exists %d, %v", n, err)
		}
		if e := o.outbox("p1"); len(e) != 0 {
			t.Fatalf("outbox after refused transitions = %+v", e)
		}
		if l, _ := o.s.Log(o.ctx, "p1"); len(l) != 0 {
			t.Fatalf("log after refused transitions = %q", l)
		}
		a := o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1",
			Reply: []byte("signed"), IfTrustlyOrderID: "T1", IfMessageID: "m-p1"})
		if a.Outcome != store.OutcomeApplied || a.To != "paid" {
			t.Fatalf("matching conditional transition = %+v", a)
		}
		// A repeat is a repeat whatever the order carries now: its first
		// answer stands.
		dup := o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1",
			IfTrustlyOrderID: "T-other", IfMessageID: "m-other"})
		if dup.Outcome != store.OutcomeDuplicate || string(dup.Reply) != "signed" {
			t.Fatalf("repeat of a conditional transition = %+v, want the duplicate with its reply", dup)
		}
		l, err := o.s.Log(o.ctx, "p1")
		if err != nil || len(l) != 2 {
			t.Fatalf("log = %q, %v; want the credit and its repeat", l, err)
		}
		if e := store.ParseLogLine(l[1]); e.Outcome != store.OutcomeDuplicate || e.NotificationID != "n1" || e.Event != "credit" || e.Note != "answered OK again" {
			t.Fatalf("repeat's timeline line = %+v", e)
		}
	})

	t.Run("a transition writes the lines given before its own and can hand back the order", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1")
		call := store.LogEntry{At: now.Add(-time.Second), Event: "call:Deposit", Outcome: "ok", Note: "MessageID m-p1\twith a tab"}
		a := o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted, OpenStates: []string{"started"},
			Set: store.OrderPatch{TrustlyOrderID: "T1", URL: "https://trustly.example/x"}, Lines: []store.LogEntry{call}, WithOrder: true})
		if a.Order == nil || a.Order.State != "started" || a.Order.TrustlyOrderID != "T1" || a.Order.URL != "https://trustly.example/x" || a.Order.Seq != 1 {
			t.Fatalf("Applied.Order = %+v, want the order as it now stands", a.Order)
		}
		if got := o.get("p1"); !reflect.DeepEqual(got, *a.Order) {
			t.Fatalf("Applied.Order = %+v\nGet = %+v", *a.Order, got)
		}
		l, err := o.s.Log(o.ctx, "p1")
		if err != nil || len(l) != 2 {
			t.Fatalf("log = %q, %v", l, err)
		}
		if first := store.ParseLogLine(l[0]); first.Event != "call:Deposit" || first.Note != "MessageID m-p1 with a tab" || !first.At.Equal(call.At) {
			t.Fatalf("first line = %+v, want the call", first)
		}
		if second := store.ParseLogLine(l[1]); second.Event != "accepted" || second.To != "started" {
			t.Fatalf("second line = %+v, want the transition", second)
		}
		if b := o.apply(store.Transition{OrderID: "p1", Event: "pending", Targets: pending, NotificationID: "n1"}); b.Order != nil {
			t.Fatalf("Applied.Order without WithOrder = %+v", b.Order)
		}
	})

	t.Run("a missing order is not found", func(t *testing.T) {
		o := newOrders(t, newClient)
		_, err := o.s.Apply(o.ctx, store.Transition{OrderID: "nope", Event: "credit", Targets: credit})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Apply = %v, want ErrNotFound", err)
		}
	})

	t.Run("refunds never exceed what was credited, also concurrently", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1")
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, SetOnChange: store.OrderPatch{Credited: ptr(int64(10000))}})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, exceeded int
		for i := range 20 {
			wg.Go(func() {
				_, err := o.s.ReserveRefund(o.ctx, store.Order{ID: fmt.Sprintf("p1.r%d", i), Parent: "p1", Flow: "refund",
					State: "new", Currency: "SEK", Amount: 3000, Created: now}, "paid", time.Time{})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, store.ErrExceedsRefundable):
					exceeded++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok != 3 || exceeded != 17 {
			t.Fatalf("%d reserved, %d refused; want 3 and 17", ok, exceeded)
		}
		p := o.get("p1")
		if p.Refunded != 9000 || len(p.Refunds) != 3 {
			t.Fatalf("paid order = %+v", p)
		}
		// A rejected refund gives its amount back; the rest is refundable in full.
		a := o.apply(store.Transition{OrderID: p.Refunds[0], ParentID: "p1", Event: "rejected", Targets: rejected, ReleaseOn: []string{"rejected"}})
		if a.Outcome != store.OutcomeApplied {
			t.Fatalf("reject = %+v", a)
		}
		r, err := o.s.ReserveRefund(o.ctx, store.Order{ID: "p1.full", Parent: "p1", Flow: "refund", State: "new", Currency: "SEK"}, "paid", time.Time{})
		if err != nil || r.Amount != 4000 {
			t.Fatalf("full refund = %+v, %v; want the 40.00 left", r, err)
		}
		var ex *store.ExceedsError
		if _, err := o.s.ReserveRefund(o.ctx, store.Order{ID: "p1.more", Parent: "p1", Flow: "refund", State: "new", Currency: "SEK", Amount: 1}, "paid", time.Time{}); !errors.As(err, &ex) || ex.Refundable != 0 {
			t.Fatalf("refund of nothing left = %v", err)
		}
		if _, err := o.s.ReserveRefund(o.ctx, store.Order{ID: "p1.eur", Parent: "p1", Flow: "refund", State: "new", Currency: "EUR", Amount: 1}, "paid", time.Time{}); !errors.Is(err, store.ErrNotRefundable) {
			t.Fatalf("refund in another currency = %v", err)
		}
	})

	t.Run("accounts keep the express and mandate pointers", func(t *testing.T) {
		o := newOrders(t, newClient)
		must(t, o.s.SaveAccount(o.ctx, "u1", store.Account{AccountID: "A1", Verified: true, Mandate: store.MandateActive}))
		must(t, o.s.SaveAccount(o.ctx, "u1", store.Account{AccountID: "A2", Verified: false}))
		a, err := o.s.Accounts(o.ctx, "u1")
		if err != nil || a.Express != "A1" || a.Mandate != "A1" || len(a.All) != 2 {
			t.Fatalf("accounts = %+v, %v", a, err)
		}
		must(t, o.s.SaveAccount(o.ctx, "u1", store.Account{AccountID: "A1", Verified: true, Mandate: store.MandateInactive}))
		if a, _ := o.s.Accounts(o.ctx, "u1"); a.Mandate != "" || a.Express != "A1" {
			t.Fatalf("after the mandate ended: %+v", a)
		}
	})

	t.Run("balances and one balance slot per interval", func(t *testing.T) {
		o := newOrders(t, newClient)
		must(t, o.s.SaveBalances(o.ctx, map[string]int64{"SEK": 123456, "EUR": -5}, now))
		b, at, err := o.s.Balances(o.ctx)
		if err != nil || b["SEK"] != 123456 || b["EUR"] != -5 || !at.Equal(now) {
			t.Fatalf("balances = %v %v %v", b, at, err)
		}
		first, err1 := o.s.TakeBalanceSlot(o.ctx, time.Minute)
		second, err2 := o.s.TakeBalanceSlot(o.ctx, time.Minute)
		if !first || second || err1 != nil || err2 != nil {
			t.Fatalf("slots = %v %v (%v %v), want only the first", first, second, err1, err2)
		}
	})

	t.Run("unrouted notifications are kept once", func(t *testing.T) {
		o := newOrders(t, newClient)
		u := store.Unrouted{NotificationID: "n9", Method: "kyc2", Reason: "unknown method", Answer: "OK", Body: []byte("{}"), At: now}
		first, _, err := o.s.SaveUnrouted(o.ctx, u)
		if err != nil || first != "" {
			t.Fatalf("first save = %q, %v", first, err)
		}
		if again, reply, err := o.s.SaveUnrouted(o.ctx, u); err != nil || again != "OK" || reply != nil {
			t.Fatalf("repeat = %q, %q, %v; want the first answer and no reply yet", again, reply, err)
		}
		signed := []byte(`{"result":{"signature":"s","uuid":"u","method":"kyc2","data":{"status":"OK"}},"version":"1.1"}`)
		must(t, o.s.SaveUnroutedReply(o.ctx, "n9", signed))
		if again, reply, err := o.s.SaveUnrouted(o.ctx, u); err != nil || again != "OK" || string(reply) != string(signed) {
			t.Fatalf("repeat = %q, %q, %v; want the first answer and its reply", again, reply, err)
		}
		// No record, no reply: a reply never creates a record.
		must(t, o.s.SaveUnroutedReply(o.ctx, "n-none", signed))
		if n, err := o.rdb.Exists(o.ctx, o.k.Unrouted("n-none")).Result(); err != nil || n != 0 {
			t.Fatalf("record made by a reply: exists %d, %v", n, err)
		}
		l, err := o.s.ListUnrouted(o.ctx, 10)
		if err != nil || len(l) != 1 || l[0].Method != "kyc2" {
			t.Fatalf("list = %+v, %v", l, err)
		}
	})

	t.Run("open orders are listed by deadline until they leave the open states", func(t *testing.T) {
		o := newOrders(t, newClient)
		o.create("p1")
		o.create("p2")
		open := []string{"new", "started"}
		o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted, OpenStates: open, OpenUntil: now.Add(time.Hour)})
		o.apply(store.Transition{OrderID: "p2", Event: "accepted", Targets: accepted, OpenStates: open, OpenUntil: now.Add(2 * time.Hour)})
		due, err := o.s.DueOpen(o.ctx, now.Add(90*time.Minute), 100)
		if err != nil || len(due) != 1 || due[0] != "p1" {
			t.Fatalf("due = %v, %v", due, err)
		}
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, OpenStates: open})
		if n, _ := o.s.OpenCount(o.ctx); n != 1 {
			t.Fatalf("open = %d, want 1", n)
		}
	})

	t.Run("an order created open is due at its deadline with no transition", func(t *testing.T) {
		o := newOrders(t, newClient)
		must(t, o.s.CreateOpen(o.ctx, store.Order{ID: "p1", Flow: "deposit", State: "new", Currency: "SEK", Amount: 10000}, now.Add(time.Hour)))
		if due, err := o.s.DueOpen(o.ctx, now.Add(time.Hour-time.Millisecond), 10); err != nil || len(due) != 0 {
			t.Fatalf("due before the deadline = %v, %v", due, err)
		}
		if due, err := o.s.DueOpen(o.ctx, now.Add(time.Hour+time.Millisecond), 10); err != nil || len(due) != 1 || due[0] != "p1" {
			t.Fatalf("due after the deadline = %v, %v", due, err)
		}
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit, SetOnChange: store.OrderPatch{Credited: ptr(int64(10000))}, OpenStates: []string{"new"}})
		_, err := o.s.ReserveRefund(o.ctx, store.Order{ID: "p1.r", Parent: "p1", Flow: "refund", State: "new", Currency: "SEK", Amount: 100}, "paid", now.Add(time.Minute))
		must(t, err)
		if due, err := o.s.DueOpen(o.ctx, now.Add(2*time.Minute), 10); err != nil || len(due) != 1 || due[0] != "p1.r" {
			t.Fatalf("due = %v, %v; want only the refund", due, err)
		}
	})

	t.Run("the outbox is read, retried, dead-lettered and replayed", func(t *testing.T) {
		o := newOrders(t, newClient)
		const group = "platform"
		must(t, o.s.EnsureOutboxGroup(o.ctx, group))
		must(t, o.s.EnsureOutboxGroup(o.ctx, group))
		o.create("p1")
		o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted})
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit})
		sh := store.ShardOf("p1")
		got, err := o.s.ReadOutbox(o.ctx, sh, group, "c1", 10)
		if err != nil || len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 2 {
			t.Fatalf("read = %+v, %v", got, err)
		}
		must(t, o.s.AckOutbox(o.ctx, got[0], group, ""))
		if d, _ := o.s.Delivered(o.ctx, "p1"); d != 1 {
			t.Fatalf("delivered = %d, want 1", d)
		}
		// The second is not acknowledged: after its idle time it comes back,
		// with its failed deliveries (not its waits) counted.
		if n, err := o.s.FailOutbox(o.ctx, got[1]); err != nil || n != 1 {
			t.Fatalf("FailOutbox = %d, %v; want 1", n, err)
		}
		var again []store.OutboxEntry
		deadline := time.Now().Add(5 * time.Second)
		for len(again) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			again, err = o.s.ClaimOutbox(o.ctx, sh, group, "c2", 10*time.Millisecond, 10, nil)
			must(t, err)
		}
		if len(again) != 1 || again[0].ID != got[1].ID || again[0].Deliveries != 2 || again[0].Failures != 1 {
			t.Fatalf("claimed = %+v", again)
		}
		must(t, o.s.AckOutbox(o.ctx, again[0], group, "platform said no"))
		dead, err := o.s.ListDead(o.ctx, 10)
		if err != nil || len(dead) != 1 || dead[0].DeadReason != "platform said no" || dead[0].OrderID != "p1" ||
			dead[0].DeadEntry != got[1].ID || dead[0].Seq != 2 {
			t.Fatalf("dead = %+v, %v", dead, err)
		}
		if d, _ := o.s.Delivered(o.ctx, "p1"); d != 2 {
			t.Fatalf("delivered after dead-lettering = %d, want 2", d)
		}
		// Dead-lettered is delivered (later entries stop waiting) but not
		// landed: the platform has seq 1 only.
		if l, err := o.s.Landed(o.ctx, "p1"); err != nil || l != 1 {
			t.Fatalf("landed after dead-lettering = %d, %v; want 1", l, err)
		}
		if _, err := o.s.ReplayDead(o.ctx, dead[0].Shard, dead[0].ID); err != nil {
			t.Fatal(err)
		}
		re, err := o.s.ReadOutbox(o.ctx, sh, group, "c1", 10)
		if err != nil || len(re) != 1 || !re[0].Replay || re[0].Seq != 2 || re[0].DeadReason != "" {
			t.Fatalf("replayed = %+v, %v", re, err)
		}
		if d, _ := o.s.ListDead(o.ctx, 10); len(d) != 0 {
			t.Fatalf("dead after replay = %+v", d)
		}
		// Skipped: acknowledged, and still not landed.
		must(t, o.s.SkipOutbox(o.ctx, re[0], group))
		if l, _ := o.s.Landed(o.ctx, "p1"); l != 1 {
			t.Fatalf("landed after a skip = %d, want 1", l)
		}
		if again, err := o.s.ClaimOutbox(o.ctx, sh, group, "c2", time.Millisecond, 10, nil); err != nil || len(again) != 0 {
			t.Fatalf("a skipped entry came back: %+v, %v", again, err)
		}
	})
	t.Run("entries whose retry is not due do not hide due ones behind them", func(t *testing.T) {
		// Retryable failures are retried forever, so the first page of
		// pending entries may hold only entries backing off for minutes.
		const group = "platform"
		o := newOrders(t, newClient)
		must(t, o.s.EnsureOutboxGroup(o.ctx, group))
		o.create("p1")
		o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted})
		for i := range 9 {
			o.apply(store.Transition{OrderID: "p1", Event: "rejected", Targets: rejected, NotificationID: fmt.Sprintf("n%d", i)})
		}
		sh := store.ShardOf("p1")
		read, err := o.s.ReadOutbox(o.ctx, sh, group, "c1", 10)
		if err != nil || len(read) != 10 {
			t.Fatalf("read %d, %v", len(read), err)
		}
		// The first eight failed three times (long backoff), the last two once.
		for i, e := range read {
			n := 1
			if i < 8 {
				n = 3
			}
			for range n {
				_, err := o.s.FailOutbox(o.ctx, e)
				must(t, err)
			}
		}
		due := func(failures int64, _ time.Duration) bool { return failures == 1 }
		var got []store.OutboxEntry
		for deadline := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
			got, err = o.s.ClaimOutbox(o.ctx, sh, group, "c2", time.Millisecond, 2, due)
			must(t, err)
		}
		if len(got) != 2 || got[0].Seq != 9 || got[1].Seq != 10 || got[0].Failures != 1 {
			t.Fatalf("claimed %+v; want seq 9 and 10, past four pages of entries not due", got)
		}
	})

	t.Run("the outbox never trims an entry its group has not acknowledged", func(t *testing.T) {
		// A cap far below the entries written: before this was fixed the
		// stream was capped on XADD, and a platform down long enough lost
		// its oldest changes. 250 entries span more than two of Redis's
		// stream nodes (100 entries each), so approximate trimming can act.
		const group, n, maxLen = "platform", 250, 10
		o := newOrders(t, newClient, store.OrdersOptions{OutboxMaxLen: maxLen})
		o.create("p1")
		o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted})
		for i := range n - 1 {
			// Not expected in state started: one attention entry each.
			o.apply(store.Transition{OrderID: "p1", Event: "rejected", Targets: rejected, NotificationID: fmt.Sprintf("n%d", i)})
		}
		sh := store.ShardOf("p1")
		all := func() []store.OutboxEntry {
			t.Helper()
			l, err := o.s.ListOutbox(o.ctx, sh, 2*n)
			must(t, err)
			return l
		}
		if l := all(); len(l) != n {
			t.Fatalf("with no consumer group the outbox holds %d entries, want all %d", len(l), n)
		}
		// The group reads everything, acknowledges the first 150 and leaves
		// the next 50 pending; the last 50 stay unread.
		must(t, o.s.EnsureOutboxGroup(o.ctx, group))
		read, err := o.s.ReadOutbox(o.ctx, sh, group, "c1", 200)
		if err != nil || len(read) != 200 {
			t.Fatalf("read %d, %v; want 200", len(read), err)
		}
		for _, e := range read[:150] {
			must(t, o.s.AckOutbox(o.ctx, e, group, ""))
		}
		// Past the cap every acknowledged entry goes, and nothing else.
		l := all()
		if len(l) != n-150 || l[0].Seq != 151 || l[len(l)-1].Seq != n {
			t.Fatalf("after 150 acknowledgements the outbox holds %d entries, seq %d to %d; want seq 151 to %d",
				len(l), l[0].Seq, l[len(l)-1].Seq, n)
		}
		for _, e := range read[150:] {
			must(t, o.s.AckOutbox(o.ctx, e, group, ""))
		}
		rest, err := o.s.ReadOutbox(o.ctx, sh, group, "c1", 100)
		if err != nil || len(rest) != n-200 || rest[0].Seq != 201 {
			t.Fatalf("the unread tail = %d entries, %v; want %d from seq 201", len(rest), err, n-200)
		}
		// One entry stays pending (retrying for long): it stays, and the
		// acknowledged ones after it still go down to the cap.
		for _, e := range rest[1:] {
			must(t, o.s.AckOutbox(o.ctx, e, group, ""))
		}
		if l := all(); len(l) > maxLen || l[0].Seq != 201 {
			t.Fatalf("with seq 201 pending the outbox holds %d entries from seq %d; want at most %d from 201", len(l), l[0].Seq, maxLen)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// RunOrdersOutage runs the order store through an outage of the backend
// newOutage starts: every operation fails with an error wrapping
// store.ErrUnavailable (so the caller answers 503 and Trustly resends), and
// the store works again once the backend is back.
func RunOrdersOutage(t *testing.T, newOutage NewOutage) {
	t.Run("Redis down: every operation is unavailable, then it recovers", func(t *testing.T) {
		rdb, sw := newOutage(t)
		keys, err := store.NewKeys(redistest.Prefix(t))
		if err != nil {
			t.Fatal(err)
		}
		o := &orders{t: t, ctx: context.Background(), s: store.NewRedisOrders(rdb, keys, store.OrdersOptions{})}
		must(t, o.s.EnsureOutboxGroup(o.ctx, "platform"))
		o.create("p1")
		entry := store.OutboxEntry{Shard: store.ShardOf("p1"), ID: "1-0", OrderID: "p1", Seq: 1}

		sw.Stop()
		ctx, cancel := context.WithTimeout(o.ctx, 20*time.Second)
		defer cancel()
		s := o.s
		ops := map[string]func() error{
			"Create":              func() error { return s.Create(ctx, store.Order{ID: "p2", Flow: "deposit", State: "new"}) },
			"CreateOpen":          func() error { return s.CreateOpen(ctx, store.Order{ID: "p3", Flow: "deposit", State: "new"}, now) },
			"Get":                 func() error { _, err := s.Get(ctx, "p1"); return err },
			"ByMessageID":         func() error { _, err := s.ByMessageID(ctx, "m-p1"); return err },
			"ByTrustlyOrderID":    func() error { _, err := s.ByTrustlyOrderID(ctx, "T1"); return err },
			"ByExternalReference": func() error { _, err := s.ByExternalReference(ctx, "inv"); return err },
			"IndexMessageID":      func() error { return s.IndexMessageID(ctx, "m", "p1") },
			"IndexTrustlyOrderID": func() error { return s.IndexTrustlyOrderID(ctx, "T1", "p1") },
			"AddMessageID":        func() error { return s.AddMessageID(ctx, "p1", "m2", now) },
			"Apply": func() error {
				_, err := s.Apply(ctx, store.Transition{OrderID: "p1", Event: "credit", Targets: credit, NotificationID: "n1", Answer: "OK", Now: now})
				return err
			},
			"ApplyAlong": func() error {
				ix := s.IndexAlong("T9", "p1")
				_, err := s.ApplyAlong(ctx, store.Transition{OrderID: "p1", Event: "accepted", Targets: map[string]string{"new": "started"}, Now: now}, ix)
				if !errors.Is(ix.Err(), store.ErrUnavailable) {
					return fmt.Errorf("the index entry sent along: %v", ix.Err())
				}
				return err
			},
			"ReserveRefund": func() error {
				_, err := s.ReserveRefund(ctx, store.Order{ID: "p1.r", Parent: "p1", Flow: "refund", State: "new", Currency: "SEK"}, "paid", now)
				return err
			},
			"Log":       func() error { _, err := s.Log(ctx, "p1"); return err },
			"DueOpen":   func() error { _, err := s.DueOpen(ctx, now, 10); return err },
			"OpenCount": func() error { _, err := s.OpenCount(ctx); return err },
			"SaveUnrouted": func() error {
				_, _, err := s.SaveUnrouted(ctx, store.Unrouted{NotificationID: "n9", At: now})
				return err
			},
			"ListUnrouted":      func() error { _, err := s.ListUnrouted(ctx, 10); return err },
			"SaveAccount":       func() error { return s.SaveAccount(ctx, "u1", store.Account{AccountID: "A1"}) },
			"Accounts":          func() error { _, err := s.Accounts(ctx, "u1"); return err },
			"SaveBalances":      func() error { return s.SaveBalances(ctx, map[string]int64{"SEK": 1}, now) },
			"Balances":          func() error { _, _, err := s.Balances(ctx); return err },
			"TakeBalanceSlot":   func() error { _, err := s.TakeBalanceSlot(ctx, time.Minute); return err },
			"EnsureOutboxGroup": func() error { return s.EnsureOutboxGroup(ctx, "platform") },
			"ReadOutbox":        func() error { _, err := s.ReadOutbox(ctx, entry.Shard, "platform", "c1", 10); return err },
			"ClaimOutbox": func() error {
				_, err := s.ClaimOutbox(ctx, entry.Shard, "platform", "c1", time.Millisecond, 10, nil)
				return err
			},
			"AckOutbox":   func() error { return s.AckOutbox(ctx, entry, "platform", "") },
			"FailOutbox":  func() error { _, err := s.FailOutbox(ctx, entry); return err },
			"Delivered":   func() error { _, err := s.Delivered(ctx, "p1"); return err },
			"Landed":      func() error { _, err := s.Landed(ctx, "p1"); return err },
			"SkipOutbox":  func() error { return s.SkipOutbox(ctx, entry, "platform") },
			"ListOutbox":  func() error { _, err := s.ListOutbox(ctx, entry.Shard, 10); return err },
			"ListDead":    func() error { _, err := s.ListDead(ctx, 10); return err },
			"ReplayDead":  func() error { _, err := s.ReplayDead(ctx, entry.Shard, "1-0"); return err },
			"OutboxStats": func() error { _, err := s.OutboxStats(ctx, "platform"); return err },
		}
		// At once: each gives up only after the client's dial retries.
		var wg sync.WaitGroup
		for name, op := range ops {
			wg.Go(func() {
				if err := op(); !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s while Redis is down = %v, want ErrUnavailable", name, err)
				}
			})
		}
		wg.Wait()

		sw.Start()
		// The pool redials and the scripts are sent again; poll because
		// the first dial may still fail.
		deadline := time.Now().Add(recoveryTimeout)
		for {
			// Until the client's every path has redialed: a pipeline (the
			// order's creation) can get a new connection while a lone
			// command still gets the pool's last dial error.
			err := s.Create(o.ctx, store.Order{ID: "back", Flow: "deposit", State: "new", Currency: "SEK", Amount: 100})
			if err == nil || errors.Is(err, store.ErrExists) {
				if _, err = s.Get(o.ctx, "back"); err == nil {
					break
				}
			}
			if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
				t.Fatalf("Create after Redis came back = %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		a := o.apply(store.Transition{OrderID: "back", Event: "credit", Targets: credit, NotificationID: "n-back"})
		if a.Outcome != store.OutcomeApplied || o.get("back").State != "paid" {
			t.Fatalf("after recovery: %+v", a)
		}
	})
}

func ptr[T any](v T) *T { return &v }
