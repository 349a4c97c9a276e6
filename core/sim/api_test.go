package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

var numeric = regexp.MustCompile(`^[1-9][0-9]{9}$`)

func TestDepositAnswerIsSignedAndRealistic(t *testing.T) {
	h := newHarness(t)
	res := h.deposit(nil)
	if !numeric.MatchString(res.OrderID) {
		t.Errorf("orderid %q is not a 10-digit number", res.OrderID)
	}
	if !contains(res.URL, h.sim.URL()+"/checkout/") {
		t.Errorf("url %q is not a checkout URL of the simulator", res.URL)
	}
	o, ok := h.sim.Order(res.OrderID)
	if !ok || o.State != sim.StateCreated || o.Amount != 10300 || o.Attributes["Firstname"] != "Åsa" {
		t.Errorf("order = %+v", o)
	}
	if !o.ExpiresAt.Equal(start.Add(sim.DefaultCheckoutTTL)) {
		t.Errorf("expires %v, want %v", o.ExpiresAt, start.Add(sim.DefaultCheckoutTTL))
	}
}

// TestErrorCodes drives every error the simulator answers, each over real
// HTTP with a correctly signed request that is wrong in one way.
func TestErrorCodes(t *testing.T) {
	h := newHarness(t)
	strict := newHarness(t, func(c *sim.Config) { c.Relaxed = false })
	tests := []struct {
		name   string
		h      *harness
		method string
		mod    func(d map[string]any)
		want   trustly.Code
	}{
		{"wrong password", h, "Deposit", func(d map[string]any) { d["Password"] = "nope" }, trustly.CodeInvalidCredentials},
		{"wrong username", h, "Deposit", func(d map[string]any) { d["Username"] = "someone" }, trustly.CodeInvalidCredentials},
		{"missing credentials", h, "Balance", func(d map[string]any) { delete(d, "Password") }, trustly.CodeInvalidCredentials},
		{"amount without decimals", h, "Deposit", func(d map[string]any) { attrs(d)["Amount"] = "103" }, trustly.CodeInvalidAmount},
		{"amount zero", h, "Deposit", func(d map[string]any) { attrs(d)["Amount"] = "0.00" }, trustly.CodeInvalidAmount},
		{"amount negative", h, "Deposit", func(d map[string]any) { attrs(d)["Amount"] = "-1.00" }, trustly.CodeInvalidAmount},
		{"unknown currency", h, "Deposit", func(d map[string]any) { attrs(d)["Currency"] = "SEKK" }, trustly.CodeInvalidCurrencyCode},
		{"missing Firstname", h, "Deposit", func(d map[string]any) { delete(attrs(d), "Firstname") }, trustly.CodeInvalidParameters},
		{"missing ShopperStatement", h, "Deposit", func(d map[string]any) { delete(attrs(d), "ShopperStatement") }, trustly.CodeInvalidParameters},
		{"attribute not a string", h, "Deposit", func(d map[string]any) { attrs(d)["Firstname"] = 7 }, trustly.CodeInvalidParameters},
		{"flag not 1 or 0", h, "Deposit", func(d map[string]any) { attrs(d)["HoldNotifications"] = "yes" }, trustly.CodeInvalidParameters},
		{"bad email", h, "Deposit", func(d map[string]any) { attrs(d)["Email"] = "not-an-email" }, trustly.CodeInvalidEmail},
		{"locale with a dash", h, "Deposit", func(d map[string]any) { attrs(d)["Locale"] = "sv-SE" }, trustly.CodeInvalidLocale},
		{"two IPs", h, "Deposit", func(d map[string]any) { attrs(d)["IP"] = "192.0.2.1, 192.0.2.2" }, trustly.CodeInvalidIP},
		{"malformed SuccessURL", h, "Deposit", func(d map[string]any) { attrs(d)["SuccessURL"] = "shop/ok" }, trustly.CodeMalformedSuccessURL},
		{"malformed FailURL", h, "Deposit", func(d map[string]any) { attrs(d)["FailURL"] = "ftp://shop/fail" }, trustly.CodeMalformedFailURL},
		{"malformed TemplateURL", h, "Deposit", func(d map[string]any) { attrs(d)["TemplateURL"] = "nothing" }, trustly.CodeMalformedTemplateURL},
		{"URLTarget _blank", h, "Deposit", func(d map[string]any) { attrs(d)["URLTarget"] = "_blank" }, trustly.CodeMalformedURLTarget},
		{"MessageID with a control character", h, "Deposit", func(d map[string]any) { d["MessageID"] = "m\x001" }, trustly.CodeMalformedMessageID},
		{"NotificationURL with a query", h, "Deposit", func(d map[string]any) { d["NotificationURL"] = "https://shop.example/n?secret=1" }, trustly.CodeMalformedNotificationURL},
		{"EndUserID with a control character", h, "Deposit", func(d map[string]any) { d["EndUserID"] = "a\x01b" }, trustly.CodeMalformedEndUserID},
		{"missing EndUserID", h, "Deposit", func(d map[string]any) { delete(d, "EndUserID") }, trustly.CodeEndUserIDIsNull},
		{"missing MessageID", h, "Deposit", func(d map[string]any) { delete(d, "MessageID") }, trustly.CodeMessageIDIsNull},
		{"unknown country", h, "Deposit", func(d map[string]any) { attrs(d)["Country"] = "UK" }, trustly.CodeInvalidCountry},
		{"http NotificationURL when strict", strict, "Deposit", func(d map[string]any) { d["NotificationURL"] = "http://shop.example/n" }, trustly.CodeNotSecureNotificationURL},
		{"http NotificationURL on SelectAccount when strict", strict, "SelectAccount", func(d map[string]any) {
			delete(attrs(d), "Amount")
			delete(attrs(d), "Currency")
			delete(attrs(d), "ShopperStatement")
			d["NotificationURL"] = "http://shop.example/n"
		}, trustly.CodeNotSecureNotificationURL},
		{"Attributes not an object", h, "Deposit", func(d map[string]any) { d["Attributes"] = "x" }, trustly.CodeInvalidParameters},
		{"unknown method", h, "Withdraw", nil, trustly.CodeFunctionAccessDenied},
		{"refund without Attributes key reaches the order check", h, "Refund", func(d map[string]any) {
			for k := range d {
				delete(d, k)
			}
			d["Username"], d["Password"] = username, password
			d["OrderID"], d["Amount"], d["Currency"] = "1234567890", "1.00", "SEK"
		}, trustly.CodeInvalidParameters},
		{"OrderID as a fraction", h, "Refund", func(d map[string]any) {
			for k := range d {
				delete(d, k)
			}
			d["Username"], d["Password"], d["Attributes"] = username, password, nil
			d["OrderID"], d["Amount"], d["Currency"] = json.Number("12.5"), "1.00", "SEK"
		}, trustly.CodeInvalidParameters},
		{"flag as the integer 2", h, "Deposit", func(d map[string]any) { attrs(d)["HoldNotifications"] = json.Number("2") }, trustly.CodeInvalidParameters},
		{"refund of an unknown order", h, "Refund", func(d map[string]any) {
			for k := range d {
				delete(d, k)
			}
			d["Username"], d["Password"], d["Attributes"] = username, password, nil
			d["OrderID"], d["Amount"], d["Currency"] = "1234567890", "1.00", "SEK"
		}, trustly.CodeInvalidParameters},
		{"refund amount malformed", h, "Refund", func(d map[string]any) {
			for k := range d {
				delete(d, k)
			}
			d["Username"], d["Password"], d["Attributes"] = username, password, nil
			d["OrderID"], d["Amount"], d["Currency"] = "1234567890", "1", "SEK"
		}, trustly.CodeInvalidAmount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.h.depositData()
			if tt.mod != nil {
				tt.mod(d)
			}
			m := tt.h.rawCall(tt.method, d)
			if got := code(t, m); got != tt.want {
				t.Fatalf("code %d, want %d (%s)", got, tt.want, errorMessage(m))
			}
			if m.Method() != tt.method || m.UUID() == "" {
				t.Errorf("error echoes method %q uuid %q", m.Method(), m.UUID())
			}
			// Trustly's form: the bare error name; the detail is in the log.
			if errorMessage(m) != tt.want.Name() {
				t.Errorf("message %q, want the bare %s", errorMessage(m), tt.want.Name())
			}
			if rec := tt.h.lastAPIError(); rec["method"] != tt.method || rec["detail"] == "" || rec["code"] != float64(tt.want) {
				t.Errorf("log record %v", rec)
			}
		})
	}
}

func TestSignatureChecks(t *testing.T) {
	t.Run("636 for a request signed with another key", func(t *testing.T) {
		h := newHarness(t)
		m := h.rawCallWith("Deposit", trustly.NewUUID(), h.depositData(), strangerKey)
		if got := code(t, m); got != trustly.CodeUnableToVerifyRSASignature {
			t.Fatalf("code %d, want 636", got)
		}
	})
	t.Run("636 for data changed after signing", func(t *testing.T) {
		h := newHarness(t)
		d := h.depositData()
		uuid := trustly.NewUUID()
		sig, _ := trustly.Sign(merchantKey, "Deposit", uuid, d)
		attrs(d)["Amount"] = "999.00"
		body, _ := sim.MarshalForTest(map[string]any{"method": "Deposit", "version": "1.1",
			"params": map[string]any{"Signature": sig, "UUID": uuid, "Data": d}})
		if got := code(t, h.rawBody(body)); got != trustly.CodeUnableToVerifyRSASignature {
			t.Fatalf("code %d, want 636", got)
		}
	})
	t.Run("639 for every call when no merchant key is configured", func(t *testing.T) {
		h := newHarness(t, func(c *sim.Config) { c.MerchantPublicKey = nil })
		for _, method := range []string{"Deposit", "Balance"} {
			if got := code(t, h.rawCall(method, h.depositData())); got != trustly.CodeNoPublicKey {
				t.Errorf("%s: code %d, want 639", method, got)
			}
		}
	})
}

func TestDuplicates(t *testing.T) {
	h := newHarness(t)
	t.Run("688 for a reused UUID", func(t *testing.T) {
		uuid := trustly.NewUUID()
		if got := code(t, h.rawCallWith("Deposit", uuid, h.depositData(), merchantKey)); got != 0 {
			t.Fatalf("first call: code %d", got)
		}
		if got := code(t, h.rawCallWith("Deposit", uuid, h.depositData(), merchantKey)); got != trustly.CodeDuplicateUUID {
			t.Fatalf("code %d, want 688", got)
		}
	})
	t.Run("637 for a reused MessageID, with no orderid or url", func(t *testing.T) {
		d := h.depositData()
		if got := code(t, h.rawCall("Deposit", d)); got != 0 {
			t.Fatalf("first call: code %d", got)
		}
		m := h.rawCall("Deposit", d)
		if got := code(t, m); got != trustly.CodeDuplicateMessageID {
			t.Fatalf("code %d, want 637", got)
		}
		data := m.Data().(map[string]any)
		if _, ok := data["orderid"]; ok {
			t.Error("637 carries an orderid")
		}
		if _, ok := data["url"]; ok {
			t.Error("637 carries a url")
		}
	})
	t.Run("the client sees 637 as a Trustly error", func(t *testing.T) {
		req := h.depositRequest()
		if _, err := h.client.Deposit(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		_, err := h.client.Deposit(context.Background(), req)
		if trustly.ErrorCode(err) != trustly.CodeDuplicateMessageID {
			t.Fatalf("err = %v, want 637", err)
		}
	})
}

func TestJSONLevelFailures(t *testing.T) {
	h := newHarness(t)
	for name, body := range map[string]string{
		"not JSON":          `{"method":`,
		"not an envelope":   `[1,2,3]`,
		"a notification":    `{"method":"credit","version":"1.1","params":{"signature":"x","uuid":"u","data":{}}}`,
		"no uuid or method": `{"version":"1.1","params":{"Signature":"x","Data":{}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			m := h.rawBody([]byte(body))
			if m.Kind != trustly.KindError || m.UUID() != "" || m.Method() != "" {
				t.Fatalf("want an error with null uuid and method, got %s %q %q", m.Kind, m.Method(), m.UUID())
			}
			errBlock := m.Tree["error"].(map[string]any)["error"].(map[string]any)
			if errBlock["uuid"] != nil || errBlock["method"] != nil {
				t.Errorf("uuid/method are not null: %v", errBlock)
			}
			if code(t, m) != trustly.CodeInvalidParameters {
				t.Errorf("code %d", code(t, m))
			}
		})
	}
	t.Run("version must be 1.1", func(t *testing.T) {
		d := h.depositData()
		uuid := trustly.NewUUID()
		sig, _ := trustly.Sign(merchantKey, "Deposit", uuid, d)
		body, _ := sim.MarshalForTest(map[string]any{"method": "Deposit", "version": 1.1,
			"params": map[string]any{"Signature": sig, "UUID": uuid, "Data": d}})
		if got := code(t, h.rawBody(body)); got != trustly.CodeInvalidParameters {
			t.Fatalf("code %d, want 623", got)
		}
	})
}

func TestClientRejectsAnswersFromAnotherKey(t *testing.T) {
	// The simulator signs with its own key; a client configured with
	// Trustly's TEST key must refuse its answers. This guards against the
	// simulator accidentally answering unsigned.
	h := newHarness(t)
	c, err := trustly.NewClient(trustly.ClientConfig{
		Environment: trustly.Sim, URL: h.sim.APIURL(),
		Credentials: trustly.Credentials{Username: username, Password: password},
		PrivateKey:  merchantKey, TrustlyPublicKey: &strangerKey.PublicKey, MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Balance(context.Background())
	if !errors.Is(err, trustly.ErrBadSignature) {
		t.Fatalf("err = %v, want a bad signature", err)
	}
}

// Shapes Trustly's official clients send and Trustly takes: a Refund with
// no Attributes at all (the PHP and Python clients), an OrderID as a JSON
// number, a flag as the integer 1.
func TestShapesOfTrustlysClientsAreAccepted(t *testing.T) {
	h := newHarness(t)
	paid := h.paid("")
	m := h.rawCall("Refund", map[string]any{"Username": username, "Password": password,
		"OrderID": json.Number(paid.OrderID), "Amount": "1.00", "Currency": "SEK"})
	if got := code(t, m); got != 0 {
		t.Fatalf("refund without Attributes, OrderID a number: code %d (%s)", got, errorMessage(m))
	}
	d := h.depositData()
	attrs(d)["HoldNotifications"] = json.Number("1")
	if m := h.rawCall("Deposit", d); code(t, m) != 0 {
		t.Fatalf("deposit with HoldNotifications 1: code %d (%s)", code(t, m), errorMessage(m))
	}
}
