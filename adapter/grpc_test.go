package adapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
)

// echo is an adapter that returns what it is told to, so the tests see
// exactly what crossed the boundary.
type echo struct {
	err     error
	gotReq  Request
	gotRes  []Result
	gotChg  StatusChange
	cmds    []Command
	answer  Response
	describ Description
}

func (e *echo) Describe(context.Context) (Description, error) { return e.describ, e.err }
func (e *echo) Translate(_ context.Context, r Request) ([]Command, error) {
	e.gotReq = r
	return e.cmds, e.err
}
func (e *echo) Answer(_ context.Context, r Request, res []Result) (Response, error) {
	e.gotReq, e.gotRes = r, res
	return e.answer, e.err
}
func (e *echo) ApplyStatus(_ context.Context, c StatusChange) error {
	e.gotChg = c
	return e.err
}

// dial connects to impl through go-plugin's in-memory gRPC pair: the same
// shims and wire format as a real plugin process.
func dial(t *testing.T, impl Adapter) Adapter {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, PluginSets(impl)[ProtocolVersion])
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	return raw.(Adapter)
}

func TestRoundTripKeepsEveryField(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	impl := &echo{
		describ: Description{Name: "x", Version: "1.2.3", Flows: []Flow{FlowPayment, FlowRefund, FlowRecurring, FlowInvoice, FlowPayByLink}, Async: true, Sync: true,
			AnswerWithin: 1800 * time.Millisecond, Public: true, Redelivery: RedeliveryNever},
		cmds: []Command{{
			Kind: CommandRefund, IdempotencyKey: "x:evt-1:0", Order: Order{ID: "42", Number: "A-42"},
			Amount:    Money{Minor: 10350, Currency: "SEK"},
			Customer:  Customer{ID: "c1", Email: "a@example.com", FirstName: "Åsa", LastName: "Ek", Country: "SE", Phone: "+46"},
			Reference: "trustly-1", Metadata: map[string]string{"k": "v"},
		}, {
			Kind: CommandPay, IdempotencyKey: "x:evt-2:0", Order: Order{ID: "43"}, Amount: Money{Minor: 100, Currency: "SEK"},
			Customer:        Customer{ID: "c2", Email: "b@example.com", NationalID: "198001011234", NationalIDLocked: true},
			ShippingAddress: Address{Country: "SE", PostalCode: "11253", City: "Stockholm", Line1: "Storgatan 10", Line2: "lgh 1101"},
			RequestMandate:  true,
			KYC:             KYC{Request: true, MinimumAge: 20},
			Recipient: &Recipient{Organisation: true, FirstName: "Ölhandeln AB", LastName: "-", Country: "SE",
				CustomerID: "m-77", Address: "Gatan 1, 111 22 Stockholm", DateOfBirth: "556677-8899"},
		}},
		answer: Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{}`)},
	}
	// A field this fixture leaves zero would pass the round trip unseen.
	everyFieldSet(t, impl.describ)
	everyFieldSet(t, impl.cmds[1].ShippingAddress)
	everyFieldSet(t, impl.cmds[1].KYC)
	everyFieldSet(t, *impl.cmds[1].Recipient)
	a := dial(t, impl)
	ctx := context.Background()

	d, err := a.Describe(ctx)
	if err != nil || !reflect.DeepEqual(d, impl.describ) {
		t.Fatalf("Describe = %+v, %v; want %+v", d, err, impl.describ)
	}

	req := Request{Method: "POST", Path: "/hook", RawQuery: "a=1&b=%C3%A5", Header: http.Header{"X-Signature": {"sha256=ab"}}, Body: []byte("raw\x00body"), ReceivedAt: at,
		Public: true, BaseURL: "https://pay.example.com/platform/x"}
	everyFieldSet(t, req)
	cmds, err := a.Translate(ctx, req)
	if err != nil || !reflect.DeepEqual(cmds, impl.cmds) {
		t.Fatalf("Translate = %+v, %v; want %+v", cmds, err, impl.cmds)
	}
	if !reflect.DeepEqual(impl.gotReq, req) {
		t.Errorf("adapter got %+v, host sent %+v", impl.gotReq, req)
	}

	results := []Result{{IdempotencyKey: "k", OrderID: "ord_1", OK: true, ProviderReference: "p", RedirectURL: "https://t/x"}, {ErrorCode: "E", Message: "m"}, {IdempotencyKey: "k2", Pending: true}}
	resp, err := a.Answer(ctx, req, results)
	if err != nil || !reflect.DeepEqual(resp, impl.answer) || !reflect.DeepEqual(impl.gotRes, results) {
		t.Fatalf("Answer = %+v, %v (adapter got %+v)", resp, err, impl.gotRes)
	}

	chg := StatusChange{ID: "chg-1", Order: Order{ID: "42"}, Status: StatusRefundFailed, Amount: Money{Minor: 1, Currency: "EUR"}, ProviderReference: "p", Message: "m", OccurredAt: at}
	everyFieldSet(t, chg)
	if err := a.ApplyStatus(ctx, chg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(impl.gotChg, chg) {
		t.Errorf("adapter got %+v, host sent %+v", impl.gotChg, chg)
	}
}

// everyFieldSet fails for a struct field left at its zero value.
func everyFieldSet(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("the fixture's %T leaves %s zero: set it, so the round trip checks it", v, rv.Type().Field(i).Name)
		}
	}
}

// Every status the host sends arrives as itself: a status missing from the
// wire table would reach the adapter as "".
func TestEveryStatusCrossesTheBoundary(t *testing.T) {
	impl := &echo{}
	a := dial(t, impl)
	for _, st := range []PaymentStatus{StatusPending, StatusPaid, StatusCancelled, StatusReversed, StatusRefundPending,
		StatusRefunded, StatusRefundFailed, StatusMandateActive, StatusMandateDeclined, StatusMandateRevoked, StatusAttention} {
		if err := a.ApplyStatus(context.Background(), StatusChange{ID: "c", Status: st}); err != nil {
			t.Fatal(err)
		}
		if impl.gotChg.Status != st {
			t.Errorf("sent %q, adapter got %q", st, impl.gotChg.Status)
		}
	}
	if len(statusPB) != 11 {
		t.Errorf("%d statuses on the wire; add the new one to this test", len(statusPB))
	}
}

func TestHeaderNamesAreCanonicalAcrossTheBoundary(t *testing.T) {
	impl := &echo{}
	a := dial(t, impl)
	// A host that built the header by hand, not through net/http.
	if _, err := a.Translate(context.Background(), Request{Header: http.Header{"x-wc-webhook-signature": {"s"}}}); err != nil {
		t.Fatal(err)
	}
	if got := impl.gotReq.Header.Get("X-WC-Webhook-Signature"); got != "s" {
		t.Errorf("Header.Get = %q, want %q", got, "s")
	}
}

func TestErrorsKeepTheirClassAcrossTheBoundary(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
		is   []error
	}{
		{"bad signature", fmt.Errorf("%w: signature mismatch", ErrUnauthenticated), ClassUnauthenticated, []error{ErrUnauthenticated}},
		{"malformed body", fmt.Errorf("%w: no order id", ErrInvalid), ClassInvalid, []error{ErrInvalid}},
		{"platform down", fmt.Errorf("%w: 503", ErrRetryable), ClassRetryable, []error{ErrRetryable}},
		{"platform refused", fmt.Errorf("%w: 404 order gone", ErrPermanent), ClassPermanent, []error{ErrPermanent}},
		{"unsupported", ErrUnsupported, ClassUnsupported, []error{ErrUnsupported}},
		{"adapter ran out of time", fmt.Errorf("call platform: %w", context.DeadlineExceeded), ClassRetryable, []error{context.DeadlineExceeded, ErrRetryable}},
		{"unclassified", errors.New("nil pointer somewhere"), ClassUnknown, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := dial(t, &echo{err: tt.err})
			err := a.ApplyStatus(context.Background(), StatusChange{ID: "x"})
			if got := Classify(err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.want)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			if !strings.Contains(err.Error(), tt.err.Error()) {
				t.Errorf("error %q lost the adapter's text %q", err, tt.err)
			}
		})
	}
}

func TestHostDeadlineBoundsAHungAdapter(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	a := dial(t, hung{release})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := a.ApplyStatus(ctx, StatusChange{ID: "x"})
	if !errors.Is(err, context.DeadlineExceeded) || Classify(err) != ClassRetryable {
		t.Fatalf("ApplyStatus on a hung adapter = %v; want a retryable deadline error", err)
	}
}

// hung ignores its context: the host must not depend on the adapter's
// manners to get its goroutine back.
type hung struct{ release chan struct{} }

func (h hung) Describe(context.Context) (Description, error)         { <-h.release; return Description{}, nil }
func (h hung) Translate(context.Context, Request) ([]Command, error) { <-h.release; return nil, nil }
func (h hung) Answer(context.Context, Request, []Result) (Response, error) {
	<-h.release
	return Response{}, nil
}
func (h hung) ApplyStatus(context.Context, StatusChange) error { <-h.release; return nil }

func TestDebugModePrintsAReattachLineTheHostCanUse(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{lines: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- serve(&echo{describ: Description{Name: "demo"}}, WithDebug(),
			WithLogger(hclog.NewNullLogger()),
			func(c *serveConfig) { c.out, c.debugCtx = out, ctx })
	}()
	text := <-out.lines
	_, value, ok := strings.Cut(text, EnvReattach+"='")
	if !ok {
		t.Fatalf("debug output has no %s line:\n%s", EnvReattach, text)
	}
	value, _, _ = strings.Cut(value, "'")
	rcs, err := ParseReattach(value)
	if err != nil {
		t.Fatal(err)
	}
	rc := rcs["demo"]
	if rc == nil || !rc.Test {
		t.Fatalf("reattach configs %+v: want a test-mode entry for demo", rcs)
	}

	client := plugin.NewClient(&plugin.ClientConfig{
		// On reattach go-plugin skips negotiation, so the host picks the
		// plugin set for the version the debug server announced.
		HandshakeConfig: Handshake, Plugins: PluginSets(nil)[rc.ProtocolVersion], Reattach: rc,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC}, Logger: hclog.NewNullLogger(),
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	d, err := raw.(Adapter).Describe(context.Background())
	if err != nil || d.Name != "demo" {
		t.Fatalf("Describe through reattach = %+v, %v", d, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve in debug mode: %v", err)
	}
}

// syncBuffer hands the debug banner to the test in one piece.
type syncBuffer struct {
	buf   bytes.Buffer
	lines chan string
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.buf.Write(p)
	if bytes.Contains(p, []byte("Ctrl-C")) {
		s.lines <- s.buf.String()
	}
	return len(p), nil
}
