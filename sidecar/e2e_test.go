package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/httpapi"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// shop is a running sidecar (run … serve, over real sockets) in SIM mode
// against a simulator on a manual clock, on the shared test Redis.
type shop struct {
	t      *testing.T
	sim    *sim.Server
	priv   string
	rdb    redis.UniversalClient
	prefix string
	log    *logBuffer // the sidecar's stderr
	pub    string     // the public listener's base URL
	env    envMap     // its environment
	// clock is the simulator's and the sidecar's clock: advance moves both.
	clock *sim.ManualClock
	// tokens are the pay-link tokens the test made: secrets like the others.
	tokens []string
}

// simKey is the simulator's "Trustly" key, made once: notify signs with it.
var simKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func startShop(t *testing.T) *shop {
	t.Helper()
	return startShopEnv(t, nil)
}

// startShopEnv starts the shop with more variables, given by full name.
func startShopEnv(t *testing.T, extra map[string]string) *shop {
	t.Helper()
	addr := testRedisAddr(t)
	s, clock, simKey := startTestSim(t)
	// The NotificationURL is fixed before start, so the public port is too.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pubAddr := ln.Addr().String()
	ln.Close()
	prefix := testPrefix(t)
	env := validEnv(t).with("TRUSTLY_URL", s.APIURL(), "TRUSTLY_PUBLIC_KEY_FILE", simKey,
		"PUBLIC_ADDR", pubAddr, "PUBLIC_BASE_URL", "http://"+pubAddr,
		"REDIS_MODE", "single", "REDIS_ADDRS", addr, "REDIS_PREFIX", prefix, "LOG_FORMAT", "text")
	maps.Copy(env, extra)
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &logBuffer{}, &logBuffer{}
	done := make(chan error, 1)
	go func() {
		e := &cli.Env{Getenv: env.get, Now: clock.Now, Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr}
		done <- runEnv(ctx, e, []string{"trustly-sidecar", "serve"})
	}()
	var sh *shop
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, stderr)
		}
		if sh != nil {
			checkNoSecretLogged(t, stdout.String()+stderr.String(), secretsOf(t, env, s, sh.tokens))
		}
	})
	pub := localURL(waitFor(t, stdout, publicRe, done))
	priv := localURL(waitFor(t, stdout, privateRe, done))
	waitHealthy(t, pub+"/healthz")
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	sh = &shop{t: t, sim: s, priv: priv, rdb: rdb, prefix: prefix, log: stderr, pub: pub, env: env, clock: clock}
	return sh
}

// secretsOf is every secret a run of the sidecar knew: the values (and
// files) of its secret settings and the adapter's, the private key's
// material, the pay-link tokens it made and the full signature of every
// notification the simulator sent.
func secretsOf(t *testing.T, env envMap, s *sim.Server, tokens []string) []string {
	t.Helper()
	secrets := append([]string{testSecret, testPassword, testToken}, tokens...)
	for k, v := range env {
		name := strings.TrimSuffix(k, "_FILE")
		if !strings.Contains(name, "PASSWORD") && !strings.Contains(name, "SECRET") && !strings.Contains(name, "TOKEN") && !strings.Contains(name, "PRIVATE_KEY") {
			continue
		}
		if name != k {
			b, err := os.ReadFile(v)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			v = string(b)
		}
		for line := range strings.SplitSeq(v, "\n") {
			// A PEM's body lines are key material; its armour is not.
			if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				secrets = append(secrets, line)
			}
		}
	}
	for _, o := range s.Orders() {
		for _, n := range s.Notifications(o.OrderID) {
			var env struct {
				Params struct {
					Signature string `json:"signature"`
				} `json:"params"`
			}
			if json.Unmarshal(n.Body, &env) == nil && env.Params.Signature != "" {
				secrets = append(secrets, env.Params.Signature)
			}
		}
	}
	return secrets
}

// checkNoSecretLogged fails on any line of logs that holds one of secrets,
// naming the line's number but never the secret.
func checkNoSecretLogged(t *testing.T, logs string, secrets []string) {
	t.Helper()
	for _, n := range secretLines(logs, secrets) {
		t.Errorf("log line %d holds a secret", n)
	}
}

// secretLines are the numbers of the lines of logs that hold a secret.
func secretLines(logs string, secrets []string) []int {
	var out []int
	for i, line := range strings.Split(logs, "\n") {
		for _, secret := range secrets {
			if secret != "" && strings.Contains(line, secret) {
				out = append(out, i+1)
				break
			}
		}
	}
	return out
}

func TestSecretScanFindsEverySecretLine(t *testing.T) {
	logs := "level=INFO msg=ok\nlevel=WARN url=/pay/tok123\nlevel=INFO\nsig=c2lnbmF0dXJl key"
	got := secretLines(logs, []string{"tok123", "c2lnbmF0dXJl", ""})
	if len(got) != 2 || got[0] != 2 || got[1] != 4 {
		t.Fatalf("lines %v, want [2 4]", got)
	}
}

// call sends a shop API request; key, when set, is the Idempotency-Key.
func (s *shop) call(method, path, key, body string) answer {
	s.t.Helper()
	var h []string
	if key != "" {
		h = append(h, "Idempotency-Key", key)
	}
	if body != "" {
		h = append(h, "Content-Type", "application/json")
	}
	return do(s.t, method, s.priv+path, body, h...)
}

func (s *shop) order(a answer, want int) shopapi.Order {
	s.t.Helper()
	if a.Status != want {
		s.t.Fatalf("status %d, want %d: %s", a.Status, want, a.Body)
	}
	var o shopapi.Order
	if err := json.Unmarshal([]byte(a.Body), &o); err != nil {
		s.t.Fatalf("%v: %s", err, a.Body)
	}
	return o
}

func (s *shop) get(id string) shopapi.Order {
	s.t.Helper()
	return s.order(s.call(http.MethodGet, "/v1/payments/"+id, "", ""), http.StatusOK)
}

// advance moves the simulator's clock; its notifications reach the sidecar
// inside the call.
func (s *shop) advance(d time.Duration) {
	s.t.Helper()
	if err := s.sim.Advance(s.t.Context(), d); err != nil {
		s.t.Fatal(err)
	}
}

func (s *shop) approve(o shopapi.Order, scenario string) {
	s.t.Helper()
	if o.TrustlyOrderID == "" || o.URL == "" {
		s.t.Fatalf("no Trustly order to approve: %+v", o)
	}
	if _, err := s.sim.Approve(o.TrustlyOrderID, scenario, 0); err != nil {
		s.t.Fatal(err)
	}
}

// storeKeys lists the orders' keys (idempotency records excluded).
func (s *shop) storeKeys() []string {
	s.t.Helper()
	ks, err := s.rdb.Keys(s.t.Context(), s.prefix+":*").Result()
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, k := range ks {
		if !strings.Contains(k, ":idem:") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

const paymentBody = `{"amount":10300,"currency":"SEK","shopper":{"endUserId":"shopper-1","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com","country":"SE","locale":"sv_SE"},"successUrl":"https://shop.example/ok","failUrl":"https://shop.example/fail","shopperStatement":"Example shop"%s}`

func TestE2EPaymentInvoiceAndRefunds(t *testing.T) {
	s := startShop(t)
	p := s.order(s.call(http.MethodPost, "/v1/payments", "pay-1", strings.Replace(paymentBody, "%s", `,"externalReference":"INV-1"`, 1)), http.StatusCreated)
	if p.State != "started" || p.Amount != 10300 || p.Currency != "SEK" {
		t.Fatalf("created: %+v", p)
	}
	s.approve(p, sim.DefaultScenario)
	s.advance(time.Minute)
	if got := s.get(p.ID); got.State != "paid" || got.Credited != 10300 || got.Refundable != 10300 {
		t.Fatalf("after approval: %+v", got)
	}

	// The invoice finds its payment; so do the MessageID and Trustly's OrderID.
	for _, q := range []string{"externalReference=INV-1", "messageId=" + p.MessageID, "trustlyOrderId=" + p.TrustlyOrderID} {
		a := s.call(http.MethodGet, "/v1/payments?"+q, "", "")
		var l shopapi.OrderList
		if err := json.Unmarshal([]byte(a.Body), &l); err != nil || a.Status != http.StatusOK || len(l.Orders) != 1 || l.Orders[0].ID != p.ID {
			t.Errorf("search %s: %d %s", q, a.Status, a.Body)
		}
	}

	partial := s.order(s.call(http.MethodPost, "/v1/payments/"+p.ID+"/refunds", "ref-1", `{"amount":3000}`), http.StatusCreated)
	if partial.Flow != "refund" || partial.PaymentID != p.ID {
		t.Fatalf("partial refund: %+v", partial)
	}
	s.advance(time.Hour)
	if got := s.get(p.ID); got.Refunded != 3000 || got.Refundable != 7300 {
		t.Fatalf("after a partial refund: %+v", got)
	}
	s.order(s.call(http.MethodPost, "/v1/payments/"+p.ID+"/refunds", "ref-2", `{}`), http.StatusCreated)
	s.advance(time.Hour)
	if got := s.get(p.ID); got.Refunded != 10300 || got.Refundable != 0 {
		t.Fatalf("after the full refund: %+v", got)
	}
	if a := s.call(http.MethodPost, "/v1/payments/"+p.ID+"/refunds", "ref-3", `{"amount":1}`); a.Status != http.StatusConflict {
		t.Errorf("refund beyond what was paid: %d %s", a.Status, a.Body)
	}
}

func TestE2EMandateChargeAndCancel(t *testing.T) {
	s := startShop(t)
	m := s.order(s.call(http.MethodPost, "/v1/mandates", "m-1",
		`{"shopper":{"endUserId":"shopper-2","firstName":"Ada","lastName":"L","email":"ada@example.com","country":"SE","locale":"sv_SE"},"successUrl":"https://shop.example/ok","failUrl":"https://shop.example/fail"}`), http.StatusCreated)
	s.approve(m, sim.DefaultScenario)
	s.advance(time.Second)
	if got := s.order(s.call(http.MethodGet, "/v1/mandates/"+m.ID, "", ""), http.StatusOK); got.State != "active" {
		t.Fatalf("mandate: %+v", got)
	}
	if a := s.call(http.MethodGet, "/v1/payments/"+m.ID, "", ""); a.Status != http.StatusNotFound {
		t.Errorf("a mandate read as a payment: %d", a.Status)
	}

	c := s.order(s.call(http.MethodPost, "/v1/charges", "c-1", `{"endUserId":"shopper-2","amount":5000,"currency":"SEK","email":"ada@example.com","shopperStatement":"Example shop"}`), http.StatusCreated)
	s.advance(48 * time.Hour)
	if got := s.get(c.ID); got.State != "paid" || got.Credited != 5000 {
		t.Fatalf("charge: %+v", got)
	}

	later := s.sim.Now().AddDate(0, 0, 30).Format(time.DateOnly)
	c2 := s.order(s.call(http.MethodPost, "/v1/charges", "c-2", `{"endUserId":"shopper-2","amount":700,"currency":"SEK","email":"ada@example.com","shopperStatement":"Example shop","paymentDate":"`+later+`"}`), http.StatusCreated)
	got := s.order(s.call(http.MethodDelete, "/v1/charges/"+c2.ID, "cancel-1", ""), http.StatusOK)
	if got.State != "cancelled" {
		t.Fatalf("cancelled charge: %+v", got)
	}
	if a := s.call(http.MethodDelete, "/v1/charges/"+c.ID, "cancel-2", ""); a.Status != http.StatusConflict {
		t.Errorf("cancel of a paid charge: %d %s", a.Status, a.Body)
	}
}

func TestE2EIdempotentReplays(t *testing.T) {
	s := startShop(t)
	body := strings.Replace(paymentBody, "%s", "", 1)
	first := s.call(http.MethodPost, "/v1/payments", "same", body)
	again := s.call(http.MethodPost, "/v1/payments", "same", body)
	if first.Status != http.StatusCreated || again.Status != first.Status || again.Body != first.Body {
		t.Fatalf("replay: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	if again.Header.Get(httpapi.ReplayedHeader) != "true" || first.Header.Get(httpapi.ReplayedHeader) != "" {
		t.Errorf("replay header: first %q, again %q", first.Header.Get(httpapi.ReplayedHeader), again.Header.Get(httpapi.ReplayedHeader))
	}
	// The answer, stored beside the order's transition, is the order as
	// stored: the order's own read shows the same.
	if got := s.call(http.MethodGet, "/v1/payments/"+s.order(first, http.StatusCreated).ID, "", ""); got.Body != first.Body {
		t.Errorf("the order reads\n%s\nanswered\n%s", got.Body, first.Body)
	}
	other := s.call(http.MethodPost, "/v1/payments", "same", strings.Replace(body, "10300", "10400", 1))
	if other.Status != http.StatusUnprocessableEntity || other.ErrorCode(t) != "idempotency_key_reused" {
		t.Errorf("same key, other body: %d %s", other.Status, other.Body)
	}
	if n := len(s.sim.Orders()); n != 1 {
		t.Errorf("Trustly saw %d orders, want 1", n)
	}
	metrics := s.call(http.MethodGet, "/metrics", "", "")
	if !strings.Contains(metrics.Body, `trustly_sidecar_idempotency_replays_total{operation="createPayment"} 1`) ||
		!strings.Contains(metrics.Body, `trustly_sidecar_trustly_calls_total{code="ok",method="Deposit"} 1`) {
		t.Errorf("metrics lack the replay or the Deposit:\n%s", metrics.Body)
	}
}

func TestE2EBadInputChangesNothing(t *testing.T) {
	s := startShop(t)
	p := s.order(s.call(http.MethodPost, "/v1/payments", "p", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	before := s.storeKeys()
	ok := strings.Replace(paymentBody, "%s", "", 1)
	cases := []struct {
		name, method, path, key, body string
		status                        int
		code                          string
	}{
		{"payment without key", "POST", "/v1/payments", "", ok, 400, "idempotency_key_required"},
		{"payment not JSON", "POST", "/v1/payments", "k1", "{", 400, "invalid_json"},
		{"payment unknown field", "POST", "/v1/payments", "k2", `{"amount":1,"colour":"red"}`, 400, "invalid_json"},
		{"payment amount as decimal", "POST", "/v1/payments", "k3", strings.Replace(ok, "10300", `"103.00"`, 1), 400, "invalid_json"},
		{"payment negative amount", "POST", "/v1/payments", "k4", strings.Replace(ok, "10300", "-1", 1), 400, "invalid_request"},
		{"payment bad currency", "POST", "/v1/payments", "k5", strings.Replace(ok, `"SEK"`, `"kr"`, 1), 400, "invalid_request"},
		{"payment no shopper", "POST", "/v1/payments", "k6", `{"amount":1,"currency":"SEK","successUrl":"https://a/","failUrl":"https://a/"}`, 400, "invalid_request"},
		{"payment relative url", "POST", "/v1/payments", "k7", strings.Replace(ok, "https://shop.example/ok", "/ok", 1), 400, "invalid_request"},
		{"search without field", "GET", "/v1/payments", "", "", 400, "invalid_request"},
		{"search two fields", "GET", "/v1/payments?messageId=a&externalReference=b", "", "", 400, "invalid_request"},
		{"payment unknown", "GET", "/v1/payments/nope", "", "", 404, "not_found"},
		{"refund unknown payment", "POST", "/v1/payments/nope/refunds", "k8", `{"amount":1}`, 404, "not_found"},
		{"refund negative", "POST", "/v1/payments/" + p.ID + "/refunds", "k9", `{"amount":-5}`, 400, "invalid_request"},
		{"refund unpaid", "POST", "/v1/payments/" + p.ID + "/refunds", "k10", `{"amount":5}`, 409, "not_refundable"},
		{"mandate without email", "POST", "/v1/mandates", "k11", `{"shopper":{"endUserId":"x","firstName":"A","lastName":"B","country":"SE","locale":"sv_SE"},"successUrl":"https://a/","failUrl":"https://a/"}`, 400, "invalid_request"},
		{"mandate unknown", "GET", "/v1/mandates/" + p.ID, "", "", 404, "not_found"},
		{"charge zero", "POST", "/v1/charges", "k12", `{"endUserId":"x","amount":0,"currency":"SEK"}`, 400, "invalid_request"},
		{"charge bad date", "POST", "/v1/charges", "k13", `{"endUserId":"x","amount":5,"currency":"SEK","paymentDate":"tomorrow"}`, 400, "invalid_request"},
		{"charge without mandate", "POST", "/v1/charges", "k14", `{"endUserId":"nobody","amount":5,"currency":"SEK","email":"a@b.se","shopperStatement":"x"}`, 409, "no_active_mandate"},
		{"cancel a deposit", "DELETE", "/v1/charges/" + p.ID, "k15", "", 409, "not_cancellable"},
		{"cancel with a body", "DELETE", "/v1/charges/" + p.ID, "k16", `{}`, 400, "invalid_request"},
		{"cancel without key", "DELETE", "/v1/charges/" + p.ID, "", "", 400, "idempotency_key_required"},
		{"balance wrong method", "POST", "/v1/balance", "k17", "", 405, "method_not_allowed"},
		{"paylink without shopper", "POST", "/v1/paylinks", "k18", `{}`, 400, "invalid_request"},
	}
	for _, c := range cases {
		a := s.call(c.method, c.path, c.key, c.body)
		if a.Status != c.status || a.ErrorCode(t) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, a.Status, a.Body, c.status, c.code)
		}
	}
	if after := s.storeKeys(); !slices.Equal(after, before) {
		t.Errorf("the store changed:\nbefore %v\nafter  %v", before, after)
	}
	if got := s.get(p.ID); got.State != p.State || got.Refunded != 0 {
		t.Errorf("the payment changed: %+v", got)
	}
	if a := s.call(http.MethodGet, "/v1/balance", "", ""); a.Status != http.StatusOK || !strings.Contains(a.Body, `"currency":"SEK"`) {
		t.Errorf("balance: %d %s", a.Status, a.Body)
	}
}

// startTestSim starts a simulator on a manual clock (returned: the test's
// clock) that knows the test
// merchant's key, and writes its public key where the sidecar can read it.
func startTestSim(t *testing.T) (*sim.Server, *sim.ManualClock, string) {
	t.Helper()
	kb, err := os.ReadFile(filepath.Join(keyDir, privateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := trustly.ParsePrivateKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	clock := sim.NewManualClock(time.Now().UTC().Truncate(time.Second))
	s, err := sim.New(sim.Config{Key: simKey(), Username: "merchant", Password: testPassword, MerchantPublicKey: &mk.PublicKey,
		Relaxed: true, Clock: clock, SettlementDelay: -1,
		Balances: map[string]int64{"SEK": 10_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	keyFile := filepath.Join(t.TempDir(), "sim.pem")
	if err := os.WriteFile(keyFile, s.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, clock, keyFile
}

// A request Trustly would refuse is refused before anything is stored, with
// every problem named at once (the engine's check, core/trustly's rules).
func TestE2EInvalidRequestsNameEveryProblem(t *testing.T) {
	s := startShop(t)
	a := s.call(http.MethodPost, "/v1/payments", "bad-1", `{"amount":1,"currency":"SEK","successUrl":"https://a/","failUrl":"https://a/"}`)
	if a.Status != http.StatusBadRequest || a.ErrorCode(t) != "invalid_request" {
		t.Fatalf("%d %s", a.Status, a.Body)
	}
	for _, p := range []string{"EndUserID: required", "Email: required", "ShopperStatement: required", "Locale: required"} {
		if !strings.Contains(a.Body, p) {
			t.Errorf("the answer does not name %q: %s", p, a.Body)
		}
	}
	if n := len(s.sim.Orders()); n != 0 {
		t.Errorf("Trustly saw %d orders", n)
	}
	// The key was given back: the corrected request runs under it.
	good := s.order(s.call(http.MethodPost, "/v1/payments", "bad-1", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	if good.URL == "" {
		t.Errorf("the corrected request: %+v", good)
	}
}

// Only the currencies Trustly takes, with their two decimals, and amounts up
// to trustly.MaxAmount reach Trustly: anything else is a 400 that stores
// nothing and calls nothing (JPY 10300 would otherwise go out as "103.00").
func TestE2ECurrencyAndAmountBounds(t *testing.T) {
	s := startShop(t)
	ok := strings.Replace(paymentBody, "%s", "", 1)
	payment := func(currency string, amount int64) string {
		return strings.Replace(strings.Replace(ok, `"SEK"`, `"`+currency+`"`, 1), "10300", strconv.FormatInt(amount, 10), 1)
	}
	// Orders, indexes, links: every key but the idempotency records (a
	// released one keeps only its fence) and the balance the engine
	// refreshes on its own.
	keys := func() []string {
		var out []string
		for _, k := range s.storeKeys() {
			if !strings.Contains(k, ":balance") {
				out = append(out, k)
			}
		}
		return out
	}
	before := keys()
	cases := []struct {
		name, path, body, want string
	}{
		{"payment in yen", "/v1/payments", payment("JPY", 10300), `\"JPY\" is not a currency Trustly takes (it has 0 decimals`},
		{"payment in Kuwaiti dinar", "/v1/payments", payment("KWD", 10300), `\"KWD\" is not a currency Trustly takes (it has 3 decimals`},
		{"payment in a made-up currency", "/v1/payments", payment("XYZ", 10300), `\"XYZ\" is not an ISO 4217 currency code`},
		{"payment above the maximum", "/v1/payments", payment("SEK", trustly.MaxAmount+1), "above the maximum"},
		{"charge in yen", "/v1/charges", `{"endUserId":"x","amount":500,"currency":"JPY","email":"a@b.se","shopperStatement":"x"}`, `\"JPY\" is not a currency Trustly takes`},
		{"charge above the maximum", "/v1/charges", `{"endUserId":"x","amount":10000000001,"currency":"SEK","email":"a@b.se","shopperStatement":"x"}`, "above the maximum"},
		{"pay link in yen", "/v1/paylinks", strings.Replace(fmt.Sprintf(payLinkBody, "INV-JPY", ""), `"SEK"`, `"JPY"`, 1), `\"JPY\" is not a currency Trustly takes`},
	}
	for i, c := range cases {
		a := s.call(http.MethodPost, c.path, "bound-"+strconv.Itoa(i), c.body)
		if a.Status != http.StatusBadRequest || a.ErrorCode(t) != "invalid_request" || !strings.Contains(a.Body, c.want) {
			t.Errorf("%s: %d %s, want 400 invalid_request holding %s", c.name, a.Status, a.Body, c.want)
		}
	}
	if after := keys(); !slices.Equal(after, before) {
		t.Errorf("the store changed:\nbefore %v\nafter  %v", before, after)
	}
	for i := range cases {
		ks, _ := s.rdb.Keys(t.Context(), s.prefix+":idem:{v1:bound-"+strconv.Itoa(i)+"}*").Result()
		for _, k := range ks {
			if state, _ := s.rdb.HGet(t.Context(), k, "state").Result(); state != "" {
				t.Errorf("%s: an outcome was stored (%s state %q)", cases[i].name, k, state)
			}
		}
	}
	if n := len(s.sim.Orders()); n != 0 {
		t.Errorf("Trustly saw %d orders", n)
	}
	// The currencies Trustly takes still go through.
	for _, cur := range []string{"SEK", "EUR"} {
		if o := s.order(s.call(http.MethodPost, "/v1/payments", "ok-"+cur, payment(cur, 10300)), http.StatusCreated); o.Currency != cur {
			t.Errorf("%s: %+v", cur, o)
		}
	}
}

// A Deposit that also asks for a direct debit mandate (Trustly's recurring
// guide: pay now, charge later) carries the mandate flag, the shipping
// address and the locked national id to Trustly; its account notification
// makes the shopper's mandate active, so a charge follows with no
// SelectAccount. Without an e-mail Trustly would refuse it: so does /v1.
func TestE2EDepositWithAMandateAndAShippingAddress(t *testing.T) {
	s := startShop(t)
	body := `{"amount":10300,"currency":"SEK","shopper":{"endUserId":"shopper-dm","firstName":"Åsa","lastName":"Öberg","email":"asa@example.com","country":"SE","locale":"sv_SE",` +
		`"nationalIdentificationNumber":"198001011234","unchangeableNationalIdentificationNumber":true},` +
		`"successUrl":"https://shop.example/ok","failUrl":"https://shop.example/fail","shopperStatement":"Example shop","requestDirectDebitMandate":true,` +
		`"shippingAddress":{"country":"SE","postalCode":"11253","city":"Stockholm","line1":"Storgatan 10"}}`
	p := s.order(s.call(http.MethodPost, "/v1/payments", "dm-1", body), http.StatusCreated)
	sent, ok := s.sim.Order(p.TrustlyOrderID)
	if !ok {
		t.Fatalf("the simulator has no order %s", p.TrustlyOrderID)
	}
	for k, want := range map[string]string{"RequestDirectDebitMandate": "1", "UnchangeableNationalIdentificationNumber": "1",
		"NationalIdentificationNumber": "198001011234", "ShippingAddressCountry": "SE", "ShippingAddressPostalCode": "11253",
		"ShippingAddressCity": "Stockholm", "ShippingAddressLine1": "Storgatan 10"} {
		if got := sent.Attributes[k]; got != want {
			t.Errorf("Deposit attribute %s = %q, want %q", k, got, want)
		}
	}
	s.approve(p, sim.DefaultScenario)
	s.advance(time.Minute)
	if got := s.get(p.ID); got.State != "paid" {
		t.Fatalf("the deposit is %s, want paid", got.State)
	}
	c := s.order(s.call(http.MethodPost, "/v1/charges", "dm-c1", `{"endUserId":"shopper-dm","amount":5000,"currency":"SEK","email":"asa@example.com","shopperStatement":"Example shop"}`), http.StatusCreated)
	if c.State != "started" {
		t.Fatalf("charge on the deposit's mandate: %+v", c)
	}

	noEmail := strings.Replace(body, `"email":"asa@example.com",`, "", 1)
	if a := s.call(http.MethodPost, "/v1/payments", "dm-2", noEmail); a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "Email") {
		t.Fatalf("a mandate request without e-mail: %d %s", a.Status, a.Body)
	}
}

// GET /v1/payments/{id}/events and `orders show` tell an order's story: the
// Deposit with its MessageID, the notifications (a repeat marked as such),
// the refund's call, and what the platform was told.
func TestE2EOrderTimeline(t *testing.T) {
	s := startShop(t)
	p := s.order(s.call(http.MethodPost, "/v1/payments", "tl-1", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	s.approve(p, "G2") // the credit is delivered twice
	s.advance(2 * time.Minute)
	s.order(s.call(http.MethodPost, "/v1/payments/"+p.ID+"/refunds", "tl-r", `{"amount":300}`), http.StatusCreated)

	a := s.call(http.MethodGet, "/v1/payments/"+p.ID+"/events", "", "")
	var tl shopapi.Timeline
	if err := json.Unmarshal([]byte(a.Body), &tl); err != nil || a.Status != http.StatusOK || tl.OrderID != p.ID || tl.State != "paid" {
		t.Fatalf("events: %d %s", a.Status, a.Body)
	}
	var lines []string
	for _, e := range tl.Events {
		lines = append(lines, e.Kind+" "+e.What+" "+e.Outcome+" "+e.To+" "+e.Note)
	}
	story := strings.Join(lines, "\n")
	for _, want := range []string{"call Deposit ok  MessageID " + p.MessageID, "notification pending applied pending", "notification credit applied paid",
		"notification credit duplicate", "change accepted applied started"} {
		if !strings.Contains(story, want) {
			t.Errorf("timeline lacks %q:\n%s", want, story)
		}
	}
	if a := s.call(http.MethodGet, "/v1/payments/nope/events", "", ""); a.Status != http.StatusNotFound {
		t.Errorf("events of an unknown order: %d %s", a.Status, a.Body)
	}

	out := clie(t, envMap{}.with("REDIS_MODE", "single", "REDIS_ADDRS", s.env["TRUSTLY_SIDECAR_REDIS_ADDRS"], "REDIS_PREFIX", s.prefix), "orders", "show", p.ID)
	expect{code: 0, stdout: []string{"deposit " + p.ID + " paid 103.00 SEK", "TIME", "call", "Deposit", "duplicate", "pending → paid"}}.check(t, out)
	expect{code: 1, stderr: []string{"no such order"}}.check(t, clie(t, envMap{}.with("REDIS_MODE", "single", "REDIS_ADDRS", s.env["TRUSTLY_SIDECAR_REDIS_ADDRS"], "REDIS_PREFIX", s.prefix), "orders", "show", "nope"))
	expect{code: 2, stderr: []string{"give the order id"}}.check(t, clie(t, envMap{}, "orders", "show"))
}
