package trustly

import (
	"errors"
	"strings"
	"testing"
)

type validateCase struct {
	name  string
	env   Environment
	req   Request
	code  Code   // 0: valid
	field string // the attribute at fault
}

func checkValidate(t *testing.T, tests []validateCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == "" {
				env = Live
			}
			err := tt.req.Validate(env)
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("Validate(%s) = %v, want nil", env, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate(%s) = %v (%T), want *Error %d", env, err, err, tt.code)
			}
			if e.Code != tt.code || e.Field != tt.field {
				t.Errorf("Validate(%s) = %d on %q (%v), want %d on %q", env, e.Code, e.Field, e, tt.code, tt.field)
			}
			if !e.Local || e.Method != tt.req.Method() || e.MessageID != tt.req.messageID() {
				t.Errorf("error = %+v, want Local, Method %q, MessageID %q", e, tt.req.Method(), tt.req.messageID())
			}
		})
	}
}

func deposit(mutate func(*DepositRequest)) *DepositRequest {
	d := minimalDeposit()
	mutate(d)
	return d
}

func TestValidateDeposit(t *testing.T) {
	checkValidate(t, []validateCase{
		{name: "minimal deposit in LIVE", req: minimalDeposit()},
		{name: "every attribute set, in TEST", env: Test, req: fullDeposit()},
		{name: "every attribute set, in the simulator", env: Sim, req: fullDeposit()},
		{name: "shopper picks the amount within suggestions", req: deposit(func(d *DepositRequest) {
			d.Amount, d.SuggestedMinAmount, d.SuggestedMaxAmount = 0, 1000, 5000
		})},
		{name: "only a suggested maximum", req: deposit(func(d *DepositRequest) { d.Amount, d.SuggestedMaxAmount = 0, 5000 })},
		{name: "equal suggestions", req: deposit(func(d *DepositRequest) {
			d.Amount, d.SuggestedMinAmount, d.SuggestedMaxAmount = 0, 5000, 5000
		})},
		{name: "IPv6 address", req: deposit(func(d *DepositRequest) { d.IP = "2001:db8::1" })},
		{name: "language-only locale", req: deposit(func(d *DepositRequest) { d.Locale = "sv" })},
		{name: "http notification URL in TEST", env: Test, req: deposit(func(d *DepositRequest) { d.NotificationURL = "http://dev.example/notify/x" })},
		{name: "upper-case scheme", req: deposit(func(d *DepositRequest) { d.NotificationURL = "HTTPS://shop.example/n/x" })},
		{name: "MessageID of exactly the limit", req: deposit(func(d *DepositRequest) { d.MessageID = strings.Repeat("m", MaxIDLength) })},

		{name: "no notification URL", req: deposit(func(d *DepositRequest) { d.NotificationURL = "" }), code: CodeInvalidParameters, field: "NotificationURL"},
		{name: "notification URL with a query", req: deposit(func(d *DepositRequest) { d.NotificationURL = "https://shop.example/notify?order=1" }), code: CodeMalformedNotificationURL, field: "NotificationURL"},
		{name: "relative notification URL", req: deposit(func(d *DepositRequest) { d.NotificationURL = "/notify/x" }), code: CodeMalformedNotificationURL, field: "NotificationURL"},
		{name: "ftp notification URL", req: deposit(func(d *DepositRequest) { d.NotificationURL = "ftp://shop.example/x" }), code: CodeMalformedNotificationURL, field: "NotificationURL"},
		{name: "http notification URL in LIVE", env: Live, req: deposit(func(d *DepositRequest) { d.NotificationURL = "http://shop.example/notify/x" }), code: CodeNotSecureNotificationURL, field: "NotificationURL"},
		{name: "http notification URL with no environment", env: Environment("PROD"), req: deposit(func(d *DepositRequest) { d.NotificationURL = "http://shop.example/notify/x" }), code: CodeNotSecureNotificationURL, field: "NotificationURL"},
		{name: "no EndUserID", req: deposit(func(d *DepositRequest) { d.EndUserID = "" }), code: CodeEndUserIDIsNull, field: "EndUserID"},
		{name: "EndUserID with a newline", req: deposit(func(d *DepositRequest) { d.EndUserID = "user\n1" }), code: CodeMalformedEndUserID, field: "EndUserID"},
		{name: "EndUserID with trailing space", req: deposit(func(d *DepositRequest) { d.EndUserID = "user-1 " }), code: CodeMalformedEndUserID, field: "EndUserID"},
		{name: "no MessageID", req: deposit(func(d *DepositRequest) { d.MessageID = "" }), code: CodeMessageIDIsNull, field: "MessageID"},
		{name: "MessageID one byte too long", req: deposit(func(d *DepositRequest) { d.MessageID = strings.Repeat("m", MaxIDLength+1) }), code: CodeMalformedMessageID, field: "MessageID"},

		{name: "no currency", req: deposit(func(d *DepositRequest) { d.Currency = "" }), code: CodeInvalidParameters, field: "Currency"},
		{name: "lower-case currency", req: deposit(func(d *DepositRequest) { d.Currency = "sek" }), code: CodeInvalidCurrencyCode, field: "Currency"},
		{name: "made-up currency", req: deposit(func(d *DepositRequest) { d.Currency = "ABC" }), code: CodeInvalidCurrencyCode, field: "Currency"},
		{name: "withdrawn currency", req: deposit(func(d *DepositRequest) { d.Currency = "HRK" }), code: CodeInvalidCurrencyCode, field: "Currency"},
		{name: "zero amount and no suggestions", req: deposit(func(d *DepositRequest) { d.Amount = 0 }), code: CodeInvalidAmount, field: "Amount"},
		{name: "negative amount", req: deposit(func(d *DepositRequest) { d.Amount = -100 }), code: CodeInvalidAmount, field: "Amount"},
		{name: "amount and suggestions together", req: deposit(func(d *DepositRequest) { d.SuggestedMinAmount = 100 }), code: CodeInvalidParameters, field: "Amount"},
		{name: "suggested min above max", req: deposit(func(d *DepositRequest) {
			d.Amount, d.SuggestedMinAmount, d.SuggestedMaxAmount = 0, 5001, 5000
		}), code: CodeInvalidParameters, field: "SuggestedMinAmount"},
		{name: "negative suggested max", req: deposit(func(d *DepositRequest) { d.Amount, d.SuggestedMaxAmount = 0, -1 }), code: CodeInvalidAmount, field: "SuggestedMaxAmount"},

		{name: "no country", req: deposit(func(d *DepositRequest) { d.Country = "" }), code: CodeInvalidParameters, field: "Country"},
		{name: "UK instead of GB", req: deposit(func(d *DepositRequest) { d.Country = "UK" }), code: CodeInvalidCountry, field: "Country"},
		{name: "three-letter country", req: deposit(func(d *DepositRequest) { d.Country = "SWE" }), code: CodeInvalidCountry, field: "Country"},
		{name: "lower-case country", req: deposit(func(d *DepositRequest) { d.Country = "se" }), code: CodeInvalidCountry, field: "Country"},
		{name: "no locale", req: deposit(func(d *DepositRequest) { d.Locale = "" }), code: CodeInvalidParameters, field: "Locale"},
		{name: "locale with a dash", req: deposit(func(d *DepositRequest) { d.Locale = "sv-SE" }), code: CodeInvalidLocale, field: "Locale"},
		{name: "locale upside down", req: deposit(func(d *DepositRequest) { d.Locale = "SE_sv" }), code: CodeInvalidLocale, field: "Locale"},
		{name: "locale with an unknown country", req: deposit(func(d *DepositRequest) { d.Locale = "en_UK" }), code: CodeInvalidLocale, field: "Locale"},
		{name: "three-letter language", req: deposit(func(d *DepositRequest) { d.Locale = "swe_SE" }), code: CodeInvalidLocale, field: "Locale"},
		{name: "no first name", req: deposit(func(d *DepositRequest) { d.Firstname = " " }), code: CodeInvalidParameters, field: "Firstname"},
		{name: "no last name", req: deposit(func(d *DepositRequest) { d.Lastname = "" }), code: CodeInvalidParameters, field: "Lastname"},
		{name: "no email", req: deposit(func(d *DepositRequest) { d.Email = "" }), code: CodeInvalidParameters, field: "Email"},
		{name: "no email with a mandate request", req: deposit(func(d *DepositRequest) { d.Email, d.RequestDirectDebitMandate = "", true }), code: CodeInvalidEmail, field: "Email"},
		{name: "email without @", req: deposit(func(d *DepositRequest) { d.Email = "asa.example.se" }), code: CodeInvalidEmail, field: "Email"},
		{name: "email with a display name", req: deposit(func(d *DepositRequest) { d.Email = "Åsa <asa@example.se>" }), code: CodeInvalidEmail, field: "Email"},
		{name: "email without a top-level domain", req: deposit(func(d *DepositRequest) { d.Email = "asa@localhost" }), code: CodeInvalidEmail, field: "Email"},
		{name: "no success URL", req: deposit(func(d *DepositRequest) { d.SuccessURL = "" }), code: CodeInvalidParameters, field: "SuccessURL"},
		{name: "relative success URL", req: deposit(func(d *DepositRequest) { d.SuccessURL = "/thanks" }), code: CodeMalformedSuccessURL, field: "SuccessURL"},
		{name: "javascript fail URL", req: deposit(func(d *DepositRequest) { d.FailURL = "javascript:alert(1)" }), code: CodeMalformedFailURL, field: "FailURL"},
		{name: "fail URL with a space", req: deposit(func(d *DepositRequest) { d.FailURL = "https://shop.example/fa il" }), code: CodeMalformedFailURL, field: "FailURL"},
		{name: "no shopper statement", req: deposit(func(d *DepositRequest) { d.ShopperStatement = "" }), code: CodeInvalidParameters, field: "ShopperStatement"},
		{name: "shopper statement of exactly the limit", req: deposit(func(d *DepositRequest) { d.ShopperStatement = strings.Repeat("s", MaxTextLength) })},
		{name: "shopper statement one byte too long", req: deposit(func(d *DepositRequest) { d.ShopperStatement = strings.Repeat("s", MaxTextLength+1) }), code: CodeInvalidParameters, field: "ShopperStatement"},
		{name: "external reference one byte too long", req: deposit(func(d *DepositRequest) { d.ExternalReference = strings.Repeat("r", MaxTextLength+1) }), code: CodeInvalidParameters, field: "ExternalReference"},
		{name: "forwarded-for list as IP", req: deposit(func(d *DepositRequest) { d.IP = "203.0.113.7, 10.0.0.1" }), code: CodeInvalidIP, field: "IP"},
		{name: "host name as IP", req: deposit(func(d *DepositRequest) { d.IP = "shop.example" }), code: CodeInvalidIP, field: "IP"},
		{name: "IPv6 with a zone", req: deposit(func(d *DepositRequest) { d.IP = "fe80::1%eth0" }), code: CodeInvalidIP, field: "IP"},
		{name: "locked national id without the id", req: deposit(func(d *DepositRequest) { d.UnchangeableNationalIdentificationNumber = true }), code: CodeInvalidParameters, field: "NationalIdentificationNumber"},
		{name: "URLTarget _blank", req: deposit(func(d *DepositRequest) { d.URLTarget = "_blank" }), code: CodeMalformedURLTarget, field: "URLTarget"},
		{name: "URLTarget a frame name", req: deposit(func(d *DepositRequest) { d.URLTarget = "checkout" }), code: CodeMalformedURLTarget, field: "URLTarget"},
		{name: "relative template URL", req: deposit(func(d *DepositRequest) { d.TemplateURL = "template.html" }), code: CodeMalformedTemplateURL, field: "TemplateURL"},
		{name: "bad shipping country", req: deposit(func(d *DepositRequest) { d.ShippingAddressCountry = "Sweden" }), code: CodeInvalidCountry, field: "ShippingAddressCountry"},
		{name: "held notifications in LIVE", env: Live, req: deposit(func(d *DepositRequest) { d.HoldNotifications = true }), code: CodeInvalidParameters, field: "HoldNotifications"},
		{name: "extra attribute shadowing Amount", req: deposit(func(d *DepositRequest) { d.Extra = map[string]string{"Amount": "1.00"} }), code: CodeInvalidParameters, field: "Extra[Amount]"},
		{name: "invalid UTF-8 in a name", req: deposit(func(d *DepositRequest) { d.Lastname = "\xc3\x28berg" }), code: CodeInvalidParameters, field: "Lastname"},
	})
}

func TestValidateRefund(t *testing.T) {
	refund := func(mutate func(*RefundRequest)) *RefundRequest { r := goodRefund(); mutate(r); return r }
	checkValidate(t, []validateCase{
		{name: "partial refund", req: goodRefund()},
		{name: "with external reference", req: refund(func(r *RefundRequest) { r.ExternalReference = "RMA-1" })},
		{name: "no order", req: refund(func(r *RefundRequest) { r.OrderID = "" }), code: CodeInvalidParameters, field: "OrderID"},
		{name: "merchant's MessageID instead of Trustly's order id", req: refund(func(r *RefundRequest) { r.OrderID = "order-1001" }), code: CodeInvalidParameters, field: "OrderID"},
		{name: "zero amount", req: refund(func(r *RefundRequest) { r.Amount = 0 }), code: CodeInvalidAmount, field: "Amount"},
		{name: "negative amount", req: refund(func(r *RefundRequest) { r.Amount = -5 }), code: CodeInvalidAmount, field: "Amount"},
		{name: "no currency", req: refund(func(r *RefundRequest) { r.Currency = "" }), code: CodeInvalidParameters, field: "Currency"},
		{name: "currency symbol", req: refund(func(r *RefundRequest) { r.Currency = "kr" }), code: CodeInvalidCurrencyCode, field: "Currency"},
		{name: "invalid UTF-8 reference", req: refund(func(r *RefundRequest) { r.ExternalReference = "\xff" }), code: CodeInvalidParameters, field: "ExternalReference"},
		{name: "reference too long", req: refund(func(r *RefundRequest) { r.ExternalReference = strings.Repeat("r", MaxTextLength+1) }), code: CodeInvalidParameters, field: "ExternalReference"},
	})
}

func TestValidateSelectAccount(t *testing.T) {
	sel := func(mutate func(*SelectAccountRequest)) *SelectAccountRequest {
		r := goodSelectAccount()
		mutate(r)
		return r
	}
	checkValidate(t, []validateCase{
		{name: "mandate request", req: goodSelectAccount()},
		{name: "no mandate, no email", req: sel(func(r *SelectAccountRequest) { r.RequestDirectDebitMandate, r.Email = false, "" })},
		{name: "mandate without email", req: sel(func(r *SelectAccountRequest) { r.Email = "" }), code: CodeInvalidEmail, field: "Email"},
		{name: "malformed email without mandate", req: sel(func(r *SelectAccountRequest) { r.RequestDirectDebitMandate, r.Email = false, "asa@" }), code: CodeInvalidEmail, field: "Email"},
		{name: "no EndUserID", req: sel(func(r *SelectAccountRequest) { r.EndUserID = "" }), code: CodeEndUserIDIsNull, field: "EndUserID"},
		{name: "no MessageID", req: sel(func(r *SelectAccountRequest) { r.MessageID = "" }), code: CodeMessageIDIsNull, field: "MessageID"},
		{name: "notification URL with a query", req: sel(func(r *SelectAccountRequest) { r.NotificationURL += "?x=1" }), code: CodeMalformedNotificationURL, field: "NotificationURL"},
		{name: "bad locale", req: sel(func(r *SelectAccountRequest) { r.Locale = "swedish" }), code: CodeInvalidLocale, field: "Locale"},
		{name: "bad country", req: sel(func(r *SelectAccountRequest) { r.Country = "XX" }), code: CodeInvalidCountry, field: "Country"},
		{name: "no first name", req: sel(func(r *SelectAccountRequest) { r.Firstname = "" }), code: CodeInvalidParameters, field: "Firstname"},
		{name: "relative success URL", req: sel(func(r *SelectAccountRequest) { r.SuccessURL = "ok" }), code: CodeMalformedSuccessURL, field: "SuccessURL"},
		{name: "two IPs", req: sel(func(r *SelectAccountRequest) { r.IP = "1.2.3.4,5.6.7.8" }), code: CodeInvalidIP, field: "IP"},
		{name: "date of birth day first", req: sel(func(r *SelectAccountRequest) { r.DateOfBirth = "31-01-1979" }), code: CodeInvalidParameters, field: "DateOfBirth"},
		{name: "URLTarget _blank", req: sel(func(r *SelectAccountRequest) { r.URLTarget = "_blank" }), code: CodeMalformedURLTarget, field: "URLTarget"},
	})
}

func TestValidateCharge(t *testing.T) {
	charge := func(mutate func(*ChargeRequest)) *ChargeRequest { r := goodCharge(); mutate(r); return r }
	checkValidate(t, []validateCase{
		{name: "charge on a date", req: goodCharge()},
		{name: "charge as soon as possible", req: charge(func(r *ChargeRequest) { r.PaymentDate = "" })},
		{name: "no account", req: charge(func(r *ChargeRequest) { r.AccountID = "" }), code: CodeInvalidParameters, field: "AccountID"},
		{name: "http notification URL in LIVE", req: charge(func(r *ChargeRequest) { r.NotificationURL = "http://shop.example/n/x" }), code: CodeNotSecureNotificationURL, field: "NotificationURL"},
		{name: "no EndUserID", req: charge(func(r *ChargeRequest) { r.EndUserID = "" }), code: CodeEndUserIDIsNull, field: "EndUserID"},
		{name: "no MessageID", req: charge(func(r *ChargeRequest) { r.MessageID = "" }), code: CodeMessageIDIsNull, field: "MessageID"},
		{name: "zero amount", req: charge(func(r *ChargeRequest) { r.Amount = 0 }), code: CodeInvalidAmount, field: "Amount"},
		{name: "bad currency", req: charge(func(r *ChargeRequest) { r.Currency = "SE" }), code: CodeInvalidCurrencyCode, field: "Currency"},
		{name: "no shopper statement", req: charge(func(r *ChargeRequest) { r.ShopperStatement = "" }), code: CodeInvalidParameters, field: "ShopperStatement"},
		{name: "Å in the shopper statement", req: charge(func(r *ChargeRequest) { r.ShopperStatement = "Åsa Shop" }), code: CodeInvalidParameters, field: "ShopperStatement"},
		{name: "comma in the shopper statement", req: charge(func(r *ChargeRequest) { r.ShopperStatement = "Shop, Inc" }), code: CodeInvalidParameters, field: "ShopperStatement"},
		{name: "shopper statement too long", req: charge(func(r *ChargeRequest) { r.ShopperStatement = strings.Repeat("s", MaxTextLength+1) }), code: CodeInvalidParameters, field: "ShopperStatement"},
		{name: "external reference too long", req: charge(func(r *ChargeRequest) { r.ExternalReference = strings.Repeat("r", MaxTextLength+1) }), code: CodeInvalidParameters, field: "ExternalReference"},
		{name: "no email", req: charge(func(r *ChargeRequest) { r.Email = "" }), code: CodeInvalidEmail, field: "Email"},
		{name: "bad email", req: charge(func(r *ChargeRequest) { r.Email = "@example.se" }), code: CodeInvalidEmail, field: "Email"},
		{name: "payment date with time", req: charge(func(r *ChargeRequest) { r.PaymentDate = "2030-05-27T00:00:00Z" }), code: CodeInvalidParameters, field: "PaymentDate"},
		{name: "payment date that does not exist", req: charge(func(r *ChargeRequest) { r.PaymentDate = "2030-02-30" }), code: CodeInvalidParameters, field: "PaymentDate"},
		{name: "payment date without zero padding", req: charge(func(r *ChargeRequest) { r.PaymentDate = "2030-5-7" }), code: CodeInvalidParameters, field: "PaymentDate"},
		{name: "extra attribute shadowing Email", req: charge(func(r *ChargeRequest) { r.Extra = map[string]string{"Email": "x@y.z"} }), code: CodeInvalidParameters, field: "Extra[Email]"},
	})
}

func TestValidateOrderMethods(t *testing.T) {
	checkValidate(t, []validateCase{
		{name: "cancel a charge", req: &CancelChargeRequest{OrderID: "3931155141"}},
		{name: "cancel without an order", req: &CancelChargeRequest{}, code: CodeInvalidParameters, field: "OrderID"},
		{name: "cancel with a padded order id", req: &CancelChargeRequest{OrderID: " 3931155141"}, code: CodeInvalidParameters, field: "OrderID"},
		{name: "balance", req: &BalanceRequest{}},
		{name: "withdrawals of an order", req: &GetWithdrawalsRequest{OrderID: "1371798227"}},
		{name: "withdrawals without an order", req: &GetWithdrawalsRequest{}, code: CodeInvalidParameters, field: "OrderID"},
	})
}

func TestValidationErrorsListsEveryProblem(t *testing.T) {
	d := minimalDeposit()
	d.EndUserID, d.Currency, d.IP = "", "sek", "1.1.1.1,2.2.2.2"
	problems := d.Problems(Live)
	want := []struct {
		code  Code
		field string
	}{{CodeEndUserIDIsNull, "EndUserID"}, {CodeInvalidCurrencyCode, "Currency"}, {CodeInvalidIP, "IP"}}
	if len(problems) != len(want) {
		t.Fatalf("Problems() = %v, want %d problems", problems, len(want))
	}
	for i, w := range want {
		if problems[i].Code != w.code || problems[i].Field != w.field {
			t.Errorf("problem %d = %d %q, want %d %q", i, problems[i].Code, problems[i].Field, w.code, w.field)
		}
	}
	// Validate returns the first; the list unwraps to all of them.
	if err := d.Validate(Live); ErrorCode(err) != CodeEndUserIDIsNull {
		t.Errorf("Validate() = %v, want the first problem", err)
	}
	err := problems.Err()
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeEndUserIDIsNull {
		t.Errorf("errors.As(ValidationErrors) = %v, want the first *Error", e)
	}
	if !strings.Contains(err.Error(), "698") || !strings.Contains(err.Error(), "(not sent)") {
		t.Errorf("ValidationErrors.Error() = %q, want every problem, marked local", err)
	}
	if err := minimalDeposit().Problems(Live).Err(); err != nil {
		t.Errorf("Problems().Err() on a valid request = %#v, want a true nil", err)
	}
}

// A valid request's Validate must return an untyped nil, not a nil *Error
// inside an error interface, or every caller's err != nil check fires.
func TestValidateReturnsUntypedNil(t *testing.T) {
	for _, tc := range requestCases() {
		if err := tc.req.Validate(Test); err != nil {
			t.Errorf("%s: Validate() = %#v, want nil", tc.name, err)
		}
	}
}

func TestISOTables(t *testing.T) {
	if n := len(iso3166); n != 249 {
		t.Errorf("iso3166 has %d codes, want the 249 assigned", n)
	}
	for code := range iso3166 {
		if len(code) != 2 || strings.ToUpper(code) != code {
			t.Errorf("country %q is not two upper-case letters", code)
		}
	}
	for code := range iso4217 {
		if len(code) != 3 || strings.ToUpper(code) != code {
			t.Errorf("currency %q is not three upper-case letters", code)
		}
	}
	for _, c := range []string{"EUR", "SEK", "NOK", "DKK", "PLN", "GBP", "CZK", "USD", "HUF", "RON", "CHF", "BGN"} {
		if !iso4217[c] {
			t.Errorf("currency %s missing", c)
		}
	}
	for _, c := range []string{"SE", "FI", "NO", "DK", "DE", "NL", "GB", "EE", "LV", "LT", "PL", "CZ", "SK", "AT", "ES", "BE"} {
		if !iso3166[c] {
			t.Errorf("country %s missing", c)
		}
	}
}
