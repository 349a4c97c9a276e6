package commercetools_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/commercetools"
)

func newAdapter(t *testing.T, f *fakeCT) *commercetools.Adapter {
	t.Helper()
	a, err := commercetools.New(config(f))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// txStates renders a payment's transactions as "type:state:interactionId".
func txStates(p map[string]any) string {
	var out []string
	for _, t := range p["transactions"].([]any) {
		m := t.(map[string]any)
		id, _ := m["interactionId"].(string)
		out = append(out, m["type"].(string)+":"+m["state"].(string)+":"+id)
	}
	return strings.Join(out, " ")
}

// The status table, change by change, on a payment with a pending Trustly
// charge and a pending refund (what the extension leaves behind).
func TestStatusTable(t *testing.T) {
	const pay = "6a1f0f4e-3c1b-4c55-9f3e-1d2a3b4c5d6e"
	sek := func(m int64) adapter.Money { return adapter.Money{Minor: m, Currency: "SEK"} }
	for _, tc := range []struct {
		status   adapter.PaymentStatus
		id       string
		amount   adapter.Money
		wantTx   string
		wantCode string // paymentStatus.interfaceCode, "" when untouched
	}{
		{adapter.StatusPending, "ord_1:1", sek(10350), "Charge:Pending:4567123890 Refund:Pending:ref_7", "pending"},
		{adapter.StatusPaid, "ord_1:2", sek(10350), "Charge:Success:4567123890 Refund:Pending:ref_7", "paid"},
		{adapter.StatusCancelled, "ord_1:2", sek(10350), "Charge:Failure:4567123890 Refund:Pending:ref_7", "cancelled"},
		{adapter.StatusReversed, "ord_1:4", sek(10350), "Charge:Pending:4567123890 Refund:Pending:ref_7 Chargeback:Success:4567123890", "reversed"},
		{adapter.StatusRefundPending, "ref_7:1", sek(5000), "Charge:Pending:4567123890 Refund:Pending:ref_7", ""},
		{adapter.StatusRefunded, "ref_7:2", sek(5000), "Charge:Pending:4567123890 Refund:Success:ref_7", ""},
		{adapter.StatusRefundFailed, "ref_7:2", sek(5000), "Charge:Pending:4567123890 Refund:Failure:ref_7", ""},
		{adapter.StatusAttention, "ord_1:9", sek(10000), "Charge:Pending:4567123890 Refund:Pending:ref_7", ""},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			f := newFakeCT(t)
			f.add(t, paidPayment)
			err := newAdapter(t, f).ApplyStatus(t.Context(), adapter.StatusChange{ID: tc.id, Order: adapter.Order{ID: pay},
				Status: tc.status, Amount: tc.amount, ProviderReference: "4567123890", Message: "said in words"})
			if err != nil {
				t.Fatal(err)
			}
			p := f.payment(pay)
			if got := txStates(p); got != tc.wantTx {
				t.Errorf("transactions %s, want %s", got, tc.wantTx)
			}
			st, _ := p["paymentStatus"].(map[string]any)
			if code, _ := st["interfaceCode"].(string); code != tc.wantCode {
				t.Errorf("interfaceCode %q, want %q", code, tc.wantCode)
			}
			ix := p["interfaceInteractions"].([]any)
			if len(ix) != 1 {
				t.Fatalf("interactions %v, want one", ix)
			}
			fields := ix[0].(map[string]any)["fields"].(map[string]any)
			if fields["changeId"] != tc.id || fields["status"] != string(tc.status) || fields["message"] != "said in words" {
				t.Errorf("interaction %v", fields)
			}
		})
	}
	for _, st := range []adapter.PaymentStatus{adapter.StatusMandateActive, adapter.StatusMandateDeclined, adapter.StatusMandateRevoked, "something-new"} {
		t.Run(string(st), func(t *testing.T) {
			f := newFakeCT(t)
			f.add(t, paidPayment)
			err := newAdapter(t, f).ApplyStatus(t.Context(), adapter.StatusChange{ID: "m:1", Order: adapter.Order{ID: pay}, Status: st})
			if !errors.Is(err, adapter.ErrUnsupported) {
				t.Errorf("ApplyStatus(%s) = %v, want ErrUnsupported", st, err)
			}
		})
	}
}

// A payment paid outside the extension's transactions (no Charge to move)
// gets one added; a final transaction is never moved back, the
// interaction still records the news.
func TestStatusAddsOrKeepsTransactions(t *testing.T) {
	f := newFakeCT(t)
	f.add(t, `{"id":"p1","amountPlanned":{"centAmount":100,"currencyCode":"EUR"},"paymentMethodInfo":{"paymentInterface":"trustly"},"transactions":[]}`)
	f.add(t, `{"id":"p2","paymentMethodInfo":{"paymentInterface":"trustly"},"transactions":[{"id":"c","type":"Charge","amount":{"centAmount":100,"currencyCode":"EUR"},"state":"Success","interactionId":"111"}]}`)
	a := newAdapter(t, f)
	if err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "o:2", Order: adapter.Order{ID: "p1"}, Status: adapter.StatusPaid,
		Amount: adapter.Money{Minor: 100, Currency: "EUR"}, ProviderReference: "222"}); err != nil {
		t.Fatal(err)
	}
	if got := txStates(f.payment("p1")); got != "Charge:Success:222" {
		t.Errorf("p1: %s", got)
	}
	if err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "o2:5", Order: adapter.Order{ID: "p2"}, Status: adapter.StatusCancelled,
		ProviderReference: "111"}); err != nil {
		t.Fatal(err)
	}
	p := f.payment("p2")
	if got := txStates(p); got != "Charge:Success:111" {
		t.Errorf("p2: %s", got)
	}
	if n := len(p["interfaceInteractions"].([]any)); n != 1 {
		t.Errorf("p2: %d interactions, want the cancel recorded", n)
	}
}

// A refund's outcome finds its Refund by the sidecar's refund id (the
// change id's prefix) the extension recorded as its interactionId. Only a
// Refund without one (answered before Trustly, or before the extension
// recorded the id) is found by the older guess: the oldest in flight, of
// the same amount if there is such.
func TestRefundMatching(t *testing.T) {
	refund := func(state string, minor int64, id string) string {
		tx := fmt.Sprintf(`{"id":"r%%d","type":"Refund","amount":{"centAmount":%d,"currencyCode":"SEK","fractionDigits":2},"state":%q`, minor, state)
		if id != "" {
			tx += fmt.Sprintf(`,"interactionId":%q`, id)
		}
		return tx + "}"
	}
	for _, tc := range []struct {
		name    string
		refunds []string
		status  adapter.PaymentStatus
		change  string
		want    string
	}{
		{"by id, the second of two alike first", []string{refund("Pending", 5000, "ref_1"), refund("Pending", 5000, "ref_2")},
			adapter.StatusRefunded, "ref_2:2", "Refund:Pending:ref_1 Refund:Success:ref_2"},
		{"by id, not by amount", []string{refund("Pending", 5000, "ref_1"), refund("Pending", 3000, "ref_2")},
			adapter.StatusRefundFailed, "ref_2:2", "Refund:Pending:ref_1 Refund:Failure:ref_2"},
		{"by id, a final one stays", []string{refund("Success", 5000, "ref_1")},
			adapter.StatusRefundFailed, "ref_1:3", "Refund:Success:ref_1"},
		{"untagged: the oldest of the same amount", []string{refund("Pending", 3000, ""), refund("Pending", 5000, ""), refund("Pending", 5000, "")},
			adapter.StatusRefundPending, "ref_9:1", "Refund:Pending: Refund:Pending:ref_9 Refund:Pending:"},
		{"untagged: the oldest when no amount fits", []string{refund("Pending", 3000, ""), refund("Pending", 4000, "")},
			adapter.StatusRefunded, "ref_9:2", "Refund:Success:ref_9 Refund:Pending:"},
		{"untagged beside tagged: never a tagged one", []string{refund("Pending", 5000, "ref_1"), refund("Pending", 5000, "")},
			adapter.StatusRefunded, "ref_9:2", "Refund:Pending:ref_1 Refund:Success:ref_9"},
		{"only tagged ones: a refund made elsewhere is added", []string{refund("Pending", 5000, "ref_1")},
			adapter.StatusRefunded, "ref_9:2", "Refund:Pending:ref_1 Refund:Success:ref_9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txs := make([]string, len(tc.refunds))
			for i, r := range tc.refunds {
				txs[i] = fmt.Sprintf(r, i+1)
			}
			f := newFakeCT(t)
			f.add(t, `{"id":"p","paymentMethodInfo":{"paymentInterface":"trustly"},"transactions":[`+strings.Join(txs, ",")+`]}`)
			err := newAdapter(t, f).ApplyStatus(t.Context(), adapter.StatusChange{ID: tc.change, Order: adapter.Order{ID: "p"},
				Status: tc.status, Amount: adapter.Money{Minor: 5000, Currency: "SEK"}, ProviderReference: "4567123890"})
			if err != nil {
				t.Fatal(err)
			}
			if got := txStates(f.payment("p")); got != tc.want {
				t.Errorf("transactions %s, want %s", got, tc.want)
			}
		})
	}
}

// Two refunds of the same amount in flight, the second one's outcomes
// first: each lands on its own Refund, because the extension's answer
// tagged each with its refund id. (Matched by amount, the second one's
// outcome would move the first Refund.)
func TestRefundOutcomesFindTheirOwnRefund(t *testing.T) {
	const pay = "6a1f0f4e-3c1b-4c55-9f3e-1d2a3b4c5d6e"
	a := newAdapter(t, newFakeCT(t))
	req := extension(t, "update-two-refunds.json")
	cmds, err := a.Translate(t.Context(), req)
	if err != nil || len(cmds) != 2 || cmds[0].Kind != adapter.CommandRefund || cmds[1].Kind != adapter.CommandRefund {
		t.Fatalf("Translate = %+v, %v; want two refunds", cmds, err)
	}
	resp, err := a.Answer(t.Context(), req, []adapter.Result{
		{IdempotencyKey: cmds[0].IdempotencyKey, OrderID: "ref_1", OK: true, ProviderReference: "4567123890"},
		{IdempotencyKey: cmds[1].IdempotencyKey, OrderID: "ref_2", OK: true, ProviderReference: "4567123890"},
	})
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("Answer = %d %s, %v", resp.Status, resp.Body, err)
	}

	// commercetools stores the payment with the answer's actions.
	var in struct {
		Resource struct {
			Obj json.RawMessage `json:"obj"`
		} `json:"resource"`
	}
	var ans struct {
		Actions []map[string]any `json:"actions"`
	}
	if err := json.Unmarshal(req.Body, &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp.Body, &ans); err != nil {
		t.Fatal(err)
	}
	f := newFakeCT(t)
	f.add(t, string(in.Resource.Obj))
	f.mu.Lock()
	err = apply(f.payments[pay], ans.Actions)
	f.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := txStates(f.payment(pay)), "Charge:Success:4567123890 Refund:Pending:ref_1 Refund:Pending:ref_2"; got != want {
		t.Errorf("after the answer: %s, want %s", got, want)
	}

	w := newAdapter(t, f)
	fifty := adapter.Money{Minor: 5000, Currency: "SEK"}
	for _, step := range []struct {
		id     string
		status adapter.PaymentStatus
		want   string
	}{
		{"ref_2:1", adapter.StatusRefundPending, "Charge:Success:4567123890 Refund:Pending:ref_1 Refund:Pending:ref_2"},
		{"ref_2:2", adapter.StatusRefunded, "Charge:Success:4567123890 Refund:Pending:ref_1 Refund:Success:ref_2"},
		{"ref_1:2", adapter.StatusRefundFailed, "Charge:Success:4567123890 Refund:Failure:ref_1 Refund:Success:ref_2"},
	} {
		if err := w.ApplyStatus(t.Context(), adapter.StatusChange{ID: step.id, Order: adapter.Order{ID: pay}, Status: step.status,
			Amount: fifty, ProviderReference: "4567123890"}); err != nil {
			t.Fatalf("%s: %v", step.id, err)
		}
		if got := txStates(f.payment(pay)); got != step.want {
			t.Errorf("after %s %s: %s, want %s", step.id, step.status, got, step.want)
		}
	}
}

// Someone else writes the payment between the adapter's read and its
// update: commercetools answers 409 ConcurrentModification and the
// adapter redoes the change on the fresh version, once applied.
func TestStatusSurvivesConcurrentModification(t *testing.T) {
	const pay = "6a1f0f4e-3c1b-4c55-9f3e-1d2a3b4c5d6e"
	f := newFakeCT(t)
	f.add(t, paidPayment)
	f.conflict = 3
	ch := adapter.StatusChange{ID: "ord_1:2", Order: adapter.Order{ID: pay}, Status: adapter.StatusPaid, ProviderReference: "4567123890"}
	if err := newAdapter(t, f).ApplyStatus(t.Context(), ch); err != nil {
		t.Fatal(err)
	}
	if f.updates != 1 || !strings.HasPrefix(txStates(f.payment(pay)), "Charge:Success") {
		t.Errorf("%d updates, transactions %s", f.updates, txStates(f.payment(pay)))
	}
	// Conflicts without end: retryable, for the host to try later.
	f.conflict = 1000
	ch.ID = "ord_1:3"
	err := newAdapter(t, f).ApplyStatus(t.Context(), ch)
	if adapter.Classify(err) != adapter.ClassRetryable {
		t.Errorf("endless conflicts = %v, want retryable", err)
	}
}

// The token is fetched once and reused; a token the API no longer takes
// is replaced once; wrong client credentials are permanent.
func TestTokenIsCachedAndReplaced(t *testing.T) {
	const pay = "6a1f0f4e-3c1b-4c55-9f3e-1d2a3b4c5d6e"
	f := newFakeCT(t)
	f.add(t, paidPayment)
	a := newAdapter(t, f)
	for i, st := range []adapter.PaymentStatus{adapter.StatusPending, adapter.StatusPaid} {
		if err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "ord_1:" + string(rune('1'+i)), Order: adapter.Order{ID: pay}, Status: st, ProviderReference: "4567123890"}); err != nil {
			t.Fatal(err)
		}
	}
	if f.issued != 1 {
		t.Errorf("%d tokens fetched for four calls, want 1", f.issued)
	}
	f.mu.Lock()
	f.tokens = map[string]bool{} // revoked
	f.mu.Unlock()
	if err := a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "ord_1:7", Order: adapter.Order{ID: pay}, Status: adapter.StatusAttention}); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if f.issued != 2 {
		t.Errorf("%d tokens fetched, want a second after the revocation", f.issued)
	}

	cfg := config(f)
	cfg.ClientSecret = []byte("wrong-secret-0123456789")
	bad, err := commercetools.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = bad.ApplyStatus(t.Context(), adapter.StatusChange{ID: "ord_1:8", Order: adapter.Order{ID: pay}, Status: adapter.StatusPaid})
	if adapter.Classify(err) != adapter.ClassPermanent || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("wrong client secret = %v, want permanent without the secret", err)
	}
	err = a.ApplyStatus(t.Context(), adapter.StatusChange{ID: "x:1", Order: adapter.Order{ID: "no-such-payment"}, Status: adapter.StatusPaid})
	if adapter.Classify(err) != adapter.ClassPermanent {
		t.Errorf("unknown payment = %v, want permanent", err)
	}
}

// answer runs Translate and Answer on an extension fixture with results.
func answer(t *testing.T, file string, results func([]adapter.Command) []adapter.Result) (int, map[string]any) {
	t.Helper()
	a := newAdapter(t, newFakeCT(t))
	req := extension(t, file)
	cmds, err := a.Translate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Answer(t.Context(), req, results(cmds))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	var body map[string]any
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("%s: %v", resp.Body, err)
	}
	return resp.Status, body
}

// The update actions for a started Deposit, golden.
func TestAnswerActions(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		result     adapter.Result
	}{
		{"deposit-started", "create-charge.json", adapter.Result{OK: true, ProviderReference: "4567123890", RedirectURL: "https://trustly.example/checkout/abc"}},
		{"refund-accepted", "update-refund.json", adapter.Result{OK: true, OrderID: "ref_7", ProviderReference: "4567123890"}},
		{"refund-pending", "update-refund.json", adapter.Result{Pending: true}},
		{"charge-cancelled", "update-cancel.json", adapter.Result{OK: true}},
		{"deposit-pending", "create-charge.json", adapter.Result{Pending: true}},
		{"deposit-still-pending", "update-pending.json", adapter.Result{Pending: true}},
		{"deposit-outcome-replayed", "update-pending.json", adapter.Result{OK: true, ProviderReference: "4567123890", RedirectURL: "https://trustly.example/checkout/abc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := answer(t, tc.file, func(c []adapter.Command) []adapter.Result {
				r := tc.result
				r.IdempotencyKey = c[0].IdempotencyKey
				return []adapter.Result{r}
			})
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, body)
			}
			got, _ := json.MarshalIndent(body, "", "  ")
			golden(t, "answer-"+tc.name+".json", got)
		})
	}
}

func TestAnswerRefusals(t *testing.T) {
	status, body := answer(t, "missing-payer.json", func([]adapter.Command) []adapter.Result { return nil })
	msg, _ := json.Marshal(body)
	if status != http.StatusBadRequest || !strings.Contains(string(msg), `"code":"InvalidInput"`) || !strings.Contains(string(msg), "Customer.Email is required") {
		t.Errorf("missing payer: %d %s", status, msg)
	}
	status, body = answer(t, "create-charge.json", func(c []adapter.Command) []adapter.Result {
		return []adapter.Result{{IdempotencyKey: c[0].IdempotencyKey, ErrorCode: "trustly_error", Message: "ERROR_DUPLICATE_MESSAGE_ID"}}
	})
	msg, _ = json.Marshal(body)
	if status != http.StatusBadRequest || !strings.Contains(string(msg), "ERROR_DUPLICATE_MESSAGE_ID") {
		t.Errorf("refused deposit: %d %s", status, msg)
	}
	status, body = answer(t, "other-interface.json", func([]adapter.Command) []adapter.Result { return nil })
	if msg, _ = json.Marshal(body); status != http.StatusOK || string(msg) != `{"actions":[]}` {
		t.Errorf("another PSP's payment: %d %s", status, msg)
	}
	a := newAdapter(t, newFakeCT(t))
	if _, err := a.Answer(context.Background(), extension(t, "create-charge.json"), nil); !errors.Is(err, adapter.ErrInvalid) {
		t.Errorf("Answer without the command's result = %v, want ErrInvalid", err)
	}
}

// Anything but the extension's POST to the route's root is refused, after
// the Authorization: a stranger learns nothing but 401.
func TestTranslateRefusesOtherRequests(t *testing.T) {
	a := newAdapter(t, newFakeCT(t))
	for _, tc := range []struct {
		name   string
		change func(*adapter.Request)
		want   error
	}{
		{"GET", func(r *adapter.Request) { r.Method = http.MethodGet }, adapter.ErrInvalid},
		{"another path", func(r *adapter.Request) { r.Path = "/payments" }, adapter.ErrInvalid},
		{"GET without Authorization", func(r *adapter.Request) { r.Method = http.MethodGet; r.Header.Del("Authorization") }, adapter.ErrUnauthenticated},
		{"malformed JSON", func(r *adapter.Request) { r.Body = []byte(`{"action":`) }, adapter.ErrInvalid},
		{"unknown action", func(r *adapter.Request) { r.Body = []byte(`{"action":"Delete","resource":{"typeId":"payment"}}`) }, adapter.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := extension(t, "create-charge.json")
			tc.change(&req)
			if _, err := a.Translate(t.Context(), req); !errors.Is(err, tc.want) {
				t.Errorf("Translate = %v, want %v", err, tc.want)
			}
		})
	}
}

var update = os.Getenv("UPDATE_GOLDEN") != ""

// golden compares got with testdata/name; -update rewrites it (run with
// UPDATE_GOLDEN=1 or the -update flag below).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update || *updateFlag {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("%s differs (go test -update):\n got %s\nwant %s", name, got, want)
	}
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("client-secret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := map[string]string{
		commercetools.EnvProjectKey: "shop-eu", commercetools.EnvAPIURL: "https://api.europe-west1.gcp.commercetools.com",
		commercetools.EnvAuthURL: "https://auth.europe-west1.gcp.commercetools.com", commercetools.EnvClientID: "id",
		commercetools.EnvClientSecret + "_FILE": secretFile, commercetools.EnvExtensionAuthorization: extensionAuth,
	}
	with := func(k, v string) func(string) string {
		return func(name string) string {
			if name == k {
				return v
			}
			return good[name]
		}
	}
	cfg, err := commercetools.FromEnv(with("", ""))
	if err != nil || string(cfg.ClientSecret) != "client-secret-from-file" {
		t.Fatalf("FromEnv = %+v, %v", cfg.ClientID, err)
	}
	for _, tc := range []struct{ name, value, want string }{
		{commercetools.EnvProjectKey, "", commercetools.EnvProjectKey},
		{commercetools.EnvAPIURL, "http://api.example", "https"},
		{commercetools.EnvExtensionAuthorization, "short", "16 bytes"},
		{commercetools.EnvTimeout, "11s", "at most 10s"},
		{commercetools.EnvTimeout, "soon", commercetools.EnvTimeout},
		{commercetools.EnvClientSecret, "also-set", "use one"},
	} {
		_, err := commercetools.FromEnv(with(tc.name, tc.value))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: %v, want an error saying %q", tc.name, tc.value, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "client-secret-from-file") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}
