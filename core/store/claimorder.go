package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewOrder is the order a request starts, for ClaimCreate to create with
// the request's idempotency claim.
type NewOrder struct {
	Order     Order
	OpenUntil time.Time // its deadline in the open set, as CreateOpen's; zero for none
	// Express: the order takes the shopper's Express account (Accounts'
	// Express, read in the same script) as its AccountID.
	Express bool
}

var (
	//go:embed lua/idem_claim_order.lua
	claimOrderLua string

	// claimOrderScript runs idem_claim.lua and order_create.lua as Lua
	// functions whose parameters are named KEYS and ARGV, so each script
	// reads its own arguments unchanged: the claim and the create are
	// written once, whether they run alone or together.
	claimOrderScript = redis.NewScript("local function claim(KEYS, ARGV)\n" + claimLua +
		"\nend\nlocal function create(KEYS, ARGV)\n" + orderCreateLua + "\nend\n" + claimOrderLua)
)

// ClaimCreates reports whether ClaimCreate can run here: its script writes
// the idempotency record and the order, which live in different slots, so
// every key must be on one master. A single node, Sentinel and the
// embedded store have one; a Cluster does not, nor does a server that
// refused the script (ErrCrossSlot: a Cluster node or a sharding proxy
// configured as a single node).
func (s *RedisIdempotency) ClaimCreates() bool {
	_, cluster := s.rdb.(*redis.ClusterClient)
	return !cluster && !s.crossSlotRefused.Load()
}

// ClaimCreate is ClaimAt for a request that starts an order: when the claim
// is fresh, the same script creates n's order as RedisOrders.CreateOpen
// would, with its MessageID and ExternalReference index entries, and with
// n.Express the shopper's Express account (returned as express) as its
// AccountID. One round trip and one wait for the replicas instead of two
// of each before the request may call Trustly.
//
// The order exists exactly when the result is a fresh claim (no error, no
// outcome, no RecoveryPoint). A replay, a key in flight or reused, and a
// takeover of a dead holder's claim create nothing, so a request that does
// not run leaves no order behind. An order id that is taken is ErrExists,
// with nothing claimed. When the replicas do not acknowledge the script,
// the claim is given back and the order with its entries taken back (best
// effort: nothing was sent to Trustly), and the error wraps
// ErrNotReplicated. Where ClaimCreates is false it fails at once; a server
// that refuses the script makes it return ErrCrossSlot, having written
// nothing, and ClaimCreates false from then on.
func (s *RedisIdempotency) ClaimCreate(ctx context.Context, scope, key, fingerprint, point string, n NewOrder) (c Claim, out *Outcome, express string, err error) {
	if !s.ClaimCreates() {
		return Claim{}, nil, "", errors.New("store: claim and create an order: the keys are on different masters")
	}
	if err := validKey(scope, key); err != nil {
		return Claim{}, nil, "", err
	}
	o := n.Order
	switch {
	case fingerprint == "":
		return Claim{}, nil, "", fmt.Errorf("store: claim: empty request fingerprint")
	case o.ID == "" || o.Flow == "" || o.State == "" || o.MessageID == "":
		return Claim{}, nil, "", fmt.Errorf("store: create order: id, flow, state and MessageID are required")
	case n.Express && o.EndUserID == "":
		return Claim{}, nil, "", fmt.Errorf("store: create order: an Express account needs the shopper's EndUserID")
	}
	ik, ok := s.keys.Idempotency(scope, key), s.keys.Order(o.ID)
	keys := []string{ik.Record, ik.Lock, ok.Order, ok.Open, s.keys.MessageIDIndex(o.MessageID)}
	withRef, withExpress := "0", "0"
	if o.ExternalReference != "" {
		withRef = "1"
		keys = append(keys, s.keys.ReferenceIndex(o.ExternalReference))
	}
	if n.Express {
		withExpress = "1"
		keys = append(keys, s.keys.Accounts(o.EndUserID))
	}
	args := append([]any{fingerprint, s.lockTTL.Milliseconds(), s.ttl.Milliseconds(), point,
		o.ID, withRef, withExpress, ms(n.OpenUntil)}, pairs(o.fields())...)

	w := s.repl.begin()
	defer w.close()
	cmd, waitErr := w.script(ctx, ik.Record, claimOrderScript, keys, args...)
	reply, err := cmd.Slice()
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "CROSSSLOT") {
			// Refused before it ran: nothing was claimed or written.
			s.crossSlotRefused.Store(true)
			return Claim{}, nil, "", fmt.Errorf("store: claim and create order: %w: %w", ErrCrossSlot, err)
		}
		return Claim{}, nil, "", w.fail(ctx, "claim idempotency key and create order", err)
	}
	if str(reply, 0) == "exists" {
		return Claim{}, nil, "", fmt.Errorf("store: create order %s: %w", o.ID, ErrExists)
	}
	// The claim's reply, read as ClaimAt reads it; a fresh claim's carries
	// the Express account the order took.
	c, out, err = s.claimed(ctx, w, scope, key, fingerprint, reply, waitErr,
		func(ctx context.Context, c Claim) { s.takeBack(ctx, c, o) })
	if err != nil || out != nil {
		return c, out, "", err
	}
	return c, nil, str(reply, 3), nil
}

// takeBack undoes what ClaimCreate wrote when the replicas did not
// acknowledge it: the claim given back, so the shop's retry is not "in
// flight" for the lock's TTL, and, when it was a fresh one, the order and
// its entries removed, so that no index entry that never expires points
// at an order Trustly never heard of. Best effort, on the master only: a
// failover loses the writes anyway.
func (s *RedisIdempotency) takeBack(ctx context.Context, c Claim, o Order) {
	s.release(ctx, c)
	if c.RecoveryPoint != "" {
		return
	}
	k := s.keys.Order(o.ID)
	_, _ = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k.Order, s.keys.MessageIDIndex(o.MessageID))
		p.ZRem(ctx, k.Open, o.ID)
		if o.ExternalReference != "" {
			p.SRem(ctx, s.keys.ReferenceIndex(o.ExternalReference), o.ID)
		}
		return nil
	})
}
