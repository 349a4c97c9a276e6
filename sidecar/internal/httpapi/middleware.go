package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	routeKey
)

// maxRequestIDLen bounds an X-Request-Id we accept from the caller.
const maxRequestIDLen = 128

// RequestID returns the id withRequestID gave the request, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// withRequestID gives every request an id: the caller's X-Request-Id when it
// is sane (so a shop can follow its own id through our logs), else a new one.
// It is echoed in the X-Request-Id answer header and added to every log
// record made with the request's context.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// saneRequestID accepts ids that cannot forge log lines or headers.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("-_.:", c):
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// LogHandler adds the request id of each record's context to the record.
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// routeInfo carries what is learnt inside the router out to observe: the
// matched route template (metrics and logs name routes by template, never
// by raw path, which on the public listener holds the notification secret)
// and the error the answer was made from, so that every 5xx is logged with
// its cause in one place.
type routeInfo struct {
	template string
	err      error
}

func routeTemplate(ctx context.Context) string {
	if ri, _ := ctx.Value(routeKey).(*routeInfo); ri != nil && ri.template != "" {
		return ri.template
	}
	return "unmatched"
}

// noteError records err as the cause of the request's answer, for observe
// to log. The last one noted wins: a handler that learns more after the
// answer was made (a failure to store it) notes the fuller error.
func noteError(ctx context.Context, err error) {
	if ri, _ := ctx.Value(routeKey).(*routeInfo); ri != nil {
		ri.err = err
	}
}

// recordRoute is router middleware (mux.Router.Use): it runs only for
// matched routes.
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri, _ := r.Context().Value(routeKey).(*routeInfo); ri != nil {
			if t, err := mux.CurrentRoute(r).GetPathTemplate(); err == nil {
				ri.template = t
			}
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status of the answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs each request and records its latency, by listener and route.
// A 5xx is logged at ERROR with its cause (the error noted by writeError or
// errorResponse) and, through the context, the request id: the one place
// where a server-side failure reaches the log, so none answers without a
// cause. Errors never carry secrets (core/trustly quotes no credentials or
// signatures; the store no passwords), and 4xx causes stay out: they are
// the caller's, answered in the body.
func observe(log *slog.Logger, m *metrics.Set, listener string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &routeInfo{}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), routeKey, ri))
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		if sw.Header().Get("Content-Length") != "" {
			// The whole answer is written: send it now, so the caller
			// does not wait for the metrics and the log line below (net/http
			// would send it only once this handler returns).
			_ = http.NewResponseController(sw).Flush()
		}
		route := routeTemplate(r.Context())
		m.ObserveRequest(listener, route, r.Method, sw.status, elapsed)
		level := slog.LevelInfo
		attrs := []slog.Attr{slog.String("listener", listener), slog.String("method", r.Method),
			slog.String("route", route), slog.Int("status", sw.status),
			slog.Duration("duration", elapsed)}
		switch {
		case sw.status >= 500:
			level = slog.LevelError
			cause := "unknown: the answer was written without an error"
			if ri.err != nil {
				cause = ri.err.Error()
			}
			attrs = append(attrs, slog.String("err", cause))
		case sw.status == http.StatusRequestTimeout:
			// A client too slow to send its body: worth a warning (many
			// at once is a slowloris), never an error of ours.
			level = slog.LevelWarn
		case route == "/healthz" || route == "/readyz" || route == "/metrics":
			level = slog.LevelDebug // probes and scrapes every few seconds
		}
		log.LogAttrs(r.Context(), level, "http request", attrs...)
	})
}

// recoverPanics turns a panic in a handler into a logged 500 JSON answer.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // net/http's own sentinel, compared as net/http does
				panic(v)
			}
			log.ErrorContext(r.Context(), "handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeError(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// requireToken lets a request through only with "Authorization: Bearer
// <token>". An empty token (a localhost-only listener) lets everything
// through. The comparison takes the same time whatever the guess.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trustly-sidecar"`)
			writeError(w, r, errUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleError answers every request with err, for the routers' not-found
// and method-not-allowed answers.
func handleError(err error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, err)
	})
}
