package main

import (
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic/fakeshop"
)

// daemonProc is the real binary running serve as a subprocess.
type daemonProc struct {
	cmd  *exec.Cmd
	log  *logBuffer
	done chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startDaemon runs `trustly-sidecar serve` with env (full names) and waits
// until both listeners answer.
func startDaemon(t *testing.T, env envMap, pub, priv string) *daemonProc {
	t.Helper()
	cmd := exec.Command(binPath, "serve")
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	p := &daemonProc{cmd: cmd, log: &logBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		// A kill -9 of the sidecar leaves its plugin child behind.
		for _, m := range pidRe.FindAllStringSubmatch(p.log.String(), -1) {
			if pid, _ := strconv.Atoi(m[1]); pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if strings.Contains(p.log.String(), testSecret) || strings.Contains(p.log.String(), testPassword) {
			t.Error("the sidecar's log holds a secret")
		}
	})
	for _, u := range []string{"http://" + pub + "/healthz", "http://" + priv + "/readyz"} {
		eventually(t, u+" answers 200", func() bool {
			select {
			case err := <-p.done:
				t.Fatalf("serve ended: %v\n%s", err, p.log)
			default:
			}
			resp, err := http.Get(u)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	return p
}

// kill9 kills the sidecar outright; it may run outside the test goroutine.
func (p *daemonProc) kill9(t *testing.T) {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Error(err)
	}
	<-p.done
	p.done <- nil // for Cleanup
}

var outcomeRe = regexp.MustCompile(`trustly_sidecar_notification_outcomes_total\{method="(\w+)",outcome="(\w+)"\} (\d+)`)

// Issue 6, "Done when": the sidecar is kill -9ed in the middle of a burst
// of notifications, with one applied whose OK never reached Trustly; after a
// restart on the same ports the simulator's retries bring every order to its
// state, every notification is applied once, and the shop hears each
// status once, through the built-in generic adapter (the binary re-executed
// as a plugin).
func TestKill9MidNotificationBurstLosesNothing(t *testing.T) {
	if binPath == "" {
		t.Skip("go tool not found, binary not built")
	}
	addr := testRedisAddr(t)
	s, _, simKeyFile := startTestSim(t)

	pub, priv := freeAddr(t), freeAddr(t)
	// Trustly reaches the sidecar through this proxy, which kills the
	// sidecar right after it answered the killAt-th notification: the
	// notification is applied, its OK lost, so the simulator retries it.
	const orders, killAt = 12, 9
	var (
		forwarded atomic.Int64
		killMu    sync.Mutex
		proc      *daemonProc
	)
	target, _ := url.Parse("http://" + pub)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if forwarded.Add(1) == killAt {
			killMu.Lock()
			proc.kill9(t)
			killMu.Unlock()
			return fmt.Errorf("sidecar killed")
		}
		return nil
	}
	rp.ErrorLog = log.New(io.Discard, "", 0)
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)

	fs := fakeshop.New(t, callbackSecret)
	env := validEnv(t).with("TRUSTLY_URL", s.APIURL(), "TRUSTLY_PUBLIC_KEY_FILE", simKeyFile,
		"PUBLIC_ADDR", pub, "PRIVATE_ADDR", priv, "PUBLIC_BASE_URL", proxy.URL,
		"REDIS_MODE", "single", "REDIS_ADDRS", addr, "REDIS_PREFIX", testPrefix(t), "LOG_FORMAT", "text",
		"ADAPTER", "generic", "ADAPTER_ENV", generic.EnvCallbackURL+","+generic.EnvCallbackSecret+","+generic.EnvWebhookSecret)
	maps.Copy(env, envMap{generic.EnvCallbackURL: fs.URL, generic.EnvCallbackSecret: string(callbackSecret),
		generic.EnvWebhookSecret: "whsec_0123456789abcdef"})
	proc = startDaemon(t, env, pub, priv)

	sh := &shop{t: t, sim: s, priv: "http://" + priv}
	var ids []string
	for i := range orders {
		ids = append(ids, sh.pay(fmt.Sprintf("K-%d", i)).ID)
	}
	// The burst: 2 notifications per order, delivered one after another
	// inside Advance; the proxy kills the sidecar in the middle.
	sh.advance(time.Second)
	if forwarded.Load() < killAt {
		t.Fatalf("only %d notifications went out; the kill never happened", forwarded.Load())
	}

	killMu.Lock()
	proc = startDaemon(t, env, pub, priv)
	killMu.Unlock()
	for i := 0; ; i++ {
		if allAnswered(s) {
			break
		}
		if i == 50 { // a fail-safe: the retry schedule covers this many times over
			t.Fatalf("notifications still unanswered after the restart")
		}
		sh.advance(5 * time.Minute)
	}

	for i, id := range ids {
		ref := fmt.Sprintf("K-%d", i)
		if o := sh.get(id); o.State != "paid" || o.Credited != 10300 || o.Refundable != 10300 {
			t.Errorf("order %s: %s credited %d refundable %d", id, o.State, o.Credited, o.Refundable)
		}
		// "pending,paid", or "paid" when the credit's retry overtook
		// the pending; never a status twice.
		eventually(t, ref+" paid at the shop", func() bool { return strings.HasSuffix(fs.Snapshot(ref), "paid") })
		if got := fs.Snapshot(ref); got != "pending,paid" && got != "paid" {
			t.Errorf("shop order %s went through %q", ref, got)
		}
	}
	// The one applied before the kill came back as a retry and was
	// recognised, not applied again.
	metrics := sh.call(http.MethodGet, "/metrics", "", "").Body
	dups := 0
	for _, m := range outcomeRe.FindAllStringSubmatch(metrics, -1) {
		if m[2] == "duplicate" {
			n, _ := strconv.Atoi(m[3])
			dups += n
		}
	}
	if dups < 1 {
		t.Errorf("the restarted sidecar saw no duplicate; the retried notification was not recognised:\n%s", grepLines(metrics, "outcomes"))
	}
}

// allAnswered reports whether every notification the simulator made got a
// valid OK.
func allAnswered(s *sim.Server) bool {
	for _, o := range s.Orders() {
		for _, n := range s.Notifications(o.OrderID) {
			if !n.Answered || n.Status != "OK" {
				return false
			}
		}
	}
	return true
}
