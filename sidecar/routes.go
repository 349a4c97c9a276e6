package main

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"
)

// addPublicRoutes is the public listener's whole surface, reachable from the
// internet through the Ingress:
//
//	GET  /healthz                          the process is up (liveness)
//	POST /trustly/notifications/{secret}   Trustly's notifications; a wrong secret is 404
//
// Pay-link pages (GET/POST /pay/{token}) join them with the engine.
func addPublicRoutes(r *mux.Router, log *slog.Logger, m *Metrics, secret string, maxNotification int64, notifications notificationHandler) {
	r.Handle("/healthz", handleHealthz()).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/trustly/notifications/{secret}", handleNotification(log, m, secret, maxNotification, notifications)).Methods(http.MethodPost)
}

// addPrivateRoutes is the private listener's whole surface, for the shop on
// localhost or the pod network. With a token, everything but /readyz needs
// it (kubelet probes send no token; /readyz reveals only up or down).
//
//	GET    /readyz                          Redis and plugins answer (readiness)
//	GET    /metrics                         Prometheus
//	GET    /openapi.json                    the OpenAPI 3 document of /v1
//	/v1/...                                 the shop API, see openapi.json
func addPrivateRoutes(r *mux.Router, log *slog.Logger, m *Metrics, token string, ready []readinessCheck) {
	auth := func(h http.Handler) http.Handler { return requireToken(token, h) }
	r.Handle("/readyz", handleReadyz(log, ready)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", auth(m.Handler())).Methods(http.MethodGet)
	r.Handle("/openapi.json", auth(handleOpenAPI())).Methods(http.MethodGet)

	// Until the engine lands every operation answers 501 not_implemented
	// (after checking a body is JSON); openapi.json describes them already.
	// Full paths on the one router rather than a /v1 subrouter: gorilla/mux
	// answers a wrong method inside a subrouter with 404 instead of 405.
	r.Handle("/v1/payments", auth(handleNotImplemented(true))).Methods(http.MethodPost)
	r.Handle("/v1/payments", auth(handleNotImplemented(false))).Methods(http.MethodGet)
	r.Handle("/v1/payments/{id}", auth(handleNotImplemented(false))).Methods(http.MethodGet)
	r.Handle("/v1/payments/{id}/refunds", auth(handleNotImplemented(true))).Methods(http.MethodPost)
	r.Handle("/v1/paylinks", auth(handleNotImplemented(true))).Methods(http.MethodPost)
	r.Handle("/v1/mandates", auth(handleNotImplemented(true))).Methods(http.MethodPost)
	r.Handle("/v1/mandates/{id}", auth(handleNotImplemented(false))).Methods(http.MethodGet)
	r.Handle("/v1/charges", auth(handleNotImplemented(true))).Methods(http.MethodPost)
	r.Handle("/v1/charges/{id}", auth(handleNotImplemented(false))).Methods(http.MethodDelete)
	r.Handle("/v1/balance", auth(handleNotImplemented(false))).Methods(http.MethodGet)
	r.Handle("/v1/webhooks/{platform}", auth(handleNotImplemented(false))).Methods(http.MethodPost)
}
