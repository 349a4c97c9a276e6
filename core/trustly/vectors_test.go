package trustly

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The two messages below were signed by Trustly's real TEST key.
func TestTrustlySignedVectors(t *testing.T) {
	v, err := NewVerifier(Test)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"trustly-test-deposit-response.json", "trustly-test-credit-notification.json"} {
		t.Run(name, func(t *testing.T) {
			raw := readTestdata(t, name)
			m, err := ParseMessage(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Verify(v); err != nil {
				t.Fatalf("genuine Trustly message does not verify: %v", err)
			}
			live, _ := NewVerifier(Live)
			if err := m.Verify(live); !errors.Is(err, ErrKeyMixup) {
				t.Errorf("TEST message checked with LIVE key: err = %v, want ErrKeyMixup", err)
			}
		})
	}
}

func TestCreditNotificationPlaintext(t *testing.T) {
	m, err := ParseMessage(readTestdata(t, "trustly-test-credit-notification.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindNotification {
		t.Errorf("kind = %v, want notification", m.Kind)
	}
	got, err := m.Plaintext()
	if err != nil {
		t.Fatal(err)
	}
	want := "creditf1b77aac-516d-4b89-a125-c005f4c020f0amount20.00currencySEKenduseridleecSmessageid5001_655548notificationid3653956920orderid3931155141timestamp2015-03-12 15:14:18.61671+00"
	if got != want {
		t.Errorf("plaintext\n got %q\nwant %q", got, want)
	}
}

// Every one-character change inside the signed data must break the signature.
func TestTrustlySignedVectorsTampered(t *testing.T) {
	v, _ := NewVerifier(Test)
	for _, name := range []string{"trustly-test-deposit-response.json", "trustly-test-credit-notification.json"} {
		raw := string(readTestdata(t, name))
		m, err := ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		tampered := 0
		var walk func(path string, node any, set func(any))
		walk = func(path string, node any, set func(any)) {
			switch n := node.(type) {
			case map[string]any:
				for k, c := range n {
					walk(path+"."+k, c, func(x any) { n[k] = x })
				}
			case string:
				for i := range len(n) {
					set(n[:i] + string(n[i]^1) + n[i+1:])
					if err := m.Verify(v); !errors.Is(err, ErrBadSignature) {
						t.Errorf("%s: %s with byte %d flipped still verifies (err=%v)", name, path, i, err)
					}
					tampered++
				}
				set(n)
			}
		}
		walk("data", m.Data(), nil)
		if tampered == 0 {
			t.Fatalf("%s: nothing tampered", name)
		}
		// Method and uuid are signed too.
		for _, edit := range []string{"method", "uuid"} {
			m2, _ := ParseMessage([]byte(raw))
			switch edit {
			case "method":
				m2.method += "x"
			case "uuid":
				m2.uuid = strings.Replace(m2.uuid, "a", "b", 1)
			}
			if err := m2.Verify(v); !errors.Is(err, ErrBadSignature) {
				t.Errorf("%s: changed %s still verifies", name, edit)
			}
		}
		if err := m.Verify(v); err != nil {
			t.Errorf("%s: restored message does not verify: %v", name, err)
		}
	}
}

// A verifier given Trustly's LIVE key is a LIVE verifier, whatever it was
// told: its mix-up message must name the keys actually involved.
func TestVerifierTakesEnvironmentFromTrustlyKey(t *testing.T) {
	v := NewVerifierKey(Test, Live.PublicKey())
	if v.Environment() != Live {
		t.Fatalf("environment = %s, want LIVE", v.Environment())
	}
	m, err := ParseMessage(readTestdata(t, "trustly-test-credit-notification.json"))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Verify(v)
	if !errors.Is(err, ErrKeyMixup) || !strings.Contains(err.Error(), "signed with Trustly's TEST key, but this side is configured for LIVE") {
		t.Errorf("err = %v", err)
	}
}
