package main

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce/wcfake"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// WooCommerce end to end, the money paths of refunds and outages (the
// platform's own tests are in platforms/woocommerce; this file runs them
// through the sidecar, the Trustly simulator and the plugin's PHP).

// wooPaid is a WooCommerce stand-in order of 103.50 SEK paid through the
// sidecar, processing with Trustly's OrderID.
func wooPaid(t *testing.T, s *shop, wc *wcfake.Shop) (int64, shopapi.Order) {
	t.Helper()
	id := wc.AddOrder("pending", 10350, "SEK")
	wcID := strconv.FormatInt(id, 10)
	p := s.order(s.call(http.MethodPost, "/v1/payments", "wc-order-"+wcID+"-1", wooPayment(wcID, "")), http.StatusCreated)
	s.approve(p, sim.DefaultScenario)
	s.advance(time.Minute)
	eventually(t, "order "+wcID+" processing", func() bool { status, _, _ := wc.Status(id); return status == "processing" })
	return id, s.get(p.ID)
}

// deliver posts a signed order.updated delivery of order id and returns the
// sidecar's answer.
func deliver(t *testing.T, s *shop, wc *wcfake.Shop, id int64) (int, shopapi.WebhookAnswer) {
	t.Helper()
	d := wc.Webhook(id)
	status, body, err := wcfake.Send(s.priv+"/v1/webhooks/woocommerce", d)
	if err != nil {
		t.Fatal(err)
	}
	var ans shopapi.WebhookAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatalf("%d %s: %v", status, body, err)
	}
	return status, ans
}

// livePHP runs the plugin's PHP (tests/live.php) against the sidecar.
func livePHP(t *testing.T, s *shop, args ...string) map[string]any {
	t.Helper()
	php, _ := exec.LookPath("php")
	if php == "" {
		t.Skip("needs php (make woocommerce-test installs it)")
	}
	b, err := exec.Command(php, append([]string{"../platforms/woocommerce/wordpress-plugin/tests/live.php", s.priv, "shop-token-unused"}, args...)...).Output()
	if err != nil {
		t.Fatalf("php %v: %v\n%s", args, err, b)
	}
	var out struct {
		Result map[string]any `json:"result"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("php %v: %v\n%s", args, err, b)
	}
	return out.Result
}

// The default refunds setting: the admin's "Refund via Trustly" runs the
// plugin's process_refund (its PHP, real HTTP), and "Refund manually"
// records money returned another way. The order webhook then lists both
// refunds, again and again; the sidecar makes exactly one Trustly refund,
// of the button's amount, and WooCommerce keeps exactly the two refunds.
func TestE2EWooCommerceGatewayRefundIsOneTrustlyRefund(t *testing.T) {
	bin := wooBin()
	if bin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	wc := wcfake.New(t)
	s := startWooShop(t, bin, wc)
	id, p := wooPaid(t, s, wc)
	wcID := strconv.FormatInt(id, 10)

	button := livePHP(t, s, "refund", wcID, "103.50", p.ID, "50.00")
	if button["by"] != woocommerce.RefundByGateway || button["id"] == nil {
		t.Fatalf("Refund via Trustly: %v", button)
	}
	if notes, _ := json.Marshal(button["notes"]); !strings.Contains(string(notes), "sent to Trustly") {
		t.Fatalf("the order's note: %s", notes)
	}
	wc.SeedRefund(id, int64(button["id"].(float64)), 5000, "damaged", woocommerce.RefundByGateway) // WooCommerce keeps it
	manual := livePHP(t, s, "refund", wcID, "103.50", p.ID, "10.00", "manual")
	if manual["by"] != woocommerce.RefundByManual {
		t.Fatalf("Refund manually: %v", manual)
	}
	wc.SeedRefund(id, int64(manual["id"].(float64)), 1000, "cash", woocommerce.RefundByManual)

	for range 3 { // order.updated after each refund, and later changes
		if status, ans := deliver(t, s, wc, id); status != http.StatusOK || len(ans.Results) != 0 {
			t.Fatalf("delivery: %d %+v; want nothing to do", status, ans)
		}
	}
	s.advance(time.Hour)
	eventually(t, "Trustly's refund paid out and noted", func() bool {
		return strings.Contains(strings.Join(wc.Notes(id), "\n"), "a refund of 50.00 SEK was paid out")
	})
	if got := s.get(p.ID); got.Refunded != 5000 {
		t.Fatalf("refunded %d, want the button's 5000 only", got.Refunded)
	}
	if refunds := s.sim.Orders(); countRefunds(refunds) != 1 {
		t.Fatalf("%d refunds at Trustly, want 1", countRefunds(refunds))
	}
	if got := wc.Refunds(id); len(got) != 2 {
		t.Fatalf("WooCommerce refunds %q, want the button's and the manual one", got)
	}
}

// countRefunds counts the simulator's refund orders.
func countRefunds(orders []sim.Order) int {
	n := 0
	for _, o := range orders {
		if o.Method == "Refund" {
			n++
		}
	}
	return n
}

// A refund recorded for the sidecar that it cannot carry out (no Trustly
// payment for that order) is answered 200, since WooCommerce would only
// count an error toward disabling the webhook, and the failure is where
// people look: a note on the order, once, and the sidecar's log with the
// refund's key.
func TestE2EWooCommerceFailedWebhookRefundIsVisibleAndAcknowledged(t *testing.T) {
	bin := wooBin()
	if bin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	wc := wcfake.New(t)
	s := startWooShop(t, bin, wc)
	id := wc.AddOrder("processing", 10350, "SEK") // paid before the sidecar ran: no payment of it there
	rid := wc.AdminRefund(id, 2500, "damaged")
	key := "woocommerce:refund:" + strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(rid, 10)
	for range 2 {
		status, ans := deliver(t, s, wc, id)
		if status != http.StatusOK || len(ans.Results) != 1 || ans.Results[0].OK || ans.Results[0].IdempotencyKey != key || ans.Error == nil {
			t.Fatalf("delivery: %d %+v; want 200 with the failed refund", status, ans)
		}
	}
	notes := wc.Notes(id)
	if len(notes) != 1 || !strings.Contains(notes[0], "refund #"+strconv.FormatInt(rid, 10)+" was NOT paid back") {
		t.Fatalf("notes %q; want one saying the refund was not made", notes)
	}
	if log := s.log.String(); !strings.Contains(log, "answered 200, the platform does not resend") || !strings.Contains(log, "key="+key) {
		t.Fatalf("no log line for the failed refund:\n%s", log)
	}
}

// WooCommerce down for a while (answering 503, then not answering at all)
// while two payments go pending and then paid: the outbox retries; once the
// shop is back every change is delivered, each order's in order, each once:
// the stand-in's recorded writes are on-hold then processing, and one note
// per change.
func TestE2EWooCommerceOutageDeliversEveryChangeOnceInOrder(t *testing.T) {
	bin := wooBin()
	if bin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	wc := wcfake.New(t)
	s := startWooShop(t, bin, wc)
	ids := []int64{wc.AddOrder("pending", 10350, "SEK"), wc.AddOrder("pending", 19900, "SEK")}

	wc.SetMode(adaptertest.Unavailable)
	var payments []shopapi.Order
	for _, id := range ids {
		wcID := strconv.FormatInt(id, 10)
		p := s.order(s.call(http.MethodPost, "/v1/payments", "wc-order-"+wcID+"-1", wooPayment(wcID, "")), http.StatusCreated)
		s.approve(p, sim.DefaultScenario)
		payments = append(payments, p)
	}
	s.advance(time.Minute) // pending, then credit: four changes owed
	eventually(t, "refused tries", func() bool { return len(wc.Requests()) >= 4 })
	wc.SetMode(adaptertest.Healthy)
	wc.SetDown(true)
	before := len(wc.Requests())
	eventually(t, "a try while the shop is down", func() bool { return len(wc.Requests()) > before })
	for _, id := range ids {
		if writes := wc.StatusWrites(id); len(writes) != 0 {
			t.Fatalf("written while down: %q", writes)
		}
	}
	wc.SetDown(false)

	eventually(t, "nothing owed", func() bool {
		return strings.Contains(clie(t, s.env, "outbox", "pending").stdout, "no pending status changes")
	})
	for i, id := range ids {
		if got := wc.StatusWrites(id); strings.Join(got, ",") != "on-hold,processing" {
			t.Errorf("order %d: status writes %q; want on-hold then processing, once each", id, got)
		}
		status, txn, paid := wc.Status(id)
		if status != "processing" || txn != s.get(payments[i].ID).TrustlyOrderID || !paid {
			t.Errorf("order %d: %s, transaction %q, paid %v", id, status, txn, paid)
		}
		tags := map[string]int{}
		for _, n := range wc.Notes(id) {
			if at := strings.Index(n, "[trustly-sidecar "); at >= 0 {
				tags[n[at:]]++
			}
		}
		if len(tags) != 2 {
			t.Errorf("order %d: notes %q; want one per change", id, wc.Notes(id))
		}
		for tag, n := range tags {
			if n != 1 {
				t.Errorf("order %d: %s noted %d times", id, tag, n)
			}
		}
	}
	if strings.Contains(s.log.String(), "dead-letter") {
		t.Errorf("a change was dead-lettered:\n%s", s.log.String())
	}
}
