// Package pluginhost runs platform adapters as plugin processes and keeps
// them running: start, health checks, restart with backoff after a crash,
// and readiness while down. Status changes reach the adapter through the
// engine's outbox (see the sidecar's bridge), which survives a restart.
// go-plugin starts and kills plugins; it does not restart them —
// that is this package's job.
package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Options tune a Host. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// HealthInterval is how often a running plugin is pinged (default 5s).
	// A call that fails retryably triggers a check at once, so a crash is
	// usually noticed before the next tick.
	HealthInterval time.Duration
	// CallTimeout bounds a call whose context has no deadline (default
	// 10s): a hung plugin never holds a caller forever.
	CallTimeout time.Duration
	// StartTimeout bounds starting a plugin and its first Describe
	// (default 10s).
	StartTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between restarts (defaults
	// 100ms, 30s); the wait doubles per failed start and resets once a
	// plugin has stayed up for StableAfter (default 1m).
	MinBackoff, MaxBackoff time.Duration
	StableAfter            time.Duration
	// OnRestart, when set, is called each time a plugin becomes ready
	// again after the first start (metrics). It must not block.
	OnRestart func()
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HealthInterval, 5*time.Second)
	def(&o.CallTimeout, 10*time.Second)
	def(&o.StartTimeout, 10*time.Second)
	def(&o.MinBackoff, 100*time.Millisecond)
	def(&o.MaxBackoff, 30*time.Second)
	def(&o.StableAfter, time.Minute)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Host supervises one adapter plugin. Create it with New, run Run in a
// goroutine, and call the adapter through Adapter().
type Host struct {
	src  Source
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	cur     *instance // nil while down
	changed chan struct{}
	starts  int // times a plugin became ready

	check chan struct{} // a call saw a retryable failure: check health now
}

// instance is one running plugin process.
type instance struct {
	client  *plugin.Client
	rpc     plugin.ClientProtocol
	adapter adapter.Adapter
	desc    adapter.Description
	pid     int
}

// New returns a Host for src; nothing starts until Run.
func New(src Source, opts Options) *Host {
	opts = opts.withDefaults()
	return &Host{
		src: src, opts: opts, log: opts.Logger.With("adapter", src.Name),
		changed: make(chan struct{}), check: make(chan struct{}, 1),
	}
}

// Run starts the plugin and keeps it running until ctx ends; then it stops
// the plugin and returns nil. It returns early only when restarting cannot
// help: the plugin speaks an incompatible protocol (adapter.ErrIncompatible).
func (h *Host) Run(ctx context.Context) error {
	// Plugins are started from this goroutine (go-plugin forks in
	// client.Client), and Linux's parent-death signal (dieWithHost) fires
	// when the thread that forked exits, not the process. Go ends a thread
	// only when a goroutine locked to it exits; locking this one keeps the
	// forking thread alive, and ours alone, for as long as a plugin of
	// this Run can live (os/exec, SysProcAttr.Pdeathsig).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	failures := 0
	for {
		inst, err := h.start(ctx)
		if errors.Is(err, adapter.ErrIncompatible) {
			h.log.Error("adapter refused", "error", err)
			return err
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			wait := h.backoff(failures)
			h.log.Warn("adapter did not start; retrying", "error", err, "in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}

		upAt := time.Now()
		h.setCurrent(inst)
		h.log.Info("adapter ready", "name", inst.desc.Name, "version", inst.desc.Version, "pid", inst.pid, "reattached", h.src.Reattach != nil)
		reason := h.watch(ctx, inst)
		h.setCurrent(nil)
		h.stop(inst)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(upAt) >= h.opts.StableAfter {
			failures = 0
		}
		failures++
		wait := h.backoff(failures)
		h.log.Warn("adapter went down; restarting", "reason", reason, "in", wait)
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

func (h *Host) start(ctx context.Context) (*instance, error) {
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  adapter.Handshake,
		VersionedPlugins: adapter.PluginSets(nil),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		SkipHostEnv:      true, // the sidecar's secrets stay in the sidecar
		StartTimeout:     h.opts.StartTimeout,
		Logger:           newSlogLogger(h.opts.Logger, h.src.Name),
	}
	if rc := h.src.Reattach; rc != nil {
		// go-plugin does not negotiate on reattach: pick the set here.
		set, ok := adapter.PluginSets(nil)[rc.ProtocolVersion]
		if !ok {
			return nil, h.incompatible(fmt.Sprintf("plugin version: %d", rc.ProtocolVersion))
		}
		cfg.Reattach, cfg.Plugins, cfg.VersionedPlugins = rc, set, nil
	} else {
		// Mutual TLS as go-plugin's AutoMTLS does it, on a cheaper curve
		// (mtls.go).
		tlsCfg, tlsEnv, err := hostTLS()
		if err != nil {
			return nil, fmt.Errorf("adapter %s: %w", h.src.Name, err)
		}
		cmd := exec.Command(h.src.Path, h.src.Args...)
		cmd.Env = append(h.src.env(), tlsEnv...)
		dieWithHost(cmd)
		cfg.Cmd, cfg.TLSConfig = cmd, tlsCfg
	}
	client := plugin.NewClient(cfg)
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		// go-plugin says this only in words; it is the one start failure
		// a restart cannot fix.
		if strings.Contains(err.Error(), "incompatible API version") {
			return nil, h.incompatible(err.Error())
		}
		return nil, fmt.Errorf("adapter %s: start %s: %w", h.src.Name, h.src.Path, err)
	}
	raw, err := rpc.Dispense(adapter.PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("adapter %s: %w", h.src.Name, err)
	}
	a := raw.(adapter.Adapter)
	dctx, cancel := context.WithTimeout(ctx, h.opts.StartTimeout)
	desc, err := a.Describe(dctx)
	cancel()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("adapter %s: describe: %w", h.src.Name, err)
	}
	if desc.Name != h.src.Name {
		h.log.Warn("adapter describes itself under another name", "describes", desc.Name)
	}
	inst := &instance{client: client, rpc: rpc, adapter: a, desc: desc}
	if rc := client.ReattachConfig(); rc != nil {
		inst.pid = rc.Pid
	}
	return inst, nil
}

func (h *Host) incompatible(detail string) error {
	var ours []int
	for v := range adapter.PluginSets(nil) {
		ours = append(ours, v)
	}
	where := h.src.Path
	if h.src.Reattach != nil {
		where = "reattached process"
	}
	return fmt.Errorf("adapter %s (%s): %w: %s; this sidecar speaks protocol versions %v: rebuild the adapter against an adapter SDK that speaks one of them",
		h.src.Name, where, adapter.ErrIncompatible, detail, ours)
}

// watch returns when the plugin is found dead or ctx ends.
func (h *Host) watch(ctx context.Context, inst *instance) string {
	t := time.NewTicker(h.opts.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "shutting down"
		case <-t.C:
		case <-h.check:
		}
		if err := h.healthy(inst); err != nil {
			return err.Error()
		}
	}
}

// healthy pings the plugin over gRPC's health service, bounded, so a plugin
// that is stopped (not dead) still counts as down.
func (h *Host) healthy(inst *instance) error {
	if inst.client.Exited() {
		return errors.New("process exited")
	}
	done := make(chan error, 1)
	go func() { done <- inst.rpc.Ping() }()
	t := time.NewTimer(h.opts.HealthInterval)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("health check: %w", err)
		}
		return nil
	case <-t.C:
		return errors.New("health check timed out")
	}
}

func (h *Host) stop(inst *instance) {
	// Kill asks the plugin to exit, then kills it; a reattached (debug)
	// process is left alone by go-plugin.
	inst.client.Kill()
}

func (h *Host) setCurrent(inst *instance) {
	h.mu.Lock()
	if inst != nil {
		h.starts++
	}
	restarted := inst != nil && h.starts > 1
	h.cur = inst
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	if restarted && h.opts.OnRestart != nil {
		h.opts.OnRestart()
	}
}

func (h *Host) current() *instance {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// Ready reports whether the plugin is up; /readyz reports false while it is
// down or restarting.
func (h *Host) Ready() bool { return h.current() != nil }

// Description is the running plugin's self-description.
func (h *Host) Description() (adapter.Description, bool) {
	if inst := h.current(); inst != nil {
		return inst.desc, true
	}
	return adapter.Description{}, false
}

// Pid is the running plugin's process id, 0 while down.
func (h *Host) Pid() int {
	if inst := h.current(); inst != nil {
		return inst.pid
	}
	return 0
}

// Starts counts how many times a plugin became ready: 1 after the first
// start, 2 after the first restart, ...
func (h *Host) Starts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.starts
}

// WaitReady blocks until the plugin is up or ctx ends.
func (h *Host) WaitReady(ctx context.Context) error {
	for {
		h.mu.Lock()
		up, changed := h.cur != nil, h.changed
		h.mu.Unlock()
		if up {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("adapter %s: wait until ready: %w", h.src.Name, ctx.Err())
		}
	}
}

func (h *Host) backoff(failures int) time.Duration {
	d := h.opts.MinBackoff
	for i := 1; i < failures && d < h.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, h.opts.MaxBackoff)
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
