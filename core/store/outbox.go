package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// OutboxEntry is one status change in a shard's outbox stream (or, when
// read from ListDead, in its dead-letter stream). Flow, Event and the
// states are the engine's names; the store only keeps them.
type OutboxEntry struct {
	Shard int
	ID    string
	// Deliveries counts the times the entry was handed to a consumer,
	// this one included (0 when listed, not read).
	Deliveries int64
	// Failures counts the deliveries that failed (FailOutbox) before this
	// one. Unlike Deliveries it does not count the times the entry was
	// handed out only to wait for an earlier change of its order.
	Failures int64

	OrderID string
	// Seq numbers the order's entries 1, 2, 3…
	Seq int64
	// Kind is OutboxState for a state change, OutboxAttention for an
	// anomaly (Note says what).
	Kind           string
	Flow, Event    string
	From, To       string
	NotificationID string
	At             time.Time
	// Amount asked for and Credited, in minor units, as the order stood
	// after the change.
	Amount, Credited  int64
	Currency          string
	ExternalReference string
	TrustlyOrderID    string
	EndUserID         string
	Parent            string
	Note              string
	// Replay is set on an entry a person put back from the dead letters.
	Replay bool
	// DeadReason is why delivery was given up, and DeadEntry the entry's id
	// in the outbox then; both only on entries listed by ListDead.
	DeadReason, DeadEntry string
}

// Kinds of outbox entries.
const (
	OutboxState     = "state"
	OutboxAttention = "attention"
)

// outboxEntry reads a stream entry's fields, as the transition, ack and
// replay scripts write them.
func outboxEntry(shard int, id string, v map[string]any) OutboxEntry {
	f := func(k string) string { s, _ := v[k].(string); return s }
	return OutboxEntry{
		Shard: shard, ID: id,
		OrderID: f("order"), Seq: atoi(f("seq")), Kind: f("kind"), Flow: f("flow"), Event: f("event"),
		From: f("from"), To: f("to"), NotificationID: f("nid"), At: time.UnixMilli(atoi(f("at"))).UTC(),
		Amount: atoi(f("amount")), Credited: atoi(f("credited")), Currency: f("currency"),
		ExternalReference: f("extref"), TrustlyOrderID: f("tid"), EndUserID: f("enduserid"),
		Parent: f("parent"), Note: f("note"), Replay: f("replay") == "1",
		DeadReason: f("reason"), DeadEntry: f("entry"),
	}
}

var (
	//go:embed lua/outbox_ack.lua
	outboxAckLua string
	//go:embed lua/outbox_replay.lua
	outboxReplayLua string

	outboxAckScript    = redis.NewScript(outboxAckLua)
	outboxReplayScript = redis.NewScript(outboxReplayLua)
)

// EnsureOutboxGroup creates the consumer group on every shard's stream,
// reading from the start; an existing group is left as it is.
func (s *RedisOrders) EnsureOutboxGroup(ctx context.Context, group string) error {
	for sh := range Shards {
		err := s.rdb.XGroupCreateMkStream(ctx, s.keys.Shard(sh).Outbox, group, "0").Err()
		if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
			return wrapRedis(ctx, "create outbox group", err)
		}
	}
	return nil
}

// ReadOutbox hands up to count new entries of shard to consumer, without
// waiting. They stay pending in the group until AckOutbox.
func (s *RedisOrders) ReadOutbox(ctx context.Context, shard int, group, consumer string, count int64) ([]OutboxEntry, error) {
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{s.keys.Shard(shard).Outbox, ">"},
		Count: count, Block: -1,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapRedis(ctx, "read outbox", err)
	}
	var out []OutboxEntry
	for _, st := range res {
		for _, m := range st.Messages {
			e := outboxEntry(shard, m.ID, m.Values)
			e.Deliveries = 1
			out = append(out, e)
		}
	}
	return out, nil
}

// claimScanPages bounds how many pages of count pending entries one
// ClaimOutbox looks through for due ones. Retryable failures are retried
// forever, so a page can fill with entries whose backoff is not over (a
// platform that refuses some orders for hours); later pages must still get
// their turn, yet one call stays cheap.
const claimScanPages = 10

// ClaimOutbox takes over up to count entries of shard that have been
// pending at least minIdle (a failed delivery waiting for its retry, an
// entry waiting for an earlier change of its order, or a dead consumer's
// entries) and hands them to consumer. due decides, from the failed
// deliveries so far and the idle time, whether an entry's backoff is over;
// entries not due are passed over, up to claimScanPages pages of count.
func (s *RedisOrders) ClaimOutbox(ctx context.Context, shard int, group, consumer string, minIdle time.Duration, count int64,
	due func(failures int64, idle time.Duration) bool) ([]OutboxEntry, error) {
	var out []OutboxEntry
	start := "-"
	for range claimScanPages {
		page, next, err := s.claimPage(ctx, shard, group, consumer, minIdle, start, count-int64(len(out)), due)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || int64(len(out)) >= count {
			break
		}
		start = next
	}
	return out, nil
}

// claimPage claims the due entries among up to count pending ones from
// start on, and returns where the next page starts ("" when none is left).
func (s *RedisOrders) claimPage(ctx context.Context, shard int, group, consumer string, minIdle time.Duration, start string, count int64,
	due func(failures int64, idle time.Duration) bool) ([]OutboxEntry, string, error) {
	sk := s.keys.Shard(shard)
	stream := sk.Outbox
	pend, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: group, Idle: max(minIdle, time.Millisecond), Start: start, End: "+", Count: count,
	}).Result()
	if err != nil {
		return nil, "", wrapRedis(ctx, "list pending outbox", err)
	}
	if len(pend) == 0 {
		return nil, "", nil
	}
	next := ""
	if int64(len(pend)) == count {
		next = idAfter(pend[len(pend)-1].ID)
	}
	ids := make([]string, len(pend))
	for i, p := range pend {
		ids[i] = p.ID
	}
	fails, err := s.rdb.HMGet(ctx, sk.Fails, ids...).Result()
	if err != nil {
		return nil, "", wrapRedis(ctx, "read outbox failures", err)
	}
	var out []OutboxEntry
	for i, p := range pend {
		failed := int64(0)
		if v, ok := fails[i].(string); ok {
			failed = atoi(v)
		}
		if due != nil && !due(failed, p.Idle) {
			continue
		}
		// XCLAIM with the same min idle: when another consumer claimed
		// it meanwhile, its idle time restarted and nothing comes back.
		msgs, err := s.rdb.XClaim(ctx, &redis.XClaimArgs{
			Stream: stream, Group: group, Consumer: consumer, MinIdle: p.Idle, Messages: []string{p.ID},
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, "", wrapRedis(ctx, "claim pending outbox", err)
		}
		for _, m := range msgs {
			if m.Values == nil {
				// Gone from the stream while pending (deleted by hand, or
				// trimmed by a version that capped streams on XADD):
				// nothing to deliver.
				if err := s.rdb.XAck(ctx, stream, group, m.ID).Err(); err != nil {
					return nil, "", wrapRedis(ctx, "ack trimmed outbox entry", err)
				}
				if err := s.rdb.HDel(ctx, sk.Fails, m.ID).Err(); err != nil {
					return nil, "", wrapRedis(ctx, "forget trimmed outbox entry", err)
				}
				continue
			}
			e := outboxEntry(shard, m.ID, m.Values)
			e.Deliveries, e.Failures = p.RetryCount+1, failed
			out = append(out, e)
		}
	}
	return out, next, nil
}

// idAfter is the smallest stream id after id ("<ms>-<seq>"): an inclusive
// range start that leaves id out, which embedded Redis understands too
// (it knows no exclusive "(" bounds).
func idAfter(id string) string {
	msPart, seqPart, _ := strings.Cut(id, "-")
	seq, err := strconv.ParseUint(seqPart, 10, 64)
	if err != nil || seq == math.MaxUint64 {
		ms, _ := strconv.ParseUint(msPart, 10, 64)
		return strconv.FormatUint(ms+1, 10) + "-0"
	}
	return msPart + "-" + strconv.FormatUint(seq+1, 10)
}

// AckOutbox acknowledges e and records its seq as the order's last
// delivered one. With an empty deadReason the platform got e, so its seq
// is also the order's landed one (Landed). With a non-empty deadReason it
// first copies e to the dead-letter stream: delivery is given up, a person
// may replay it. Once the stream is longer than OutboxMaxLen, the entries
// the group has acknowledged are trimmed; the others never are.
func (s *RedisOrders) AckOutbox(ctx context.Context, e OutboxEntry, group, deadReason string) error {
	return s.ackOutbox(ctx, e, group, deadReason, deadReason == "")
}

// SkipOutbox acknowledges e without it reaching the platform: it was
// delivered before, or the platform has a newer change of its order. Its
// seq counts as delivered (later entries stop waiting for it), not landed.
func (s *RedisOrders) SkipOutbox(ctx context.Context, e OutboxEntry, group string) error {
	return s.ackOutbox(ctx, e, group, "", false)
}

func (s *RedisOrders) ackOutbox(ctx context.Context, e OutboxEntry, group, deadReason string, landed bool) error {
	sk := s.keys.Shard(e.Shard)
	order := s.keys.Order(e.OrderID).Order
	if ShardOf(e.OrderID) != e.Shard {
		order = sk.Outbox // never touched: the script checks EXISTS on a hash
	}
	got := "0"
	if landed {
		got = "1"
	}
	if err := outboxAckScript.Run(ctx, s.rdb, []string{sk.Outbox, order, sk.Dead, sk.Fails},
		group, e.ID, itoa(e.Seq), deadReason, s.maxLen, got).Err(); err != nil {
		return wrapRedis(ctx, "ack outbox", err)
	}
	return nil
}

// FailOutbox records a failed delivery of e, which stays pending for its
// retry, and returns its failed deliveries so far. The count is forgotten
// when e is acknowledged.
func (s *RedisOrders) FailOutbox(ctx context.Context, e OutboxEntry) (int64, error) {
	n, err := s.rdb.HIncrBy(ctx, s.keys.Shard(e.Shard).Fails, e.ID, 1).Result()
	if err != nil {
		return 0, wrapRedis(ctx, "record outbox failure", err)
	}
	return n, nil
}

// Delivered returns the last seq of order id that left the outbox:
// delivered, dead-lettered or skipped. Its next seq waits for it.
func (s *RedisOrders) Delivered(ctx context.Context, id string) (int64, error) {
	return s.orderSeq(ctx, id, "delivered")
}

// Landed returns the last seq of order id the platform has got. A replayed
// change at or below it is older than what the platform shows.
func (s *RedisOrders) Landed(ctx context.Context, id string) (int64, error) {
	return s.orderSeq(ctx, id, "landed")
}

func (s *RedisOrders) orderSeq(ctx context.Context, id, field string) (int64, error) {
	v, err := s.rdb.HGet(ctx, s.keys.Order(id).Order, field).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, wrapRedis(ctx, "read "+field+" seq", err)
	}
	return atoi(v), nil
}

// ListOutbox returns up to count entries of shard's outbox, oldest first:
// every entry not yet acknowledged, and acknowledged ones until trimmed.
func (s *RedisOrders) ListOutbox(ctx context.Context, shard int, count int64) ([]OutboxEntry, error) {
	return s.list(ctx, shard, s.keys.Shard(shard).Outbox, count)
}

// ListDead returns up to count dead-lettered entries per shard.
func (s *RedisOrders) ListDead(ctx context.Context, count int64) ([]OutboxEntry, error) {
	var out []OutboxEntry
	for sh := range Shards {
		l, err := s.list(ctx, sh, s.keys.Shard(sh).Dead, count)
		if err != nil {
			return nil, err
		}
		out = append(out, l...)
	}
	return out, nil
}

func (s *RedisOrders) list(ctx context.Context, shard int, stream string, count int64) ([]OutboxEntry, error) {
	msgs, err := s.rdb.XRangeN(ctx, stream, "-", "+", count).Result()
	if err != nil {
		return nil, wrapRedis(ctx, "list stream", err)
	}
	out := make([]OutboxEntry, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, outboxEntry(shard, m.ID, m.Values))
	}
	return out, nil
}

// ReplayDead moves dead-lettered entry id of shard back into the outbox,
// marked replay, and returns its new id.
func (s *RedisOrders) ReplayDead(ctx context.Context, shard int, id string) (string, error) {
	sk := s.keys.Shard(shard)
	newID, err := outboxReplayScript.Run(ctx, s.rdb, []string{sk.Dead, sk.Outbox}, id).Text()
	if err != nil {
		return "", wrapRedis(ctx, "replay dead entry", err)
	}
	if newID == "" {
		return "", fmt.Errorf("store: dead entry %s of shard %d: %w", id, shard, ErrNotFound)
	}
	return newID, nil
}

// unreadCap bounds how many unread entries OutboxStats counts per shard,
// so a scrape stays cheap however far a stopped consumer fell behind.
const unreadCap = 10000

// OutboxShardStats describes one shard's outbox for metrics.
type OutboxShardStats struct {
	Shard int
	// Length is the stream's length: acknowledged entries stay until the
	// stream is longer than OutboxMaxLen.
	Length int64
	// Pending were handed to a consumer and not acknowledged: in delivery,
	// waiting for a retry, or waiting for an earlier change of their order.
	Pending int64
	// Unread were never handed to a consumer (counted up to 10000).
	Unread int64
	// Retrying failed delivery at least once and are not acknowledged yet.
	Retrying int64
	// Oldest is when the oldest entry not yet acknowledged was written
	// (Redis's clock); zero when there is none.
	Oldest time.Time
	// Dead is the length of the shard's dead-letter stream.
	Dead int64
}

// OutboxStats returns every shard's outbox figures for consumer group group.
func (s *RedisOrders) OutboxStats(ctx context.Context, group string) ([]OutboxShardStats, error) {
	out := make([]OutboxShardStats, 0, Shards)
	for sh := range Shards {
		st, err := s.outboxShardStats(ctx, sh, group)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *RedisOrders) outboxShardStats(ctx context.Context, sh int, group string) (OutboxShardStats, error) {
	sk := s.keys.Shard(sh)
	st := OutboxShardStats{Shard: sh}
	var err error
	if st.Dead, err = s.rdb.XLen(ctx, sk.Dead).Result(); err != nil {
		return st, wrapRedis(ctx, "count dead outbox entries", err)
	}
	if st.Length, err = s.rdb.XLen(ctx, sk.Outbox).Result(); err != nil {
		return st, wrapRedis(ctx, "count outbox entries", err)
	}
	if st.Retrying, err = s.rdb.HLen(ctx, sk.Fails).Result(); err != nil {
		return st, wrapRedis(ctx, "count retrying outbox entries", err)
	}
	if st.Length == 0 {
		return st, nil
	}
	// Where the group has read up to; without the group nothing was read.
	last := "0-0"
	groups, err := s.rdb.XInfoGroups(ctx, sk.Outbox).Result()
	if err != nil {
		return st, wrapRedis(ctx, "describe outbox groups", err)
	}
	for _, g := range groups {
		if g.Name == group {
			last = g.LastDeliveredID
			if sum, err := s.rdb.XPending(ctx, sk.Outbox, group).Result(); err != nil {
				return st, wrapRedis(ctx, "summarise pending outbox", err)
			} else if sum.Count > 0 {
				st.Pending, st.Oldest = sum.Count, idTime(sum.Lower)
			}
		}
	}
	unread, err := s.rdb.XRangeN(ctx, sk.Outbox, last, "+", unreadCap+1).Result()
	if err != nil {
		return st, wrapRedis(ctx, "count unread outbox entries", err)
	}
	if len(unread) > 0 && unread[0].ID == last {
		unread = unread[1:]
	}
	st.Unread = int64(min(len(unread), unreadCap))
	if len(unread) > 0 {
		if t := idTime(unread[0].ID); st.Oldest.IsZero() || t.Before(st.Oldest) {
			st.Oldest = t
		}
	}
	return st, nil
}

// idTime is the time in a stream entry id ("<unix ms>-<seq>").
func idTime(id string) time.Time {
	msPart, _, _ := strings.Cut(id, "-")
	return fromMS(msPart)
}

// ErrNotPending: the outbox entry is not waiting for a retry (never handed
// to a consumer yet, or acknowledged already), so there is nothing to give
// up on.
var ErrNotPending = errors.New("store: outbox entry is not pending")

// ListPending returns, per shard, up to count entries of group handed to a
// consumer and not acknowledged (in delivery, waiting for a retry, or for
// an earlier change of their order), oldest first, with their deliveries
// and failed deliveries so far.
func (s *RedisOrders) ListPending(ctx context.Context, group string, count int64) ([]OutboxEntry, error) {
	var out []OutboxEntry
	for sh := range Shards {
		sk := s.keys.Shard(sh)
		pend, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: sk.Outbox, Group: group, Start: "-", End: "+", Count: count}).Result()
		if redis.HasErrorPrefix(err, "NOGROUP") {
			continue // no adapter has ever run: nothing was handed out
		}
		if err != nil {
			return nil, wrapRedis(ctx, "list pending outbox", err)
		}
		for _, p := range pend {
			e, err := s.outboxEntryByID(ctx, sh, p.ID)
			if errors.Is(err, ErrNotFound) {
				continue // deleted while pending; the next claim acknowledges it
			}
			if err != nil {
				return nil, err
			}
			e.Deliveries = p.RetryCount
			if e.Failures, err = s.failures(ctx, sh, p.ID); err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *RedisOrders) outboxEntryByID(ctx context.Context, shard int, id string) (OutboxEntry, error) {
	msgs, err := s.rdb.XRange(ctx, s.keys.Shard(shard).Outbox, id, id).Result()
	if err != nil {
		return OutboxEntry{}, wrapRedis(ctx, "read outbox entry", err)
	}
	if len(msgs) == 0 {
		return OutboxEntry{}, fmt.Errorf("store: outbox entry %s of shard %d: %w", id, shard, ErrNotFound)
	}
	return outboxEntry(shard, id, msgs[0].Values), nil
}

func (s *RedisOrders) failures(ctx context.Context, shard int, id string) (int64, error) {
	v, err := s.rdb.HGet(ctx, s.keys.Shard(shard).Fails, id).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, wrapRedis(ctx, "read outbox failures", err)
	}
	return atoi(v), nil
}

// GiveUpOutbox dead-letters pending entry id of shard with reason, as a
// permanent failure would: it is acknowledged, its seq counts as
// delivered, so the later changes of its order stop waiting for it, and
// not as landed, so a replay is delivered. It returns the entry as it was.
// An entry not pending in group (unread, or acknowledged already) is
// refused with ErrNotPending: acknowledging an unread entry would not stop
// its delivery.
func (s *RedisOrders) GiveUpOutbox(ctx context.Context, shard int, group, id, reason string) (OutboxEntry, error) {
	if reason == "" {
		return OutboxEntry{}, errors.New("store: give up outbox entry: a reason is required")
	}
	e, err := s.outboxEntryByID(ctx, shard, id)
	if err != nil {
		return OutboxEntry{}, err
	}
	pend, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.keys.Shard(shard).Outbox, Group: group, Start: id, End: id, Count: 1}).Result()
	if err != nil && !redis.HasErrorPrefix(err, "NOGROUP") {
		return OutboxEntry{}, wrapRedis(ctx, "look up pending outbox entry", err)
	}
	if len(pend) == 0 {
		return OutboxEntry{}, fmt.Errorf("store: outbox entry %s of shard %d: %w", id, shard, ErrNotPending)
	}
	if e.Failures, err = s.failures(ctx, shard, id); err != nil {
		return OutboxEntry{}, err
	}
	return e, s.ackOutbox(ctx, e, group, reason, false)
}
