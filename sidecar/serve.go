package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/bridge"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/httpapi"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/paylink"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/storecheck"
)

func runServe(ctx context.Context, e *cli.Env, name string, args []string) error {
	fl := cli.NewFlagSet(e, name, "",
		"Runs the sidecar: the public listener (Trustly notifications, /healthz) and the\n"+
			"private one (the shop API /v1, /readyz, /metrics). Settings come from the\n"+
			"environment; '"+progName+" config' lists them. SIGTERM or Ctrl-C stops it gracefully.")
	if _, err := cli.ParseArgs(fl, args, 0); err != nil {
		return err
	}
	cfg, err := loadConfig(e, name)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.Stderr)
	m := metrics.New()
	// The adapter's process takes longer to start than all the rest
	// (exec, its own start-up, the mTLS handshake): it starts first and
	// comes up while Redis is checked. /readyz waits for it as before.
	var host *pluginhost.Host
	var adapterTask httpapi.Task
	var src pluginhost.Source
	if cfg.Adapter != "" {
		src, err = cfg.AdapterSource(e.Getenv)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		host = pluginhost.New(src, pluginhost.Options{Logger: log, OnRestart: func() { m.PluginRestart(src.Name) }})
		var stop func() error
		adapterTask, stop = startEarly(ctx, "adapter", host.Run)
		defer func() { _ = stop() }()
	}
	// The Redis client has one process-wide logger; serve owns the process.
	store.LogTo(log)
	db, err := cfg.OpenStore()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer db.Close()
	log.Info("starting", "version", version, "commit", readBuild().commit(), "crypto", trustly.CryptoBackend(), "environment", cfg.TrustlyEnvironment(), "trustly_url", cfg.TrustlyAPIURL(),
		"public_base_url", cfg.PublicBaseURL, "redis", cfg.RedisDescription(), "redis_replica_acks", db.Replication().String())
	m.SetReplicaAckTimeouts(db.ReplicaAckTimeouts)
	// What the store requires of Redis (core/store/LAYOUT.md): checked
	// before anything listens, and while serve runs.
	guard := storecheck.New(db, storecheck.Options{Log: log, Metrics: m, Live: cfg.TrustlyEnvironment() == trustly.Live,
		AllowEviction: cfg.RedisAllowEviction, AllowSetting: config.Key("REDIS_ALLOW_EVICTION"), Now: e.Now})
	if err := guard.Start(ctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	d, err := newDaemon(cfg, log, m, db, e.Now)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	m.SetEngineStats(d.engine.Stats)
	svc := services{
		notifications: d.engine,
		links:         d.links,
		ready: []httpapi.ReadinessCheck{
			{Name: "redis_data", Check: guard.CheckData},
			{Name: "redis_durability", Check: guard.Durability, Advisory: true},
		},
		background: []httpapi.Task{
			{Name: "engine", Run: func(ctx context.Context) error { return d.engine.Run(ctx, cfg.EngineTick) }},
			{Name: "redis check", Run: guard.Run},
		},
	}
	var deliverer engine.Deliverer
	var hooks *httpapi.Webhooks
	if host != nil {
		deliverer = bridge.New(host.Adapter(), log, host.WaitReady)
		hooks = httpapi.NewWebhooks(log, m, d.engine, d.idem, host.Adapter(), cfg.ShopDefaults(), host.WaitReady, host.Description, e.Now, cfg.PublicBaseURL)
		svc.platform = hooks.PublicHandler(cfg.MaxRequestBytes)
		svc.ready = append(svc.ready, httpapi.ReadinessCheck{Name: "adapter", Check: func(context.Context) error {
			if !host.Ready() {
				return fmt.Errorf("adapter %s: %w", src.Name, bridge.ErrNoAdapter)
			}
			return nil
		}})
		svc.background = append(svc.background, adapterTask, httpapi.Task{Name: "platform commands", Run: hooks.Drain})
	}
	svc.api = httpapi.NewAPI(log, m, d.engine, d.idem, hooks, d.links)
	outbox := d.engine.Outbox(deliverer, engine.OutboxConfig{Group: bridge.Group})
	m.SetOutboxStats(outboxStats(outbox))
	if deliverer != nil {
		svc.background = append(svc.background, httpapi.Task{Name: "outbox", Run: outbox.Run})
	} else {
		log.Warn("no adapter configured: status changes wait in the outbox", "setting", config.Key("ADAPTER"))
	}
	return serve(ctx, log, e.Stdout, cfg, m, db, svc)
}

// startEarly runs run now, before the listeners, yet stops it with the
// background tasks, after the listeners (httpapi.Serve): the task it
// returns waits for its context to end, then stops run. stop does that at
// once, for a return before the task ran; calling both is fine.
func startEarly(ctx context.Context, name string, run func(context.Context) error) (task httpapi.Task, stop func() error) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	var err error
	go func() {
		err = run(rctx)
		close(done)
	}()
	stop = func() error {
		cancel()
		<-done
		return err
	}
	return httpapi.Task{Name: name, Run: func(bg context.Context) error {
		select {
		case <-bg.Done():
		case <-done: // ended by itself: the task ends with it
		}
		return stop()
	}}, stop
}

// services is what serve runs besides its listeners.
type services struct {
	notifications httpapi.NotificationHandler
	api           *httpapi.API   // nil: /v1 answers 501
	links         *paylink.Links // nil: no /pay pages
	platform      http.Handler   // nil: no /platform routes (no adapter)
	ready         []httpapi.ReadinessCheck
	// background runs until the listeners have shut down.
	background []httpapi.Task
}

// serve runs both listeners and svc until ctx is cancelled, then shuts down
// gracefully (httpapi.Serve).
func serve(ctx context.Context, log *slog.Logger, stdout io.Writer, cfg *config.Config, m *metrics.Set, db *store.DB, svc services) error {
	ready := append([]httpapi.ReadinessCheck{{Name: "redis", Check: db.Ping}}, svc.ready...)
	// The same checks on /metrics: beside the shop, readiness does not follow them.
	m.SetReadiness(func(ctx context.Context) map[string]bool {
		out := map[string]bool{}
		for _, c := range ready {
			if !c.Advisory {
				out[c.Name] = c.Check(ctx) == nil
			}
		}
		return out
	})
	listeners := []httpapi.Listener{
		{Name: "public", Addr: cfg.PublicAddr,
			Handler: httpapi.NewPublic(log, m, cfg.NotificationSecret, cfg.MaxNotificationBytes, svc.notifications, svc.links, svc.platform)},
		{Name: "private", Addr: cfg.PrivateAddr,
			Handler: privateHandler(cfg, m, httpapi.NewPrivate(log, m, cfg.ShopAPIToken, cfg.MaxRequestBytes, ready, svc.api))},
	}
	t := httpapi.Timeouts{ReadHeader: cfg.ReadHeaderTimeout, Read: cfg.ReadTimeout, Write: cfg.WriteTimeout,
		Idle: cfg.IdleTimeout, Shutdown: cfg.ShutdownTimeout}
	return httpapi.Serve(ctx, log, stdout, t, listeners, svc.background)
}

// privateHandler adds the profiler to the private listener when asked for,
// and the metrics-only token when one is set.
func privateHandler(cfg *config.Config, m *metrics.Set, h http.Handler) http.Handler {
	if cfg.Pprof {
		h = httpapi.WithPprof(h, cfg.ShopAPIToken)
	}
	if cfg.MetricsToken != "" {
		h = httpapi.WithMetricsToken(h, cfg.MetricsToken, m.Handler())
	}
	return h
}
