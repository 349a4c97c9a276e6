package trustly

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const creditVector = "trustly-test-credit-notification.json"

var (
	notifKeyOnce sync.Once
	notifKey     *rsa.PrivateKey
	notifKeyErr  error
)

// notifTestKey plays Trustly's private key in round-trip tests. One key per
// test binary: RSA-2048 generation is slow.
func notifTestKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	notifKeyOnce.Do(func() { notifKey, notifKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if notifKeyErr != nil {
		t.Fatal(notifKeyErr)
	}
	return notifKey
}

func notifTestVerifier(t testing.TB) *Verifier {
	return NewVerifierKey(Test, &notifTestKey(t).PublicKey)
}

// notifBody builds a notification as Trustly would send it, signed with key.
func notifBody(t testing.TB, key *rsa.PrivateKey, method, uuid string, data map[string]any) []byte {
	t.Helper()
	sig, err := Sign(key, method, uuid, data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := marshalTree(map[string]any{
		"method":  method,
		"version": "1.1",
		"params":  map[string]any{"signature": sig, "uuid": uuid, "data": data},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const notifUUID = "258a2184-2842-b485-25ca-293525152425"

func creditData() map[string]any {
	return map[string]any{
		"amount":         "902.50",
		"currency":       "EUR",
		"messageid":      "98348932",
		"orderid":        "87654567",
		"enduserid":      "32123",
		"notificationid": "9876543456",
		"timestamp":      "2010-01-20 14:42:04.675645+01",
		"attributes":     map[string]any{},
	}
}

func TestParseNotificationTrustlyCreditVector(t *testing.T) {
	v, err := NewVerifier(Test)
	if err != nil {
		t.Fatal(err)
	}
	n, err := ParseNotification(readTestdata(t, creditVector), v)
	if err != nil {
		t.Fatalf("genuine TEST notification: %v", err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"method", n.Method, "credit"},
		{"uuid", n.UUID, "f1b77aac-516d-4b89-a125-c005f4c020f0"},
		{"notificationid", n.NotificationID, "3653956920"},
		{"orderid", n.OrderID, "3931155141"},
		{"messageid", n.MessageID, "5001_655548"},
		{"enduserid", n.EndUserID, "leecS"},
		{"raw timestamp", n.RawTimestamp, "2015-03-12 15:14:18.61671+00"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if want := time.Date(2015, 3, 12, 15, 14, 18, 616710000, time.UTC); !n.Timestamp.Equal(want) {
		t.Errorf("timestamp = %v, want %v", n.Timestamp, want)
	}
	if !n.Known() || !n.Verified() {
		t.Errorf("Known() = %v, Verified() = %v; want both true", n.Known(), n.Verified())
	}
	if n.Attributes != nil {
		t.Errorf("attributes = %v, want nil (the vector has none)", n.Attributes)
	}
	c, err := n.Credit()
	if err != nil {
		t.Fatal(err)
	}
	want := CreditNotification{MoneyNotification{OrderID: "3931155141", MessageID: "5001_655548", EndUserID: "leecS", Amount: 2000, Currency: "SEK"}}
	if c != want {
		t.Errorf("Credit() = %+v, want %+v", c, want)
	}
	if _, err := n.Debit(); !errors.Is(err, ErrWrongNotificationMethod) {
		t.Errorf("Debit() of a credit: err = %v, want ErrWrongNotificationMethod", err)
	}
}

func TestParseNotificationTrustlyVectorWithLiveKeyIsMixup(t *testing.T) {
	live, err := NewVerifier(Live)
	if err != nil {
		t.Fatal(err)
	}
	n, err := ParseNotification(readTestdata(t, creditVector), live)
	if !errors.Is(err, ErrKeyMixup) || !errors.Is(err, ErrBadSignature) {
		t.Fatalf("TEST notification checked with the LIVE key: err = %v, want ErrKeyMixup wrapping ErrBadSignature", err)
	}
	if n != nil {
		t.Error("a notification that failed verification was returned")
	}
}

func TestParseNotificationTrustlyVectorTampered(t *testing.T) {
	v, _ := NewVerifier(Test)
	raw := string(readTestdata(t, creditVector))
	tests := []struct{ name, from, to string }{
		{"amount", `"amount":"20.00"`, `"amount":"20.01"`},
		{"enduserid", `"leecS"`, `"leecT"`},
		{"orderid", `"3931155141"`, `"3931155140"`},
		{"notificationid", `"3653956920"`, `"3653956921"`},
		{"timestamp", `15:14:18.61671`, `15:14:18.61672`},
		{"uuid", `f1b77aac`, `f1b77aad`},
		{"method", `"method":"credit"`, `"method":"debit"`},
		{"signature", `"signature":"jzso`, `"signature":"jzsp`},
		{"a field added", `"orderid":"3931155141"`, `"orderid":"3931155141","extra":""`},
		{"a field removed", `"enduserid":"leecS",`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(raw, tt.from, tt.to, 1)
			if body == raw {
				t.Fatalf("%q not found in the vector", tt.from)
			}
			_, err := ParseNotification([]byte(body), v)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("err = %v, want ErrBadSignature", err)
			}
			if errors.Is(err, ErrKeyMixup) {
				t.Errorf("a forgery reported as a key mix-up: %v", err)
			}
		})
	}
}

func TestParseNotificationUnverifiedNeverVerifies(t *testing.T) {
	body := strings.Replace(string(readTestdata(t, creditVector)), "20.00", "99999.00", 1)
	n, err := ParseNotificationUnverified([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if n.Verified() {
		t.Error("an unverified notification claims to be verified")
	}
	c, err := n.Credit()
	if err != nil || c.Amount != 9999900 {
		t.Errorf("display view: %+v, %v", c, err)
	}
}

// Every documented notification, signed as Trustly would, verifies with the
// matching key and gives its typed view.
func TestNotificationRoundTrip(t *testing.T) {
	key := notifTestKey(t)
	v := notifTestVerifier(t)
	yes := true
	tests := []struct {
		method string
		data   map[string]any
		check  func(t *testing.T, n *Notification)
	}{
		{"pending", map[string]any{"amount": "49.90", "currency": "EUR", "messageid": "98348932", "orderid": "87654567", "enduserid": "32123", "notificationid": "4876513450", "timestamp": "2013-12-20 14:42:04.675645+01"},
			func(t *testing.T, n *Notification) {
				got, err := n.Pending()
				want := PendingNotification{MoneyNotification{OrderID: "87654567", MessageID: "98348932", EndUserID: "32123", Amount: 4990, Currency: "EUR"}}
				if err != nil || got != want {
					t.Errorf("Pending() = %+v, %v; want %+v", got, err, want)
				}
			}},
		{"credit", creditData(),
			func(t *testing.T, n *Notification) {
				got, err := n.Credit()
				if err != nil || got.Amount != 90250 || got.Currency != "EUR" || got.OrderID != "87654567" {
					t.Errorf("Credit() = %+v, %v", got, err)
				}
			}},
		{"debit", map[string]any{"amount": "902.50", "currency": "EUR", "messageid": "77898765", "orderid": "127675892", "enduserid": "32123", "notificationid": "456787654", "timestamp": "2010-01-20 14:42:04.675645+01", "attributes": map[string]any{}},
			func(t *testing.T, n *Notification) {
				got, err := n.Debit()
				if err != nil || got.Amount != 90250 || got.OrderID != "127675892" || got.MessageID != "77898765" {
					t.Errorf("Debit() = %+v, %v", got, err)
				}
			}},
		{"cancel", map[string]any{"messageid": "98348932", "orderid": "87654567", "enduserid": "32123", "notificationid": "4876513450", "timestamp": "2013-12-20 14:42:04.675645+01", "attributes": map[string]any{"reason": "declined"}},
			func(t *testing.T, n *Notification) {
				got, err := n.Cancel()
				if err != nil || got.OrderID != "87654567" || got.EndUserID != "32123" || got.Attributes["reason"] != "declined" {
					t.Errorf("Cancel() = %+v, %v", got, err)
				}
			}},
		{"account", map[string]any{"notificationid": "35673567", "messageid": "453455465", "orderid": "3473567567", "accountid": "1234567890", "verified": "1",
			"attributes": map[string]any{"clearinghouse": "SWEDEN", "bank": "SEB", "descriptor": "**** *084057", "lastdigits": "084057", "directdebitmandate": "1", "name": "Åsa Öberg"}},
			func(t *testing.T, n *Notification) {
				got, err := n.Account()
				if err != nil {
					t.Fatal(err)
				}
				if got.AccountID != "1234567890" || !got.Verified || got.ClearingHouse != "SWEDEN" || got.Bank != "SEB" ||
					got.Descriptor != "**** *084057" || got.LastDigits != "084057" || got.OrderID != "3473567567" {
					t.Errorf("Account() = %+v", got)
				}
				if got.DirectDebitMandate == nil || *got.DirectDebitMandate != yes {
					t.Errorf("directdebitmandate = %v, want true", got.DirectDebitMandate)
				}
				if got.Attributes["name"] != "Åsa Öberg" {
					t.Errorf("raw attributes lost UTF-8: %v", got.Attributes["name"])
				}
			}},
		{"payoutconfirmation", map[string]any{"currency": "SEK", "notificationid": "1716888077", "orderid": "3236871181", "enduserid": "user_534412", "messageid": "483212", "amount": "11", "timestamp": "2019-03-27 10:04:01.446937+01"},
			func(t *testing.T, n *Notification) {
				got, err := n.PayoutConfirmation()
				if err != nil || got.Amount != 1100 || got.Currency != "SEK" || got.OrderID != "3236871181" {
					t.Errorf("PayoutConfirmation() = %+v, %v", got, err)
				}
			}},
		// The example of eu.developers.trustly.com/doc/reference/payoutfailed-notification.
		{"payoutfailed", map[string]any{"currency": "SEK", "notificationid": "1716888077", "orderid": "3236871181", "enduserid": "user_534412", "messageid": "483212",
			"amount": "49.90", "timestamp": "2019-03-27 10:04:01.446937+01", "errorcode": "incorrect_account_number", "errormessage": "Format of the account number specified is not correct"},
			func(t *testing.T, n *Notification) {
				got, err := n.PayoutFailed()
				if err != nil || got.Amount != 4990 || got.Currency != "SEK" || got.OrderID != "3236871181" ||
					got.ErrorCode != "incorrect_account_number" || got.ErrorMessage != "Format of the account number specified is not correct" {
					t.Errorf("PayoutFailed() = %+v, %v", got, err)
				}
			}},
		{"kyc", map[string]any{"orderid": "87654567", "messageid": "mytransaction-001", "kycentityid": "29a750aa-0bad-4a28-a42d-ffb9a690d93a", "notificationid": "9876543456",
			"attributes": map[string]any{"personid": "SE196512171957", "firstname": "Joe", "lastname": "Johnson", "dob": "1965-12-17", "street": "Street 10", "zipcode": "11253", "city": "STOCKHOLM", "country": "Sweden"}},
			func(t *testing.T, n *Notification) {
				got, err := n.KYC()
				if err != nil {
					t.Fatal(err)
				}
				want := KYCNotification{OrderID: "87654567", MessageID: "mytransaction-001", KYCEntityID: "29a750aa-0bad-4a28-a42d-ffb9a690d93a",
					PersonID: "SE196512171957", FirstName: "Joe", LastName: "Johnson", DateOfBirth: "1965-12-17", Street: "Street 10", ZipCode: "11253", City: "STOCKHOLM", Country: "Sweden"}
				if got.Attributes["city"] != "STOCKHOLM" {
					t.Errorf("raw attributes not kept: %v", got.Attributes)
				}
				got.Attributes = nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("KYC() = %+v\nwant %+v", got, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			n, err := ParseNotification(notifBody(t, key, tt.method, notifUUID, tt.data), v)
			if err != nil {
				t.Fatal(err)
			}
			if n.Method != tt.method || n.UUID != notifUUID || !n.Known() || !n.Verified() {
				t.Errorf("method %q uuid %q known %v verified %v", n.Method, n.UUID, n.Known(), n.Verified())
			}
			tt.check(t, n)
			// Every other view refuses this notification.
			views := map[string]func() error{
				"pending":            func() error { _, err := n.Pending(); return err },
				"credit":             func() error { _, err := n.Credit(); return err },
				"debit":              func() error { _, err := n.Debit(); return err },
				"cancel":             func() error { _, err := n.Cancel(); return err },
				"account":            func() error { _, err := n.Account(); return err },
				"payoutconfirmation": func() error { _, err := n.PayoutConfirmation(); return err },
				"payoutfailed":       func() error { _, err := n.PayoutFailed(); return err },
				"kyc":                func() error { _, err := n.KYC(); return err },
			}
			for name, view := range views {
				if name == tt.method {
					continue
				}
				if err := view(); !errors.Is(err, ErrWrongNotificationMethod) {
					t.Errorf("%s view of a %s: err = %v, want ErrWrongNotificationMethod", name, tt.method, err)
				}
			}
		})
	}
}

func TestAccountNotificationMandateFlag(t *testing.T) {
	key, v := notifTestKey(t), notifTestVerifier(t)
	no := false
	tests := []struct {
		name    string
		mandate any // nil: attribute absent
		want    *bool
		wantErr bool
	}{
		{"absent: no mandate asked for", nil, nil, false},
		{"0: sent for approval or deactivated", "0", &no, false},
		{"1: active", "1", func() *bool { b := true; return &b }(), false},
		{"2 is not a flag", "2", nil, true},
		{"true is not a flag", "true", nil, true},
		{"empty string is not absent", "", nil, true},
		{"an object", map[string]any{"a": "1"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := map[string]any{"clearinghouse": "SWEDEN"}
			if tt.mandate != nil {
				attrs["directdebitmandate"] = tt.mandate
			}
			data := map[string]any{"notificationid": "1", "orderid": "2", "accountid": "3", "verified": "0", "attributes": attrs}
			n, err := ParseNotification(notifBody(t, key, "account", notifUUID, data), v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := n.Account()
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidNotification) {
					t.Fatalf("err = %v, want ErrInvalidNotification", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Verified {
				t.Error(`verified "0" read as true`)
			}
			if (got.DirectDebitMandate == nil) != (tt.want == nil) || (tt.want != nil && *got.DirectDebitMandate != *tt.want) {
				t.Errorf("directdebitmandate = %v, want %v", got.DirectDebitMandate, tt.want)
			}
		})
	}
}

// Views refuse missing or malformed fields rather than guessing.
func TestNotificationViewRejects(t *testing.T) {
	key, v := notifTestKey(t), notifTestVerifier(t)
	with := func(base map[string]any, key string, val any) map[string]any {
		out := map[string]any{}
		for k, x := range base {
			out[k] = x
		}
		if val == nil {
			delete(out, key)
		} else {
			out[key] = val
		}
		return out
	}
	account := map[string]any{"notificationid": "1", "orderid": "2", "accountid": "3", "verified": "1"}
	tests := []struct {
		name    string
		method  string
		data    map[string]any
		wantErr error
	}{
		{"credit without amount", "credit", with(creditData(), "amount", nil), ErrInvalidNotification},
		{"pending with a currency but no amount", "pending", with(creditData(), "amount", nil), ErrInvalidNotification},
		{"pending with a comma amount", "pending", with(creditData(), "amount", "902,50"), ErrInvalidAmount},
		{"credit with a comma amount", "credit", with(creditData(), "amount", "902,50"), ErrInvalidAmount},
		{"credit with three decimals", "credit", with(creditData(), "amount", "902.505"), ErrInvalidAmount},
		{"credit of zero", "credit", with(creditData(), "amount", "0.00"), ErrInvalidAmount},
		{"negative credit", "credit", with(creditData(), "amount", "-1.00"), ErrInvalidAmount},
		{"credit with exponent number", "credit", with(creditData(), "amount", json.Number("9e2")), ErrInvalidAmount},
		{"credit without currency", "credit", with(creditData(), "currency", nil), ErrInvalidNotification},
		{"credit with lowercase currency", "credit", with(creditData(), "currency", "eur"), ErrInvalidNotification},
		{"credit with a currency name", "credit", with(creditData(), "currency", "Euro"), ErrInvalidNotification},
		{"credit without orderid", "credit", with(creditData(), "orderid", nil), ErrInvalidNotification},
		{"credit with amount as an object", "credit", with(creditData(), "amount", map[string]any{"v": "1"}), ErrInvalidNotification},
		{"account without accountid", "account", with(account, "accountid", nil), ErrInvalidNotification},
		{"account without verified", "account", with(account, "verified", nil), ErrInvalidNotification},
		{"account verified yes", "account", with(account, "verified", "yes"), ErrInvalidNotification},
		{"account verified True", "account", with(account, "verified", "True"), ErrInvalidNotification},
		{"account bank as an array", "account", with(account, "attributes", map[string]any{"bank": []any{"SEB"}}), ErrInvalidNotification},
		{"kyc firstname as an object", "kyc", map[string]any{"notificationid": "1", "orderid": "2", "attributes": map[string]any{"firstname": map[string]any{}}}, ErrInvalidNotification},
		{"cancel without orderid", "cancel", map[string]any{"notificationid": "1"}, ErrInvalidNotification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNotification(notifBody(t, key, tt.method, notifUUID, tt.data), v)
			if err != nil {
				t.Fatalf("the notification itself should parse: %v", err)
			}
			switch tt.method {
			case "pending":
				_, err = n.Pending()
			case "credit":
				_, err = n.Credit()
			case "account":
				_, err = n.Account()
			case "kyc":
				_, err = n.KYC()
			case "cancel":
				_, err = n.Cancel()
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestUnknownNotificationMethodVerifiesAndParses(t *testing.T) {
	key, v := notifTestKey(t), notifTestVerifier(t)
	data := map[string]any{"notificationid": "77", "orderid": "88", "whatever": map[string]any{"nested": []any{"x", "y"}}}
	n, err := ParseNotification(notifBody(t, key, "newthing", notifUUID, data), v)
	if err != nil {
		t.Fatal(err)
	}
	if n.Known() || n.Method != "newthing" || n.NotificationID != "77" || !n.Verified() {
		t.Errorf("Known() = %v, method %q, notificationid %q, verified %v", n.Known(), n.Method, n.NotificationID, n.Verified())
	}
	if _, err := n.Credit(); !errors.Is(err, ErrWrongNotificationMethod) {
		t.Errorf("Credit() of an unknown method: %v", err)
	}
	if _, ok := n.Data["whatever"]; !ok {
		t.Error("unknown field dropped from Data")
	}
	if NotificationMethod("Credit").Known() {
		t.Error(`"Credit" counted as known: Trustly's methods are lowercase and matched exactly`)
	}
}

// Unknown fields are part of what Trustly signed: adding one after signing
// breaks the signature; one present when signing verifies and is kept.
func TestUnknownDataFieldsAreSigned(t *testing.T) {
	key, v := notifTestKey(t), notifTestVerifier(t)
	withExtra := creditData()
	withExtra["newfield"] = "signed"
	n, err := ParseNotification(notifBody(t, key, "credit", notifUUID, withExtra), v)
	if err != nil {
		t.Fatalf("unknown field present at signing: %v", err)
	}
	if n.Data["newfield"] != "signed" {
		t.Error("unknown field not kept")
	}

	body := notifBody(t, key, "credit", notifUUID, creditData())
	for name, edit := range map[string]func(data map[string]any){
		"top-level field":           func(d map[string]any) { d["newfield"] = "x" },
		"empty-valued field":        func(d map[string]any) { d["z"] = "" },
		"null field":                func(d map[string]any) { d["newfield"] = nil },
		"field inside attributes":   func(d map[string]any) { d["attributes"].(map[string]any)["x"] = "1" },
		"field removed":             func(d map[string]any) { delete(d, "enduserid") },
		"amount number for string":  func(d map[string]any) { d["amount"] = json.Number("902.5") },
		"attributes null for empty": func(d map[string]any) { d["attributes"] = nil },
	} {
		t.Run(name, func(t *testing.T) {
			tree, err := ParseJSON(body)
			if err != nil {
				t.Fatal(err)
			}
			edit(tree.(map[string]any)["params"].(map[string]any)["data"].(map[string]any))
			tampered, err := marshalTree(tree)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseNotification(tampered, v)
			// serialize writes {} and null alike, so Trustly's scheme cannot
			// see this one change; pinned so nobody relies on it.
			if name == "attributes null for empty" {
				if err != nil {
					t.Fatalf("{} and null serialize the same, so this must verify: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("err = %v, want ErrBadSignature", err)
			}
		})
	}
}

// Numbers are verified as the text Trustly wrote, never via float64.
func TestNotificationNumbersAsOriginalText(t *testing.T) {
	key, v := notifTestKey(t), notifTestVerifier(t)
	data := creditData()
	data["amount"] = json.Number("20.00")
	data["notificationid"] = json.Number("3653956920")
	body := notifBody(t, key, "credit", notifUUID, data)
	if !bytes.Contains(body, []byte(`"amount":20.00`)) {
		t.Fatalf("test setup: amount not sent as a JSON number: %s", body)
	}
	n, err := ParseNotification(body, v)
	if err != nil {
		t.Fatalf("signed over \"20.00\": %v", err)
	}
	if p, _ := n.Message.Plaintext(); !strings.Contains(p, "amount20.00") {
		t.Errorf("plaintext %q lost the number's text", p)
	}
	if n.NotificationID != "3653956920" {
		t.Errorf("numeric notificationid = %q", n.NotificationID)
	}
	c, err := n.Credit()
	if err != nil || c.Amount != 2000 {
		t.Errorf("Credit() = %+v, %v; want 2000", c, err)
	}
}

func TestParseNotificationRejects(t *testing.T) {
	key, v := notifTestKey(t), notifTestVerifier(t)
	signed := func(method, uuid string, data map[string]any) []byte { return notifBody(t, key, method, uuid, data) }
	with := func(k string, val any) map[string]any {
		d := creditData()
		if val == nil {
			delete(d, k)
		} else {
			d[k] = val
		}
		return d
	}
	tests := []struct {
		name    string
		body    []byte
		wantErr error
	}{
		{"empty body", nil, ErrMalformedJSON},
		{"malformed JSON", []byte(`{"method":"credit",`), ErrMalformedJSON},
		{"trailing garbage", append(signed("credit", notifUUID, creditData()), "x"...), ErrMalformedJSON},
		{"top level is an array", []byte(`[1,2]`), ErrNotEnvelope},
		{"no params", []byte(`{"method":"credit","version":"1.1"}`), ErrNotEnvelope},
		{"params is a string", []byte(`{"method":"credit","params":"x"}`), ErrNotEnvelope},
		{"method is a number", []byte(`{"method":1,"params":{"uuid":"u","data":{}}}`), ErrNotEnvelope},
		{"uuid is a number", []byte(`{"method":"credit","params":{"uuid":1,"data":{}}}`), ErrNotEnvelope},
		{"missing method", []byte(`{"params":{"signature":"x","uuid":"u","data":{"notificationid":"1"}}}`), ErrInvalidNotification},
		{"missing uuid", []byte(`{"method":"credit","params":{"signature":"x","data":{"notificationid":"1"}}}`), ErrInvalidNotification},
		{"missing data", []byte(`{"method":"credit","params":{"signature":"x","uuid":"u"}}`), ErrInvalidNotification},
		{"data is a string", []byte(`{"method":"credit","params":{"signature":"x","uuid":"u","data":"amount"}}`), ErrInvalidNotification},
		{"data is an array", []byte(`{"method":"credit","params":{"signature":"x","uuid":"u","data":[]}}`), ErrInvalidNotification},
		{"a request, not a notification", []byte(`{"method":"Deposit","version":"1.1","params":{"Signature":"x","UUID":"u","Data":{}}}`), ErrNotNotification},
		{"a response, not a notification", readTestdata(t, "trustly-test-deposit-response.json"), ErrNotNotification},
		{"a reply, not a notification", []byte(`{"result":{"signature":"x","uuid":"u","method":"credit","data":{"status":"OK"}},"version":"1.1"}`), ErrNotNotification},
		{"signature missing", bytes.Replace(signed("credit", notifUUID, creditData()), []byte(`"signature"`), []byte(`"signaturx"`), 1), ErrNoSignature},
		{"signature not base64", []byte(`{"method":"credit","params":{"signature":"%%%","uuid":"u","data":{"notificationid":"1"}}}`), ErrSignatureB64},
		{"signature is a number", []byte(`{"method":"credit","params":{"signature":5,"uuid":"u","data":{"notificationid":"1"}}}`), ErrInvalidNotification},
		{"boolean in data cannot be verified", []byte(`{"method":"credit","params":{"signature":"eA==","uuid":"u","data":{"notificationid":"1","flag":true}}}`), ErrBadSignature},
		{"signed by someone else", func() []byte {
			other, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			return notifBody(t, other, "credit", notifUUID, creditData())
		}(), ErrBadSignature},
		{"signed but no notificationid", signed("credit", notifUUID, with("notificationid", nil)), ErrInvalidNotification},
		{"signed but empty notificationid", signed("credit", notifUUID, with("notificationid", "")), ErrInvalidNotification},
		{"signed but notificationid is an object", signed("credit", notifUUID, with("notificationid", map[string]any{"id": "1"})), ErrInvalidNotification},
		{"signed but orderid is an array", signed("credit", notifUUID, with("orderid", []any{"1"})), ErrInvalidNotification},
		{"signed but attributes is a string", signed("credit", notifUUID, with("attributes", "none")), ErrInvalidNotification},
		{"signed but attributes is an array", signed("credit", notifUUID, with("attributes", []any{})), ErrInvalidNotification},
		{"huge nesting", []byte(`{"method":"credit","params":{"uuid":"u","data":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000) + `}}`), ErrMalformedJSON},
		{"huge array nesting", []byte(strings.Repeat(`[`, 100000)), ErrMalformedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNotification(tt.body, v)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if n != nil {
				t.Error("a notification was returned with the error")
			}
		})
	}
}

func TestParseNotificationNilVerifier(t *testing.T) {
	if _, err := ParseNotification(readTestdata(t, creditVector), nil); !errors.Is(err, ErrNoVerifierKey) {
		t.Errorf("err = %v, want ErrNoVerifierKey", err)
	}
}

// A timestamp that cannot be read does not stop a verified notification:
// it is informational, and failing would make Trustly resend forever.
func TestNotificationUnreadableTimestampIsKeptRaw(t *testing.T) {
	key, v := notifTestKey(t), notifTestVerifier(t)
	data := creditData()
	data["timestamp"] = "20 January 2010"
	n, err := ParseNotification(notifBody(t, key, "credit", notifUUID, data), v)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Timestamp.IsZero() || n.RawTimestamp != "20 January 2010" {
		t.Errorf("timestamp %v raw %q", n.Timestamp, n.RawTimestamp)
	}
	delete(data, "timestamp")
	n, err = ParseNotification(notifBody(t, key, "credit", notifUUID, data), v)
	if err != nil || !n.Timestamp.IsZero() || n.RawTimestamp != "" {
		t.Errorf("absent timestamp: %v, %q, %v", n.Timestamp, n.RawTimestamp, err)
	}
}

func FuzzParseNotification(f *testing.F) {
	vector := readTestdata(f, creditVector)
	// More seeds (variants of the vector) live in testdata/fuzz/FuzzParseNotification.
	f.Add(vector)
	f.Add([]byte(`{"method":"account","params":{"signature":"","uuid":"u","data":{"notificationid":"1","orderid":"2","accountid":"3","verified":"1","attributes":{"directdebitmandate":"0"}}}}`))
	f.Add([]byte(`{"method":"kyc","params":{"signature":"eA==","uuid":"u","data":{"notificationid":"1","orderid":"2","attributes":{"dob":"1965-12-17"}}}}`))

	trustly, err := NewVerifier(Test)
	if err != nil {
		f.Fatal(err)
	}
	key := notifTestKey(f)
	ours := NewVerifierKey(Test, &key.PublicKey)

	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body, trustly)
		if err == nil {
			// Verified once, verified again: the tree was not altered by parsing.
			if err := n.Message.Verify(trustly); err != nil {
				t.Fatalf("a verified notification no longer verifies: %v", err)
			}
			if !n.Verified() || n.NotificationID == "" {
				t.Fatalf("verified %v, notificationid %q", n.Verified(), n.NotificationID)
			}
		} else if n != nil {
			t.Fatal("a notification returned together with an error")
		}

		u, err := ParseNotificationUnverified(body)
		if err != nil {
			return
		}
		// No view may panic, whatever the data.
		_, _ = u.Pending()
		_, _ = u.Credit()
		_, _ = u.Debit()
		_, _ = u.Cancel()
		_, _ = u.Account()
		_, _ = u.PayoutConfirmation()
		_, _ = u.KYC()

		// Whatever parses, once signed over its raw tree and re-encoded,
		// verifies and reads back the same: signing and verifying agree on
		// every tree the parser accepts.
		if err := u.Message.Sign(key); err != nil {
			if !errors.Is(err, ErrBooleanInData) {
				t.Fatalf("sign: %v", err)
			}
			return
		}
		resent, err := u.Message.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseNotification(resent, ours)
		if err != nil {
			t.Fatalf("re-signed notification does not verify: %v\n%s", err, resent)
		}
		if r.Method != u.Method || r.UUID != u.UUID || r.NotificationID != u.NotificationID || r.OrderID != u.OrderID || r.RawTimestamp != u.RawTimestamp {
			t.Fatalf("round trip changed the notification: %+v vs %+v", r, u)
		}
	})
}

// SelectAccount's pending has no amount and no currency: it parses, with
// none. Deposit's keeps both.
func TestPendingOfASelectAccountHasNoAmount(t *testing.T) {
	key, v := notifTestKey(t), notifTestVerifier(t)
	data := map[string]any{"notificationid": "11", "orderid": "22", "messageid": "m-1", "enduserid": "u-1",
		"timestamp": "2026-12-01 10:00:00.123+00"}
	n, err := ParseNotification(notifBody(t, key, "pending", notifUUID, data), v)
	if err != nil {
		t.Fatal(err)
	}
	p, err := n.Pending()
	if err != nil || p.Amount != 0 || p.Currency != "" || p.OrderID != "22" || p.MessageID != "m-1" {
		t.Fatalf("pending without amount: %+v, %v", p, err)
	}
	n, err = ParseNotification(notifBody(t, key, "pending", notifUUID, creditData()), v)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := n.Pending(); err != nil || p.Amount != 90250 || p.Currency != "EUR" {
		t.Fatalf("pending of a deposit: %+v, %v", p, err)
	}
}
