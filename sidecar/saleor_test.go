package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/saleor"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/saleor/saleorfake"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// saleorBin is the Saleor adapter as a plugin executable, built once for
// the tests that need it ("" when there is no go tool).
var saleorBin = sync.OnceValue(func() string {
	gobin := goTool()
	if gobin == "" || genericBin == "" {
		return ""
	}
	bin := filepath.Join(filepath.Dir(genericBin), "trustly-adapter-saleor")
	if out, err := exec.Command(gobin, "build", "-o", bin, "../platforms/saleor/cmd/trustly-adapter-saleor").CombinedOutput(); err != nil {
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	return bin
})

const saleorAppToken = "saleor-e2e-app-token-4f1c9a"

// saleorApp is the sidecar as the Saleor app of sal: where Saleor sends
// each webhook.
type saleorApp struct {
	*shop
	sal     *saleorfake.Saleor
	targets map[string]string // event → URL
}

func (a *saleorApp) url(event string) string { return a.targets[event] }

// startSaleorShop is the sidecar with the Saleor adapter bin and an app
// token made by hand; Saleor sends its webhooks to the private
// /v1/webhooks/saleor (a Saleor in the same cluster).
func startSaleorShop(t *testing.T, bin string, sal *saleorfake.Saleor) *saleorApp {
	t.Helper()
	sal.SetToken(saleorAppToken)
	s := startShopEnv(t, with(shopDefaultsEnv, map[string]string{
		config.Key("ADAPTER"):     bin,
		config.Key("ADAPTER_ENV"): strings.Join([]string{saleor.EnvAPIURL, saleor.EnvAppToken}, ","),
		saleor.EnvAPIURL:          sal.APIURL,
		saleor.EnvAppToken:        saleorAppToken,
	}))
	s.adapterPid()
	app := &saleorApp{shop: s, sal: sal, targets: map[string]string{}}
	for _, e := range []string{"PAYMENT_GATEWAY_INITIALIZE_SESSION", "TRANSACTION_INITIALIZE_SESSION", "TRANSACTION_PROCESS_SESSION",
		"TRANSACTION_CHARGE_REQUESTED", "TRANSACTION_REFUND_REQUESTED", "TRANSACTION_CANCELATION_REQUESTED"} {
		app.targets[e] = s.priv + "/v1/webhooks/saleor"
	}
	return app
}

// installSaleorApp is the sidecar with the Saleor adapter bin, installed in
// sal as a person does it in the dashboard: Saleor reads the manifest from
// the sidecar's public listener, posts the app token to its
// tokenTargetUrl, and sends each webhook to its targetUrl.
// extra adds settings; started, when set, runs once the sidecar is up
// (before the installation).
func installSaleorApp(t *testing.T, bin string, sal *saleorfake.Saleor, extra map[string]string, started func(*shop)) *saleorApp {
	t.Helper()
	env := with(shopDefaultsEnv, map[string]string{
		config.Key("ADAPTER"):     bin,
		config.Key("ADAPTER_ENV"): strings.Join([]string{saleor.EnvAPIURL, saleor.EnvTokenDir, saleor.EnvAnswerWithin}, ","),
		saleor.EnvAPIURL:          sal.APIURL,
		saleor.EnvTokenDir:        t.TempDir(),
	})
	s := startShopEnv(t, with(env, extra))
	if started != nil {
		started(s)
	}
	s.adapterPid()
	a := do(t, http.MethodGet, s.pub+"/platform/saleor/manifest", "")
	var m struct {
		ID             string   `json:"id"`
		Permissions    []string `json:"permissions"`
		TokenTargetURL string   `json:"tokenTargetUrl"`
		Webhooks       []struct {
			TargetURL  string   `json:"targetUrl"`
			SyncEvents []string `json:"syncEvents"`
			Query      string   `json:"query"`
		} `json:"webhooks"`
	}
	if a.Status != http.StatusOK || json.Unmarshal([]byte(a.Body), &m) != nil || len(m.Webhooks) != 6 ||
		len(m.Permissions) != 1 || m.Permissions[0] != "HANDLE_PAYMENTS" {
		t.Fatalf("manifest: %d %s", a.Status, a.Body)
	}
	base := strings.TrimPrefix(s.pub, "http://")
	if !strings.HasPrefix(m.TokenTargetURL, "http://"+base+"/platform/saleor/") {
		t.Fatalf("tokenTargetUrl %s is not on the public listener %s", m.TokenTargetURL, s.pub)
	}
	// Anyone can post to the public tokenTargetUrl: a token from another
	// Saleor is refused, Saleor's own kept.
	if status, body, _ := saleorfake.New(t).Install(t.Context(), m.TokenTargetURL); status != http.StatusUnauthorized {
		t.Fatalf("install from another Saleor: %d %s; want 401", status, body)
	}
	status, body, err := sal.Install(t.Context(), m.TokenTargetURL)
	if err != nil || status != http.StatusOK {
		t.Fatalf("install: %d %s %v", status, body, err)
	}
	app := &saleorApp{shop: s, sal: sal, targets: map[string]string{}}
	for _, w := range m.Webhooks {
		app.targets[w.SyncEvents[0]] = w.TargetURL
	}
	return app
}

// saleorAnswer is a synchronous webhook's answer as Saleor parses it.
type saleorAnswer struct {
	PSPReference string      `json:"pspReference"`
	Result       string      `json:"result"`
	Amount       json.Number `json:"amount"`
	Message      string      `json:"message"`
	Data         struct {
		RedirectURL string `json:"redirectUrl"`
	} `json:"data"`
}

// saleorDeliver sends a signed webhook to the sidecar and books the answer on
// the transaction, as Saleor does.
func saleorDeliver(t *testing.T, s *saleorApp, sal *saleorfake.Saleor, txID, event string, body []byte) saleorAnswer {
	t.Helper()
	status, b, err := sal.Deliver(t.Context(), s.url(event), event, body)
	if err != nil || status != http.StatusOK {
		t.Fatalf("%s: %d %s %v", event, status, b, err)
	}
	var a saleorAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %s: %v", event, b, err)
	}
	if err := sal.Book(txID, b, s.clock.Now()); err != nil {
		t.Fatalf("%s: Saleor cannot book %s: %v", event, b, err)
	}
	return a
}

func hasEvent(tx saleorfake.Transaction, typ, psp, amount string) int {
	n := 0
	for _, e := range tx.Events {
		if e.Type == typ && e.PSPReference == psp && e.Amount == amount {
			n++
		}
	}
	return n
}

// Saleor end to end over real sockets, against the Saleor stand-in and the
// simulator: the app installed from its manifest on the public listener
// (the token kept), then on the manifest's webhook URLs: transactionInitialize → Trustly's URL → the shopper approves
// → notifications → CHARGE_SUCCESS reported; the shopper back
// (transactionProcess) → CHARGE_REQUEST; a refund requested → one Trustly
// refund → REFUND_SUCCESS reported; forged, foreign-key and replayed
// webhooks refused without effect.
func TestE2ESaleorCheckoutIsPaidAndRefunded(t *testing.T) {
	bin := saleorBin()
	if bin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	sal := saleorfake.New(t)
	s := installSaleorApp(t, bin, sal, nil, nil)
	buyer := saleorfake.Checkout{ID: "Q2hlY2tvdXQ6MQ==", Email: "asa.ek@example.se", FirstName: "Åsa", LastName: "Ek", Country: "SE"}
	const txID = "VHJhbnNhY3Rpb25JdGVtOjE="

	sal.NewTransaction(txID, "SEK", "103.50", "checkout-1-attempt-1", s.clock.Now())
	init := saleorDeliver(t, s, sal, txID, "TRANSACTION_INITIALIZE_SESSION",
		sal.InitializeSession(txID, buyer, "103.5", "SEK", "checkout-1-attempt-1", s.clock.Now()))
	if init.Result != "CHARGE_ACTION_REQUIRED" || init.Data.RedirectURL == "" || init.PSPReference == "" {
		t.Fatalf("initialize: %+v", init)
	}
	var l shopapi.OrderList
	if a := s.call(http.MethodGet, "/v1/payments?externalReference="+txID, "", ""); json.Unmarshal([]byte(a.Body), &l) != nil || len(l.Orders) != 1 {
		t.Fatalf("payments of transaction %s: %s", txID, a.Body)
	}
	p := l.Orders[0]
	if p.TrustlyOrderID != init.PSPReference || p.URL != init.Data.RedirectURL || p.Amount != 10350 {
		t.Fatalf("payment %+v; answer %+v", p, init)
	}

	// Forged, foreign and replayed webhooks: refused, nothing started.
	body := sal.InitializeSession(txID, buyer, "1.00", "SEK", "checkout-1-attempt-2", s.clock.Now())
	h := sal.Headers("TRANSACTION_INITIALIZE_SESSION", body)
	forged := map[string]func(){
		"unknown key id":   func() { h.Set(saleor.HeaderSignature, saleorfake.SignForeign(t, "not-saleors", body)) },
		"Saleor's kid":     func() { h.Set(saleor.HeaderSignature, foreignUnderKid(t, sal, body)) },
		"no signature":     func() { h.Del(saleor.HeaderSignature) },
		"HMAC, deprecated": func() { h.Set(saleor.HeaderSignature, strings.Repeat("ab", 32)) },
	}
	for name, forge := range forged {
		h = sal.Headers("TRANSACTION_INITIALIZE_SESSION", body)
		forge()
		if status, b, _ := saleorfake.Post(t.Context(), s.url("TRANSACTION_INITIALIZE_SESSION"), h, body); status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s; want 401", name, status, b)
		}
	}
	old := sal.InitializeSession(txID, buyer, "1.00", "SEK", "checkout-1-attempt-3", s.clock.Now().Add(-time.Hour))
	if status, b, _ := sal.Deliver(t.Context(), s.url("TRANSACTION_INITIALIZE_SESSION"), "TRANSACTION_INITIALIZE_SESSION", old); status != http.StatusUnauthorized {
		t.Errorf("replayed (issued an hour ago): %d %s; want 401", status, b)
	}
	if a := s.call(http.MethodGet, "/v1/payments?externalReference="+txID, "", ""); json.Unmarshal([]byte(a.Body), &l) != nil || len(l.Orders) != 1 {
		t.Fatalf("refused webhooks started payments: %s", a.Body)
	}

	// The shopper pays at Trustly.
	s.approve(p, sim.DefaultScenario)
	s.advance(time.Minute)
	eventually(t, "CHARGE_SUCCESS 103.50 reported on the transaction", func() bool {
		return hasEvent(sal.Transaction(txID), "CHARGE_SUCCESS", p.TrustlyOrderID, "103.50") == 1
	})
	// Back from Trustly, the storefront calls transactionProcess.
	if proc := saleorDeliver(t, s, sal, txID, "TRANSACTION_PROCESS_SESSION",
		sal.ProcessSession(txID, buyer, "103.5", "SEK", s.clock.Now())); proc.Result != "CHARGE_REQUEST" || proc.PSPReference != p.TrustlyOrderID {
		t.Errorf("process: %+v", proc)
	}

	// The merchant refunds 50.00 in the dashboard; Saleor's request is
	// delivered twice (a retry), Trustly refunds once.
	sal.RequestRefund(txID, "50.00", s.clock.Now())
	refundBody := sal.ActionRequested("TransactionRefundRequested", "REFUND", txID, "50.00", "SEK", s.clock.Now())
	status, first, err := sal.Deliver(t.Context(), s.url("TRANSACTION_REFUND_REQUESTED"), "TRANSACTION_REFUND_REQUESTED", refundBody)
	if err != nil || status != http.StatusOK {
		t.Fatalf("refund requested: %d %s %v", status, first, err)
	}
	_, again, _ := sal.Deliver(t.Context(), s.url("TRANSACTION_REFUND_REQUESTED"), "TRANSACTION_REFUND_REQUESTED", refundBody)
	if string(again) != string(first) {
		t.Errorf("refund redelivered: %s; first %s", again, first)
	}
	if err := sal.Book(txID, first, s.clock.Now()); err != nil {
		t.Fatalf("Saleor cannot book the refund's answer %s: %v", first, err)
	}
	// Asynchronous: a pspReference of the refund's own (the sidecar's
	// order of the refund), no result.
	var ra saleorAnswer
	_ = json.Unmarshal(first, &ra)
	refundPSP := ra.PSPReference
	if refunds := s.get(p.ID).Refunds; len(refunds) != 1 || refundPSP != "refund:"+refunds[0] || ra.Result != "" {
		t.Errorf("refund answer %s; want asynchronous with the pspReference refund:<the refund's order> (refunds %v)", first, refunds)
	}
	s.advance(time.Hour)
	eventually(t, "Trustly refunded 50.00", func() bool { return s.get(p.ID).Refunded == 5000 })
	eventually(t, "REFUND_SUCCESS 50.00 reported", func() bool {
		return hasEvent(sal.Transaction(txID), "REFUND_SUCCESS", refundPSP, "50.00") == 1
	})
	if pending := sal.PendingRefunds(txID); len(pending) != 0 {
		t.Errorf("Saleor keeps refunds pending: %v\n%s", pending, sal.Snapshot(txID))
	}

	for _, c := range sal.Reports() {
		if c.Answer != "created" && c.Answer != "alreadyProcessed" {
			t.Errorf("a report Saleor refused: %+v", c)
		}
	}
	if strings.Contains(s.log.String(), "dead-letter") {
		t.Errorf("a change was dead-lettered:\n%s", s.log.String())
	}
	if tok := sal.Token(); tok == "" || strings.Contains(s.log.String(), tok) {
		t.Error("no app token, or the logs hold it")
	}
}

// Through the private /v1/webhooks/saleor with a token made by hand. The
// stand-in down while Trustly's credit arrives: the CHARGE_SUCCESS is
// reported once Saleor is back, once.
func TestE2ESaleorDownWhileThePaymentIsCredited(t *testing.T) {
	bin := saleorBin()
	if bin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	sal := saleorfake.New(t)
	s := startSaleorShop(t, bin, sal)
	buyer := saleorfake.Checkout{ID: "Q2hlY2tvdXQ6Mg==", Email: "bo@example.se", UserID: "VXNlcjoy", FirstName: "Bo", LastName: "Ek", Country: "SE"}
	const txID = "VHJhbnNhY3Rpb25JdGVtOjI="
	sal.NewTransaction(txID, "SEK", "20.00", "checkout-2-attempt-1", s.clock.Now())
	init := saleorDeliver(t, s, sal, txID, "TRANSACTION_INITIALIZE_SESSION",
		sal.InitializeSession(txID, buyer, "20", "SEK", "checkout-2-attempt-1", s.clock.Now()))
	var l shopapi.OrderList
	if a := s.call(http.MethodGet, "/v1/payments?externalReference="+txID, "", ""); json.Unmarshal([]byte(a.Body), &l) != nil || len(l.Orders) != 1 {
		t.Fatalf("payments of transaction %s: %s", txID, a.Body)
	}

	sal.SetMode(adaptertest.Unavailable)
	s.approve(l.Orders[0], sim.DefaultScenario)
	s.advance(time.Minute)
	eventually(t, "the sidecar saw the payment credited", func() bool { return s.get(l.Orders[0].ID).State == "paid" })
	time.Sleep(2 * time.Second) // a retry or two against the 503s
	if n := hasEvent(sal.Transaction(txID), "CHARGE_SUCCESS", init.PSPReference, "20.00"); n != 0 {
		t.Fatalf("CHARGE_SUCCESS booked while Saleor was down")
	}
	sal.SetMode(adaptertest.Healthy)
	eventually(t, "CHARGE_SUCCESS reported once Saleor is back", func() bool {
		return hasEvent(sal.Transaction(txID), "CHARGE_SUCCESS", init.PSPReference, "20.00") == 1
	})
	time.Sleep(time.Second)
	created := 0
	for _, c := range sal.Reports() {
		if c.Variables["type"] == "CHARGE_SUCCESS" && c.Answer == "created" {
			created++
		}
	}
	if created != 1 {
		t.Errorf("CHARGE_SUCCESS booked %d times; want once", created)
	}
}

// foreignUnderKid signs body with a key Saleor does not have, naming the
// key id Saleor signs with.
func foreignUnderKid(t *testing.T, sal *saleorfake.Saleor, body []byte) string {
	hdr, _, _ := strings.Cut(sal.Sign(body), ".")
	var h struct {
		Kid string `json:"kid"`
	}
	b, _ := base64.RawURLEncoding.DecodeString(hdr)
	_ = json.Unmarshal(b, &h)
	return saleorfake.SignForeign(t, h.Kid, body)
}

// A stored mandate: a logged-in customer's first checkout pays and
// registers a direct debit mandate (data {"storeMandate": true}); a later
// checkout is charged on it without the shopper at Trustly (data
// {"chargeMandate": true}): CHARGE_REQUEST at once, CHARGE_SUCCESS when
// Trustly's charge is credited.
func TestE2ESaleorStoredMandateIsCharged(t *testing.T) {
	bin := saleorBin()
	if bin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	sal := saleorfake.New(t)
	s := installSaleorApp(t, bin, sal, nil, nil)
	buyer := saleorfake.Checkout{ID: "Q2hlY2tvdXQ6Mw==", Email: "cia@example.se", UserID: "VXNlcjoz", FirstName: "Cia", LastName: "Berg", Country: "SE"}
	withData := func(b []byte, data string) []byte {
		return []byte(strings.Replace(string(b), `"data":null`, `"data":`+data, 1))
	}

	const first, renewal = "VHJhbnNhY3Rpb25JdGVtOjM=", "VHJhbnNhY3Rpb25JdGVtOjQ="
	sal.NewTransaction(first, "SEK", "103.50", "checkout-3-attempt-1", s.clock.Now())
	init := saleorDeliver(t, s, sal, first, "TRANSACTION_INITIALIZE_SESSION",
		withData(sal.InitializeSession(first, buyer, "103.5", "SEK", "checkout-3-attempt-1", s.clock.Now()), `{"storeMandate":true}`))
	var l shopapi.OrderList
	if a := s.call(http.MethodGet, "/v1/payments?externalReference="+first, "", ""); json.Unmarshal([]byte(a.Body), &l) != nil || len(l.Orders) != 1 {
		t.Fatalf("payments of transaction %s: %s", first, a.Body)
	}
	s.approve(l.Orders[0], sim.DefaultScenario)
	s.advance(time.Minute)
	eventually(t, "the first checkout is paid", func() bool {
		return hasEvent(sal.Transaction(first), "CHARGE_SUCCESS", init.PSPReference, "103.50") == 1
	})

	sal.NewTransaction(renewal, "SEK", "199.00", "checkout-4-attempt-1", s.clock.Now())
	charge := saleorDeliver(t, s, sal, renewal, "TRANSACTION_INITIALIZE_SESSION",
		withData(sal.InitializeSession(renewal, buyer, "199", "SEK", "checkout-4-attempt-1", s.clock.Now()), `{"chargeMandate":true}`))
	if charge.Result != "CHARGE_REQUEST" || charge.PSPReference == "" || charge.Data.RedirectURL != "" {
		t.Fatalf("charge answer: %+v", charge)
	}
	s.advance(48 * time.Hour)
	eventually(t, "the later checkout is charged", func() bool {
		return hasEvent(sal.Transaction(renewal), "CHARGE_SUCCESS", charge.PSPReference, "199.00") == 1
	})
}

// Trustly slower than Saleor waits: transactionInitialize is answered
// pending by Saleor's deadline (no pspReference, data.pending); the Deposit
// goes on, and transactionProcess, asked again, gets the Trustly URL under
// the initialize's key, with one order at Trustly; the payment then
// completes as usual. A refund is answered 503 by the deadline; Saleor's
// retry of the webhook gets the refund's own pspReference, its outcome is
// reported under it, and Saleor keeps nothing pending.
func TestE2ESaleorInitializeAnsweredPendingThenProcessed(t *testing.T) {
	bin := saleorBin()
	if bin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	slow := newSlowProxy(t, 2*time.Second)
	sal := saleorfake.New(t)
	s := installSaleorApp(t, bin, sal, map[string]string{saleor.EnvAnswerWithin: "1s", config.Key("TRUSTLY_URL"): slow.URL + "/api/1"},
		func(s *shop) { slow.target(t, s.sim.URL()) })
	buyer := saleorfake.Checkout{ID: "Q2hlY2tvdXQ6NQ==", Email: "dan@example.se", FirstName: "Dan", LastName: "Ek", Country: "SE"}
	const txID = "VHJhbnNhY3Rpb25JdGVtOjU="

	sal.NewTransaction(txID, "SEK", "45.00", "checkout-5-attempt-1", s.clock.Now())
	init := saleorDeliver(t, s, sal, txID, "TRANSACTION_INITIALIZE_SESSION",
		sal.InitializeSession(txID, buyer, "45", "SEK", "checkout-5-attempt-1", s.clock.Now()))
	if init.Result != "CHARGE_ACTION_REQUIRED" || init.PSPReference != "" || init.Data.RedirectURL != "" {
		t.Fatalf("initialize with Trustly slower than Saleor: %+v; want pending", init)
	}
	var url, psp string
	for deadline := time.Now().Add(30 * time.Second); url == ""; {
		if time.Now().After(deadline) {
			t.Fatal("transactionProcess never got the Trustly URL")
		}
		time.Sleep(300 * time.Millisecond)
		p := saleorDeliver(t, s, sal, txID, "TRANSACTION_PROCESS_SESSION", sal.ProcessSession(txID, buyer, "45", "SEK", s.clock.Now()))
		if p.Result != "CHARGE_ACTION_REQUIRED" {
			t.Fatalf("process: %+v", p)
		}
		url, psp = p.Data.RedirectURL, p.PSPReference
	}
	if n := len(s.sim.Orders()); n != 1 || psp == "" {
		t.Fatalf("Trustly saw %d orders (want 1); pspReference %q", n, psp)
	}
	var l shopapi.OrderList
	if a := s.call(http.MethodGet, "/v1/payments?externalReference="+txID, "", ""); json.Unmarshal([]byte(a.Body), &l) != nil || len(l.Orders) != 1 {
		t.Fatalf("payments of transaction %s: %s", txID, a.Body)
	}
	s.approve(l.Orders[0], sim.DefaultScenario)
	s.advance(time.Minute)
	eventually(t, "CHARGE_SUCCESS 45.00 reported", func() bool {
		return hasEvent(sal.Transaction(txID), "CHARGE_SUCCESS", psp, "45.00") == 1
	})

	sal.RequestRefund(txID, "20.00", s.clock.Now())
	refundBody := sal.ActionRequested("TransactionRefundRequested", "REFUND", txID, "20.00", "SEK", s.clock.Now())
	status, b, err := sal.Deliver(t.Context(), s.url("TRANSACTION_REFUND_REQUESTED"), "TRANSACTION_REFUND_REQUESTED", refundBody)
	if err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("refund with Trustly slower than Saleor: %d %s %v; want 503 (Saleor sends it again)", status, b, err)
	}
	// Saleor's retries (handle_transaction_request_task) send the same
	// payload again until one is answered.
	var refundPSP string
	for deadline := time.Now().Add(30 * time.Second); refundPSP == ""; {
		if time.Now().After(deadline) {
			t.Fatal("the refund webhook was never answered")
		}
		time.Sleep(300 * time.Millisecond)
		status, b, err = sal.Deliver(t.Context(), s.url("TRANSACTION_REFUND_REQUESTED"), "TRANSACTION_REFUND_REQUESTED", refundBody)
		switch {
		case err == nil && status == http.StatusOK:
			var ra saleorAnswer
			if err := json.Unmarshal(b, &ra); err != nil || ra.PSPReference == "" || ra.Result != "" {
				t.Fatalf("refund answered %s", b)
			}
			if err := sal.Book(txID, b, s.clock.Now()); err != nil {
				t.Fatalf("Saleor cannot book %s: %v", b, err)
			}
			refundPSP = ra.PSPReference
		case err != nil || status != http.StatusServiceUnavailable:
			t.Fatalf("refund redelivered: %d %s %v", status, b, err)
		}
	}
	if refunds := s.get(l.Orders[0].ID).Refunds; len(refunds) != 1 || refundPSP != "refund:"+refunds[0] {
		t.Fatalf("refund answered pspReference %s; refunds %v", refundPSP, refunds)
	}
	s.advance(time.Hour)
	eventually(t, "REFUND_SUCCESS 20.00 reported under the answer's pspReference", func() bool {
		return hasEvent(sal.Transaction(txID), "REFUND_SUCCESS", refundPSP, "20.00") == 1
	})
	if pending := sal.PendingRefunds(txID); len(pending) != 0 {
		t.Errorf("Saleor keeps refunds pending: %v\n%s", pending, sal.Snapshot(txID))
	}
}
