package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// routes is the simulator's whole HTTP surface:
//
//	POST /api/1                                  Trustly's JSON-RPC API (also /1, LIVE's path)
//	GET  /checkout/{token}                       the bank page the checkout URL points to
//	POST /checkout/{token}                       the shopper approves or declines
//	GET  /sim/publickey                          the simulator's Trustly public key (PEM)
//	GET  /sim/orders                             every order
//	GET  /sim/orders/{orderid}                   one order
//	POST /sim/orders/{orderid}/approve           act as the shopper: ?scenario=D1&amount=10.00
//	POST /sim/orders/{orderid}/decline           act as the shopper declining
//	GET  /sim/orders/{orderid}/notifications     the order's notifications with their attempts
//	POST /sim/orders/{orderid}/notifications     send a custom notification (CustomNotification JSON)
//	GET  /sim/notifications/{notificationid}     one notification
//	POST /sim/notifications/{notificationid}/replay  deliver it again now (releases a held one)
//	GET  /sim/balances                           merchant balances (minor units)
//	GET  /sim/scheduled                          queued future work
//	POST /sim/clock/advance?d=1h                 move a manual clock and run what falls due
//
// The /sim routes are the simulator's control panel for tests and people;
// Trustly has nothing like them, and they are unauthenticated.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc("/api/1", s.handleAPI).Methods(http.MethodPost)
	r.HandleFunc("/1", s.handleAPI).Methods(http.MethodPost)
	r.HandleFunc("/checkout/{token}", s.handleCheckoutGet).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/checkout/{token}", s.handleCheckoutPost).Methods(http.MethodPost)

	c := r.PathPrefix("/sim").Subrouter()
	c.HandleFunc("/publickey", s.handlePublicKey).Methods(http.MethodGet)
	c.HandleFunc("/orders", s.handleOrders).Methods(http.MethodGet)
	c.HandleFunc("/orders/{orderid}", s.handleOrder).Methods(http.MethodGet)
	c.HandleFunc("/orders/{orderid}/approve", s.handleApprove).Methods(http.MethodPost)
	c.HandleFunc("/orders/{orderid}/decline", s.handleDecline).Methods(http.MethodPost)
	c.HandleFunc("/orders/{orderid}/notifications", s.handleNotifications).Methods(http.MethodGet)
	c.HandleFunc("/orders/{orderid}/notifications", s.handleCustom).Methods(http.MethodPost)
	c.HandleFunc("/notifications/{notificationid}", s.handleNotification).Methods(http.MethodGet)
	c.HandleFunc("/notifications/{notificationid}/replay", s.handleReplay).Methods(http.MethodPost)
	c.HandleFunc("/balances", s.handleBalances).Methods(http.MethodGet)
	c.HandleFunc("/scheduled", s.handleScheduled).Methods(http.MethodGet)
	c.HandleFunc("/clock/advance", s.handleAdvance).Methods(http.MethodPost)
	return r
}

// controlError maps the simulator's errors to HTTP status in one place.
func controlError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, ErrNoOrder), errors.Is(err, ErrNoNotification):
		status = http.StatusNotFound
	case errors.Is(err, ErrExpired):
		status = http.StatusGone
	case errors.Is(err, ErrNotOpen), errors.Is(err, ErrNotManualClock):
		status = http.StatusConflict
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func (s *Server) handlePublicKey(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(s.pubPEM)
}

func (s *Server) handleOrders(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Orders())
}

func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["orderid"]
	o, ok := s.Order(id)
	if !ok {
		controlError(w, fmt.Errorf("%w: %s", ErrNoOrder, id))
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) {
	var amount int64
	if a := r.URL.Query().Get("amount"); a != "" {
		v, err := trustly.ParseAmount(a)
		if err != nil {
			controlError(w, err)
			return
		}
		amount = v
	}
	target, err := s.ApproveAs(mux.Vars(r)["orderid"], r.URL.Query().Get("scenario"), amount, r.URL.Query().Get("kyc"))
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": target})
}

func (s *Server) handleDecline(w http.ResponseWriter, r *http.Request) {
	target, err := s.Decline(mux.Vars(r)["orderid"])
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": target})
}

func (s *Server) handleNotifications(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["orderid"]
	if _, ok := s.Order(id); !ok {
		controlError(w, fmt.Errorf("%w: %s", ErrNoOrder, id))
		return
	}
	list := s.Notifications(id)
	if list == nil {
		list = []Notification{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) handleNotification(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["notificationid"]
	n, ok := s.Notification(id)
	if !ok {
		controlError(w, fmt.Errorf("%w: %s", ErrNoNotification, id))
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	att, err := s.Replay(r.Context(), mux.Vars(r)["notificationid"])
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, att)
}

func (s *Server) handleCustom(w http.ResponseWriter, r *http.Request) {
	var c CustomNotification
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBytes))
	dec.UseNumber() // numbers keep their text, so what is signed is what was asked for
	if err := dec.Decode(&c); err != nil {
		controlError(w, fmt.Errorf("sim: custom notification: %w", err))
		return
	}
	n, err := s.SendCustom(r.Context(), mux.Vars(r)["orderid"], c)
	if err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (s *Server) handleBalances(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Balances())
}

func (s *Server) handleScheduled(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Scheduled())
}

func (s *Server) handleAdvance(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("d"))
	if err != nil || d < 0 {
		controlError(w, fmt.Errorf("sim: advance: want ?d=<duration>, e.g. 1h30m: %v", err))
		return
	}
	if err := s.Advance(r.Context(), d); err != nil {
		controlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"now": s.Now().Format(time.RFC3339Nano)})
}
