package httpapi

import (
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/apitest"
)

// The HTTP helpers of the sidecar's tests (internal/apitest).
type (
	logBuffer = apitest.LogBuffer
	answer    = apitest.Answer
)

func do(t *testing.T, method, url, body string, header ...string) answer {
	t.Helper()
	return apitest.Do(t, method, url, body, header...)
}

// Secrets the tests look for in output, where they must never appear.
const (
	testSecret = "notify-secret-0123456789abcdef"
	testToken  = "shop-token-0123456789-never-shown"
)
