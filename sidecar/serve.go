package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
)

// maxHeaderBytes bounds request headers on both listeners; net/http's
// default (1 MiB) is far more than a notification or an API call needs.
const maxHeaderBytes = 64 << 10

func runServe(ctx context.Context, e *env, name string, args []string) error {
	fl := newFlagSet(e, name, "",
		"Runs the sidecar: the public listener (Trustly notifications, /healthz) and the\n"+
			"private one (the shop API /v1, /readyz, /metrics). Settings come from the\n"+
			"environment; '"+progName+" config' lists them. SIGTERM or Ctrl-C stops it gracefully.")
	if _, err := parseArgs(fl, args, 0); err != nil {
		return err
	}
	cfg, _, err := loadConfig(e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\nRun '%s config' to see every setting.\n", name, err, progName)
		return &exitError{code: exitFailure, err: err, reported: true}
	}
	log := cfg.logger(e.stderr)
	// go-redis has one process-wide logger; serve owns the process.
	redis.SetLogger(redisLogger{log})
	rdb, err := cfg.redisClient()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer rdb.Close()
	log.Info("starting", "version", versionString(), "environment", cfg.env, "trustly_url", cfg.trustlyURL,
		"public_base_url", cfg.PublicBaseURL, "redis", redisDescription(cfg))
	m := NewMetrics()
	d, err := newDaemon(cfg, log, m, rdb)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	m.SetEngineStats(d.engine.Stats)
	svc := services{
		notifications: d.engine,
		api:           &v1API{log: log, m: m, engine: d.engine, idem: d.idem, links: d.links},
		links:         d.links,
		background: []task{
			{"engine", func(ctx context.Context) error { return d.engine.Run(ctx, cfg.EngineTick) }},
		},
	}
	var deliverer engine.Deliverer
	if cfg.Adapter != "" {
		src, err := cfg.adapterSource(e.getenv)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		host := pluginhost.New(src, pluginhost.Options{Logger: log, OnRestart: func() { m.PluginRestart(src.Name) }})
		deliverer = &bridge{a: host.Adapter(), log: log, ready: host.WaitReady}
		svc.api.hooks = newWebhooks(cfg, log, m, d, host)
		svc.ready = append(svc.ready, readinessCheck{name: "adapter", check: func(context.Context) error {
			if !host.Ready() {
				return fmt.Errorf("adapter %s: %w", src.Name, errNoAdapter)
			}
			return nil
		}})
		svc.background = append(svc.background, task{"adapter", host.Run})
	}
	outbox := d.engine.Outbox(deliverer, engine.OutboxConfig{Group: outboxGroup})
	m.SetOutboxStats(outboxStats(outbox))
	if deliverer != nil {
		svc.background = append(svc.background, task{"outbox", outbox.Run})
	} else {
		log.Warn("no adapter configured: status changes wait in the outbox", "setting", key("ADAPTER"))
	}
	return serve(ctx, log, e.stdout, cfg, m, rdb, svc)
}

// services is what serve runs besides its listeners.
type services struct {
	notifications notificationHandler
	api           *v1API    // nil: /v1 answers 501
	links         *payLinks // nil: no /pay pages
	ready         []readinessCheck
	// background runs until the listeners have shut down.
	background []task
}

// task is one background loop: it runs until its context ends.
type task struct {
	name string
	run  func(context.Context) error
}

func redisDescription(cfg *Config) string {
	if cfg.RedisMode == redisModeEmbedded {
		return "embedded (in memory)"
	}
	return cfg.redis.String() // hides the passwords
}

// redisLogger sends go-redis's own messages (pool dial failures) to slog.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// serve runs both listeners until ctx is cancelled, then shuts down
// gracefully: it stops accepting, lets requests in flight (notifications
// above all: their effect must be durable before Trustly hears OK) finish
// within cfg.ShutdownTimeout, and returns. The listeners' addresses are
// printed to stdout once they accept connections.
func serve(ctx context.Context, log *slog.Logger, stdout io.Writer, cfg *Config, m *Metrics, rdb redis.UniversalClient, svc services) error {
	ready := append([]readinessCheck{{name: "redis", check: func(ctx context.Context) error {
		return rdb.Ping(ctx).Err()
	}}}, svc.ready...)
	notifications := svc.notifications

	type listener struct {
		name string
		srv  *http.Server
		ln   net.Listener
	}
	listeners := []*listener{
		{name: "public", srv: cfg.httpServer(ctx, log, newPublicServer(log, m, cfg.NotificationSecret, cfg.MaxNotificationBytes, notifications, svc.links))},
		{name: "private", srv: cfg.httpServer(ctx, log, newPrivateServer(log, m, cfg.ShopAPIToken, cfg.MaxRequestBytes, ready, svc.api))},
	}
	addrs := map[string]string{"public": cfg.PublicAddr, "private": cfg.PrivateAddr}
	for _, l := range listeners {
		ln, err := net.Listen("tcp", addrs[l.name])
		if err != nil {
			for _, o := range listeners {
				if o.ln != nil {
					o.ln.Close()
				}
			}
			return fmt.Errorf("%s listener: %w", l.name, err)
		}
		l.ln = ln
	}

	// Background loops stop only after the listeners: a notification in
	// flight may still need them.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	var bg sync.WaitGroup
	for _, t := range svc.background {
		bg.Go(func() {
			if err := t.run(bgCtx); err != nil && bgCtx.Err() == nil {
				log.Error("background task ended", "task", t.name, "err", err)
			}
		})
	}

	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() {
			if err := l.srv.Serve(l.ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", l.name, err)
			}
		}()
	}
	for _, l := range listeners {
		log.Info("listening", "listener", l.name, "addr", l.ln.Addr().String())
		fmt.Fprintf(stdout, "%s listener: http://%s\n", l.name, l.ln.Addr())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		log.Error("listener failed", "err", serveErr)
	}

	log.Info("shutting down: waiting for requests in flight", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	errs := make([]error, len(listeners))
	var wg sync.WaitGroup
	for i, l := range listeners {
		wg.Go(func() {
			if err := l.srv.Shutdown(sctx); err != nil {
				l.srv.Close()
				errs[i] = fmt.Errorf("%s listener: requests still running after %s were cut off: %w", l.name, cfg.ShutdownTimeout, err)
			}
		})
	}
	wg.Wait()
	stopBackground()
	bg.Wait()
	err := errors.Join(serveErr, errors.Join(errs...))
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// httpServer returns a server with every timeout set explicitly. Requests
// run on a context that carries ctx's values but not its cancellation, so a
// SIGTERM never cuts a notification short; Shutdown waits for it instead.
func (c *Config) httpServer(ctx context.Context, log *slog.Logger, h http.Handler) *http.Server {
	base := context.WithoutCancel(ctx)
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
}
