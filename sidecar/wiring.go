package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/commercetools"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/saleor"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/vendure"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/httpapi"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/paylink"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
)

// builtins are the platform adapters compiled into this binary, by name.
// Each reads its configuration from the environment the host gives its
// process.
var builtins = pluginhost.Builtins{
	commercetools.Name: func(getenv func(string) string) (adapter.Adapter, error) {
		return commercetools.NewFromEnv(getenv)
	},
	generic.Name:     func(getenv func(string) string) (adapter.Adapter, error) { return generic.NewFromEnv(getenv) },
	saleor.Name:      func(getenv func(string) string) (adapter.Adapter, error) { return saleor.NewFromEnv(getenv) },
	vendure.Name:     func(getenv func(string) string) (adapter.Adapter, error) { return vendure.NewFromEnv(getenv) },
	woocommerce.Name: func(getenv func(string) string) (adapter.Adapter, error) { return woocommerce.NewFromEnv(getenv) },
}

// loadConfig reads the settings for the command name; a problem is reported
// on stderr with a pointer to the config command.
func loadConfig(e *cli.Env, name string) (*config.Config, error) {
	cfg, _, err := config.Load(e.Getenv, e.VariableNames(), builtins.Names())
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: %v\nRun '%s config' to see every setting.\n", name, err, progName)
		return nil, &cli.ExitError{Code: cli.ExitFailure, Err: err, Reported: true}
	}
	return cfg, nil
}

// newLogger is the configured logger, with the request id of each record's
// context added.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	return slog.New(httpapi.LogHandler(cfg.LogHandler(w)))
}

// daemon is what serve runs, built from the configuration: the store, the
// Trustly client and the engine on top of them, and pay links.
type daemon struct {
	idem   *store.RedisIdempotency
	engine *engine.Engine
	links  *paylink.Links
}

// newDaemon builds the store, the Trustly client (TEST, LIVE or SIM by
// configuration) and the engine. Nothing runs yet. now is the clock of the
// engine and the pay links.
func newDaemon(cfg *config.Config, log *slog.Logger, m *metrics.Set, db *store.DB, now func() time.Time) (*daemon, error) {
	cc := cfg.TrustlyClientConfig()
	cc.Logger = log
	client, err := trustly.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("trustly client: %w", err)
	}
	eng, err := engine.New(engine.Config{
		Store:               db.Orders(cfg.OrdersOptions()),
		Trustly:             metrics.MeteredTrustly(client, m),
		Environment:         cfg.TrustlyEnvironment(),
		Verifier:            trustly.NewVerifierKey(cfg.TrustlyEnvironment(), cfg.TrustlyPublicKey()),
		MerchantKey:         cfg.MerchantKey(),
		NotificationURL:     cfg.NotificationURL(),
		RefundBalanceMaxAge: cfg.RefundBalanceMaxAge,
		KYC:                 engine.KYCPolicy{MinimumAge: cfg.KYCMinimumAge, MatchNationalID: cfg.KYCMatchNationalID},
		Logger:              log,
		Observer:            m,
		Now:                 now,
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	senders, err := cfg.PayLinkSenders()
	if err != nil {
		return nil, err
	}
	sealKey, err := paylink.SealKey(cfg.MerchantKey())
	if err != nil {
		return nil, err
	}
	return &daemon{
		idem:   db.Idempotency(store.IdempotencyOptions{}),
		engine: eng,
		links: &paylink.Links{Log: log, Engine: eng, Store: db.PayLinks(store.PayLinkOptions{}),
			BaseURL: cfg.PublicBaseURL, TTL: cfg.PayLinkTTL, Senders: senders, Now: now, SealKey: sealKey},
	}, nil
}

// outboxStats reads the outbox's figures for /metrics.
func outboxStats(o *engine.Outbox) func(context.Context) (metrics.OutboxStats, error) {
	return func(ctx context.Context) (metrics.OutboxStats, error) {
		s, err := o.Stats(ctx)
		if err != nil {
			return metrics.OutboxStats{}, fmt.Errorf("outbox stats: %w", err)
		}
		return metrics.OutboxStats{Depth: s.Depth, OldestAge: s.OldestAge, Dead: s.Dead, Retrying: s.Retrying,
			Delivered: s.Delivered, Retried: s.Retried, DeadLettered: s.DeadLettered, Stale: s.Stale}, nil
	}
}
