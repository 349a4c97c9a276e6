//go:build browser

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The demo as a person uses it, in headless Chromium driven by chromedp:
// add to cart → Pay with Trustly → Approve on the simulator's bank page →
// the order turns paid → refund. Run by `make browser-test` (part of
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
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
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

func TestBrowserDemo(t *testing.T) {
	for _, mode := range []string{"redirect", "iframe"} {
		t.Run(mode, func(t *testing.T) {
			base := startDemo(t, "--presentation", mode)
			ctx := browser(t)
			step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, actions...); err != nil {
					t.Errorf("%s: %v", what, err)
					screenshot(t, ctx, "demo-"+mode+"-failed")
					t.FailNow()
				}
			}
			step("open the shop", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("add-mug")))
			step("add to cart", chromedp.Click(chromedp.ID("add-mug")), chromedp.WaitVisible(chromedp.ID("cart")))
			step("pay", chromedp.Click(chromedp.ID("pay")))

			approve := chromedp.CSS(`button[value="approve"]`)
			if mode == "redirect" {
				step("the bank page", chromedp.WaitVisible(approve))
				screenshot(t, ctx, "demo-"+mode+"-bank")
				step("approve", chromedp.Click(approve))
			} else {
				step("the lightbox", chromedp.WaitVisible(chromedp.ID("trustly")))
				frames, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.ID("trustly")))
				if err != nil || len(frames) != 1 {
					t.Fatalf("the lightbox's iframe: %v", err)
				}
				sandbox, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("trustly"), "sandbox"))
				if err != nil || !strings.Contains(sandbox.Value, "allow-popups-to-escape-sandbox") {
					t.Errorf("iframe sandbox %q, %v", sandbox.Value, err)
				}
				step("the bank page in the lightbox", chromedp.WaitVisible(approve, chromedp.FromNode(frames[0])))
				screenshot(t, ctx, "demo-"+mode+"-bank")
				step("approve", chromedp.Click(approve, chromedp.FromNode(frames[0])))
			}
			// Back at the shop, the order page follows the sidecar's state:
			// paid once the credit notification is applied.
			step("paid", chromedp.WaitVisible(chromedp.CSS(`#state.paid`)))
			url, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil || !strings.HasPrefix(url, base+"/orders/") {
				t.Errorf("the paid order is shown at %s", url)
			}
			screenshot(t, ctx, "demo-"+mode+"-paid")
			step("refund", chromedp.WaitVisible(chromedp.ID("refund")), chromedp.Click(chromedp.ID("refund")),
				chromedp.WaitVisible(chromedp.CSS(`#refunded[data-refund="refunded"]`)))
			screenshot(t, ctx, "demo-"+mode+"-refunded")
		})
	}
}
