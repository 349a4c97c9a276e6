package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Order errors.
var (
	// ErrNotFound: no order (or record) with that id or index entry.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: an order with that id exists already.
	ErrExists = errors.New("store: already exists")
	// ErrChanged: the order no longer carries what the caller decided on
	// (Transition.IfTrustlyOrderID, IfMessageID); nothing was written.
	ErrChanged = errors.New("store: order changed since it was read")
	// ErrNotRefundable: the paid order is not in the state that allows a
	// refund, or the refund is in another currency.
	ErrNotRefundable = errors.New("store: order cannot be refunded")
	// ErrExceedsRefundable: the refund is more than credited minus what
	// earlier refunds took or hold.
	ErrExceedsRefundable = errors.New("store: refund exceeds the refundable amount")
)

// ExceedsError carries what is still refundable; it wraps ErrExceedsRefundable.
type ExceedsError struct{ Refundable int64 }

func (e *ExceedsError) Error() string {
	return fmt.Sprintf("%v: %d minor units left", ErrExceedsRefundable, e.Refundable)
}
func (e *ExceedsError) Unwrap() error { return ErrExceedsRefundable }

// Order is one order as stored: a Deposit, a mandate (SelectAccount), a
// Charge or a Refund. Flow and State are the engine's names; the store only
// keeps them.
type Order struct {
	ID    string
	Flow  string
	State string
	// Seq counts the order's outbox entries; Delivered is the seq the
	// platform has seen last.
	Seq, Delivered int64

	Currency string
	// Amount asked for, in minor units; 0 with MinAmount/MaxAmount when the
	// shopper chooses (a Deposit with suggested amounts).
	Amount, MinAmount, MaxAmount int64
	// Credited is what a credit brought in; Refunded is what refunds hold:
	// accepted, in flight or of unknown outcome (all but rejected/failed).
	Credited, Refunded int64

	EndUserID         string
	ExternalReference string
	// MessageID is the current attempt's; MessageIDs every attempt's, oldest
	// first. Each stays mapped to this order.
	MessageID  string
	MessageIDs []string
	// TrustlyOrderID is Trustly's orderid of the accepted attempt.
	TrustlyOrderID string
	URL            string
	AccountID      string
	PaymentDate    string
	// Parent is the paid order a refund pays back; Refunds the refunds of a
	// paid order.
	Parent  string
	Refunds []string
	// Attention is the last anomaly (an unexpected event, an amount or
	// currency mismatch) a person should look at; Reason why Trustly
	// rejected the call, when it did.
	Attention string
	Reason    string
	// KYC is the engine's record of a Deposit's identity check (what was
	// asked, what was decided); the store only keeps it.
	KYC string

	Created, Updated time.Time
}

func (o Order) fields() map[string]string {
	f := map[string]string{
		"id": o.ID, "flow": o.Flow, "state": o.State,
		"seq": itoa(o.Seq), "delivered": itoa(o.Delivered),
		"currency": o.Currency, "amount": itoa(o.Amount), "min": itoa(o.MinAmount), "max": itoa(o.MaxAmount),
		"credited": itoa(o.Credited), "refunded": itoa(o.Refunded),
		"enduserid": o.EndUserID, "extref": o.ExternalReference,
		"mid": o.MessageID, "mids": strings.Join(o.MessageIDs, ","),
		"tid": o.TrustlyOrderID, "url": o.URL, "accountid": o.AccountID, "paymentdate": o.PaymentDate,
		"parent": o.Parent, "refunds": strings.Join(o.Refunds, ","),
		"attention": o.Attention, "reason": o.Reason,
		"created": ms(o.Created), "updated": ms(o.Updated),
	}
	if o.KYC != "" {
		f["kyc"] = o.KYC
	}
	if o.MessageID != "" && len(o.MessageIDs) == 0 {
		f["mids"] = o.MessageID
	}
	return f
}

func orderFrom(f map[string]string) Order {
	return Order{
		ID: f["id"], Flow: f["flow"], State: f["state"],
		Seq: atoi(f["seq"]), Delivered: atoi(f["delivered"]),
		Currency: f["currency"], Amount: atoi(f["amount"]), MinAmount: atoi(f["min"]), MaxAmount: atoi(f["max"]),
		Credited: atoi(f["credited"]), Refunded: atoi(f["refunded"]),
		EndUserID: f["enduserid"], ExternalReference: f["extref"],
		MessageID: f["mid"], MessageIDs: split(f["mids"]),
		TrustlyOrderID: f["tid"], URL: f["url"], AccountID: f["accountid"], PaymentDate: f["paymentdate"],
		Parent: f["parent"], Refunds: split(f["refunds"]),
		Attention: f["attention"], Reason: f["reason"], KYC: f["kyc"],
		Created: fromMS(f["created"]), Updated: fromMS(f["updated"]),
	}
}

// After is o as an applied transition to state, with set, at now leaves
// it, in the form Get returns (times to the millisecond): what a caller
// may answer with before the transition's own reply is back.
func (o Order) After(state string, set OrderPatch, now time.Time) Order {
	f := o.fields()
	maps.Copy(f, set.fields())
	f["state"], f["updated"] = state, ms(now)
	return orderFrom(f)
}

// Transition is one event for one order, with the machine's answer for it
// as data: Targets maps every state in which the event is expected to the
// state it leads to (engine.Machine.Targets).
type Transition struct {
	OrderID string
	// ParentID is a refund's paid order, whose reservation a rejected or
	// failed refund gives back; empty otherwise.
	ParentID string
	Event    string
	Targets  map[string]string
	// NotificationID dedupes a notification; empty for our own events.
	// Answer is what a repeat of the notification gets.
	NotificationID string
	Answer         string
	// Reply, when set, is the signed reply carrying Answer, kept with the
	// dedupe record in the same script (Applied.Reply on a repeat).
	Reply []byte
	// Anomaly, when set, records the event as an anomaly whatever the
	// machine says (an amount mismatch): the state stays, a person is told.
	Anomaly string
	// Set is written when the machine expects the event (also without a
	// state change); SetOnChange only when the state changes.
	Set, SetOnChange OrderPatch
	// ReleaseOn are the states in which a refund no longer holds its amount.
	ReleaseOn []string
	// OpenStates are the states awaiting an outcome; OpenUntil (when not
	// zero) is the order's deadline there, for the reconciler.
	OpenStates []string
	OpenUntil  time.Time
	// KeepStates are the other states in which the order must not expire:
	// it still awaits something that matters (a pending payment's credit,
	// an active mandate's Charges). In any other state the order, its
	// dedupe hash, log and indexes expire the retention after this write.
	KeepStates []string
	Now        time.Time
	// IfTrustlyOrderID and IfMessageID, when set, are what the caller
	// decided on without reading the order (what it remembers of it): the
	// transition runs only while the order still carries them, else
	// nothing is written and Apply fails with ErrChanged. A repeat is
	// answered as a duplicate before that check: its first answer stands.
	IfTrustlyOrderID, IfMessageID string
	// Lines go to the order's log before the transition's own line (the
	// call whose answer the transition records), in the same script.
	Lines []LogEntry
	// WithOrder asks for the order as it stands afterwards (Applied.Order),
	// read in the same script.
	WithOrder bool
}

// OrderPatch is what an event writes on its order besides the state. A
// field left empty (nil for Credited) keeps the order's value.
type OrderPatch struct {
	TrustlyOrderID string // Trustly's orderid, from the call's answer or a notification
	URL            string // the checkout URL of an accepted call
	Reason         string // why Trustly refused the call
	AccountID      string // the account an account notification named
	Credited       *int64 // minor units a credit brought in
	// Mandate is what an account notification said of a direct debit
	// mandate a Deposit asked for: MandateActive keeps the order from
	// expiring (Charges use the mandate for years, and its revocation
	// comes to this order), MandateInactive lets it expire again.
	Mandate string
	// KYC replaces the order's KYC record (a kyc notification's decision).
	KYC string
}

// fields are the patch's order hash fields, in the names of LAYOUT.md.
func (p OrderPatch) fields() map[string]string {
	f := map[string]string{}
	for k, v := range map[string]string{"tid": p.TrustlyOrderID, "url": p.URL, "reason": p.Reason, "accountid": p.AccountID, "mandate": p.Mandate, "kyc": p.KYC} {
		if v != "" {
			f[k] = v
		}
	}
	if p.Credited != nil {
		f["credited"] = itoa(*p.Credited)
	}
	return f
}

// Outcomes of Apply.
const (
	OutcomeApplied   = "applied"   // the state changed; one outbox entry
	OutcomeUnchanged = "unchanged" // expected, nothing to change (a repeat, an overtaken event)
	OutcomeAnomaly   = "anomaly"   // not expected: recorded, one outbox entry of kind attention
	OutcomeDuplicate = "duplicate" // this notificationid was applied before; Answer is the first answer
)

// Applied is what Apply did.
type Applied struct {
	Outcome  string
	From, To string
	Seq      int64
	Answer   string
	// Reply is, on a duplicate, the signed reply kept for the first
	// delivery (SaveReply); nil when none was kept.
	Reply []byte
	// TTL is the order's time to live after the transition, 0 when it is
	// kept (no expiry): what its index entries take (IndexTrustlyOrderIDTTL).
	TTL time.Duration
	// Order is the order after the transition when Transition.WithOrder
	// asked for it.
	Order *Order
}

// OrdersOptions tune RedisOrders; zero values take the defaults.
type OrdersOptions struct {
	// OutboxMaxLen is the length past which an outbox stream sheds the
	// entries its consumer group has acknowledged (oldest first, in whole
	// stream nodes). An entry not yet acknowledged is never trimmed, so a
	// stream outgrows this by what is undelivered: with no adapter, or the
	// platform down, nothing goes. Default 100000.
	OutboxMaxLen int64
	// Retention is how long an order that no longer awaits anything (with
	// its dedupe records, log and indexes), a shopper's accounts without an
	// active mandate and an unrouted notification are kept after their last
	// write. Default DefaultRetention; negative keeps everything forever.
	// Below MinRetention the dedupe promise of DESIGN.md would break.
	Retention time.Duration
}

// Retention bounds (LAYOUT.md, "Retention").
const (
	// DefaultRetention is 400 days: a year of refunds and disputes after
	// the last change, plus a month for the bookkeeping of a closed year.
	DefaultRetention = 400 * 24 * time.Hour
	// MinRetention is what DESIGN.md promises notification dedupe records.
	MinRetention = 90 * 24 * time.Hour
)

// RedisOrders keeps orders, their indexes, notification dedupe records,
// accounts, balances and the outbox on Redis. See LAYOUT.md.
type RedisOrders struct {
	rdb    redis.UniversalClient
	repl   *replicator
	keys   Keys
	maxLen int64
	// retention in ms as the scripts take it; "0" keeps everything.
	retention string
	// tids remembers Trustly orderid → order id (ForNotification).
	tids idCache
}

// idCache is a bounded map of index entries this process has read. An
// entry is only a hint (ForNotification checks it against the order), so
// forgetting everything when full is as correct as any eviction, and
// cheaper.
type idCache struct {
	mu sync.Mutex
	m  map[string]string
}

// idCacheSize bounds the cache to about 2 MB: more orders than one process
// starts within their checkouts' lifetime at any rate a shop sees.
const idCacheSize = 1 << 14

func (c *idCache) get(k string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *idCache) put(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= idCacheSize {
		c.m = make(map[string]string)
	}
	c.m[k] = v
}

func (c *idCache) forget(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// NewRedisOrders returns the order store on rdb under keys.
func NewRedisOrders(rdb redis.UniversalClient, keys Keys, opts OrdersOptions) *RedisOrders {
	if opts.OutboxMaxLen <= 0 {
		opts.OutboxMaxLen = 100000
	}
	retention := itoa(DefaultRetention.Milliseconds())
	switch {
	case opts.Retention < 0:
		retention = "0"
	case opts.Retention > 0:
		retention = itoa(max(opts.Retention.Milliseconds(), 1))
	}
	return &RedisOrders{rdb: rdb, repl: newReplicator(rdb, keys, Replication{}), keys: keys, maxLen: opts.OutboxMaxLen, retention: retention}
}

// Retention returns how long a settled order is kept after its last write,
// or 0 when nothing expires.
func (s *RedisOrders) Retention() time.Duration {
	return time.Duration(atoi(s.retention)) * time.Millisecond
}

// Keys returns the key space of the store.
func (s *RedisOrders) Keys() Keys { return s.keys }

var (
	//go:embed lua/order_create.lua
	orderCreateLua string
	//go:embed lua/order_transition.lua
	orderTransitionLua string
	//go:embed lua/order_messageid.lua
	orderMessageIDLua string
	//go:embed lua/refund_reserve.lua
	refundReserveLua string
	//go:embed lua/unrouted_save.lua
	unroutedSaveLua string
	//go:embed lua/order_log.lua
	orderLogLua string
	//go:embed lua/notification_reply.lua
	notificationReplyLua string

	orderCreateScript       = redis.NewScript(orderCreateLua)
	orderTransitionScript   = redis.NewScript(orderTransitionLua)
	orderMessageIDScript    = redis.NewScript(orderMessageIDLua)
	refundReserveScript     = redis.NewScript(refundReserveLua)
	unroutedSaveScript      = redis.NewScript(unroutedSaveLua)
	orderLogScript          = redis.NewScript(orderLogLua)
	notificationReplyScript = redis.NewScript(notificationReplyLua)
)

// Create stores a new order and its MessageID and ExternalReference index
// entries. The order is written first: an index entry never points at
// nothing a notification could need, since Trustly is called only after
// Create returns.
func (s *RedisOrders) Create(ctx context.Context, o Order) error {
	return s.CreateOpen(ctx, o, time.Time{})
}

// CreateOpen is Create for an order that awaits an outcome: in the same
// script it enters the open set with deadline openUntil (none when zero),
// so the reconciler finds it even when the answer of the call that starts
// it is never stored.
func (s *RedisOrders) CreateOpen(ctx context.Context, o Order, openUntil time.Time) error {
	if o.ID == "" || o.Flow == "" || o.State == "" {
		return fmt.Errorf("store: create order: id, flow and state are required")
	}
	// The index entries go with the order, in its round trip (writes.send):
	// they are in other slots, and nothing reads them before Trustly is
	// called, which waits for all of them.
	k := s.keys.Order(o.ID)
	create := &queued{key: k.Order, script: orderCreateScript, keys: []string{k.Order, k.Open},
		args: append([]any{ms(openUntil)}, pairs(o.fields())...)}
	qs := []*queued{create}
	type entry struct {
		op   string
		qs   []*queued
		undo func(context.Context) error
	}
	var entries []entry
	if o.MessageID != "" {
		// A new order has no TTL (it awaits its call), so neither has its
		// entry: no need to read the order's TTL as IndexMessageID does.
		key := s.keys.MessageIDIndex(o.MessageID)
		entries = append(entries, entry{op: "index messageid",
			qs:   []*queued{{key: key, args: []any{"set", key, o.ID}}},
			undo: func(ctx context.Context) error { return s.rdb.Del(ctx, key).Err() }})
	}
	if o.ExternalReference != "" {
		// A new order awaits its call's answer: the set, shared with older
		// orders that may be expiring, must not expire under it.
		key := s.keys.ReferenceIndex(o.ExternalReference)
		entries = append(entries, entry{op: "index external reference",
			qs:   []*queued{{key: key, args: []any{"sadd", key, o.ID}}, {key: key, args: []any{"persist", key}}},
			undo: func(ctx context.Context) error { return s.rdb.SRem(ctx, key, o.ID).Err() }})
	}
	for _, e := range entries {
		qs = append(qs, e.qs...)
	}
	// Trustly is called once this returns: the order and the index its
	// notifications are routed by must survive a failover first.
	w := s.repl.begin()
	defer w.close()
	w.sendWaited(ctx, qs)
	err := s.created(ctx, w, o.ID, create)
	failed := err != nil && !errors.Is(err, ErrExists)
	for _, e := range entries {
		var ierr error
		for _, q := range e.qs {
			if ierr = q.cmd.Err(); ierr != nil {
				ierr = w.fail(ctx, e.op, ierr)
				break
			}
			if ierr = q.waitErr; ierr != nil {
				ierr = fmt.Errorf("store: %s: %w", e.op, ierr)
				break
			}
		}
		err = errors.Join(err, ierr)
		if failed && ierr == nil {
			// No order under this id: its entry would point at nothing,
			// and a new order's entries never expire. Nothing was sent
			// to Trustly, so nothing routes by it. Best effort: a Redis
			// that just failed may refuse this too.
			_ = e.undo(context.WithoutCancel(ctx))
		}
	}
	return err
}

// created judges the order's own script (create): the order and its
// open-set entry, waited for by the replicas.
func (s *RedisOrders) created(ctx context.Context, w *writes, id string, create *queued) error {
	ok, err := create.cmd.Int()
	if err != nil {
		return w.fail(ctx, "create order", err)
	}
	if ok != 1 {
		// A caller that goes on with the order it finds (a retry) must
		// find one the replicas have too.
		if err := w.settle(ctx, create.key); err != nil {
			return err
		}
		if err := w.wait(ctx, "create order"); err != nil {
			return err
		}
		return fmt.Errorf("store: create order %s: %w", id, ErrExists)
	}
	if create.waitErr != nil {
		return fmt.Errorf("store: create order: %w", create.waitErr)
	}
	return nil
}

// Get returns order id, or an error wrapping ErrNotFound.
func (s *RedisOrders) Get(ctx context.Context, id string) (Order, error) {
	f, err := s.rdb.HGetAll(ctx, s.keys.Order(id).Order).Result()
	if err != nil {
		return Order{}, wrapRedis(ctx, "get order", err)
	}
	if len(f) == 0 {
		return Order{}, fmt.Errorf("store: order %q: %w", id, ErrNotFound)
	}
	return orderFrom(f), nil
}

// ByMessageID returns the order a MessageID (of any of its attempts) belongs to.
func (s *RedisOrders) ByMessageID(ctx context.Context, messageID string) (Order, error) {
	return s.byIndex(ctx, "messageid", s.keys.MessageIDIndex(messageID))
}

// ByTrustlyOrderID returns the order Trustly knows as orderID.
func (s *RedisOrders) ByTrustlyOrderID(ctx context.Context, orderID string) (Order, error) {
	return s.byIndex(ctx, "trustly orderid", s.keys.TrustlyOrderIndex(orderID))
}

// ForNotification is ByTrustlyOrderID for notification nid, in fewer round
// trips: the order and whether it has seen nid already (its dedupe record)
// are read in one pipeline, and the index entry is not read again for a
// Trustly orderid this process resolved before. That shortcut is checked,
// not trusted: the order read must carry orderID as its own Trustly orderid,
// else the index decides, as in ByTrustlyOrderID.
func (s *RedisOrders) ForNotification(ctx context.Context, orderID, nid string) (o Order, seen bool, err error) {
	if id, ok := s.tids.get(orderID); ok {
		o, seen, err := s.getSeen(ctx, id, nid)
		if err == nil && o.TrustlyOrderID == orderID {
			return o, seen, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Order{}, false, err
		}
		s.tids.forget(orderID)
	}
	id, err := s.rdb.Get(ctx, s.keys.TrustlyOrderIndex(orderID)).Result()
	if errors.Is(err, redis.Nil) {
		return Order{}, false, fmt.Errorf("store: trustly orderid: %w", ErrNotFound)
	}
	if err != nil {
		return Order{}, false, wrapRedis(ctx, "look up trustly orderid", err)
	}
	o, seen, err = s.getSeen(ctx, id, nid)
	if err == nil && o.TrustlyOrderID == orderID {
		s.tids.put(orderID, id)
	}
	return o, seen, err
}

// getSeen reads order id and whether its dedupe hash has nid, in one
// pipeline (one slot: one node on a Cluster).
func (s *RedisOrders) getSeen(ctx context.Context, id, nid string) (Order, bool, error) {
	k := s.keys.Order(id)
	pipe := s.rdb.Pipeline()
	f := pipe.HGetAll(ctx, k.Order)
	seen := pipe.HExists(ctx, k.Dedupe, nid)
	if _, err := pipe.Exec(ctx); err != nil {
		return Order{}, false, wrapRedis(ctx, "get order", err)
	}
	if len(f.Val()) == 0 {
		return Order{}, false, fmt.Errorf("store: order %q: %w", id, ErrNotFound)
	}
	return orderFrom(f.Val()), seen.Val(), nil
}

func (s *RedisOrders) byIndex(ctx context.Context, what, key string) (Order, error) {
	id, err := s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return Order{}, fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return Order{}, wrapRedis(ctx, "look up "+what, err)
	}
	return s.Get(ctx, id)
}

// ByExternalReference returns every order carrying ref, oldest first.
func (s *RedisOrders) ByExternalReference(ctx context.Context, ref string) ([]Order, error) {
	ids, err := s.rdb.SMembers(ctx, s.keys.ReferenceIndex(ref)).Result()
	if err != nil {
		return nil, wrapRedis(ctx, "look up external reference", err)
	}
	out := make([]Order, 0, len(ids))
	for _, id := range ids {
		o, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Order) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// IndexMessageID maps messageID to order id. Idempotent.
func (s *RedisOrders) IndexMessageID(ctx context.Context, messageID, id string) error {
	w := s.repl.begin()
	defer w.close()
	if err := s.indexMessageID(ctx, w, messageID, id); err != nil {
		return err
	}
	return w.wait(ctx, "index messageid")
}

func (s *RedisOrders) indexMessageID(ctx context.Context, w *writes, messageID, id string) error {
	return s.index(ctx, w, "index messageid", s.keys.MessageIDIndex(messageID), id)
}

// index writes an index entry that expires with its order: it lives in
// another slot than the order, so it takes the order's TTL as read just
// before (none when the order is kept, new or not there). An entry written
// just as its order starts to expire stays until the order's next write,
// which refreshes every index entry (Apply).
func (s *RedisOrders) index(ctx context.Context, w *writes, op, key, id string) error {
	ttl, err := s.rdb.PTTL(ctx, s.keys.Order(id).Order).Result()
	if err != nil {
		return wrapRedis(ctx, op, err)
	}
	return s.setIndex(ctx, w, op, key, id, max(ttl, 0))
}

// setIndex writes index entry key → id expiring after ttl (0: never).
func (s *RedisOrders) setIndex(ctx context.Context, w *writes, op, key, id string, ttl time.Duration) error {
	rc, err := w.on(ctx, key)
	if err != nil {
		return err
	}
	if err := rc.Set(ctx, key, id, ttl).Err(); err != nil {
		return w.fail(ctx, op, err)
	}
	return nil
}

// refreshIndexes makes the index entries of order id follow its TTL as it
// stands: for a paid order whose refund pushed its TTL out, since the
// refund's notifications find it by the paid order's MessageID.
func (s *RedisOrders) refreshIndexes(ctx context.Context, id string) error {
	k := s.keys.Order(id).Order
	pipe := s.rdb.Pipeline()
	f := pipe.HMGet(ctx, k, "mids", "tid", "extref")
	ttl := pipe.PTTL(ctx, k)
	if _, err := pipe.Exec(ctx); err != nil {
		return wrapRedis(ctx, "read index entries", err)
	}
	str := func(i int) string { v, _ := f.Val()[i].(string); return v }
	pttl := int64(ttl.Val() / time.Millisecond)
	if ttl.Val() < 0 {
		pttl = int64(ttl.Val()) // -1 kept, -2 gone, as go-redis passes them
	}
	return s.followOrder(ctx, pttl, split(str(0)), str(1), str(2))
}

// followOrder gives the order's index entries the order's TTL as the
// transition script left it (pttl, ms; -1 when the order is kept, -2 when
// it is gone), so they neither outlive it by much nor expire before it.
func (s *RedisOrders) followOrder(ctx context.Context, pttl int64, mids []string, tid, extref string) error {
	if pttl == -2 {
		return nil
	}
	keys := make([]string, 0, len(mids)+2)
	for _, m := range mids {
		keys = append(keys, s.keys.MessageIDIndex(m))
	}
	if tid != "" {
		keys = append(keys, s.keys.TrustlyOrderIndex(tid))
	}
	if extref != "" {
		// Shared by every order with this reference: the last write wins,
		// and since every TTL is "retention from now" that is the longest.
		keys = append(keys, s.keys.ReferenceIndex(extref))
	}
	pipe := s.rdb.Pipeline()
	for _, k := range keys {
		if pttl < 0 {
			pipe.Persist(ctx, k)
		} else {
			pipe.PExpire(ctx, k, time.Duration(pttl)*time.Millisecond)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return wrapRedis(ctx, "refresh index expiry", err)
	}
	return nil
}

// IndexTrustlyOrderID maps Trustly's orderID to order id. Idempotent. It
// is a follow-up of a notification answered only after it: it waits for
// the replicas like the transition. The entry expires with the order as
// long as the order's Trustly orderid (OrderPatch.TrustlyOrderID) names it.
func (s *RedisOrders) IndexTrustlyOrderID(ctx context.Context, orderID, id string) error {
	w := s.repl.begin()
	defer w.close()
	if err := s.index(ctx, w, "index trustly orderid", s.keys.TrustlyOrderIndex(orderID), id); err != nil {
		return err
	}
	if err := w.wait(ctx, "index trustly orderid"); err != nil {
		return err
	}
	s.tids.put(orderID, id) // the process that indexed it routes its notifications
	return nil
}

// IndexTrustlyOrderIDTTL is IndexTrustlyOrderID for a caller that knows
// the order's TTL (Applied.TTL of the transition it just made), which saves
// reading it: one round trip instead of two.
func (s *RedisOrders) IndexTrustlyOrderIDTTL(ctx context.Context, orderID, id string, ttl time.Duration) error {
	w := s.repl.begin()
	defer w.close()
	if err := s.setIndex(ctx, w, "index trustly orderid", s.keys.TrustlyOrderIndex(orderID), id, ttl); err != nil {
		return err
	}
	if err := w.wait(ctx, "index trustly orderid"); err != nil {
		return err
	}
	s.tids.put(orderID, id)
	return nil
}

// AddMessageID makes messageID the current attempt of order id, keeping the
// earlier attempts' MessageIDs mapped, and indexes it. The order is changed
// first so that the MessageID is on the order before Trustly sees it.
func (s *RedisOrders) AddMessageID(ctx context.Context, id, messageID string, now time.Time) error {
	key := s.keys.Order(id).Order
	w := s.repl.begin()
	defer w.close()
	rc, err := w.on(ctx, key)
	if err != nil {
		return err
	}
	ok, err := orderMessageIDScript.Run(ctx, rc, []string{key}, messageID, ms(now)).Int()
	if err != nil {
		return w.fail(ctx, "add messageid", err)
	}
	if ok != 1 {
		return fmt.Errorf("store: add messageid to %q: %w", id, ErrNotFound)
	}
	if err := s.indexMessageID(ctx, w, messageID, id); err != nil {
		return err
	}
	return w.wait(ctx, "add messageid")
}

// Apply runs one transition as one script: state, dedupe record, outbox
// entry and log entry are written together or not at all.
func (s *RedisOrders) Apply(ctx context.Context, t Transition) (Applied, error) {
	return s.ApplyAlong(ctx, t)
}

// ApplyAlong is Apply, with writes that need not wait for it (Along) sent
// in the same round trip. Each one's outcome is its own (Along.Err): the
// transition can fail while they succeed, and the other way round.
func (s *RedisOrders) ApplyAlong(ctx context.Context, t Transition, along ...*Along) (Applied, error) {
	k := s.keys.Order(t.OrderID)
	parent := k
	if t.ParentID != "" {
		if ShardOf(t.ParentID) != ShardOf(t.OrderID) {
			return Applied{}, fmt.Errorf("store: apply: refund %q is not in its paid order %q's shard", t.OrderID, t.ParentID)
		}
		parent = s.keys.Order(t.ParentID)
	}
	open := "0"
	if !t.OpenUntil.IsZero() {
		open = ms(t.OpenUntil)
	}
	args := []any{t.NotificationID, t.Event, ms(t.Now), t.Answer, t.Anomaly, open, s.retention, t.Reply}
	targets := slices.Sorted(maps.Keys(t.Targets))
	args = append(args, 2*len(targets))
	for _, from := range targets {
		args = append(args, from, t.Targets[from])
	}
	for _, patch := range []OrderPatch{t.Set, t.SetOnChange} {
		p := pairs(patch.fields())
		args = append(args, len(p))
		args = append(args, p...)
	}
	var expect, lines []string
	if t.IfTrustlyOrderID != "" {
		expect = append(expect, "tid", t.IfTrustlyOrderID)
	}
	if t.IfMessageID != "" {
		expect = append(expect, "mid", t.IfMessageID)
	}
	for _, l := range t.Lines {
		lines = append(lines, l.line())
	}
	withOrder := "0"
	if t.WithOrder {
		withOrder = "1"
	}
	for _, l := range [][]string{t.ReleaseOn, t.OpenStates, t.KeepStates, expect, lines, {withOrder}} {
		args = append(args, len(l))
		for _, v := range l {
			args = append(args, v)
		}
	}
	// The notification is answered OK once this returns: the transition
	// must survive a failover first. One that ran but was not acknowledged
	// fails here (the route answers 503); Trustly's resend is a duplicate,
	// answered OK once the replicas have the first delivery's effect.
	w := s.repl.begin()
	defer w.close()
	keys := []string{k.Order, k.Dedupe, k.Log, k.Outbox, k.Open, parent.Order, parent.Dedupe, parent.Log}
	var cmd *redis.Cmd
	var waitErr error
	if len(along) > 0 && s.sendsWith(along) {
		cmd, waitErr = s.applyTogether(ctx, w, &queued{key: k.Order, script: orderTransitionScript, keys: keys, args: args}, along)
	} else {
		cmd, waitErr = w.script(ctx, k.Order, orderTransitionScript, keys, args...)
		for _, a := range along {
			a.sendAlone(ctx)
		}
	}
	reply, err := cmd.StringSlice()
	if err != nil {
		return Applied{}, w.fail(ctx, "apply "+t.Event, err)
	}
	if len(reply) < 11 || len(reply)%2 == 0 {
		return Applied{}, fmt.Errorf("store: apply: unexpected script reply %q", reply)
	}
	switch reply[0] {
	case "missing":
		return Applied{}, fmt.Errorf("store: apply %s to %q: %w", t.Event, t.OrderID, ErrNotFound)
	case "changed":
		return Applied{}, fmt.Errorf("store: apply %s to %q: %w", t.Event, t.OrderID, ErrChanged)
	}
	if reply[0] == OutcomeDuplicate {
		// Only read: the first delivery's write may be the one whose
		// wait failed.
		if err := w.settle(ctx, k.Order); err != nil {
			return Applied{}, err
		}
	} else if waitErr != nil {
		return Applied{}, fmt.Errorf("store: apply %s: %w", t.Event, waitErr)
	}
	if err := w.wait(ctx, "apply "+t.Event); err != nil {
		return Applied{}, err
	}
	// An order kept before and after needs nothing: its entries were made
	// persistent when it became kept (or written so). A duplicate always
	// refreshes: a crash after the script left the entries as they were,
	// and the resend is what heals them. Expiry only: not waited for.
	if reply[0] == OutcomeDuplicate || reply[5] != "-1" || reply[9] != "-1" {
		if err := s.followOrder(ctx, atoi(reply[5]), split(reply[6]), reply[7], reply[8]); err != nil {
			return Applied{}, err
		}
	}
	if t.ParentID != "" {
		if err := s.refreshIndexes(ctx, t.ParentID); err != nil {
			return Applied{}, err
		}
	}
	a := Applied{Outcome: reply[0], From: reply[1], To: reply[2], Seq: atoi(reply[3]), Answer: reply[4],
		TTL: time.Duration(max(atoi(reply[5]), 0)) * time.Millisecond}
	if reply[10] != "" {
		a.Reply = []byte(reply[10])
	}
	if t.WithOrder && len(reply) > 11 {
		f := make(map[string]string, (len(reply)-11)/2)
		for i := 11; i+1 < len(reply); i += 2 {
			f[reply[i]] = reply[i+1]
		}
		o := orderFrom(f)
		a.Order = &o
	}
	return a, nil
}

// SaveReply keeps the signed reply to notification nid of order id beside
// its dedupe record, so that Apply hands it back on a repeat: Trustly's
// resend gets the same bytes and costs no signature. It lives as long as
// the record (nothing is written when there is none). Not waited for by
// replicas: losing it only costs the next repeat a signature.
func (s *RedisOrders) SaveReply(ctx context.Context, id, nid string, reply []byte) error {
	if nid == "" {
		return nil
	}
	if err := notificationReplyScript.Run(ctx, s.rdb, []string{s.keys.Order(id).Dedupe}, nid, "reply:"+nid, reply).Err(); err != nil {
		return wrapRedis(ctx, "keep notification reply", err)
	}
	return nil
}

// SaveUnroutedReply keeps the signed reply to unrouted notification nid
// with its record (SaveUnrouted hands it back on a repeat), as SaveReply
// does for an order's.
func (s *RedisOrders) SaveUnroutedReply(ctx context.Context, nid string, reply []byte) error {
	if err := notificationReplyScript.Run(ctx, s.rdb, []string{s.keys.Unrouted(nid)}, "answer", "reply", reply).Err(); err != nil {
		return wrapRedis(ctx, "keep unrouted notification reply", err)
	}
	return nil
}

// ReserveRefund creates refund order r for paid order r.Parent and holds its
// amount there in one script, so concurrent refunds cannot together exceed
// what was credited. An r.Amount of 0 refunds everything still refundable.
// paidState is the state the paid order must be in. The refund enters the
// open set with deadline openUntil (none when zero) in the same script. It
// returns the refund order as stored (with its amount).
func (s *RedisOrders) ReserveRefund(ctx context.Context, r Order, paidState string, openUntil time.Time) (Order, error) {
	if r.Parent == "" || ShardOf(r.ID) != ShardOf(r.Parent) {
		return Order{}, fmt.Errorf("store: reserve refund: refund id %q must extend its paid order's id %q", r.ID, r.Parent)
	}
	f := r.fields()
	delete(f, "amount")
	args := append([]any{itoa(r.Amount), r.Currency, paidState, ms(openUntil), s.retention}, pairs(f)...)
	k, paid := s.keys.Order(r.ID), s.keys.Order(r.Parent)
	// Refund is called once this returns: a reservation a failover undid
	// would let a second refund exceed what was credited.
	w := s.repl.begin()
	defer w.close()
	rc, err := w.on(ctx, k.Order)
	if err != nil {
		return Order{}, err
	}
	reply, err := refundReserveScript.Run(ctx, rc,
		[]string{paid.Order, k.Order, k.Open, paid.Dedupe, paid.Log}, args...).StringSlice()
	if err != nil {
		return Order{}, w.fail(ctx, "reserve refund", err)
	}
	switch reply[0] {
	case "ok":
		if err := w.wait(ctx, "reserve refund"); err != nil {
			return Order{}, err
		}
		r.Amount = atoi(reply[1])
		return r, s.refreshIndexes(ctx, r.Parent)
	case "missing":
		return Order{}, fmt.Errorf("store: refund of %q: %w", r.Parent, ErrNotFound)
	case "state":
		return Order{}, fmt.Errorf("store: refund of %q in state %s: %w", r.Parent, reply[1], ErrNotRefundable)
	case "currency":
		return Order{}, fmt.Errorf("store: refund in %s of %q, paid in %s: %w", r.Currency, r.Parent, reply[1], ErrNotRefundable)
	case "exceeds":
		return Order{}, fmt.Errorf("store: refund of %q: %w", r.Parent, &ExceedsError{Refundable: atoi(reply[1])})
	}
	return Order{}, fmt.Errorf("store: reserve refund: unexpected script reply %q", reply)
}

// Log returns the order's event log, oldest first: one tab-separated line
// per event (time, event, notificationid, outcome, from, to, note).
func (s *RedisOrders) Log(ctx context.Context, id string) ([]string, error) {
	l, err := s.rdb.LRange(ctx, s.keys.Order(id).Log, 0, -1).Result()
	if err != nil {
		return nil, wrapRedis(ctx, "read order log", err)
	}
	return l, nil
}

// LogEntry is one line of an order's log (Log): what the transition script
// writes for every event, and what AppendLog adds from outside it.
type LogEntry struct {
	At             time.Time
	Event          string // an engine event, "call:<Method>" or "platform"
	NotificationID string
	Outcome        string
	From, To       string
	Note           string
}

// AppendLog adds a line to the order's log that no transition writes: a
// call to Trustly, a repeated notification, a delivery to the platform.
// The log is for people (an order's timeline); nothing decides on it. It
// takes the order's TTL; for an order that is gone the line is dropped.
func (s *RedisOrders) AppendLog(ctx context.Context, id string, l LogEntry) error {
	k := s.keys.Order(id)
	if err := orderLogScript.Run(ctx, s.rdb, []string{k.Order, k.Log}, l.line()).Err(); err != nil {
		return wrapRedis(ctx, "append order log", err)
	}
	return nil
}

var logCleaner = strings.NewReplacer("\t", " ", "\n", " ")

// line is l as Log keeps it.
func (l LogEntry) line() string {
	clean := logCleaner.Replace
	return strings.Join([]string{ms(l.At), clean(l.Event), clean(l.NotificationID), clean(l.Outcome),
		clean(l.From), clean(l.To), clean(l.Note)}, "\t")
}

// ParseLogLine reads one line of Log.
func ParseLogLine(line string) LogEntry {
	f := strings.SplitN(line, "\t", 7)
	for len(f) < 7 {
		f = append(f, "")
	}
	return LogEntry{At: fromMS(f[0]), Event: f[1], NotificationID: f[2], Outcome: f[3], From: f[4], To: f[5], Note: f[6]}
}

// DueOpen returns up to limit orders (over all shards) still awaiting an
// outcome whose deadline is before t.
func (s *RedisOrders) DueOpen(ctx context.Context, t time.Time, limit int64) ([]string, error) {
	var out []string
	for sh := range Shards {
		ids, err := s.rdb.ZRangeByScore(ctx, s.keys.Shard(sh).Open, &redis.ZRangeBy{
			Min: "-inf", Max: "(" + ms(t), Count: limit,
		}).Result()
		if err != nil {
			return nil, wrapRedis(ctx, "list open orders", err)
		}
		out = append(out, ids...)
	}
	return out, nil
}

// OpenCount returns how many orders await an outcome.
func (s *RedisOrders) OpenCount(ctx context.Context) (int64, error) {
	var n int64
	for sh := range Shards {
		c, err := s.rdb.ZCard(ctx, s.keys.Shard(sh).Open).Result()
		if err != nil {
			return 0, wrapRedis(ctx, "count open orders", err)
		}
		n += c
	}
	return n, nil
}

// Unrouted is a notification no order takes: an unknown method, or an order
// we never created. It is kept for a person and answered.
type Unrouted struct {
	NotificationID, Method, OrderID, MessageID string
	Reason, Answer                             string
	Body                                       []byte
	At                                         time.Time
}

// SaveUnrouted keeps u once. For a repeat it returns the first delivery's
// answer and the signed reply kept for it (SaveUnroutedReply; nil when none
// was); for the first it returns "". The index entry is written after the
// record and again on every repeat, so a crash between them heals when
// Trustly resends (it does: no answer was sent).
func (s *RedisOrders) SaveUnrouted(ctx context.Context, u Unrouted) (first string, reply []byte, err error) {
	f := map[string]string{
		"nid": u.NotificationID, "method": u.Method, "orderid": u.OrderID, "messageid": u.MessageID,
		"reason": u.Reason, "answer": u.Answer, "body": string(u.Body), "at": ms(u.At),
	}
	// Answered OK once this returns: kept for a person, so it must survive
	// a failover like a transition.
	rec := s.keys.Unrouted(u.NotificationID)
	w := s.repl.begin()
	defer w.close()
	rc, err := w.on(ctx, rec)
	if err != nil {
		return "", nil, err
	}
	args := append([]any{s.retention}, pairs(f)...)
	got, err := unroutedSaveScript.Run(ctx, rc, []string{rec}, args...).StringSlice()
	if err == nil && len(got) != 2 {
		err = fmt.Errorf("unexpected script reply %q", got)
	}
	if err != nil {
		return "", nil, w.fail(ctx, "save unrouted notification", err)
	}
	if first = got[0]; got[1] != "" {
		reply = []byte(got[1])
	}
	if first != "" {
		// A repeat: the record may be the first delivery's, not yet
		// replicated.
		if err := w.settle(ctx, rec); err != nil {
			return "", nil, err
		}
	}
	idx := s.keys.UnroutedIndex()
	if rc, err = w.on(ctx, idx); err != nil {
		return "", nil, err
	}
	if err := rc.ZAddNX(ctx, idx, redis.Z{Score: float64(u.At.UnixMilli()), Member: u.NotificationID}).Err(); err != nil {
		return "", nil, w.fail(ctx, "index unrouted notification", err)
	}
	if r := s.Retention(); r > 0 {
		// The records expire by their TTL; their index entries go here,
		// measured by the arrival times the index holds.
		if err := rc.ZRemRangeByScore(ctx, idx, "-inf", "("+ms(u.At.Add(-r))).Err(); err != nil {
			return "", nil, w.fail(ctx, "trim unrouted index", err)
		}
	}
	if err := w.wait(ctx, "save unrouted notification"); err != nil {
		return "", nil, err
	}
	return first, reply, nil
}

// ListUnrouted returns up to limit unrouted notifications, oldest first.
func (s *RedisOrders) ListUnrouted(ctx context.Context, limit int64) ([]Unrouted, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.UnroutedIndex(), 0, limit-1).Result()
	if err != nil {
		return nil, wrapRedis(ctx, "list unrouted", err)
	}
	out := make([]Unrouted, 0, len(ids))
	for _, id := range ids {
		f, err := s.rdb.HGetAll(ctx, s.keys.Unrouted(id)).Result()
		if err != nil {
			return nil, wrapRedis(ctx, "read unrouted", err)
		}
		if len(f) == 0 {
			continue // expired; its index entry goes at the next save
		}
		out = append(out, Unrouted{
			NotificationID: f["nid"], Method: f["method"], OrderID: f["orderid"], MessageID: f["messageid"],
			Reason: f["reason"], Answer: f["answer"], Body: []byte(f["body"]), At: fromMS(f["at"]),
		})
	}
	return out, nil
}

func pairs(m map[string]string) []any {
	out := make([]any, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k, m[k])
	}
	return out
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func atoi(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

func ms(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return itoa(t.UnixMilli())
}

func fromMS(s string) time.Time {
	v := atoi(s)
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
