package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPprofNeedsTheToken(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(WithPprof(next, "token-0123456789abcdef"))
	defer srv.Close()
	get := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/debug/pprof/", "", http.StatusUnauthorized},
		{"/debug/pprof/heap", "wrong", http.StatusUnauthorized},
		{"/debug/pprof/", "token-0123456789abcdef", http.StatusOK},
		{"/debug/pprof/heap", "token-0123456789abcdef", http.StatusOK},
		{"/v1/anything", "", http.StatusTeapot}, // everything else is the listener's own
	} {
		if got := get(tc.path, tc.token); got != tc.want {
			t.Errorf("GET %s (token %q) = %d, want %d", tc.path, tc.token, got, tc.want)
		}
	}
}
