package pluginhost_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic/fakeshop"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
)

// bin holds the plugin executables TestMain builds: real processes, started
// by go-plugin exactly as in production.
var bin struct {
	fakesidecar, testplugin, generic string
	syncshop                         string // the out-of-tree example, its own module
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginhost-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin.fakesidecar = filepath.Join(dir, "fakesidecar")
	bin.testplugin = filepath.Join(dir, "testplugin")
	bin.generic = filepath.Join(dir, "trustly-adapter-generic")
	bin.syncshop = filepath.Join(dir, "syncshop")
	code := 1
	err = build("", dir, "./testdata/fakesidecar", "./testdata/testplugin", "../../../platforms/generic/cmd/trustly-adapter-generic")
	if err == nil {
		err = build("../../../adapter/examples/syncshop", dir, ".")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build runs go build in module directory mod (this package's when empty);
// it uses the go command's cache, so a rerun costs a link at most.
func build(mod, dir string, pkgs ...string) error {
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = mod
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build test plugins: %w", err)
	}
	return nil
}

var (
	webhookSecret  = []byte("whsec_0123456789abcdef")
	callbackSecret = []byte("cbsec_fedcba9876543210")
)

func genericEnv(shop *fakeshop.Shop) []string {
	return []string{
		generic.EnvWebhookSecret + "=" + string(webhookSecret),
		generic.EnvCallbackSecret + "=" + string(callbackSecret),
		generic.EnvCallbackURL + "=" + shop.URL,
	}
}

// fastOptions make a crash noticed and a restart done in test time. No
// test asserts how long anything took.
func fastOptions(log *slog.Logger) pluginhost.Options {
	return pluginhost.Options{
		Logger: log, HealthInterval: 50 * time.Millisecond, CallTimeout: 10 * time.Second,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}
}

// run starts h under the test and waits until the plugin is up.
func run(t testing.TB, h *pluginhost.Host) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := h.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
}

func TestBuiltinAdapterRoundTripsThroughItsOwnProcess(t *testing.T) {
	shop := fakeshop.New(t, callbackSecret)
	logs := &logBuffer{}
	src := pluginhost.Source{Name: "generic", Path: bin.fakesidecar, Args: []string{pluginhost.BuiltinCommand, "generic"}, Env: genericEnv(shop)}
	h := pluginhost.New(src, fastOptions(logs.logger()))
	run(t, h)
	if !h.Ready() {
		t.Fatal("not ready after WaitReady")
	}
	a := h.Adapter()
	ctx := t.Context()

	d, err := a.Describe(ctx)
	if err != nil || d.Name != "generic" {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	body := []byte(`{"event_id":"evt_1","type":"payment.requested","order":{"id":"1","amount_minor":100,"currency":"EUR","customer":{"id":"c"}}}`)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h2 := http.Header{}
	generic.SignRequest(h2, webhookSecret, now, body)
	cmds, err := a.Translate(ctx, adapter.Request{Method: "POST", Header: h2, Body: body, ReceivedAt: now})
	if err != nil || len(cmds) != 1 || cmds[0].IdempotencyKey != "generic:evt_1" {
		t.Fatalf("Translate = %+v, %v", cmds, err)
	}
	if err := a.ApplyStatus(ctx, adapter.StatusChange{ID: "chg_1", Order: adapter.Order{ID: "1"}, Status: adapter.StatusPaid}); err != nil {
		t.Fatal(err)
	}
	if got := shop.Snapshot("1"); got != "paid" {
		t.Errorf("shop has order 1 as %q, want paid", got)
	}
	if !logs.has(`"adapter":"generic"`) {
		t.Errorf("no log entry under the plugin's name:\n%s", logs)
	}
}

// TestAnOutOfTreeAdapterLoadsByPath runs the example adapter from
// adapter/examples/syncshop — a module of its own, importing only the SDK — through
// a synchronous exchange: translate, the host's result, the answer.
func TestAnOutOfTreeAdapterLoadsByPath(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }))
	defer api.Close()
	secret := "syncshop-secret-0123456789"
	h := pluginhost.New(pluginhost.External("syncshop", bin.syncshop,
		"SYNCSHOP_SECRET="+secret, "SYNCSHOP_API_URL="+api.URL, "SYNCSHOP_API_TOKEN=tok"), fastOptions(nil))
	run(t, h)
	if d, _ := h.Description(); !d.Sync || d.Name != "syncshop" {
		t.Fatalf("Description = %+v, want the synchronous syncshop", d)
	}
	body := []byte(`{"request_id":"r1","action":"pay","order":{"id":"9","amount_minor":100,"currency":"EUR"}}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req := adapter.Request{Method: "POST", Header: http.Header{"X-Syncshop-Signature": {base64.StdEncoding.EncodeToString(mac.Sum(nil))}}, Body: body}
	a := h.Adapter()
	cmds, err := a.Translate(t.Context(), req)
	if err != nil || len(cmds) != 1 || cmds[0].IdempotencyKey != "syncshop:r1" {
		t.Fatalf("Translate = %+v, %v", cmds, err)
	}
	resp, err := a.Answer(t.Context(), req, []adapter.Result{{IdempotencyKey: "syncshop:r1", OK: true, RedirectURL: "https://trustly.example/r1"}})
	if err != nil || resp.Status != http.StatusOK || !bytes.Contains(resp.Body, []byte(`"redirect_url":"https://trustly.example/r1"`)) {
		t.Fatalf("Answer = %d %s, %v", resp.Status, resp.Body, err)
	}
	if err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "c1", Order: adapter.Order{ID: "9"}, Status: adapter.StatusPaid}); err != nil {
		t.Fatal(err)
	}
}

func TestPluginLogsReachTheHostLogUnderThePluginName(t *testing.T) {
	logs := &logBuffer{}
	h := pluginhost.New(pluginhost.External("testplugin", bin.testplugin), fastOptions(logs.logger()))
	run(t, h)
	// Describe ran at start and the plugin logged from inside it; go-plugin
	// reads the plugin's stderr on its own goroutine, so wait for the line.
	if !logs.waitLine(`"msg":"described myself"`, `"adapter":"testplugin"`, `"level":"INFO"`) {
		t.Errorf("the plugin's log line is missing or not under the plugin's name:\n%s", logs)
	}
}

// An adapter built with an SDK that predates adapter.EnvTLS ignores the
// certificate the host hands it: go-plugin makes its own and sends it on
// the handshake line, and the host trusts that one.
func TestAnAdapterThatMakesItsOwnCertificateStillConnects(t *testing.T) {
	h := pluginhost.New(pluginhost.External("testplugin", bin.testplugin, "TESTPLUGIN_MODE=goplugin"), fastOptions(nil))
	run(t, h)
	if _, err := h.Adapter().Describe(t.Context()); err != nil {
		t.Fatalf("Describe over go-plugin's own mTLS: %v", err)
	}
}

func TestAPluginOfAnUnknownProtocolVersionIsRefused(t *testing.T) {
	h := pluginhost.New(pluginhost.External("future", bin.testplugin, "TESTPLUGIN_MODE=v99"), fastOptions(nil))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := h.Run(ctx)
	if !errors.Is(err, adapter.ErrIncompatible) {
		t.Fatalf("Run = %v, want ErrIncompatible", err)
	}
	for _, want := range []string{"future", "Plugin version: 99", "protocol versions [1]", "rebuild the adapter"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	if h.Ready() || h.Starts() != 0 {
		t.Errorf("an incompatible plugin became ready")
	}
}

func TestAHungCallIsBoundedByItsDeadline(t *testing.T) {
	// The health check's own bound (its interval) must not race the call's
	// deadline on a loaded machine: this test is about the call alone.
	opts := fastOptions(nil)
	opts.HealthInterval = 5 * time.Second
	h := pluginhost.New(pluginhost.External("testplugin", bin.testplugin, "TESTPLUGIN_MODE=hang"), opts)
	run(t, h)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := h.Adapter().ApplyStatus(ctx, adapter.StatusChange{ID: "x"})
	if !errors.Is(err, context.DeadlineExceeded) || adapter.Classify(err) != adapter.ClassRetryable {
		t.Fatalf("ApplyStatus on a hung plugin = %v, want a retryable deadline error", err)
	}
	// One stuck call is not a dead plugin: other calls still work.
	if _, err := h.Adapter().Describe(t.Context()); err != nil {
		t.Errorf("Describe beside a hung call: %v", err)
	}
}

func TestCallsFailFastWhileThePluginIsDown(t *testing.T) {
	h := pluginhost.New(pluginhost.External("testplugin", bin.testplugin), fastOptions(nil))
	err := h.Adapter().ApplyStatus(t.Context(), adapter.StatusChange{ID: "x"})
	if !errors.Is(err, adapter.ErrPluginDead) || adapter.Classify(err) != adapter.ClassRetryable || h.Ready() {
		t.Fatalf("ApplyStatus before start = %v (ready %v); want ErrPluginDead", err, h.Ready())
	}
}

func TestAMissingExecutableIsRetriedNotFatal(t *testing.T) {
	h := pluginhost.New(pluginhost.External("ghost", filepath.Join(t.TempDir(), "no-such-adapter")), fastOptions(nil))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	if err := h.WaitReady(wctx); err == nil {
		t.Fatal("a missing executable became ready")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after shutdown (it keeps retrying until then)", err)
	}
}

// BenchmarkRoundTrip is one call host → plugin → host over a real process
// with AutoMTLS.
func BenchmarkRoundTrip(b *testing.B) {
	h := pluginhost.New(pluginhost.External("testplugin", bin.testplugin), pluginhost.Options{})
	run(b, h)
	a := h.Adapter()
	ctx := context.Background()
	b.Run("Describe", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.Describe(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	req := adapter.Request{Method: "POST", Header: http.Header{"X-Signature": {"sha256=00"}}, Body: bytes.Repeat([]byte("x"), 1024)}
	b.Run("Translate-1KiB", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.Translate(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// logBuffer collects the host's JSON log.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // a token per write, for waitLine
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written == nil {
		l.written = make(chan struct{}, 1)
	}
	select {
	case l.written <- struct{}{}:
	default:
	}
	return l.buf.Write(p)
}

// waitLine waits until one line contains all of parts; false after a
// fail-safe wait, which no passing run comes near.
func (l *logBuffer) waitLine(parts ...string) bool {
	l.mu.Lock()
	if l.written == nil {
		l.written = make(chan struct{}, 1)
	}
	written := l.written
	l.mu.Unlock()
	failSafe := time.After(30 * time.Second)
	for !l.hasLine(parts...) {
		select {
		case <-written:
		case <-failSafe:
			return false
		}
	}
	return true
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) has(s string) bool { return strings.Contains(l.String(), s) }

// hasLine reports whether one line contains all of parts.
func (l *logBuffer) hasLine(parts ...string) bool {
	for line := range strings.SplitSeq(l.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
