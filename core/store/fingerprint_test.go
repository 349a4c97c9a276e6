package store_test

import (
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

func TestFingerprint(t *testing.T) {
	fp := func(body string, request ...string) string {
		t.Helper()
		s, err := store.Fingerprint([]byte(body), request...)
		if err != nil {
			t.Fatalf("Fingerprint(%q, %q): %v", body, request, err)
		}
		return s
	}
	base := fp(`{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, "POST", "/v1/payments")
	if len(base) != 64 {
		t.Fatalf("fingerprint %q is not hex SHA-256", base)
	}
	for _, tc := range []struct {
		name    string
		request []string
		body    string
		same    bool
	}{
		{"keys in another order", []string{"POST", "/v1/payments"}, `{"meta":{"b":[1,2],"a":1},"currency":"EUR","amount":"10.00"}`, true},
		{"other whitespace", []string{"POST", "/v1/payments"}, "{ \"amount\" : \"10.00\",\n\"currency\":\"EUR\", \"meta\":{\"a\":1,\"b\":[1, 2]} }\n", true},
		{"another amount", []string{"POST", "/v1/payments"}, `{"amount":"10.01","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, false},
		{"a number written otherwise", []string{"POST", "/v1/payments"}, `{"amount":"10.00","currency":"EUR","meta":{"a":1.0,"b":[1,2]}}`, false},
		{"array order", []string{"POST", "/v1/payments"}, `{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[2,1]}}`, false},
		{"another target", []string{"POST", "/v1/charges"}, `{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, false},
		{"another operation", []string{"PUT", "/v1/payments"}, `{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, false},
		{"parts run together", []string{"POST/v1/payments"}, `{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, false},
		{"one part more", []string{"POST", "/v1/payments", ""}, `{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fp(tc.body, tc.request...); (got == base) != tc.same {
				t.Fatalf("same fingerprint = %t, want %t", got == base, tc.same)
			}
		})
	}
	if fp("", "DELETE", "/v1/charges/1") != fp("  \n", "DELETE", "/v1/charges/1") {
		t.Error("an empty body and a blank one differ")
	}
	for _, bad := range []string{`{"a":`, `{"a":1} {"b":2}`, `not json`} {
		if _, err := store.Fingerprint([]byte(bad), "POST", "/v1/payments"); err == nil {
			t.Errorf("Fingerprint accepted the body %q", bad)
		}
	}
	if _, err := store.Fingerprint([]byte(`{}`), "POST", "/v1/pay\nments"); err == nil {
		t.Error("Fingerprint accepted a request part with a newline")
	}
}

// Records stored by the version whose Fingerprint took (method, path, body)
// must keep matching: these values were computed with that function.
func TestFingerprintMatchesTheMethodAndPathVersion(t *testing.T) {
	for _, tc := range []struct {
		body    string
		request []string
		want    string
	}{
		{`{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, []string{"POST", "/v1/payments"},
			"2c6bd262e19d3722f6c7ed8ca51fc81eed97f7c00a0378bea8a584a00a0d6501"},
		{"", []string{"DELETE", "/v1/charges/1"},
			"5a9335b2f82cfd94214a2c79f77a6485a2363b2ed83b328421c3fdf53e6f3136"},
	} {
		got, err := store.Fingerprint([]byte(tc.body), tc.request...)
		if err != nil || got != tc.want {
			t.Errorf("Fingerprint(%q, %q) = %s, %v; want %s", tc.body, tc.request, got, err, tc.want)
		}
	}
}
