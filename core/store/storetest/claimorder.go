package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// runClaimCreate is ClaimCreate's contract: where the store has one master
// the claim creates its request's order in the same script, and only a
// fresh claim does; on a Cluster it refuses, claiming and creating nothing.
func runClaimCreate(t *testing.T, newClient NewClient) {
	const scope, fp = "shop-1", "fp-a"
	type world struct {
		*fixture
		orders *store.RedisOrders
	}
	setup := func(t *testing.T) world {
		f := newFixture(t, newClient(t), store.IdempotencyOptions{LockTTL: time.Minute})
		return world{f, store.NewRedisOrders(f.rdb, f.keys, store.OrdersOptions{})}
	}
	deadline := now.Add(time.Hour)
	order := func(id string, mut ...func(*store.NewOrder)) store.NewOrder {
		n := store.NewOrder{Order: store.Order{ID: id, Flow: "deposit", State: "new", Currency: "SEK", Amount: 10000,
			MessageID: "m-" + id, EndUserID: "u-1", ExternalReference: "inv-" + id, Created: now}, OpenUntil: deadline}
		for _, m := range mut {
			m(&n)
		}
		return n
	}
	absent := func(t *testing.T, w world, n store.NewOrder) {
		t.Helper()
		if _, err := w.orders.Get(w.ctx, n.Order.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("order %s: %v, want none", n.Order.ID, err)
		}
		if _, err := w.orders.ByMessageID(w.ctx, n.Order.MessageID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("MessageID %s: %v, want no entry", n.Order.MessageID, err)
		}
		if refs, err := w.orders.ByExternalReference(w.ctx, n.Order.ExternalReference); err != nil || len(refs) != 0 {
			t.Errorf("reference %s: %+v, %v, want no entry", n.Order.ExternalReference, refs, err)
		}
		if _, err := w.rdb.ZScore(w.ctx, w.keys.Order(n.Order.ID).Open, n.Order.ID).Result(); !errors.Is(err, redis.Nil) {
			t.Errorf("open set holds %s (%v), want not", n.Order.ID, err)
		}
	}

	if rdb := newClient(t); !newFixture(t, rdb, store.IdempotencyOptions{}).store.ClaimCreates() {
		t.Run("a Cluster refuses: nothing claimed, nothing created", func(t *testing.T) {
			w := setup(t)
			n := order("c1")
			if _, _, _, err := w.store.ClaimCreate(w.ctx, scope, "k-c1", fp, "started", n); err == nil {
				t.Fatal("ClaimCreate on a Cluster succeeded")
			}
			absent(t, w, n)
			if c := w.claim(scope, "k-c1", fp); c.RecoveryPoint != "" {
				t.Errorf("the key after a refusal: %+v, want a fresh claim", c)
			}
		})
		return
	}

	t.Run("a fresh claim creates the order with its entries, deadline and Express account", func(t *testing.T) {
		w := setup(t)
		if err := w.rdb.HSet(w.ctx, w.keys.Accounts("u-1"), "_express", "acct-9").Err(); err != nil {
			t.Fatal(err)
		}
		// The reference's set is shared with an older order that is
		// expiring: the new order's entry must not expire with it.
		ref := w.keys.ReferenceIndex("inv-o1")
		if err := w.rdb.SAdd(w.ctx, ref, "o0").Err(); err != nil {
			t.Fatal(err)
		}
		if err := w.rdb.Expire(w.ctx, ref, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		n := order("o1", func(n *store.NewOrder) { n.Express = true })
		c, out, express, err := w.store.ClaimCreate(w.ctx, scope, "k-o1", fp, "started", n)
		if err != nil || out != nil || c.RecoveryPoint != "" || c.Token == 0 || express != "acct-9" {
			t.Fatalf("ClaimCreate = %+v, %+v, %q, %v; want a fresh claim with express acct-9", c, out, express, err)
		}
		o, err := w.orders.Get(w.ctx, "o1")
		if err != nil || o.State != "new" || o.AccountID != "acct-9" || o.MessageID != "m-o1" || o.Amount != 10000 || o.EndUserID != "u-1" {
			t.Fatalf("order = %+v, %v", o, err)
		}
		if o, err := w.orders.ByMessageID(w.ctx, "m-o1"); err != nil || o.ID != "o1" {
			t.Errorf("ByMessageID = %+v, %v", o, err)
		}
		if ids, err := w.rdb.SMembers(w.ctx, ref).Result(); err != nil || len(ids) != 2 {
			t.Errorf("reference entries = %v, %v; want o0 and o1", ids, err)
		}
		if score, err := w.rdb.ZScore(w.ctx, w.keys.Order("o1").Open, "o1").Result(); err != nil || int64(score) != deadline.UnixMilli() {
			t.Errorf("open set score = %v, %v; want the deadline %d", score, err, deadline.UnixMilli())
		}
		// A new order awaits its call: neither it nor its entries expire.
		for _, k := range []string{w.keys.Order("o1").Order, w.keys.MessageIDIndex("m-o1"), ref} {
			if d := w.pttl(k); d != -1 {
				t.Errorf("TTL of %s = %v, want none", k, d)
			}
		}
		// The point went in with the claim: a takeover inherits it.
		if taken := w.takeOver(scope, "k-o1", fp, time.Minute); taken.RecoveryPoint != "started" {
			t.Errorf("takeover = %+v, want the point recorded by ClaimCreate", taken)
		}
	})

	t.Run("without Express, or with none stored, the order has no account", func(t *testing.T) {
		w := setup(t)
		if err := w.rdb.HSet(w.ctx, w.keys.Accounts("u-1"), "_express", "acct-9").Err(); err != nil {
			t.Fatal(err)
		}
		for _, n := range []store.NewOrder{
			order("o2"),
			order("o3", func(n *store.NewOrder) { n.Express = true; n.Order.EndUserID = "u-new" }),
		} {
			_, _, express, err := w.store.ClaimCreate(w.ctx, scope, "k-"+n.Order.ID, fp, "started", n)
			if err != nil || express != "" {
				t.Fatalf("ClaimCreate(%s) express %q, %v; want none", n.Order.ID, express, err)
			}
			if o := getOrder(t, w.orders, n.Order.ID); o.AccountID != "" {
				t.Errorf("order %s has account %q, want none", o.ID, o.AccountID)
			}
		}
	})

	t.Run("a replay, a key in flight, a reused key and a takeover create nothing", func(t *testing.T) {
		w := setup(t)
		done := order("d1")
		c, _, _, err := w.store.ClaimCreate(w.ctx, scope, "k-done", fp, "started", done)
		if err != nil {
			t.Fatal(err)
		}
		w.complete(c, "201", `{"id":"d1"}`)
		replay := order("d2")
		if _, out, _, err := w.store.ClaimCreate(w.ctx, scope, "k-done", fp, "started", replay); err != nil || out == nil || string(out.Body) != `{"id":"d1"}` {
			t.Fatalf("replay = %+v, %v; want the stored outcome", out, err)
		}
		absent(t, w, replay)

		if _, _, _, err := w.store.ClaimCreate(w.ctx, scope, "k-flight", fp, "started", order("f1")); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			fp   string
			want error
			n    store.NewOrder
		}{
			{fp, store.ErrInProgress, order("f2")},
			{"fp-other", store.ErrKeyReused, order("f3")},
		} {
			if _, _, _, err := w.store.ClaimCreate(w.ctx, scope, "k-flight", tc.fp, "started", tc.n); !errors.Is(err, tc.want) {
				t.Fatalf("ClaimCreate(%s) = %v, want %v", tc.n.Order.ID, err, tc.want)
			}
			absent(t, w, tc.n)
		}

		// The holder of k-flight died: its lock lapses.
		if err := w.rdb.Del(w.ctx, w.keys.Idempotency(scope, "k-flight").Lock).Err(); err != nil {
			t.Fatal(err)
		}
		taker := order("f4")
		c, out, _, err := w.store.ClaimCreate(w.ctx, scope, "k-flight", fp, "started", taker)
		if err != nil || out != nil || c.RecoveryPoint != "started" {
			t.Fatalf("takeover = %+v, %+v, %v; want the dead holder's point", c, out, err)
		}
		absent(t, w, taker)
	})

	t.Run("an order id that is taken claims nothing", func(t *testing.T) {
		w := setup(t)
		n := order("x1")
		if err := w.orders.Create(w.ctx, store.Order{ID: "x1", Flow: "deposit", State: "paid", MessageID: "m-old"}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := w.store.ClaimCreate(w.ctx, scope, "k-x1", fp, "started", n); !errors.Is(err, store.ErrExists) {
			t.Fatalf("ClaimCreate over an existing order = %v, want ErrExists", err)
		}
		if o := getOrder(t, w.orders, "x1"); o.State != "paid" || o.MessageID != "m-old" {
			t.Errorf("the existing order changed: %+v", o)
		}
		if c := w.claim(scope, "k-x1", fp); c.RecoveryPoint != "" {
			t.Errorf("the key afterwards: %+v, want a fresh claim", c)
		}
	})

	t.Run("what an order needs is checked before anything is written", func(t *testing.T) {
		w := setup(t)
		for name, n := range map[string]store.NewOrder{
			"no MessageID":                 order("v1", func(n *store.NewOrder) { n.Order.MessageID = "" }),
			"no state":                     order("v2", func(n *store.NewOrder) { n.Order.State = "" }),
			"Express without a shopper id": order("v3", func(n *store.NewOrder) { n.Express = true; n.Order.EndUserID = "" }),
		} {
			if _, _, _, err := w.store.ClaimCreate(w.ctx, scope, "k-"+n.Order.ID, fp, "started", n); err == nil {
				t.Errorf("%s: ClaimCreate succeeded", name)
			}
			if _, err := w.orders.Get(w.ctx, n.Order.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: order written (%v)", name, err)
			}
			if c := w.claim(scope, "k-"+n.Order.ID, fp); c.RecoveryPoint != "" {
				t.Errorf("%s: key afterwards %+v, want a fresh claim", name, c)
			}
		}
	})
}

func getOrder(t *testing.T, s *store.RedisOrders, id string) store.Order {
	t.Helper()
	o, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
