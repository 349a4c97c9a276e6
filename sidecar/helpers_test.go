package main

import (
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/apitest"
)

// The HTTP helpers every test of the binary uses (internal/apitest).
type (
	logBuffer = apitest.LogBuffer
	answer    = apitest.Answer
)

func do(t *testing.T, method, url, body string, header ...string) answer {
	t.Helper()
	return apitest.Do(t, method, url, body, header...)
}

// credit is a notification's shape with a made-up signature: enough for
// tests of the listeners, never for the engine.
const credit = `{"method":"credit","version":"1.1","params":{"signature":"c2ln","uuid":"u-1","data":{"notificationid":"n-1"}}}`
