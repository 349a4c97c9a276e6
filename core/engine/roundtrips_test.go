package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// roundTrips counts what a go-redis client sends: one per command, one per
// pipeline (however many commands it carries).
type roundTrips struct {
	n    atomic.Int64
	mu   sync.Mutex
	cmds []string
}

func (r *roundTrips) note(name string) {
	r.n.Add(1)
	r.mu.Lock()
	r.cmds = append(r.cmds, name)
	r.mu.Unlock()
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "hello" {
			return next(ctx, cmd) // a new connection's handshake, not the request's
		}
		r.note(cmd.Name())
		return next(ctx, cmd)
	}
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		if names[0] == "client" {
			return next(ctx, cmds) // a new connection's setup
		}
		r.note("pipeline(" + strings.Join(names, " ") + ")")
		return next(ctx, cmds)
	}
}

// count returns how many round trips f made.
func (r *roundTrips) count(t *testing.T, f func()) int64 {
	t.Helper()
	r.mu.Lock()
	r.cmds = nil
	r.mu.Unlock()
	before := r.n.Load()
	f()
	n := r.n.Load() - before
	r.mu.Lock()
	t.Logf("%d round trips: %s", n, strings.Join(r.cmds, ", "))
	r.mu.Unlock()
	return n
}

var _ redis.Hook = (*roundTrips)(nil)

// countingEngine is an engine on a real redis-server whose client counts
// its round trips, with a deposit "rt" known by its Trustly orderid.
func countingEngine(t *testing.T) (eng *engine.Engine, another func() *engine.Engine, rt *roundTrips) {
	t.Helper()
	keys()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	t.Cleanup(func() { rdb.Close() })
	rt = &roundTrips{}
	rdb.AddHook(rt)
	k, err := store.NewKeys(redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	// another is a second process on the same Redis.
	another = func() *engine.Engine {
		eng, err := engine.New(engine.Config{Store: store.NewRedisOrders(rdb, k, store.OrdersOptions{}),
			Verifier: trustly.NewVerifierKey(trustly.Sim, &simKey.PublicKey), MerchantKey: merchantKey})
		if err != nil {
			t.Fatal(err)
		}
		return eng
	}
	eng = another()
	st := store.NewRedisOrders(rdb, k, store.OrdersOptions{})
	const id = "rt"
	if err := st.CreateOpen(ctx, store.Order{ID: id, Flow: "deposit", State: "new", Currency: "SEK", Amount: 10000, MessageID: "M" + id}, start.Add(time72h)); err != nil {
		t.Fatal(err)
	}
	if err := st.IndexTrustlyOrderID(ctx, "T"+id, id); err != nil {
		t.Fatal(err)
	}
	// Scripts are loaded once per server; the first use of each would
	// count an extra EVAL.
	warm := signed(t, "pending", id, "warm-up").body
	for range 2 { // the second is a duplicate, whose timeline line is a script too
		if _, err := eng.HandleNotification(ctx, warm); err != nil {
			t.Fatal(err)
		}
	}
	return eng, another, rt
}

const time72h = 72 * 60 * 60 * 1e9

// TestRoundTripsPerNotification counts the Redis round trips of the
// notification route, so a change that adds one shows up as a failure,
// not as a slower benchmark nobody reads.
func TestRoundTripsPerNotification(t *testing.T) {
	eng, another, rt := countingEngine(t)
	ctx := context.Background()
	credit := signed(t, "credit", "rt", "n-credit").body
	for _, tc := range []struct {
		name string
		eng  *engine.Engine
		body []byte
		want int64
	}{
		// The index entry, then the order with its dedupe record (one
		// pipeline), then the transition script, which keeps the reply.
		{"a notification of an order this process has not resolved yet", another(), signed(t, "pending", "rt", "n-p1").body, 3},
		// The order is remembered (knownOrders): the transition script
		// alone, conditional on the order still being what it remembers.
		{"a notification of a known order", eng, signed(t, "pending", "rt", "n-p2").body, 1},
		// Paid: the order gets its retention TTL and its index entries
		// (other slots) follow it in one more pipeline.
		{"a credit that ends the checkout", eng, credit, 2},
		// This process answered it: the order and its dedupe record are
		// read first, so no signature is made; the script hands back the
		// kept reply and writes the timeline's line, then the follow-ups
		// that heal a crash.
		{"the same credit again", eng, credit, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rt.count(t, func() {
				if _, err := tc.eng.HandleNotification(ctx, tc.body); err != nil {
					t.Fatal(err)
				}
			})
			if got != tc.want {
				t.Errorf("%d round trips, want %d", got, tc.want)
			}
		})
	}
}

// TestARepeatedNotificationGetsTheSameBytesWithoutSigning: Trustly's rule is
// same notification, same answer; the reply kept with the dedupe record is
// sent again as it was, and signing (most of a notification's CPU) is not
// done again. A repeat that carries another uuid gets its own signed reply.
func TestARepeatedNotificationGetsTheSameBytesWithoutSigning(t *testing.T) {
	eng, _, _ := countingEngine(t)
	ctx := context.Background()
	first := signed(t, "credit", "rt", "n-repeat")
	reply, err := eng.HandleNotification(ctx, first.body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		before := trustly.Signatures()
		again, err := eng.HandleNotification(ctx, first.body)
		if err != nil {
			t.Fatal(err)
		}
		if n := trustly.Signatures() - before; n != 0 {
			t.Errorf("repeat %d made %d signatures, want 0", i+1, n)
		}
		if !bytes.Equal(again, reply) {
			t.Fatalf("repeat %d answered\n%s\nwant the first reply\n%s", i+1, again, reply)
		}
	}
	if st, err := trustly.ParseReply(reply, &merchantKey.PublicKey, "credit", first.uuid); err != nil || st != trustly.ReplyOK {
		t.Fatalf("kept reply = %s, %v", st, err)
	}

	// The same notificationid under a new uuid: the kept bytes would echo
	// the wrong uuid, so this one is signed afresh, with the first answer.
	other := signed(t, "credit", "rt", "n-repeat")
	before := trustly.Signatures()
	got, err := eng.HandleNotification(ctx, other.body)
	if err != nil {
		t.Fatal(err)
	}
	if n := trustly.Signatures() - before; n != 1 {
		t.Errorf("repeat with another uuid made %d signatures, want 1", n)
	}
	if st, err := trustly.ParseReply(got, &merchantKey.PublicKey, "credit", other.uuid); err != nil || st != trustly.ReplyOK {
		t.Fatalf("reply to the other uuid = %s, %v", st, err)
	}
	// A first delivery still signs once.
	fresh := signed(t, "credit", "rt", "n-new")
	before = trustly.Signatures()
	if _, err := eng.HandleNotification(ctx, fresh.body); err != nil {
		t.Fatal(err)
	}
	if n := trustly.Signatures() - before; n != 1 {
		t.Errorf("a new notification made %d signatures, want 1", n)
	}
}

// TestRoundTripsPerPayment counts a payment under its idempotency key
// (IdempotentOrder): the claim, the Deposit (against the simulator) and
// the stored answer. First with the order created by the step after the
// claim (CreatePayment as run: a platform webhook's command; on a Cluster,
// every payment), then as the shop API runs it (payClaimed).
func TestRoundTripsPerPayment(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	t.Cleanup(func() { rdb.Close() })
	rt := &roundTrips{}
	rdb.AddHook(rt)
	w := newWorld(t, backends[0], func(o *opts) { o.rdb = rdb })
	idem := store.NewRedisIdempotency(rdb, w.keys, store.IdempotencyOptions{})
	pay := func(key string, r engine.PaymentRequest) store.Outcome {
		t.Helper()
		res, err := engine.IdempotentOrder(w.ctx, idem, "payments", key, "fp-"+key, orderAnswer, func(ctx context.Context) (store.Outcome, error) {
			o, err := w.eng.CreatePayment(ctx, r)
			return orderAnswer(o), err
		})
		if err != nil || !res.Ran {
			t.Fatalf("payment %s: %+v, %v", key, res, err)
		}
		return res.Outcome
	}
	pay("warm-up", payment(10000)) // loads the scripts
	for _, tc := range []struct {
		name string
		r    func() engine.PaymentRequest
		want int64
	}{
		// Claim (with its recovery point), the shopper's accounts, the
		// order with its MessageID entry (and invoice entry) in one round
		// trip, then one more: the accepted transition (with the call's
		// line in the timeline, handing back the order as answered), the
		// Trustly orderid entry and the stored answer (store.Along).
		{"a payment", func() engine.PaymentRequest { return payment(10000) }, 4},
		{"a payment with an invoice reference", func() engine.PaymentRequest {
			r := payment(10000)
			r.ExternalReference = "inv-1"
			return r
		}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rt.count(t, func() { pay(tc.name, tc.r()) })
			if got != tc.want {
				t.Errorf("%d round trips, want %d", got, tc.want)
			}
		})
	}

	// As the shop API runs it (WithOrderClaim, PreparePayment before the
	// claim): on one master the claim creates the order, with its entries
	// and the shopper's Express account, in its own script; then the one
	// after the call.
	if _, _, err := payClaimed(w, idem, "warm-up, claimed", payment(10000)); err != nil { // loads its script
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    engine.PaymentRequest
	}{
		{"a payment whose claim creates its order", payment(10000)},
		{"the same with an invoice reference", invoice("inv-2", 10000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rt.count(t, func() {
				if res, o, err := payClaimed(w, idem, tc.name, tc.r); err != nil || !res.Ran || o.State != engine.StateStarted {
					t.Fatalf("payment: %+v %+v %v", res, o, err)
				}
			})
			if got != 2 {
				t.Errorf("%d round trips, want 2", got)
			}
		})
	}

	// The answer was given before the transition came back (earlyAnswer),
	// and the transition sent no order back: the answer is still the
	// order as stored, and the engine remembers it (knownOrders), so its
	// first notification is one round trip.
	t.Run("the payment's first notification", func(t *testing.T) {
		var answered engine.Order
		if err := json.Unmarshal(pay("then notified", payment(10000)).Body, &answered); err != nil {
			t.Fatal(err)
		}
		stored, err := w.eng.GetPayment(w.ctx, answered.ID)
		if err != nil {
			t.Fatal(err)
		}
		if answered.TrustlyOrderID == "" || answered.URL == "" || answered.State != stored.State ||
			answered.TrustlyOrderID != stored.TrustlyOrderID || answered.URL != stored.URL || answered.MessageID != stored.MessageID {
			t.Fatalf("answered %+v\nstored %+v", answered, stored)
		}
		n := signedTo(t, "pending", answered.TrustlyOrderID, "n-first", answered.MessageID, payment(10000).EndUserID)
		got := rt.count(t, func() {
			if _, err := w.eng.HandleNotification(w.ctx, n.body); err != nil {
				t.Fatal(err)
			}
		})
		if got != 1 {
			t.Errorf("%d round trips, want 1", got)
		}
		if o, err := w.eng.GetPayment(w.ctx, answered.ID); err != nil || o.State != "pending" {
			t.Errorf("after the pending: %+v, %v", o, err)
		}
	})
}
