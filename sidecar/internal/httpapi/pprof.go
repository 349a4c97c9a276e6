package httpapi

import (
	"net/http"
	"net/http/pprof"
)

// WithPprof puts Go's profiler under /debug/pprof/ in front of the private
// listener's handler, behind the same token. It is off unless asked for
// (TRUSTLY_SIDECAR_PPROF): a profile shows memory, and that holds secrets.
func WithPprof(next http.Handler, token string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/debug/pprof/", requireToken(token, http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/cmdline", requireToken(token, http.HandlerFunc(pprof.Cmdline)))
	mux.Handle("/debug/pprof/profile", requireToken(token, http.HandlerFunc(pprof.Profile)))
	mux.Handle("/debug/pprof/symbol", requireToken(token, http.HandlerFunc(pprof.Symbol)))
	mux.Handle("/debug/pprof/trace", requireToken(token, http.HandlerFunc(pprof.Trace)))
	mux.Handle("/", next)
	return mux
}
