package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
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

// TestDemoPaysAndRefunds walks the demo like a person with a plain HTTP
// client (the browser test does it with Chromium): cart, pay by full
// redirect, approve at the simulator's bank page, paid, refund.
func TestDemoPaysAndRefunds(t *testing.T) {
	base := startDemo(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	post := func(u string, v url.Values) *http.Response {
		t.Helper()
		resp, err := c.PostForm(u, v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	post(base+"/cart", url.Values{"sku": {"mug"}})
	// The checkout redirects to the bank page; approving there redirects
	// to SuccessURL, then the order page.
	bank := post(base+"/checkout", url.Values{"presentation": {"redirect"}})
	if !strings.Contains(bank.Request.URL.Path, "/checkout/") {
		t.Fatalf("checkout went to %s", bank.Request.URL)
	}
	back := post(bank.Request.URL.String(), url.Values{"action": {"approve"}, "scenario": {""}})
	if !strings.HasPrefix(back.Request.URL.Path, "/orders/") || !strings.HasSuffix(back.Request.URL.Path, "/return") {
		t.Fatalf("after approval: %s", back.Request.URL)
	}
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := regexp.MustCompile(`/orders/([0-9a-f]+)`).FindStringSubmatch(string(b))
	if id == nil {
		t.Fatalf("no order on the shop page:\n%s", b)
	}
	status := func() map[string]any {
		t.Helper()
		resp, err := c.Get(base + "/orders/" + id[1] + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	waitState := func(key, want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			m := status()
			if m[key] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v, want %s", key, m, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitState("state", "paid")
	post(base+"/orders/"+id[1]+"/refund", nil)
	waitState("refund", "refunded")
}
