package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
)

// daemon is what serve runs, built from the configuration: the store, the
// Trustly client and the engine on top of them.
type daemon struct {
	orders *store.RedisOrders
	idem   *store.RedisIdempotency
	engine *engine.Engine
	links  *payLinks
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
		Observer:        m,
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	senders, err := cfg.payLinkSenders()
	if err != nil {
		return nil, err
	}
	return &daemon{
		orders: orders,
		idem:   store.NewRedisIdempotency(rdb, keys, store.IdempotencyOptions{}),
		engine: eng,
		links: &payLinks{log: log, engine: eng, store: &payLinkStore{rdb: rdb, prefix: keys.Prefix()},
			baseURL: cfg.PublicBaseURL, ttl: cfg.PayLinkTTL, senders: senders},
	}, nil
}

// newWebhooks connects the platform webhook route to the supervised adapter.
func newWebhooks(cfg *Config, log *slog.Logger, m *Metrics, d *daemon, host *pluginhost.Host) *webhooks {
	return &webhooks{
		log: log, m: m, engine: d.engine, idem: d.idem, adapter: host.Adapter(), defaults: cfg.shopDefaults(),
		describe: hostDescribe(host.WaitReady, host.Description), now: time.Now,
	}
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

// outboxStats reads the outbox's figures for /metrics.
func outboxStats(o *engine.Outbox) func(context.Context) (OutboxStats, error) {
	return func(ctx context.Context) (OutboxStats, error) {
		s, err := o.Stats(ctx)
		if err != nil {
			return OutboxStats{}, fmt.Errorf("outbox stats: %w", err)
		}
		return OutboxStats{Depth: s.Depth, OldestAge: s.OldestAge, Dead: s.Dead}, nil
	}
}
