// Package httpapi is the sidecar's HTTP surface: the two listeners and
// everything they route (routes.go lists every route).
//
//   - public (Ingress): Trustly's notifications, pay-link pages, /healthz;
//   - private (the shop, token-protected): the shop API /v1 (v1.go; its JSON
//     is package shopapi's), platform webhooks (webhooks.go), /readyz,
//     /metrics, /openapi.json.
//
// errors.go is the one table from errors to HTTP answers; middleware.go gives
// every request an id, a log line, a latency metric and panic recovery;
// listen.go runs the listeners and shuts them down gracefully.
package httpapi
