package adaptertest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
)

// The kit's own tests. A reference adapter that gets every other check
// right passes the kit; the same adapter returning one command the sidecar
// would refuse fails it, in the translate check, naming the rule. Run takes
// a *testing.T, so a failing run happens in a child process (this test
// binary again) and the parent reads its verdict.

// envSubject tells the child which broken adapter to run the kit on.
const envSubject = "ADAPTERTEST_KIT_SUBJECT"

var payment = adapter.Command{
	Kind: adapter.CommandPay, IdempotencyKey: "refshop:evt_1",
	Order: adapter.Order{ID: "1001"}, Amount: adapter.Money{Minor: 10300, Currency: "SEK"},
	Customer: adapter.Customer{ID: "cust_42", Email: "asa.ek@example.se", FirstName: "Åsa", LastName: "Ek", Country: "SE"},
}

func changed(c adapter.Command, change func(*adapter.Command)) adapter.Command {
	change(&c)
	return c
}

// broken are adapters whose Translate yields commands the host refuses,
// with what the kit's failure must say.
var broken = map[string]struct {
	cmds []adapter.Command
	want string
}{
	"pay-without-email": {
		[]adapter.Command{changed(payment, func(c *adapter.Command) { c.Customer.Email = "" })},
		"pay command: Customer.Email is required",
	},
	"pay-without-names": {
		[]adapter.Command{changed(payment, func(c *adapter.Command) { c.Customer.FirstName, c.Customer.LastName = "", "" })},
		"pay command: Customer.FirstName is required",
	},
	"refund-naming-no-payment": {
		[]adapter.Command{{Kind: adapter.CommandRefund, IdempotencyKey: "refshop:evt_2", Amount: adapter.Money{Currency: "SEK"}}},
		"refund command: Reference or Order.ID is required",
	},
	"charge-in-lower-case-currency": {
		[]adapter.Command{{Kind: adapter.CommandCharge, IdempotencyKey: "refshop:evt_3",
			Amount: adapter.Money{Minor: 100, Currency: "sek"}, Customer: payment.Customer}},
		`charge command: Amount.Currency "sek" is not an ISO 4217 code`,
	},
	"idempotency-key-too-long": {
		[]adapter.Command{changed(payment, func(c *adapter.Command) { c.IdempotencyKey = strings.Repeat("k", 256) })},
		"pay command: IdempotencyKey is 256 bytes, more than 255",
	},
	"two-commands-one-key": {
		[]adapter.Command{payment, payment},
		`command 1: idempotency key "refshop:evt_1" used twice`,
	},
}

func TestKitPassesAWellBehavedAdapter(t *testing.T) {
	runKit(t, []adapter.Command{payment})
}

func TestKitFailsAnAdapterWhoseCommandsTheSidecarWouldRefuse(t *testing.T) {
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			out, passed := runKitChild(t, "TestKitOnABrokenAdapter", envSubject, name)
			if passed {
				t.Fatalf("the kit passed an adapter whose Translate returns %+v:\n%s", b.cmds, out)
			}
			if !strings.Contains(out, b.want) {
				t.Errorf("the kit's failure does not say %q:\n%s", b.want, out)
			}
			// Only the translate check may fail: everything else about the
			// adapter is right, so the failure is the command's.
			onlyFailed(t, out, "TestKitOnABrokenAdapter", "translate/")
		})
	}
}

// runKitChild runs the child test name in a process of its own with
// env=subject, and reports its output and whether it passed: a kit that
// fails an adapter fails the test it runs in, so only a child can show it.
func runKitChild(t *testing.T, name, env, subject string) (out string, passed bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), env+"="+subject)
	b, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s: %v", name, err)
	}
	return string(b), err == nil
}

// onlyFailed checks that some check of the child test failed, and only
// checks whose name starts with prefix.
func onlyFailed(t *testing.T, out, child, prefix string) {
	t.Helper()
	fails := regexp.MustCompile(`--- FAIL: `+child+`/(\S+)`).FindAllStringSubmatch(out, -1)
	if len(fails) == 0 {
		t.Errorf("no failing check in the kit's output:\n%s", out)
	}
	for _, f := range fails {
		if !strings.HasPrefix(f[1], prefix) {
			t.Errorf("check %s failed; want only %s to fail:\n%s", f[1], prefix, out)
		}
	}
}

// TestKitOnABrokenAdapter is the child process's test; it only runs when
// TestKitFailsAnAdapterWhoseCommandsTheSidecarWouldRefuse starts it.
func TestKitOnABrokenAdapter(t *testing.T) {
	name := os.Getenv(envSubject)
	if name == "" {
		t.Skip("run in a child process by TestKitFailsAnAdapterWhoseCommandsTheSidecarWouldRefuse")
	}
	b, ok := broken[name]
	if !ok {
		t.Fatalf("no broken adapter %q", name)
	}
	runKit(t, b.cmds)
}

// runKit runs the kit on the reference adapter translating every request
// into cmds; the fixture expects exactly cmds, so only the command rules
// can tell them apart from a correct translation.
func runKit(t *testing.T, cmds []adapter.Command) {
	body := []byte(`{"event_id":"evt_1","type":"payment.requested"}`)
	adaptertest.Run(t, func(t *testing.T) adaptertest.Subject {
		p := &refPlatform{applied: map[string][]string{}, seen: map[string]bool{}}
		return adaptertest.Subject{Adapter: &refShop{cmds: cmds, platform: p}, Platform: p}
	}, adaptertest.Fixtures{
		SignatureHeaders: []string{refSignatureHeader},
		Requests: []adaptertest.Request{{
			Name:    "payment",
			Request: adapter.Request{Method: http.MethodPost, Header: http.Header{refSignatureHeader: {refSign(body)}}, Body: body},
			Want:    cmds,
		}},
		Changes: []adapter.StatusChange{{ID: "ord_1:1", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPaid}},
	})
}

const (
	refSignatureHeader = "X-Refshop-Signature" // hex(HMAC-SHA256(refSecret, body))
	refSecret          = "refshop-secret-0123456789"
)

func refMAC(body []byte) []byte {
	m := hmac.New(sha256.New, []byte(refSecret))
	m.Write(body)
	return m.Sum(nil)
}

func refSign(body []byte) string { return hex.EncodeToString(refMAC(body)) }

// refShop is an asynchronous adapter that gets the contract right and
// translates every authentic request into the same commands.
type refShop struct {
	cmds     []adapter.Command
	platform *refPlatform // stands in for the platform's API
}

var _ adapter.Adapter = (*refShop)(nil)

func (a *refShop) Describe(context.Context) (adapter.Description, error) {
	return adapter.Description{Name: "refshop", Version: "1.0.0", Flows: []adapter.Flow{adapter.FlowPayment}, Async: true}, nil
}

func (a *refShop) Translate(_ context.Context, req adapter.Request) ([]adapter.Command, error) {
	got, err := hex.DecodeString(req.Header.Get(refSignatureHeader))
	if err != nil || !hmac.Equal(got, refMAC(req.Body)) {
		return nil, fmt.Errorf("%w: bad %s", adapter.ErrUnauthenticated, refSignatureHeader)
	}
	return a.cmds, nil
}

func (a *refShop) Answer(context.Context, adapter.Request, []adapter.Result) (adapter.Response, error) {
	return adapter.Response{}, adapter.ErrUnsupported
}

func (a *refShop) ApplyStatus(ctx context.Context, ch adapter.StatusChange) error {
	return a.platform.apply(ctx, ch)
}

// refPlatform is the fake platform: it dedupes on the change id as a real
// one would, and misbehaves as the kit asks.
type refPlatform struct {
	mu      sync.Mutex
	mode    adaptertest.Mode
	applied map[string][]string
	seen    map[string]bool
}

func (p *refPlatform) SetMode(m adaptertest.Mode) { p.mu.Lock(); p.mode = m; p.mu.Unlock() }

func (p *refPlatform) Snapshot(order string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.applied[order], ",")
}

func (p *refPlatform) apply(ctx context.Context, ch adapter.StatusChange) error {
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	switch mode {
	case adaptertest.Unavailable:
		return fmt.Errorf("%w: platform answered 503", adapter.ErrRetryable)
	case adaptertest.Rejecting:
		return fmt.Errorf("%w: platform answered 422", adapter.ErrPermanent)
	case adaptertest.Hanging:
		<-ctx.Done()
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.seen[ch.ID] {
		p.seen[ch.ID] = true
		p.applied[ch.Order.ID] = append(p.applied[ch.Order.ID], string(ch.Status))
	}
	return nil
}
