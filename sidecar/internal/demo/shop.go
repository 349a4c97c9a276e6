package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
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

func productBySKU(sku string) (demoProduct, bool) {
	for _, p := range demoProducts {
		if p.SKU == sku {
			return p, true
		}
	}
	return demoProduct{}, false
}

// maxQty bounds one cart line.
const maxQty = 99

// cartLine is a product and how many of it.
type cartLine struct {
	demoProduct
	Qty int
}

func (l cartLine) LineTotal() string { return formatMoney(l.Amount*int64(l.Qty), "SEK") }

// session is one visitor's cart and orders. The cart stays until an order
// made from it is paid: a declined or abandoned payment keeps it.
type session struct {
	cart        []cartLine
	cartVersion int      // changes with every change of the cart
	orders      []string // the shop's order references, oldest first
}

func (s *session) total() int64 {
	var n int64
	for _, l := range s.cart {
		n += l.Amount * int64(l.Qty)
	}
	return n
}

// shopOrder is the shop's own order: its reference (DEMO-1001, sent to
// Trustly as the ExternalReference) and how it is being paid, either a
// payment started at checkout or a pay link. Its state is never kept here:
// it is always read from the sidecar.
type shopOrder struct {
	Ref          string
	session      string
	Lines        []cartLine
	Amount       int64
	Presentation string // iframe, redirect or link
	PaymentID    string // the sidecar's order of a checkout
	Checkout     string // its Trustly URL, for the lightbox
	LinkID       string // the pay link's id
	LinkURL      string // and its URL (the shopper's; shown to the merchant)
	cartVersion  int    // the cart it was made from
}

// demoShop keeps carts and orders in memory, by a session cookie.
type demoShop struct {
	api          string
	client       *http.Client
	presentation string
	mu           sync.Mutex
	sessions     map[string]*session
	orders       map[string]*shopOrder // by reference
	seq          int
}

func newShop(api string, client *http.Client, presentation string) *demoShop {
	return &demoShop{api: api, client: client, presentation: presentation,
		sessions: map[string]*session{}, orders: map[string]*shopOrder{}, seq: 1000}
}

func (s *demoShop) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("POST /cart", s.changeCart)
	m.HandleFunc("POST /checkout", s.checkout)
	m.HandleFunc("POST /paylink", s.createPayLink)
	m.HandleFunc("GET /orders/{ref}", s.order)
	m.HandleFunc("GET /orders/{ref}/status", s.status)
	m.HandleFunc("GET /orders/{ref}/return", s.back)
	m.HandleFunc("POST /orders/{ref}/refund", s.refund)
	m.HandleFunc("POST /orders/{ref}/revoke", s.revoke)
	m.HandleFunc("GET /favicon.svg", favicon)
	m.HandleFunc("GET /favicon.ico", favicon)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, http.StatusNotFound, "Page not found", "There is no page at this address.")
	})
	return m
}

// session returns the visitor's session, creating it (and its cookie).
// Called with s.mu not held.
func (s *demoShop) session(w http.ResponseWriter, r *http.Request) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, err := r.Cookie("demo"); err == nil && s.sessions[c.Value] != nil {
		return c.Value, s.sessions[c.Value]
	}
	id := randomHex(12)
	s.sessions[id] = &session{}
	http.SetCookie(w, &http.Cookie{Name: "demo", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return id, s.sessions[id]
}

func (s *demoShop) render(w http.ResponseWriter, status int, name string, data map[string]any) {
	var b bytes.Buffer
	if err := demoTemplates().ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// problem is a page that says what went wrong, in words.
func (s *demoShop) problem(w http.ResponseWriter, status int, title, message string) {
	s.render(w, status, "problem.html", map[string]any{"Title": title, "Message": message})
}

func (s *demoShop) home(w http.ResponseWriter, r *http.Request) {
	sid, _ := s.session(w, r)
	// An order paid since the last visit empties the cart it was made from.
	s.mu.Lock()
	var open []*shopOrder
	for _, ref := range s.sessions[sid].orders {
		if o := s.orders[ref]; o.cartVersion == s.sessions[sid].cartVersion && len(s.sessions[sid].cart) > 0 {
			open = append(open, o)
		}
	}
	s.mu.Unlock()
	for _, o := range open {
		_, _ = s.view(r.Context(), o)
	}
	s.mu.Lock()
	sess := s.sessions[sid]
	cart := append([]cartLine(nil), sess.cart...)
	total := sess.total()
	var orders []*shopOrder
	for i := len(sess.orders) - 1; i >= 0; i-- {
		orders = append(orders, s.orders[sess.orders[i]])
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "shop.html", map[string]any{"Title": "Products", "Products": demoProducts, "Cart": cart,
		"Total": formatMoney(total, "SEK"), "Orders": orders, "Presentation": s.presentation})
}

// changeCart adds a product (op add or inc), takes one away (dec) or
// removes its line (remove).
func (s *demoShop) changeCart(w http.ResponseWriter, r *http.Request) {
	sid, _ := s.session(w, r)
	p, ok := productBySKU(r.FormValue("sku"))
	if !ok {
		s.problem(w, http.StatusBadRequest, "Unknown product", "That product is not in the shop.")
		return
	}
	s.mu.Lock()
	sess := s.sessions[sid]
	i := 0
	for i < len(sess.cart) && sess.cart[i].SKU != p.SKU {
		i++
	}
	if i == len(sess.cart) {
		sess.cart = append(sess.cart, cartLine{demoProduct: p})
	}
	switch r.FormValue("op") {
	case "", "add", "inc":
		sess.cart[i].Qty = min(sess.cart[i].Qty+1, maxQty)
	case "dec":
		sess.cart[i].Qty--
	case "remove":
		sess.cart[i].Qty = 0
	}
	if sess.cart[i].Qty <= 0 {
		sess.cart = append(sess.cart[:i], sess.cart[i+1:]...)
	}
	sess.cartVersion++
	s.mu.Unlock()
	http.Redirect(w, r, "/#cart", http.StatusSeeOther)
}

var demoShopper = shopapi.Shopper{FirstName: "Åsa", LastName: "Öberg", Email: "asa@example.com", Country: "SE", Locale: "sv_SE"}

// newOrder makes the shop's order from the session's cart; nil when the
// cart is empty.
func (s *demoShop) newOrder(sid, presentation string) *shopOrder {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[sid]
	if len(sess.cart) == 0 {
		return nil
	}
	s.seq++
	o := &shopOrder{Ref: fmt.Sprintf("DEMO-%d", s.seq), session: sid, Lines: append([]cartLine(nil), sess.cart...),
		Amount: sess.total(), Presentation: presentation, cartVersion: sess.cartVersion}
	return o
}

func (s *demoShop) keep(o *shopOrder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[o.Ref] = o
	s.sessions[o.session].orders = append(s.sessions[o.session].orders, o.Ref)
}

// checkout is where a shop calls POST /v1/payments: when the shopper is
// about to pay. The cart stays until the order is paid.
func (s *demoShop) checkout(w http.ResponseWriter, r *http.Request) {
	sid, _ := s.session(w, r)
	presentation := "redirect"
	if r.FormValue("presentation") == "iframe" {
		presentation = "iframe"
	}
	o := s.newOrder(sid, presentation)
	if o == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	base := "http://" + r.Host
	shopper := demoShopper
	shopper.EndUserID = "demo-" + sid
	req := shopapi.CreatePaymentRequest{Amount: o.Amount, Currency: "SEK", ShopperStatement: "Demo shop", ExternalReference: o.Ref,
		Shopper: shopper, SuccessURL: base + "/orders/" + o.Ref + "/return", FailURL: base + "/orders/" + o.Ref + "/return"}
	if presentation == "iframe" {
		req.URLTarget = "_top" // SuccessURL/FailURL replace the whole page, not the lightbox
	}
	var p shopapi.Order
	if err := s.call(r.Context(), http.MethodPost, "/v1/payments", "checkout-"+o.Ref, req, &p); err != nil {
		s.problem(w, http.StatusBadGateway, "The payment could not start", "Nothing was charged. "+apiMessage(err)+" Your cart is kept: try again in a moment.")
		return
	}
	o.PaymentID = p.ID
	if presentation == "iframe" {
		o.Checkout = p.URL
	}
	s.keep(o)
	if presentation == "redirect" {
		http.Redirect(w, r, p.URL, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/orders/"+o.Ref, http.StatusSeeOther)
}

// createPayLink makes a pay link for the cart (POST /v1/paylinks): what a
// shop sends a customer by e-mail or SMS. The order page shows the link.
func (s *demoShop) createPayLink(w http.ResponseWriter, r *http.Request) {
	sid, _ := s.session(w, r)
	o := s.newOrder(sid, "link")
	if o == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	base := "http://" + r.Host
	shopper := demoShopper
	shopper.EndUserID = "demo-" + sid
	req := shopapi.CreatePayLinkRequest{OrderReference: o.Ref, Amount: o.Amount, Currency: "SEK", Shopper: shopper,
		SuccessURL: base + "/orders/" + o.Ref + "/return", FailURL: base + "/orders/" + o.Ref + "/return",
		ShopperStatement: "Demo shop", TTLSeconds: 3600}
	var l shopapi.PayLink
	if err := s.call(r.Context(), http.MethodPost, "/v1/paylinks", "paylink-"+o.Ref, req, &l); err != nil {
		s.problem(w, http.StatusBadGateway, "The pay link could not be made", apiMessage(err)+" Your cart is kept: try again in a moment.")
		return
	}
	o.LinkID, o.LinkURL = l.ID, l.URL
	s.keep(o)
	http.Redirect(w, r, "/orders/"+o.Ref, http.StatusSeeOther)
}

// lookup finds the shop's order by its reference.
func (s *demoShop) lookup(ref string) (*shopOrder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[ref]
	return o, ok
}

func (s *demoShop) order(w http.ResponseWriter, r *http.Request) {
	o, ok := s.lookup(r.PathValue("ref"))
	if !ok {
		s.problem(w, http.StatusNotFound, "Order not found",
			"There is no order "+r.PathValue("ref")+" in this shop. The demo keeps nothing after a restart.")
		return
	}
	v, err := s.view(r.Context(), o)
	if err != nil {
		s.problem(w, http.StatusBadGateway, "The order cannot be shown right now", apiMessage(err))
		return
	}
	s.renderOrder(w, r, http.StatusOK, o, v, "")
}

func (s *demoShop) renderOrder(w http.ResponseWriter, r *http.Request, status int, o *shopOrder, v orderView, problem string) {
	s.mu.Lock()
	cartFull := len(s.sessions[o.session].cart) > 0
	s.mu.Unlock()
	s.render(w, status, "order.html", map[string]any{"Title": "Order " + o.Ref, "Order": o, "V": v,
		"Total": formatMoney(o.Amount, "SEK"), "CartFull": cartFull, "Problem": problem,
		"Checkout": template.URL(o.Checkout), "LinkURL": template.URL(o.LinkURL)})
}

func (s *demoShop) status(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	o, ok := s.lookup(r.PathValue("ref"))
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "no such order"})
		return
	}
	v, err := s.view(r.Context(), o)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": apiMessage(err)})
		return
	}
	s.mu.Lock()
	v.Retry = v.Retry && len(s.sessions[o.session].cart) > 0
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(v)
}

// back is the SuccessURL and FailURL: it only shows the order page. The
// shopper may never arrive here; the order's state comes from Trustly's
// notifications alone.
func (s *demoShop) back(w http.ResponseWriter, r *http.Request) {
	o, ok := s.lookup(r.PathValue("ref"))
	if !ok {
		s.problem(w, http.StatusNotFound, "Order not found", "There is no order "+r.PathValue("ref")+" in this shop.")
		return
	}
	s.render(w, http.StatusOK, "return.html", map[string]any{"Title": "Back from the bank", "Ref": o.Ref})
}

func (s *demoShop) refund(w http.ResponseWriter, r *http.Request) {
	o, ok := s.lookup(r.PathValue("ref"))
	if !ok {
		s.problem(w, http.StatusNotFound, "Order not found", "There is no order "+r.PathValue("ref")+" in this shop.")
		return
	}
	v, err := s.view(r.Context(), o)
	if err != nil {
		s.problem(w, http.StatusBadGateway, "The order cannot be refunded right now", apiMessage(err))
		return
	}
	fail := func(msg string) { s.renderOrder(w, r, http.StatusUnprocessableEntity, o, v, msg) }
	if v.payment == "" {
		fail("There is no payment to refund.")
		return
	}
	amount, err := trustly.ParseAmount(r.FormValue("amount"))
	if err != nil || amount <= 0 {
		fail("Enter the amount to refund, like 149.00.")
		return
	}
	// The key is the form's: pressing twice makes one refund; the next
	// form (with one more refund listed) gets a new key.
	key := "refund-" + o.Ref + "-" + r.FormValue("key")
	var rf shopapi.Order
	err = s.call(r.Context(), http.MethodPost, "/v1/payments/"+v.payment+"/refunds", key,
		shopapi.CreateRefundRequest{Amount: amount, Currency: "SEK"}, &rf)
	if err != nil {
		fail("The refund was not started: " + apiMessage(err))
		return
	}
	http.Redirect(w, r, "/orders/"+o.Ref, http.StatusSeeOther)
}

// revoke withdraws a pay link that is not paid (DELETE /v1/paylinks/{id}).
func (s *demoShop) revoke(w http.ResponseWriter, r *http.Request) {
	o, ok := s.lookup(r.PathValue("ref"))
	if !ok || o.LinkID == "" {
		s.problem(w, http.StatusNotFound, "Pay link not found", "There is no pay link for "+r.PathValue("ref")+".")
		return
	}
	var st shopapi.PayLinkStatus
	if err := s.call(r.Context(), http.MethodDelete, "/v1/paylinks/"+o.LinkID, "", nil, &st); err != nil {
		v, verr := s.view(r.Context(), o)
		if verr != nil {
			s.problem(w, http.StatusBadGateway, "The link could not be withdrawn", apiMessage(err))
			return
		}
		s.renderOrder(w, r, http.StatusConflict, o, v, "The link could not be withdrawn: "+apiMessage(err))
		return
	}
	http.Redirect(w, r, "/orders/"+o.Ref, http.StatusSeeOther)
}

// apiError is an error answer of the shop API.
type apiError struct {
	status int
	body   shopapi.ErrorBody
	raw    string
}

func (e *apiError) Error() string {
	if e.body.Error.Message != "" {
		return fmt.Sprintf("%d %s: %s", e.status, e.body.Error.Code, e.body.Error.Message)
	}
	return fmt.Sprintf("%d: %s", e.status, e.raw)
}

// apiMessage is an error in words for the page: the shop API's message,
// which is safe to show, or a general one.
func apiMessage(err error) string {
	var ae *apiError
	if errors.As(err, &ae) && ae.body.Error.Message != "" {
		return "The payment service said: " + ae.body.Error.Message + "."
	}
	return "The payment service did not answer."
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
		ae := &apiError{status: resp.StatusCode, raw: string(bytes.TrimSpace(b))}
		_ = json.Unmarshal(b, &ae.body)
		return ae
	}
	return json.Unmarshal(b, out)
}

// formatMoney is an amount for people: "103.00 SEK".
func formatMoney(amount int64, currency string) string {
	return trustly.FormatAmount(amount) + " " + currency
}

// formatInput is an amount for a form field: "103.00".
func formatInput(amount int64) string { return trustly.FormatAmount(amount) }

// Total is the order's amount for people.
func (o *shopOrder) Total() string { return formatMoney(o.Amount, "SEK") }
