package commercetools_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/platforms/commercetools"
)

// The end to end tests: @labdigital/commercetools-mock (node, from the
// committed lockfile; `make commercetools-test` installs it), the sidecar
// binary as the Trustly simulator and as serve with the built-in
// commercetools adapter, all over real loopback sockets. The mock stores
// API Extensions but never calls them, so the test posts the extension
// request commercetools would post for a payment, and persists the update
// actions of the answer in the mock, as commercetools would.

// envRequireMock makes a missing mock a failure instead of a skip (the
// Makefile target sets it, after npm ci).
const envRequireMock = "TRUSTLY_TEST_COMMERCETOOLS_MOCK"

const (
	e2eProject = "trustly-e2e"
	e2eAuth    = "Bearer extension-secret-5c1d0e2f9a8b7c6d"
	e2eSecret  = "client-secret-e2e-0123456789abcdef"
)

// stack is the running mock, simulator and sidecar.
type stack struct {
	t       *testing.T
	ctURL   string // the mock: API and auth on one port
	simURL  string
	priv    string // the sidecar's private listener
	pub     string // its public listener
	ext     string // where the extension posts
	log     *syncBuffer
	token   string
	slowSim atomic.Bool // the simulator's API answers late while set
	// conflictOnce makes the adapter's next payment update lose a race:
	// the proxy writes the payment first.
	conflictOnce atomic.Bool
	conflicts    atomic.Int32
	// client posts the extension calls; http.DefaultClient when nil.
	client *http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// sidecarBin is TRUSTLY_TEST_SIDECAR_BIN, or the binary built from the
// repository.
func sidecarBin(t *testing.T) string {
	if bin := os.Getenv("TRUSTLY_TEST_SIDECAR_BIN"); bin != "" {
		return bin
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the sidecar")
	}
	bin := filepath.Join(t.TempDir(), "trustly-sidecar")
	if out, err := exec.Command(gobin, "build", "-o", bin, "../../sidecar").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// start runs a child process for the test's lifetime; its output goes to
// log. waitFor is a regexp whose first group, once printed, is returned.
func start(t *testing.T, log io.Writer, waitFor string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	stdin, err := cmd.StdinPipe() // the mock exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	found := make(chan string, 1)
	re := regexp.MustCompile(waitFor)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); waitFor != "" && m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	if waitFor == "" {
		return ""
	}
	select {
	case v := <-found:
		return v
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not print %q:\n%s", name, waitFor, log)
	}
	return ""
}

func startStack(t *testing.T, timeout time.Duration) *stack {
	mockDir, _ := filepath.Abs("mock")
	if _, err := os.Stat(filepath.Join(mockDir, "node_modules", "@labdigital", "commercetools-mock")); err != nil {
		if os.Getenv(envRequireMock) != "" {
			t.Fatalf("the commercetools mock is not installed in %s: %v", mockDir, err)
		}
		t.Skip("the commercetools mock is not installed: make commercetools-test runs npm ci first")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	s := &stack{t: t, log: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("TRUSTLY_TEST_VERBOSE") != "" {
			t.Logf("processes' output:\n%s", s.log)
		}
	})
	bin := sidecarBin(t)
	dir := t.TempDir()
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	if out, err := exec.Command(bin, "keygen", "--out-dir", filepath.Join(dir, "keys")).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}

	s.ctURL = start(t, s.log, `listening on (http://\S+)`, base, node, filepath.Join(mockDir, "server.mjs"), "0")
	s.simURL = start(t, s.log, `API URL:\s+(\S+)/api/1`, base, bin, "sim", "--addr", "127.0.0.1:0", "--relaxed",
		"--keys-dir", filepath.Join(dir, "keys/sim"), "--merchant-public-key", filepath.Join(dir, "keys/merchant_public.pem"),
		"--settlement-delay", "1s")

	// Proxies the test steers: a slow Trustly, and a commercetools where
	// someone else writes the payment just before the adapter does.
	simProxy := s.proxy(s.simURL, func(r *http.Request) {
		if s.slowSim.Load() {
			time.Sleep(timeout + 2*time.Second)
		}
	})
	ctProxy := s.proxy(s.ctURL, func(r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/payments/") && s.conflictOnce.CompareAndSwap(true, false) {
			id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			p := s.payment(id)
			s.update(id, p["version"], `{"action":"setStatusInterfaceText","interfaceText":"the shop's back office wrote first"}`)
			s.conflicts.Add(1)
		}
	})

	pub, priv := freePort(t), freePort(t)
	s.priv, s.pub = "http://"+priv, "http://"+pub
	s.ext = s.pub + "/platform/" + commercetools.Name // commercetools calls from outside the pod
	env := append(base,
		"TRUSTLY_SIDECAR_ENVIRONMENT=SIM",
		"TRUSTLY_SIDECAR_TRUSTLY_URL="+simProxy+"/api/1",
		"TRUSTLY_SIDECAR_TRUSTLY_PUBLIC_KEY_FILE="+filepath.Join(dir, "keys/sim/trustly_sim_public.pem"),
		"TRUSTLY_SIDECAR_TRUSTLY_USERNAME=merchant",
		"TRUSTLY_SIDECAR_TRUSTLY_PASSWORD=sim-password",
		"TRUSTLY_SIDECAR_MERCHANT_PRIVATE_KEY_FILE="+filepath.Join(dir, "keys/merchant_private.pem"),
		"TRUSTLY_SIDECAR_PUBLIC_ADDR="+pub,
		"TRUSTLY_SIDECAR_PUBLIC_BASE_URL="+s.pub,
		"TRUSTLY_SIDECAR_NOTIFICATION_SECRET=notification-secret-0123456789",
		"TRUSTLY_SIDECAR_PRIVATE_ADDR="+priv,
		"TRUSTLY_SIDECAR_SHOP_API_TOKEN=shop-api-token-0123456789abcdef",
		"TRUSTLY_SIDECAR_REDIS_MODE=embedded",
		"TRUSTLY_SIDECAR_LOG_FORMAT=text",
		"TRUSTLY_SIDECAR_ENGINE_TICK=1s",
		"TRUSTLY_SIDECAR_SHOP_SUCCESS_URL=https://shop.example/ok",
		"TRUSTLY_SIDECAR_SHOP_FAIL_URL=https://shop.example/fail",
		"TRUSTLY_SIDECAR_SHOP_LOCALE=sv_SE",
		"TRUSTLY_SIDECAR_SHOP_COUNTRY=SE",
		"TRUSTLY_SIDECAR_SHOP_SHOPPER_STATEMENT=Example shop",
		"TRUSTLY_SIDECAR_ADAPTER="+commercetools.Name,
		"TRUSTLY_SIDECAR_ADAPTER_ENV="+strings.Join([]string{commercetools.EnvProjectKey, commercetools.EnvAPIURL, commercetools.EnvAuthURL,
			commercetools.EnvClientID, commercetools.EnvClientSecret + "_FILE", commercetools.EnvExtensionAuthorization + "_FILE", commercetools.EnvTimeout}, ","),
		commercetools.EnvProjectKey+"="+e2eProject,
		commercetools.EnvAPIURL+"="+ctProxy,
		commercetools.EnvAuthURL+"="+s.ctURL,
		commercetools.EnvClientID+"=trustly-sidecar",
		commercetools.EnvClientSecret+"_FILE="+writeFile(t, dir, "client-secret", e2eSecret+"\n"),
		commercetools.EnvExtensionAuthorization+"_FILE="+writeFile(t, dir, "extension-authorization", e2eAuth+"\n"),
		commercetools.EnvTimeout+"="+timeout.String(),
	)
	start(t, s.log, "", env, bin, "serve")
	eventually(t, "the sidecar to be ready", func() bool {
		resp, err := http.Get(s.priv + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	s.token = s.oauth("trustly-test-client", "test-client-secret")
	s.setupTypes()
	return s
}

func writeFile(t *testing.T, dir, name, content string) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// proxy forwards to target on a loopback port, calling before first.
func (s *stack) proxy(target string, before func(*http.Request)) string {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before(r)
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	s.t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	end := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// oauth is a token of the mock's auth server for a test's own API client.
func (s *stack) oauth(id, secret string) string {
	req, _ := http.NewRequest(http.MethodPost, s.ctURL+"/oauth/token", strings.NewReader("grant_type=client_credentials&scope=manage_project:"+e2eProject))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	s.do(req, http.StatusOK, &tok)
	return tok.AccessToken
}

func (s *stack) do(req *http.Request, want int, out any) {
	s.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", req.Method, req.URL, err, b)
		}
	}
}

// api calls the mock's HTTP API as the shop would.
func (s *stack) api(method, path, body string, want int) map[string]any {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.ctURL+"/"+e2eProject+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	var out map[string]any
	s.do(req, want, &out)
	return out
}

func (s *stack) payment(id string) map[string]any {
	return s.api(http.MethodGet, "/payments/"+id, "", http.StatusOK)
}

// update applies actions (JSON objects, comma-separated) to payment id.
func (s *stack) update(id string, version any, actions string) map[string]any {
	return s.api(http.MethodPost, "/payments/"+id, fmt.Sprintf(`{"version":%v,"actions":[%s]}`, version, actions), http.StatusOK)
}

// setupTypes creates the two custom types of README.md.
func (s *stack) setupTypes() {
	for _, file := range []string{"type-trustly-payment.json", "type-trustly-interaction.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			s.t.Fatal(err)
		}
		s.api(http.MethodPost, "/types", string(b), http.StatusCreated)
	}
}

// customer is the payer's Customer. The mock drops a PaymentDraft's customer
// (and anonymousId), which commercetools keeps: withCustomer puts it back
// into what the extension sees.
const customer = "c0ffee00-1111-4222-8333-444455556666"

func withCustomer(p map[string]any) map[string]any {
	p["customer"] = map[string]any{"typeId": "customer", "id": customer}
	return p
}

// newPayment creates a Trustly payment with one Charge in Initial.
func (s *stack) newPayment(cents int) map[string]any {
	return s.api(http.MethodPost, "/payments", fmt.Sprintf(`{
		"customer":{"typeId":"customer","id":"c0ffee00-1111-4222-8333-444455556666"},
		"amountPlanned":{"currencyCode":"SEK","centAmount":%d},
		"paymentMethodInfo":{"paymentInterface":"trustly","method":"bank-transfer"},
		"transactions":[{"type":"Charge","amount":{"currencyCode":"SEK","centAmount":%d},"state":"Initial"}],
		"custom":{"type":{"typeId":"type","key":"trustly-payment"},"fields":{"trustlyEmail":"asa.ek@example.se","trustlyFirstName":"Åsa","trustlyLastName":"Ek","trustlyCountry":"SE"}}}`, cents, cents),
		http.StatusCreated)
}

// extension posts the extension input for payment p as commercetools
// would, and returns the status and body of the answer.
func (s *stack) extension(action string, p map[string]any, auth string) (int, map[string]any) {
	s.t.Helper()
	in, _ := json.Marshal(map[string]any{"action": action, "resource": map[string]any{"typeId": "payment", "id": p["id"], "obj": withCustomer(p)}})
	req, _ := http.NewRequest(http.MethodPost, s.ext, bytes.NewReader(in))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	c := s.client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatalf("the extension call: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// persist applies an extension answer's actions to the payment, as
// commercetools does before it stores the create or update.
func (s *stack) persist(p map[string]any, answer map[string]any) map[string]any {
	s.t.Helper()
	actions, _ := json.Marshal(answer["actions"])
	return s.api(http.MethodPost, "/payments/"+p["id"].(string), fmt.Sprintf(`{"version":%v,"actions":%s}`, p["version"], actions), http.StatusOK)
}

// atBank approves (or declines) the payment at the simulator's checkout;
// scenario PF makes its later payouts (refunds) fail.
func (s *stack) atBank(checkout, scenario string) {
	s.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(checkout, url.Values{"action": {"approve"}, "scenario": {scenario}})
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("checkout: %d", resp.StatusCode)
	}
}

func field(p map[string]any, name string) string {
	c, _ := p["custom"].(map[string]any)
	f, _ := c["fields"].(map[string]any)
	v, _ := f[name].(string)
	return v
}

// tx is the payment's transaction of type typ (the n-th, from 0).
func tx(p map[string]any, typ string, n int) map[string]any {
	for _, t := range p["transactions"].([]any) {
		if m := t.(map[string]any); m["type"] == typ {
			if n == 0 {
				return m
			}
			n--
		}
	}
	return map[string]any{}
}

func interactions(p map[string]any) []string {
	var out []string
	for _, ix := range p["interfaceInteractions"].([]any) {
		f := ix.(map[string]any)["fields"].(map[string]any)
		out = append(out, fmt.Sprint(f["status"]))
	}
	return out
}

// changeIDs are the changeIds of the payment's interactions of status.
func changeIDs(p map[string]any, status string) []string {
	var out []string
	for _, ix := range p["interfaceInteractions"].([]any) {
		if f := ix.(map[string]any)["fields"].(map[string]any); f["status"] == status {
			out = append(out, fmt.Sprint(f["changeId"]))
		}
	}
	return out
}

// A payment from its Charge to Success, a concurrent write survived, two
// refunds of which one fails at Trustly, the extension's refusals.
func TestE2EPaymentIsPaidAndRefunded(t *testing.T) {
	s := startStack(t, 5*time.Second)

	// The extension's Authorization is checked: wrong or missing is 401.
	p := s.newPayment(10350)
	for _, auth := range []string{"", "Bearer wrong", e2eAuth + "x"} {
		if code, _ := s.extension("Create", p, auth); code != http.StatusUnauthorized {
			t.Errorf("extension with Authorization %q: %d, want 401", auth, code)
		}
	}

	// Anyone on the internet reaches the public route: without the
	// Authorization a GET is 401, with it anything but the extension's
	// POST is 400.
	for _, tc := range []struct {
		method, path, auth string
		want               int
	}{{http.MethodGet, "", "", http.StatusUnauthorized}, {http.MethodGet, "", e2eAuth, http.StatusBadRequest},
		{http.MethodPost, "/payments", e2eAuth, http.StatusBadRequest}} {
		req, _ := http.NewRequest(tc.method, s.ext+tc.path, strings.NewReader(`{}`))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s%s: %d, want %d", tc.method, s.ext, tc.path, resp.StatusCode, tc.want)
		}
	}

	code, ans := s.extension("Create", p, e2eAuth)
	if code != http.StatusOK {
		t.Fatalf("extension: %d %v", code, ans)
	}
	p = s.persist(p, ans)
	checkout, orderID := field(p, "trustlyRedirectUrl"), field(p, "trustlyOrderId")
	if !strings.HasPrefix(checkout, s.simURL) || orderID == "" || tx(p, "Charge", 0)["state"] != "Pending" || tx(p, "Charge", 0)["interactionId"] != orderID || p["interfaceId"] != orderID {
		t.Fatalf("after the extension: %v", p)
	}
	// The same update again (commercetools retries a failed call) starts nothing new.
	if code, again := s.extension("Update", p, e2eAuth); code != http.StatusOK || len(again["actions"].([]any)) != 0 {
		t.Errorf("extension on the pending payment: %d %v", code, again)
	}

	s.conflictOnce.Store(true) // the back office writes just before the adapter
	s.atBank(checkout, "")
	eventually(t, "the Charge is Success", func() bool {
		p = s.payment(p["id"].(string))
		return tx(p, "Charge", 0)["state"] == "Success"
	})
	if s.conflicts.Load() != 1 {
		t.Errorf("%d concurrent writes, want 1", s.conflicts.Load())
	}
	st := p["paymentStatus"].(map[string]any)
	if st["interfaceCode"] != "paid" {
		t.Errorf("paymentStatus %v", st)
	}
	if got := strings.Join(interactions(p), ","); !strings.Contains(got, "pay-accepted") || !strings.Contains(got, "paid") {
		t.Errorf("interactions %s", got)
	}

	// A refund of 50.00: the shop adds a Refund in Initial.
	p = s.update(p["id"].(string), p["version"], `{"action":"addTransaction","transaction":{"type":"Refund","amount":{"currencyCode":"SEK","centAmount":5000},"state":"Initial"}}`)
	code, ans = s.extension("Update", p, e2eAuth)
	if code != http.StatusOK {
		t.Fatalf("refund extension: %d %v", code, ans)
	}
	p = s.persist(p, ans)
	// The answer tags the Refund with the sidecar's id of the refund, the
	// prefix of its status changes' ids.
	refundID, _ := tx(p, "Refund", 0)["interactionId"].(string)
	if tx(p, "Refund", 0)["state"] != "Pending" || refundID == "" || refundID == orderID {
		t.Fatalf("refund after the extension: %v", tx(p, "Refund", 0))
	}
	eventually(t, "the Refund is Success", func() bool {
		p = s.payment(p["id"].(string))
		return tx(p, "Refund", 0)["state"] == "Success"
	})
	if got := tx(p, "Refund", 0)["interactionId"]; got != refundID {
		t.Errorf("the settled Refund's interactionId %v, want %s", got, refundID)
	}
	if ids := changeIDs(p, "refunded"); len(ids) != 1 || !strings.HasPrefix(ids[0], refundID+":") {
		t.Errorf("refunded changes %v, want one of refund %s", ids, refundID)
	}

	// A payment whose refunds fail at Trustly (the simulator's PF).
	q := s.newPayment(20000)
	_, ans = s.extension("Create", q, e2eAuth)
	q = s.persist(q, ans)
	s.atBank(field(q, "trustlyRedirectUrl"), "PF")
	eventually(t, "the second Charge is Success", func() bool {
		q = s.payment(q["id"].(string))
		return tx(q, "Charge", 0)["state"] == "Success"
	})
	q = s.update(q["id"].(string), q["version"], `{"action":"addTransaction","transaction":{"type":"Refund","amount":{"currencyCode":"SEK","centAmount":20000},"state":"Initial"}}`)
	_, ans = s.extension("Update", q, e2eAuth)
	q = s.persist(q, ans)
	eventually(t, "the failed Refund is Failure", func() bool {
		q = s.payment(q["id"].(string))
		return tx(q, "Refund", 0)["state"] == "Failure"
	})
	if got := strings.Join(interactions(q), ","); !strings.Contains(got, "refund-failed") {
		t.Errorf("interactions %s", got)
	}

	// A refund of more than was paid: Trustly's refusal comes back as 400
	// InvalidInput, and commercetools stores nothing of the update.
	over := s.update(p["id"].(string), p["version"], `{"action":"addTransaction","transaction":{"type":"Refund","amount":{"currencyCode":"SEK","centAmount":99999},"state":"Initial"}}`)
	code, ans = s.extension("Update", over, e2eAuth)
	if errs, _ := json.Marshal(ans["errors"]); code != http.StatusBadRequest || !strings.Contains(string(errs), "InvalidInput") {
		t.Errorf("refund of too much: %d %v", code, ans)
	}

	// A payment without its payer: refused with commercetools' error shape.
	bare := s.api(http.MethodPost, "/payments", `{"amountPlanned":{"currencyCode":"SEK","centAmount":100},
		"paymentMethodInfo":{"paymentInterface":"trustly"},"transactions":[{"type":"Charge","amount":{"currencyCode":"SEK","centAmount":100},"state":"Initial"}]}`, http.StatusCreated)
	code, ans = s.extension("Create", bare, e2eAuth)
	if errs, _ := json.Marshal(ans["errors"]); code != http.StatusBadRequest || !strings.Contains(string(errs), "Customer.Email is required") {
		t.Errorf("payment without payer: %d %v", code, ans)
	}

	log := s.log.String()
	for _, secret := range []string{e2eSecret, e2eAuth, "extension-secret-5c1d0e2f9a8b7c6d"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds a secret (%q)", secret[:8])
		}
	}
	if strings.Contains(log, "dead-letter") {
		t.Errorf("a change was dead-lettered")
	}
}

// The deadline: Trustly (the simulator behind a slow proxy) answers later
// than the extension's timeoutInMs. The extension still answers in time,
// with the Charge Pending; the Deposit completes in the sidecar; the next
// update of the payment carries the Trustly URL; the shopper pays.
func TestE2ESlowTrustlyIsAnsweredPendingInTime(t *testing.T) {
	const timeout = 2 * time.Second
	s := startStack(t, timeout)
	// commercetools hangs up at timeoutInMs: so does this client.
	s.client = &http.Client{Timeout: timeout}

	p := s.newPayment(10350)
	s.slowSim.Store(true)
	code, ans := s.extension("Create", p, e2eAuth)
	s.slowSim.Store(false)
	if code != http.StatusOK {
		t.Fatalf("extension: %d %v", code, ans)
	}
	p = s.persist(p, ans)
	charge := tx(p, "Charge", 0)
	if charge["state"] != "Pending" || charge["interactionId"] != nil || field(p, "trustlyRedirectUrl") != "" {
		t.Fatalf("after the pending answer: %v", p)
	}
	if got := strings.Join(interactions(p), ","); got != "pay-pending" {
		t.Errorf("interactions %s, want pay-pending", got)
	}

	// The checkout asks again until the outcome is there.
	eventually(t, "the Trustly URL in the payment", func() bool {
		p = s.update(p["id"].(string), p["version"], `{"action":"setCustomField","name":"trustlyRedirectUrl"}`)
		code, ans := s.extension("Update", p, e2eAuth)
		if code != http.StatusOK {
			t.Fatalf("asking again: %d %v", code, ans)
		}
		p = s.persist(p, ans)
		return field(p, "trustlyRedirectUrl") != ""
	})
	orderID := field(p, "trustlyOrderId")
	if tx(p, "Charge", 0)["interactionId"] != orderID || orderID == "" {
		t.Fatalf("after the outcome: %v", p)
	}
	// Once known, asking again starts nothing.
	if code, again := s.extension("Update", p, e2eAuth); code != http.StatusOK || len(again["actions"].([]any)) != 0 {
		t.Errorf("extension after the outcome: %d %v", code, again)
	}
	s.atBank(field(p, "trustlyRedirectUrl"), "")
	eventually(t, "the Charge is Success", func() bool {
		p = s.payment(p["id"].(string))
		return tx(p, "Charge", 0)["state"] == "Success"
	})
	// One Deposit only: every interaction names the same OrderID.
	for _, ix := range p["interfaceInteractions"].([]any) {
		if id, ok := ix.(map[string]any)["fields"].(map[string]any)["trustlyOrderId"]; ok && id != orderID {
			t.Errorf("an interaction names another Trustly order: %v", ix)
		}
	}
}

// A subscription: the first payment also registers the customer's direct
// debit mandate; a later payment with trustlyRecurring charges it (no
// shopper at Trustly) and its Charge ends in Success. A CancelAuthorization
// for a charge Trustly already executed is refused as 400 InvalidInput with
// Trustly's reason, and commercetools keeps nothing of that update.
func TestE2ERecurringChargeOnTheMandate(t *testing.T) {
	s := startStack(t, 5*time.Second)

	first := s.newPayment(10350)
	first = s.update(first["id"].(string), first["version"], `{"action":"setCustomField","name":"trustlyRequestMandate","value":true}`)
	_, ans := s.extension("Create", first, e2eAuth)
	first = s.persist(first, ans)
	s.atBank(field(first, "trustlyRedirectUrl"), "")
	eventually(t, "the first payment is paid", func() bool {
		first = s.payment(first["id"].(string))
		return tx(first, "Charge", 0)["state"] == "Success"
	})

	renewal := s.newPayment(19900)
	renewal = s.update(renewal["id"].(string), renewal["version"], `{"action":"setCustomField","name":"trustlyRecurring","value":true}`)
	var code int
	eventually(t, "the renewal charged on the mandate", func() bool {
		// The mandate is active once Trustly's account notification is in.
		code, ans = s.extension("Create", renewal, e2eAuth)
		return code == http.StatusOK
	})
	renewal = s.persist(renewal, ans)
	orderID := field(renewal, "trustlyOrderId")
	if charge := tx(renewal, "Charge", 0); charge["state"] != "Pending" || charge["interactionId"] != orderID || orderID == "" || field(renewal, "trustlyRedirectUrl") != "" {
		t.Fatalf("renewal after the extension: %v", renewal)
	}
	eventually(t, "the renewal's Charge is Success", func() bool {
		renewal = s.payment(renewal["id"].(string))
		return tx(renewal, "Charge", 0)["state"] == "Success"
	})

	cancel := s.update(renewal["id"].(string), renewal["version"], `{"action":"addTransaction","transaction":{"type":"CancelAuthorization","amount":{"currencyCode":"SEK","centAmount":19900},"state":"Initial"}}`)
	code, ans = s.extension("Update", cancel, e2eAuth)
	if errs, _ := json.Marshal(ans["errors"]); code != http.StatusBadRequest || !strings.Contains(string(errs), "InvalidInput") || !strings.Contains(string(errs), "not_cancellable") {
		t.Errorf("cancel of an executed charge: %d %v", code, ans)
	}
}
