package faultsuite

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
)

var (
	// binPath is the real trustly-sidecar, built once by TestMain; "" when
	// no go tool was found (the suite then skips).
	binPath string
	// keyDir holds the merchant key pair made by the binary's keygen.
	keyDir string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "faultsuite-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if gobin, err := exec.LookPath("go"); err == nil {
		// Built without -race: the suite tests the binary as shipped, and
		// the race detector would only slow the two sidecars down.
		bin := filepath.Join(dir, "trustly-sidecar")
		if out, err := exec.Command(gobin, "build", "-o", bin, "../../../sidecar").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
		keyDir = filepath.Join(dir, "keys")
		if out, err := exec.Command(bin, "keygen", "--out-dir", keyDir).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "keygen: %v\n%s", err, out)
			return 1
		}
		binPath = bin
	}
	return m.Run()
}

// The secrets of a run: none may appear in a sidecar's log.
const (
	notificationSecret = "fault-notify-secret-0123456789abcdef"
	trustlyPassword    = "fault-trustly-password-never-shown"
	webhookSecret      = "whsec_fault_0123456789abcdef"
)

var callbackSecret = []byte("cbsec_fault_fedcba9876543210")

// freeAddrs returns n distinct free localhost addresses: every listener
// is held until all are picked, so the kernel cannot hand one out twice.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, 0, n)
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

// sidecar is one `serve` process of the real binary; restart starts it
// again on the same ports with the same environment, as a supervisor would.
type sidecar struct {
	t         *testing.T
	name      string
	env       []string
	pub, priv string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	// logFile collects every run's output (appended): read after the
	// run, and kept with the test's files when it fails.
	logFile string
}

var adapterPidRe = regexp.MustCompile(`msg="adapter ready".* pid=(\d+)`)

// startSidecar starts `serve` with env (full names) and its listeners on
// pub (where the balancer expects it) and priv. Nothing else of the test's
// environment reaches it, so no stray TRUSTLY_SIDECAR_* setting can.
func startSidecar(t *testing.T, name string, env map[string]string, pub, priv string) *sidecar {
	t.Helper()
	s := &sidecar{t: t, name: name, pub: pub, priv: priv, logFile: filepath.Join(t.TempDir(), name+".log")}
	s.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	s.env = append(s.env, "TRUSTLY_SIDECAR_PUBLIC_ADDR="+s.pub, "TRUSTLY_SIDECAR_PRIVATE_ADDR="+s.priv)
	t.Cleanup(func() {
		s.kill()
		l := s.log()
		for _, secret := range []string{notificationSecret, trustlyPassword, string(callbackSecret), webhookSecret} {
			if strings.Contains(l, secret) {
				// Never the secret itself: the test's output is a log too.
				t.Errorf("sidecar %s: its log holds a secret (%d bytes long)", s.name, len(secret))
			}
		}
	})
	s.start()
	return s
}

// start runs the process and waits until both listeners answer; the wait
// is a fail-safe, not a timing assertion.
func (s *sidecar) start() {
	s.t.Helper()
	cmd := exec.Command(binPath, "serve")
	cmd.Env = s.env
	f, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		s.t.Fatalf("start sidecar %s: %v", s.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	waitFor(s.t, "sidecar "+s.name+" healthy and ready", time.Minute, func() bool {
		select {
		case <-done:
			s.t.Fatalf("sidecar %s ended at start:\n%s", s.name, s.log())
		default:
		}
		return answers200("http://"+s.pub+"/healthz") && answers200("http://"+s.priv+"/readyz")
	})
}

func answers200(url string) bool {
	resp, err := httpClient.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// kill kills the sidecar outright (SIGKILL), and with it its plugin, as a container
// runtime that kills the sidecar's container would.
func (s *sidecar) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
	if pid := s.adapterPid(); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// adapterPid is the pid of the plugin the sidecar logged last; 0 if none.
func (s *sidecar) adapterPid() int {
	m := adapterPidRe.FindAllStringSubmatch(s.log(), -1)
	if len(m) == 0 {
		return 0
	}
	pid, _ := strconv.Atoi(m[len(m)-1][1])
	return pid
}

// log is everything the sidecar wrote so far.
func (s *sidecar) log() string {
	b, _ := os.ReadFile(s.logFile)
	return string(b)
}

// httpClient is the suite's own client: every request is bounded, so a
// frozen Redis behind a sidecar cannot hang the suite.
var httpClient = &http.Client{Timeout: 30 * time.Second}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// balancer stands in front of the sidecars' public listeners, as the load
// balancer Trustly reaches does: round robin, and a backend that refuses
// the connection is skipped for the next (passive health checking). It
// never retries a request a backend took: that is Trustly's job.
type balancer struct {
	URL      string
	backends []string
	next     atomic.Uint64
	client   *http.Client

	mu sync.Mutex
	// crash, when set, is called once backend crashAt has answered a
	// notification OK, before the answer is relayed (see crashAfterOK).
	crash   func()
	crashAt string
	// seen are the notification ids forwarded so far: the crash waits for
	// a first delivery, one the sidecar has just applied, not a resend.
	seen map[string]bool
}

func newBalancer(t *testing.T, backends ...string) *balancer {
	b := &balancer{backends: backends, client: &http.Client{Timeout: 30 * time.Second}, seen: map[string]bool{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

// crashAfterOK arms the worst moment for a kill: the next notification
// backend answers 200 is applied and answered, then crash runs (kill -9)
// and Trustly gets a 502 instead of the OK, so it sends the notification
// again, to whichever sidecar is up. The returned channel closes once
// crash has run.
func (b *balancer) crashAfterOK(backend string, crash func()) <-chan struct{} {
	fired := make(chan struct{})
	b.mu.Lock()
	defer b.mu.Unlock()
	b.crashAt = backend
	b.crash = func() { crash(); close(fired) }
	return fired
}

// firstSeen records the notification in body and reports whether the
// balancer had not forwarded it before.
func (b *balancer) firstSeen(body []byte) bool {
	var n struct {
		Params struct {
			Data struct {
				NotificationID string `json:"notificationid"`
			} `json:"data"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &n) != nil || n.Params.Data.NotificationID == "" {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	first := !b.seen[n.Params.Data.NotificationID]
	b.seen[n.Params.Data.NotificationID] = true
	return first
}

// takeCrash returns the armed crash for backend, disarming it.
func (b *balancer) takeCrash(backend string) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.crash == nil || b.crashAt != backend {
		return nil
	}
	crash := b.crash
	b.crash = nil
	return crash
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	first := b.firstSeen(body)
	start := b.next.Add(1)
	for i := range len(b.backends) {
		backend := b.backends[(int(start)+i)%len(b.backends)]
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+backend+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := b.client.Do(req)
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			continue // nobody listens there: the next backend
		}
		if err != nil {
			http.Error(w, "backend: "+err.Error(), http.StatusBadGateway)
			return
		}
		if resp.StatusCode == http.StatusOK && first {
			if crash := b.takeCrash(backend); crash != nil {
				resp.Body.Close()
				crash()
				http.Error(w, "backend died", http.StatusBadGateway)
				return
			}
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no backend up", http.StatusBadGateway)
}

// callbackRecorder stands in front of the callback server and records
// every callback with the answer it got, in arrival order.
type callbackRecorder struct {
	URL string
	mu  sync.Mutex
	got []Callback
}

func newCallbackRecorder(t *testing.T, target string) *callbackRecorder {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: u.Scheme, Host: u.Host})
		r.Out.URL.Path = u.Path
	}}
	rec := &callbackRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		// Recorded in the order of arrival, which is what "never an older
		// status after a newer one" is about; the answer is filled in when
		// the callback server has given it.
		var cb generic.Callback
		_ = json.Unmarshal(body, &cb) // a body that is no callback is recorded empty: the audit flags it
		rec.mu.Lock()
		i := len(rec.got)
		rec.got = append(rec.got, Callback{Order: cb.OrderID, ChangeID: cb.ChangeID, Status: cb.Status})
		rec.mu.Unlock()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		rp.ServeHTTP(sw, r)
		rec.mu.Lock()
		rec.got[i].Accepted = sw.code/100 == 2
		rec.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

func (c *callbackRecorder) callbacks() []Callback {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Callback(nil), c.got...)
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// slowClients holds n connections to each address open, sending a
// notification's headers and then its body a byte at a time, until stop:
// the sidecars must cut them (read timeouts) and serve everyone else
// meanwhile. It returns how many connections the sidecars cut.
func slowClients(addrs []string, n int, stop <-chan struct{}) (cut int) {
	var wg sync.WaitGroup
	var cuts atomic.Int64
	for _, addr := range addrs {
		for range n {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if slowClient(addr, stop) {
						cuts.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	return int(cuts.Load())
}

// slowClient is one slow connection; true when the server cut it.
func slowClient(addr string, stop <-chan struct{}) bool {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		// The sidecar is down (killed, restarting): try again shortly.
		select {
		case <-stop:
		case <-time.After(200 * time.Millisecond):
		}
		return false
	}
	defer conn.Close()
	head := "POST /trustly/notifications/" + notificationSecret + " HTTP/1.1\r\nHost: " + addr +
		"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
	go func() { <-stop; conn.Close() }()
	if _, err := io.WriteString(conn, head); err != nil {
		return true
	}
	for {
		select {
		case <-stop:
			return false
		case <-time.After(500 * time.Millisecond):
		}
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write([]byte("{")); err != nil {
			return true
		}
		// An answer (408, 400) means the server gave up on us too.
		_ = conn.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := bufio.NewReader(conn).ReadByte(); err == nil || !isTimeout(err) {
			return true
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
