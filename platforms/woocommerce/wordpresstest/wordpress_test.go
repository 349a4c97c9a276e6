//go:build unix

package wordpresstest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	settingsPage = "/wp-admin/admin.php?page=wc-settings&tab=checkout&section=trustly"
	shopperEmail = "Asa.Ek@example.se"
)

// checkoutAnswer is WooCommerce's answer to /?wc-ajax=checkout
// (WC_Checkout::process_order_payment, send_ajax_failure_response).
type checkoutAnswer struct {
	Result   string `json:"result"`
	Redirect string `json:"redirect"`
	Messages string `json:"messages"`
	OrderID  int64  `json:"order_id"`
}

// refundAnswer is WC_AJAX::refund_line_items' answer (wp_send_json_success
// or wp_send_json_error with data.error).
type refundAnswer struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
}

// Error is data.error of a failed refund.
func (a refundAnswer) Error() string {
	var d struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(a.Data, &d)
	return d.Error
}

// The plugin inside Debian's WordPress, over real HTTP, against the real
// sidecar and simulator: installed from its zip and activated in wp-admin;
// its settings page (token never shown, the health line from /readyz);
// a checkout whose process_payment asks the sidecar through wp_remote_post
// and redirects to Trustly; the admin's "Refund via Trustly" forwarded to
// the sidecar, and a refund the sidecar refuses; then the sidecar down.
func TestPluginInRealWordPress(t *testing.T) {
	in := requireInputs(t)
	began := time.Now()
	sc := startSidecar(t, in.sidecar)
	t.Logf("sidecar and simulator ready in %v", time.Since(began).Round(time.Millisecond))
	wp := newWordPress(t, in)
	began = time.Now()
	wp.installPlugin(t, in.zip)
	t.Logf("plugin uploaded and activated in %v", time.Since(began).Round(time.Millisecond))
	admin := wp.admin
	// Every page WordPress served, to look for the token in afterwards.
	var served []string
	adminGet := func(path string) page {
		t.Helper()
		p := admin.get(t, path)
		served = append(served, p.body)
		return p
	}

	if !t.Run("the plugin is active", func(t *testing.T) {
		p := adminGet("/wp-admin/plugins.php")
		row := regexp.MustCompile(`(?s)<tr[^>]*data-plugin="trustly-sidecar-gateway/trustly-sidecar-gateway\.php"[^>]*>`).FindString(p.body)
		if !strings.Contains(row, `class="active`) {
			t.Fatalf("the plugin's row on plugins.php: %q\n%s", row, tail(stripTags(p.body), 2000))
		}
	}) {
		return
	}

	t.Run("the settings page needs a login", func(t *testing.T) {
		p := wp.client(t).get(t, settingsPage)
		if p.status != http.StatusFound || !strings.Contains(p.header.Get("Location"), "wp-login.php") {
			t.Fatalf("anonymous: %d %s", p.status, p.header.Get("Location"))
		}
	})

	// saveSettings posts the gateway's settings form as the admin does.
	saveSettings := func(t *testing.T, token, refunds string) page {
		t.Helper()
		form := adminGet(settingsPage)
		p := admin.post(t, settingsPage, url.Values{
			"_wpnonce":                              {nonce(t, form)},
			"_wp_http_referer":                      {settingsPage},
			"save":                                  {"Save changes"},
			"woocommerce_trustly_enabled":           {"1"},
			"woocommerce_trustly_title":             {"Pay by bank (Trustly)"},
			"woocommerce_trustly_description":       {"Pay directly from your bank account."},
			"woocommerce_trustly_sidecar_url":       {sc.url},
			"woocommerce_trustly_api_token":         {token},
			"woocommerce_trustly_shopper_statement": {"Kaffebutiken"},
			"woocommerce_trustly_refunds":           {refunds},
		})
		served = append(served, p.body)
		if p.status != http.StatusOK || !strings.Contains(p.body, "Your settings have been saved.") {
			t.Fatalf("saving: %d\n%s", p.status, tail(stripTags(p.body), 3000))
		}
		return p
	}

	if !t.Run("settings are saved and the token is never shown", func(t *testing.T) {
		form := adminGet(settingsPage)
		if form.status != http.StatusOK || !strings.Contains(form.body, "Trustly (trustly-sidecar)") || !strings.Contains(form.body, `name="woocommerce_trustly_api_token"`) {
			t.Fatalf("settings page: %d\n%s", form.status, tail(stripTags(form.body), 3000))
		}
		save := func(token string) page { return saveSettings(t, token, "gateway") }
		for _, p := range []page{save(sc.token), adminGet(settingsPage), save("" /* keeps the saved token */), adminGet(settingsPage)} {
			if strings.Contains(p.body, sc.token) {
				t.Fatal("the settings page shows the token")
			}
			if !strings.Contains(p.body, `placeholder="(saved)"`) {
				t.Errorf("the token field does not say a token is saved\n%s", tail(stripTags(p.body), 2000))
			}
			if !strings.Contains(p.body, `value="`+sc.url+`"`) {
				t.Errorf("the sidecar URL is not in its field")
			}
			// The health line: /readyz of the real sidecar, through wp_remote_request.
			if !strings.Contains(p.body, "<p>Sidecar ready.</p>") {
				t.Errorf("no health line saying ready\n%s", tail(stripTags(p.body), 2000))
			}
		}
	}) {
		return
	}

	var orderID int64
	var paid payment
	if !t.Run("checkout asks the sidecar and redirects to Trustly", func(t *testing.T) {
		a := checkout(t, wp, "103.50")
		if a.Result != "success" || a.OrderID == 0 {
			t.Fatalf("checkout: %+v", a)
		}
		orderID = a.OrderID
		if !strings.HasPrefix(a.Redirect, sc.simURL+"/") {
			t.Fatalf("redirect %q is not the simulator's checkout (%s)", a.Redirect, sc.simURL)
		}
		var list struct {
			Orders []payment `json:"orders"`
		}
		sc.get(t, "/v1/payments?externalReference="+strconv.FormatInt(orderID, 10), &list)
		if len(list.Orders) != 1 {
			t.Fatalf("the sidecar has %d payments of order %d, want 1", len(list.Orders), orderID)
		}
		paid = list.Orders[0]
		sum := sha256.Sum256([]byte(strings.ToLower(shopperEmail)))
		want := payment{ID: paid.ID, State: paid.State, Amount: 10350, Currency: "SEK", EndUserID: "wc-guest-" + hex.EncodeToString(sum[:])[:32],
			ExternalReference: strconv.FormatInt(orderID, 10), URL: a.Redirect}
		got := paid
		got.Refunds, got.Refunded = nil, 0
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("the sidecar's payment:\n got %+v\nwant %+v", got, want)
		}
		// The shopper approves at the (simulated) bank; Trustly's
		// notifications make the payment paid in the sidecar.
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
			PostForm(a.Redirect, url.Values{"action": {"approve"}, "scenario": {""}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("approving at the bank: %d", resp.StatusCode)
		}
		eventually(t, "the payment to be paid", func() bool {
			sc.get(t, "/v1/payments/"+paid.ID, &paid)
			return paid.State == "paid"
		}, sc.serve.out.String)
	}) {
		return
	}

	t.Run("the admin's refund is forwarded to the sidecar", func(t *testing.T) {
		edit := adminGet("/wp-admin/post.php?post=" + strconv.FormatInt(orderID, 10) + "&action=edit")
		if !strings.Contains(edit.body, "Refund via Pay by bank (Trustly)") {
			t.Fatalf("the order screen has no refund-via-Trustly button (refunds: gateway)\n%s", tail(stripTags(edit.body), 3000))
		}
		n := regexp.MustCompile(`"order_item_nonce":"([0-9a-f]+)"`).FindStringSubmatch(edit.body)
		if n == nil {
			t.Fatal("no order-item nonce on the order screen")
		}
		refund := func(amount string) refundAnswer {
			t.Helper()
			p := admin.post(t, "/wp-admin/admin-ajax.php", url.Values{"action": {"woocommerce_refund_line_items"}, "order_id": {strconv.FormatInt(orderID, 10)},
				"refund_amount": {amount}, "refund_reason": {"damaged cup"}, "api_refund": {"true"}, "security": {n[1]}})
			var a refundAnswer
			if err := json.Unmarshal([]byte(p.body), &a); err != nil {
				t.Fatalf("refund answer: %d %v\n%s", p.status, err, tail(p.body, 2000))
			}
			return a
		}
		if a := refund("50.00"); !a.Success {
			t.Fatalf("refund of 50.00: %+v", a)
		}
		sc.get(t, "/v1/payments/"+paid.ID, &paid)
		if len(paid.Refunds) != 1 {
			t.Fatalf("the sidecar's payment has refunds %v, want one", paid.Refunds)
		}
		var r payment
		sc.get(t, "/v1/payments/"+paid.Refunds[0], &r)
		if r.Amount != 5000 || r.PaymentID != paid.ID {
			t.Fatalf("the sidecar's refund: %+v, want 5000 of %s", r, paid.ID)
		}
		// The order's note names WooCommerce's refund and the sidecar's.
		edit = adminGet("/wp-admin/post.php?post=" + strconv.FormatInt(orderID, 10) + "&action=edit")
		if notes := strings.Join(regexp.MustCompile(`<p class="note">([^<]*)</p>`).FindAllString(edit.body, -1), "\n"); !strings.Contains(notes, "sidecar refund "+r.ID) {
			t.Errorf("no order note naming the sidecar's refund %s:\n%s", r.ID, notes)
		}

		// More than is left: the sidecar refuses, the admin reads why, and
		// WooCommerce keeps no refund that was not made.
		a := refund("60.00")
		if a.Success || !strings.HasPrefix(a.Error(), "Trustly: ") {
			t.Fatalf("refund of 60.00 of the 53.50 left: %s, want the sidecar's reason", a.Data)
		}
		t.Logf("refused refund: %s", a.Error())
		sc.get(t, "/v1/payments/"+paid.ID, &paid)
		if len(paid.Refunds) != 1 {
			t.Errorf("the sidecar's payment has refunds %v after a refused one", paid.Refunds)
		}
		if got := strings.Count(adminGet("/wp-admin/post.php?post="+strconv.FormatInt(orderID, 10)+"&action=edit").body, `<p class="refund">`); got != 1 {
			t.Errorf("the order shows %d refunds, want the one made", got)
		}
	})

	t.Run("the sidecar down: clear errors for the admin and the shopper", func(t *testing.T) {
		sc.serve.stop()
		p := adminGet(settingsPage)
		health := regexp.MustCompile(`<p>(Sidecar[^<]*)</p>`).FindStringSubmatch(p.body)
		if health == nil || !strings.HasPrefix(health[1], "Sidecar not reachable at "+sc.url+": ") {
			t.Fatalf("health line with the sidecar down: %v\n%s", health, tail(stripTags(p.body), 2000))
		}
		t.Logf("health line: %s", health[1])
		a := checkout(t, wp, "20.00")
		if a.Result != "failure" || !strings.Contains(a.Messages, "Trustly is not available right now.") || a.Redirect != "" {
			t.Fatalf("checkout with the sidecar down: %+v", a)
		}
		edit := adminGet("/wp-admin/post.php?post=" + strconv.FormatInt(orderID, 10) + "&action=edit")
		n := regexp.MustCompile(`"order_item_nonce":"([0-9a-f]+)"`).FindStringSubmatch(edit.body)
		if n == nil {
			t.Fatal("no order-item nonce on the order screen")
		}
		r := admin.post(t, "/wp-admin/admin-ajax.php", url.Values{"action": {"woocommerce_refund_line_items"}, "order_id": {strconv.FormatInt(orderID, 10)},
			"refund_amount": {"10.00"}, "refund_reason": {"late"}, "api_refund": {"true"}, "security": {n[1]}})
		var ra refundAnswer
		// The admin reads why: the connection's own error.
		if err := json.Unmarshal([]byte(r.body), &ra); err != nil || ra.Success || !strings.Contains(ra.Error(), "Connection refused") {
			t.Fatalf("refund with the sidecar down: %v %s\n%s", err, ra.Error(), r.body)
		}
		t.Logf("refund error: %s", ra.Error())
	})

	t.Run("with refunds left to the sidecar's webhook there is no Refund via Trustly button", func(t *testing.T) {
		saveSettings(t, "", "webhook")
		edit := adminGet("/wp-admin/post.php?post=" + strconv.FormatInt(orderID, 10) + "&action=edit")
		if !strings.Contains(edit.body, "Refund manually") || strings.Contains(edit.body, "Refund via") {
			t.Fatalf("order screen with refunds=webhook:\n%s", tail(stripTags(edit.body), 2000))
		}
	})

	t.Run("no PHP warning from the plugin and the token in no page or log", func(t *testing.T) {
		for _, b := range served {
			if strings.Contains(b, sc.token) {
				t.Fatal("a page WordPress served holds the token")
			}
		}
		log, _ := os.ReadFile(wp.debugLog)
		if strings.Contains(string(log), sc.token) || strings.Contains(wp.server.out.String(), sc.token) {
			t.Error("the token is in WordPress's logs")
		}
		// WordPress 6.1's own deprecations under PHP 8.2 and its failed
		// calls to wordpress.org (blocked here) are expected; nothing from
		// the plugin or the stand-in is.
		lines := strings.Split(strings.TrimSpace(string(log)), "\n")
		for _, line := range lines {
			if strings.Contains(line, "trustly-sidecar-gateway") || strings.Contains(line, "/mu-plugins/") || strings.Contains(line, "PHP Fatal") {
				t.Errorf("debug.log: %s", line)
			}
		}
		t.Logf("debug.log: %d lines, none from the plugin or the stand-in", len(lines))
	})
}

// checkout pays an order of total as a guest shopper through the
// checkout's AJAX endpoint.
func checkout(t *testing.T, wp *wordpress, total string) checkoutAnswer {
	t.Helper()
	p := wp.client(t).post(t, "/?wc-ajax=checkout", url.Values{
		"payment_method": {"trustly"}, "stand_in_total": {total}, "stand_in_currency": {"SEK"},
		"billing_first_name": {"Åsa"}, "billing_last_name": {"Ek"}, "billing_email": {shopperEmail}, "billing_country": {"SE"},
	})
	var a checkoutAnswer
	if err := json.Unmarshal([]byte(p.body), &a); err != nil {
		t.Fatalf("checkout answer: %d %v\n%s", p.status, err, tail(p.body, 3000))
	}
	return a
}
