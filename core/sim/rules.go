package sim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The simulator's request rules, written from Trustly's API reference and
// NOT from core/trustly's client validation: when both were the same code,
// a wrong rule passed on both sides and no test could see it (issue #13).
// rules_test.go runs every rule's breaking request through the client's
// validation too and lists where, and why, the two differ.
//
// A rule looks at the request as received: Data and Attributes as parsed
// JSON (strings, json.Number, nil, maps), so what Trustly takes from its
// own clients keeps being taken: amounts as strings, flags as the integer
// 1, an OrderID or EndUserID as a JSON number, a Refund with no Attributes.

// Pages of Trustly's API reference the rules come from.
const (
	refDeposit       = "https://eu.developers.trustly.com/doc/reference/deposit"
	refRefund        = "https://eu.developers.trustly.com/doc/reference/refund"
	refSelectAccount = "https://eu.developers.trustly.com/doc/reference/selectaccount"
	refCharge        = "https://eu.developers.trustly.com/doc/reference/charge"
	refCancelCharge  = "https://eu.developers.trustly.com/doc/reference/cancelcharge"
	refGetWithdrawal = "https://eu.developers.trustly.com/doc/reference/getwithdrawals"
	// refKYC: "Trustly will send a KYC notification to the merchant's
	// NotificationURL if the attribute "RequestKYC": "1" is sent in a
	// Deposit API call."
	refKYC = "https://eu.developers.trustly.com/doc/reference/kyc-notification"
	// refErrors is Trustly's error-code list: 615 ("The amount must be > 0
	// with 2 decimals"), 622, 623 and the others up to 639 are on it; 642
	// and up come from a secondary source (trustly-wire.md says so), kept
	// in core/trustly's one code table so they are easy to correct.
	refErrors = "https://eu.developers.trustly.com/doc-old/docs/error-messages"
	// refSim marks the simulator's own rule, not Trustly's: 734 for an
	// http NotificationURL (trustly-wire.md), switched off by Relaxed.
	refSim = "core/sim (its own 734 rule; /work/shared/trustly-wire.md)"
)

// rule is one check Trustly makes on a request.
type rule struct {
	id     string // unique: method.field.what
	method string
	field  string // where in Data: "NotificationURL", "Attributes.Amount"
	code   trustly.Code
	ref    string // the page(s) the rule comes from
	// check says why q breaks the rule, or "" when it does not.
	check func(q *request) string
}

// request is a request's Data as received, for the rules.
type request struct {
	method  string
	data    map[string]any
	attrs   map[string]any // nil when Attributes is null or absent
	relaxed bool           // the simulator accepts http NotificationURLs
}

func newRequest(method string, data map[string]any, relaxed bool) *request {
	q := &request{method: method, data: data, relaxed: relaxed}
	q.attrs, _ = data["Attributes"].(map[string]any)
	return q
}

// val is the raw value of "Name" in Data or "Attributes.Name".
func (q *request) val(field string) any {
	if name, ok := strings.CutPrefix(field, "Attributes."); ok {
		return q.attrs[name]
	}
	return q.data[field]
}

// text is a field's value as text: a string, or a number's digits as
// received; "" for absent, null and anything else (the type rules
// refuse those first).
func (q *request) text(field string) string {
	switch v := q.val(field).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// flagOn reports a "1" flag, given as the string or the integer.
func (q *request) flagOn(field string) bool {
	switch v := q.val(field).(type) {
	case string:
		return v == "1"
	case json.Number:
		return v.String() == "1"
	}
	return false
}

// checkRules runs method's rules on data in table order and returns the
// first broken one with why, or nil.
func checkRules(method string, data map[string]any, relaxed bool) (*rule, string) {
	q := newRequest(method, data, relaxed)
	for i := range rules {
		r := &rules[i]
		if r.method != method {
			continue
		}
		if why := r.check(q); why != "" {
			return r, why
		}
	}
	return nil, ""
}

// --- rule builders -----------------------------------------------------

// required: Trustly's "Required: Yes". Absent, null and "" are missing.
func required(method, field string, code trustly.Code, ref string) rule {
	return rule{id: method + "." + field + ".required", method: method, field: field, code: code, ref: ref,
		check: func(q *request) string {
			if q.text(field) == "" {
				return field + " is required"
			}
			return ""
		}}
}

// format checks a present value with ok, which says what is wrong or "".
func format(method, field, what string, code trustly.Code, ref string, ok func(string) string) rule {
	return rule{id: method + "." + field + "." + what, method: method, field: field, code: code, ref: ref,
		check: func(q *request) string {
			v := q.text(field)
			if v == "" {
				return ""
			}
			if why := ok(v); why != "" {
				return fmt.Sprintf("%s %q: %s", field, v, why)
			}
			return ""
		}}
}

// dataText: the reference types every Data field as Text. A JSON number is
// taken where Trustly's own examples send one (numeric in numbers).
func dataText(method, ref string, fields []string, numbers ...string) rule {
	return rule{id: method + ".Data.text", method: method, field: "Data", code: trustly.CodeInvalidParameters, ref: ref,
		check: func(q *request) string {
			for _, f := range fields {
				switch q.data[f].(type) {
				case nil, string:
				case json.Number:
					if !slices.Contains(numbers, f) {
						return f + " must be a string"
					}
				default:
					return f + " must be a string"
				}
			}
			return ""
		}}
}

// attributesObject: Attributes is an object; null where the method's page
// allows it (Refund, CancelCharge, GetWithdrawals send null), and absent
// on Refund because Trustly's PHP and Python clients send none.
func attributesObject(method, ref string) rule {
	return rule{id: method + ".Attributes.object", method: method, field: "Attributes", code: trustly.CodeInvalidParameters, ref: ref,
		check: func(q *request) string {
			switch q.data["Attributes"].(type) {
			case nil, map[string]any:
				return ""
			}
			return "Attributes must be an object or null"
		}}
}

// attributesText: every attribute is Text, flags "1"/"0". Trustly's
// clients let merchants pass the integer 1 (and 0) for a flag, and Trustly
// takes it, so the integers are taken for flags. The attributes that are
// objects (objectAttributes) have rules of their own.
func attributesText(method, ref string, flags ...string) rule {
	return rule{id: method + ".Attributes.text", method: method, field: "Attributes", code: trustly.CodeInvalidParameters, ref: ref,
		check: func(q *request) string {
			for _, k := range slices.Sorted(maps.Keys(q.attrs)) {
				v := q.attrs[k]
				if slices.Contains(objectAttributes[method], k) {
					continue
				}
				if !slices.Contains(flags, k) {
					switch v.(type) {
					case nil, string:
						continue
					}
					return "Attributes." + k + " must be a string"
				}
				switch t := v.(type) {
				case nil:
					continue
				case string:
					if t == "" || t == "0" || t == "1" {
						continue
					}
				case json.Number:
					if t == "0" || t == "1" {
						continue
					}
				}
				return fmt.Sprintf("Attributes.%s is %v, want \"1\" or \"0\"", k, v)
			}
			return ""
		}}
}

// notificationURL is the four NotificationURL rules, in Trustly's order.
func notificationURL(method, ref string) []rule {
	const f = "NotificationURL"
	return []rule{
		required(method, f, trustly.CodeInvalidParameters, ref),
		// "This URL should be hard to guess and not contain a ? (question mark)."
		format(method, f, "noquery", trustly.CodeMalformedNotificationURL, ref+" "+refErrors, func(v string) string {
			if strings.Contains(v, "?") {
				return "contains '?'"
			}
			return ""
		}),
		format(method, f, "url", trustly.CodeMalformedNotificationURL, refErrors, func(v string) string {
			if !isHTTPURL(v) {
				return "not an absolute http(s) URL"
			}
			return ""
		}),
		{id: method + "." + f + ".https", method: method, field: f, code: trustly.CodeNotSecureNotificationURL, ref: refSim,
			check: func(q *request) string {
				if !q.relaxed && strings.HasPrefix(strings.ToLower(q.text(f)), "http://") {
					return "NotificationURL must use https (run the simulator relaxed to allow http)"
				}
				return ""
			}},
	}
}

// ids: EndUserID and MessageID are required Text; their own codes for
// missing (696, 697) and malformed (706, 704) are on the error list, which
// does not say what "malformed" is. The simulator's reading: control
// characters, which no id survives.
func ids(method, ref string) []rule {
	return []rule{
		required(method, "EndUserID", trustly.CodeEndUserIDIsNull, ref+" "+refErrors),
		format(method, "EndUserID", "control", trustly.CodeMalformedEndUserID, refErrors, noControl),
		required(method, "MessageID", trustly.CodeMessageIDIsNull, ref+" "+refErrors),
		format(method, "MessageID", "control", trustly.CodeMalformedMessageID, refErrors, noControl),
	}
}

func amountRule(method, field, ref string) rule {
	return format(method, field, "format", trustly.CodeInvalidAmount, ref+" "+refErrors, amountProblem)
}

func currencyRules(method, field, ref string) []rule {
	return []rule{
		required(method, field, trustly.CodeInvalidParameters, ref),
		format(method, field, "iso4217", trustly.CodeInvalidCurrencyCode, ref+" "+refErrors, currencyProblem),
	}
}

func orderIDRules(method, ref string) []rule {
	return []rule{
		required(method, "OrderID", trustly.CodeInvalidParameters, ref),
		// OrderID is Text in the reference, with digits in every example;
		// a JSON number is taken (official clients read it back from an
		// answer as one), but only a whole one.
		format(method, "OrderID", "digits", trustly.CodeInvalidParameters, ref, func(v string) string {
			if !digits(v) {
				return "not Trustly's numeric order id"
			}
			return ""
		}),
	}
}

// --- the table ---------------------------------------------------------

// Flags of each method: "1"/"0" or the integers.
var (
	depositFlags       = []string{"UnchangeableNationalIdentificationNumber", "RequestDirectDebitMandate", "HoldNotifications", "RequestKYC"}
	selectAccountFlags = []string{"RequestDirectDebitMandate", "HoldNotifications"}
	// objectAttributes are the attributes that are objects, not Text.
	objectAttributes = map[string][]string{"Deposit": {"RecipientInformation"}}
)

// rules is every check, per method in the order they are made; the first
// broken one answers. Business rules that need state (a known order, an
// unused MessageID, a mandate) come after, in methods.go.
var rules = concat(
	// Deposit: https://eu.developers.trustly.com/doc/reference/deposit
	[]rule{
		dataText("Deposit", refDeposit, []string{"NotificationURL", "EndUserID", "MessageID"}, "EndUserID"),
		attributesObject("Deposit", refDeposit),
		attributesText("Deposit", refDeposit+" "+refKYC, depositFlags...),
	},
	notificationURL("Deposit", refDeposit),
	ids("Deposit", refDeposit),
	currencyRules("Deposit", "Attributes.Currency", refDeposit),
	[]rule{
		// Amount, or SuggestedMinAmount/SuggestedMaxAmount to let the
		// shopper choose; one of them is required.
		{id: "Deposit.Attributes.Amount.required", method: "Deposit", field: "Attributes.Amount", code: trustly.CodeInvalidParameters, ref: refDeposit,
			check: func(q *request) string {
				if q.text("Attributes.Amount") == "" && q.text("Attributes.SuggestedMinAmount") == "" && q.text("Attributes.SuggestedMaxAmount") == "" {
					return "Attributes.Amount (or SuggestedMinAmount/SuggestedMaxAmount) is required"
				}
				return ""
			}},
		amountRule("Deposit", "Attributes.Amount", refDeposit),
		amountRule("Deposit", "Attributes.SuggestedMinAmount", refDeposit),
		amountRule("Deposit", "Attributes.SuggestedMaxAmount", refDeposit),
		required("Deposit", "Attributes.Country", trustly.CodeInvalidParameters, refDeposit),
		format("Deposit", "Attributes.Country", "iso3166", trustly.CodeInvalidCountry, refDeposit+" "+refErrors, countryProblem),
		required("Deposit", "Attributes.Locale", trustly.CodeInvalidParameters, refDeposit),
		format("Deposit", "Attributes.Locale", "format", trustly.CodeInvalidLocale, refDeposit+" "+refErrors, localeProblem),
		required("Deposit", "Attributes.Firstname", trustly.CodeInvalidParameters, refDeposit),
		required("Deposit", "Attributes.Lastname", trustly.CodeInvalidParameters, refDeposit),
		// Email is required; for a direct debit mandate its absence is
		// 642, the code the error list gives direct debit's email.
		{id: "Deposit.Attributes.Email.required", method: "Deposit", field: "Attributes.Email", code: trustly.CodeInvalidParameters, ref: refDeposit,
			check: func(q *request) string {
				if q.text("Attributes.Email") == "" && !q.flagOn("Attributes.RequestDirectDebitMandate") {
					return "Attributes.Email is required"
				}
				return ""
			}},
		emailForMandate("Deposit", refDeposit),
		format("Deposit", "Attributes.Email", "format", trustly.CodeInvalidEmail, refDeposit+" "+refErrors, emailProblem),
		required("Deposit", "Attributes.SuccessURL", trustly.CodeInvalidParameters, refDeposit),
		format("Deposit", "Attributes.SuccessURL", "url", trustly.CodeMalformedSuccessURL, refErrors, urlProblem),
		required("Deposit", "Attributes.FailURL", trustly.CodeInvalidParameters, refDeposit),
		format("Deposit", "Attributes.FailURL", "url", trustly.CodeMalformedFailURL, refErrors, urlProblem),
		// ShopperStatement: required in Trustly's published API definition
		// (DepositRequestDataAttributes in trustly-client-js' generated
		// models), though the reference page's request example omits it;
		// README, "Why shopperStatement is required", has the decision.
		required("Deposit", "Attributes.ShopperStatement", trustly.CodeInvalidParameters, refDeposit),
		format("Deposit", "Attributes.IP", "one", trustly.CodeInvalidIP, refDeposit+" "+refErrors, ipProblem),
		format("Deposit", "Attributes.URLTarget", "frame", trustly.CodeMalformedURLTarget, refDeposit+" "+refErrors, urlTargetProblem),
		format("Deposit", "Attributes.TemplateURL", "url", trustly.CodeMalformedTemplateURL, refErrors, urlProblem),
		format("Deposit", "Attributes.ShippingAddressCountry", "iso3166", trustly.CodeInvalidCountry, refDeposit+" "+refErrors, countryProblem),
	},
	recipientRules(),

	// SelectAccount: https://eu.developers.trustly.com/doc/reference/selectaccount
	[]rule{
		dataText("SelectAccount", refSelectAccount, []string{"NotificationURL", "EndUserID", "MessageID"}, "EndUserID"),
		attributesObject("SelectAccount", refSelectAccount),
		attributesText("SelectAccount", refSelectAccount, selectAccountFlags...),
	},
	notificationURL("SelectAccount", refSelectAccount),
	ids("SelectAccount", refSelectAccount),
	[]rule{
		required("SelectAccount", "Attributes.Locale", trustly.CodeInvalidParameters, refSelectAccount),
		format("SelectAccount", "Attributes.Locale", "format", trustly.CodeInvalidLocale, refSelectAccount+" "+refErrors, localeProblem),
		required("SelectAccount", "Attributes.Country", trustly.CodeInvalidParameters, refSelectAccount),
		format("SelectAccount", "Attributes.Country", "iso3166", trustly.CodeInvalidCountry, refSelectAccount+" "+refErrors, countryProblem),
		required("SelectAccount", "Attributes.Firstname", trustly.CodeInvalidParameters, refSelectAccount),
		required("SelectAccount", "Attributes.Lastname", trustly.CodeInvalidParameters, refSelectAccount),
		required("SelectAccount", "Attributes.SuccessURL", trustly.CodeInvalidParameters, refSelectAccount),
		format("SelectAccount", "Attributes.SuccessURL", "url", trustly.CodeMalformedSuccessURL, refErrors, urlProblem),
		// FailURL is not required: Trustly's own SelectAccount request
		// example sends none. When sent, it must be a URL.
		format("SelectAccount", "Attributes.FailURL", "url", trustly.CodeMalformedFailURL, refErrors, urlProblem),
		// Email: "required when RequestDirectDebitMandate is 1".
		emailForMandate("SelectAccount", refSelectAccount),
		format("SelectAccount", "Attributes.Email", "format", trustly.CodeInvalidEmail, refSelectAccount+" "+refErrors, emailProblem),
		format("SelectAccount", "Attributes.IP", "one", trustly.CodeInvalidIP, refSelectAccount+" "+refErrors, ipProblem),
		format("SelectAccount", "Attributes.DateOfBirth", "date", trustly.CodeInvalidParameters, refSelectAccount, dateProblem),
		format("SelectAccount", "Attributes.URLTarget", "frame", trustly.CodeMalformedURLTarget, refSelectAccount+" "+refErrors, urlTargetProblem),
	},

	// Refund: https://eu.developers.trustly.com/doc/reference/refund
	[]rule{
		dataText("Refund", refRefund, []string{"OrderID", "Amount", "Currency"}, "OrderID"),
		attributesObject("Refund", refRefund),
		attributesText("Refund", refRefund),
	},
	orderIDRules("Refund", refRefund),
	[]rule{
		required("Refund", "Amount", trustly.CodeInvalidParameters, refRefund),
		amountRule("Refund", "Amount", refRefund),
	},
	currencyRules("Refund", "Currency", refRefund),

	// Charge: https://eu.developers.trustly.com/doc/reference/charge
	[]rule{
		dataText("Charge", refCharge, []string{"AccountID", "NotificationURL", "EndUserID", "MessageID", "Amount", "Currency"}, "EndUserID"),
		attributesObject("Charge", refCharge),
		attributesText("Charge", refCharge),
		required("Charge", "AccountID", trustly.CodeInvalidParameters, refCharge),
	},
	notificationURL("Charge", refCharge),
	ids("Charge", refCharge),
	[]rule{
		required("Charge", "Amount", trustly.CodeInvalidParameters, refCharge),
		amountRule("Charge", "Amount", refCharge),
	},
	currencyRules("Charge", "Currency", refCharge),
	[]rule{
		required("Charge", "Attributes.ShopperStatement", trustly.CodeInvalidParameters, refCharge),
		// "Allowed characters: A-Z (both upper and lower case), 0-9, ".",
		// "-", "_", " " (dot, dash, underscore, space)."
		format("Charge", "Attributes.ShopperStatement", "charset", trustly.CodeInvalidParameters, refCharge, func(v string) string {
			for _, r := range v {
				if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_ ", r)) {
					return fmt.Sprintf("%q is not allowed", r)
				}
			}
			return ""
		}),
		// Email: "Req. Yes"; 642 is direct debit's email code.
		required("Charge", "Attributes.Email", trustly.CodeInvalidEmail, refCharge+" "+refErrors),
		format("Charge", "Attributes.Email", "format", trustly.CodeInvalidEmail, refCharge+" "+refErrors, emailProblem),
		// PaymentDate: "2019-06-25".
		format("Charge", "Attributes.PaymentDate", "date", trustly.CodeInvalidParameters, refCharge, dateProblem),
	},

	// CancelCharge: https://eu.developers.trustly.com/doc/reference/cancelcharge
	[]rule{
		dataText("CancelCharge", refCancelCharge, []string{"OrderID"}, "OrderID"),
		attributesObject("CancelCharge", refCancelCharge),
	},
	orderIDRules("CancelCharge", refCancelCharge),

	// GetWithdrawals: https://eu.developers.trustly.com/doc/reference/getwithdrawals
	[]rule{
		dataText("GetWithdrawals", refGetWithdrawal, []string{"OrderID"}, "OrderID"),
		attributesObject("GetWithdrawals", refGetWithdrawal),
	},
	orderIDRules("GetWithdrawals", refGetWithdrawal),
	// Balance has no request fields to check.
)

// emailForMandate: with RequestDirectDebitMandate "1" an Email is
// required, refused with 642 (direct debit's email code).
func emailForMandate(method, ref string) rule {
	return rule{id: method + ".Attributes.Email.mandate", method: method, field: "Attributes.Email", code: trustly.CodeInvalidEmail, ref: ref + " " + refErrors,
		check: func(q *request) string {
			if q.text("Attributes.Email") == "" && q.flagOn("Attributes.RequestDirectDebitMandate") {
				return "Attributes.Email is required with RequestDirectDebitMandate"
			}
			return ""
		}}
}

// --- value checks ------------------------------------------------------

// amountProblem: "Only digits. Use dot (.) as decimal separator"; the
// error list's 615: "must be > 0 with 2 decimals".
func amountProblem(v string) string {
	whole, frac, ok := strings.Cut(v, ".")
	if !ok || whole == "" || len(frac) != 2 || !digits(whole) || !digits(frac) {
		return `want digits, a dot and two decimals, like "103.00"`
	}
	if strings.Trim(whole+frac, "0") == "" {
		return "must be greater than zero"
	}
	return ""
}

// currencyProblem: Currency is "Char(3)", an ISO 4217 code. Trustly's
// reference publishes no closed list of currencies a merchant may use
// (that is per contract), so any active ISO 4217 code is taken.
func currencyProblem(v string) string {
	if len(v) != 3 || strings.ToUpper(v) != v {
		return "not an ISO 4217 code (three upper-case letters)"
	}
	if _, err := currency.ParseISO(v); err != nil {
		return "not an ISO 4217 currency"
	}
	return ""
}

// notCountries are codes x/text takes as regions that ISO 3166-1 has not
// assigned (exceptionally or transitionally reserved, user-assigned).
// UK is the classic mistake for GB.
var notCountries = map[string]bool{"AC": true, "CP": true, "CQ": true, "DG": true, "EA": true, "EU": true, "EZ": true,
	"FX": true, "IC": true, "SU": true, "TA": true, "UK": true, "UN": true, "XK": true}

// countryProblem: "The ISO 3166-1-alpha-2 code of the end-user's country".
func countryProblem(v string) string {
	if len(v) != 2 || strings.ToUpper(v) != v || notCountries[v] {
		return "not an ISO 3166-1 alpha-2 country code"
	}
	r, err := language.ParseRegion(v)
	if err != nil || !r.IsCountry() || r.String() != v {
		return "not an ISO 3166-1 alpha-2 country code"
	}
	return ""
}

// localeProblem: "in the format [language[_territory]]", e.g. sv_SE.
func localeProblem(v string) string {
	lang, cc, hasCC := strings.Cut(v, "_")
	if len(lang) != 2 || strings.ToLower(lang) != lang || !isLetters(lang) {
		return "want language[_territory], like sv_SE"
	}
	if hasCC && countryProblem(cc) != "" {
		return "want language[_territory], like sv_SE"
	}
	return ""
}

func emailProblem(v string) string {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v {
		return "not an email address"
	}
	return ""
}

// urlProblem: SuccessURL, FailURL, TemplateURL are absolute http(s) URLs.
func urlProblem(v string) string {
	if !isHTTPURL(v) {
		return "not an absolute http(s) URL"
	}
	return ""
}

func isHTTPURL(v string) bool {
	if strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return false
	}
	u, err := url.Parse(v)
	if err != nil || u.Hostname() == "" {
		return false
	}
	s := strings.ToLower(u.Scheme)
	return s == "http" || s == "https"
}

// ipProblem: "The IP-address of the end-user": one address.
func ipProblem(v string) string {
	if a, err := netip.ParseAddr(v); err != nil || a.Zone() != "" {
		return "not one IP address"
	}
	return ""
}

// urlTargetProblem: the frames the reference lists.
func urlTargetProblem(v string) string {
	switch v {
	case "_top", "_self", "_parent":
		return ""
	}
	return "want _top, _self or _parent"
}

func dateProblem(v string) string {
	if _, err := time.Parse(time.DateOnly, v); err != nil || len(v) != len(time.DateOnly) {
		return "want YYYY-MM-DD"
	}
	return ""
}

func noControl(v string) string {
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "contains control characters"
	}
	return ""
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < 'a' || s[i] > 'z') && (s[i] < 'A' || s[i] > 'Z') {
			return false
		}
	}
	return true
}

func concat(parts ...[]rule) []rule {
	var out []rule
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// recipientRules check the Deposit's RecipientInformation as the Deposit
// page's example shows it and Trustly's published models type it
// (RecipientOrSenderInformation: Partytype PERSON or ORGANISATION,
// Firstname, Lastname and CountryCode required, Lastname null for an
// organisation; CustomerID, Address, DateOfBirth optional; DateOfBirth
// YYYY-MM-DD for a person, the organisation number for an organisation).
// The reference names no code for a nested attribute: 623.
func recipientRules() []rule {
	const f = "Attributes.RecipientInformation"
	ref := refDeposit
	ri := func(q *request) (map[string]any, bool) {
		m, ok := q.attrs["RecipientInformation"].(map[string]any)
		return m, ok
	}
	str := func(m map[string]any, k string) string {
		s, _ := m[k].(string)
		return s
	}
	member := func(what string, check func(m map[string]any) string) rule {
		return rule{id: "Deposit." + f + "." + what, method: "Deposit", field: f, code: trustly.CodeInvalidParameters, ref: ref,
			check: func(q *request) string {
				if m, ok := ri(q); ok {
					return check(m)
				}
				return ""
			}}
	}
	return []rule{
		{id: "Deposit." + f + ".object", method: "Deposit", field: f, code: trustly.CodeInvalidParameters, ref: ref,
			check: func(q *request) string {
				switch q.attrs["RecipientInformation"].(type) {
				case nil, map[string]any:
					return ""
				}
				return f + " must be an object"
			}},
		member("text", func(m map[string]any) string {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				switch m[k].(type) {
				case nil, string:
					continue
				}
				return f + "." + k + " must be a string"
			}
			return ""
		}),
		member("Partytype", func(m map[string]any) string {
			switch str(m, "Partytype") {
			case "PERSON", "ORGANISATION":
				return ""
			}
			return f + ".Partytype must be PERSON or ORGANISATION"
		}),
		member("Firstname.required", func(m map[string]any) string {
			if str(m, "Firstname") == "" {
				return f + ".Firstname is required"
			}
			return ""
		}),
		member("Lastname.required", func(m map[string]any) string {
			if str(m, "Partytype") == "PERSON" && str(m, "Lastname") == "" {
				return f + ".Lastname is required for a PERSON"
			}
			return ""
		}),
		member("CountryCode.required", func(m map[string]any) string {
			if str(m, "CountryCode") == "" {
				return f + ".CountryCode is required"
			}
			return ""
		}),
		member("CountryCode.iso3166", func(m map[string]any) string {
			if v := str(m, "CountryCode"); v != "" && countryProblem(v) != "" {
				return fmt.Sprintf("%s.CountryCode %q: %s", f, v, countryProblem(v))
			}
			return ""
		}),
		member("DateOfBirth.date", func(m map[string]any) string {
			if v := str(m, "DateOfBirth"); v != "" && str(m, "Partytype") == "PERSON" && dateProblem(v) != "" {
				return fmt.Sprintf("%s.DateOfBirth %q: %s", f, v, dateProblem(v))
			}
			return ""
		}),
	}
}
