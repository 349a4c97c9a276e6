package engine_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// rememberingWorld is two engines (two processes) on one real redis-server
// with a deposit "rt" (Trustly orderid Trt, MessageID Mrt) that the first
// has seen a notification of, so it remembers the order.
type rememberingWorld struct {
	first, second *engine.Engine
	st            *store.RedisOrders
	rdb           *redis.Client
	k             store.Keys
	rt            *roundTrips
}

func newRememberingWorld(t *testing.T) rememberingWorld {
	t.Helper()
	keys()
	ctx := context.Background()
	w := rememberingWorld{rdb: redis.NewClient(&redis.Options{Addr: redistest.Addr(t)}), rt: &roundTrips{}}
	t.Cleanup(func() { w.rdb.Close() })
	w.rdb.AddHook(w.rt)
	var err error
	if w.k, err = store.NewKeys(redistest.Prefix(t)); err != nil {
		t.Fatal(err)
	}
	w.st = store.NewRedisOrders(w.rdb, w.k, store.OrdersOptions{})
	for _, e := range []**engine.Engine{&w.first, &w.second} {
		if *e, err = engine.New(engine.Config{Store: store.NewRedisOrders(w.rdb, w.k, store.OrdersOptions{}),
			Verifier: trustly.NewVerifierKey(trustly.Sim, &simKey.PublicKey), MerchantKey: merchantKey}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.st.CreateOpen(ctx, store.Order{ID: "rt", Flow: "deposit", State: "new", Currency: "SEK", Amount: 10000, MessageID: "Mrt"}, start.Add(time72h)); err != nil {
		t.Fatal(err)
	}
	if err := w.st.IndexTrustlyOrderID(ctx, "Trt", "rt"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.first.HandleNotification(ctx, signed(t, "pending", "rt", "n-first").body); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w rememberingWorld) state(t *testing.T) string {
	t.Helper()
	o, err := w.st.Get(context.Background(), "rt")
	if err != nil {
		t.Fatal(err)
	}
	return o.State
}

// TestARememberedOrderIsCheckedNotTrusted: the engine applies a
// notification of an order it remembers without reading it, but only while
// the order still carries the MessageID and orderid it remembers. A fresh
// attempt made by another process (the first attempt's answer was lost)
// makes the old attempt's cancel one to ignore; applied on the memory alone
// it would cancel the payment the shopper is making.
func TestARememberedOrderIsCheckedNotTrusted(t *testing.T) {
	w := newRememberingWorld(t)
	ctx := context.Background()
	if err := w.st.AddMessageID(ctx, "rt", "Mrt-2", start); err != nil {
		t.Fatal(err)
	}
	cancel := signed(t, "cancel", "rt", "n-old-cancel") // carries MessageID Mrt: the old attempt
	n := w.rt.count(t, func() {
		reply, err := w.first.HandleNotification(ctx, cancel.body)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := trustly.ParseReply(reply, &merchantKey.PublicKey, "cancel", cancel.uuid); err != nil || st != trustly.ReplyOK {
			t.Fatalf("reply = %s, %v", st, err)
		}
	})
	if got := w.state(t); got != "pending" {
		t.Fatalf("state after the old attempt's cancel = %s, want pending (ignored)", got)
	}
	if n != 3 {
		t.Errorf("%d round trips, want 3: the conditional script, then the read and the script", n)
	}
	// The memory was renewed from the read: the new attempt's next
	// notification is one script.
	if n := w.rt.count(t, func() {
		if _, err := w.first.HandleNotification(ctx, signedFor(t, "pending", "rt", "n-after", "Mrt-2").body); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Errorf("next notification: %d round trips, want 1", n)
	}
}

// TestARememberedOrderThatIsGoneIsUnrouted: an order that expired (or was
// deleted) while remembered is not recreated by the script; the
// notification is kept for a person like any other without an order.
func TestARememberedOrderThatIsGoneIsUnrouted(t *testing.T) {
	w := newRememberingWorld(t)
	ctx := context.Background()
	k := w.k.Order("rt")
	if err := w.rdb.Del(ctx, k.Order, k.Dedupe, k.Log, w.k.TrustlyOrderIndex("Trt"), w.k.MessageIDIndex("Mrt")).Err(); err != nil {
		t.Fatal(err)
	}
	credit := signed(t, "credit", "rt", "n-late-credit")
	reply, err := w.first.HandleNotification(ctx, credit.body)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := trustly.ParseReply(reply, &merchantKey.PublicKey, "credit", credit.uuid); err != nil || st != trustly.ReplyOK {
		t.Fatalf("reply = %s, %v", st, err)
	}
	if n, err := w.rdb.Exists(ctx, k.Order).Result(); err != nil || n != 0 {
		t.Fatalf("the order came back: exists %d, %v", n, err)
	}
	u, err := w.first.Unrouted(ctx, 10)
	if err != nil || len(u) != 1 || u[0].NotificationID != "n-late-credit" {
		t.Fatalf("unrouted = %+v, %v; want the late credit", u, err)
	}
}

// TestAResendToAnotherProcessThatRemembersTheOrder: the reply signed before
// the script learns the notification is a repeat is not sent; the first
// delivery's bytes are. This is the one repeat that costs a signature: it
// reaches a process that remembers the order but did not answer it.
func TestAResendToAnotherProcessThatRemembersTheOrder(t *testing.T) {
	w := newRememberingWorld(t)
	ctx := context.Background()
	// The second process remembers the order too.
	if _, err := w.second.HandleNotification(ctx, signed(t, "pending", "rt", "n-second").body); err != nil {
		t.Fatal(err)
	}
	credit := signed(t, "credit", "rt", "n-credit")
	first, err := w.first.HandleNotification(ctx, credit.body)
	if err != nil {
		t.Fatal(err)
	}
	before := trustly.Signatures()
	again, err := w.second.HandleNotification(ctx, credit.body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, first) {
		t.Fatalf("resend answered\n%s\nwant the first reply\n%s", again, first)
	}
	if n := trustly.Signatures() - before; n != 1 {
		t.Errorf("resend made %d signatures, want 1 (signed before the script said it was a repeat)", n)
	}
	// Now the second process knows it answered it: no signature.
	before = trustly.Signatures()
	if _, err := w.second.HandleNotification(ctx, credit.body); err != nil {
		t.Fatal(err)
	}
	if n := trustly.Signatures() - before; n != 0 {
		t.Errorf("second resend made %d signatures, want 0", n)
	}
	if got := w.state(t); got != "paid" {
		t.Fatalf("state = %s, want paid", got)
	}
}

// TestAnUnroutedRepeatGetsTheSameBytesWithoutSigning: a notification no
// order takes is kept for a person and answered; Trustly's resend gets the
// first reply's bytes, with no new signature.
func TestAnUnroutedRepeatGetsTheSameBytesWithoutSigning(t *testing.T) {
	w := newRememberingWorld(t)
	ctx := context.Background()
	stray := signed(t, "credit", "never-created", "n-stray")
	first, err := w.first.HandleNotification(ctx, stray.body)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*engine.Engine{w.first, w.second} {
		before := trustly.Signatures()
		again, err := e.HandleNotification(ctx, stray.body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, first) {
			t.Fatalf("repeat answered\n%s\nwant\n%s", again, first)
		}
		if n := trustly.Signatures() - before; n != 0 {
			t.Errorf("repeat made %d signatures, want 0", n)
		}
	}
	// Under another uuid the kept bytes would echo the wrong one.
	other := signed(t, "credit", "never-created", "n-stray")
	reply, err := w.second.HandleNotification(ctx, other.body)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := trustly.ParseReply(reply, &merchantKey.PublicKey, "credit", other.uuid); err != nil || st != trustly.ReplyOK {
		t.Fatalf("reply to the other uuid = %s, %v", st, err)
	}
}
