package saleor

import "github.com/trustly-sidecar/trustly-sidecar/adapter"

// requestBaseURL is the host's absolute public URL of the adapter's route,
// when the host knows it.
func requestBaseURL(adapter.Request) string { return "" }
