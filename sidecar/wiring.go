package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// daemon is what serve runs, built from the configuration: the store, the
// Trustly client and the engine on top of them.
type daemon struct {
	orders *store.RedisOrders
	idem   *store.RedisIdempotency
	engine *engine.Engine
}

// newDaemon builds the store, the Trustly client (TEST, LIVE or SIM by
// configuration) and the engine. Nothing runs yet.
func newDaemon(cfg *Config, log *slog.Logger, m *Metrics, rdb redis.UniversalClient) (*daemon, error) {
	keys, err := store.NewKeys(cfg.RedisPrefix)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	orders := store.NewRedisOrders(rdb, keys, store.OrdersOptions{})
	cc := cfg.trustlyClientConfig()
	cc.Logger = log
	client, err := trustly.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("trustly client: %w", err)
	}
	eng, err := engine.New(engine.Config{
		Store:           orders,
		Trustly:         meteredTrustly{api: client, m: m},
		Verifier:        trustly.NewVerifierKey(cfg.env, cfg.trustlyKey),
		MerchantKey:     cfg.merchantKey,
		NotificationURL: cfg.notificationURL,
		Logger:          log,
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return &daemon{
		orders: orders,
		idem:   store.NewRedisIdempotency(rdb, keys, store.IdempotencyOptions{}),
		engine: eng,
	}, nil
}

// meteredTrustly counts every call to Trustly by method and outcome; the
// client itself knows nothing of metrics.
type meteredTrustly struct {
	api engine.Trustly
	m   *Metrics
}

var _ engine.Trustly = meteredTrustly{}

func metered[T any](m *Metrics, method string, v T, err error) (T, error) {
	m.TrustlyCall(method, err)
	return v, err
}

func (t meteredTrustly) Deposit(ctx context.Context, r *trustly.DepositRequest) (*trustly.DepositResult, error) {
	v, err := t.api.Deposit(ctx, r)
	return metered(t.m, "Deposit", v, err)
}

func (t meteredTrustly) SelectAccount(ctx context.Context, r *trustly.SelectAccountRequest) (*trustly.SelectAccountResult, error) {
	v, err := t.api.SelectAccount(ctx, r)
	return metered(t.m, "SelectAccount", v, err)
}

func (t meteredTrustly) Refund(ctx context.Context, r *trustly.RefundRequest) (*trustly.RefundResult, error) {
	v, err := t.api.Refund(ctx, r)
	return metered(t.m, "Refund", v, err)
}

func (t meteredTrustly) Charge(ctx context.Context, r *trustly.ChargeRequest) (*trustly.ChargeResult, error) {
	v, err := t.api.Charge(ctx, r)
	return metered(t.m, "Charge", v, err)
}

func (t meteredTrustly) CancelCharge(ctx context.Context, r *trustly.CancelChargeRequest) (*trustly.CancelChargeResult, error) {
	v, err := t.api.CancelCharge(ctx, r)
	return metered(t.m, "CancelCharge", v, err)
}

func (t meteredTrustly) Balance(ctx context.Context) ([]trustly.Balance, error) {
	v, err := t.api.Balance(ctx)
	return metered(t.m, "Balance", v, err)
}

func (t meteredTrustly) GetWithdrawals(ctx context.Context, orderID string) ([]trustly.Withdrawal, error) {
	v, err := t.api.GetWithdrawals(ctx, orderID)
	return metered(t.m, "GetWithdrawals", v, err)
}

// outboxGroup is the consumer group of the platform deliveries.
const outboxGroup = "platform"

// outboxStats reads the outbox's depth and the age of its oldest
// undelivered entry from the streams' consumer group. The store has no
// such figure yet; this reads its streams as LAYOUT.md describes them.
func outboxStats(rdb redis.UniversalClient, keys store.Keys, now func() time.Time) func(context.Context) (OutboxStats, error) {
	return func(ctx context.Context) (OutboxStats, error) {
		var s OutboxStats
		var oldest string
		for sh := range store.Shards {
			stream := keys.Shard(sh).Outbox
			groups, err := rdb.XInfoGroups(ctx, stream).Result()
			if err != nil && !strings.Contains(err.Error(), "no such key") {
				return s, fmt.Errorf("outbox stats: %w", err)
			}
			var g *redis.XInfoGroup
			for i := range groups {
				if groups[i].Name == outboxGroup {
					g = &groups[i]
				}
			}
			first := ""
			if g == nil {
				n, err := rdb.XLen(ctx, stream).Result()
				if err != nil {
					return s, fmt.Errorf("outbox stats: %w", err)
				}
				s.Depth += n
				if n > 0 {
					first = "0"
				}
			} else {
				s.Depth += g.Pending + max(g.Lag, 0)
				switch {
				case g.Pending > 0:
					p, err := rdb.XPending(ctx, stream, outboxGroup).Result()
					if err != nil {
						return s, fmt.Errorf("outbox stats: %w", err)
					}
					first = p.Lower
				case g.Lag > 0:
					first = "(" + g.LastDeliveredID
				}
			}
			if first == "0" || strings.HasPrefix(first, "(") {
				start := "-"
				if first != "0" {
					start = first
				}
				msgs, err := rdb.XRangeN(ctx, stream, start, "+", 1).Result()
				if err != nil {
					return s, fmt.Errorf("outbox stats: %w", err)
				}
				first = ""
				if len(msgs) > 0 {
					first = msgs[0].ID
				}
			}
			if first != "" && (oldest == "" || streamMillis(first) < streamMillis(oldest)) {
				oldest = first
			}
		}
		if oldest != "" {
			s.OldestAge = max(now().Sub(time.UnixMilli(streamMillis(oldest))), 0)
		}
		return s, nil
	}
}

// streamMillis is the time part of a stream entry id ("1700000000000-0").
func streamMillis(id string) int64 {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return n
}
