package adapter

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
)

// Environment variables of the plugin process.
const (
	// EnvDebug, when "1", makes Serve run the adapter in debug mode (see
	// WithDebug), so `TRUSTLY_ADAPTER_DEBUG=1 dlv debug ./cmd/myadapter`
	// works without changing main.
	EnvDebug = "TRUSTLY_ADAPTER_DEBUG"
	// EnvLogLevel sets the plugin's log level (trace, debug, info, warn,
	// error); the host's own level filters again.
	EnvLogLevel = "TRUSTLY_ADAPTER_LOG_LEVEL"
	// EnvReattach is what a debug-mode adapter tells the person to set for
	// the sidecar: a JSON object from adapter name to its address. The
	// sidecar then connects to the running adapter instead of starting one.
	EnvReattach = "TRUSTLY_SIDECAR_REATTACH_ADAPTERS"
	// EnvTLS is set by the sidecar: a certificate and its key (PEM) for
	// this process to serve with. Without it go-plugin makes one itself, on
	// P-521, which costs the adapter's start (and the host's check of it)
	// tens of milliseconds of CPU; the host's P-256 one is as good for a
	// connection between two local processes. Either way the host trusts
	// only this process's certificate, and this process only the host's.
	EnvTLS = "TRUSTLY_ADAPTER_TLS"
)

// ServeOption configures Serve.
type ServeOption func(*serveConfig)

type serveConfig struct {
	logger hclog.Logger
	debug  bool
	out    io.Writer // where debug mode prints the reattach line
	// debugCtx ends a debug-mode server; tests use it, people press Ctrl-C.
	debugCtx context.Context
}

// WithLogger replaces the default logger (JSON on stderr, which the host
// parses and re-logs under the adapter's name).
func WithLogger(l hclog.Logger) ServeOption { return func(c *serveConfig) { c.logger = l } }

// WithDebug runs the adapter in-process without a host to start it: it
// prints the EnvReattach line for the sidecar and serves until interrupted.
// Run the adapter under a debugger this way, then start the sidecar with the
// printed variable; breakpoints in the adapter hit as the sidecar calls it.
func WithDebug() ServeOption { return func(c *serveConfig) { c.debug = true } }

// Serve runs impl as a plugin until the host stops it. It is the whole of
// an adapter's main:
//
//	func main() { adapter.Serve(myplatform.New(os.Getenv)) }
//
// Outside debug mode Serve does not return: the process exits when the host
// stops it, or when the host is gone (killed without a chance to stop it:
// Serve watches for its parent going away).
func Serve(impl Adapter, opts ...ServeOption) {
	if err := serve(impl, opts...); err != nil {
		fmt.Fprintln(os.Stderr, "adapter:", err)
		os.Exit(1)
	}
}

func serve(impl Adapter, opts ...ServeOption) error {
	c := &serveConfig{out: os.Stdout, debug: os.Getenv(EnvDebug) == "1"}
	for _, o := range opts {
		o(c)
	}
	if c.logger == nil {
		c.logger = hclog.New(&hclog.LoggerOptions{
			Level:      hclog.LevelFromString(envOr(EnvLogLevel, "info")),
			Output:     os.Stderr,
			JSONFormat: true, // the host parses JSON lines into structured entries
		})
	}
	// Adapters log with hclog.Default() (or the logger they were given);
	// either way the line reaches the host.
	hclog.SetDefault(c.logger)

	cfg := &plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(impl),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           c.logger,
	}
	if v := os.Getenv(EnvTLS); v != "" && !c.debug {
		_ = os.Unsetenv(EnvTLS) // the key is this process's alone, not the adapter code's children's
		tlsCfg, err := hostGivenTLS(v, os.Getenv("PLUGIN_CLIENT_CERT"))
		if err != nil {
			return err
		}
		cfg.TLSProvider = func() (*tls.Config, error) { return tlsCfg, nil }
	}
	if !c.debug {
		// Debug mode is left out: a person at a debugger owns that
		// process, and its parent is the debugger, not a host.
		if gone := parentGone(); gone != nil {
			go exitWithParent(c.logger, parentPoll, gone, exitOrphaned)
		}
		plugin.Serve(cfg)
		return nil
	}
	return serveDebug(impl, cfg, c)
}

// hostGivenTLS is the server side of go-plugin's AutoMTLS with the
// certificate the host made (EnvTLS): it serves with it and accepts only
// the host's own certificate (PLUGIN_CLIENT_CERT), as AutoMTLS does.
func hostGivenTLS(pair, hostCert string) (*tls.Config, error) {
	cert, err := tls.X509KeyPair([]byte(pair), []byte(pair))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvTLS, err)
	}
	host := x509.NewCertPool()
	if !host.AppendCertsFromPEM([]byte(hostCert)) {
		return nil, fmt.Errorf("%s is set but the host's certificate (PLUGIN_CLIENT_CERT) is missing or unreadable", EnvTLS)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    host,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// serveDebug is go-plugin's test mode, managed for a person: serve, print
// how to attach, wait for Ctrl-C.
func serveDebug(impl Adapter, cfg *plugin.ServeConfig, c *serveConfig) error {
	ctx := c.debugCtx
	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	reattachCh := make(chan *plugin.ReattachConfig, 1)
	closeCh := make(chan struct{})
	cfg.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattachCh, CloseCh: closeCh}
	go plugin.Serve(cfg)

	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattachCh:
	case <-closeCh:
		return errors.New("debug server stopped before it was ready")
	}
	name := "adapter"
	if d, err := impl.Describe(ctx); err == nil && d.Name != "" {
		name = d.Name
	}
	line, err := FormatReattach(map[string]*plugin.ReattachConfig{name: rc})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Adapter %q is serving in debug mode. Start the sidecar with:\n\n\t%s='%s'\n\nCtrl-C stops it.\n",
		name, EnvReattach, line)
	<-closeCh
	return nil
}

// reattachAddr is a net.Addr as JSON: go-plugin's ReattachConfig holds an
// interface that encoding/json cannot round-trip.
type reattachAddr struct {
	Network string `json:"network"`
	Address string `json:"address"`
}

type reattachJSON struct {
	Protocol        string       `json:"protocol"`
	ProtocolVersion int          `json:"protocol_version"`
	Pid             int          `json:"pid"`
	Addr            reattachAddr `json:"addr"`
}

// FormatReattach encodes reattach configs for EnvReattach.
func FormatReattach(rcs map[string]*plugin.ReattachConfig) (string, error) {
	out := make(map[string]reattachJSON, len(rcs))
	for name, rc := range rcs {
		out[name] = reattachJSON{
			Protocol: string(rc.Protocol), ProtocolVersion: rc.ProtocolVersion, Pid: rc.Pid,
			Addr: reattachAddr{Network: rc.Addr.Network(), Address: rc.Addr.String()},
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode reattach config: %w", err)
	}
	return string(b), nil
}

// ParseReattach decodes EnvReattach's value into configs for the host. The
// configs are marked Test, so the host never kills a process it did not
// start: the person at the debugger owns it.
func ParseReattach(s string) (map[string]*plugin.ReattachConfig, error) {
	var in map[string]reattachJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("parse %s: %w", EnvReattach, err)
	}
	out := make(map[string]*plugin.ReattachConfig, len(in))
	for name, r := range in {
		var addr net.Addr
		var err error
		switch r.Addr.Network {
		case "unix":
			addr, err = net.ResolveUnixAddr("unix", r.Addr.Address)
		case "tcp":
			addr, err = net.ResolveTCPAddr("tcp", r.Addr.Address)
		default:
			err = fmt.Errorf("unknown network %q", r.Addr.Network)
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: adapter %q: %w", EnvReattach, name, err)
		}
		out[name] = &plugin.ReattachConfig{
			Protocol: plugin.Protocol(r.Protocol), ProtocolVersion: r.ProtocolVersion,
			Pid: r.Pid, Addr: addr, Test: true,
		}
	}
	return out, nil
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}
