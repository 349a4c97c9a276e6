package woocommerce_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce/wcfake"
)

func TestPingOfANewWebhookIsAnsweredWithNothingToDo(t *testing.T) {
	a := newAdapter(t, newShop(t))
	for _, tc := range []struct {
		name string
		body string
		ok   bool
	}{
		{"the ping", "webhook_id=12", true},
		{"a ping with more fields", "webhook_id=12&status=processing", false},
		{"not a number", "webhook_id=abc", false},
		{"an unsigned order", `{"id":1002}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			cmds, err := a.Translate(t.Context(), adapter.Request{Method: "POST", Header: h, Body: []byte(tc.body)})
			if tc.ok && (err != nil || len(cmds) != 0) {
				t.Fatalf("ping: %v, %v; want no commands, no error", cmds, err)
			}
			if !tc.ok && !errors.Is(err, adapter.ErrUnauthenticated) {
				t.Fatalf("unsigned %q: %v; want ErrUnauthenticated", tc.body, err)
			}
		})
	}
}

func TestSignatureIsBase64HMACOfTheRawBody(t *testing.T) {
	// Computed independently: printf %s '{"id":1}' | openssl dgst -sha256 -hmac secret -binary | base64
	if got := woocommerce.Sign([]byte("secret"), []byte(`{"id":1}`)); got != "A971iWIMgT8Zj9A9eWfikrFj7wQ16/Qwcc4OlRl2PLc=" {
		t.Fatalf("Sign = %s", got)
	}
	a := newAdapter(t, newShop(t))
	req := delivery(t, "order.updated.refund.json", "order.updated", 1)
	req.Header.Set(woocommerce.HeaderSignature, woocommerce.Sign([]byte("another-secret-0123456789"), req.Body))
	if _, err := a.Translate(t.Context(), req); !errors.Is(err, adapter.ErrUnauthenticated) {
		t.Fatalf("wrong secret: %v", err)
	}
	req.Header.Set(woocommerce.HeaderSignature, "not base64!")
	if _, err := a.Translate(t.Context(), req); !errors.Is(err, adapter.ErrUnauthenticated) {
		t.Fatalf("garbage signature: %v", err)
	}
	req = delivery(t, "order.updated.refund.json", "order.updated", 1)
	req.Header.Del(woocommerce.HeaderDeliveryID)
	if _, err := a.Translate(t.Context(), req); !errors.Is(err, adapter.ErrInvalid) {
		t.Fatalf("no delivery id: %v", err)
	}
}

func TestWebhookRefundsOffLeavesRefundsToThePlugin(t *testing.T) {
	shop := newShop(t)
	a := newAdapter(t, shop, func(c *woocommerce.Config) { c.WebhookRefunds = false })
	cmds, err := a.Translate(t.Context(), delivery(t, "order.updated.refund.json", "order.updated", 1))
	if err != nil || len(cmds) != 0 {
		t.Fatalf("refunds off: %v, %v", cmds, err)
	}
}

// The transitions table, case by case, against the stand-in.
func TestStatusWriteBack(t *testing.T) {
	for _, tc := range []struct {
		name       string
		from       string
		status     adapter.PaymentStatus
		wantStatus string
		wantTxn    string
		wantPaid   bool
		noteHas    string
	}{
		{"pending puts the order on hold", "pending", adapter.StatusPending, "on-hold", "", false, "bank transfer is under way"},
		{"paid makes it processing with Trustly's OrderID", "on-hold", adapter.StatusPaid, "processing", "4567123890", true, "credited"},
		{"paid after a failed attempt", "failed", adapter.StatusPaid, "processing", "4567123890", true, "credited"},
		{"a cancel fails the order", "pending", adapter.StatusCancelled, "failed", "", false, "not completed"},
		{"a reversal holds a paid order", "processing", adapter.StatusReversed, "on-hold", "", false, "reversed"},
		{"a reversal holds a completed order", "completed", adapter.StatusReversed, "on-hold", "", false, "reversed"},
		{"an admin's cancel is not undone by money", "cancelled", adapter.StatusPaid, "cancelled", "", false, `103.50 SEK was credited. The order's status stays "cancelled"`},
		{"an admin's completion is not undone by a late pending", "completed", adapter.StatusPending, "completed", "", false, `stays "completed"`},
		{"a late cancel leaves a paid order", "processing", adapter.StatusCancelled, "processing", "", false, `stays "processing"`},
		{"a mandate only adds a note", "processing", adapter.StatusMandateActive, "processing", "", false, "mandate is active"},
		{"attention only adds a note", "processing", adapter.StatusAttention, "processing", "", false, "attention"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shop := wcfake.New(t)
			id := shop.AddOrder(tc.from, 10350, "SEK")
			a := newAdapter(t, shop)
			ch := adapter.StatusChange{ID: "p_1:4", Order: adapter.Order{ID: itoa(id)}, Status: tc.status,
				Amount: adapter.Money{Minor: 10350, Currency: "SEK"}}
			if tc.status == adapter.StatusPaid {
				ch.ProviderReference = "4567123890"
			}
			if err := a.ApplyStatus(t.Context(), ch); err != nil {
				t.Fatal(err)
			}
			status, txn, paid := shop.Status(id)
			if status != tc.wantStatus || txn != tc.wantTxn || paid != tc.wantPaid {
				t.Errorf("order %s, transaction %q, paid %v; want %s, %q, %v", status, txn, paid, tc.wantStatus, tc.wantTxn, tc.wantPaid)
			}
			notes := shop.Notes(id)
			if len(notes) != 1 || !strings.Contains(notes[0], tc.noteHas) || !strings.Contains(notes[0], "[trustly-sidecar p_1:4]") {
				t.Errorf("notes %q; want one with %q and the change id", notes, tc.noteHas)
			}
		})
	}
}

func TestRefundsAreRecordedOnceAndNeverLoop(t *testing.T) {
	shop := wcfake.New(t)
	id := shop.AddOrder("processing", 100000, "SEK")
	a := newAdapter(t, shop)

	// An admin refunds 250.00: the webhook makes one Trustly refund of it.
	rid := shop.AdminRefund(id, 25000, "damaged")
	cmds, err := a.Translate(t.Context(), shop.Webhook(id))
	if err != nil || len(cmds) != 1 || cmds[0].Amount != (adapter.Money{Minor: 25000, Currency: "SEK"}) ||
		cmds[0].IdempotencyKey != "woocommerce:refund:"+itoa(id)+":"+itoa(rid) {
		t.Fatalf("admin refund: %+v, %v", cmds, err)
	}
	// Trustly paid it out: the admin's refund stands for it, no second one.
	paidOut := adapter.StatusChange{ID: "p_1.r_a:5", Order: adapter.Order{ID: itoa(id)}, Status: adapter.StatusRefunded, Amount: adapter.Money{Minor: 25000, Currency: "SEK"}}
	for range 2 {
		if err := a.ApplyStatus(t.Context(), paidOut); err != nil {
			t.Fatal(err)
		}
	}
	if got := shop.Refunds(id); len(got) != 1 {
		t.Fatalf("after the admin's refund was paid out: refunds %q, want the admin's only", got)
	}
	// A refund made in the sidecar (250.00 again) is recorded, once, with
	// api_refund false.
	other := adapter.StatusChange{ID: "p_1.r_b:7", Order: adapter.Order{ID: itoa(id)}, Status: adapter.StatusRefunded, Amount: adapter.Money{Minor: 25000, Currency: "SEK"}}
	for range 2 {
		if err := a.ApplyStatus(t.Context(), other); err != nil {
			t.Fatal(err)
		}
	}
	got := shop.Refunds(id)
	if len(got) != 2 || !strings.HasPrefix(got[1], "25000 Refunded through Trustly [trustly-sidecar refund p_1.r_b]") {
		t.Fatalf("refunds %q; want the admin's and one recorded by the adapter", got)
	}
	if n := shop.GatewayRefunds(); n != 0 {
		t.Fatalf("%d refunds asked WooCommerce to call the gateway (api_refund true): a refund loop", n)
	}
	// The order.updated that recording sends makes no new Trustly refund:
	// only the admin's refund again, under the same key.
	cmds, err = a.Translate(t.Context(), shop.Webhook(id))
	if err != nil || len(cmds) != 1 || cmds[0].IdempotencyKey != "woocommerce:refund:"+itoa(id)+":"+itoa(rid) {
		t.Fatalf("after recording: %+v, %v", cmds, err)
	}
}

// HTTP answers map to what the host does next.
func TestRESTAnswersAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codes []int
		class adapter.Class
	}{
		{"401 bad key", []int{401}, adapter.ClassPermanent},
		{"403 read-only key", []int{403}, adapter.ClassPermanent},
		{"404 order gone", []int{404}, adapter.ClassPermanent},
		{"400 refused", []int{400}, adapter.ClassPermanent},
		{"409 conflict", []int{409}, adapter.ClassRetryable},
		{"429 rate limited", []int{429}, adapter.ClassRetryable},
		{"500 PHP fatal", []int{500}, adapter.ClassRetryable},
		{"502 on the write", []int{0, 502}, adapter.ClassRetryable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shop := newShop(t)
			a := newAdapter(t, shop)
			for _, c := range tc.codes {
				if c == 0 {
					shop.FailNext(0) // let the GET through
					continue
				}
				shop.FailNext(c)
			}
			err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "p_1:3", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPaid,
				Amount: adapter.Money{Minor: 10350, Currency: "SEK"}, ProviderReference: "4567123890"})
			if got := adapter.Classify(err); got != tc.class {
				t.Fatalf("%v: class %s, want %s", err, got, tc.class)
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		shop := newShop(t)
		a := newAdapter(t, shop, func(c *woocommerce.Config) { c.ConsumerSecret = []byte("cs_wrong-secret-value") })
		err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "p_1:3", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPending})
		if adapter.Classify(err) != adapter.ClassPermanent || strings.Contains(err.Error(), "cs_wrong") {
			t.Fatalf("wrong key: %v", err)
		}
	})
	t.Run("slow shop", func(t *testing.T) {
		shop := newShop(t)
		shop.Delay(2 * time.Second)
		a := newAdapter(t, shop)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := a.ApplyStatus(ctx, adapter.StatusChange{ID: "p_1:2", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPending})
		if adapter.Classify(err) != adapter.ClassRetryable || time.Since(start) > time.Second {
			t.Fatalf("slow shop: %v after %s", err, time.Since(start))
		}
	})
	t.Run("shop down: connections dropped", func(t *testing.T) {
		shop := newShop(t)
		shop.SetDown(true)
		a := newAdapter(t, shop)
		err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "p_1:2", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPending})
		if adapter.Classify(err) != adapter.ClassRetryable {
			t.Fatalf("shop down: %v", err)
		}
		shop.SetDown(false)
		if err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "p_1:2", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPending}); err != nil {
			t.Fatalf("shop back: %v", err)
		}
	})
	t.Run("not a WooCommerce order id", func(t *testing.T) {
		a := newAdapter(t, newShop(t))
		err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "p_1:2", Order: adapter.Order{ID: "p_1"}, Status: adapter.StatusPending})
		if adapter.Classify(err) != adapter.ClassPermanent {
			t.Fatalf("sidecar id: %v", err)
		}
	})
}

func TestQueryStringAuthKeepsTheSecretOutOfErrors(t *testing.T) {
	shop := newShop(t)
	a := newAdapter(t, shop, func(c *woocommerce.Config) { c.QueryStringAuth = true })
	ch := adapter.StatusChange{ID: "p_1:2", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPending}
	if err := a.ApplyStatus(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := shop.Status(1001); s != "on-hold" {
		t.Fatalf("status %s", s)
	}
	shop.Delay(time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := a.ApplyStatus(ctx, ch)
	if err == nil || strings.Contains(err.Error(), shop.Secret) {
		t.Fatalf("error %v carries the secret", err)
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "ck")
	if err := os.WriteFile(secretFile, []byte("cs_from_a_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		woocommerce.EnvWebhookSecret: "wc-webhook-secret-0123456789", woocommerce.EnvStoreURL: "https://shop.example",
		woocommerce.EnvConsumerKey: "ck_1", woocommerce.EnvConsumerSecret + "_FILE": secretFile,
	}
	env := func(edit map[string]string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range edit {
			m[k] = v
		}
		return func(k string) string { return m[k] }
	}
	c, err := woocommerce.FromEnv(env(nil))
	if err != nil || string(c.ConsumerSecret) != "cs_from_a_file" || !c.WebhookRefunds || c.QueryStringAuth {
		t.Fatalf("config %+v, %v", c, err)
	}
	for _, tc := range []struct {
		name string
		edit map[string]string
	}{
		{"http to another host", map[string]string{woocommerce.EnvStoreURL: "http://shop.example"}},
		{"no URL", map[string]string{woocommerce.EnvStoreURL: ""}},
		{"short webhook secret", map[string]string{woocommerce.EnvWebhookSecret: "short"}},
		{"both value and file", map[string]string{woocommerce.EnvConsumerSecret: "x"}},
		{"missing file", map[string]string{woocommerce.EnvConsumerSecret + "_FILE": filepath.Join(dir, "nope")}},
		{"no key", map[string]string{woocommerce.EnvConsumerKey: ""}},
		{"a flag that is not one", map[string]string{woocommerce.EnvWebhookRefunds: "maybe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := woocommerce.FromEnv(env(tc.edit)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := woocommerce.FromEnv(env(map[string]string{woocommerce.EnvStoreURL: "http://127.0.0.1:8080"})); err != nil {
		t.Fatalf("http on loopback: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The host fingerprints each command: every delivery that mentions a refund
// must make a byte-identical command, or the host refuses the key as reused.
func TestEveryDeliveryOfARefundMakesTheSameCommand(t *testing.T) {
	shop := wcfake.New(t)
	id := shop.AddOrder("processing", 100000, "SEK")
	a := newAdapter(t, shop)
	shop.AdminRefund(id, 2500, "")
	first, err := a.Translate(t.Context(), shop.Webhook(id))
	if err != nil {
		t.Fatal(err)
	}
	second, err := a.Translate(t.Context(), shop.Webhook(id))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("two deliveries, two commands:\n%+v\n%+v", first, second)
	}
}
