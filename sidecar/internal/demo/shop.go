package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

type demoProduct struct {
	SKU, Name string
	Amount    int64
}

func (p demoProduct) Price() string { return formatMoney(p.Amount, "SEK") }

var demoProducts = []demoProduct{
	{"mug", "Coffee mug", 14900},
	{"socks", "Wool socks", 9900},
	{"book", "Cookbook (Smörgåsbord)", 29900},
}

// demoShop keeps carts and order lists in memory, by a session cookie.
// shopapi.Order state is never kept here: it is always read from the sidecar.
type demoShop struct {
	api          string
	client       *http.Client
	presentation string
	mu           sync.Mutex
	carts        map[string][]demoProduct
	orders       map[string][]string
	checkouts    map[string]string // order id → Trustly URL, for the lightbox
}

func (s *demoShop) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("POST /cart", s.addToCart)
	m.HandleFunc("POST /checkout", s.checkout)
	m.HandleFunc("GET /orders/{id}", s.order)
	m.HandleFunc("GET /orders/{id}/status", s.status)
	m.HandleFunc("GET /orders/{id}/return", s.back)
	m.HandleFunc("POST /orders/{id}/refund", s.refund)
	return m
}

func (s *demoShop) session(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie("demo"); err == nil && c.Value != "" {
		return c.Value
	}
	id := randomHex(12)
	http.SetCookie(w, &http.Cookie{Name: "demo", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return id
}

func (s *demoShop) render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := demoTemplates.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (s *demoShop) home(w http.ResponseWriter, r *http.Request) {
	sid := s.session(w, r)
	s.mu.Lock()
	cart := append([]demoProduct(nil), s.carts[sid]...)
	orders := append([]string(nil), s.orders[sid]...)
	s.mu.Unlock()
	s.render(w, http.StatusOK, "shop.html", map[string]any{"Title": "Products", "Products": demoProducts, "Cart": cart,
		"Total": formatMoney(total(cart), "SEK"), "Orders": orders, "Presentation": s.presentation})
}

func total(cart []demoProduct) int64 {
	var n int64
	for _, p := range cart {
		n += p.Amount
	}
	return n
}

func (s *demoShop) addToCart(w http.ResponseWriter, r *http.Request) {
	sid := s.session(w, r)
	for _, p := range demoProducts {
		if p.SKU == r.FormValue("sku") {
			s.mu.Lock()
			s.carts[sid] = append(s.carts[sid], p)
			s.mu.Unlock()
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// checkout is where a shop calls POST /v1/payments when the shopper is
// about to pay, and shows the Trustly URL at once.
func (s *demoShop) checkout(w http.ResponseWriter, r *http.Request) {
	sid := s.session(w, r)
	s.mu.Lock()
	cart := s.carts[sid]
	s.mu.Unlock()
	if len(cart) == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	ref := "DEMO-" + strings.ToUpper(randomHex(4))
	base := "http://" + r.Host
	req := shopapi.CreatePaymentRequest{Amount: total(cart), Currency: "SEK", ShopperStatement: "Demo shop", ExternalReference: ref,
		Shopper:    shopapi.Shopper{EndUserID: "demo-" + sid, FirstName: "Åsa", LastName: "Öberg", Email: "asa@example.com", Country: "SE", Locale: "sv_SE"},
		SuccessURL: base + "/orders/" + ref + "/return", FailURL: base + "/orders/" + ref + "/return"}
	iframe := r.FormValue("presentation") == "iframe"
	if iframe {
		req.URLTarget = "_top" // SuccessURL/FailURL replace the whole page, not the lightbox
	}
	var o shopapi.Order
	if err := s.call(r.Context(), http.MethodPost, "/v1/payments", "checkout-"+ref, req, &o); err != nil {
		http.Error(w, "the payment could not start: "+err.Error(), http.StatusBadGateway)
		return
	}
	// The shop's own order is the ExternalReference; the sidecar's id is
	// what it asks about.
	s.mu.Lock()
	delete(s.carts, sid)
	s.orders[sid] = append(s.orders[sid], o.ID)
	if iframe {
		s.checkouts[o.ID] = o.URL
	}
	s.mu.Unlock()
	if !iframe {
		http.Redirect(w, r, o.URL, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
}

func (s *demoShop) order(w http.ResponseWriter, r *http.Request) {
	var o shopapi.Order
	if err := s.call(r.Context(), http.MethodGet, "/v1/payments/"+r.PathValue("id"), "", nil, &o); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	s.mu.Lock()
	checkout := s.checkouts[o.ID]
	s.mu.Unlock()
	if o.State != "started" {
		checkout = ""
	}
	s.render(w, http.StatusOK, "order.html", map[string]any{"Title": "Order", "ID": o.ID, "State": o.State,
		"Total": formatMoney(o.Amount, o.Currency), "Refundable": o.Refundable > 0,
		"Refunded": refundedText(o), "Checkout": template.URL(checkout)})
}

func refundedText(o shopapi.Order) string {
	if o.Refunded == 0 {
		return ""
	}
	return formatMoney(o.Refunded, o.Currency)
}

func (s *demoShop) status(w http.ResponseWriter, r *http.Request) {
	var o shopapi.Order
	if err := s.call(r.Context(), http.MethodGet, "/v1/payments/"+r.PathValue("id"), "", nil, &o); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	refund := ""
	if n := len(o.Refunds); n > 0 {
		var rf shopapi.Order
		if err := s.call(r.Context(), http.MethodGet, "/v1/payments/"+o.Refunds[n-1], "", nil, &rf); err == nil {
			refund = rf.State
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"state": o.State, "refunded": o.Refunded, "refundedText": refundedText(o),
		"refundable": o.Refundable > 0, "refund": refund})
}

// back is the SuccessURL and FailURL: it only shows the order page. The
// shopper may never arrive here; the order's state comes from Trustly's
// notifications alone.
func (s *demoShop) back(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("id")
	var l shopapi.OrderList
	if err := s.call(r.Context(), http.MethodGet, "/v1/payments?externalReference="+ref, "", nil, &l); err != nil || len(l.Orders) == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "return.html", map[string]any{"ID": l.Orders[0].ID})
}

func (s *demoShop) refund(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var o shopapi.Order
	if err := s.call(r.Context(), http.MethodPost, "/v1/payments/"+id+"/refunds", "refund-"+id, shopapi.CreateRefundRequest{}, &o); err != nil {
		http.Error(w, "refund: "+err.Error(), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, "/orders/"+id, http.StatusSeeOther)
}

// call sends one shop API request and decodes the answer into out.
func (s *demoShop) call(ctx context.Context, method, path, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.api+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

// formatMoney is an amount for people: "103.00 SEK".
func formatMoney(amount int64, currency string) string {
	return trustly.FormatAmount(amount) + " " + currency
}
