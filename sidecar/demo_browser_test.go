//go:build browser

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/chromedp"
)

// The demo as a person uses it, in headless Chromium driven by chromedp:
// the cart, a declined payment (the cart is kept), paying by redirect,
// partial and full refunds; on a phone-sized screen the lightbox, its close
// control and a refund that fails; a pay link made, opened and paid. Every
// state reached is asserted by its visible words. Run by `make browser-test` (part of
// `make test`), which installs Debian's chromium when missing; the build tag
// keeps plain `go test ./...` free of a browser. Screenshots go to
// $BROWSER_OUT (default: the test's temp dir).

func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		t.Fatal("no chromium: run `make browser-test`, which installs it, or set CHROMIUM")
	}
	// This machine has no internet: everything that would phone home is off.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first run starts the browser, whose life is this context's: no
	// timeout on it, only on the steps.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("BROWSER_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// demoPage drives one browser tab through the demo.
type demoPage struct {
	t    *testing.T
	ctx  context.Context
	base string
	// top is the tab when ctx is a frame in it (nil: ctx is the tab).
	top context.Context
}

func (p *demoPage) tab() context.Context {
	if p.top != nil {
		return p.top
	}
	return p.ctx
}

// frame is the lightbox's bank page: the simulator's page is in a sandboxed
// frame of an opaque origin, which Chrome runs in a process of its own (a
// target of type iframe that the tab's DOM does not reach).
func (p *demoPage) frame(urlPart string) *demoPage {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		infos, err := chromedp.Targets(p.ctx)
		if err == nil {
			for _, info := range infos {
				if info.Type == "iframe" && strings.Contains(info.URL, urlPart) {
					ctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(info.TargetID))
					p.t.Cleanup(cancel)
					// The attachment lives as long as the context of the
					// first run: this one, not a step's with a timeout.
					if err := chromedp.Do(ctx); err != nil {
						p.fail("attach to the lightbox's frame", err)
					}
					return &demoPage{t: p.t, ctx: ctx, base: p.base, top: p.ctx}
				}
			}
		}
		if time.Now().After(deadline) {
			p.fail("the lightbox's frame", fmt.Errorf("no iframe target at %s (%v)", urlPart, err))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *demoPage) fail(what string, err error) {
	p.t.Helper()
	p.t.Errorf("%s: %v", what, err)
	screenshot(p.t, p.tab(), "demo-failed-"+strings.NewReplacer(" ", "-", "/", "-").Replace(p.t.Name()))
	p.t.FailNow()
}

func (p *demoPage) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(what, err)
	}
}

// submit clicks sel, which sends a form, and waits for the next page of
// the tab (also when sel is in a frame that navigates the whole tab).
func (p *demoPage) submit(what, sel string, opts ...chromedp.QueryOption) {
	p.t.Helper()
	if _, err := chromedp.Run(p.tab(), chromedp.Evaluate[chromedp.Void](`window.demoOldPage = true`)); err != nil {
		p.fail(what, err)
	}
	p.step(what, chromedp.Click(chromedp.CSS(sel), opts...))
	// Evaluating fails while the tab navigates: ask again.
	deadline := time.Now().Add(30 * time.Second)
	for {
		loaded, err := chromedp.Run(p.tab(), chromedp.Evaluate[bool](`!window.demoOldPage && document.readyState === "complete"`))
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			p.fail(what+": the next page", fmt.Errorf("not loaded after 30s (%v)", err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the visible text of sel (innerText), waiting for it to be visible.
func (p *demoPage) text(sel string, opts ...chromedp.QueryOption) string {
	p.t.Helper()
	txt, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel), opts...))
	if err != nil {
		p.fail("read "+sel, err)
	}
	return strings.TrimSpace(txt)
}

func (p *demoPage) wantText(sel, want string) {
	p.t.Helper()
	if got := p.text(sel); got != want {
		p.t.Errorf("%s shows %q, want %q", sel, got, want)
	}
}

// state waits until the order page's state is one of states and returns
// it with its visible words, which must be label's.
func (p *demoPage) state(labels map[string]string) string {
	p.t.Helper()
	var keys []string
	for k := range labels {
		keys = append(keys, `"`+k+`"`)
	}
	js := `(() => { const e = document.getElementById("state");
		return e && e.checkVisibility() && [` + strings.Join(keys, ",") + `].includes(e.dataset.state) && e.dataset.state; })()`
	// Asked again and again: the tab may be between pages (the return page
	// sends the shopper on to the order page).
	deadline := time.Now().Add(40 * time.Second)
	var st string
	for {
		got, err := chromedp.Run(p.ctx, chromedp.Evaluate[any](js))
		if s, ok := got.(string); err == nil && ok && s != "" {
			st = s
			break
		}
		if time.Now().After(deadline) {
			shown, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(document.getElementById("state")||{}).innerText || document.body.innerText`))
			p.fail(fmt.Sprintf("waiting for state %v (the page shows %q)", keys, shown), fmt.Errorf("not reached in 40s (%v)", err))
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.wantText("#state", labels[st])
	return st
}

// visible says whether sel is shown (present, not hidden).
func (p *demoPage) visible(sel string, opts ...chromedp.QueryOption) bool {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+
		"`"+sel+"`"+`); return !!e && e.checkVisibility(); })()`))
	if err != nil {
		p.fail("visibility of "+sel, err)
	}
	return v
}

// chooseBank picks a bank on the simulator's bank page (in frame, if any)
// and waits for the approve step.
func (p *demoPage) chooseBank(opts ...chromedp.QueryOption) {
	p.t.Helper()
	p.step("the bank list", chromedp.WaitVisible(chromedp.CSS(`label[for="bank-nordvik"]`), opts...))
	if got := p.text("#sim-banner", opts...); !strings.Contains(got, "simulator") {
		p.t.Errorf("the bank page does not say it is a simulator: %q", got)
	}
	p.step("choose a bank", chromedp.Click(chromedp.CSS(`label[for="bank-nordvik"]`), opts...),
		chromedp.WaitVisible(chromedp.ID("approve"), opts...))
	if got := p.text(".step2 h2", opts...); got != "Confirm at Nordvik Sparbank" {
		p.t.Errorf("the approve step is headed %q", got)
	}
}

func TestBrowserDemo(t *testing.T) {
	start := time.Now()
	base := startDemo(t)
	p := &demoPage{t: t, ctx: browser(t), base: base}
	t.Logf("demo and browser started in %s", time.Since(start).Round(time.Millisecond))

	paidLabel := map[string]string{"paid": "Paid"}
	t.Run("cart, decline, redirect, refunds", func(t *testing.T) {
		p := &demoPage{t: t, ctx: p.ctx, base: base}
		p.step("open the shop", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("add-mug")))
		p.submit("add a mug", "#add-mug")
		p.submit("add socks", "#add-socks")
		p.submit("one more mug", "#inc-mug")
		p.wantText("#qty-mug", "2")
		p.wantText("#qty-socks", "1")
		p.submit("remove the socks", "#remove-socks")
		p.step("the socks are gone", chromedp.WaitNotPresent(chromedp.ID("line-socks")))
		p.wantText("#total", "298.00 SEK")
		screenshot(t, p.ctx, "demo-cart")
		p.step("choose redirect", chromedp.Click(chromedp.CSS(`input[value="redirect"]`)))
		p.submit("pay by redirect", "#pay")
		p.chooseBank()
		screenshot(t, p.ctx, "demo-redirect-bank")
		p.submit("decline", "#decline")
		p.state(map[string]string{"cancelled": "Cancelled: not paid"})
		if h := p.text("#heading"); !regexp.MustCompile(`^Order DEMO-\d{4}$`).MatchString(h) {
			t.Errorf("order heading %q, want the shop's reference", h)
		}
		if p.visible("#explain") {
			t.Error(`a cancelled order shows "turns paid only when…"`)
		}
		if !p.visible("#try-again") {
			t.Error("no Try again after a decline")
		}
		screenshot(t, p.ctx, "demo-cancelled")
		p.step("the cart is kept", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("cart")))
		p.wantText("#qty-mug", "2")
		p.step("back to the order", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.ID("try-again")))
		p.submit("try again", "#try-again")
		p.chooseBank()
		p.submit("approve", "#approve")
		if st := p.state(map[string]string{"waiting": "Waiting for the payment", "pending": "Pending: the bank accepted", "paid": "Paid"}); st != "paid" {
			if !p.visible("#explain") {
				t.Errorf("a %s order does not explain when it turns paid", st)
			}
			p.state(paidLabel)
		}
		url, err := chromedp.Run(p.ctx, chromedp.Location())
		if err != nil || !strings.HasPrefix(url, base+"/orders/DEMO-") {
			t.Errorf("the paid order is shown at %s", url)
		}
		screenshot(t, p.ctx, "demo-redirect-paid")

		// A partial refund, then the rest.
		p.step("refund part", chromedp.WaitVisible(chromedp.ID("refund")), chromedp.SetValue(chromedp.ID("refund-amount"), "100.00"))
		p.submit("refund part", "#refund")
		partial := map[string]string{"refunding": "Paid: refund in progress", "partially-refunded": "Partially refunded"}
		if p.state(partial) == "refunding" {
			if got := p.text("#refunds li"); got != "Refund of 100.00 SEK: in progress: waiting for Trustly to confirm the payout" {
				t.Errorf("refund line %q", got)
			}
			screenshot(t, p.ctx, "demo-refunding")
			delete(partial, "refunding")
			p.state(partial)
		}
		if got := p.text("#detail"); got != "100.00 SEK of 298.00 SEK was paid back; 198.00 SEK can still be refunded." {
			t.Errorf("partially refunded: %q", got)
		}
		p.step("the rest is offered", chromedp.WaitVisible(chromedp.ID("refund")),
			chromedp.Poll[chromedp.Void](`document.getElementById("refund-amount").value === "198.00"`))
		screenshot(t, p.ctx, "demo-partially-refunded")
		p.step("the paid cart is gone", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("cart-empty")))
	})

	t.Run("phone, lightbox, refund fails", func(t *testing.T) {
		p := &demoPage{t: t, ctx: p.ctx, base: base}
		p.step("a phone screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
		p.step("open the shop", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("add-book")))
		p.submit("add a book", "#add-book")
		p.step("choose the lightbox", chromedp.Click(chromedp.CSS(`input[value="iframe"]`)))
		p.submit("pay in the lightbox", "#pay")
		p.step("the lightbox", chromedp.WaitVisible(chromedp.ID("trustly")))
		sandbox, err := chromedp.Run(p.ctx, chromedp.AttributeValue(chromedp.ID("trustly"), "sandbox"))
		if err != nil || !sandbox.Exists {
			t.Fatalf("the lightbox's iframe has no sandbox: %v", err)
		}
		tokens := strings.Fields(sandbox.Value)
		if !slices.Contains(tokens, "allow-popups-to-escape-sandbox") {
			t.Errorf("iframe sandbox %q lacks allow-popups-to-escape-sandbox", sandbox.Value)
		}
		if slices.Contains(tokens, "allow-scripts") && slices.Contains(tokens, "allow-same-origin") {
			t.Errorf("iframe sandbox %q combines allow-scripts with allow-same-origin", sandbox.Value)
		}
		p.step("close the lightbox", chromedp.Click(chromedp.ID("close-lightbox")), chromedp.WaitNotVisible(chromedp.ID("lightbox")),
			chromedp.WaitVisible(chromedp.ID("reopen-button")))
		p.state(map[string]string{"waiting": "Waiting for the payment"})
		screenshot(t, p.ctx, "demo-lightbox-closed")
		p.step("open it again", chromedp.Click(chromedp.ID("reopen-button")), chromedp.WaitVisible(chromedp.ID("trustly")))
		src, err := chromedp.Run(p.ctx, chromedp.AttributeValue(chromedp.ID("trustly"), "src"))
		if err != nil || !strings.Contains(src.Value, "/checkout/") {
			t.Fatalf("the lightbox shows %q (%v)", src.Value, err)
		}
		bank := p.frame(src.Value)
		bank.step("the bank list in the lightbox", chromedp.WaitVisible(chromedp.CSS(`label[for="bank-nordvik"]`)))
		bank.insideBox("the bank list")
		screenshot(t, p.ctx, "demo-phone-bank-list")
		bank.chooseBank()
		bank.insideBox("the approve step")
		screenshot(t, p.ctx, "demo-phone-bank")
		bank.step("order option RF", chromedp.SetValue(chromedp.CSS(`select[name="scenario"]`), "RF"))
		bank.submit("approve", "#approve")
		p.state(map[string]string{"waiting": "Waiting for the payment", "pending": "Pending: the bank accepted", "paid": "Paid"})
		p.state(paidLabel)
		if p.visible("#lightbox") {
			t.Error("the lightbox is still open on the paid order")
		}
		p.step("the refund button", chromedp.WaitVisible(chromedp.ID("refund")))
		p.submit("refund", "#refund")
		failed := map[string]string{"refunding": "Paid: refund in progress", "refund-failed": "Refund failed"}
		if p.state(failed) == "refunding" {
			p.state(map[string]string{"refund-failed": "Refund failed"})
		}
		if got := p.text("#refunds li.refund-failed"); got != "Refund of 299.00 SEK: failed: the money stayed with the shop" {
			t.Errorf("failed refund line %q", got)
		}
		if !p.visible("#refund") {
			t.Error("no Refund button after a failed refund")
		}
		screenshot(t, p.ctx, "demo-refund-failed")
		p.step("a wide screen", chromedp.EmulateViewport(1100, 900))
	})

	t.Run("pay link", func(t *testing.T) {
		p := &demoPage{t: t, ctx: p.ctx, base: base}
		p.step("open the shop", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("add-socks")))
		p.submit("add socks", "#add-socks")
		p.submit("create a pay link", "#make-paylink")
		p.state(map[string]string{"waiting": "Waiting for the customer to pay by link"})
		p.wantText("#paylink-status", "Active: waiting for the customer to pay")
		screenshot(t, p.ctx, "demo-paylink")
		link := p.text("#paylink-url")
		if !strings.Contains(link, "/pay/") {
			t.Fatalf("pay link %q", link)
		}
		p.step("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`button[type="submit"]`)))
		p.wantText("h1", "Betala din order") // the shopper's language: sv_SE
		screenshot(t, p.ctx, "demo-paylink-page")
		p.submit("pay", `button[type="submit"]`)
		p.chooseBank()
		p.submit("approve", "#approve")
		p.state(map[string]string{"waiting": "Waiting for the payment", "pending": "Pending: the bank accepted", "paid": "Paid"})
		p.state(paidLabel)
		p.step("the link is paid", chromedp.Poll[chromedp.Void](`document.getElementById("paylink-status").dataset.status === "paid"`,
			chromedp.WithPollingInterval(100*time.Millisecond)))
		p.wantText("#paylink-status", "Paid")
		if p.visible("#revoke") {
			t.Error("a paid link can be withdrawn")
		}
		screenshot(t, p.ctx, "demo-paylink-paid")

		// The whole amount back (one refund: see the report on a second
		// refund's payoutconfirmation arriving before its Refund answer).
		p.step("the refund button", chromedp.WaitVisible(chromedp.ID("refund")),
			chromedp.Poll[chromedp.Void](`document.getElementById("refund-amount").value === "99.00"`))
		p.submit("refund all", "#refund")
		p.state(map[string]string{"refunding": "Paid: refund in progress", "refunded": "Refunded"})
		p.state(map[string]string{"refunded": "Refunded"})
		p.wantText("#detail", "99.00 SEK was paid back to the customer's bank account.")
		if p.visible("#refund") {
			t.Error("a fully refunded order offers a refund")
		}
		screenshot(t, p.ctx, "demo-refunded")
	})
	t.Logf("the browser test took %s", time.Since(start).Round(time.Millisecond))
}

// insideBox checks, in the bank page in the lightbox, that every visible control
// lies inside the page's box and the frame's width (nothing to scroll
// sideways for), and that the frame lies inside the screen.
func (p *demoPage) insideBox(what string) {
	p.t.Helper()
	// Box models (the DOM domain) rather than script: the frame is a target
	// of its own, where Runtime calls get no answer.
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	span := func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) (left, right float64, ok bool) {
		r, err := cdp.Call(ctx, t, dom.GetBoxModel, dom.GetBoxModelParams{NodeID: n.NodeID})
		if err != nil || len(r.Model.Border) < 8 { // not rendered (display: none)
			return 0, 0, false
		}
		q := r.Model.Border
		return min(q[0], q[2], q[4], q[6]), max(q[0], q[2], q[4], q[6]), true
	}
	spanOf := func(sel string) (float64, float64) {
		out, err := chromedp.Run(ctx, chromedp.QueryAfter(chromedp.CSS(sel),
			func(ctx context.Context, t *chromedp.Target, nodes []*chromedp.Node) ([2]float64, error) {
				l, r, ok := span(ctx, t, nodes[0])
				if !ok {
					return [2]float64{}, fmt.Errorf("%s is not rendered", sel)
				}
				return [2]float64{l, r}, nil
			}))
		if err != nil {
			p.fail(what+": layout", err)
		}
		return out[0], out[1]
	}
	boxL, boxR := spanOf(".box")
	pageL, pageR := spanOf("html")
	bad, err := chromedp.Run(ctx, chromedp.QueryAfter(chromedp.CSSAll("button, select, input:not([type=radio]), label, .banks li"),
		func(ctx context.Context, t *chromedp.Target, nodes []*chromedp.Node) ([]string, error) {
			var bad []string
			shown := 0
			for _, n := range nodes {
				l, r, ok := span(ctx, t, n)
				if !ok {
					continue
				}
				shown++
				if l < boxL-0.5 || r > boxR+0.5 || l < pageL-0.5 || r > pageR+0.5 {
					bad = append(bad, fmt.Sprintf("<%s %s> spans %.0f..%.0f (box %.0f..%.0f, frame %.0f..%.0f)",
						strings.ToLower(n.LocalName), n.AttributeValue("id")+n.AttributeValue("name")+n.AttributeValue("for"), l, r, boxL, boxR, pageL, pageR))
				}
			}
			if shown < 4 {
				bad = append(bad, fmt.Sprintf("only %d controls shown", shown))
			}
			return bad, nil
		}, chromedp.AtLeast(1)))
	if err != nil {
		p.fail(what+": layout", err)
	}
	out := "[]"
	if len(bad) > 0 {
		out = strings.Join(bad, "; ")
	}
	if out != "[]" {
		p.t.Errorf("%s at 390×844: %s", what, out)
	}
	outer, err := chromedp.Run(p.tab(), chromedp.Evaluate[string](`(() => {
		const bad = [];
		for (const id of ["trustly", "close-lightbox"]) {
			const r = document.getElementById(id).getBoundingClientRect();
			if (r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight)
				bad.push(id + " at " + [r.left, r.top, r.right, r.bottom].map(Math.round).join(",") + " outside " + innerWidth + "×" + innerHeight);
		}
		return JSON.stringify(bad);
	})()`))
	if err != nil {
		p.fail(what+": lightbox layout", err)
	}
	if outer != "[]" {
		p.t.Errorf("%s: the lightbox leaves the screen: %s", what, outer)
	}
}
