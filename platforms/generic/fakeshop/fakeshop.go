// Package fakeshop is a shop that takes the generic adapter's status
// callbacks over real HTTP, for tests: it checks each callback's signature,
// applies each change id once, and can be told to be down, to refuse, to
// hang, or to hold a callback until the test lets it go.
package fakeshop

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
)

// Shop is the fake. The zero value is not usable; call New.
type Shop struct {
	URL string

	secret []byte
	now    func() time.Time

	mu       sync.Mutex
	mode     adaptertest.Mode
	orders   map[string][]string // order id → statuses applied, in order
	applied  map[string]bool     // change ids taken into account
	received []generic.Callback  // every authentic callback, duplicates included
	arrived  chan generic.Callback
	gate     chan struct{} // when set, callbacks wait for it to close
}

var _ adaptertest.Platform = (*Shop)(nil)

// New starts a shop that verifies callbacks with secret; it stops with t.
func New(t testing.TB, secret []byte) *Shop {
	s := &Shop{
		secret: secret, now: time.Now,
		orders: map[string][]string{}, applied: map[string]bool{},
		arrived: make(chan generic.Callback, 1024),
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/trustly/callback"
	return s
}

// SetMode switches how the shop answers.
func (s *Shop) SetMode(m adaptertest.Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Hold makes callbacks wait (after they arrived, before they are applied)
// until the returned function is called.
func (s *Shop) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := make(chan struct{})
	s.gate = g
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gate == g {
				s.gate = nil
			}
			s.mu.Unlock()
			close(g)
		})
	}
}

// Arrived delivers every authentic callback as it arrives, before it is
// applied.
func (s *Shop) Arrived() <-chan generic.Callback { return s.arrived }

// Snapshot is the order's status history.
func (s *Shop) Snapshot(orderID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.orders[orderID], ",")
}

// Applied reports whether the change id has been taken into account.
func (s *Shop) Applied(changeID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[changeID]
}

// Received is every authentic callback, redeliveries included.
func (s *Shop) Received() []generic.Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

func (s *Shop) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := generic.Verify(r.Header, s.secret, body, s.now(), generic.DefaultTolerance); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var cb generic.Callback
	if err := json.Unmarshal(body, &cb); err != nil || cb.ChangeID == "" || r.Header.Get(generic.HeaderIdempotencyKey) != cb.ChangeID {
		http.Error(w, fmt.Sprintf("bad callback: %v", err), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	mode, gate := s.mode, s.gate
	s.received = append(s.received, cb)
	s.mu.Unlock()
	select {
	case s.arrived <- cb:
	default: // nobody is listening; Received still has it
	}

	switch mode {
	case adaptertest.Unavailable:
		http.Error(w, "shop is down for maintenance", http.StatusServiceUnavailable)
		return
	case adaptertest.Rejecting:
		http.Error(w, "order is archived", http.StatusUnprocessableEntity)
		return
	case adaptertest.Hanging:
		<-r.Context().Done()
		return
	}
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return // the sender gave up (or died): nothing applied
		}
	}

	s.mu.Lock()
	if !s.applied[cb.ChangeID] {
		s.applied[cb.ChangeID] = true
		s.orders[cb.OrderID] = append(s.orders[cb.OrderID], cb.Status)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
