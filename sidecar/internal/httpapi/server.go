package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/paylink"
)

// NotificationHandler applies a notification Trustly posted and returns the
// signed reply to send back. The engine implements it. Its errors:
//   - wrapping store.ErrUnavailable: the effect is not durable; answered 503
//     so that Trustly sends the notification again;
//   - wrapping trustly.ErrBadSignature or trustly.ErrInvalidNotification:
//     not Trustly's or not a notification; answered 400, no reply;
//   - anything else: 500, and Trustly sends it again.
type NotificationHandler interface {
	HandleNotification(ctx context.Context, body []byte) (reply []byte, err error)
}

// ReadinessCheck is one thing /readyz asks: Redis, and the plugin host.
type ReadinessCheck struct {
	Name  string
	Check func(context.Context) error
	// Advisory: a failure shows as "weak" in the answer but leaves the
	// sidecar ready (Redis's durability settings: worth seeing, not worth
	// taking the pod out of service).
	Advisory bool
}

// NewPublic returns the handler of the public listener; platform (nil
// without an adapter) serves a Public adapter's routes.
func NewPublic(log *slog.Logger, m *metrics.Set, notificationSecret string, maxNotification int64, notifications NotificationHandler, links *paylink.Links, platform http.Handler) http.Handler {
	r := newRouter()
	addPublicRoutes(r, log, m, notificationSecret, maxNotification, notifications, links, platform)
	return wrap(log, m, "public", r)
}

// NewPrivate returns the handler of the private listener. token empty
// means no authentication (the listener is bound to localhost).
func NewPrivate(log *slog.Logger, m *metrics.Set, token string, maxRequest int64, ready []ReadinessCheck, api *API) http.Handler {
	r := newRouter()
	addPrivateRoutes(r, log, m, token, ready, api)
	return wrap(log, m, "private", limitBody(maxRequest, r))
}

func newRouter() *mux.Router {
	r := mux.NewRouter()
	r.Use(recordRoute)
	r.NotFoundHandler = handleError(errNotFound)
	r.MethodNotAllowedHandler = handleError(errMethodNotAllowed)
	return r
}

// wrap adds what every request gets, outermost first: an id, a log line and
// latency metric, and recovery from panics.
func wrap(log *slog.Logger, m *metrics.Set, listener string, h http.Handler) http.Handler {
	return withRequestID(observe(log, m, listener, recoverPanics(log, h)))
}

// limitBody bounds every request body; reading past the limit fails with
// *http.MaxBytesError, which errorAnswer turns into 413.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}
