package sim_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Keys are generated once: RSA generation is the slowest thing here.
var (
	keysOnce                         sync.Once
	merchantKey, simKey, strangerKey *rsa.PrivateKey
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		gen := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			return k
		}
		merchantKey, simKey, strangerKey = gen(), gen(), gen()
	})
}

// start is a Monday morning: 10:00 in Stockholm.
var start = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

const (
	username = "merchant"
	password = "s3cret"
)

// harness is one simulator, the merchant's notification receiver and the
// merchant's client, all over real HTTP.
type harness struct {
	t        *testing.T
	sim      *sim.Server
	clock    *sim.ManualClock
	client   *trustly.Client
	merchant *merchant
	browser  *http.Client
	log      *logBuffer
}

// logBuffer collects the simulator's JSON log, where an error's detail is.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lastAPIError is the last "sim: api error" record of the log.
func (h *harness) lastAPIError() map[string]any {
	h.t.Helper()
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	var last map[string]any
	for _, line := range strings.Split(h.log.buf.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "sim: api error" {
			last = rec
		}
	}
	if last == nil {
		h.t.Fatalf("no api error in the log:\n%s", h.log.buf.String())
	}
	return last
}

func newHarness(t *testing.T, opts ...func(*sim.Config)) *harness {
	t.Helper()
	keys(t)
	m := newMerchant(t)
	clock := sim.NewManualClock(start)
	logs := &logBuffer{}
	cfg := sim.Config{
		Logger:            slog.New(slog.NewJSONHandler(logs, nil)),
		Username:          username,
		Password:          password,
		MerchantPublicKey: &merchantKey.PublicKey,
		Key:               simKey,
		Relaxed:           true,
		Clock:             clock,
		SettlementDelay:   time.Hour,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m.simKey = s.PublicKey()
	c, err := trustly.NewClient(trustly.ClientConfig{
		Environment:      trustly.Sim,
		URL:              s.APIURL(),
		Credentials:      trustly.Credentials{Username: username, Password: password},
		PrivateKey:       merchantKey,
		TrustlyPublicKey: s.PublicKey(),
		MaxAttempts:      1,
	})
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &harness{t: t, sim: s, clock: clock, client: c, merchant: m, browser: browser, log: logs}
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	if err := h.sim.Advance(context.Background(), d); err != nil {
		h.t.Fatal(err)
	}
}

// merchant receives notifications the way a shop must: it verifies them
// with the simulator's key and answers with a signed reply. reply decides
// the answer; by default it is a correct OK.
type merchant struct {
	t      *testing.T
	srv    *httptest.Server
	simKey *rsa.PublicKey

	mu       sync.Mutex
	received []*trustly.Notification
	reply    func(n *trustly.Notification, count int) (int, []byte)
}

func newMerchant(t *testing.T) *merchant {
	m := &merchant{t: t}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *merchant) url() string { return m.srv.URL + "/trustly/notifications/secret-path" }

func (m *merchant) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n, err := trustly.ParseNotification(body, trustly.NewVerifierKey(trustly.Sim, m.simKey))
	if err != nil {
		m.t.Errorf("merchant: notification does not verify: %v\n%s", err, body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	m.received = append(m.received, n)
	count := 0
	for _, o := range m.received {
		if o.NotificationID == n.NotificationID {
			count++
		}
	}
	reply := m.reply
	m.mu.Unlock()
	status, out := http.StatusOK, []byte(nil)
	if reply != nil {
		status, out = reply(n, count)
	}
	if out == nil && status == http.StatusOK {
		out = okReply(n)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (m *merchant) setReply(f func(n *trustly.Notification, count int) (int, []byte)) {
	m.mu.Lock()
	m.reply = f
	m.mu.Unlock()
}

func okReply(n *trustly.Notification) []byte {
	b, err := trustly.NewReply(merchantKey, n, trustly.ReplyOK)
	if err != nil {
		panic(err)
	}
	return b
}

// methods lists the methods received, in order.
func (m *merchant) methods() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, len(m.received))
	for i, n := range m.received {
		out[i] = n.Method
	}
	return out
}

func (m *merchant) all() []*trustly.Notification {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*trustly.Notification(nil), m.received...)
}

func (m *merchant) last() *trustly.Notification {
	all := m.all()
	if len(all) == 0 {
		m.t.Fatal("merchant received nothing")
	}
	return all[len(all)-1]
}

var msgSeq int

func nextMessageID() string {
	msgSeq++
	return fmt.Sprintf("msg-%d-%d", time.Now().UnixNano(), msgSeq)
}

// depositRequest is a complete Deposit with UTF-8 names.
func (h *harness) depositRequest() *trustly.DepositRequest {
	return &trustly.DepositRequest{
		NotificationURL:  h.merchant.url(),
		EndUserID:        "shopper-åsa",
		MessageID:        nextMessageID(),
		Currency:         "SEK",
		Amount:           10300,
		Country:          "SE",
		Locale:           "sv_SE",
		Firstname:        "Åsa",
		Lastname:         "Öberg",
		Email:            "asa@example.se",
		SuccessURL:       "https://shop.example/success",
		FailURL:          "https://shop.example/fail",
		ShopperStatement: "Exempel Butik",
	}
}

func (h *harness) deposit(mod func(*trustly.DepositRequest)) *trustly.DepositResult {
	h.t.Helper()
	req := h.depositRequest()
	if mod != nil {
		mod(req)
	}
	res, err := h.client.Deposit(context.Background(), req)
	if err != nil {
		h.t.Fatalf("Deposit: %v", err)
	}
	return res
}

// approve acts as the shopper over the control endpoint.
func (h *harness) approve(orderID, scenario string) {
	h.t.Helper()
	resp := h.post(h.sim.URL()+"/sim/orders/"+orderID+"/approve?scenario="+url.QueryEscape(scenario), nil)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("approve %s: HTTP %d: %s", orderID, resp.StatusCode, readBody(resp))
	}
	resp.Body.Close()
}

// paid runs a Deposit to credited: approve, deliver pending and credit.
func (h *harness) paid(scenario string) *trustly.DepositResult {
	h.t.Helper()
	res := h.deposit(nil)
	h.approve(res.OrderID, scenario)
	h.advance(time.Minute)
	return res
}

func (h *harness) post(u string, body []byte) *http.Response {
	h.t.Helper()
	resp, err := h.browser.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

func (h *harness) get(u string) *http.Response {
	h.t.Helper()
	resp, err := h.browser.Get(u)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func decodeJSON[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	defer resp.Body.Close()
	var v T
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

// rawCall signs and posts a hand-built request, for what the typed client
// would refuse to send. It returns the simulator's answer, whose signature
// it has already checked.
func (h *harness) rawCall(method string, data map[string]any) *trustly.Message {
	h.t.Helper()
	return h.rawCallWith(method, trustly.NewUUID(), data, merchantKey)
}

func (h *harness) rawCallWith(method, uuid string, data map[string]any, key *rsa.PrivateKey) *trustly.Message {
	h.t.Helper()
	sig, err := trustly.Sign(key, method, uuid, data)
	if err != nil {
		h.t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"method": method, "version": "1.1",
		"params": map[string]any{"Signature": sig, "UUID": uuid, "Data": data},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.rawBody(body)
}

func (h *harness) rawBody(body []byte) *trustly.Message {
	h.t.Helper()
	resp := h.post(h.sim.APIURL(), body)
	raw := readBody(resp)
	m, err := trustly.ParseMessage([]byte(raw))
	if err != nil {
		h.t.Fatalf("answer does not parse: %v\n%s", err, raw)
	}
	if err := m.Verify(trustly.NewVerifierKey(trustly.Sim, h.sim.PublicKey())); err != nil {
		h.t.Fatalf("answer does not verify: %v\n%s", err, raw)
	}
	return m
}

// code is the error code of an answer, 0 for a result.
func code(t *testing.T, m *trustly.Message) trustly.Code {
	t.Helper()
	if m.Kind != trustly.KindError {
		return 0
	}
	d, _ := m.Data().(map[string]any)
	n, ok := d["code"].(json.Number)
	if !ok {
		t.Fatalf("error without a numeric code: %v", d)
	}
	v, _ := n.Int64()
	return trustly.Code(v)
}

func errorMessage(m *trustly.Message) string {
	d, _ := m.Data().(map[string]any)
	s, _ := d["message"].(string)
	return s
}

// depositData is a valid Deposit's Data for raw calls.
func (h *harness) depositData() map[string]any {
	return map[string]any{
		"Username":        username,
		"Password":        password,
		"NotificationURL": h.merchant.url(),
		"EndUserID":       "shopper-1",
		"MessageID":       nextMessageID(),
		"Attributes": map[string]any{
			"Currency": "SEK", "Amount": "103.00", "Country": "SE", "Locale": "sv_SE",
			"Firstname": "Åsa", "Lastname": "Öberg", "Email": "asa@example.se",
			"SuccessURL": "https://shop.example/ok", "FailURL": "https://shop.example/fail",
			"ShopperStatement": "Exempel Butik",
		},
	}
}

func attrs(d map[string]any) map[string]any { return d["Attributes"].(map[string]any) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
