package trustly

import (
	"errors"
	"strings"
	"testing"
)

// One example of each envelope, unsigned. Signing fills the signature in.
var envelopeFixtures = []struct {
	name    string
	kind    Kind
	sigPath string
	json    string
}{
	{"request", KindRequest, "params.Signature",
		`{"method":"Deposit","version":"1.1","params":{"UUID":"258a2184-2842-b485-25ca-293525152425","Data":{"Username":"merchant","Password":"secret","NotificationURL":"https://shop.example/n/abc","EndUserID":"user@example.com","MessageID":"m-1","Attributes":{"Amount":"103.00","Currency":"SEK","Firstname":"Åsa","Lastname":"Öberg"}}}}`},
	{"notification", KindNotification, "params.signature",
		`{"method":"credit","version":"1.1","params":{"uuid":"f1b77aac-516d-4b89-a125-c005f4c020f0","data":{"amount":"20.00","currency":"SEK","notificationid":"1","orderid":"2","attributes":{}}}}`},
	{"response", KindResponse, "result.signature",
		`{"version":"1.1","result":{"uuid":"a4d1578e","method":"Deposit","data":{"orderid":"1371798227","url":"https://test.trustly.com/_/orderclient.php?SessionID=1&OrderID=1371798227"}}}`},
	{"error", KindError, "error.error.signature",
		`{"version":"1.1","error":{"name":"JSONRPCError","code":616,"message":"ERROR_INVALID_CREDENTIALS","error":{"uuid":"a4d1578e","method":"Deposit","data":{"code":616,"message":"ERROR_INVALID_CREDENTIALS"}}}}`},
	{"notification reply", KindReply, "result.signature",
		`{"result":{"uuid":"f1b77aac","method":"credit","data":{"status":"OK"}},"version":"1.1"}`},
}

func TestMessageSignVerifyRoundTrip(t *testing.T) {
	key := testMerchantKey(t)
	v := NewVerifierKey(Test, &key.PublicKey)
	for _, tt := range envelopeFixtures {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tt.kind || m.SignaturePath() != tt.sigPath {
				t.Fatalf("kind %v at %s, want %v at %s", m.Kind, m.SignaturePath(), tt.kind, tt.sigPath)
			}
			if err := m.Verify(v); !errors.Is(err, ErrNoSignature) {
				t.Fatalf("unsigned message: err = %v, want ErrNoSignature", err)
			}
			if err := m.Sign(key); err != nil {
				t.Fatal(err)
			}
			out, err := m.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), `\u0026`) {
				t.Errorf("URL '&' escaped in output: %s", out)
			}
			again, err := ParseMessage(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := again.Verify(v); err != nil {
				t.Fatalf("signed %s does not verify after a round trip: %v\n%s", tt.name, err, out)
			}
			// The signature must sit exactly where Trustly looks for it.
			if again.Signature() == "" || again.Signature() != m.Signature() {
				t.Errorf("signature not at %s", tt.sigPath)
			}
			// The merchant key is not Trustly's: a TEST verifier rejects it,
			// and not as a mix-up, since neither Trustly key signed it.
			tv, _ := NewVerifier(Test)
			if err := again.Verify(tv); !errors.Is(err, ErrBadSignature) || errors.Is(err, ErrKeyMixup) {
				t.Errorf("verify with Trustly's TEST key: err = %v, want plain ErrBadSignature", err)
			}
		})
	}
}

func TestMessageUnknownFieldsAreSigned(t *testing.T) {
	key := testMerchantKey(t)
	v := NewVerifierKey(Test, &key.PublicKey)
	m, _ := ParseMessage([]byte(envelopeFixtures[1].json))
	if err := m.Sign(key); err != nil {
		t.Fatal(err)
	}
	m.Data().(map[string]any)["newfield"] = "x"
	if err := m.Verify(v); !errors.Is(err, ErrBadSignature) {
		t.Errorf("added field: err = %v, want ErrBadSignature", err)
	}
}

func TestMessageNumbersVerifyAsReceived(t *testing.T) {
	key := testMerchantKey(t)
	v := NewVerifierKey(Test, &key.PublicKey)
	// Signed over "20.00": a parser that turned the number into 20 would fail.
	sig, err := Sign(key, "credit", "u", map[string]any{"amount": "20.00"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage([]byte(`{"method":"credit","params":{"uuid":"u","signature":"` + sig + `","data":{"amount":20.00}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(v); err != nil {
		t.Errorf("number kept as text 20.00 should verify: %v", err)
	}
}

func TestParseMessageRejects(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"not JSON", `hello`, ErrMalformedJSON},
		{"array at top", `[1,2]`, ErrNotEnvelope},
		{"no body parts", `{"version":"1.1"}`, ErrNotEnvelope},
		{"params not object", `{"method":"credit","params":"x"}`, ErrNotEnvelope},
		{"method a number", `{"method":5,"params":{"uuid":"u","data":{}}}`, ErrNotEnvelope},
		{"uuid an object", `{"method":"credit","params":{"uuid":{},"data":{}}}`, ErrNotEnvelope},
		{"result not object", `{"result":[]}`, ErrNotEnvelope},
		{"error without inner block", `{"error":{"code":616}}`, ErrNotEnvelope},
		{"error not object", `{"error":"bad"}`, ErrNotEnvelope},
		{"result method a bool", `{"result":{"method":true,"uuid":"u"}}`, ErrNotEnvelope},
		{"signature a number", `{"method":"credit","params":{"uuid":"u","signature":5,"data":{}}}`, ErrNotEnvelope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseMessage([]byte(tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyBadSignatureText(t *testing.T) {
	v, _ := NewVerifier(Test)
	m, _ := ParseMessage(readTestdata(t, "trustly-test-credit-notification.json"))
	params := m.Tree["params"].(map[string]any)
	genuine := params["signature"].(string)
	for name, sig := range map[string]string{"empty": "", "not base64": "%%%", "truncated": genuine[:40], "another message's": strings.Repeat("A", len(genuine))} {
		params["signature"] = sig
		if err := m.Verify(v); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s signature: err = %v, want ErrBadSignature", name, err)
		}
	}
	if err := NewVerifierKey(Test, nil).Verify("a", "b", nil, "c2ln"); !errors.Is(err, ErrNoVerifierKey) {
		t.Errorf("nil key: err = %v", err)
	}
}
