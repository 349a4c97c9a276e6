package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/paylink"
)

// addPublicRoutes is the public listener's whole surface, reachable from the
// internet through the Ingress:
//
//	GET  /healthz                          the process is up (liveness)
//	POST /trustly/notifications/{secret}   Trustly's notifications; a wrong secret is 404
//	GET  /pay/{token}                      a pay link's page: shop, order, amount, expiry and a Pay button; changes nothing
//	POST /pay/{token}                      the Pay button: Deposit now, 303 to Trustly (or a page saying why not)
//	GET, POST /platform/{platform}[/...]   a Public adapter's platform (a SaaS platform calling in); 404 otherwise
//
// Without pay links (tests of the listeners) /pay is not routed. HEAD is
// not routed either: link scanners use it, and it must not start a Deposit.
// Without an adapter, /platform is not routed.
func addPublicRoutes(r *mux.Router, log *slog.Logger, m *metrics.Set, secret string, maxNotification int64, notifications NotificationHandler, links *paylink.Links, platform http.Handler) {
	r.Handle("/healthz", handleHealthz()).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/trustly/notifications/{secret}", handleNotification(log, m, secret, maxNotification, notifications)).Methods(http.MethodPost)
	if links != nil {
		r.Handle("/pay/{token}", links.Page()).Methods(http.MethodGet, http.MethodHead)
		r.Handle("/pay/{token}", links.Pay()).Methods(http.MethodPost)
	}
	if platform != nil {
		r.Handle("/platform/{platform}", platform).Methods(http.MethodGet, http.MethodPost)
		r.Handle("/platform/{platform}/{rest:.*}", platform).Methods(http.MethodGet, http.MethodPost)
	}
}

// addPrivateRoutes is the private listener's whole surface, for the shop on
// localhost or the pod network. With a token, everything but /readyz needs
// it (kubelet probes send no token; /readyz reveals only up or down).
//
//	GET    /readyz                          Redis and plugins answer (readiness)
//	GET    /metrics                         Prometheus
//	GET    /openapi.json                    the OpenAPI 3 document of /v1
//	/v1/...                                 the shop API, see openapi.json
func addPrivateRoutes(r *mux.Router, log *slog.Logger, m *metrics.Set, token string, ready []ReadinessCheck, api *API) {
	auth := func(h http.Handler) http.Handler { return requireToken(token, h) }
	r.Handle("/readyz", handleReadyz(log, ready)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", auth(m.Handler())).Methods(http.MethodGet)
	r.Handle("/openapi.json", auth(handleOpenAPI())).Methods(http.MethodGet)

	// Full paths on the one router rather than a /v1 subrouter: gorilla/mux
	// answers a wrong method inside a subrouter with 404 instead of 405.
	// Without an engine (tests of the listeners) every operation is 501.
	v1 := func(h func() http.Handler, hasBody bool) http.Handler {
		if api == nil {
			return auth(handleNotImplemented(hasBody))
		}
		return auth(h())
	}
	r.Handle("/v1/payments", v1(api.createPayment, true)).Methods(http.MethodPost)
	r.Handle("/v1/payments", v1(api.findPayments, false)).Methods(http.MethodGet)
	r.Handle("/v1/payments/{id}", v1(func() http.Handler { return api.getPayment(engine.FlowDeposit, engine.FlowCharge, engine.FlowRefund) }, false)).Methods(http.MethodGet)
	r.Handle("/v1/payments/{id}/refunds", v1(api.createRefund, true)).Methods(http.MethodPost)
	r.Handle("/v1/payments/{id}/events", v1(func() http.Handler { return api.getTimeline(engine.FlowDeposit, engine.FlowCharge, engine.FlowRefund) }, false)).Methods(http.MethodGet)
	r.Handle("/v1/mandates/{id}/events", v1(func() http.Handler { return api.getTimeline(engine.FlowMandate) }, false)).Methods(http.MethodGet)
	r.Handle("/v1/mandates", v1(api.createMandate, true)).Methods(http.MethodPost)
	r.Handle("/v1/mandates/{id}", v1(func() http.Handler { return api.getPayment(engine.FlowMandate) }, false)).Methods(http.MethodGet)
	r.Handle("/v1/charges", v1(api.createCharge, true)).Methods(http.MethodPost)
	r.Handle("/v1/charges/{id}", v1(api.cancelCharge, false)).Methods(http.MethodDelete)
	r.Handle("/v1/balance", v1(api.getBalance, false)).Methods(http.MethodGet)
	r.Handle("/v1/notifications/unrouted", v1(api.listUnrouted, false)).Methods(http.MethodGet)

	r.Handle("/v1/paylinks", v1(api.createPayLink, true)).Methods(http.MethodPost)
	r.Handle("/v1/paylinks/{id}", v1(api.getPayLink, false)).Methods(http.MethodGet)
	r.Handle("/v1/paylinks/{id}", v1(api.revokePayLink, false)).Methods(http.MethodDelete)

	// Platform webhooks carry no bearer token (WooCommerce and Saleor
	// cannot send one): the adapter authenticates each by the platform's
	// own signature before anything runs (see webhooks.go).
	// Below the platform's name, the rest of the path is the adapter's
	// (one path per webhook, a manifest).
	hook := auth(handleNotImplemented(false))
	if api != nil {
		hook = api.platformWebhook()
	}
	r.Handle("/v1/webhooks/{platform}", hook).Methods(http.MethodGet, http.MethodPost)
	r.Handle("/v1/webhooks/{platform}/{rest:.*}", hook).Methods(http.MethodGet, http.MethodPost)
}
