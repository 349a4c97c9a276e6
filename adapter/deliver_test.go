package adapter

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDeliver(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(strings.Repeat("x", 2000)))
	}))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/refused", nil)
	code, snippet, err := Deliver(srv.Client(), req)
	if err != nil || code != http.StatusConflict || len(snippet) != 512 {
		t.Fatalf("Deliver = %d, %d bytes, %v; want 409 and 512 bytes", code, len(snippet), err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/slow", nil)
	if _, _, err := Deliver(srv.Client(), req); !errors.Is(err, ErrRetryable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a platform past the deadline = %v, want ErrRetryable wrapping the deadline", err)
	}
}
