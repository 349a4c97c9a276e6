package trustly

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Keys are generated once per test binary: RSA-2048 generation is slow.
var clientTestKeys struct {
	once                       sync.Once
	trustly, merchant, strange *rsa.PrivateKey
}

func keysForClientTests(t testing.TB) (trustly, merchant, stranger *rsa.PrivateKey) {
	t.Helper()
	k := &clientTestKeys
	k.once.Do(func() {
		gen := func() *rsa.PrivateKey {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			return key
		}
		k.trustly, k.merchant, k.strange = gen(), gen(), gen()
	})
	return k.trustly, k.merchant, k.strange
}

// testRequest is the smallest Request: Data is credentials plus whatever the
// test puts in, Validate returns invalid.
type testRequest struct {
	method, msgID string
	data          map[string]any
	invalid       error
}

func (r testRequest) Method() string                 { return r.method }
func (r testRequest) messageID() string              { return r.msgID }
func (r testRequest) Validate(env Environment) error { return r.invalid }
func (r testRequest) Data(c Credentials) (map[string]any, error) {
	d := map[string]any{"Username": c.Username, "Password": c.Password, "Attributes": nil}
	maps.Copy(d, r.data)
	if r.msgID != "" {
		d["MessageID"] = r.msgID
	}
	return d, nil
}

func depositRequest(messageID string) testRequest {
	return testRequest{method: "Deposit", msgID: messageID, data: map[string]any{
		"NotificationURL": "https://shop.example/n/s3cr3t",
		"EndUserID":       "shopper-17",
		"Attributes": map[string]any{
			"Amount": "103.00", "Currency": "SEK", "Country": "SE", "Locale": "sv_SE",
			"Firstname": "Åsa", "Lastname": "Öberg", "Email": "asa@example.se",
		},
	}}
}

func refundRequest() testRequest {
	return testRequest{method: "Refund", data: map[string]any{"OrderID": "1371798227", "Amount": "10.00", "Currency": "SEK"}}
}

const (
	testUsername = "merchant-user"
	testPassword = "hunter2-very-secret"
)

// seenRequest is what the fake Trustly received in one request.
type seenRequest struct {
	ContentType string
	Envelope    map[string]any
	Kind        Kind
	Method      string
	UUID        string
	MessageID   string
	Signature   string
	Data        map[string]any
	// SigErr is the result of verifying the request with the merchant's public key.
	SigErr error
}

type answer func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request)

// fakeTrustly is an HTTP server holding a freshly generated "Trustly" key.
// The n-th request (1-based) gets answers[n-1], or the last one.
type fakeTrustly struct {
	key      *rsa.PrivateKey
	merchant *rsa.PublicKey
	srv      *httptest.Server
	answers  []answer
	done     chan struct{}

	mu   sync.Mutex
	seen []seenRequest
}

func newFakeTrustly(t *testing.T, answers ...answer) *fakeTrustly {
	t.Helper()
	trustlyKey, merchantKey, _ := keysForClientTests(t)
	f := &fakeTrustly{key: trustlyKey, merchant: &merchantKey.PublicKey, answers: answers, done: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.done) }) // runs first: releases hung handlers
	return f
}

func (f *fakeTrustly) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := seenRequest{ContentType: r.Header.Get("Content-Type")}
	json.Unmarshal(raw, &req.Envelope)
	if m, err := ParseMessage(raw); err != nil {
		req.SigErr = err
	} else {
		req.Kind, req.Method, req.UUID, req.Signature = m.Kind, m.Method(), m.UUID(), m.Signature()
		req.Data, _ = m.Data().(map[string]any)
		req.MessageID, _ = req.Data["MessageID"].(string)
		req.SigErr = Verify(f.merchant, m.Method(), m.UUID(), m.Data(), m.Signature())
	}
	f.mu.Lock()
	f.seen = append(f.seen, req)
	n := len(f.seen)
	f.mu.Unlock()
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	a := f.answers[min(n, len(f.answers))-1]
	a(f, req, w, r)
}

func (f *fakeTrustly) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// signedResult answers with a result signed by key over method, uuid, data.
func signedResult(key *rsa.PrivateKey, method, uuid string, data any) map[string]any {
	sig, err := Sign(key, method, uuid, data)
	if err != nil {
		panic(err)
	}
	return map[string]any{"version": "1.1", "result": map[string]any{
		"signature": sig, "uuid": uuid, "method": method, "data": data,
	}}
}

func signedError(key *rsa.PrivateKey, method, uuid any, code int, message string) map[string]any {
	data := map[string]any{"code": code, "message": message}
	m, _ := method.(string)
	u, _ := uuid.(string)
	sig, err := Sign(key, m, u, data)
	if err != nil {
		panic(err)
	}
	return map[string]any{"version": "1.1", "error": map[string]any{
		"name": "JSONRPCError", "code": code, "message": message,
		"error": map[string]any{"signature": sig, "uuid": uuid, "method": method, "data": data},
	}}
}

// orderCreated is Trustly's Deposit answer; it echoes the shopper's name so
// that UTF-8 is checked both ways.
func orderCreated(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"orderid": "1371798227", "url": "https://test.trustly.com/_/orderclient.php?a=1&b=2"}
	if attrs, ok := req.Data["Attributes"].(map[string]any); ok {
		data["shopper"] = attrs["Firstname"].(string) + " " + attrs["Lastname"].(string)
	}
	writeJSON(w, http.StatusOK, signedResult(f.key, req.Method, req.UUID, data))
}

func answerError(code int, message string) answer {
	return func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, signedError(f.key, req.Method, req.UUID, code, message))
	}
}

func httpStatus(status int, body string) answer {
	return func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// resetConnection drops the TCP connection with a RST, as a crashed proxy would.
func resetConnection(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// truncatedBody promises more bytes than it sends, then hangs up.
func truncatedBody(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"version\":\"1.1\",\"res")
	buf.Flush()
	conn.Close()
}

// hang never answers; it returns when the client gives up.
func hang(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.done:
	}
}

func newTestClient(t *testing.T, f *fakeTrustly, opts ...func(*ClientConfig)) *Client {
	t.Helper()
	trustlyKey, merchantKey, _ := keysForClientTests(t)
	cfg := ClientConfig{
		Environment:      Sim,
		URL:              f.srv.URL,
		Credentials:      Credentials{Username: testUsername, Password: testPassword},
		PrivateKey:       merchantKey,
		TrustlyPublicKey: &trustlyKey.PublicKey,
		Timeout:          10 * time.Second,
		Backoff:          func(int) time.Duration { return time.Millisecond },
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCallSendsASignedRequestAndReturnsTheVerifiedAnswer(t *testing.T) {
	f := newFakeTrustly(t, orderCreated)
	c := newTestClient(t, f)

	resp, err := c.Call(context.Background(), depositRequest("order-1-attempt-1"))
	if err != nil {
		t.Fatal(err)
	}
	seen := f.requests()
	if len(seen) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(seen))
	}
	req := seen[0]
	if req.SigErr != nil {
		t.Errorf("request signature does not verify with the merchant's public key: %v", req.SigErr)
	}
	if req.ContentType != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", req.ContentType)
	}
	if req.Kind != KindRequest || req.Method != "Deposit" || req.Envelope["method"] != "Deposit" {
		t.Errorf("request kind %v method %q, want a Deposit request", req.Kind, req.Method)
	}
	if v := req.Envelope["version"]; v != "1.1" {
		t.Errorf("version = %#v, want the string \"1.1\"", v)
	}
	if !uuidV4Pattern.MatchString(req.UUID) {
		t.Errorf("request UUID %q is not a v4 UUID", req.UUID)
	}
	if req.Data["Username"] != testUsername || req.Data["Password"] != testPassword {
		t.Errorf("credentials are not inside the signed Data: %v / %v", req.Data["Username"], req.Data["Password"] != nil)
	}
	if req.MessageID != "order-1-attempt-1" {
		t.Errorf("MessageID = %q", req.MessageID)
	}

	if resp.UUID != req.UUID || resp.Method != "Deposit" {
		t.Errorf("response uuid/method = %q/%q, want %q/Deposit", resp.UUID, resp.Method, req.UUID)
	}
	data := resp.Data.(map[string]any)
	if data["orderid"] != "1371798227" || data["url"] != "https://test.trustly.com/_/orderclient.php?a=1&b=2" {
		t.Errorf("response data = %v", data)
	}
	if data["shopper"] != "Åsa Öberg" {
		t.Errorf("UTF-8 name came back as %q, want \"Åsa Öberg\"", data["shopper"])
	}
	if resp.Message == nil || resp.Message.Kind != KindResponse {
		t.Errorf("Message = %+v, want the parsed response", resp.Message)
	}
}

func TestCallReturnsTrustlyErrorsWithoutResending(t *testing.T) {
	tests := []struct {
		name    string
		req     testRequest
		code    int
		message string
		status  int
	}{
		{"invalid credentials on a deposit", depositRequest("m-616"), 616, "ERROR_INVALID_CREDENTIALS", http.StatusOK},
		{"unknown error is left to the caller", depositRequest("m-620"), 620, "ERROR_UNKNOWN", http.StatusOK},
		{"invalid amount on a refund", refundRequest(), 615, "ERROR_INVALID_AMOUNT", http.StatusOK},
		{"signed error under HTTP 500", depositRequest("m-500"), 623, "ERROR_INVALID_PARAMETERS", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTrustly(t, func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tt.status, signedError(f.key, req.Method, req.UUID, tt.code, tt.message))
			})
			c := newTestClient(t, f)
			_, err := c.Call(context.Background(), tt.req)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want *Error", err)
			}
			seen := f.requests()
			if len(seen) != 1 {
				t.Fatalf("server saw %d requests, want 1 (Trustly errors are not resent)", len(seen))
			}
			want := Error{Code: Code(tt.code), Name: "JSONRPCError", Message: tt.message,
				Method: tt.req.method, UUID: seen[0].UUID, MessageID: tt.req.msgID}
			if *te != want {
				t.Errorf("error = %+v\nwant    %+v", *te, want)
			}
			for _, s := range []error{ErrOutcomeUnknown, ErrAcceptedURLLost, ErrTransport, ErrBadSignature} {
				if errors.Is(err, s) {
					t.Errorf("a signed Trustly error should not be %v", s)
				}
			}
		})
	}
}

func TestCallRefusesAnswersItCannotTrust(t *testing.T) {
	_, _, stranger := keysForClientTests(t)
	tests := []struct {
		name   string
		answer answer
		want   error
	}{
		{"signed with another key", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, signedResult(stranger, req.Method, req.UUID, map[string]any{"orderid": "1"}))
		}, ErrBadSignature},
		{"data changed after signing", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			env := signedResult(f.key, req.Method, req.UUID, map[string]any{"orderid": "1"})
			env["result"].(map[string]any)["data"] = map[string]any{"orderid": "2"}
			writeJSON(w, 200, env)
		}, ErrBadSignature},
		{"no signature", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			env := signedResult(f.key, req.Method, req.UUID, map[string]any{"orderid": "1"})
			delete(env["result"].(map[string]any), "signature")
			writeJSON(w, 200, env)
		}, ErrNoSignature},
		{"error signed with another key", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, signedError(stranger, req.Method, req.UUID, 616, "ERROR_INVALID_CREDENTIALS"))
		}, ErrBadSignature},
		{"answer for another uuid", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, signedResult(f.key, req.Method, NewUUID(), map[string]any{"orderid": "1"}))
		}, ErrResponseMismatch},
		{"answer for another method", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, signedResult(f.key, "SelectAccount", req.UUID, map[string]any{"orderid": "1"}))
		}, ErrResponseMismatch},
		{"error for another uuid", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, signedError(f.key, req.Method, NewUUID(), 616, "ERROR_INVALID_CREDENTIALS"))
		}, ErrResponseMismatch},
		{"a notification instead of a response", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			data := map[string]any{"orderid": "1"}
			sig, _ := Sign(f.key, "credit", req.UUID, data)
			writeJSON(w, 200, map[string]any{"method": "credit", "version": "1.1",
				"params": map[string]any{"signature": sig, "uuid": req.UUID, "data": data}})
		}, ErrResponseMismatch},
	}
	for _, tt := range tests {
		for _, method := range []struct {
			req            testRequest
			outcomeUnknown bool
		}{
			{depositRequest("m-1"), true},
			{refundRequest(), true},
			{testRequest{method: "Balance"}, false},
		} {
			t.Run(tt.name+"/"+method.req.method, func(t *testing.T) {
				f := newFakeTrustly(t, tt.answer)
				c := newTestClient(t, f)
				resp, err := c.Call(context.Background(), method.req)
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if resp != nil {
					t.Errorf("got a response along with the error: %+v", resp)
				}
				if n := len(f.requests()); n != 1 {
					t.Errorf("server saw %d requests, want 1 (untrusted answers are not resent)", n)
				}
				if got := errors.Is(err, ErrOutcomeUnknown); got != method.outcomeUnknown {
					t.Errorf("errors.Is(err, ErrOutcomeUnknown) = %v, want %v (err: %v)", got, method.outcomeUnknown, err)
				}
				if errors.Is(err, ErrTransport) {
					t.Errorf("an untrusted answer is not a transport failure: %v", err)
				}
			})
		}
	}
}

func TestCallResendsAfterTransportFailures(t *testing.T) {
	big := `{"version":"1.1","result":{"data":"` + strings.Repeat("x", 2048) + `"}}`
	tests := []struct {
		name   string
		answer answer
		want   error
	}{
		{"HTTP 500 with an HTML page", httpStatus(500, "<html>Internal Server Error</html>"), ErrTransport},
		{"HTTP 502 with an unsigned error envelope", httpStatus(502, `{"version":"1.1","error":{"name":"JSONRPCError","code":620,"message":"ERROR_UNKNOWN"}}`), ErrTransport},
		{"malformed JSON", httpStatus(200, `{"version":"1.1","result":`), ErrMalformedJSON},
		{"JSON that is no envelope", httpStatus(200, `{"hello":"world"}`), ErrNotEnvelope},
		{"body larger than the limit", httpStatus(200, big), ErrResponseTooLarge},
		{"truncated body", truncatedBody, ErrTransport},
		{"connection reset", resetConnection, ErrTransport},
	}
	for _, tt := range tests {
		for _, method := range []struct {
			req            testRequest
			outcomeUnknown bool
		}{
			{depositRequest("order-9-attempt-1"), true},
			{testRequest{method: "GetWithdrawals", data: map[string]any{"OrderID": "123"}}, false},
		} {
			t.Run(tt.name+"/"+method.req.method, func(t *testing.T) {
				f := newFakeTrustly(t, tt.answer)
				c := newTestClient(t, f, func(cfg *ClientConfig) {
					cfg.MaxAttempts = 3
					cfg.MaxResponseBytes = 1024
				})
				_, err := c.Call(context.Background(), method.req)
				if !errors.Is(err, tt.want) || !errors.Is(err, ErrTransport) {
					t.Fatalf("err = %v, want %v and ErrTransport", err, tt.want)
				}
				if got := errors.Is(err, ErrOutcomeUnknown); got != method.outcomeUnknown {
					t.Errorf("errors.Is(err, ErrOutcomeUnknown) = %v, want %v", got, method.outcomeUnknown)
				}
				seen := f.requests()
				if len(seen) != 3 {
					t.Fatalf("server saw %d requests, want 3 (MaxAttempts)", len(seen))
				}
				uuids := map[string]bool{}
				for i, s := range seen {
					if s.SigErr != nil {
						t.Errorf("attempt %d: request signature: %v", i+1, s.SigErr)
					}
					if s.MessageID != method.req.msgID {
						t.Errorf("attempt %d: MessageID = %q, want %q", i+1, s.MessageID, method.req.msgID)
					}
					uuids[s.UUID] = true
				}
				if len(uuids) != 3 {
					t.Errorf("attempts used %d distinct UUIDs, want 3 (a reused UUID gets 688)", len(uuids))
				}
			})
		}
	}
}

func TestCallRecoversOnASecondAttempt(t *testing.T) {
	tests := []struct {
		name    string
		first   answer
		timeout time.Duration
	}{
		{"connection reset", resetConnection, 10 * time.Second},
		// The timeout only decides how long the test waits for the hang;
		// the answer to the second attempt comes long before it.
		{"server hangs past the per-attempt timeout", hang, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTrustly(t, tt.first, orderCreated)
			c := newTestClient(t, f, func(cfg *ClientConfig) { cfg.Timeout = tt.timeout })
			resp, err := c.Call(context.Background(), depositRequest("order-2-attempt-1"))
			if err != nil {
				t.Fatal(err)
			}
			seen := f.requests()
			if len(seen) != 2 {
				t.Fatalf("server saw %d requests, want 2", len(seen))
			}
			if seen[0].MessageID != "order-2-attempt-1" || seen[1].MessageID != seen[0].MessageID {
				t.Errorf("MessageIDs = %q, %q; a resend must keep the MessageID", seen[0].MessageID, seen[1].MessageID)
			}
			if seen[0].UUID == seen[1].UUID {
				t.Errorf("both attempts used UUID %q; a resend needs a new one", seen[0].UUID)
			}
			if seen[1].SigErr != nil {
				t.Errorf("resend signature: %v", seen[1].SigErr)
			}
			if resp.UUID != seen[1].UUID {
				t.Errorf("response UUID %q, want the second attempt's %q", resp.UUID, seen[1].UUID)
			}
		})
	}
}

func TestCallDuplicateMessageID(t *testing.T) {
	dup := answerError(637, "ERROR_DUPLICATE_MESSAGE_ID")
	t.Run("on a resend means the first attempt was accepted", func(t *testing.T) {
		f := newFakeTrustly(t, resetConnection, dup)
		c := newTestClient(t, f)
		_, err := c.Call(context.Background(), depositRequest("order-3-attempt-1"))
		if !errors.Is(err, ErrAcceptedURLLost) {
			t.Fatalf("err = %v, want ErrAcceptedURLLost", err)
		}
		var te *Error
		if !errors.As(err, &te) || te.Code != CodeDuplicateMessageID || te.MessageID != "order-3-attempt-1" {
			t.Errorf("err = %v, want it to carry the 637 *Error with the MessageID", err)
		}
		if errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("the outcome is known (accepted): %v", err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("server saw %d requests, want 2", n)
		}
	})
	t.Run("on the first attempt is the caller's reuse", func(t *testing.T) {
		f := newFakeTrustly(t, dup)
		c := newTestClient(t, f)
		_, err := c.Call(context.Background(), depositRequest("order-3-attempt-1"))
		if ErrorCode(err) != CodeDuplicateMessageID {
			t.Fatalf("err = %v, want a 637 *Error", err)
		}
		if errors.Is(err, ErrAcceptedURLLost) {
			t.Errorf("637 on the first attempt must not claim an earlier acceptance: %v", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("server saw %d requests, want 1", n)
		}
	})
}

func TestCallNeverResendsMoneyMovingCallsWithoutAMessageID(t *testing.T) {
	requests := []testRequest{
		refundRequest(),
		{method: "CancelCharge", data: map[string]any{"OrderID": "555"}},
		// A method this package does not know might move money.
		{method: "Withdraw", msgID: "w-1"},
		// Deposit's resend is safe only because of its MessageID.
		{method: "Deposit"},
	}
	failures := []struct {
		name   string
		answer answer
	}{
		{"connection reset", resetConnection},
		{"HTTP 503", httpStatus(503, "busy")},
		{"truncated body", truncatedBody},
	}
	for _, req := range requests {
		for _, fail := range failures {
			t.Run(req.method+"/"+fail.name, func(t *testing.T) {
				f := newFakeTrustly(t, fail.answer, answerError(620, "would have been resent"))
				c := newTestClient(t, f, func(cfg *ClientConfig) { cfg.MaxAttempts = 5 })
				_, err := c.Call(context.Background(), req)
				if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, ErrTransport) {
					t.Errorf("err = %v, want ErrOutcomeUnknown and ErrTransport", err)
				}
				if n := len(f.requests()); n != 1 {
					t.Errorf("server saw %d requests, want exactly 1", n)
				}
			})
		}
	}
}

func TestCallStopsWhenCancelledDuringBackoff(t *testing.T) {
	for _, tt := range []struct {
		req            testRequest
		outcomeUnknown bool
	}{
		{depositRequest("order-4-attempt-1"), true},
		{testRequest{method: "Balance"}, false},
	} {
		t.Run(tt.req.method, func(t *testing.T) {
			f := newFakeTrustly(t, httpStatus(500, "down"))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			inBackoff := make(chan struct{})
			c := newTestClient(t, f, func(cfg *ClientConfig) {
				cfg.Backoff = func(int) time.Duration {
					close(inBackoff)
					return time.Hour // only cancellation can end this wait
				}
			})
			go func() {
				<-inBackoff
				cancel()
			}()
			_, err := c.Call(ctx, tt.req)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if got := errors.Is(err, ErrOutcomeUnknown); got != tt.outcomeUnknown {
				t.Errorf("errors.Is(err, ErrOutcomeUnknown) = %v, want %v", got, tt.outcomeUnknown)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

func TestCallWithCancelledContextSendsNothing(t *testing.T) {
	f := newFakeTrustly(t, orderCreated)
	c := newTestClient(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Call(ctx, refundRequest())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("nothing was sent, so the outcome is known: %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestCallSendsOnlyOnceReady(t *testing.T) {
	notStored := errors.New("order not stored")
	tests := []struct {
		name     string
		answers  []answer
		ready    error
		wantSent int
	}{
		{"ready: sent", []answer{orderCreated}, nil, 1},
		{"ready once, also when a resend follows", []answer{resetConnection, orderCreated}, nil, 2},
		{"not ready: nothing sent", []answer{orderCreated}, notStored, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTrustly(t, tt.answers...)
			c := newTestClient(t, f)
			calls, seenBefore := 0, -1
			ctx := SendAfter(context.Background(), func() error {
				calls++
				seenBefore = len(f.requests())
				return tt.ready
			})
			_, err := c.Call(ctx, depositRequest("m-ready"))
			if calls != 1 || seenBefore != 0 {
				t.Errorf("ready called %d times, with %d requests sent before it; want once, before any", calls, seenBefore)
			}
			if n := len(f.requests()); n != tt.wantSent {
				t.Errorf("server saw %d requests, want %d", n, tt.wantSent)
			}
			if tt.ready == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNotSent) || !errors.Is(err, notStored) {
				t.Fatalf("err = %v, want ErrNotSent wrapping ready's error", err)
			}
			if errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrTransport) {
				t.Errorf("nothing was sent, so the outcome is known: %v", err)
			}
		})
	}
}

func TestCallValidationFailureSendsNothing(t *testing.T) {
	f := newFakeTrustly(t, orderCreated)
	c := newTestClient(t, f)
	invalid := &Error{Code: CodeInvalidAmount, Method: "Deposit", MessageID: "m-5", Local: true, Field: "Amount"}
	req := depositRequest("m-5")
	req.invalid = invalid
	_, err := c.Call(context.Background(), req)
	var te *Error
	if !errors.As(err, &te) || te != invalid {
		t.Fatalf("err = %v, want the validation *Error itself", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestCallJSONLevelFailureIsNotAccepted(t *testing.T) {
	tests := []struct {
		name     string
		answer   answer
		code     Code
		unsigned bool
	}{
		{"null uuid and method, no valid signature", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			env := signedError(f.key, nil, nil, 623, "ERROR_INVALID_PARAMETERS")
			env["error"].(map[string]any)["error"].(map[string]any)["signature"] = "bm90IGEgc2lnbmF0dXJl"
			writeJSON(w, 200, env)
		}, CodeInvalidParameters, true},
		{"null uuid and method, signed", func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, signedError(f.key, nil, nil, 636, "ERROR_UNABLE_TO_VERIFY_RSA_SIGNATURE"))
		}, CodeUnableToVerifyRSASignature, false},
		{"only the outer error block", httpStatus(200, `{"version":"1.1","error":{"name":"JSONRPCError","code":620,"message":"ERROR_UNKNOWN"}}`), CodeUnknown, true},
	}
	for _, tt := range tests {
		for _, req := range []testRequest{refundRequest(), depositRequest("m-j")} {
			t.Run(tt.name+"/"+req.method, func(t *testing.T) {
				f := newFakeTrustly(t, tt.answer)
				c := newTestClient(t, f)
				_, err := c.Call(context.Background(), req)
				var te *Error
				if !errors.As(err, &te) || te.Code != tt.code {
					t.Fatalf("err = %v, want a *Error with code %d", err, tt.code)
				}
				if te.Method != req.method || te.UUID != f.requests()[0].UUID {
					t.Errorf("error method/uuid = %q/%q, want the request's", te.Method, te.UUID)
				}
				if errors.Is(err, ErrTransport) || errors.Is(err, ErrBadSignature) {
					t.Errorf("a JSON-level failure is an answer, not a transport or signature failure: %v", err)
				}
				// Unsigned answers cannot be trusted to mean "not accepted"
				// where a second try could refund twice.
				wantUnknown := tt.unsigned && req.method == "Refund"
				if got := errors.Is(err, ErrOutcomeUnknown); got != wantUnknown {
					t.Errorf("errors.Is(err, ErrOutcomeUnknown) = %v, want %v (%v)", got, wantUnknown, err)
				}
				if got := errors.Is(err, ErrUnsignedError); got != tt.unsigned {
					t.Errorf("errors.Is(err, ErrUnsignedError) = %v, want %v", got, tt.unsigned)
				}
				if n := len(f.requests()); n != 1 {
					t.Errorf("server saw %d requests, want 1", n)
				}
			})
		}
	}
}

func TestCallRefusesAUUIDGeneratorThatRepeats(t *testing.T) {
	f := newFakeTrustly(t, resetConnection, orderCreated)
	c := newTestClient(t, f, func(cfg *ClientConfig) {
		cfg.NewUUID = func() string { return "0f8fad5b-d9cb-469f-a165-70867728950e" }
	})
	_, err := c.Call(context.Background(), depositRequest("m-6"))
	if err == nil || !strings.Contains(err.Error(), "688") {
		t.Fatalf("err = %v, want a refusal to reuse the UUID", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCallLogsFailuresWithoutSecrets(t *testing.T) {
	f := newFakeTrustly(t, resetConnection, answerError(616, "ERROR_INVALID_CREDENTIALS"))
	var logs lockedBuffer
	c := newTestClient(t, f, func(cfg *ClientConfig) {
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	if _, err := c.Call(context.Background(), depositRequest("order-7-attempt-1")); ErrorCode(err) != CodeInvalidCredentials {
		t.Fatalf("err = %v, want 616", err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d log records, want one per failed attempt (2):\n%s", len(lines), logs.String())
	}
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &last); err != nil {
		t.Fatal(err)
	}
	seen := f.requests()
	for k, want := range map[string]any{"method": "Deposit", "messageid": "order-7-attempt-1", "uuid": seen[1].UUID, "code": 616.0, "attempt": 2.0} {
		if last[k] != want {
			t.Errorf("log %s = %v, want %v", k, last[k], want)
		}
	}
	all := logs.String()
	for _, secret := range []string{testPassword, seen[0].Signature, seen[1].Signature} {
		if strings.Contains(all, secret) {
			t.Errorf("logs contain a secret (%.12s…)", secret)
		}
	}
}

func TestNewClient(t *testing.T) {
	trustlyKey, merchantKey, _ := keysForClientTests(t)
	valid := func() ClientConfig {
		return ClientConfig{
			Environment:      Sim,
			URL:              "http://127.0.0.1:9/api/1",
			Credentials:      Credentials{Username: "u", Password: "p"},
			PrivateKey:       merchantKey,
			TrustlyPublicKey: &trustlyKey.PublicKey,
		}
	}
	shortKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*ClientConfig)
		want   string
	}{
		{"unknown environment", func(c *ClientConfig) { c.Environment = "PROD" }, "Environment"},
		{"simulator without a URL", func(c *ClientConfig) { c.URL = "" }, "URL is required"},
		{"simulator without Trustly's key", func(c *ClientConfig) { c.TrustlyPublicKey = nil }, "TrustlyPublicKey is required"},
		{"relative URL", func(c *ClientConfig) { c.URL = "/api/1" }, "absolute"},
		{"password in the URL", func(c *ClientConfig) { c.URL = "https://u:p@test.trustly.com/api/1" }, "user:password"},
		{"LIVE over plain http", func(c *ClientConfig) { c.Environment, c.URL = Live, "http://api.trustly.com/1" }, "https"},
		{"no username", func(c *ClientConfig) { c.Credentials.Username = "" }, "Username"},
		{"no password", func(c *ClientConfig) { c.Credentials.Password = "" }, "Password"},
		{"no merchant key", func(c *ClientConfig) { c.PrivateKey = nil }, "PrivateKey"},
		{"short merchant key", func(c *ClientConfig) { c.PrivateKey = shortKey }, "shorter"},
		{"merchant's own key as Trustly's", func(c *ClientConfig) { c.TrustlyPublicKey = &merchantKey.PublicKey }, "merchant's own"},
		{"negative timeout", func(c *ClientConfig) { c.Timeout = -time.Second }, "Timeout"},
		{"negative attempts", func(c *ClientConfig) { c.MaxAttempts = -1 }, "MaxAttempts"},
		{"negative body limit", func(c *ClientConfig) { c.MaxResponseBytes = -1 }, "MaxResponseBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.change(&cfg)
			c, err := NewClient(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewClient = %v, %v; want an error mentioning %q", c, err, tt.want)
			}
		})
	}

	t.Run("TEST defaults to Trustly's endpoint and key", func(t *testing.T) {
		cfg := valid()
		cfg.Environment, cfg.URL, cfg.TrustlyPublicKey = Test, "", nil
		c, err := NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c.url != TestURL || !c.verifier.key.Equal(Test.PublicKey()) {
			t.Errorf("url %q, key is TEST's: %v", c.url, c.verifier.key.Equal(Test.PublicKey()))
		}
		if c.timeout != DefaultTimeout || c.maxAttempts != DefaultMaxAttempts || c.maxBody != DefaultMaxResponseBytes {
			t.Errorf("defaults: timeout %v attempts %d body %d", c.timeout, c.maxAttempts, c.maxBody)
		}
	})
}

func TestDefaultBackoffGrowsAndIsCapped(t *testing.T) {
	for attempt, bounds := range map[int][2]time.Duration{
		1:  {250 * time.Millisecond, 500 * time.Millisecond},
		2:  {500 * time.Millisecond, time.Second},
		3:  {time.Second, 2 * time.Second},
		10: {2500 * time.Millisecond, 5 * time.Second},
		99: {2500 * time.Millisecond, 5 * time.Second},
	} {
		for range 50 {
			if d := defaultBackoff(attempt); d < bounds[0] || d > bounds[1] {
				t.Fatalf("defaultBackoff(%d) = %v, want within %v", attempt, d, bounds)
			}
		}
	}
}
