package store_test

import (
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

func TestFingerprint(t *testing.T) {
	fp := func(method, path, body string) string {
		t.Helper()
		s, err := store.Fingerprint(method, path, []byte(body))
		if err != nil {
			t.Fatalf("Fingerprint(%q, %q, %q): %v", method, path, body, err)
		}
		return s
	}
	base := fp("POST", "/v1/payments", `{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[1,2]}}`)
	if len(base) != 64 {
		t.Fatalf("fingerprint %q is not hex SHA-256", base)
	}
	for _, tc := range []struct {
		name               string
		method, path, body string
		same               bool
	}{
		{"keys in another order", "POST", "/v1/payments", `{"meta":{"b":[1,2],"a":1},"currency":"EUR","amount":"10.00"}`, true},
		{"other whitespace", "POST", "/v1/payments", "{ \"amount\" : \"10.00\",\n\"currency\":\"EUR\", \"meta\":{\"a\":1,\"b\":[1, 2]} }\n", true},
		{"another amount", "POST", "/v1/payments", `{"amount":"10.01","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, false},
		{"a number written otherwise", "POST", "/v1/payments", `{"amount":"10.00","currency":"EUR","meta":{"a":1.0,"b":[1,2]}}`, false},
		{"array order", "POST", "/v1/payments", `{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[2,1]}}`, false},
		{"another path", "POST", "/v1/charges", `{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, false},
		{"another method", "PUT", "/v1/payments", `{"amount":"10.00","currency":"EUR","meta":{"a":1,"b":[1,2]}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fp(tc.method, tc.path, tc.body); (got == base) != tc.same {
				t.Fatalf("same fingerprint = %t, want %t", got == base, tc.same)
			}
		})
	}
	if fp("DELETE", "/v1/charges/1", "") != fp("DELETE", "/v1/charges/1", "  \n") {
		t.Error("an empty body and a blank one differ")
	}
	for _, bad := range []string{`{"a":`, `{"a":1} {"b":2}`, `not json`} {
		if _, err := store.Fingerprint("POST", "/v1/payments", []byte(bad)); err == nil {
			t.Errorf("Fingerprint accepted the body %q", bad)
		}
	}
}
