// Package apitest is what the sidecar's HTTP tests share: a request over a
// real socket and its answer, the checks every JSON error answer must pass,
// and a log buffer safe for concurrent writers.
package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// LogBuffer collects log output for checks.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Await returns the logs once they hold s, or after five seconds. A server
// sends its answer before it writes the request's log line, so a test that
// checks that line right after the answer must wait for it.
func (l *LogBuffer) Await(s string) string {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if out := l.String(); strings.Contains(out, s) {
			return out
		}
	}
	return l.String()
}

// Answer is an HTTP answer, read whole.
type Answer struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends one request; header is name, value pairs.
func Do(t testing.TB, method, url, body string, header ...string) Answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// ErrorCode checks a JSON error answer (JSON, a message, the request id of
// the X-Request-Id header) and returns its code.
func (a Answer) ErrorCode(t testing.TB) string {
	t.Helper()
	var e struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(a.Body), &e); err != nil {
		t.Fatalf("error answer %q is not JSON: %v", a.Body, err)
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
	if e.Error.RequestID == "" || e.Error.RequestID != a.Header.Get("X-Request-Id") {
		t.Errorf("error request_id %q, X-Request-Id %q", e.Error.RequestID, a.Header.Get("X-Request-Id"))
	}
	if e.Error.Message == "" {
		t.Error("error without a message")
	}
	return e.Error.Code
}
