package adaptertest_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
)

// The kit's HeaderAuth mode, for platforms that authenticate by a header's
// value alone (a commercetools API Extension's Authorization header). An
// adapter that compares the whole value passes; one that only looks for the
// header's presence or prefix fails, in the wrong-header check only.

const (
	envHeaderSubject = "ADAPTERTEST_KIT_HEADER_SUBJECT"
	headerValue      = "Basic c2lkZWNhcjpleHRlbnNpb24tc2VjcmV0"
)

// headerShop authenticates by the Authorization header: exactly (check
// nil) or by check.
type headerShop struct {
	refShop
	check func(string) bool
}

func (a *headerShop) Translate(_ context.Context, req adapter.Request) ([]adapter.Command, error) {
	ok := req.Header.Get("Authorization") == headerValue
	if a.check != nil {
		ok = a.check(req.Header.Get("Authorization"))
	}
	if !ok {
		return nil, fmt.Errorf("%w: wrong Authorization", adapter.ErrUnauthenticated)
	}
	return a.cmds, nil
}

var laxHeaderShops = map[string]func(string) bool{
	"present":   func(v string) bool { return v != "" },
	"prefix":    func(v string) bool { return strings.HasPrefix(v, headerValue) },
	"truncated": func(v string) bool { return v != "" && strings.HasPrefix(headerValue, v) },
}

func runHeaderKit(t *testing.T, check func(string) bool) {
	body := []byte(`{"event_id":"evt_1","type":"payment.requested"}`)
	adaptertest.Run(t, func(t *testing.T) adaptertest.Subject {
		p := &refPlatform{applied: map[string][]string{}, seen: map[string]bool{}}
		return adaptertest.Subject{Adapter: &headerShop{refShop: refShop{cmds: []adapter.Command{payment}, platform: p}, check: check}, Platform: p}
	}, adaptertest.Fixtures{
		SignatureHeaders: []string{"Authorization"},
		HeaderAuth:       true,
		Requests: []adaptertest.Request{{
			Name:    "payment",
			Request: adapter.Request{Method: http.MethodPost, Header: http.Header{"Authorization": {headerValue}}, Body: body},
			Want:    []adapter.Command{payment},
		}},
		Changes: []adapter.StatusChange{{ID: "ord_1:1", Order: adapter.Order{ID: "1001"}, Status: adapter.StatusPaid}},
	})
}

func TestKitPassesAnAdapterAuthenticatedByAHeader(t *testing.T) {
	runHeaderKit(t, nil)
}

func TestKitFailsAHeaderAdapterThatDoesNotCompareTheWholeValue(t *testing.T) {
	for name := range laxHeaderShops {
		t.Run(name, func(t *testing.T) {
			out, passed := runKitChild(t, "TestKitOnALaxHeaderAdapter", envHeaderSubject, name)
			if passed {
				t.Fatalf("the kit passed an adapter checking the header by %q:\n%s", name, out)
			}
			onlyFailed(t, out, "TestKitOnALaxHeaderAdapter", "wrong-header/")
		})
	}
}

// TestKitOnALaxHeaderAdapter is the child process's test.
func TestKitOnALaxHeaderAdapter(t *testing.T) {
	name := os.Getenv(envHeaderSubject)
	if name == "" {
		t.Skip("run in a child process by TestKitFailsAHeaderAdapterThatDoesNotCompareTheWholeValue")
	}
	check, ok := laxHeaderShops[name]
	if !ok {
		t.Fatalf("no lax adapter %q", name)
	}
	runHeaderKit(t, check)
}
