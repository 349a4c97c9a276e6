// Package wcfake is a stand-in for a WooCommerce shop in tests: the parts of
// the REST API v3 the adapter calls (orders, order notes, order refunds)
// with its authentication and error answers, and webhook deliveries signed
// as WooCommerce signs them. It follows the public REST API docs
// (woocommerce/woocommerce-rest-api-docs, source/includes/wp-api-v3) and
// class-wc-webhook.php; WooCommerce itself does not install here.
package wcfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce"
)

// Shop is the stand-in. Its zero orders are added with AddOrder.
type Shop struct {
	URL           string
	Key, Secret   string // the REST API key it accepts
	WebhookSecret []byte

	mu       sync.Mutex
	orders   map[int64]*order
	nextID   int64
	mode     adaptertest.Mode
	failNext []int         // statuses to answer the next requests with
	down     bool          // connections are dropped without an answer
	delay    time.Duration // before every answer
	// GatewayRefunds counts refunds created with api_refund true: the ones
	// for which WooCommerce would call the gateway's process_refund.
	gatewayRefunds int
	deliveries     int
	requests       []string
}

type order struct {
	ID            int64
	Status        string
	Currency      string
	Total         int64 // minor units
	PaymentMethod string
	TransactionID string
	DatePaid      bool
	Billing       woocommerce.Billing
	Refunds       []refund
	Meta          []woocommerce.MetaData
	Notes         []string
	StatusWrites  []string // every status a PUT set, in order
}

type refund struct {
	ID     int64
	Amount int64 // minor units, positive
	Reason string
	API    bool   // refunded_payment: WooCommerce called the gateway
	By     string // the plugin's stamp (woocommerce.RefundByMeta), "" for none
}

// New starts the stand-in; it stops with the test.
func New(t testing.TB) *Shop {
	s := &Shop{Key: "ck_0123456789abcdef", Secret: "cs_fedcba9876543210", WebhookSecret: []byte("wc-webhook-secret-0123456789"),
		orders: map[int64]*order{}, nextID: 1000}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AddOrder adds a Trustly order (payment method "trustly") in status with
// total in minor units, and returns its id.
func (s *Shop) AddOrder(status string, total int64, currency string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.orders[s.nextID] = &order{ID: s.nextID, Status: status, Currency: currency, Total: total, PaymentMethod: "trustly",
		Billing: woocommerce.Billing{FirstName: "Åsa", LastName: "Ek", Email: "asa.ek@example.se", Country: "SE"}}
	return s.nextID
}

// SetStatus changes an order's status as an admin would.
func (s *Shop) SetStatus(id int64, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[id].Status = status
}

// SetMode switches how the REST API answers (adaptertest's modes).
func (s *Shop) SetMode(m adaptertest.Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// SetDown makes the shop unreachable (true): every connection is closed
// without an answer, as when WordPress or its web server is stopped.
func (s *Shop) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// FailNext makes the next len(codes) REST requests answer those statuses.
func (s *Shop) FailNext(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, codes...)
}

// Delay makes every answer wait d: a slow shop.
func (s *Shop) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// GatewayRefunds is how many refunds were created with api_refund true.
func (s *Shop) GatewayRefunds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gatewayRefunds
}

// Requests lists "METHOD path" of every REST request, in order.
func (s *Shop) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Status, TransactionID and Refunds read an order.
func (s *Shop) Status(id int64) (status, transactionID string, paid bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	return o.Status, o.TransactionID, o.DatePaid
}

// Refunds are an order's refund amounts (minor units) and reasons.
func (s *Shop) Refunds(id int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.orders[id].Refunds {
		out = append(out, fmt.Sprintf("%d %s", r.Amount, r.Reason))
	}
	return out
}

// Notes are an order's notes.
func (s *Shop) Notes(id int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.orders[id].Notes)
}

// Snapshot renders an order's state for adaptertest.
func (s *Shop) Snapshot(orderID string) string {
	id, _ := strconv.ParseInt(orderID, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return "no order " + orderID
	}
	b, _ := json.Marshal(o)
	return string(b)
}

// AdminRefund adds a refund an admin records while the plugin's refunds
// setting is "the sidecar refunds what is recorded": stamped for the
// sidecar, which carries it out from the webhook. It returns its id.
func (s *Shop) AdminRefund(id, amount int64, reason string) int64 {
	return s.AddRefund(id, amount, reason, woocommerce.RefundBySidecar)
}

// AddRefund adds a refund as wc_create_refund would with the plugin active:
// by is the plugin's stamp (woocommerce.RefundByGateway: the "Refund via
// Trustly" button, which WooCommerce marks refunded_payment once the
// gateway said yes; RefundByManual: "Refund manually"; "" for a refund made
// without the plugin). It returns its id.
func (s *Shop) AddRefund(id, amount int64, reason, by string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.refund(s.orders[id], amount, reason, by == woocommerce.RefundByGateway)
	if err != nil {
		panic(err)
	}
	s.orders[id].Refunds[len(s.orders[id].Refunds)-1].By = by
	return r.ID
}

// SeedRefund adds a refund with a fixed id, for fixtures that name it.
func (s *Shop) SeedRefund(id, refundID, amount int64, reason, by string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	o.Refunds = append(o.Refunds, refund{ID: refundID, Amount: amount, Reason: reason, API: by == woocommerce.RefundByGateway, By: by})
}

// StatusWrites are the statuses the REST API set on an order, in order.
func (s *Shop) StatusWrites(id int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.orders[id].StatusWrites)
}

// Webhook is the order.updated delivery of order id, signed, as the
// adapter receives it. Every call is a new delivery id.
func (s *Shop) Webhook(id int64) adapter.Request {
	s.mu.Lock()
	body := s.orderJSON(s.orders[id])
	s.deliveries++
	n := s.deliveries
	s.mu.Unlock()
	return s.Delivery("order.updated", n, body)
}

// Delivery is a signed delivery of body on topic with delivery number n.
func (s *Shop) Delivery(topic string, n int, body []byte) adapter.Request {
	resource, event, _ := strings.Cut(topic, ".")
	h := http.Header{}
	for k, v := range map[string]string{
		"Content-Type": "application/json", woocommerce.HeaderTopic: topic, woocommerce.HeaderResource: resource,
		woocommerce.HeaderEvent: event, woocommerce.HeaderWebhookID: "12", woocommerce.HeaderDeliveryID: strconv.Itoa(n),
		woocommerce.HeaderSignature: woocommerce.Sign(s.WebhookSecret, body),
	} {
		h.Set(k, v) // canonical keys, as net/http delivers them
	}
	return adapter.Request{Method: http.MethodPost, Path: "/", Header: h, Body: body, ReceivedAt: time.Unix(1764590400, 0)}
}

// Send POSTs a delivery to url over HTTP, as WooCommerce would, and
// returns the status and body of the answer.
func Send(url string, r adapter.Request) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(r.Body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func money(minor int64) string {
	neg := ""
	if minor < 0 {
		neg, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d", neg, minor/100, minor%100) // the stand-in's currencies have 2 decimals
}

func parseMoney(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, false
	}
	frac += strings.Repeat("0", 2-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	return n, err == nil && n > 0
}

// orderJSON is the REST v3 order as the docs list it (a subset).
func (s *Shop) orderJSON(o *order) []byte {
	refunds := []map[string]any{}
	for i := len(o.Refunds) - 1; i >= 0; i-- { // newest first, as WooCommerce lists them
		r := o.Refunds[i]
		refunds = append(refunds, map[string]any{"id": r.ID, "reason": r.Reason, "total": money(-r.Amount)})
	}
	meta := o.Meta
	if meta == nil {
		meta = []woocommerce.MetaData{}
	}
	b, _ := json.Marshal(map[string]any{
		"id": o.ID, "parent_id": 0, "number": strconv.FormatInt(o.ID, 10), "order_key": "wc_order_" + strconv.FormatInt(o.ID, 10),
		"created_via": "checkout", "status": o.Status, "currency": o.Currency, "total": money(o.Total), "total_tax": "0.00",
		"customer_id": 7, "billing": o.Billing, "payment_method": o.PaymentMethod, "payment_method_title": "Trustly",
		"transaction_id": o.TransactionID, "line_items": []any{}, "refunds": refunds, "meta_data": meta,
	})
	return b
}

func (s *Shop) refund(o *order, amount int64, reason string, api bool) (refund, error) {
	var done int64
	for _, r := range o.Refunds {
		done += r.Amount
	}
	if amount <= 0 || done+amount > o.Total {
		return refund{}, fmt.Errorf("invalid refund amount")
	}
	s.nextID++
	r := refund{ID: s.nextID, Amount: amount, Reason: reason, API: api}
	o.Refunds = append(o.Refunds, r)
	if api {
		s.gatewayRefunds++
	}
	return r, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func restError(w http.ResponseWriter, code int, c, msg string) {
	writeJSON(w, code, map[string]any{"code": c, "message": msg, "data": map[string]int{"status": code}})
}

func (s *Shop) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body) // read first: see adaptertest's note on hanging fakes
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	mode, delay, down := s.mode, s.delay, s.down
	fail := 0
	if len(s.failNext) > 0 {
		fail, s.failNext = s.failNext[0], s.failNext[1:]
	}
	s.mu.Unlock()
	if down {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection just the same
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case mode == adaptertest.Hanging:
		<-r.Context().Done()
		return
	case mode == adaptertest.Unavailable:
		restError(w, http.StatusServiceUnavailable, "unavailable", "maintenance")
		return
	case fail != 0:
		restError(w, fail, "woocommerce_rest_test_failure", http.StatusText(fail))
		return
	}
	// Basic auth, or the query string form the docs allow over HTTPS.
	key, secret, ok := r.BasicAuth()
	if !ok {
		key, secret = r.URL.Query().Get("consumer_key"), r.URL.Query().Get("consumer_secret")
	}
	if key != s.Key || secret != s.Secret {
		restError(w, http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/wp-json/wc/v3/orders/")
	if !ok {
		restError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	idStr, sub, _ := strings.Cut(rest, "/")
	id, _ := strconv.ParseInt(idStr, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[id]
	if !found {
		restError(w, http.StatusNotFound, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
		return
	}
	if mode == adaptertest.Rejecting && r.Method != http.MethodGet {
		restError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s).")
		return
	}
	switch r.Method + " " + sub {
	case "GET ":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.orderJSON(o))
	case "PUT ":
		var in struct {
			Status        *string                `json:"status"`
			SetPaid       bool                   `json:"set_paid"`
			TransactionID *string                `json:"transaction_id"`
			MetaData      []woocommerce.MetaData `json:"meta_data"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			restError(w, http.StatusBadRequest, "rest_invalid_json", err.Error())
			return
		}
		if in.Status != nil {
			o.Status = *in.Status
			o.StatusWrites = append(o.StatusWrites, *in.Status)
		}
		if in.SetPaid {
			o.DatePaid = true
		}
		if in.TransactionID != nil {
			o.TransactionID = *in.TransactionID
		}
		for _, m := range in.MetaData { // upsert by key, as update_meta_data does
			i := 0
			for i < len(o.Meta) && o.Meta[i].Key != m.Key {
				i++
			}
			if i == len(o.Meta) {
				o.Meta = append(o.Meta, woocommerce.MetaData{ID: int64(len(o.Meta) + 1), Key: m.Key})
			}
			o.Meta[i].Value = m.Value
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.orderJSON(o))
	case "GET notes":
		notes := []map[string]any{}
		for i := len(o.Notes) - 1; i >= 0; i-- {
			notes = append(notes, map[string]any{"id": i + 1, "note": o.Notes[i], "customer_note": false})
		}
		writeJSON(w, http.StatusOK, notes)
	case "POST notes":
		var in struct {
			Note string `json:"note"`
		}
		if json.Unmarshal(body, &in) != nil || in.Note == "" {
			restError(w, http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): note")
			return
		}
		o.Notes = append(o.Notes, in.Note)
		writeJSON(w, http.StatusCreated, map[string]any{"id": len(o.Notes), "note": in.Note})
	case "GET refunds":
		// The order refund resource (_order-refunds.md): newest first, with
		// refunded_payment and the refund's meta data (the plugin's stamp).
		out := []map[string]any{}
		for i := len(o.Refunds) - 1; i >= 0; i-- {
			r := o.Refunds[i]
			meta := []map[string]any{}
			if r.By != "" {
				meta = append(meta, map[string]any{"id": r.ID*10 + 1, "key": woocommerce.RefundByMeta, "value": r.By})
			}
			out = append(out, map[string]any{"id": r.ID, "date_created": "2026-12-01T10:00:00", "amount": money(r.Amount), "reason": r.Reason,
				"refunded_by": 1, "refunded_payment": r.API, "meta_data": meta, "line_items": []any{}})
		}
		w.Header().Set("X-WP-Total", strconv.Itoa(len(out)))
		w.Header().Set("X-WP-TotalPages", "1")
		writeJSON(w, http.StatusOK, out)
	case "POST refunds":
		var in struct {
			Amount    string `json:"amount"`
			Reason    string `json:"reason"`
			APIRefund *bool  `json:"api_refund"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			restError(w, http.StatusBadRequest, "rest_invalid_json", err.Error())
			return
		}
		amount, ok := parseMoney(in.Amount)
		api := in.APIRefund == nil || *in.APIRefund // the docs' default is true
		var rf refund
		var err error
		if ok {
			rf, err = s.refund(o, amount, in.Reason, api)
		}
		if !ok || err != nil {
			restError(w, http.StatusBadRequest, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"id": rf.ID, "amount": money(rf.Amount), "reason": rf.Reason, "refunded_payment": api})
	default:
		restError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
	}
}
