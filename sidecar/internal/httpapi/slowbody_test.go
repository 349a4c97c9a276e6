package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// serveWithTimeouts serves h over a real socket with the listeners' own
// server (newServer) and a short ReadTimeout; it returns the address.
func serveWithTimeouts(t *testing.T, logs *logBuffer, h http.Handler, read time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(context.Background(), testLogger(logs), Timeouts{ReadHeader: 5 * time.Second, Read: read, Write: 10 * time.Second, Idle: time.Minute}, h)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// stallBody sends the headers and part of a body, then stalls; it returns
// the answer.
func stallBody(t *testing.T, addr, path string, header ...string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 200\r\nX-Request-Id: slow-1\r\n", path, addr)
	for i := 0; i+1 < len(header); i += 2 {
		head += header[i] + ": " + header[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"+`{"amount":10`); err != nil {
		t.Fatal(err)
	}
	// A fail-safe bound, far above the read timeout: not a speed test.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// A client that stalls in the middle of its body gets 408 request_timeout
// and a WARN line, not a 500 and an ERROR line: on the shop API (with and
// without an engine) and on the notification route.
func TestStalledBodyIs408(t *testing.T) {
	const readTimeout = 200 * time.Millisecond
	api := &API{m: metrics.New(), engine: failingEngine{}, idem: &freshStore{}}
	tests := []struct {
		name, path string
		handler    func(logs *logBuffer) http.Handler
		header     []string
	}{
		{name: "create a payment", path: "/v1/payments", header: []string{"Idempotency-Key", "k1"},
			handler: func(logs *logBuffer) http.Handler {
				a := *api
				a.log = testLogger(logs)
				return NewPrivate(a.log, a.m, "", 1<<20, nil, &a)
			}},
		{name: "an operation without an engine", path: "/v1/mandates", header: []string{"Idempotency-Key", "k1"},
			handler: func(logs *logBuffer) http.Handler {
				return NewPrivate(testLogger(logs), metrics.New(), "", 1<<20, nil, nil)
			}},
		{name: "a notification", path: "/trustly/notifications/" + testSecret,
			handler: func(logs *logBuffer) http.Handler {
				return NewPublic(testLogger(logs), metrics.New(), testSecret, 1<<16, notificationFunc(func(context.Context, []byte) ([]byte, error) {
					t.Error("a notification was handled without its body")
					return nil, nil
				}), nil, nil)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			addr := serveWithTimeouts(t, logs, tt.handler(logs), readTimeout)
			resp := stallBody(t, addr, tt.path, tt.header...)
			var body shopapi.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusRequestTimeout || body.Error.Code != "request_timeout" || body.Error.RequestID != "slow-1" {
				t.Errorf("got %d %+v, want 408 request_timeout with the request id", resp.StatusCode, body)
			}
			var warned bool
			for _, rec := range logRecords(t, logs) {
				if rec["level"] == "ERROR" {
					t.Errorf("logged at ERROR: %v", rec)
				}
				if rec["level"] == "WARN" && rec["msg"] == "http request" && rec["status"] == float64(http.StatusRequestTimeout) {
					warned = true
				}
			}
			if !warned {
				t.Errorf("no WARN record of the 408:\n%s", logs)
			}
		})
	}
}

// A client that hangs up in the middle of its body gets 400 incomplete_body
// (as far as it still listens), logged as a client's mistake, not a 500 and
// an ERROR line.
func TestBodyCutShortIs400(t *testing.T) {
	for _, tt := range []struct {
		name, path string
		handler    func(logs *logBuffer) http.Handler
		header     []string
	}{
		{name: "create a payment", path: "/v1/payments", header: []string{"Idempotency-Key", "k1"},
			handler: func(logs *logBuffer) http.Handler {
				a := &API{m: metrics.New(), engine: failingEngine{}, idem: &freshStore{}, log: testLogger(logs)}
				return NewPrivate(a.log, a.m, "", 1<<20, nil, a)
			}},
		{name: "a notification", path: "/trustly/notifications/" + testSecret,
			handler: func(logs *logBuffer) http.Handler {
				return NewPublic(testLogger(logs), metrics.New(), testSecret, 1<<16, notificationFunc(func(context.Context, []byte) ([]byte, error) {
					t.Error("a notification was handled without its body")
					return nil, nil
				}), nil, nil)
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			addr := serveWithTimeouts(t, logs, tt.handler(logs), 10*time.Second)
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 200\r\nX-Request-Id: cut-1\r\n", tt.path, addr)
			for i := 0; i+1 < len(tt.header); i += 2 {
				head += tt.header[i] + ": " + tt.header[i+1] + "\r\n"
			}
			if _, err := io.WriteString(conn, head+"\r\n"+`{"amount":10`); err != nil {
				t.Fatal(err)
			}
			_ = conn.(*net.TCPConn).CloseWrite() // the body ends here, 188 bytes short
			_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			var logged bool
			for _, rec := range logRecords(t, logs) {
				if rec["level"] == "ERROR" {
					t.Errorf("logged at ERROR: %v", rec)
				}
				if rec["msg"] == "http request" && rec["status"] == float64(http.StatusBadRequest) {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no record of the 400:\n%s", logs)
			}
		})
	}
}
