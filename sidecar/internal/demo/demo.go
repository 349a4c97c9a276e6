// Package demo is the sidecar tried on one machine with nothing but its
// binary: the simulator, the sidecar (SIM environment, embedded store) and a
// tiny shop that talks to the sidecar's shop API like a real one would.
// `make run` starts it.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
)

//go:embed pages/*.html
var demoFiles embed.FS

// demoTemplates are parsed on first use: every command of the binary, and
// each adapter process it starts, would pay for them at start-up otherwise.
var demoTemplates = sync.OnceValue(func() *template.Template {
	return template.Must(template.ParseFS(demoFiles, "pages/*.html"))
})

// DefaultAddr is where the shop page listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8000"

// Serve runs the sidecar (its serve command) with the settings getenv gives,
// logging to stderr, until ctx ends.
type Serve func(ctx context.Context, getenv func(string) string, stderr io.Writer) error

// Options are the demo's: where the shop listens, how the bank page is shown
// (iframe or redirect), whether the sidecar and simulator log at info level.
type Options struct {
	Addr         string
	Presentation string
	Verbose      bool
	Serve        Serve
}

// Run starts the simulator, the sidecar and the shop page, prints the
// shop's URL on stdout and runs until ctx ends.
func Run(ctx context.Context, opts Options, stdout, stderr io.Writer) error {
	level := slog.LevelWarn
	if opts.Verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stack, err := startStack(ctx, log, level, stderr, opts.Serve)
	if err != nil {
		return err
	}
	defer stack.close()

	shop := newShop(stack.private, &http.Client{Timeout: 90 * time.Second}, opts.Presentation)
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("shop page: %w", err)
	}
	srv := &http.Server{Handler: shop.routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	fmt.Fprintf(stdout, "Demo shop (Trustly simulator, in-memory store): open http://%s/\nPress Ctrl-C to stop.\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-stack.done:
		if err != nil {
			return fmt.Errorf("sidecar: %w", err)
		}
	}
	fmt.Fprintln(stdout, "Stopping.")
	return nil
}

// demoStack is the simulator and the sidecar, both in this process.
type demoStack struct {
	sim     *sim.Server
	private string // the sidecar's private listener, http://HOST:PORT
	done    chan error
	cancel  context.CancelFunc
	dir     string
}

func (d *demoStack) close() {
	d.cancel()
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
	}
	d.sim.Close()
	os.RemoveAll(d.dir)
}

func startStack(ctx context.Context, log *slog.Logger, level slog.Level, stderr io.Writer, serve Serve) (*demoStack, error) {
	merchant, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	simKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	password, secret := randomHex(16), randomHex(24)
	s, err := sim.New(sim.Config{Username: "demo", Password: password, MerchantPublicKey: &merchant.PublicKey, Key: simKey,
		Relaxed: true, SettlementDelay: 5 * time.Second, Addr: "127.0.0.1:0", Logger: log.With("component", "sim")})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "trustly-sidecar-demo-")
	if err != nil {
		s.Close()
		return nil, err
	}
	pubFile := filepath.Join(dir, "trustly_sim_public.pem")
	if err := os.WriteFile(pubFile, s.PublicKeyPEM(), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	mk, err := trustly.MarshalPrivateKey(merchant)
	if err != nil {
		s.Close()
		return nil, err
	}
	// The NotificationURL names the public port, so it is chosen first.
	pub, err := pickFreeAddr()
	if err != nil {
		s.Close()
		return nil, err
	}
	priv, err := pickFreeAddr()
	if err != nil {
		s.Close()
		return nil, err
	}
	vars := serveSettings(s, pubFile, password, string(mk), pub, priv, secret, level)
	getenv := func(k string) string { return vars[strings.TrimPrefix(k, config.Prefix+"_")] }
	sctx, cancel := context.WithCancel(ctx)
	d := &demoStack{sim: s, private: "http://" + priv, done: make(chan error, 1), cancel: cancel, dir: dir}
	go func() {
		d.done <- serve(sctx, getenv, stderr)
	}()
	// Ready when the shop API answers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(d.private + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		select {
		case err := <-d.done:
			s.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("the sidecar stopped: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.close()
			return nil, errors.New("the sidecar did not become ready within 30s")
		}
	}
}

// serveSettings are the sidecar's settings in the demo (short names): SIM
// against s, the embedded store, quiet unless verbose.
func serveSettings(s *sim.Server, pubFile, password, merchantKey, pub, priv, secret string, level slog.Level) map[string]string {
	vars := map[string]string{
		"ENVIRONMENT": "SIM", "TRUSTLY_URL": s.APIURL(), "TRUSTLY_PUBLIC_KEY_FILE": pubFile,
		"TRUSTLY_USERNAME": "demo", "TRUSTLY_PASSWORD": password, "MERCHANT_PRIVATE_KEY": merchantKey,
		"PUBLIC_ADDR": pub, "PUBLIC_BASE_URL": "http://" + pub, "NOTIFICATION_SECRET": secret,
		"PRIVATE_ADDR": priv, "REDIS_MODE": "embedded", "LOG_FORMAT": "text", "LOG_LEVEL": strings.ToLower(level.String()),
		"ENGINE_TICK": "10s",
	}
	if level > slog.LevelInfo {
		// Quiet by default: without an adapter serve warns at every start
		// that status changes wait in the outbox, which is the demo's design.
		vars["LOG_LEVEL"] = "error"
	}
	return vars
}

func pickFreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
