package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic/fakeshop"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

var webhookSecret = []byte("whsec_0123456789abcdef")

// shopDefaultsEnv is the shop-wide defaults of platform commands.
var shopDefaultsEnv = map[string]string{
	config.Key("SHOP_SUCCESS_URL"):       "https://shop.example/ok",
	config.Key("SHOP_FAIL_URL"):          "https://shop.example/fail",
	config.Key("SHOP_LOCALE"):            "sv_SE",
	config.Key("SHOP_COUNTRY"):           "SE",
	config.Key("SHOP_SHOPPER_STATEMENT"): "Example shop",
}

func with(m map[string]string, more map[string]string) map[string]string {
	out := map[string]string{}
	for _, src := range []map[string]string{m, more} {
		for k, v := range src {
			out[k] = v
		}
	}
	return out
}

// webhook posts body to the webhook route with the given headers.
func (s *shop) webhook(platform, body string, header ...string) answer {
	s.t.Helper()
	return do(s.t, http.MethodPost, s.priv+"/v1/webhooks/"+platform, body, append([]string{"Content-Type", "application/json"}, header...)...)
}

// signedGeneric signs body as the generic platform does, at the test's now.
func (s *shop) signedGeneric(body string) []string {
	h := http.Header{}
	generic.SignRequest(h, webhookSecret, s.clock.Now(), []byte(body))
	return []string{generic.HeaderTimestamp, h.Get(generic.HeaderTimestamp), generic.HeaderSignature, h.Get(generic.HeaderSignature)}
}

func webhookAnswer(t *testing.T, a answer, want int) shopapi.WebhookAnswer {
	t.Helper()
	if a.Status != want {
		t.Fatalf("status %d, want %d: %s", a.Status, want, a.Body)
	}
	var w shopapi.WebhookAnswer
	if err := json.Unmarshal([]byte(a.Body), &w); err != nil {
		t.Fatalf("%v: %s", err, a.Body)
	}
	return w
}

const paymentEvent = `{"event_id":"evt_1001_pay","type":"payment.requested",
 "order":{"id":"1001","number":"SO-1001","amount_minor":10350,"currency":"SEK",
  "customer":{"id":"cust_42","email":"asa.ek@example.se","first_name":"Åsa","last_name":"Ek","country":"SE"}}}`

// The generic platform, a real plugin process: a signed webhook becomes a
// payment at Trustly (the simulator) whose status reaches the shop; a
// redelivery (new timestamp and signature, same event) creates nothing; a
// tampered body or another platform's name is refused.
func TestE2EGenericWebhookCreatesOnePayment(t *testing.T) {
	if genericBin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	fs := fakeshop.New(t, callbackSecret)
	s := startShopEnv(t, with(shopDefaultsEnv, map[string]string{
		config.Key("ADAPTER"):     genericBin,
		config.Key("ADAPTER_ENV"): generic.EnvCallbackURL + "," + generic.EnvCallbackSecret + "," + generic.EnvWebhookSecret,
		generic.EnvCallbackURL:    fs.URL,
		generic.EnvCallbackSecret: string(callbackSecret),
		generic.EnvWebhookSecret:  string(webhookSecret),
	}))
	s.adapterPid()

	first := webhookAnswer(t, s.webhook("generic", paymentEvent, s.signedGeneric(paymentEvent)...), http.StatusOK)
	if len(first.Results) != 1 {
		t.Fatalf("results: %+v", first)
	}
	r := first.Results[0]
	if !r.OK || r.Kind != "pay" || r.IdempotencyKey != "generic:evt_1001_pay" || r.PlatformOrder != "1001" ||
		r.OrderID == "" || r.TrustlyOrderID == "" || r.URL == "" || r.Replayed {
		t.Fatalf("result: %+v", r)
	}
	if n := len(s.sim.Orders()); n != 1 {
		t.Fatalf("Trustly saw %d orders, want 1", n)
	}
	if o := s.get(r.OrderID); o.Amount != 10350 || o.Currency != "SEK" || o.ExternalReference != "1001" || o.EndUserID != "cust_42" {
		t.Errorf("order: %+v", o)
	}

	s.advance(time.Second) // a later delivery: another timestamp, another signature
	again := webhookAnswer(t, s.webhook("generic", paymentEvent, s.signedGeneric(paymentEvent)...), http.StatusOK)
	if len(again.Results) != 1 || !again.Results[0].Replayed || again.Results[0].OrderID != r.OrderID || again.Results[0].URL != r.URL {
		t.Errorf("redelivery: %+v", again)
	}

	tampered := strings.Replace(paymentEvent, "10350", "1", 1)
	a := s.webhook("generic", tampered, s.signedGeneric(paymentEvent)...)
	if a.Status != http.StatusUnauthorized || a.ErrorCode(t) != "webhook_unauthenticated" {
		t.Errorf("tampered: %d %s", a.Status, a.Body)
	}
	if strings.Contains(a.Body, "sha256=") {
		t.Errorf("the answer shows a signature: %s", a.Body)
	}
	other := strings.Replace(paymentEvent, "evt_1001_pay", "evt_1002_pay", 1)
	if a := s.webhook("woocommerce", other, s.signedGeneric(other)...); a.Status != http.StatusNotFound || a.ErrorCode(t) != "unknown_platform" {
		t.Errorf("wrong platform: %d %s", a.Status, a.Body)
	}
	bad := `{"event_id":"evt_1003","type":"payment.requested","order":{"id":"1003"}}`
	if a := s.webhook("generic", bad, s.signedGeneric(bad)...); a.Status != http.StatusBadRequest || a.ErrorCode(t) != "webhook_invalid" ||
		!strings.Contains(a.Body, "amount_minor") {
		t.Errorf("malformed event: %d %s", a.Status, a.Body)
	}
	ping := `{"event_id":"evt_ping","type":"ping"}`
	if w := webhookAnswer(t, s.webhook("generic", ping, s.signedGeneric(ping)...), http.StatusOK); len(w.Results) != 0 || w.Platform != "generic" {
		t.Errorf("ping: %+v", w)
	}
	if n := len(s.sim.Orders()); n != 1 {
		t.Errorf("Trustly saw %d orders, want 1", n)
	}

	// The payment's status reaches the platform's order 1001.
	o := s.get(r.OrderID)
	s.approve(o, sim.DefaultScenario)
	s.advance(time.Minute)
	eventually(t, "the shop hears paid", func() bool { return fs.Snapshot("1001") == "pending,paid" })

	m := s.call(http.MethodGet, "/metrics", "", "").Body
	for _, line := range []string{
		`trustly_sidecar_webhooks_total{outcome="ok",platform="generic"} 3`,
		`trustly_sidecar_webhooks_total{outcome="unauthenticated",platform="generic"} 1`,
		`trustly_sidecar_webhooks_total{outcome="invalid",platform="generic"} 1`,
		`trustly_sidecar_webhooks_total{outcome="not_found",platform="other"} 1`,
	} {
		if !strings.Contains(m, line) {
			t.Errorf("metrics lack %s:\n%s", line, grepLines(m, "webhooks"))
		}
	}
	if strings.Contains(s.log.String(), string(webhookSecret)) {
		t.Error("the logs hold the webhook secret")
	}
}

// buildSyncShop builds the synchronous example adapter by path from its own
// module, as a platform developer's adapter is.
func buildSyncShop(t *testing.T) string {
	t.Helper()
	gobin := goTool()
	if gobin == "" {
		t.Skip("go tool not found")
	}
	bin := filepath.Join(t.TempDir(), "syncshop")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	cmd.Dir = "../adapter/examples/syncshop"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build syncshop: %v\n%s", err, out)
	}
	return bin
}

const syncShopSecret = "syncshop-secret-0123456789"

// syncShopEnv runs the example adapter, with more of its variables.
func syncShopEnv(bin string, more map[string]string) map[string]string {
	env := map[string]string{
		config.Key("ADAPTER"):     bin,
		config.Key("ADAPTER_ENV"): "SYNCSHOP_SECRET,SYNCSHOP_API_URL,SYNCSHOP_API_TOKEN,SYNCSHOP_TIMEOUT,SYNCSHOP_PUBLIC",
		"SYNCSHOP_SECRET":         syncShopSecret,
		"SYNCSHOP_API_URL":        "http://127.0.0.1:9/api",
		"SYNCSHOP_API_TOKEN":      "token",
	}
	maps.Copy(env, more)
	return with(shopDefaultsEnv, env)
}

func syncShopSignature(body string) string {
	m := hmac.New(sha256.New, []byte(syncShopSecret))
	m.Write([]byte(body))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// The synchronous example adapter: its Answer is what the platform gets
// back.
func TestE2ESyncShopWebhookGetsTheAdaptersAnswer(t *testing.T) {
	s := startShopEnv(t, syncShopEnv(buildSyncShop(t), nil))
	s.adapterPid()
	body := `{"request_id":"r1","action":"pay","order":{"id":"SO-7","amount_minor":4200,"currency":"SEK"},"customer":{"id":"c7","email":"c7@example.se","first_name":"Carl","last_name":"Sju"}}`
	sig := syncShopSignature(body)
	// Not Public: nothing of it on the public listener.
	if a := do(t, http.MethodPost, s.pub+"/platform/syncshop", body, "X-Syncshop-Signature", sig); a.Status != http.StatusNotFound {
		t.Errorf("public route of an adapter that is not Public: %d %s", a.Status, a.Body)
	}

	for i, want := range []int{1, 1} { // the second is SyncShop resending: no second order
		a := s.webhook("syncshop", body, "X-Syncshop-Signature", sig)
		var reply map[string]string
		if err := json.Unmarshal([]byte(a.Body), &reply); err != nil || a.Status != http.StatusOK || a.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("attempt %d: %d %s %v", i, a.Status, a.Body, err)
		}
		if reply["result"] != "ACTION_REQUIRED" || reply["redirect_url"] == "" || reply["psp_reference"] == "" {
			t.Errorf("attempt %d: reply %v", i, reply)
		}
		if n := len(s.sim.Orders()); n != want {
			t.Errorf("attempt %d: Trustly saw %d orders, want %d", i, n, want)
		}
	}
	// A command the host refuses (no name for Trustly) still gets the
	// adapter's answer, shaped from the failed result.
	nameless := `{"request_id":"r2","action":"pay","order":{"id":"SO-8","amount_minor":4200,"currency":"SEK"},"customer":{"id":"c8","email":"c8@example.se"}}`
	a := s.webhook("syncshop", nameless, "X-Syncshop-Signature", syncShopSignature(nameless))
	if a.Status != http.StatusOK || !strings.Contains(a.Body, `"result":"FAILURE"`) || !strings.Contains(a.Body, `"code":"invalid_request"`) {
		t.Errorf("refused command: %d %s", a.Status, a.Body)
	}
	if a := s.webhook("syncshop", body, "X-Syncshop-Signature", base64.StdEncoding.EncodeToString([]byte("nope"))); a.Status != http.StatusUnauthorized {
		t.Errorf("bad signature: %d %s", a.Status, a.Body)
	}
}

// A synchronous platform with a short timeout, calling in on the public
// listener, while Trustly is slower than that: it is answered pending by
// its deadline, the Deposit goes on after the platform stopped waiting, and
// the platform's repeat of the request gets the Trustly URL, with a single
// order at Trustly.
func TestE2ESyncShopIsAnsweredPendingByItsDeadline(t *testing.T) {
	slow := newSlowProxy(t, 2*time.Second)
	s := startShopEnv(t, syncShopEnv(buildSyncShop(t), map[string]string{
		"SYNCSHOP_TIMEOUT": "500ms", "SYNCSHOP_PUBLIC": "true",
		config.Key("TRUSTLY_URL"): slow.URL + "/api/1",
	}))
	slow.target(t, s.sim.URL())
	s.adapterPid()
	body := `{"request_id":"r9","action":"pay","order":{"id":"SO-9","amount_minor":9900,"currency":"SEK"},"customer":{"id":"c9","email":"c9@example.se","first_name":"Nia","last_name":"Nio"}}`
	sig := syncShopSignature(body)
	call := func() map[string]string {
		t.Helper()
		a := do(t, http.MethodPost, s.pub+"/platform/syncshop/pay?via=test", body, "Content-Type", "application/json", "X-Syncshop-Signature", sig)
		var reply map[string]string
		if err := json.Unmarshal([]byte(a.Body), &reply); err != nil || a.Status != http.StatusOK {
			t.Fatalf("%d %s %v", a.Status, a.Body, err)
		}
		return reply
	}
	if r := call(); r["result"] != "PENDING" {
		t.Fatalf("first call, Trustly slower than the platform's timeout: %v; want PENDING", r)
	}
	if r := call(); r["result"] != "PENDING" { // the Deposit still runs
		t.Fatalf("repeat while the Deposit runs: %v; want PENDING", r)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := call()
		if r["result"] == "ACTION_REQUIRED" {
			if r["redirect_url"] == "" || r["psp_reference"] == "" {
				t.Errorf("the outcome lacks the URL or reference: %v", r)
			}
			break
		}
		if r["result"] != "PENDING" || time.Now().After(deadline) {
			t.Fatalf("repeat: %v; want PENDING, then ACTION_REQUIRED", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := len(s.sim.Orders()); n != 1 {
		t.Errorf("Trustly saw %d orders, want 1", n)
	}
	if m := s.call(http.MethodGet, "/metrics", "", "").Body; !strings.Contains(m, `trustly_sidecar_webhooks_total{outcome="pending",platform="syncshop"}`) {
		t.Errorf("metrics lack the pending outcome:\n%s", grepLines(m, "webhooks"))
	}
	// The private route still takes it, below the platform's name too.
	if a := s.webhook("syncshop/pay", body, "X-Syncshop-Signature", sig); a.Status != http.StatusOK || !strings.Contains(a.Body, "ACTION_REQUIRED") {
		t.Errorf("private route: %d %s", a.Status, a.Body)
	}
}

// slowProxy is Trustly behind a slow network: every call waits before it
// is passed on.
type slowProxy struct {
	*httptest.Server
	to atomic.Pointer[url.URL]
}

func newSlowProxy(t *testing.T, delay time.Duration) *slowProxy {
	t.Helper()
	p := &slowProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		to := p.to.Load()
		if to == nil {
			http.Error(w, "no target yet", http.StatusBadGateway)
			return
		}
		httputil.NewSingleHostReverseProxy(to).ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *slowProxy) target(t *testing.T, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p.to.Store(u)
}

func TestWebhookWithoutAdapterIs404(t *testing.T) {
	s := startShop(t)
	a := s.webhook("generic", `{}`)
	if a.Status != http.StatusNotFound || a.ErrorCode(t) != "no_adapter" {
		t.Errorf("%d %s", a.Status, a.Body)
	}
}

func TestShopDefaultsAreChecked(t *testing.T) {
	env := validEnv(t).with("SHOP_SUCCESS_URL", "/ok", "SHOP_FAIL_URL", "ftp://x/", "SHOP_LOCALE", "sv", "SHOP_COUNTRY", "Sweden")
	_, _, err := config.Load(env.get, nil, builtins.Names())
	var ce *config.Error
	if !errors.As(err, &ce) || len(ce.Problems()) != 4 {
		t.Fatalf("want 4 problems, got %v", err)
	}
	for _, name := range []string{"SHOP_SUCCESS_URL", "SHOP_FAIL_URL", "SHOP_LOCALE", "SHOP_COUNTRY"} {
		if !strings.Contains(err.Error(), config.Key(name)) {
			t.Errorf("no problem names %s: %v", name, err)
		}
	}
	cfg, _, err := config.Load(validEnv(t).with("SHOP_SUCCESS_URL", "https://shop.example/ok", "SHOP_LOCALE", "sv_SE").get, nil, builtins.Names())
	if err != nil || cfg.ShopDefaults().SuccessURL != "https://shop.example/ok" || cfg.ShopDefaults().Locale != "sv_SE" {
		t.Errorf("valid defaults: %v %+v", err, cfg)
	}
}

// Through a real plugin: a payment that also asks for a mandate, with a
// shipping address and a locked national id, reaches Trustly with each.
func TestE2EGenericPaymentWithAMandateAndAnAddress(t *testing.T) {
	if genericBin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	fs := fakeshop.New(t, callbackSecret)
	s := startShopEnv(t, with(shopDefaultsEnv, map[string]string{
		config.Key("ADAPTER"):     genericBin,
		config.Key("ADAPTER_ENV"): generic.EnvCallbackURL + "," + generic.EnvCallbackSecret + "," + generic.EnvWebhookSecret,
		generic.EnvCallbackURL:    fs.URL,
		generic.EnvCallbackSecret: string(callbackSecret),
		generic.EnvWebhookSecret:  string(webhookSecret),
	}))
	ev := `{"event_id":"evt_2001_pay","type":"payment.requested",
 "order":{"id":"2001","amount_minor":9900,"currency":"SEK","request_mandate":true,"kyc":{"request":true,"minimum_age":20},
  "recipient":{"organisation":true,"first_name":"Ölhandeln AB","country":"SE","customer_id":"m-77","date_of_birth":"556677-8899"},
  "shipping_address":{"country":"SE","postal_code":"11253","city":"Stockholm","line1":"Storgatan 10"},
  "customer":{"id":"cust_7","email":"asa.ek@example.se","first_name":"Åsa","last_name":"Ek","country":"SE",
   "national_id":"198001011234","national_id_locked":true}}}`
	got := webhookAnswer(t, s.webhook("generic", ev, s.signedGeneric(ev)...), http.StatusOK)
	if len(got.Results) != 1 || !got.Results[0].OK {
		t.Fatalf("results: %+v", got)
	}
	sent, ok := s.sim.Order(got.Results[0].TrustlyOrderID)
	if !ok {
		t.Fatal("Trustly has no such order")
	}
	for k, want := range map[string]string{"RequestDirectDebitMandate": "1", "UnchangeableNationalIdentificationNumber": "1", "RequestKYC": "1",
		"RecipientInformation.Partytype": "ORGANISATION", "RecipientInformation.Firstname": "Ölhandeln AB", "RecipientInformation.CustomerID": "m-77",
		"NationalIdentificationNumber": "198001011234", "ShippingAddressCity": "Stockholm", "ShippingAddressLine1": "Storgatan 10"} {
		if sent.Attributes[k] != want {
			t.Errorf("Deposit attribute %s = %q, want %q", k, sent.Attributes[k], want)
		}
	}
	// The payment's own minimum age, not the sidecar's default.
	if k := s.get(got.Results[0].OrderID).KYC; k == nil || !k.Requested || k.MinimumAge != 20 {
		t.Errorf("the payment's KYC = %+v, want requested with minimum age 20", k)
	}
	if strings.Contains(s.log.String(), "198001011234") {
		t.Error("the national id is in the sidecar's log")
	}
}
