package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The demo: everything on one machine with nothing but this binary — the
// simulator, the sidecar (SIM environment, embedded store) and a tiny shop
// that talks to the sidecar's shop API like a real one would. `make run`
// starts it.

//go:embed demo/*.html
var demoFiles embed.FS

var demoTemplates = template.Must(template.ParseFS(demoFiles, "demo/*.html"))

const demoDefaultAddr = "127.0.0.1:8000"

func runDemo(ctx context.Context, e *env, name string, args []string) error {
	fl := newFlagSet(e, name, "",
		"Runs the demo: a Trustly simulator, the sidecar in the SIM environment with the\n"+
			"embedded store, and a small shop page. Open the URL it prints, put something in\n"+
			"the cart, pay at the simulator's bank page, watch the order turn paid, refund it.\n"+
			"Nothing is kept: every run starts empty. Ctrl-C stops it.")
	addr := fl.String("addr", demoDefaultAddr, "`HOST:PORT` of the shop page (port 0 picks a free one)")
	presentation := fl.String("presentation", "iframe", "how the bank page is shown by default: iframe (a lightbox) or redirect")
	verbose := fl.Bool("verbose", false, "log the sidecar and the simulator at info level on stderr (default: warnings only)")
	if _, err := parseArgs(fl, args, 0); err != nil {
		return err
	}
	if *presentation != "iframe" && *presentation != "redirect" {
		return usageError("%s: --presentation must be iframe or redirect", name)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stack, err := startDemoStack(ctx, log, level, e.stderr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer stack.close()

	shop := &demoShop{api: stack.private, client: &http.Client{Timeout: 90 * time.Second}, presentation: *presentation,
		carts: map[string][]demoProduct{}, orders: map[string][]string{}, checkouts: map[string]string{}}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("%s: shop page: %w", name, err)
	}
	srv := &http.Server{Handler: shop.routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	fmt.Fprintf(e.stdout, "Demo shop (Trustly simulator, in-memory store): open http://%s/\nPress Ctrl-C to stop.\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-stack.done:
		if err != nil {
			return fmt.Errorf("%s: sidecar: %w", name, err)
		}
	}
	fmt.Fprintln(e.stdout, "Stopping.")
	return nil
}

// demoStack is the simulator and the sidecar, both in this process.
type demoStack struct {
	sim     *sim.Server
	private string // the sidecar's private listener, http://HOST:PORT
	done    chan error
	cancel  context.CancelFunc
	dir     string
}

func (d *demoStack) close() {
	d.cancel()
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
	}
	d.sim.Close()
	os.RemoveAll(d.dir)
}

func startDemoStack(ctx context.Context, log *slog.Logger, level slog.Level, stderr io.Writer) (*demoStack, error) {
	merchant, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	simKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	password, secret := randomHex(16), randomHex(24)
	s, err := sim.New(sim.Config{Username: "demo", Password: password, MerchantPublicKey: &merchant.PublicKey, Key: simKey,
		Relaxed: true, SettlementDelay: 5 * time.Second, Addr: "127.0.0.1:0", Logger: log.With("component", "sim")})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "trustly-sidecar-demo-")
	if err != nil {
		s.Close()
		return nil, err
	}
	pubFile := filepath.Join(dir, simPublicKeyFile)
	if err := os.WriteFile(pubFile, s.PublicKeyPEM(), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	mk, err := trustly.MarshalPrivateKey(merchant)
	if err != nil {
		s.Close()
		return nil, err
	}
	// The NotificationURL names the public port, so it is chosen first.
	pub, err := pickFreeAddr()
	if err != nil {
		s.Close()
		return nil, err
	}
	priv, err := pickFreeAddr()
	if err != nil {
		s.Close()
		return nil, err
	}
	vars := map[string]string{
		"ENVIRONMENT": "SIM", "TRUSTLY_URL": s.APIURL(), "TRUSTLY_PUBLIC_KEY_FILE": pubFile,
		"TRUSTLY_USERNAME": "demo", "TRUSTLY_PASSWORD": password, "MERCHANT_PRIVATE_KEY": string(mk),
		"PUBLIC_ADDR": pub, "PUBLIC_BASE_URL": "http://" + pub, "NOTIFICATION_SECRET": secret,
		"PRIVATE_ADDR": priv, "REDIS_MODE": "embedded", "LOG_FORMAT": "text", "LOG_LEVEL": strings.ToLower(level.String()),
		"ENGINE_TICK": "10s",
	}
	if level > slog.LevelInfo {
		// Quiet by default: without an adapter serve warns at every start
		// that status changes wait in the outbox, which is the demo's design.
		vars["LOG_LEVEL"] = "error"
	}
	getenv := func(k string) string { return vars[strings.TrimPrefix(k, envPrefix+"_")] }
	sctx, cancel := context.WithCancel(ctx)
	d := &demoStack{sim: s, private: "http://" + priv, done: make(chan error, 1), cancel: cancel, dir: dir}
	go func() {
		d.done <- runServe(sctx, &env{getenv: getenv, stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr}, progName+" serve", nil)
	}()
	// Ready when the shop API answers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(d.private + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		select {
		case err := <-d.done:
			s.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("the sidecar stopped: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.close()
			return nil, errors.New("the sidecar did not become ready within 30s")
		}
	}
}

func pickFreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- the shop ----

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
// Order state is never kept here: it is always read from the sidecar.
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
	req := CreatePaymentRequest{Amount: total(cart), Currency: "SEK", ShopperStatement: "Demo shop", ExternalReference: ref,
		Shopper:    Shopper{EndUserID: "demo-" + sid, FirstName: "Åsa", LastName: "Öberg", Email: "asa@example.com", Country: "SE", Locale: "sv_SE"},
		SuccessURL: base + "/orders/" + ref + "/return", FailURL: base + "/orders/" + ref + "/return"}
	iframe := r.FormValue("presentation") == "iframe"
	if iframe {
		req.URLTarget = "_top" // SuccessURL/FailURL replace the whole page, not the lightbox
	}
	var o Order
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
	var o Order
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

func refundedText(o Order) string {
	if o.Refunded == 0 {
		return ""
	}
	return formatMoney(o.Refunded, o.Currency)
}

func (s *demoShop) status(w http.ResponseWriter, r *http.Request) {
	var o Order
	if err := s.call(r.Context(), http.MethodGet, "/v1/payments/"+r.PathValue("id"), "", nil, &o); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	refund := ""
	if n := len(o.Refunds); n > 0 {
		var rf Order
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
	var l OrderList
	if err := s.call(r.Context(), http.MethodGet, "/v1/payments?externalReference="+ref, "", nil, &l); err != nil || len(l.Orders) == 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "return.html", map[string]any{"ID": l.Orders[0].ID})
}

func (s *demoShop) refund(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var o Order
	if err := s.call(r.Context(), http.MethodPost, "/v1/payments/"+id+"/refunds", "refund-"+id, CreateRefundRequest{}, &o); err != nil {
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
