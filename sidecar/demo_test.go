package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// startDemo runs `trustly-sidecar demo` and returns the one URL it prints.
func startDemo(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &logBuffer{}, &logBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{progName, "demo", "--addr", "127.0.0.1:0"}, args...), func(string) string { return "" },
			strings.NewReader(""), stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v\n%s", err, stderr)
		}
	})
	u := waitFor(t, stdout, regexp.MustCompile(`open (http://\S+)`), done)
	if n := len(regexp.MustCompile(`https?://`).FindAllString(stdout.String(), -1)); n != 1 {
		t.Errorf("demo printed %d URLs, want one:\n%s", n, stdout)
	}
	return strings.TrimSuffix(u, "/")
}

// demoClient is a person's browser without the browser: cookies, forms.
type demoClient struct {
	t    *testing.T
	c    *http.Client
	base string
}

func newDemoClient(t *testing.T, base string) *demoClient {
	jar, _ := cookiejar.New(nil)
	return &demoClient{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}, base: base}
}

// post sends a form and answers the final response (redirects followed)
// with its body.
func (d *demoClient) post(u string, v url.Values) (*http.Response, string) {
	d.t.Helper()
	resp, err := d.c.PostForm(u, v)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (d *demoClient) get(u string) (*http.Response, string) {
	d.t.Helper()
	resp, err := d.c.Get(u)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (d *demoClient) status(ref string) map[string]any {
	d.t.Helper()
	_, body := d.get(d.base + "/orders/" + ref + "/status")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		d.t.Fatalf("status of %s: %v: %s", ref, err, body)
	}
	return m
}

// waitState waits for the order's state (the status JSON's) and answers
// the status.
func (d *demoClient) waitState(ref, want string) map[string]any {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := d.status(ref)
		if m["state"] == want {
			return m
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("order %s: %v, want state %s", ref, m, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var orderRefRe = regexp.MustCompile(`/orders/(DEMO-\d{4,})`)

// TestDemoPaysAndRefunds walks the demo like a person with a plain HTTP
// client (the browser test does it with Chromium): cart, pay by full
// redirect, approve at the simulator's bank page, paid, refund.
func TestDemoPaysAndRefunds(t *testing.T) {
	base := startDemo(t)
	d := newDemoClient(t, base)
	d.post(base+"/cart", url.Values{"sku": {"mug"}})
	// The checkout redirects to the bank page; approving there redirects
	// to SuccessURL, then the order page.
	bank, _ := d.post(base+"/checkout", url.Values{"presentation": {"redirect"}})
	if !strings.Contains(bank.Request.URL.Path, "/checkout/") {
		t.Fatalf("checkout went to %s", bank.Request.URL)
	}
	back, _ := d.post(bank.Request.URL.String(), url.Values{"action": {"approve"}, "scenario": {""}})
	ref := orderRefRe.FindStringSubmatch(back.Request.URL.Path)
	if ref == nil || !strings.HasSuffix(back.Request.URL.Path, "/return") {
		t.Fatalf("after approval: %s", back.Request.URL)
	}
	m := d.waitState(ref[1], "paid")
	if m["label"] != "Paid" || m["refundMax"] != "149.00" {
		t.Errorf("paid: %v", m)
	}
	// The order page is headed by the shop's reference, not the sidecar's id,
	// and shows the order's timeline: the Deposit call, the notifications.
	_, page := d.get(base + "/orders/" + ref[1])
	for _, want := range []string{`<h1 id="heading">Order ` + ref[1] + `</h1>`, `id="timeline"`, "Called Trustly: Deposit (ok)",
		"Trustly sent credit: the order is now paid"} {
		if !strings.Contains(page, want) {
			t.Errorf("order page lacks %q:\n%s", want, page)
		}
	}
	// The cart is emptied once the order is paid.
	if _, home := d.get(base + "/"); !strings.Contains(home, `id="cart-empty"`) || !strings.Contains(home, ref[1]) {
		t.Errorf("home after paying:\n%s", home)
	}
	d.post(base+"/orders/"+ref[1]+"/refund", url.Values{"amount": {"149.00"}, "key": {m["refundKey"].(string)}})
	d.waitState(ref[1], "refunded")
}

// A declined payment keeps the cart and offers to try again; the order
// page then does not say the order will turn paid.
func TestDemoDeclineKeepsTheCart(t *testing.T) {
	base := startDemo(t)
	d := newDemoClient(t, base)
	d.post(base+"/cart", url.Values{"sku": {"mug"}})
	d.post(base+"/cart", url.Values{"sku": {"mug"}, "op": {"inc"}})
	d.post(base+"/cart", url.Values{"sku": {"socks"}})
	d.post(base+"/cart", url.Values{"sku": {"socks"}, "op": {"remove"}})
	_, home := d.get(base + "/")
	if !strings.Contains(home, `<span id="qty-mug">2</span>`) || strings.Contains(home, `id="line-socks"`) ||
		!strings.Contains(home, `<strong id="total">298.00 SEK</strong>`) {
		t.Fatalf("cart after +1 mug and removing the socks:\n%s", home)
	}
	bank, _ := d.post(base+"/checkout", url.Values{"presentation": {"redirect"}})
	back, _ := d.post(bank.Request.URL.String(), url.Values{"action": {"decline"}})
	ref := orderRefRe.FindStringSubmatch(back.Request.URL.Path)
	if ref == nil {
		t.Fatalf("after decline: %s", back.Request.URL)
	}
	m := d.waitState(ref[1], "cancelled")
	if m["retry"] != true || m["waiting"] != false || m["label"] != "Cancelled: not paid" {
		t.Errorf("cancelled: %v", m)
	}
	_, page := d.get(base + "/orders/" + ref[1])
	for _, want := range []string{`id="explain" hidden`, `id="try-again"`, "Cancelled: not paid"} {
		if !strings.Contains(page, want) {
			t.Errorf("cancelled order page lacks %q:\n%s", want, page)
		}
	}
	if _, home := d.get(base + "/"); !strings.Contains(home, `<span id="qty-mug">2</span>`) {
		t.Errorf("the cart is gone after a decline:\n%s", home)
	}
}

// The lightbox's iframe is sandboxed without giving the frame both scripts
// and its own origin, and can open Trustly's pop-ups unsandboxed; it has
// a close control.
func TestDemoLightbox(t *testing.T) {
	base := startDemo(t)
	d := newDemoClient(t, base)
	d.post(base+"/cart", url.Values{"sku": {"book"}})
	resp, page := d.post(base+"/checkout", url.Values{"presentation": {"iframe"}})
	if !orderRefRe.MatchString(resp.Request.URL.Path) {
		t.Fatalf("iframe checkout went to %s", resp.Request.URL)
	}
	m := regexp.MustCompile(`<iframe id="trustly"[^>]*\ssandbox="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sandboxed iframe:\n%s", page)
	}
	tokens := strings.Fields(m[1])
	if !slices.Contains(tokens, "allow-popups-to-escape-sandbox") || !slices.Contains(tokens, "allow-top-navigation") {
		t.Errorf("sandbox %q", m[1])
	}
	if slices.Contains(tokens, "allow-scripts") && slices.Contains(tokens, "allow-same-origin") {
		t.Errorf("sandbox %q lets the frame remove its own sandbox", m[1])
	}
	if !strings.Contains(page, `id="close-lightbox" aria-label="Close"`) {
		t.Error("the lightbox has no close control")
	}
}

// An unknown order is a page in words; the shop has a favicon.
func TestDemoUnknownOrderAndFavicon(t *testing.T) {
	base := startDemo(t)
	d := newDemoClient(t, base)
	for _, path := range []string{"/orders/DEMO-9999", "/orders/DEMO-9999/return", "/nothing-here"} {
		resp, page := d.get(base + path)
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(page, "<!DOCTYPE html>") || !strings.Contains(page, `<h1 id="problem-title">`) {
			t.Errorf("GET %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), page)
		}
	}
	if _, page := d.get(base + "/orders/DEMO-9999"); !strings.Contains(page, "Order not found") {
		t.Errorf("unknown order:\n%s", page)
	}
	resp, ico := d.get(base + "/favicon.ico")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/x-icon" ||
		!strings.HasPrefix(ico, "\x00\x00\x01\x00\x01\x00") || !strings.Contains(ico, "\x89PNG") {
		t.Errorf("favicon.ico: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), ico[:min(len(ico), 16)])
	}
	resp, svg := d.get(base + "/favicon.svg")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(svg, "<svg") {
		t.Errorf("favicon.svg: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, home := d.get(base + "/"); !strings.Contains(home, `<link rel="icon" href="/favicon.svg"`) {
		t.Error("the shop page names no icon")
	}
}

// A pay link for the cart: the order page shows it, the link's page
// offers the Pay button, and withdrawing the link is shown.
func TestDemoPayLink(t *testing.T) {
	base := startDemo(t)
	d := newDemoClient(t, base)
	d.post(base+"/cart", url.Values{"sku": {"socks"}})
	resp, page := d.post(base+"/paylink", nil)
	ref := orderRefRe.FindStringSubmatch(resp.Request.URL.Path)
	link := regexp.MustCompile(`id="paylink-url" href="([^"]+)"`).FindStringSubmatch(page)
	if ref == nil || link == nil {
		t.Fatalf("pay link order at %s:\n%s", resp.Request.URL, page)
	}
	m := d.status(ref[1])
	if l, _ := m["link"].(map[string]any); m["state"] != "waiting" || l["status"] != "active" || l["revocable"] != true {
		t.Errorf("a new link: %v", m)
	}
	if resp, pay := d.get(link[1]); resp.StatusCode != http.StatusOK || !strings.Contains(pay, "Betala med Trustly") {
		t.Errorf("the link's page: %d\n%s", resp.StatusCode, pay)
	}
	d.post(base+"/orders/"+ref[1]+"/revoke", nil)
	m = d.waitState(ref[1], "cancelled")
	if l, _ := m["link"].(map[string]any); l["status"] != "revoked" || m["retry"] != true {
		t.Errorf("a withdrawn link: %v", m)
	}
}
