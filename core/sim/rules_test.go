package sim

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The simulator's rules and core/trustly's client validation are written
// independently; this test puts the same requests through both. Every
// rule has a request that breaks it (and, where possible, only it); a few
// probes cover what only one side checks and what both must take. Where
// the simulator and the client answer differently the case must be listed
// in differences with the reason; the test fails when an unlisted
// difference appears or a listed one disappears.

// base is a valid request's Data per method, as a merchant sends it
// (credentials left out: the rules do not see them).
func base(method string) map[string]any {
	switch method {
	case "Deposit":
		return map[string]any{
			"NotificationURL": "https://shop.example/n/secret", "EndUserID": "shopper-1", "MessageID": "m-1",
			"Attributes": map[string]any{
				"Currency": "SEK", "Amount": "103.00", "Country": "SE", "Locale": "sv_SE",
				"Firstname": "Åsa", "Lastname": "Öberg", "Email": "asa@example.se",
				"SuccessURL": "https://shop.example/ok", "FailURL": "https://shop.example/fail",
				"ShopperStatement": "Exempel Butik",
			},
		}
	case "SelectAccount":
		return map[string]any{
			"NotificationURL": "https://shop.example/n/secret", "EndUserID": "shopper-1", "MessageID": "m-1",
			"Attributes": map[string]any{
				"Locale": "sv_SE", "Country": "SE", "Firstname": "Åsa", "Lastname": "Öberg",
				"SuccessURL": "https://shop.example/ok", "FailURL": "https://shop.example/fail",
			},
		}
	case "Refund":
		return map[string]any{"OrderID": "1234567890", "Amount": "10.00", "Currency": "SEK", "Attributes": nil}
	case "Charge":
		return map[string]any{
			"AccountID": "9876543210", "NotificationURL": "https://shop.example/n/secret", "EndUserID": "shopper-1",
			"MessageID": "m-1", "Amount": "99.00", "Currency": "SEK",
			"Attributes": map[string]any{"ShopperStatement": "Exempel Butik", "Email": "asa@example.se"},
		}
	case "CancelCharge", "GetWithdrawals":
		return map[string]any{"OrderID": "1234567890", "Attributes": nil}
	case "Balance":
		return map[string]any{"Attributes": nil}
	}
	panic("no base request for " + method)
}

var methods = []string{"Deposit", "SelectAccount", "Refund", "Charge", "CancelCharge", "GetWithdrawals", "Balance"}

// change edits a base request.
type change func(d map[string]any)

func set(field string, v any) change {
	return func(d map[string]any) {
		if name, ok := strings.CutPrefix(field, "Attributes."); ok {
			d["Attributes"].(map[string]any)[name] = v
			return
		}
		d[field] = v
	}
}

func del(field string) change {
	return func(d map[string]any) {
		if name, ok := strings.CutPrefix(field, "Attributes."); ok {
			delete(d["Attributes"].(map[string]any), name)
			return
		}
		delete(d, field)
	}
}

func both(a, b change) change { return func(d map[string]any) { a(d); b(d) } }

// recipient sets a valid RecipientInformation (Trustly's Deposit example),
// then sets (nil: removes) the given members.
func recipient(members map[string]any) change {
	return func(d map[string]any) {
		ri := map[string]any{"Partytype": "PERSON", "Firstname": "Mark", "Lastname": "Smith", "CountryCode": "ES",
			"CustomerID": "123456789", "Address": "Main street 1, 12345, Barcelona", "DateOfBirth": "1980-01-30"}
		for k, v := range members {
			if v == nil {
				delete(ri, k)
				continue
			}
			ri[k] = v
		}
		d["Attributes"].(map[string]any)["RecipientInformation"] = ri
	}
}

// breaks is, per rule id, the change to the base request that breaks it.
var breaks = map[string]change{}

func init() {
	// The rules every method with a NotificationURL, ids and amounts shares.
	for _, m := range []string{"Deposit", "SelectAccount", "Charge"} {
		breaks[m+".Attributes.object"] = set("Attributes", "x")
		breaks[m+".NotificationURL.required"] = del("NotificationURL")
		breaks[m+".NotificationURL.noquery"] = set("NotificationURL", "https://shop.example/n?secret=1")
		breaks[m+".NotificationURL.url"] = set("NotificationURL", "shop.example/n")
		breaks[m+".NotificationURL.https"] = set("NotificationURL", "http://shop.example/n/secret")
		breaks[m+".EndUserID.required"] = del("EndUserID")
		breaks[m+".EndUserID.control"] = set("EndUserID", "a\x01b")
		breaks[m+".MessageID.required"] = del("MessageID")
		breaks[m+".MessageID.control"] = set("MessageID", "m\x001")
		breaks[m+".Attributes.text"] = set("Attributes.Firstname", json.Number("7"))
	}
	for _, m := range []string{"Deposit", "SelectAccount"} {
		breaks[m+".Data.text"] = set("MessageID", json.Number("42"))
		breaks[m+".Attributes.Country.required"] = del("Attributes.Country")
		breaks[m+".Attributes.Country.iso3166"] = set("Attributes.Country", "UK")
		breaks[m+".Attributes.Locale.required"] = del("Attributes.Locale")
		breaks[m+".Attributes.Locale.format"] = set("Attributes.Locale", "sv-SE")
		breaks[m+".Attributes.Firstname.required"] = del("Attributes.Firstname")
		breaks[m+".Attributes.Lastname.required"] = del("Attributes.Lastname")
		breaks[m+".Attributes.Email.mandate"] = both(del("Attributes.Email"), set("Attributes.RequestDirectDebitMandate", "1"))
		breaks[m+".Attributes.Email.format"] = set("Attributes.Email", "not-an-email")
		breaks[m+".Attributes.SuccessURL.required"] = del("Attributes.SuccessURL")
		breaks[m+".Attributes.SuccessURL.url"] = set("Attributes.SuccessURL", "shop/ok")
		breaks[m+".Attributes.FailURL.url"] = set("Attributes.FailURL", "ftp://shop.example/fail")
		breaks[m+".Attributes.IP.one"] = set("Attributes.IP", "192.0.2.1, 192.0.2.2")
		breaks[m+".Attributes.URLTarget.frame"] = set("Attributes.URLTarget", "_blank")
	}
	for k, v := range map[string]change{
		"Deposit.Attributes.FailURL.required":                          del("Attributes.FailURL"),
		"Deposit.Attributes.Currency.required":                         del("Attributes.Currency"),
		"Deposit.Attributes.Currency.iso4217":                          set("Attributes.Currency", "SEKK"),
		"Deposit.Attributes.Amount.required":                           del("Attributes.Amount"),
		"Deposit.Attributes.Amount.format":                             set("Attributes.Amount", "103"),
		"Deposit.Attributes.SuggestedMinAmount.format":                 both(del("Attributes.Amount"), set("Attributes.SuggestedMinAmount", "1")),
		"Deposit.Attributes.SuggestedMaxAmount.format":                 both(del("Attributes.Amount"), set("Attributes.SuggestedMaxAmount", "0.00")),
		"Deposit.Attributes.Email.required":                            del("Attributes.Email"),
		"Deposit.Attributes.ShopperStatement.required":                 del("Attributes.ShopperStatement"),
		"Deposit.Attributes.TemplateURL.url":                           set("Attributes.TemplateURL", "nothing"),
		"Deposit.Attributes.ShippingAddressCountry.iso3166":            set("Attributes.ShippingAddressCountry", "UK"),
		"SelectAccount.Attributes.DateOfBirth.date":                    set("Attributes.DateOfBirth", "30-01-1980"),
		"Refund.Data.text":                                             set("Amount", json.Number("10.00")),
		"Refund.Attributes.object":                                     set("Attributes", "x"),
		"Refund.Attributes.text":                                       set("Attributes", map[string]any{"ExternalReference": json.Number("5")}),
		"Refund.OrderID.required":                                      del("OrderID"),
		"Refund.OrderID.digits":                                        set("OrderID", "m-1"),
		"Refund.Amount.required":                                       del("Amount"),
		"Refund.Amount.format":                                         set("Amount", "10"),
		"Refund.Currency.required":                                     del("Currency"),
		"Refund.Currency.iso4217":                                      set("Currency", "sek"),
		"Charge.Data.text":                                             set("AccountID", json.Number("9876543210")),
		"Charge.AccountID.required":                                    del("AccountID"),
		"Charge.Amount.required":                                       del("Amount"),
		"Charge.Amount.format":                                         set("Amount", "99.0"),
		"Charge.Currency.required":                                     del("Currency"),
		"Charge.Currency.iso4217":                                      set("Currency", "XYZ"),
		"Charge.Attributes.ShopperStatement.required":                  del("Attributes.ShopperStatement"),
		"Charge.Attributes.ShopperStatement.charset":                   set("Attributes.ShopperStatement", "Åsas butik"),
		"Charge.Attributes.Email.required":                             del("Attributes.Email"),
		"Charge.Attributes.Email.format":                               set("Attributes.Email", "asa@"),
		"Charge.Attributes.PaymentDate.date":                           set("Attributes.PaymentDate", "2025-6-1"),
		"CancelCharge.Data.text":                                       set("OrderID", true),
		"CancelCharge.Attributes.object":                               set("Attributes", []any{}),
		"CancelCharge.OrderID.required":                                del("OrderID"),
		"CancelCharge.OrderID.digits":                                  set("OrderID", json.Number("12.5")),
		"GetWithdrawals.Data.text":                                     set("OrderID", map[string]any{}),
		"GetWithdrawals.Attributes.object":                             set("Attributes", "x"),
		"GetWithdrawals.OrderID.required":                              set("OrderID", ""),
		"GetWithdrawals.OrderID.digits":                                set("OrderID", "-1"),
		"Deposit.Attributes.Email.mandate (integer flag)":              both(del("Attributes.Email"), set("Attributes.RequestDirectDebitMandate", json.Number("1"))),
		"SelectAccount.Attributes.Email.mandate (int flag)":            both(del("Attributes.Email"), set("Attributes.RequestDirectDebitMandate", json.Number("1"))),
		"Deposit.Attributes.text (flag not 1 or 0)":                    set("Attributes.HoldNotifications", "yes"),
		"Deposit.Attributes.text (flag as the integer 2)":              set("Attributes.HoldNotifications", json.Number("2")),
		"SelectAccount.Attributes.text (flag not 1 or 0)":              set("Attributes.RequestDirectDebitMandate", "true"),
		"Charge.Attributes.ShopperStatement.charset (emoji)":           set("Attributes.ShopperStatement", "Shop 🛒"),
		"Deposit.Attributes.RecipientInformation.object":               set("Attributes.RecipientInformation", "Mark Smith"),
		"Deposit.Attributes.RecipientInformation.text":                 recipient(map[string]any{"CustomerID": json.Number("123456789")}),
		"Deposit.Attributes.RecipientInformation.Partytype":            recipient(map[string]any{"Partytype": "COMPANY"}),
		"Deposit.Attributes.RecipientInformation.Partytype (missing)":  recipient(map[string]any{"Partytype": nil}),
		"Deposit.Attributes.RecipientInformation.Firstname.required":   recipient(map[string]any{"Firstname": ""}),
		"Deposit.Attributes.RecipientInformation.Lastname.required":    recipient(map[string]any{"Lastname": nil}),
		"Deposit.Attributes.RecipientInformation.CountryCode.required": recipient(map[string]any{"CountryCode": nil}),
		"Deposit.Attributes.RecipientInformation.CountryCode.iso3166":  recipient(map[string]any{"CountryCode": "UK"}),
		"Deposit.Attributes.RecipientInformation.DateOfBirth.date":     recipient(map[string]any{"DateOfBirth": "30/01/1980"}),
		"Deposit.Attributes.text (RequestKYC not 1 or 0)":              set("Attributes.RequestKYC", "yes"),
	} {
		breaks[k] = v
	}
}

// probes are requests outside the one-rule-each set: what the client
// alone refuses, and what Trustly takes that a strict reading would not.
var probes = []struct {
	name, method string
	change       change
	sim          trustly.Code // the simulator's answer; 0 = accepted
}{
	{"EndUserID as a JSON number (Trustly's Charge example)", "Charge", set("EndUserID", json.Number("12345")), 0},
	{"EndUserID as a JSON number on Deposit", "Deposit", set("EndUserID", json.Number("12345")), 0},
	{"flag as the integer 1", "Deposit", set("Attributes.HoldNotifications", json.Number("1")), 0},
	{"flag as the integer 0", "SelectAccount", set("Attributes.RequestDirectDebitMandate", json.Number("0")), 0},
	{"Refund with no Attributes", "Refund", del("Attributes"), 0},
	{"Refund with an ExternalReference", "Refund", set("Attributes", map[string]any{"ExternalReference": "inv-1"}), 0},
	{"OrderID as a JSON number", "Refund", set("OrderID", json.Number("1234567890")), 0},
	{"CancelCharge OrderID as a JSON number", "CancelCharge", set("OrderID", json.Number("1234567890")), 0},
	{"suggested amounts instead of Amount", "Deposit", both(del("Attributes.Amount"), set("Attributes.SuggestedMinAmount", "10.00")), 0},
	{"unknown attribute", "Deposit", set("Attributes.NewTrustlyAttribute", "x"), 0},
	{"MessageID with blanks around", "Deposit", set("MessageID", " m-1 "), 0},
	{"EndUserID longer than 255 bytes", "Deposit", set("EndUserID", strings.Repeat("e", 256)), 0},
	{"ShopperStatement longer than 512 bytes", "Deposit", set("Attributes.ShopperStatement", strings.Repeat("s", 513)), 0},
	{"Amount and SuggestedMinAmount both", "Deposit", set("Attributes.SuggestedMinAmount", "10.00"), 0},
	{"SuggestedMinAmount above SuggestedMaxAmount", "Deposit",
		both(del("Attributes.Amount"), both(set("Attributes.SuggestedMinAmount", "20.00"), set("Attributes.SuggestedMaxAmount", "10.00"))), 0},
	{"Amount above core/trustly's MaxAmount", "Deposit", set("Attributes.Amount", "100000000.01"), 0},
	{"Currency outside core/trustly's table", "Deposit", set("Attributes.Currency", "USD"), 0},
	{"Email domain without a dot", "Deposit", set("Attributes.Email", "asa@localhost"), 0},
	{"UnchangeableNationalIdentificationNumber without the number", "Deposit", set("Attributes.UnchangeableNationalIdentificationNumber", "1"), 0},
	{"Firstname only blanks", "Deposit", set("Attributes.Firstname", "  "), 0},
	{"Charge Email missing is 642", "Charge", del("Attributes.Email"), trustly.CodeInvalidEmail},
	{"SelectAccount without FailURL (Trustly's own request example)", "SelectAccount", del("Attributes.FailURL"), 0},
	{"GetWithdrawals with no Attributes (Trustly's own request example)", "GetWithdrawals", del("Attributes"), 0},
	{"CancelCharge with no Attributes (Trustly's own request example)", "CancelCharge", del("Attributes"), 0},
	{"RequestKYC as the integer 1 (Trustly's PHP client sends it so)", "Deposit", set("Attributes.RequestKYC", json.Number("1")), 0},
	{"RecipientInformation as in Trustly's Deposit example", "Deposit", recipient(nil), 0},
	{"RecipientInformation of an organisation (Lastname null, organisation number)", "Deposit",
		recipient(map[string]any{"Partytype": "ORGANISATION", "Firstname": "Merchant Ltd", "Lastname": nil, "DateOfBirth": "5563427391"}), 0},
}

// difference is a case where the simulator and the client answer
// differently, on purpose.
type difference struct {
	client trustly.Code // what core/trustly's validation answers (0 = accepts)
	why    string
}

const (
	whyTyped = "the typed client cannot send it: its fields are Go strings and bools, so a JSON number, boolean, " +
		"object or a flag other than 1/0 never leaves it (converted here, the value passes)"
	whyClientCaution = "core/trustly's own caution, not a rule of Trustly's reference: the client stops a likely bug " +
		"before sending; Trustly (and the simulator) take the request"
	whyMissingAmount = "core/trustly holds amounts as minor units, where absent is 0, refused as 615 (not > 0); " +
		"Trustly's reference has Amount as a required parameter, and a missing one is 623 like any other"
)

var differences = map[string]difference{
	"Deposit.Data.text":                               {0, whyTyped},
	"SelectAccount.Data.text":                         {0, whyTyped},
	"Refund.Data.text":                                {0, whyTyped},
	"Charge.Data.text":                                {0, whyTyped},
	"Deposit.Attributes.text":                         {0, whyTyped},
	"SelectAccount.Attributes.text":                   {0, whyTyped},
	"Charge.Attributes.text":                          {0, whyTyped},
	"Refund.Attributes.text":                          {0, whyTyped},
	"Deposit.Attributes.text (flag not 1 or 0)":       {0, whyTyped},
	"Deposit.Attributes.text (flag as the integer 2)": {0, whyTyped},
	"SelectAccount.Attributes.text (flag not 1 or 0)": {0, whyTyped},
	"Refund.Attributes.object":                        {0, whyTyped + "; Attributes itself is built by the client"},
	"Deposit.Attributes.RecipientInformation.object":  {0, whyTyped + "; the client builds the object from RecipientInformation"},
	"Deposit.Attributes.RecipientInformation.text":    {0, whyTyped},
	"Deposit.Attributes.text (RequestKYC not 1 or 0)": {0, whyTyped},
	"CancelCharge.Attributes.object":                  {0, whyTyped + "; Attributes itself is built by the client"},
	"GetWithdrawals.Attributes.object":                {0, whyTyped + "; Attributes itself is built by the client"},
	"Deposit.NotificationURL.https":                   {0, "734 for http is the simulator's own strict mode (off with Relaxed); the client lets http through in TEST and SIM and refuses it in LIVE"},
	"SelectAccount.NotificationURL.https":             {0, "as Deposit.NotificationURL.https"},
	"Charge.NotificationURL.https":                    {0, "as Deposit.NotificationURL.https"},
	"Deposit.Attributes.Amount.required":              {trustly.CodeInvalidAmount, whyMissingAmount},
	"Charge.Amount.required":                          {trustly.CodeInvalidAmount, whyMissingAmount},
	"Refund.Amount.required":                          {trustly.CodeInvalidAmount, whyMissingAmount},
	"MessageID with blanks around":                    {trustly.CodeMalformedMessageID, whyClientCaution + " (ids without surrounding blanks)"},
	"EndUserID longer than 255 bytes":                 {trustly.CodeMalformedEndUserID, whyClientCaution + " (MaxIDLength 255: Trustly documents Text without a limit)"},
	"ShopperStatement longer than 512 bytes":          {trustly.CodeInvalidParameters, whyClientCaution + " (MaxTextLength 512: Trustly documents Text without a limit)"},
	"Amount and SuggestedMinAmount both":              {trustly.CodeInvalidParameters, whyClientCaution + " (one way to set the amount; the reference does not forbid both)"},
	"SuggestedMinAmount above SuggestedMaxAmount":     {trustly.CodeInvalidParameters, whyClientCaution + " (a range upside down)"},
	"Amount above core/trustly's MaxAmount":           {trustly.CodeInvalidAmount, whyClientCaution + " (MaxAmount catches unit mix-ups; Trustly's limits are per contract, not in the reference)"},
	"Currency outside core/trustly's table":           {trustly.CodeInvalidCurrencyCode, "the client holds to the currencies Trustly's partners publish; the reference names no closed list, so the simulator takes any ISO 4217 code"},
	"Email domain without a dot":                      {trustly.CodeInvalidEmail, whyClientCaution + " (a shop's address has a dotted domain; RFC 5322 does not require one)"},
	"UnchangeableNationalIdentificationNumber without the number": {trustly.CodeInvalidParameters,
		whyClientCaution + " (the flag locks a number that is not there)"},
	"SelectAccount without FailURL (Trustly's own request example)": {trustly.CodeInvalidParameters,
		"core/trustly requires FailURL on SelectAccount as on Deposit; Trustly's SelectAccount request example sends none, so Trustly takes it"},
	"Firstname only blanks": {trustly.CodeInvalidParameters, whyClientCaution + " (blank is missing; Trustly's required means present)"},
}

// typed builds core/trustly's request from the same values, the way a
// merchant using the client would have: text as text, flags as bools,
// amounts parsed from the wire form (a malformed one is 0).
func typed(method string, d map[string]any) trustly.Request {
	attrs, _ := d["Attributes"].(map[string]any)
	s := func(m map[string]any, k string) string {
		switch v := m[k].(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			return fmt.Sprint(v)
		}
	}
	a := func(k string) string { return s(attrs, k) }
	flag := func(k string) bool { return a(k) == "1" }
	amount := func(v string) int64 {
		n, err := trustly.ParseRequestAmount(v)
		if err != nil {
			return 0
		}
		return n
	}
	switch method {
	case "Deposit":
		return &trustly.DepositRequest{
			NotificationURL: s(d, "NotificationURL"), EndUserID: s(d, "EndUserID"), MessageID: s(d, "MessageID"),
			Currency: a("Currency"), Amount: amount(a("Amount")),
			SuggestedMinAmount: amount(a("SuggestedMinAmount")), SuggestedMaxAmount: amount(a("SuggestedMaxAmount")),
			Country: a("Country"), Locale: a("Locale"), Firstname: a("Firstname"), Lastname: a("Lastname"),
			Email: a("Email"), SuccessURL: a("SuccessURL"), FailURL: a("FailURL"), ShopperStatement: a("ShopperStatement"),
			IP: a("IP"), NationalIdentificationNumber: a("NationalIdentificationNumber"),
			UnchangeableNationalIdentificationNumber: flag("UnchangeableNationalIdentificationNumber"),
			URLTarget:                                a("URLTarget"), TemplateURL: a("TemplateURL"), ShippingAddressCountry: a("ShippingAddressCountry"),
			RequestDirectDebitMandate: flag("RequestDirectDebitMandate"), HoldNotifications: flag("HoldNotifications"),
			RequestKYC: flag("RequestKYC"), RecipientInformation: typedRecipient(attrs["RecipientInformation"]),
		}
	case "SelectAccount":
		return &trustly.SelectAccountRequest{
			NotificationURL: s(d, "NotificationURL"), EndUserID: s(d, "EndUserID"), MessageID: s(d, "MessageID"),
			Locale: a("Locale"), Country: a("Country"), Firstname: a("Firstname"), Lastname: a("Lastname"),
			SuccessURL: a("SuccessURL"), FailURL: a("FailURL"), Email: a("Email"), IP: a("IP"),
			DateOfBirth: a("DateOfBirth"), RequestDirectDebitMandate: flag("RequestDirectDebitMandate"), URLTarget: a("URLTarget"),
		}
	case "Refund":
		return &trustly.RefundRequest{OrderID: s(d, "OrderID"), Amount: amount(s(d, "Amount")), Currency: s(d, "Currency"),
			ExternalReference: a("ExternalReference")}
	case "Charge":
		return &trustly.ChargeRequest{
			AccountID: s(d, "AccountID"), NotificationURL: s(d, "NotificationURL"), EndUserID: s(d, "EndUserID"),
			MessageID: s(d, "MessageID"), Amount: amount(s(d, "Amount")), Currency: s(d, "Currency"),
			ShopperStatement: a("ShopperStatement"), Email: a("Email"), PaymentDate: a("PaymentDate"),
			ExternalReference: a("ExternalReference"),
		}
	case "CancelCharge":
		return &trustly.CancelChargeRequest{OrderID: s(d, "OrderID")}
	case "GetWithdrawals":
		return &trustly.GetWithdrawalsRequest{OrderID: s(d, "OrderID")}
	case "Balance":
		return &trustly.BalanceRequest{}
	}
	panic("no typed request for " + method)
}

// ruleOf is the rule a breaks key names: "id" or "id (variant)".
func ruleOf(key string) *rule {
	id, _, _ := strings.Cut(key, " (")
	for i := range rules {
		if rules[i].id == id {
			return &rules[i]
		}
	}
	return nil
}

func TestRuleTableIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.id] {
			t.Errorf("rule %s twice", r.id)
		}
		seen[r.id] = true
		if !slices.Contains(methods, r.method) || !strings.HasPrefix(r.id, r.method+".") {
			t.Errorf("rule %s: method %q", r.id, r.method)
		}
		if r.code.Name() == "" || !strings.HasPrefix(r.code.Name(), "ERROR_") {
			t.Errorf("rule %s: code %d has no Trustly name", r.id, r.code)
		}
		if !strings.Contains(r.ref, "https://eu.developers.trustly.com/") && r.ref != refSim {
			t.Errorf("rule %s cites no page of Trustly's reference: %q", r.id, r.ref)
		}
		if _, ok := breaks[r.id]; !ok {
			t.Errorf("rule %s has no breaking request in breaks", r.id)
		}
	}
	for k := range breaks {
		if ruleOf(k) == nil {
			t.Errorf("breaks[%q] names no rule", k)
		}
	}
}

// simCode is the simulator's answer to d, strict (not Relaxed).
func simCode(method string, d map[string]any) (trustly.Code, string) {
	r, why := checkRules(method, d, false)
	if r == nil {
		return 0, ""
	}
	return r.code, r.id + ": " + why
}

func clientCode(method string, d map[string]any) (trustly.Code, error) {
	err := typed(method, d).Validate(trustly.Sim)
	return trustly.ErrorCode(err), err
}

// copyData deep-copies a base request so a change touches only its copy.
func copyData(d map[string]any) map[string]any {
	out := maps.Clone(d)
	if a, ok := d["Attributes"].(map[string]any); ok {
		out["Attributes"] = maps.Clone(a)
	}
	return out
}

func TestBaseRequestsPassBoth(t *testing.T) {
	for _, m := range methods {
		d := base(m)
		if c, why := simCode(m, d); c != 0 {
			t.Errorf("%s: the simulator refuses the base request: %d %s", m, c, why)
		}
		if c, err := clientCode(m, d); c != 0 || err != nil {
			t.Errorf("%s: the client refuses the base request: %v", m, err)
		}
	}
}

// TestRulesAgainstTheClient runs each rule's breaking request, and each
// probe, through the simulator's rules and core/trustly's validation.
func TestRulesAgainstTheClient(t *testing.T) {
	type result struct {
		name   string
		sim    trustly.Code
		client trustly.Code
		err    error
	}
	var results []result
	for _, key := range slices.Sorted(maps.Keys(breaks)) {
		r := ruleOf(key)
		if r == nil {
			continue // reported by TestRuleTableIsWellFormed
		}
		d := copyData(base(r.method))
		breaks[key](d)
		got, why := simCode(r.method, d)
		if first, _ := checkRules(r.method, d, false); first != r {
			t.Errorf("%s: the first rule broken is %q (%s), want %s", key, idOf(first), why, r.id)
		}
		if got != r.code {
			t.Errorf("%s: simulator answers %d, want %d", key, got, r.code)
		}
		c, err := clientCode(r.method, d)
		results = append(results, result{key, got, c, err})
	}
	for _, p := range probes {
		d := copyData(base(p.method))
		p.change(d)
		got, why := simCode(p.method, d)
		if got != p.sim {
			t.Errorf("probe %q: simulator answers %d (%s), want %d", p.name, got, why, p.sim)
		}
		c, err := clientCode(p.method, d)
		results = append(results, result{p.name, got, c, err})
	}

	found := map[string]bool{}
	for _, r := range results {
		want, listed := differences[r.name]
		switch {
		case r.sim == r.client && listed:
			t.Errorf("%s: listed as a difference, but both answer %d now: remove it from differences", r.name, r.sim)
		case r.sim != r.client && !listed:
			t.Errorf("%s: NEW DIFFERENCE: simulator %d, client %d (%v); fix the wrong side or list it with the reason",
				r.name, r.sim, r.client, r.err)
		case r.sim != r.client && r.client != want.client:
			t.Errorf("%s: the client answers %d (%v), differences says %d", r.name, r.client, r.err, want.client)
		}
		if listed {
			found[r.name] = true
			if want.why == "" {
				t.Errorf("%s: a difference without its reason", r.name)
			}
		}
	}
	for name := range differences {
		if !found[name] {
			t.Errorf("differences[%q] matches no rule case or probe", name)
		}
	}
}

func idOf(r *rule) string {
	if r == nil {
		return "none"
	}
	return r.id
}

// Relaxed turns off the simulator's own 734 and nothing else.
func TestRelaxedOnlyTurnsOff734(t *testing.T) {
	d := base("Deposit")
	d["NotificationURL"] = "http://shop.example/n/secret"
	if r, _ := checkRules("Deposit", d, true); r != nil {
		t.Errorf("relaxed: %s refuses an http NotificationURL", r.id)
	}
	if r, _ := checkRules("Deposit", d, false); r == nil || r.code != trustly.CodeNotSecureNotificationURL {
		t.Errorf("strict: %s, want 734", idOf(r))
	}
	for _, r := range rules {
		if r.ref == refSim && !strings.HasSuffix(r.id, ".NotificationURL.https") {
			t.Errorf("%s is marked as the simulator's own: only the 734 rules are", r.id)
		}
	}
}

// typedRecipient is RecipientInformation as a client user would fill it:
// text as text (a number's digits), an object only when one was sent.
func typedRecipient(v any) *trustly.RecipientInformation {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	s := func(k string) string {
		if m[k] == nil {
			return ""
		}
		return fmt.Sprint(m[k])
	}
	return &trustly.RecipientInformation{PartyType: s("Partytype"), FirstName: s("Firstname"), LastName: s("Lastname"),
		CountryCode: s("CountryCode"), CustomerID: s("CustomerID"), Address: s("Address"), DateOfBirth: s("DateOfBirth")}
}
