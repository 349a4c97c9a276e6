package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/cli"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/httpapi"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// End-to-end tests of pay by link over real sockets: the sidecar (run …
// serve) in SIM mode, the simulator on a manual clock, a real SMTP server
// and SMS gateways.

const payLinkBody = `{"orderReference":%q,"amount":10300,"currency":"SEK","shopper":{"endUserId":"shopper-1","firstName":"Åsa","lastName":"Öberg","email":"asa@example.com","mobilePhone":"+46701234567","country":"SE","locale":"sv_SE"},"successUrl":"https://shop.example/ok","failUrl":"https://shop.example/fail","shopperStatement":"Example shop"%s}`

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (s *shop) createLink(ref, extra string) shopapi.PayLink {
	s.t.Helper()
	a := s.call(http.MethodPost, "/v1/paylinks", "link-"+ref, fmt.Sprintf(payLinkBody, ref, extra))
	if a.Status != http.StatusCreated {
		s.t.Fatalf("create link: %d %s", a.Status, a.Body)
	}
	var l shopapi.PayLink
	if err := json.Unmarshal([]byte(a.Body), &l); err != nil {
		s.t.Fatal(err)
	}
	s.tokens = append(s.tokens, l.URL[strings.LastIndex(l.URL, "/")+1:])
	return l
}

// open fetches the link's page like a browser (or a link preview); it
// returns the status and the page.
func open(t *testing.T, link string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var formRe = regexp.MustCompile(`<input type="hidden" name="form" value="([^"]+)">`)

// click opens the link and presses its Pay button like a browser; it
// returns the status, the redirect's Location and the page. A page without
// a button is returned as it is.
func click(t *testing.T, link string) (int, string, string) {
	t.Helper()
	status, page := open(t, link)
	m := formRe.FindStringSubmatch(page)
	if m == nil {
		return status, "", page
	}
	return press(t, link, html.UnescapeString(m[1]))
}

// press posts the Pay button's form with the given token.
func press(t *testing.T, link, form string) (int, string, string) {
	t.Helper()
	resp, err := noRedirect.PostForm(link, url.Values{"form": {form}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// attempts are the sidecar's Deposits for an order reference.
func (s *shop) attempts(ref string) []shopapi.Order {
	s.t.Helper()
	a := s.call(http.MethodGet, "/v1/payments?externalReference="+url.QueryEscape(ref), "", "")
	var l shopapi.OrderList
	if err := json.Unmarshal([]byte(a.Body), &l); err != nil || a.Status != http.StatusOK {
		s.t.Fatalf("search: %d %s", a.Status, a.Body)
	}
	return l.Orders
}

// approveAtBank presses Approve on the simulator's bank page at checkout.
func approveAtBank(t *testing.T, checkout string) {
	t.Helper()
	resp, err := noRedirect.PostForm(checkout, url.Values{"action": {"approve"}, "scenario": {""}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example/ok" {
		t.Fatalf("bank page: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestE2EPayLinkClickPaysOnce(t *testing.T) {
	s := startShop(t)
	l := s.createLink("ORDER-1", "")
	if !strings.HasPrefix(l.URL, s.env["TRUSTLY_SIDECAR_PUBLIC_BASE_URL"]+"/pay/") || l.Amount != 10300 || l.OrderReference != "ORDER-1" {
		t.Fatalf("link: %+v", l)
	}
	token := strings.TrimPrefix(l.URL, s.env["TRUSTLY_SIDECAR_PUBLIC_BASE_URL"]+"/pay/")
	if len(token) < 22 { // 128 bits in base64
		t.Fatalf("token %d characters", len(token))
	}
	if got := s.attempts("ORDER-1"); len(got) != 0 {
		t.Fatalf("a Deposit before the click: %+v", got)
	}

	// The click makes the Deposit now and sends the shopper to Trustly.
	status, loc, _ := click(t, l.URL)
	att := s.attempts("ORDER-1")
	if status != http.StatusSeeOther || len(att) != 1 || loc != att[0].URL || att[0].Amount != 10300 {
		t.Fatalf("click: %d %q, attempts %+v", status, loc, att)
	}
	// A second click while that URL is usable goes to the same one.
	if status, loc2, _ := click(t, l.URL); status != http.StatusSeeOther || loc2 != loc {
		t.Fatalf("second click: %d %q, want %q", status, loc2, loc)
	}

	// The shopper approves on the bank page; notifications make it paid.
	approveAtBank(t, loc)
	s.advance(time.Minute)
	if got := s.get(att[0].ID); got.State != "paid" || got.Credited != 10300 {
		t.Fatalf("after approval: %+v", got)
	}

	// A paid link: a clear page, no second Deposit.
	status, loc, page := click(t, l.URL)
	if status != http.StatusOK || loc != "" || !strings.Contains(page, "Redan betald") {
		t.Fatalf("paid link: %d %q %s", status, loc, page)
	}
	if got := s.attempts("ORDER-1"); len(got) != 1 {
		t.Fatalf("%d attempts after clicking a paid link", len(got))
	}
	// The token is never logged.
	if strings.Contains(s.log.String(), token) {
		t.Error("the log holds the token")
	}
}

func TestE2EPayLinkExpiredCheckoutMakesANewAttempt(t *testing.T) {
	s := startShop(t)
	l := s.createLink("ORDER-2", "")
	_, first, _ := click(t, l.URL)
	// The shopper walks away; the checkout URL expires and Trustly cancels.
	s.advance(31 * time.Minute)
	att := s.attempts("ORDER-2")
	if len(att) != 1 || att[0].State != "cancelled" {
		t.Fatalf("after expiry: %+v", att)
	}
	status, second, _ := click(t, l.URL)
	att = s.attempts("ORDER-2")
	if status != http.StatusSeeOther || second == first || len(att) != 2 {
		t.Fatalf("click after expiry: %d %q (first %q), %d attempts", status, second, first, len(att))
	}
	approveAtBank(t, second)
	s.advance(time.Minute)
	if status, _, page := click(t, l.URL); status != http.StatusOK || !strings.Contains(page, "Redan betald") {
		t.Fatalf("paid: %d %s", status, page)
	}
	if got := s.attempts("ORDER-2"); len(got) != 2 {
		t.Fatalf("%d attempts", len(got))
	}
}

func TestE2EPayLinkConcurrentClicksMakeOneAttempt(t *testing.T) {
	s := startShop(t)
	l := s.createLink("ORDER-3", "")
	const n = 8
	_, page := open(t, l.URL)
	form := html.UnescapeString(formRe.FindStringSubmatch(page)[1])
	locs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := noRedirect.PostForm(l.URL, url.Values{"form": {form}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			locs[i] = resp.Header.Get("Location")
		})
	}
	wg.Wait()
	att := s.attempts("ORDER-3")
	if len(att) != 1 {
		t.Fatalf("%d attempts from %d simultaneous clicks", len(att), n)
	}
	for i, loc := range locs {
		if loc != att[0].URL {
			t.Errorf("click %d went to %q, want %q", i, loc, att[0].URL)
		}
	}
}

func TestE2EPayLinkUnknownAndExpiredTokens(t *testing.T) {
	s := startShop(t)
	l := s.createLink("ORDER-4", `,"ttlSeconds":1`)
	s.advance(time.Second)
	for name, link := range map[string]string{
		"expired":   l.URL,
		"unknown":   s.pub + "/pay/" + strings.Repeat("A", 43),
		"malformed": s.pub + "/pay/short",
	} {
		status, loc, page := click(t, link)
		if status != http.StatusNotFound || loc != "" || !strings.Contains(page, "Länken finns inte") && !strings.Contains(page, "Link not found") {
			t.Errorf("%s: %d %q %s", name, status, loc, page)
		}
	}
	if got := s.attempts("ORDER-4"); len(got) != 0 {
		t.Fatalf("%d Deposits for an expired link", len(got))
	}
}

var linkRe = regexp.MustCompile(`https?://\S+/pay/[A-Za-z0-9_-]+`)

func TestE2EPayLinkDeliveredByEmailAndSMS(t *testing.T) {
	mail := startSMTPServer(t)
	for _, gw := range []string{"twilio", "json"} {
		t.Run(gw, func(t *testing.T) {
			var g *smsGateway
			env := map[string]string{
				"TRUSTLY_SIDECAR_SMTP_ADDR": mail.addr, "TRUSTLY_SIDECAR_SMTP_FROM": "Example shop <pay@shop.example>",
				"TRUSTLY_SIDECAR_SMTP_USERNAME": smtpUser, "TRUSTLY_SIDECAR_SMTP_PASSWORD": smtpPassword,
				"TRUSTLY_SIDECAR_SMTP_CA_FILE": mail.caFile,
				"TRUSTLY_SIDECAR_SMS_GATEWAY":  gw, "TRUSTLY_SIDECAR_SMS_FROM": "+46700000000",
			}
			if gw == "twilio" {
				g = startTwilio(t)
				env["TRUSTLY_SIDECAR_SMS_URL"], env["TRUSTLY_SIDECAR_SMS_USERNAME"], env["TRUSTLY_SIDECAR_SMS_PASSWORD"] = g.url, twilioSID, twilioToken
			} else {
				g = startJSONGateway(t)
				env["TRUSTLY_SIDECAR_SMS_URL"], env["TRUSTLY_SIDECAR_SMS_PASSWORD"] = g.url, jsonGatewayToken
			}
			s := startShopEnv(t, env)
			before := len(mail.received())
			ref := "ORDER-5-" + gw
			l := s.createLink(ref, `,"send":["email","sms"]`)
			if len(l.Deliveries) != 2 || l.Deliveries[0].Status != "sent" || l.Deliveries[1].Status != "sent" {
				t.Fatalf("deliveries: %+v", l.Deliveries)
			}
			mails := mail.received()[before:]
			if len(mails) != 1 {
				t.Fatalf("%d e-mails", len(mails))
			}
			m := mails[0]
			if !m.TLS || m.User != smtpUser || m.To != "asa@example.com" || m.From != "pay@shop.example" {
				t.Errorf("e-mail envelope: %+v", m)
			}
			if m.Subject != "Betalning för order "+ref || !strings.Contains(m.Body, "Hej Åsa") || !strings.Contains(m.Body, "103,00 SEK") {
				t.Errorf("e-mail text (sv_SE): %q\n%s", m.Subject, m.Body)
			}
			if got := linkRe.FindString(m.Body); got != l.URL {
				t.Errorf("e-mail link %q, want %q", got, l.URL)
			}
			sms := g.received()
			if len(sms) != 1 || sms[0].To != "+46701234567" || sms[0].From != "+46700000000" {
				t.Fatalf("sms: %+v", sms)
			}
			if got := linkRe.FindString(sms[0].Text); got != l.URL {
				t.Errorf("sms link %q, want %q (%s)", got, l.URL, sms[0].Text)
			}
			// The link from the e-mail pays.
			if status, loc, _ := click(t, linkRe.FindString(m.Body)); status != http.StatusSeeOther || loc == "" {
				t.Errorf("click from the e-mail: %d", status)
			}
			for _, secret := range []string{smtpPassword, twilioToken, jsonGatewayToken} {
				if strings.Contains(s.log.String(), secret) {
					t.Errorf("the log holds a secret")
				}
			}
		})
	}
}

func TestE2EPayLinkDeliveryFailureKeepsTheLink(t *testing.T) {
	g := startTwilio(t)
	s := startShopEnv(t, map[string]string{"TRUSTLY_SIDECAR_SMS_GATEWAY": "twilio", "TRUSTLY_SIDECAR_SMS_URL": g.url,
		"TRUSTLY_SIDECAR_SMS_USERNAME": twilioSID, "TRUSTLY_SIDECAR_SMS_PASSWORD": "wrong-token", "TRUSTLY_SIDECAR_SMS_FROM": "Shop"})
	l := s.createLink("ORDER-6", `,"send":["sms"]`)
	if len(l.Deliveries) != 1 || l.Deliveries[0].Status != "failed" || !strings.Contains(l.Deliveries[0].Error, "401") {
		t.Fatalf("deliveries: %+v", l.Deliveries)
	}
	// An unconfigured channel is the caller's mistake.
	a := s.call(http.MethodPost, "/v1/paylinks", "link-x", fmt.Sprintf(payLinkBody, "ORDER-7", `,"send":["email"]`))
	if a.Status != http.StatusBadRequest {
		t.Fatalf("email without SMTP: %d %s", a.Status, a.Body)
	}
	// The same key replays the link: same URL, nothing sent again.
	again := s.createLink("ORDER-6", `,"send":["sms"]`)
	if again.URL != l.URL {
		t.Fatalf("replay: %q, want %q", again.URL, l.URL)
	}
}

// dumpStore returns every key under the shop's prefix with its value as
// text, whatever its type.
func (s *shop) dumpStore() map[string]string {
	s.t.Helper()
	ctx := s.t.Context()
	keys, err := s.rdb.Keys(ctx, s.prefix+":*").Result()
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		typ, err := s.rdb.Type(ctx, k).Result()
		if err != nil {
			s.t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			v, err = s.rdb.Get(ctx, k).Result()
		case "hash":
			v, err = s.rdb.HGetAll(ctx, k).Result()
		case "list":
			v, err = s.rdb.LRange(ctx, k, 0, -1).Result()
		case "set":
			v, err = s.rdb.SMembers(ctx, k).Result()
		case "zset":
			v, err = s.rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "stream":
			v, err = s.rdb.XRange(ctx, k, "-", "+").Result()
		default:
			s.t.Fatalf("%s: a %s, which this test cannot read", k, typ)
		}
		if err != nil {
			s.t.Fatal(err)
		}
		out[k] = fmt.Sprint(v)
	}
	return out
}

// serveAgain starts a second sidecar with the shop's configuration (same
// merchant key, Redis and prefix) on fresh ports, as after a restart, and
// returns its private listener's URL.
func (s *shop) serveAgain() string {
	s.t.Helper()
	env := maps.Clone(s.env)
	env["TRUSTLY_SIDECAR_PUBLIC_ADDR"], env["TRUSTLY_SIDECAR_PRIVATE_ADDR"] = "127.0.0.1:0", "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &logBuffer{}, &logBuffer{}
	done := make(chan error, 1)
	go func() {
		e := &cli.Env{Getenv: env.get, Now: s.clock.Now, Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr}
		done <- runEnv(ctx, e, []string{"trustly-sidecar", "serve"})
	}()
	s.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("second serve: %v\n%s", err, stderr)
		}
	})
	waitFor(s.t, stdout, publicRe, done)
	return localURL(waitFor(s.t, stdout, privateRe, done))
}

// The answer to POST /v1/paylinks is kept for replays, but never with the
// token in clear: no key or value in Redis holds it, and a replay (also by
// a restarted sidecar) still answers the same, usable URL.
func TestE2EPayLinkTokenNeverStoredInClear(t *testing.T) {
	s := startShop(t)
	body := fmt.Sprintf(payLinkBody, "ORDER-SEALED", "")
	first := s.call(http.MethodPost, "/v1/paylinks", "link-sealed", body)
	if first.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	var l shopapi.PayLink
	if err := json.Unmarshal([]byte(first.Body), &l); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimPrefix(l.URL, s.env["TRUSTLY_SIDECAR_PUBLIC_BASE_URL"]+"/pay/")
	if token == l.URL || len(token) < 43 {
		t.Fatalf("no token in %q", l.URL)
	}

	store := s.dumpStore()
	var idem int
	for k, v := range store {
		if strings.Contains(k, token) || strings.Contains(v, token) {
			t.Errorf("%s holds the token in clear", k)
		}
		if strings.Contains(k, ":idem:") {
			idem++
		}
	}
	if idem == 0 {
		t.Fatalf("no idempotency record to check among %d keys", len(store))
	}

	for _, c := range []struct{ name, priv string }{
		{"the same sidecar", s.priv},
		{"a restarted sidecar", s.serveAgain()},
	} {
		a := do(t, http.MethodPost, c.priv+"/v1/paylinks", body, "Idempotency-Key", "link-sealed", "Content-Type", "application/json")
		if a.Status != http.StatusCreated || a.Header.Get(httpapi.ReplayedHeader) != "true" || a.Body != first.Body {
			t.Errorf("%s replays %d (%s: %q) %s\nwant 201, replayed, %s", c.name, a.Status, httpapi.ReplayedHeader, a.Header.Get(httpapi.ReplayedHeader), a.Body, first.Body)
		}
	}
	// The replayed URL is the link: a click pays through it.
	if status, loc, _ := click(t, l.URL); status != http.StatusSeeOther || loc == "" {
		t.Errorf("click: %d %q", status, loc)
	}
	if strings.Contains(s.log.String(), token) {
		t.Error("the log holds the token")
	}
}

// The link's page is for people and previews alike: fetching it, however
// often, makes no Deposit; it shows the shop, order, amount and expiry in
// the link's language, and only its button (with the token it carries)
// starts a payment.
func TestE2EPayLinkPageChangesNothing(t *testing.T) {
	s := startShop(t)
	l := s.createLink("ORDER-GET", "")
	for range 5 {
		status, page := open(t, l.URL)
		for _, want := range []string{`lang="sv"`, "Example shop", "ORDER-GET", "103,00 SEK", "Giltig till", "Betala med Trustly", `method="post"`} {
			if status != http.StatusOK || !strings.Contains(page, want) {
				t.Fatalf("page: %d, lacks %q:\n%s", status, want, page)
			}
		}
	}
	if head, err := noRedirect.Head(l.URL); err != nil || head.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %v %v", head, err)
	}
	if got := s.attempts("ORDER-GET"); len(got) != 0 {
		t.Fatalf("%d Deposits from fetching the page", len(got))
	}
	// A button pressed without this page's token, or with a forged or
	// stale one, starts nothing: the page comes back with a fresh button.
	_, page := open(t, l.URL)
	form := html.UnescapeString(formRe.FindStringSubmatch(page)[1])
	issued, mac, _ := strings.Cut(form, ".")
	for name, f := range map[string]string{
		"no token":              "",
		"forged":                issued + "." + strings.Repeat("A", len(mac)),
		"another time":          "1700000000." + mac,
		"another link's token":  "",
		"not a token at all":    "<script>",
		"a token of the future": "99999999999." + mac,
	} {
		if name == "another link's token" {
			_, other := open(t, s.createLink("ORDER-OTHER", "").URL)
			f = html.UnescapeString(formRe.FindStringSubmatch(other)[1])
		}
		status, loc, page := press(t, l.URL, f)
		if status != http.StatusForbidden || loc != "" || !strings.Contains(page, "Tryck på knappen igen") || !formRe.MatchString(page) {
			t.Errorf("%s: %d %q\n%s", name, status, loc, page)
		}
	}
	if got := s.attempts("ORDER-GET"); len(got) != 0 {
		t.Fatalf("%d Deposits from bad buttons", len(got))
	}
	// The page's own button works, and the page says where it goes.
	if status, loc, _ := press(t, l.URL, form); status != http.StatusSeeOther || !strings.Contains(loc, "/checkout/") {
		t.Fatalf("the page's button: %d %q", status, loc)
	}
	// A page left open past the button's life is shown again, not acted on.
	s.advance(2 * time.Hour)
	if status, loc, _ := press(t, l.URL, form); status != http.StatusForbidden || loc != "" {
		t.Fatalf("a button two hours old: %d %q", status, loc)
	}
}

// GET /v1/paylinks/{id} follows a link from active to paid; DELETE revokes
// one that is not paid, after which neither its page nor its button starts
// a payment.
func TestE2EPayLinkStatusAndRevoke(t *testing.T) {
	s := startShop(t)
	status := func(id string) (int, shopapi.PayLinkStatus, string) {
		t.Helper()
		a := s.call(http.MethodGet, "/v1/paylinks/"+id, "", "")
		var st shopapi.PayLinkStatus
		_ = json.Unmarshal([]byte(a.Body), &st)
		return a.Status, st, a.Body
	}
	l := s.createLink("ORDER-ST", "")
	if code, st, body := status(l.ID); code != http.StatusOK || st.Status != "active" || len(st.Attempts) != 0 || st.Payment != nil || st.Amount != 10300 {
		t.Fatalf("new link: %d %s", code, body)
	}
	_, loc, _ := click(t, l.URL)
	if code, st, body := status(l.ID); code != http.StatusOK || st.Status != "active" || len(st.Attempts) != 1 || st.Attempts[0].State != "started" {
		t.Fatalf("after the click: %d %s", code, body)
	}
	approveAtBank(t, loc)
	s.advance(time.Minute)
	code, st, body := status(l.ID)
	if code != http.StatusOK || st.Status != "paid" || st.Payment == nil || st.Payment.ID != st.Attempts[0].ID || st.Payment.Credited != 10300 {
		t.Fatalf("paid: %d %s", code, body)
	}
	// A paid link cannot be revoked.
	if a := s.call(http.MethodDelete, "/v1/paylinks/"+l.ID, "", ""); a.Status != http.StatusConflict || !strings.Contains(a.Body, "paylink_not_revocable") {
		t.Fatalf("revoke a paid link: %d %s", a.Status, a.Body)
	}

	r := s.createLink("ORDER-REV", "")
	for range 2 { // revoking twice answers the same
		a := s.call(http.MethodDelete, "/v1/paylinks/"+r.ID, "", "")
		var st shopapi.PayLinkStatus
		if err := json.Unmarshal([]byte(a.Body), &st); err != nil || a.Status != http.StatusOK || st.Status != "revoked" || st.RevokedAt == nil {
			t.Fatalf("revoke: %d %s", a.Status, a.Body)
		}
	}
	if code, page := open(t, r.URL); code != http.StatusGone || !strings.Contains(page, "återkallat") || formRe.MatchString(page) {
		t.Fatalf("a revoked link's page: %d\n%s", code, page)
	}
	if got := s.attempts("ORDER-REV"); len(got) != 0 {
		t.Fatalf("%d Deposits for a revoked link", len(got))
	}
	for _, path := range []string{"/v1/paylinks/pl_0000000000000000", "/v1/paylinks/nonsense"} {
		if a := s.call(http.MethodGet, path, "", ""); a.Status != http.StatusNotFound || !strings.Contains(a.Body, "paylink_not_found") {
			t.Errorf("GET %s: %d %s", path, a.Status, a.Body)
		}
		if a := s.call(http.MethodDelete, path, "", ""); a.Status != http.StatusNotFound {
			t.Errorf("DELETE %s: %d %s", path, a.Status, a.Body)
		}
	}
}
