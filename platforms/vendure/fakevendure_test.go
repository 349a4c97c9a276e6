package vendure_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/vendure"
)

// fakeVendure is the plugin's controller as the adapter sees it: it
// verifies the signature, applies each change id once and can be down,
// refusing or hanging. The real controller is tested against a real Vendure
// server in plugin/test.
type fakeVendure struct {
	url    string
	secret []byte

	mu       sync.Mutex
	mode     adaptertest.Mode
	payments map[string][]string // payment id → statuses applied
	applied  map[string]bool
	received []vendure.Callback
}

var _ adaptertest.Platform = (*fakeVendure)(nil)

func newFakeVendure(t *testing.T, secret []byte) *fakeVendure {
	f := &fakeVendure{secret: secret, payments: map[string][]string{}, applied: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/trustly/status"
	return f
}

func (f *fakeVendure) SetMode(m adaptertest.Mode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = m
}

func (f *fakeVendure) Snapshot(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.payments[id], ",")
}

func (f *fakeVendure) serve(w http.ResponseWriter, r *http.Request) {
	// Read the body before anything else: a hanging handler only notices
	// the sender gave up once the body is consumed.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := vendure.Verify(r.Header, f.secret, vendure.DirectionCallback, body, time.Now(), vendure.DefaultTolerance); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var cb vendure.Callback
	if err := json.Unmarshal(body, &cb); err != nil || cb.ChangeID != r.Header.Get(vendure.HeaderIdempotencyKey) {
		http.Error(w, "bad callback", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	mode := f.mode
	f.received = append(f.received, cb)
	f.mu.Unlock()
	switch mode {
	case adaptertest.Unavailable:
		http.Error(w, "Vendure is restarting", http.StatusServiceUnavailable)
		return
	case adaptertest.Rejecting:
		http.Error(w, "illegal transition", http.StatusUnprocessableEntity)
		return
	case adaptertest.Hanging:
		<-r.Context().Done()
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.applied[cb.ChangeID] {
		f.applied[cb.ChangeID] = true
		f.payments[cb.PaymentID] = append(f.payments[cb.PaymentID], cb.Status+"/"+cb.RefundID)
	}
	w.WriteHeader(http.StatusNoContent)
}
