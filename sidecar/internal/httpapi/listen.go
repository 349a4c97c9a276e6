package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// maxHeaderBytes bounds request headers on both listeners; net/http's
// default (1 MiB) is far more than a notification or an API call needs.
const maxHeaderBytes = 64 << 10

// Listener is one of the two listeners: where it listens and what it serves.
type Listener struct {
	Name    string // "public" or "private"
	Addr    string // HOST:PORT; port 0 picks a free one
	Handler http.Handler
}

// Timeouts are the listeners' timeouts, every one set explicitly.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
	// Shutdown bounds how long requests in flight may take to finish.
	Shutdown time.Duration
}

// Task is one background loop: it runs until its context ends.
type Task struct {
	Name string
	Run  func(context.Context) error
}

// Serve runs the listeners and the background tasks until ctx is
// cancelled, then shuts down gracefully: it stops accepting, lets requests
// in flight (notifications above all: their effect must be durable before
// Trustly hears OK) finish within t.Shutdown, stops the tasks, and returns.
// Each listener's address is printed to stdout once it accepts connections.
func Serve(ctx context.Context, log *slog.Logger, stdout io.Writer, t Timeouts, listeners []Listener, background []Task) error {
	type running struct {
		Listener
		srv *http.Server
		ln  net.Listener
	}
	var rs []*running
	for _, l := range listeners {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			for _, o := range rs {
				o.ln.Close()
			}
			return fmt.Errorf("%s listener: %w", l.Name, err)
		}
		rs = append(rs, &running{Listener: l, srv: newServer(ctx, log, t, l.Handler), ln: ln})
	}

	// Background loops stop only after the listeners: a notification in
	// flight may still need them.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	var bg sync.WaitGroup
	for _, task := range background {
		bg.Go(func() {
			if err := task.Run(bgCtx); err != nil && bgCtx.Err() == nil {
				log.Error("background task ended", "task", task.Name, "err", err)
			}
		})
	}

	errc := make(chan error, len(rs))
	for _, r := range rs {
		go func() {
			if err := r.srv.Serve(r.ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener: %w", r.Name, err)
			}
		}()
	}
	for _, r := range rs {
		log.Info("listening", "listener", r.Name, "addr", r.ln.Addr().String())
		fmt.Fprintf(stdout, "%s listener: http://%s\n", r.Name, r.ln.Addr())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		log.Error("listener failed", "err", serveErr)
	}

	log.Info("shutting down: waiting for requests in flight", "timeout", t.Shutdown)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.Shutdown)
	defer cancel()
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			if err := r.srv.Shutdown(sctx); err != nil {
				r.srv.Close()
				errs[i] = fmt.Errorf("%s listener: requests still running after %s were cut off: %w", r.Name, t.Shutdown, err)
			}
		})
	}
	wg.Wait()
	stopBackground()
	bg.Wait()
	err := errors.Join(serveErr, errors.Join(errs...))
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// newServer returns a server with every timeout set explicitly. Requests
// run on a context that carries ctx's values but not its cancellation, so a
// SIGTERM never cuts a notification short; Shutdown waits for it instead.
func newServer(ctx context.Context, log *slog.Logger, t Timeouts, h http.Handler) *http.Server {
	base := context.WithoutCancel(ctx)
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
}
