package main

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce/wcfake"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// wooBin is the WooCommerce adapter as a plugin executable, built once for
// the tests that need it ("" when there is no go tool).
var wooBin = sync.OnceValue(func() string {
	gobin := goTool()
	if gobin == "" || genericBin == "" {
		return ""
	}
	bin := filepath.Join(filepath.Dir(genericBin), "trustly-adapter-woocommerce")
	if out, err := exec.Command(gobin, "build", "-o", bin, "../platforms/woocommerce/cmd/trustly-adapter-woocommerce").CombinedOutput(); err != nil {
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	return bin
})

// startWooShop is the sidecar with the WooCommerce adapter bin writing to wc.
func startWooShop(t *testing.T, bin string, wc *wcfake.Shop) *shop {
	t.Helper()
	s := startShopEnv(t, with(shopDefaultsEnv, map[string]string{
		config.Key("ADAPTER"): bin,
		config.Key("ADAPTER_ENV"): strings.Join([]string{woocommerce.EnvWebhookSecret, woocommerce.EnvStoreURL,
			woocommerce.EnvConsumerKey, woocommerce.EnvConsumerSecret}, ","),
		woocommerce.EnvWebhookSecret:  string(wc.WebhookSecret),
		woocommerce.EnvStoreURL:       wc.URL,
		woocommerce.EnvConsumerKey:    wc.Key,
		woocommerce.EnvConsumerSecret: wc.Secret,
	}))
	s.adapterPid()
	return s
}

// wooPayment is the body the plugin's process_payment sends for order id
// (wordpress-plugin, GatewayTest), with extra fields.
func wooPayment(id, extra string) string {
	return `{"amount":10350,"currency":"SEK","shopper":{"endUserId":"wc-customer-7","firstName":"Åsa","lastName":"Ek","email":"asa.ek@example.se","country":"SE","locale":"sv_SE"},` +
		`"successUrl":"https://shop.example/checkout/order-received/` + id + `/","failUrl":"https://shop.example/cart/","shopperStatement":"Kaffebutiken","externalReference":"` + id + `"` + extra + `}`
}

// WooCommerce end to end over real sockets, against the REST+webhook
// stand-in: the plugin's payment call → sidecar → Trustly (the simulator)
// → notifications → the order is processing with Trustly's OrderID; the
// webhook's ping; an admin's refund → one Trustly refund, and WooCommerce
// keeps exactly the admin's refund (none recorded again, none that would
// call the gateway).
func TestE2EWooCommerceOrderIsPaidAndRefundedOnce(t *testing.T) {
	bin := wooBin()
	if bin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	wc := wcfake.New(t)
	id := wc.AddOrder("pending", 10350, "SEK")
	wcID := strconv.FormatInt(id, 10)
	s := startWooShop(t, bin, wc)

	// A new webhook's ping: form-encoded, unsigned, answered 200.
	if a := do(t, http.MethodPost, s.priv+"/v1/webhooks/woocommerce", "webhook_id=12", "Content-Type", "application/x-www-form-urlencoded"); a.Status != http.StatusOK {
		t.Fatalf("ping: %d %s", a.Status, a.Body)
	}

	p := s.order(s.call(http.MethodPost, "/v1/payments", "wc-order-"+wcID+"-1", wooPayment(wcID, "")), http.StatusCreated)
	s.approve(p, sim.DefaultScenario)
	s.advance(time.Minute)
	p = s.get(p.ID)
	eventually(t, "the order is processing with Trustly's OrderID", func() bool {
		status, txn, paid := wc.Status(id)
		return status == "processing" && txn == p.TrustlyOrderID && paid
	})
	// The note follows the status write: wait for it too.
	eventually(t, "the credit noted with Trustly's OrderID", func() bool {
		notes := strings.Join(wc.Notes(id), "\n")
		return strings.Contains(notes, "credited") && strings.Contains(notes, p.TrustlyOrderID)
	})

	// The admin refunds 50.00; WooCommerce delivers order.updated, twice.
	wc.AdminRefund(id, 5000, "damaged cup")
	delivery := wc.Webhook(id)
	post := func() shopapi.WebhookAnswer {
		h := []string{}
		for k := range delivery.Header {
			h = append(h, k, delivery.Header.Get(k))
		}
		return webhookAnswer(t, do(t, http.MethodPost, s.priv+"/v1/webhooks/woocommerce", string(delivery.Body), h...), http.StatusOK)
	}
	first := post()
	if len(first.Results) != 1 || !first.Results[0].OK || first.Results[0].Kind != "refund" || first.Results[0].PlatformOrder != wcID {
		t.Fatalf("refund webhook: %+v", first)
	}
	delivery = wc.Webhook(id) // a later delivery of the same order: a new delivery id
	if again := post(); len(again.Results) != 1 || !again.Results[0].Replayed {
		t.Fatalf("redelivery: %+v", again)
	}
	s.advance(time.Hour)
	eventually(t, "Trustly refunded 50.00", func() bool { return s.get(p.ID).Refunded == 5000 })
	// The refund's changes reach the WooCommerce order (the host names
	// them by the paid order's platform reference): accepted, then paid
	// out, each an order note, none dead-lettered.
	eventually(t, "the refund's payout noted on the WooCommerce order", func() bool {
		return strings.Contains(strings.Join(wc.Notes(id), "\n"), "a refund of 50.00 SEK was paid out")
	})
	if strings.Contains(s.log.String(), "dead-letter") {
		t.Errorf("a change was dead-lettered:\n%s", s.log.String())
	}
	if got := wc.Refunds(id); len(got) != 1 || !strings.HasPrefix(got[0], "5000 damaged cup") {
		t.Errorf("WooCommerce refunds %q, want the admin's only", got)
	}
	if n := wc.GatewayRefunds(); n != 0 {
		t.Errorf("%d refunds would have called the gateway again", n)
	}
	var l shopapi.OrderList
	if a := s.call(http.MethodGet, "/v1/payments?externalReference="+wcID, "", ""); json.Unmarshal([]byte(a.Body), &l) != nil || len(l.Orders) != 1 {
		t.Errorf("payments of order %s: %s", wcID, a.Body)
	}
	if strings.Contains(s.log.String(), wc.Secret) || strings.Contains(s.log.String(), string(wc.WebhookSecret)) {
		t.Error("the logs hold a WooCommerce secret")
	}
}

// A WooCommerce Subscriptions order: the plugin's first payment also asks
// for a mandate; the renewal the plugin charges on it (POST /v1/charges,
// as scheduled_subscription_payment sends it) makes the renewal order
// processing with the charge's Trustly OrderID.
func TestE2EWooCommerceSubscriptionRenewalIsCharged(t *testing.T) {
	bin := wooBin()
	if bin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	wc := wcfake.New(t)
	first := wc.AddOrder("pending", 10350, "SEK")
	renewal := wc.AddOrder("pending", 19900, "SEK")
	firstID, renewalID := strconv.FormatInt(first, 10), strconv.FormatInt(renewal, 10)
	s := startWooShop(t, bin, wc)

	p := s.order(s.call(http.MethodPost, "/v1/payments", "wc-order-"+firstID+"-1", wooPayment(firstID, `,"requestDirectDebitMandate":true`)), http.StatusCreated)
	s.approve(p, sim.DefaultScenario)
	s.advance(time.Minute)
	eventually(t, "the first order is processing", func() bool { status, _, _ := wc.Status(first); return status == "processing" })

	charge := `{"endUserId":"wc-customer-7","amount":19900,"currency":"SEK","shopperStatement":"Kaffebutiken","email":"asa.ek@example.se","externalReference":"` + renewalID + `"}`
	c := s.order(s.call(http.MethodPost, "/v1/charges", "wc-renewal-"+renewalID, charge), http.StatusCreated)
	s.advance(48 * time.Hour)
	c = s.get(c.ID)
	if c.State != "paid" || c.TrustlyOrderID == "" {
		t.Fatalf("charge: %+v", c)
	}
	eventually(t, "the renewal order is processing with the charge's OrderID", func() bool {
		status, txn, paid := wc.Status(renewal)
		return status == "processing" && txn == c.TrustlyOrderID && paid
	})
}

// The WordPress plugin itself (PHP, on the stand-ins of its tests but real
// HTTP) against the sidecar: process_payment of a subscription's first
// order gets the Trustly URL to redirect to and registers the mandate; the
// renewal hook charges it; both orders end up processing. Needs php (make
// woocommerce-test installs it).
func TestE2EWooCommercePluginPaysThroughTheSidecar(t *testing.T) {
	bin := wooBin()
	php, _ := exec.LookPath("php")
	if bin == "" || php == "" {
		t.Skip("needs the go tool and php (make woocommerce-test installs php)")
	}
	wc := wcfake.New(t)
	first := wc.AddOrder("pending", 10350, "SEK")
	renewal := wc.AddOrder("pending", 19900, "SEK")
	s := startWooShop(t, bin, wc)
	plugin := func(args ...string) (out struct {
		Result struct {
			Result        string     `json:"result"`
			Redirect      string     `json:"redirect"`
			StatusChanges [][]string `json:"status_changes"`
		} `json:"result"`
		Meta    map[string]string `json:"meta"`
		Notices [][]string        `json:"notices"`
	}) {
		t.Helper()
		cmd := exec.Command(php, append([]string{"../platforms/woocommerce/wordpress-plugin/tests/live.php", s.priv, "shop-token-unused"}, args...)...)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("php %v: %v\n%s", args, err, b)
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("php %v: %v\n%s", args, err, b)
		}
		return out
	}

	pay := plugin("pay", strconv.FormatInt(first, 10), "103.50", "subscription")
	if pay.Result.Result != "success" || pay.Result.Redirect == "" || pay.Meta["_trustly_payment_id"] == "" {
		t.Fatalf("process_payment: %+v", pay)
	}
	p := s.get(pay.Meta["_trustly_payment_id"])
	if p.URL != pay.Result.Redirect || p.Amount != 10350 || p.ExternalReference != strconv.FormatInt(first, 10) {
		t.Fatalf("the payment %+v, the redirect %s", p, pay.Result.Redirect)
	}
	if sent, ok := s.sim.Order(p.TrustlyOrderID); !ok || sent.Attributes["RequestDirectDebitMandate"] != "1" {
		t.Fatalf("the Deposit did not ask for a mandate: %+v", sent)
	}
	s.approve(p, sim.DefaultScenario)
	s.advance(time.Minute)
	eventually(t, "the first order is processing", func() bool {
		status, txn, _ := wc.Status(first)
		return status == "processing" && txn == p.TrustlyOrderID
	})

	renew := plugin("renew", strconv.FormatInt(renewal, 10), "199.00")
	if len(renew.Result.StatusChanges) != 0 || renew.Meta["_trustly_payment_id"] == "" {
		t.Fatalf("renewal: %+v", renew)
	}
	s.advance(48 * time.Hour)
	c := s.get(renew.Meta["_trustly_payment_id"])
	eventually(t, "the renewal order is processing", func() bool {
		status, txn, _ := wc.Status(renewal)
		return status == "processing" && txn != "" && txn == s.get(c.ID).TrustlyOrderID
	})
}
