package sim

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Server is a running simulator. Its state lives in memory only.
type Server struct {
	cfg    Config
	clock  Clock
	manual *ManualClock // nil with the wall clock
	log    *slog.Logger
	pubPEM []byte
	sched  *scheduler
	router http.Handler

	// mu guards everything below. It is never held during an HTTP call or
	// while a scheduled task runs, only inside them.
	mu         sync.Mutex
	orders     map[string]*Order
	orderList  []string          // order ids in creation order
	tokens     map[string]string // checkout token → order id
	messageIDs map[string]string // MessageID → order id
	uuids      map[string]bool
	notifs     map[string]*Notification
	accounts   map[string]*account // EndUserID → the shopper's bank account
	balances   map[string]int64
	ids        map[string]bool // every numeric id handed out, to keep them unique

	// runMu serialises running due work, so Advance and the wall-clock
	// runner never deliver two notifications at once.
	runMu sync.Mutex

	lifeMu   sync.Mutex
	httpSrv  *http.Server
	baseURL  string
	stop     chan struct{}
	runnerWG sync.WaitGroup
	closed   bool
}

// account is a shopper's bank account as the simulated bank knows it.
type account struct {
	AccountID string
	EndUserID string
	// Mandate is "" (none asked for), "1" (active) or "0" (declined).
	Mandate string
}

// New checks cfg and returns a simulator. With the wall clock it starts the
// goroutine that runs due work; Close stops it. Call Start to listen, or
// serve Handler yourself.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	pem, err := trustly.MarshalPublicKey(&cfg.Key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		clock:      cfg.Clock,
		log:        cfg.Logger,
		pubPEM:     pem,
		sched:      newScheduler(),
		orders:     map[string]*Order{},
		tokens:     map[string]string{},
		messageIDs: map[string]string{},
		uuids:      map[string]bool{},
		notifs:     map[string]*Notification{},
		accounts:   map[string]*account{},
		balances:   cfg.Balances,
		ids:        map[string]bool{},
		stop:       make(chan struct{}),
	}
	s.manual, _ = cfg.Clock.(*ManualClock)
	s.router = s.routes()
	if s.manual == nil {
		s.runnerWG.Add(1)
		go s.runner()
	}
	return s, nil
}

// Handler serves the API, the checkout pages and the /sim control routes.
func (s *Server) Handler() http.Handler { return s.router }

// Start listens on Config.Addr (default 127.0.0.1:0) and serves in the
// background until Close.
func (s *Server) Start() error {
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("sim: %w", err) // net's error says "listen tcp ADDR"
	}
	if err := s.Serve(l); err != nil {
		l.Close()
		return err
	}
	return nil
}

// Serve serves on l in the background until Close: for a caller that
// listens first (to fail on a busy port before doing anything else).
func (s *Server) Serve(l net.Listener) error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closed {
		return errors.New("sim: server is closed")
	}
	if s.httpSrv != nil {
		return errors.New("sim: already started")
	}
	s.baseURL = "http://" + l.Addr().String()
	s.httpSrv = &http.Server{Handler: s.router, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.httpSrv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("sim: serve", "error", err.Error())
		}
	}()
	s.log.Info("sim: listening", "url", s.baseURL)
	return nil
}

// Close stops the listener and the runner. Queued work is dropped.
func (s *Server) Close() error {
	s.lifeMu.Lock()
	if s.closed {
		s.lifeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	srv := s.httpSrv
	s.lifeMu.Unlock()
	var err error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(ctx)
	}
	s.runnerWG.Wait()
	return err
}

// URL is the simulator's base URL: Config.PublicURL, else the listener's.
// It is empty before Start when no PublicURL is configured.
func (s *Server) URL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return s.baseURL
}

// APIURL is where the merchant posts its JSON-RPC calls (URL + "/api/1",
// the path of Trustly's TEST endpoint).
func (s *Server) APIURL() string { return s.URL() + "/api/1" }

// PublicKey is the simulator's "Trustly" public key, which verifies every
// response, error and notification it sends.
func (s *Server) PublicKey() *rsa.PublicKey { return &s.cfg.Key.PublicKey }

// PublicKeyPEM is PublicKey as a PEM "PUBLIC KEY" block, the form Trustly
// publishes.
func (s *Server) PublicKeyPEM() []byte { return append([]byte(nil), s.pubPEM...) }

// Now is the simulator's current time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// ErrNotManualClock is returned by Advance when the simulator runs on the
// wall clock, which cannot be moved.
var ErrNotManualClock = errors.New("sim: Advance needs a *ManualClock (Config.Clock)")

// Advance moves the manual clock forward by d and runs, in due order, all
// work that falls due on the way, each at its own due time: a retry that a
// failed delivery schedules one minute later runs within the same Advance
// if that minute is covered. Deliveries to the merchant happen inside this
// call. Advance(ctx, 0) runs what is due now.
func (s *Server) Advance(ctx context.Context, d time.Duration) error {
	if s.manual == nil {
		return ErrNotManualClock
	}
	target := s.manual.Now().Add(max(d, 0))
	s.runMu.Lock()
	defer s.runMu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		due, ok := s.sched.next()
		if !ok || due.After(target) {
			break
		}
		s.manual.set(due)
		if t := s.sched.popDue(s.manual.Now()); t != nil {
			t.run(ctx)
		}
	}
	s.manual.set(target)
	return nil
}

// RunDue runs all work due now without moving the clock.
func (s *Server) RunDue(ctx context.Context) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	for ctx.Err() == nil {
		t := s.sched.popDue(s.clock.Now())
		if t == nil {
			return
		}
		t.run(ctx)
	}
}

// Scheduled lists the queued future work, earliest first.
func (s *Server) Scheduled() []ScheduledTask { return s.sched.pending() }

// runner runs due work on the wall clock until Close.
func (s *Server) runner() {
	defer s.runnerWG.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		s.RunDue(ctx)
		wait := time.Hour
		if due, ok := s.sched.next(); ok {
			wait = max(time.Until(due), 0)
		}
		t := time.NewTimer(wait)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-s.sched.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// schedule queues fn at due. It may be called with s.mu held.
func (s *Server) schedule(due time.Time, name string, fn func(ctx context.Context)) {
	s.sched.add(due, name, fn)
}
