package trustly

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// The merchant's key, distinct from the one playing Trustly.
func replyTestKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewReplyToTrustlyCreditVector(t *testing.T) {
	merchant := replyTestKey(t)
	v, _ := NewVerifier(Test)
	n, err := ParseNotification(readTestdata(t, creditVector), v)
	if err != nil {
		t.Fatal(err)
	}
	body, err := NewReply(merchant, n, ReplyOK)
	if err != nil {
		t.Fatal(err)
	}

	m, err := ParseMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindReply || m.Method() != "credit" || m.UUID() != "f1b77aac-516d-4b89-a125-c005f4c020f0" {
		t.Errorf("kind %v method %q uuid %q", m.Kind, m.Method(), m.UUID())
	}
	p, err := m.Plaintext()
	if err != nil || p != "creditf1b77aac-516d-4b89-a125-c005f4c020f0statusOK" {
		t.Errorf("plaintext = %q, %v", p, err)
	}
	if err := Verify(&merchant.PublicKey, m.Method(), m.UUID(), m.Data(), m.Signature()); err != nil {
		t.Errorf("reply does not verify with the merchant's key: %v", err)
	}
	if err := m.Verify(v); !errors.Is(err, ErrBadSignature) {
		t.Errorf("reply verifies with Trustly's key: %v", err)
	}

	// Exactly Trustly's shape: nothing more, nothing less.
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version": "1.1",
		"result": map[string]any{
			"signature": m.Signature(),
			"uuid":      "f1b77aac-516d-4b89-a125-c005f4c020f0",
			"method":    "credit",
			"data":      map[string]any{"status": "OK"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reply\n got %v\nwant %v", got, want)
	}
	if !bytes.HasPrefix(body, []byte(`{"result":{"signature":`)) {
		t.Errorf("field order differs from Trustly's examples: %s", body)
	}

	status, err := ParseReply(body, &merchant.PublicKey, "credit", n.UUID)
	if err != nil || status != ReplyOK {
		t.Errorf("ParseReply = %q, %v", status, err)
	}

	// PKCS#1 v1.5 is deterministic: a repeat notification gets the same bytes.
	again, _ := NewReply(merchant, n, ReplyOK)
	if !bytes.Equal(again, body) {
		t.Error("two replies to the same notification differ")
	}
}

// uuid and method come back exactly as received, whatever their characters.
func TestSignReplyEchoesExactly(t *testing.T) {
	merchant := replyTestKey(t)
	for _, tt := range []struct{ method, uuid string }{
		{"newthing", "not-a-uuid <&> \"quoted\" \\ Åsa Öberg \u2028"},
		{"Credit", "258a2184-2842-b485-25ca-293525152425"},
		{"payoutconfirmation", "42d7e0a2-03e2-49fc-bcf7-c109fb411514"},
	} {
		body, err := SignReply(merchant, tt.method, tt.uuid, ReplyOK)
		if err != nil {
			t.Fatal(err)
		}
		status, err := ParseReply(body, &merchant.PublicKey, tt.method, tt.uuid)
		if err != nil || status != ReplyOK {
			t.Errorf("%q/%q: ParseReply = %q, %v\n%s", tt.method, tt.uuid, status, err, body)
		}
	}
}

func TestReplyStatusRules(t *testing.T) {
	merchant := replyTestKey(t)
	tests := []struct {
		method  string
		status  ReplyStatus
		wantErr error // nil: allowed
	}{
		{"credit", ReplyOK, nil},
		{"pending", ReplyOK, nil},
		{"cancel", ReplyOK, nil},
		{"account", ReplyOK, nil},
		{"payoutconfirmation", ReplyOK, nil},
		{"debit", ReplyOK, nil},
		{"debit", ReplyFailed, nil},
		{"kyc", ReplyContinue, nil},
		{"kyc", ReplyFinish, nil},
		{"newthing", ReplyOK, nil},
		{"credit", ReplyFailed, ErrReplyStatusNotAllowed},
		{"pending", ReplyFailed, ErrReplyStatusNotAllowed},
		{"credit", ReplyContinue, ErrReplyStatusNotAllowed},
		{"kyc", ReplyOK, ErrReplyStatusNotAllowed},
		{"kyc", ReplyFailed, ErrReplyStatusNotAllowed},
		{"newthing", ReplyFailed, ErrReplyStatusNotAllowed},
		{"credit", "ok", ErrUnknownReplyStatus},
		{"credit", "", ErrUnknownReplyStatus},
		{"debit", "MAYBE", ErrUnknownReplyStatus},
	}
	for _, tt := range tests {
		t.Run(tt.method+"/"+string(tt.status), func(t *testing.T) {
			body, err := SignReply(merchant, tt.method, notifUUID, tt.status)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("SignReply err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if body != nil {
					t.Error("a refused reply still produced a body")
				}
				return
			}
			got, err := ParseReply(body, &merchant.PublicKey, tt.method, notifUUID)
			if err != nil || got != tt.status {
				t.Errorf("ParseReply = %q, %v; want %q", got, err, tt.status)
			}
		})
	}
}

func TestSignReplyRefuses(t *testing.T) {
	merchant := replyTestKey(t)
	tests := []struct {
		name        string
		key         *rsa.PrivateKey
		method, id  string
		wantContain string
	}{
		{"no key", nil, "credit", notifUUID, "no private key"},
		{"no method", merchant, "", notifUUID, "must both be set"},
		{"no uuid", merchant, "credit", "", "must both be set"},
		{"uuid not UTF-8", merchant, "credit", "abc\xff", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := SignReply(tt.key, tt.method, tt.id, ReplyOK)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.wantContain)) {
				t.Fatalf("err = %v, want one saying %q", err, tt.wantContain)
			}
			if body != nil {
				t.Error("body returned with an error")
			}
		})
	}
	if _, err := NewReply(merchant, nil, ReplyOK); err == nil {
		t.Error("NewReply to no notification succeeded")
	}
}

// ParseReply is how the simulator judges a merchant's reply: each way of
// getting it wrong has its own error.
func TestParseReplyRejects(t *testing.T) {
	merchant := replyTestKey(t)
	other := replyTestKey(t)
	pub := &merchant.PublicKey

	// reply builds a reply signed over its own method/uuid/data, so only the
	// intended fault is present.
	reply := func(key *rsa.PrivateKey, method, uuid string, data map[string]any, version any) []byte {
		sig, err := Sign(key, method, uuid, data)
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]any{"result": map[string]any{"signature": sig, "uuid": uuid, "method": method, "data": data}}
		if version != nil {
			env["version"] = version
		}
		b, err := marshalTree(env)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ok := map[string]any{"status": "OK"}
	good := reply(merchant, "credit", notifUUID, ok, "1.1")

	tests := []struct {
		name       string
		body       []byte
		key        *rsa.PublicKey
		wantErr    error
		notErr     error
		wantStatus ReplyStatus
	}{
		{"wrong uuid", reply(merchant, "credit", "11111111-2842-b485-25ca-293525152425", ok, "1.1"), pub, ErrReplyWrongUUID, nil, ""},
		{"wrong method", reply(merchant, "debit", notifUUID, ok, "1.1"), pub, ErrReplyWrongMethod, ErrReplyWrongUUID, ""},
		{"method capitalised", reply(merchant, "Credit", notifUUID, ok, "1.1"), pub, ErrReplyWrongMethod, nil, ""},
		{"signed with another key", reply(other, "credit", notifUUID, ok, "1.1"), pub, ErrBadSignature, ErrInvalidReply, ""},
		{"signature over another status", bytes.Replace(good, []byte(`"status":"OK"`), []byte(`"status":"FAILED"`), 1), pub, ErrBadSignature, nil, ""},
		{"signature missing", bytes.Replace(good, []byte(`"signature"`), []byte(`"sig"`), 1), pub, ErrNoSignature, nil, ""},
		{"unknown status", reply(merchant, "credit", notifUUID, map[string]any{"status": "MAYBE"}, "1.1"), pub, ErrUnknownReplyStatus, ErrReplyStatusNotAllowed, ""},
		{"lowercase ok", reply(merchant, "credit", notifUUID, map[string]any{"status": "ok"}, "1.1"), pub, ErrUnknownReplyStatus, nil, ""},
		{"FAILED for a credit", reply(merchant, "credit", notifUUID, map[string]any{"status": "FAILED"}, "1.1"), pub, ErrReplyStatusNotAllowed, ErrUnknownReplyStatus, ReplyFailed},
		{"status missing", reply(merchant, "credit", notifUUID, map[string]any{}, "1.1"), pub, ErrInvalidReply, ErrUnknownReplyStatus, ""},
		{"status is a number", reply(merchant, "credit", notifUUID, map[string]any{"status": json.Number("1")}, "1.1"), pub, ErrInvalidReply, ErrUnknownReplyStatus, ""},
		{"data is a string", []byte(`{"result":{"signature":"eA==","uuid":"u","method":"credit","data":"OK"},"version":"1.1"}`), pub, ErrInvalidReply, nil, ""},
		{"version 1.0", reply(merchant, "credit", notifUUID, ok, "1.0"), pub, ErrInvalidReply, nil, ""},
		{"version as a number", reply(merchant, "credit", notifUUID, ok, json.Number("1.1")), pub, ErrInvalidReply, nil, ""},
		{"malformed JSON", good[:len(good)-3], pub, ErrMalformedJSON, nil, ""},
		{"a notification, not a reply", readTestdata(t, creditVector), pub, ErrInvalidReply, nil, ""},
		{"an error envelope", []byte(`{"version":"1.1","error":{"error":{"signature":"x","uuid":"u","method":"credit","data":{}}}}`), pub, ErrInvalidReply, nil, ""},
		{"no key to check with", good, nil, ErrNoVerifierKey, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, err := ParseReply(tt.body, tt.key, "credit", notifUUID)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.notErr != nil && errors.Is(err, tt.notErr) {
				t.Errorf("err = %v, should not be %v", err, tt.notErr)
			}
			if status != tt.wantStatus {
				t.Errorf("status = %q, want %q", status, tt.wantStatus)
			}
		})
	}

	// Missing version is tolerated: Trustly's docs always show it but never
	// say it is required.
	if s, err := ParseReply(reply(merchant, "credit", notifUUID, ok, nil), pub, "credit", notifUUID); err != nil || s != ReplyOK {
		t.Errorf("reply without version: %q, %v", s, err)
	}
}

func TestReplyStatusesFor(t *testing.T) {
	for method, want := range map[string][]ReplyStatus{
		"debit":    {ReplyOK, ReplyFailed},
		"kyc":      {ReplyContinue, ReplyFinish},
		"credit":   {ReplyOK},
		"newthing": {ReplyOK},
	} {
		if got := ReplyStatusesFor(method); !reflect.DeepEqual(got, want) {
			t.Errorf("ReplyStatusesFor(%q) = %q, want %q", method, got, want)
		}
	}
}
