package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
)

const secret = "syncshop-secret-0123456789"

func TestConformance(t *testing.T) {
	body := []byte(`{"request_id":"req_9","action":"pay","order":{"id":"77","amount_minor":2500,"currency":"EUR"},` +
		`"customer":{"id":"c9","email":"c9@example.com","first_name":"Camille","last_name":"Neuf","country":"FI"}}`)
	req := adapter.Request{Method: "POST", Header: http.Header{signatureHeader: {sign(body)}}, Body: body}
	adaptertest.Run(t, newSubject, adaptertest.Fixtures{
		SignatureHeaders: []string{signatureHeader},
		Requests: []adaptertest.Request{{Name: "pay", Request: req, Want: []adapter.Command{{
			Kind: adapter.CommandPay, IdempotencyKey: "syncshop:req_9", Order: adapter.Order{ID: "77"},
			Amount:   adapter.Money{Minor: 2500, Currency: "EUR"},
			Customer: adapter.Customer{ID: "c9", Email: "c9@example.com", FirstName: "Camille", LastName: "Neuf", Country: "FI"},
		}}}},
		Changes: []adapter.StatusChange{{ID: "chg_1", Order: adapter.Order{ID: "77"}, Status: adapter.StatusPaid}},
		Answers: []adaptertest.Answer{
			{Name: "redirect", Request: req, Results: []adapter.Result{{OK: true, RedirectURL: "https://trustly.example/x"}}, WantStatus: 200},
			{Name: "failure", Request: req, Results: []adapter.Result{{ErrorCode: "declined"}}, WantStatus: 200},
		},
	})
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func newSubject(t *testing.T) adaptertest.Subject {
	p := &platform{events: map[string][]string{}, seen: map[string]bool{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	a, err := fromEnv(env{"SYNCSHOP_SECRET": secret, "SYNCSHOP_API_URL": srv.URL, "SYNCSHOP_API_TOKEN": "tok"}.get)
	if err != nil {
		t.Fatal(err)
	}
	return adaptertest.Subject{Adapter: a, Platform: p}
}

type env map[string]string

func (e env) get(k string) string { return e[k] }

// platform is a fake of SyncShop's REST API.
type platform struct {
	mu     sync.Mutex
	mode   adaptertest.Mode
	events map[string][]string
	seen   map[string]bool
}

func (p *platform) SetMode(m adaptertest.Mode) { p.mu.Lock(); p.mode = m; p.mu.Unlock() }

func (p *platform) Snapshot(order string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.events[order], ",")
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the body first: net/http notices a client that hung up (and
	// cancels r.Context) only once the body has been consumed.
	var ev struct{ EventID, Status string }
	decodeErr := json.NewDecoder(r.Body).Decode(&ev)
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	switch mode {
	case adaptertest.Unavailable:
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case adaptertest.Rejecting:
		w.WriteHeader(http.StatusNotFound)
		return
	case adaptertest.Hanging:
		<-r.Context().Done()
		return
	}
	if r.Header.Get("Authorization") != "Bearer tok" || decodeErr != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	order := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/orders/"), "/payment-events")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[ev.EventID] {
		w.WriteHeader(http.StatusConflict)
		return
	}
	p.seen[ev.EventID] = true
	p.events[order] = append(p.events[order], ev.Status)
	w.WriteHeader(http.StatusCreated)
}
