package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/httpapi"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
)

// envRedisAddr is where `make test` (.ci/with-redis) hands the tests a
// redis-server. core/internal/redistest is out of reach from sidecar/ (Go's
// internal rule), so these tests use the same variable directly.
const envRedisAddr = "TRUSTLY_TEST_REDIS_ADDR"

// waitTimeout bounds every wait for something the test started; it is a
// safety net, never an assertion about speed.
const waitTimeout = 20 * time.Second

func testRedisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv(envRedisAddr)
	if addr == "" {
		t.Skipf("needs a redis-server: run with `make test` or .ci/with-redis (sets %s)", envRedisAddr)
	}
	return addr
}

// testPrefix is a Redis key prefix of this test alone.
func testPrefix(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "test:sidecar:" + hex.EncodeToString(b[:])
}

// redisProxy forwards TCP to a real Redis until Stop, after which
// connections are cut and new ones refused: a Redis outage without killing
// the shared server.
type redisProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newRedisProxy(t *testing.T, target string) *redisProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &redisProxy{ln: ln, target: target}
	go p.accept()
	t.Cleanup(p.Stop)
	return p
}

func (p *redisProxy) Addr() string { return p.ln.Addr().String() }

func (p *redisProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// Stop closes the listener and every connection.
func (p *redisProxy) Stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// waitFor polls out until re matches and returns the first submatch.
func waitFor(t *testing.T, out *logBuffer, re *regexp.Regexp, done <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before %s: %v\n%s", re, err, out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no %s within %s in:\n%s", re, waitTimeout, out)
	return ""
}

var (
	publicRe  = regexp.MustCompile(`public listener: (http://\S+)`)
	privateRe = regexp.MustCompile(`private listener: (http://\S+)`)
)

// localURL turns a listener URL bound to every interface into one to dial.
func localURL(u string) string {
	for _, any := range []string{"[::]", "0.0.0.0"} {
		u = strings.Replace(u, "://"+any+":", "://127.0.0.1:", 1)
	}
	return u
}

// waitHealthy polls url until it answers 200.
func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s not healthy within %s", url, waitTimeout)
}

func TestRunServeEndToEnd(t *testing.T) {
	env := validEnv(t).with("REDIS_MODE", "single", "REDIS_ADDRS", testRedisAddr(t), "REDIS_PREFIX", testPrefix(t), "LOG_FORMAT", "text")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout, stderr := &logBuffer{}, &logBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"trustly-sidecar", "serve"}, env.get, strings.NewReader(""), stdout, stderr)
	}()
	pub := waitFor(t, stdout, publicRe, done)
	priv := waitFor(t, stdout, privateRe, done)
	waitHealthy(t, pub+"/healthz")

	if a := do(t, http.MethodGet, priv+"/readyz", ""); a.Status != http.StatusOK || !strings.Contains(a.Body, `"redis":"ok"`) {
		t.Errorf("/readyz: %d %s", a.Status, a.Body)
	}
	// The engine verifies the signature: a forged notification is refused.
	if a := do(t, http.MethodPost, pub+"/trustly/notifications/"+testSecret, credit); a.Status != http.StatusBadRequest {
		t.Errorf("notification: %d %s", a.Status, a.Body)
	}
	if a := do(t, http.MethodGet, pub+"/metrics", ""); a.Status != http.StatusNotFound {
		t.Errorf("/metrics on the public listener: %d", a.Status)
	}
	if a := do(t, http.MethodGet, priv+"/metrics", ""); a.Status != http.StatusOK || !strings.Contains(a.Body, "trustly_sidecar_notifications_total") {
		t.Errorf("/metrics: %d", a.Status)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	logs := stderr.String()
	for _, secret := range []string{testSecret, testPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold a secret:\n%s", logs)
		}
	}
	if !strings.Contains(logs, "msg=stopped") {
		t.Errorf("no clean stop logged:\n%s", logs)
	}
}

// startServe runs serve with cfg and h until the test ends.
func startServe(t *testing.T, cfg *config.Config, h httpapi.NotificationHandler) (pub, priv string, cancel context.CancelFunc, done chan error) {
	t.Helper()
	db, err := cfg.OpenStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	stdout := &logBuffer{}
	done = make(chan error, 1)
	go func() {
		done <- serve(ctx, slog.New(slog.DiscardHandler), stdout, cfg, metrics.New(), db, services{notifications: h})
	}()
	pub = localURL(waitFor(t, stdout, publicRe, done))
	priv = localURL(waitFor(t, stdout, privateRe, done))
	waitHealthy(t, pub+"/healthz")
	return pub, priv, cancel, done
}

func TestReadyzFailsWhileRedisIsDown(t *testing.T) {
	proxy := newRedisProxy(t, testRedisAddr(t))
	cfg := mustLoad(t, validEnv(t).with("REDIS_MODE", "single", "REDIS_ADDRS", proxy.Addr(), "REDIS_PREFIX", testPrefix(t)))
	_, priv, _, _ := startServe(t, cfg, pendingEngine{})

	if a := do(t, http.MethodGet, priv+"/readyz", ""); a.Status != http.StatusOK {
		t.Fatalf("/readyz with Redis up: %d %s", a.Status, a.Body)
	}
	proxy.Stop()
	a := do(t, http.MethodGet, priv+"/readyz", "")
	if a.Status != http.StatusServiceUnavailable || !strings.Contains(a.Body, `"redis":"fail"`) || !strings.Contains(a.Body, `"status":"not_ready"`) {
		t.Errorf("/readyz with Redis down: %d %s", a.Status, a.Body)
	}
}

func TestPrivateListenerBeyondLocalhostNeedsTheToken(t *testing.T) {
	env := validEnv(t).with("PRIVATE_ADDR", "0.0.0.0:0")
	if r := cliEnv(t, env, "serve"); r.code != cli.ExitFailure || !strings.Contains(r.stderr, "SHOP_API_TOKEN") {
		t.Fatalf("serve on 0.0.0.0 without a token: %v", r)
	}
	_, priv, _, _ := startServe(t, mustLoad(t, env.with("SHOP_API_TOKEN", testToken)), pendingEngine{})
	if a := do(t, http.MethodGet, priv+"/v1/balance", ""); a.Status != http.StatusUnauthorized {
		t.Errorf("without the token: %d %s", a.Status, a.Body)
	}
	if a := do(t, http.MethodGet, priv+"/v1/balance", "", "Authorization", "Bearer "+testToken); a.Status != http.StatusNotImplemented {
		t.Errorf("with the token: %d %s", a.Status, a.Body)
	}
}

// blockingEngine holds every notification until released.
type blockingEngine struct {
	entered chan struct{}
	release chan struct{}
}

func newBlockingEngine() *blockingEngine {
	return &blockingEngine{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (b *blockingEngine) HandleNotification(ctx context.Context, _ []byte) ([]byte, error) {
	b.entered <- struct{}{}
	<-b.release
	if err := ctx.Err(); err != nil {
		return nil, err // shutdown must not cancel a notification in flight
	}
	return []byte(`{"result":"applied"}`), nil
}

// waitRefused polls until addr refuses connections: the listener is closed.
func waitRefused(t *testing.T, url string) {
	t.Helper()
	host := strings.TrimPrefix(url, "http://")
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", host)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections", host)
}

func TestGracefulShutdownFinishesANotificationInFlight(t *testing.T) {
	engine := newBlockingEngine()
	pub, _, cancel, done := startServe(t, mustLoad(t, validEnv(t)), engine)

	answered := make(chan answer, 1)
	go func() {
		resp, err := http.Post(pub+"/trustly/notifications/"+testSecret, "application/json", strings.NewReader(credit))
		if err != nil {
			answered <- answer{Body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- answer{Status: resp.StatusCode, Body: string(b)}
	}()
	<-engine.entered

	cancel()
	waitRefused(t, pub) // shutdown has begun: no new connections
	select {
	case err := <-done:
		t.Fatalf("serve returned while a notification was in flight: %v", err)
	default:
	}

	close(engine.release)
	a := <-answered
	if a.Status != http.StatusOK || a.Body != `{"result":"applied"}` {
		t.Errorf("the notification in flight got %d %q, want its reply", a.Status, a.Body)
	}
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestShutdownTimeoutCutsOffStuckRequests(t *testing.T) {
	engine := newBlockingEngine()
	defer close(engine.release)
	cfg := mustLoad(t, validEnv(t).with("SHUTDOWN_TIMEOUT", "1ms"))
	pub, _, cancel, done := startServe(t, cfg, engine)
	go func() {
		resp, err := http.Post(pub+"/trustly/notifications/"+testSecret, "application/json", strings.NewReader(credit))
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-engine.entered
	cancel()
	err := <-done
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "public listener: requests still running after 1ms were cut off") {
		t.Errorf("serve: %v, want the public listener's requests cut off", err)
	}
}

// pendingEngine answers every notification 501, for tests of the listeners
// without an engine.
type pendingEngine struct{}

func (pendingEngine) HandleNotification(context.Context, []byte) ([]byte, error) {
	return nil, httpapi.ErrNotImplemented
}
