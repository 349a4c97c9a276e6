package trustly

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var requestTestCreds = Credentials{Username: "merchant_username", Password: "merchant_password"}

// fullDeposit sets every typed attribute, with a UTF-8 name, so the golden
// file shows the complete wire shape.
func fullDeposit() *DepositRequest {
	return &DepositRequest{
		NotificationURL:                          "https://shop.example/trustly/notify/8f3a2c",
		EndUserID:                                "user-4711",
		MessageID:                                "order-1001-attempt-1",
		Currency:                                 "SEK",
		Amount:                                   10300,
		Country:                                  "SE",
		Locale:                                   "sv_SE",
		Firstname:                                "Åsa",
		Lastname:                                 "Öberg",
		Email:                                    "asa.oberg@example.se",
		SuccessURL:                               "https://shop.example/thanks?order=1001&x=1",
		FailURL:                                  "https://shop.example/failed",
		ShopperStatement:                         "Shop Example",
		IP:                                       "203.0.113.7",
		MobilePhone:                              "+46709876543",
		NationalIdentificationNumber:             "790131-1234",
		UnchangeableNationalIdentificationNumber: true,
		URLTarget:                                "_top",
		TemplateURL:                              "https://shop.example/trustly-template",
		URLScheme:                                "shopapp://",
		ExternalReference:                        "INV-2024-0042",
		ShippingAddressCountry:                   "SE",
		ShippingAddressPostalCode:                "11122",
		ShippingAddressCity:                      "Stockholm",
		ShippingAddressLine1:                     "Drottninggatan 1",
		ShippingAddressLine2:                     "lgh 1101",
		AccountID:                                "1234567890",
		RequestDirectDebitMandate:                true,
		HoldNotifications:                        true,
		Extra:                                    map[string]string{"NewAttribute": "x"},
	}
}

// minimalDeposit sets only what Trustly requires.
func minimalDeposit() *DepositRequest {
	return &DepositRequest{
		NotificationURL:  "https://shop.example/trustly/notify/8f3a2c",
		EndUserID:        "user-4711",
		MessageID:        "order-1001-attempt-1",
		Currency:         "EUR",
		Amount:           1,
		Country:          "FI",
		Locale:           "fi",
		Firstname:        "Matti",
		Lastname:         "Meikäläinen",
		Email:            "matti@example.fi",
		SuccessURL:       "https://shop.example/thanks",
		FailURL:          "https://shop.example/failed",
		ShopperStatement: "Shop Example",
	}
}

func goodSelectAccount() *SelectAccountRequest {
	return &SelectAccountRequest{
		NotificationURL:              "https://shop.example/trustly/notify/8f3a2c",
		EndUserID:                    "user-4711",
		MessageID:                    "mandate-77",
		Locale:                       "sv_SE",
		Country:                      "SE",
		Firstname:                    "Åsa",
		Lastname:                     "Öberg",
		SuccessURL:                   "https://shop.example/mandate/ok",
		FailURL:                      "https://shop.example/mandate/failed",
		Email:                        "asa.oberg@example.se",
		IP:                           "2001:db8::7",
		MobilePhone:                  "+46709876543",
		DateOfBirth:                  "1979-01-31",
		NationalIdentificationNumber: "790131-1234",
		RequestDirectDebitMandate:    true,
		URLTarget:                    "_parent",
	}
}

func goodCharge() *ChargeRequest {
	return &ChargeRequest{
		AccountID:         "1234567890",
		NotificationURL:   "https://shop.example/trustly/notify/8f3a2c",
		EndUserID:         "user-4711",
		MessageID:         "charge-2024-05",
		Amount:            9900,
		Currency:          "SEK",
		ShopperStatement:  "Shop Example_2024-05",
		Email:             "asa.oberg@example.se",
		PaymentDate:       "2030-05-27",
		ExternalReference: "INV-2024-0042",
	}
}

func goodRefund() *RefundRequest {
	return &RefundRequest{OrderID: "1371798227", Amount: 5050, Currency: "SEK"}
}

// requestCases is every request shape with a golden file.
func requestCases() []struct {
	name string
	req  Request
} {
	refundRef := goodRefund()
	refundRef.ExternalReference = "RMA-17"
	return []struct {
		name string
		req  Request
	}{
		{"deposit-full", fullDeposit()},
		{"deposit-minimal", minimalDeposit()},
		{"deposit-suggested", func() Request {
			d := minimalDeposit()
			d.Amount, d.SuggestedMinAmount, d.SuggestedMaxAmount = 0, 10000, 50000
			return d
		}()},
		{"refund", goodRefund()},
		{"refund-external-reference", refundRef},
		{"selectaccount", goodSelectAccount()},
		{"charge", goodCharge()},
		{"cancelcharge", &CancelChargeRequest{OrderID: "3931155141"}},
		{"balance", &BalanceRequest{}},
		{"getwithdrawals", &GetWithdrawalsRequest{OrderID: "1371798227"}},
	}
}

func dataJSON(t *testing.T, d map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs keep their '&', as on the wire
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRequestDataGolden(t *testing.T) {
	for _, tc := range requestCases() {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.req.Validate(Test); err != nil {
				t.Fatalf("golden request is not valid in TEST: %v", err)
			}
			d, err := tc.req.Data(requestTestCreds)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "requests/"+tc.name+".json", dataJSON(t, d))
		})
	}
}

// Trustly's flags and amounts are strings; a bool or number in signed data
// serializes differently across Trustly's own clients.
func TestDataHoldsOnlyStringsMapsAndNull(t *testing.T) {
	var walk func(t *testing.T, path string, v any)
	walk = func(t *testing.T, path string, v any) {
		switch x := v.(type) {
		case nil, string:
		case map[string]any:
			for k, e := range x {
				walk(t, path+"."+k, e)
			}
		default:
			t.Errorf("%s is %T (%v), want string, map[string]any or nil", path, v, v)
		}
	}
	for _, tc := range requestCases() {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.req.Data(requestTestCreds)
			if err != nil {
				t.Fatal(err)
			}
			walk(t, "Data", d)
			for _, k := range []string{"Username", "Password"} {
				if d[k] != requestTestCreds.Username && d[k] != requestTestCreds.Password {
					t.Errorf("Data[%s] = %v, want the credential", k, d[k])
				}
			}
			if _, ok := d["Attributes"]; !ok {
				t.Error("Data has no Attributes key; Trustly requires it (null when empty)")
			}
		})
	}
}

func TestDataSerializes(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"balance sends null attributes", &BalanceRequest{},
			"AttributesPasswordmerchant_passwordUsernamemerchant_username"},
		{"cancel charge", &CancelChargeRequest{OrderID: "3931155141"},
			"AttributesOrderID3931155141Passwordmerchant_passwordUsernamemerchant_username"},
		{"refund without reference keeps the Attributes key", goodRefund(),
			"Amount50.50AttributesCurrencySEKOrderID1371798227Passwordmerchant_passwordUsernamemerchant_username"},
		{"refund with reference", &RefundRequest{OrderID: "1", Amount: 100, Currency: "EUR", ExternalReference: "R1"},
			"Amount1.00AttributesExternalReferenceR1CurrencyEUROrderID1Passwordmerchant_passwordUsernamemerchant_username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.req.Data(requestTestCreds)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Serialize(d)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Serialize(Data)\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	// Every golden shape must serialize too.
	for _, tc := range requestCases() {
		d, _ := tc.req.Data(requestTestCreds)
		if _, err := Serialize(d); err != nil {
			t.Errorf("%s: Serialize: %v", tc.name, err)
		}
	}
}

// The bytes signed must be the bytes Trustly receives, including Å and Ö.
func TestUTF8NamesSurviveTheWire(t *testing.T) {
	d, err := fullDeposit().Data(requestTestCreds)
	if err != nil {
		t.Fatal(err)
	}
	before, err := Serialize(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(before, "FirstnameÅsa") || !strings.Contains(before, "LastnameÖberg") {
		t.Fatalf("serialized data lost the names: %s", before)
	}
	wire := dataJSON(t, d)
	back, err := ParseJSON(wire)
	if err != nil {
		t.Fatal(err)
	}
	after, err := Serialize(back)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("serialization changed across JSON:\nbefore %s\nafter  %s", before, after)
	}
}

func TestFlagsAreOneOrAbsent(t *testing.T) {
	on, err := fullDeposit().Data(requestTestCreds)
	if err != nil {
		t.Fatal(err)
	}
	off, err := minimalDeposit().Data(requestTestCreds)
	if err != nil {
		t.Fatal(err)
	}
	onAttrs, offAttrs := on["Attributes"].(map[string]any), off["Attributes"].(map[string]any)
	for _, k := range []string{"RequestDirectDebitMandate", "HoldNotifications", "UnchangeableNationalIdentificationNumber"} {
		if onAttrs[k] != "1" {
			t.Errorf("%s set: got %#v, want \"1\"", k, onAttrs[k])
		}
		if v, ok := offAttrs[k]; ok {
			t.Errorf("%s unset: got %#v, want the key absent", k, v)
		}
	}
	for _, k := range []string{"SuggestedMinAmount", "SuggestedMaxAmount", "IP", "TemplateURL"} {
		if v, ok := offAttrs[k]; ok {
			t.Errorf("unset %s was sent as %#v", k, v)
		}
	}
}

func TestDataRefuses(t *testing.T) {
	conflicting := minimalDeposit()
	conflicting.Extra = map[string]string{"Amount": "1.00"}
	emptyKey := goodCharge()
	emptyKey.Extra = map[string]string{"": "x"}
	tests := []struct {
		name  string
		req   Request
		creds Credentials
		want  error
	}{
		{"no username", &BalanceRequest{}, Credentials{Password: "p"}, ErrNoCredentials},
		{"no password", goodRefund(), Credentials{Username: "u"}, ErrNoCredentials},
		{"extra naming a typed field, even one left empty", conflicting, requestTestCreds, ErrExtraConflict},
		{"extra with an empty key", emptyKey, requestTestCreds, ErrExtraConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.req.Data(tt.creds)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Data() error = %v, want %v", err, tt.want)
			}
			if d != nil {
				t.Errorf("Data() returned a tree with its error: %v", d)
			}
		})
	}
}

func TestExtraAttributesAreSent(t *testing.T) {
	r := goodSelectAccount()
	r.Extra = map[string]string{"PSPMerchantURL": "shop.example"}
	d, err := r.Data(requestTestCreds)
	if err != nil {
		t.Fatal(err)
	}
	if got := d["Attributes"].(map[string]any)["PSPMerchantURL"]; got != "shop.example" {
		t.Errorf("Extra attribute = %#v, want \"shop.example\"", got)
	}
}

func TestRequestIdentity(t *testing.T) {
	tests := []struct {
		req        Request
		method, id string
	}{
		{fullDeposit(), "Deposit", "order-1001-attempt-1"},
		{goodRefund(), "Refund", ""},
		{goodSelectAccount(), "SelectAccount", "mandate-77"},
		{goodCharge(), "Charge", "charge-2024-05"},
		{&CancelChargeRequest{OrderID: "1"}, "CancelCharge", ""},
		{&BalanceRequest{}, "Balance", ""},
		{&GetWithdrawalsRequest{OrderID: "1"}, "GetWithdrawals", ""},
	}
	for _, tt := range tests {
		if got := tt.req.Method(); got != tt.method {
			t.Errorf("Method() = %q, want %q", got, tt.method)
		}
		if got := tt.req.messageID(); got != tt.id {
			t.Errorf("%s: messageID() = %q, want %q", tt.method, got, tt.id)
		}
		d, err := tt.req.Data(requestTestCreds)
		if err != nil {
			t.Fatal(err)
		}
		if v, has := d["MessageID"]; (tt.id != "") != has || (has && v != tt.id) {
			t.Errorf("%s: Data MessageID = %#v (present %v), want %q", tt.method, v, has, tt.id)
		}
	}
}
