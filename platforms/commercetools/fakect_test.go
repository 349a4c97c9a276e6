package commercetools_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
)

// fakeCT is a small commercetools for the kit and the unit tests: OAuth
// client credentials, GET and POST of payments with their version check
// (409 ConcurrentModification) and the update actions the adapter sends.
// The end-to-end test runs against @labdigital/commercetools-mock instead.
type fakeCT struct {
	srv *httptest.Server

	mu       sync.Mutex
	mode     adaptertest.Mode
	payments map[string]map[string]any
	tokens   map[string]bool
	issued   int // tokens handed out
	conflict int // the next updates answered 409 as if someone wrote first
	updates  int // updates applied
}

const (
	fakeProject = "shop-eu"
	fakeClient  = "sidecar-client"
	fakeSecret  = "client-secret-0123456789"
)

func newFakeCT(t *testing.T) *fakeCT {
	f := &fakeCT{payments: map[string]map[string]any{}, tokens: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCT) SetMode(m adaptertest.Mode) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

func (f *fakeCT) Snapshot(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(f.payments[id])
	return string(b)
}

// add stores a payment given as JSON, at version 1.
func (f *fakeCT) add(t *testing.T, js string) {
	var p map[string]any
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatal(err)
	}
	p["version"] = 1.0
	if p["interfaceInteractions"] == nil {
		p["interfaceInteractions"] = []any{}
	}
	f.mu.Lock()
	f.payments[p["id"].(string)] = p
	f.mu.Unlock()
}

func (f *fakeCT) payment(id string) map[string]any {
	var p map[string]any
	_ = json.Unmarshal([]byte(f.Snapshot(id)), &p)
	return p
}

func ctError(w http.ResponseWriter, status int, code, msg string, extra ...any) {
	e := map[string]any{"code": code, "message": msg}
	for i := 0; i+1 < len(extra); i += 2 {
		e[extra[i].(string)] = extra[i+1]
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "message": msg, "errors": []any{e}})
}

func (f *fakeCT) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	switch mode {
	case adaptertest.Unavailable:
		ctError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "down")
		return
	case adaptertest.Hanging:
		<-r.Context().Done()
		return
	}
	if r.URL.Path == "/oauth/token" {
		id, secret, ok := r.BasicAuth()
		if !ok || id != fakeClient || secret != fakeSecret || r.PostFormValue("grant_type") != "client_credentials" && !strings.Contains(string(body), "grant_type=client_credentials") {
			ctError(w, http.StatusUnauthorized, "invalid_client", "bad client")
			return
		}
		f.mu.Lock()
		f.issued++
		tok := fmt.Sprintf("token-%d", f.issued)
		f.tokens[tok] = true
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 172800, "scope": "manage_payments:" + fakeProject})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] {
		ctError(w, http.StatusUnauthorized, "invalid_token", "invalid_token")
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/"+fakeProject+"/payments/")
	p := f.payments[id]
	if !ok || p == nil {
		ctError(w, http.StatusNotFound, "ResourceNotFound", "no payment "+id)
		return
	}
	if r.Method == http.MethodGet {
		_ = json.NewEncoder(w).Encode(p)
		return
	}
	if mode == adaptertest.Rejecting {
		ctError(w, http.StatusBadRequest, "InvalidOperation", "refused")
		return
	}
	var upd struct {
		Version float64          `json:"version"`
		Actions []map[string]any `json:"actions"`
	}
	if err := json.Unmarshal(body, &upd); err != nil {
		ctError(w, http.StatusBadRequest, "InvalidJsonInput", err.Error())
		return
	}
	if f.conflict > 0 {
		// Another writer got there first: the version moves on.
		f.conflict--
		p["version"] = p["version"].(float64) + 1
	}
	if upd.Version != p["version"].(float64) {
		ctError(w, http.StatusConflict, "ConcurrentModification", "version mismatch", "currentVersion", p["version"])
		return
	}
	if err := apply(p, upd.Actions); err != nil {
		ctError(w, http.StatusBadRequest, "InvalidOperation", err.Error())
		return
	}
	p["version"] = p["version"].(float64) + 1
	f.updates++
	_ = json.NewEncoder(w).Encode(p)
}

// apply carries out the actions the adapter sends, as commercetools would.
func apply(p map[string]any, actions []map[string]any) error {
	txs, _ := p["transactions"].([]any)
	tx := func(id any) map[string]any {
		for _, t := range txs {
			if m := t.(map[string]any); m["id"] == id {
				return m
			}
		}
		return nil
	}
	for _, a := range actions {
		switch a["action"] {
		case "changeTransactionState":
			t := tx(a["transactionId"])
			if t == nil {
				return fmt.Errorf("no transaction %v", a["transactionId"])
			}
			if t["state"] == a["state"] {
				return fmt.Errorf("transaction %v is already %v", a["transactionId"], a["state"])
			}
			t["state"] = a["state"]
		case "changeTransactionInteractionId":
			t := tx(a["transactionId"])
			if t == nil {
				return fmt.Errorf("no transaction %v", a["transactionId"])
			}
			t["interactionId"] = a["interactionId"]
		case "addTransaction":
			t := a["transaction"].(map[string]any)
			t["id"] = fmt.Sprintf("added-%d", len(txs))
			txs = append(txs, t)
			p["transactions"] = txs
		case "addInterfaceInteraction":
			p["interfaceInteractions"] = append(p["interfaceInteractions"].([]any), map[string]any{"type": a["type"], "fields": a["fields"]})
		case "setStatusInterfaceCode", "setStatusInterfaceText":
			st, _ := p["paymentStatus"].(map[string]any)
			if st == nil {
				st = map[string]any{}
				p["paymentStatus"] = st
			}
			for k, v := range a {
				if k != "action" {
					st[k] = v
				}
			}
		case "setInterfaceId":
			p["interfaceId"] = a["interfaceId"]
		case "setCustomType":
			p["custom"] = map[string]any{"type": a["type"], "fields": a["fields"]}
		case "setCustomField":
			c, _ := p["custom"].(map[string]any)
			if c == nil {
				return fmt.Errorf("resource has no custom type")
			}
			c["fields"].(map[string]any)[a["name"].(string)] = a["value"]
		default:
			return fmt.Errorf("unknown action %v", a["action"])
		}
	}
	return nil
}
