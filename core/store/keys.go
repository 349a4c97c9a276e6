package store

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
)

// DefaultPrefix starts every key when the configuration names no prefix.
const DefaultPrefix = "trustly"

// Keys names every Redis key the sidecar uses; LAYOUT.md lists them all,
// for example:
//
//	<prefix>:idem:{<scope>:<key>}        hash: one idempotency record
//	<prefix>:idem:{<scope>:<key>}:lock   string: fencing token of the live claim, expiring after the lock TTL
//	<prefix>:paylink:{<hash>}            string: one pay link's JSON
//
// The part in braces is the Redis Cluster hash tag: keys that one script
// touches together share it, so they live in one slot. Records of different
// keys have different tags and spread over the Cluster. Later families (an
// order hash with its indexes, notification dedupe, the outbox) follow the
// same rule: one tag per unit that a script changes atomically.
//
// Caller-supplied parts are escaped (% : { } as %25 %3A %7B %7D) so that a
// brace cannot end the tag early and ("a:b", "c") never meets ("a", "b:c").
type Keys struct {
	prefix string
}

// NewKeys returns the key space under prefix ("" means DefaultPrefix). A
// prefix with a brace is refused: it would become the hash tag of every key
// and put all of them into one slot.
func NewKeys(prefix string) (Keys, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return Keys{}, errors.New("store: key prefix must not contain { or }: they would make it every key's hash tag")
	}
	return Keys{prefix: prefix}, nil
}

// Prefix returns the prefix every key starts with.
func (k Keys) Prefix() string { return k.prefix }

// IdempotencyKeys are the keys of one idempotency record; they share a hash tag.
type IdempotencyKeys struct {
	Record string // hash: fence, state, fp, status, body, point
	Lock   string // string: token of the claim holder; its TTL is the lock
}

// Idempotency returns the keys of the record for key within scope.
func (k Keys) Idempotency(scope, key string) IdempotencyKeys {
	base := k.prefix + ":idem:" + tag(scope, key)
	return IdempotencyKeys{Record: base, Lock: base + ":lock"}
}

// tag builds a hash tag from caller-supplied parts.
func tag(parts ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(':')
		}
		tagEscaper.WriteString(&b, p)
	}
	b.WriteByte('}')
	return b.String()
}

var tagEscaper = strings.NewReplacer("%", "%25", ":", "%3A", "{", "%7B", "}", "%7D")

// Shards is how many slots order data spreads over. An order, its refunds,
// its notification dedupe records and its shard's outbox stream share one
// hash tag, so a transition, its dedupe record and its outbox entry are one
// script on one slot even on a Cluster. It is part of the key layout:
// changing it re-homes every order, so it is a constant, not a setting.
const Shards = 16

// ShardOf returns the shard of an order. A refund's id is its paid order's
// id, a dot and a suffix: it lands in the paid order's shard, so reserving
// the refund amount and creating the refund order are one script.
func ShardOf(orderID string) int {
	home, _, _ := strings.Cut(orderID, ".")
	h := fnv.New32a()
	h.Write([]byte(home))
	return int(h.Sum32() % Shards)
}

func shardTag(shard int) string { return fmt.Sprintf("{sh:%02d}", shard) }

// OrderKeys are the keys of one order; they share the shard's hash tag.
type OrderKeys struct {
	Order  string // hash: the order
	Dedupe string // hash: notificationid → first answer, for this order
	Log    string // list: every event the order saw, for people
	Open   string // sorted set (per shard): orders awaiting an outcome, by deadline
	Outbox string // stream (per shard): status changes for the platform
	Dead   string // stream (per shard): outbox entries that failed N times
}

// Order returns the keys of order id.
func (k Keys) Order(id string) OrderKeys {
	s := ShardOf(id)
	base := k.prefix + ":order:" + shardTag(s) + ":" + id
	sk := k.Shard(s)
	return OrderKeys{Order: base, Dedupe: base + ":nd", Log: base + ":log", Open: sk.Open, Outbox: sk.Outbox, Dead: sk.Dead}
}

// ShardKeys are the per-shard keys.
type ShardKeys struct {
	Open   string
	Outbox string
	Dead   string
	// Fails is a hash: outbox entry id → failed deliveries so far. Kept
	// apart from the stream's delivery count, which also counts the times
	// an entry only waited for an earlier change of its order.
	Fails string
}

// Shard returns the keys shared by the orders of one shard.
func (k Keys) Shard(shard int) ShardKeys {
	t := shardTag(shard)
	return ShardKeys{
		Open:   k.prefix + ":open:" + t,
		Outbox: k.prefix + ":outbox:" + t,
		Dead:   k.prefix + ":outbox:" + t + ":dead",
		Fails:  k.prefix + ":outbox:" + t + ":fails",
	}
}

// MessageIDIndex maps a MessageID to its order (every attempt's MessageID
// stays mapped: a lost attempt's notifications may still come).
func (k Keys) MessageIDIndex(messageID string) string {
	return k.prefix + ":ix:msg:" + tag("m", messageID)
}

// TrustlyOrderIndex maps Trustly's orderid to our order.
func (k Keys) TrustlyOrderIndex(orderID string) string {
	return k.prefix + ":ix:tid:" + tag("t", orderID)
}

// ReferenceIndex is the set of orders carrying an ExternalReference (not
// unique: an invoice may be paid in several attempts).
func (k Keys) ReferenceIndex(ref string) string {
	return k.prefix + ":ix:ref:" + tag("r", ref)
}

// Accounts is the hash of a shopper's bank accounts, by EndUserID.
func (k Keys) Accounts(endUserID string) string {
	return k.prefix + ":acct:" + tag("u", endUserID)
}

// Unrouted is the record of a notification no order could take (an unknown
// method, or an order we never created), kept for a person.
func (k Keys) Unrouted(notificationID string) string {
	return k.prefix + ":unrouted:" + tag("n", notificationID)
}

// UnroutedIndex lists the unrouted records by arrival time.
func (k Keys) UnroutedIndex() string { return k.prefix + ":unrouted" }

// Balance is the hash of the last known balances (currency → minor units,
// "_at" → Unix ms of the Balance call); BalanceSlot is the marker that keeps
// every sidecar process together to one Balance call per interval.
func (k Keys) Balance() string     { return k.prefix + ":balance" }
func (k Keys) BalanceSlot() string { return k.prefix + ":balance:slot" }

// BalanceRefreshSlot is the one-call-per-age marker of the Balance call a
// refund makes when the known balance is too old to refuse it on.
func (k Keys) BalanceRefreshSlot() string { return k.prefix + ":balance:refresh" }

// Marker is the store's identity (Marker): a random id and the time it was
// written, once, at the first start on an empty Redis. Its absence later
// means Redis lost its data.
func (k Keys) Marker() string { return k.prefix + ":store:marker" }

// Sync is the key a write that waits for replicas touches when it only
// read (replication.go): it carries key's hash tag (key itself when it has
// none), so it lives in key's slot, on key's master. It expires a minute
// after its last touch and holds nothing.
func (k Keys) Sync(key string) string {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if n := strings.IndexByte(key[open+1:], '}'); n > 0 {
			return k.prefix + ":sync:" + key[open:open+n+2]
		}
	}
	return k.prefix + ":sync:{" + key + "}"
}

// PayLinkKeys are the keys of one pay link; they share its hash tag.
type PayLinkKeys struct {
	Record string // string: the link's JSON, expiring its retention after the link
	Click  string // string: fencing token of the click in progress; its TTL is the lock
}

// PayLinkID is the index from a link's id (pl_..., what the shop API
// shows) to its token's hash: <prefix>:paylink:id:{<id>}.
func (k Keys) PayLinkID(id string) string { return k.prefix + ":paylink:id:" + tag(id) }

// PayLink returns the keys of the link whose token hashes to hash (hex
// SHA-256): <prefix>:paylink:{<hash>} and <prefix>:paylink:{<hash>}:click.
func (k Keys) PayLink(hash string) PayLinkKeys {
	base := k.prefix + ":paylink:" + tag(hash)
	return PayLinkKeys{Record: base, Click: base + ":click"}
}
