package trustly

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxIDLength bounds MessageID and EndUserID. Trustly documents both as
// "Text" without a limit; 255 is a conservative guess that no sane id
// exceeds, so a longer one is a bug worth stopping before it is sent.
const MaxIDLength = 255

// MaxTextLength bounds free text: ShopperStatement and ExternalReference.
// Trustly documents them as "Text" without a limit either; a longer value
// is a bug (a whole invoice pasted in), stopped before it is sent.
const MaxTextLength = 512

// ValidationErrors is every problem Validate would report, in the order
// Validate checks them; Validate itself returns only the first, as a *Error.
// It unwraps to its elements, so errors.As finds the first *Error.
type ValidationErrors []*Error

func (v ValidationErrors) Error() string {
	msgs := make([]string, len(v))
	for i, e := range v {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (v ValidationErrors) Unwrap() []error {
	out := make([]error, len(v))
	for i, e := range v {
		out[i] = e
	}
	return out
}

// Err returns nil when there are no problems, else v: a nil ValidationErrors
// stored in an error interface would not compare equal to nil.
func (v ValidationErrors) Err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// first returns the first problem as an error, or a true nil.
func (v ValidationErrors) first() error {
	if len(v) == 0 {
		return nil
	}
	return v[0]
}

// Validate implements Request.
func (r *DepositRequest) Validate(env Environment) error { return r.Problems(env).first() }

// Validate implements Request.
func (r *RefundRequest) Validate(env Environment) error { return r.Problems(env).first() }

// Validate implements Request.
func (r *SelectAccountRequest) Validate(env Environment) error { return r.Problems(env).first() }

// Validate implements Request.
func (r *ChargeRequest) Validate(env Environment) error { return r.Problems(env).first() }

// Validate implements Request.
func (r *CancelChargeRequest) Validate(env Environment) error { return r.Problems(env).first() }

// Validate implements Request.
func (r *BalanceRequest) Validate(env Environment) error { return r.Problems(env).first() }

// Validate implements Request.
func (r *GetWithdrawalsRequest) Validate(env Environment) error { return r.Problems(env).first() }

// Problems lists everything Trustly would reject in the Deposit.
func (r *DepositRequest) Problems(env Environment) ValidationErrors {
	c := newChecker(r, env)
	c.notificationURL(r.NotificationURL)
	c.endUserID(r.EndUserID)
	c.messageID(r.MessageID)

	c.currency("Currency", r.Currency)
	suggested := r.SuggestedMinAmount != 0 || r.SuggestedMaxAmount != 0
	switch {
	case r.Amount != 0 && suggested:
		c.add(CodeInvalidParameters, "Amount", "send Amount or SuggestedMinAmount/SuggestedMaxAmount, not both")
	case r.Amount == 0 && !suggested:
		c.add(CodeInvalidAmount, "Amount", "required: set Amount, or SuggestedMinAmount/SuggestedMaxAmount to let the shopper choose")
	case r.Amount != 0:
		c.amount("Amount", r.Amount)
	default:
		c.optionalAmount("SuggestedMinAmount", r.SuggestedMinAmount)
		c.optionalAmount("SuggestedMaxAmount", r.SuggestedMaxAmount)
		if r.SuggestedMinAmount > 0 && r.SuggestedMaxAmount > 0 && r.SuggestedMinAmount > r.SuggestedMaxAmount {
			c.add(CodeInvalidParameters, "SuggestedMinAmount", fmt.Sprintf("SuggestedMinAmount %s is above SuggestedMaxAmount %s",
				FormatAmount(r.SuggestedMinAmount), FormatAmount(r.SuggestedMaxAmount)))
		}
	}
	c.country("Country", r.Country, true)
	c.locale(r.Locale, true)
	c.required("Firstname", r.Firstname)
	c.required("Lastname", r.Lastname)
	missingEmail := CodeInvalidParameters
	if r.RequestDirectDebitMandate {
		missingEmail = CodeInvalidEmail // Trustly's 642 names direct debit's missing email
	}
	c.email(r.Email, missingEmail)
	c.pageURL("SuccessURL", r.SuccessURL, CodeMalformedSuccessURL, true)
	c.pageURL("FailURL", r.FailURL, CodeMalformedFailURL, true)
	c.required("ShopperStatement", r.ShopperStatement)
	c.text("ShopperStatement", r.ShopperStatement)
	c.text("ExternalReference", r.ExternalReference)
	c.ip(r.IP)
	if r.UnchangeableNationalIdentificationNumber && strings.TrimSpace(r.NationalIdentificationNumber) == "" {
		c.add(CodeInvalidParameters, "NationalIdentificationNumber", "required when UnchangeableNationalIdentificationNumber is set")
	}
	c.urlTarget(r.URLTarget)
	c.pageURL("TemplateURL", r.TemplateURL, CodeMalformedTemplateURL, false)
	c.country("ShippingAddressCountry", r.ShippingAddressCountry, false)
	c.holdNotifications(r.HoldNotifications)
	c.recipient(r.RecipientInformation)
	c.extra(r.Extra, depositAttributes)
	c.wellFormedUTF8(r)
	return c.problems
}

// Problems lists everything Trustly would reject in the Refund.
func (r *RefundRequest) Problems(env Environment) ValidationErrors {
	c := newChecker(r, env)
	c.orderID(r.OrderID)
	c.amount("Amount", r.Amount)
	c.currency("Currency", r.Currency)
	c.text("ExternalReference", r.ExternalReference)
	c.wellFormedUTF8(r)
	return c.problems
}

// Problems lists everything Trustly would reject in the SelectAccount.
func (r *SelectAccountRequest) Problems(env Environment) ValidationErrors {
	c := newChecker(r, env)
	c.notificationURL(r.NotificationURL)
	c.endUserID(r.EndUserID)
	c.messageID(r.MessageID)

	c.locale(r.Locale, true)
	c.country("Country", r.Country, true)
	c.required("Firstname", r.Firstname)
	c.required("Lastname", r.Lastname)
	c.pageURL("SuccessURL", r.SuccessURL, CodeMalformedSuccessURL, true)
	c.pageURL("FailURL", r.FailURL, CodeMalformedFailURL, true)
	switch {
	case r.Email != "":
		c.email(r.Email, CodeInvalidEmail)
	case r.RequestDirectDebitMandate:
		// Trustly's 642 covers "missing" for direct debit, not only "invalid".
		c.add(CodeInvalidEmail, "Email", "required when RequestDirectDebitMandate is set")
	}
	c.ip(r.IP)
	c.date("DateOfBirth", r.DateOfBirth)
	c.urlTarget(r.URLTarget)
	c.extra(r.Extra, selectAccountAttributes)
	c.wellFormedUTF8(r)
	return c.problems
}

// Problems lists everything Trustly would reject in the Charge.
func (r *ChargeRequest) Problems(env Environment) ValidationErrors {
	c := newChecker(r, env)
	c.required("AccountID", r.AccountID)
	c.notificationURL(r.NotificationURL)
	c.endUserID(r.EndUserID)
	c.messageID(r.MessageID)
	c.amount("Amount", r.Amount)
	c.currency("Currency", r.Currency)

	if c.required("ShopperStatement", r.ShopperStatement) {
		if i := strings.IndexFunc(r.ShopperStatement, func(r rune) bool { return !isStatementRune(r) }); i >= 0 {
			bad, _ := utf8.DecodeRuneInString(r.ShopperStatement[i:])
			c.add(CodeInvalidParameters, "ShopperStatement", fmt.Sprintf("%q is not allowed (only A-Z a-z 0-9 . - _ and space)", bad))
		}
		c.text("ShopperStatement", r.ShopperStatement)
	}
	c.text("ExternalReference", r.ExternalReference)
	c.email(r.Email, CodeInvalidEmail)
	c.date("PaymentDate", r.PaymentDate)
	c.extra(r.Extra, chargeAttributes)
	c.wellFormedUTF8(r)
	return c.problems
}

// Problems lists everything Trustly would reject in the CancelCharge.
func (r *CancelChargeRequest) Problems(env Environment) ValidationErrors {
	c := newChecker(r, env)
	c.orderID(r.OrderID)
	c.wellFormedUTF8(r)
	return c.problems
}

// Problems is always empty: Balance has nothing to get wrong.
func (r *BalanceRequest) Problems(env Environment) ValidationErrors { return nil }

// Problems lists everything Trustly would reject in the GetWithdrawals.
func (r *GetWithdrawalsRequest) Problems(env Environment) ValidationErrors {
	c := newChecker(r, env)
	c.orderID(r.OrderID)
	c.wellFormedUTF8(r)
	return c.problems
}

// checker accumulates problems for one request.
type checker struct {
	req      Request
	env      Environment
	problems ValidationErrors
}

func newChecker(r Request, env Environment) *checker { return &checker{req: r, env: env} }

func (c *checker) add(code Code, field, msg string) {
	c.problems = append(c.problems, &Error{
		Code:      code,
		Message:   code.Name() + ": " + msg,
		Method:    c.req.Method(),
		MessageID: c.req.messageID(),
		Local:     true,
		Field:     field,
	})
}

// required reports a missing value and says whether it is present.
func (c *checker) required(field, v string) bool {
	if strings.TrimSpace(v) == "" {
		c.add(CodeInvalidParameters, field, "required")
		return false
	}
	return true
}

// httpAllowed: only TEST and the simulator take plain-http notification
// URLs; LIVE and anything unrecognised are held to HTTPS.
func (c *checker) httpAllowed() bool { return c.env == Test || c.env == Sim }

func (c *checker) notificationURL(v string) {
	const field = "NotificationURL"
	if !c.required(field, v) {
		return
	}
	if strings.Contains(v, "?") {
		c.add(CodeMalformedNotificationURL, field, "must not contain '?'; put the secret in the path")
		return
	}
	u, ok := absoluteHTTPURL(v)
	if !ok {
		c.add(CodeMalformedNotificationURL, field, "must be an absolute https:// URL")
		return
	}
	if u.Scheme == "http" && !c.httpAllowed() {
		c.add(CodeNotSecureNotificationURL, field, fmt.Sprintf("must use https in %s", envName(c.env)))
	}
}

func envName(e Environment) string {
	if e == "" {
		return "an unset environment"
	}
	return string(e)
}

// pageURL checks SuccessURL, FailURL and TemplateURL: absolute http(s).
func (c *checker) pageURL(field, v string, code Code, isRequired bool) {
	if v == "" {
		if isRequired {
			c.add(CodeInvalidParameters, field, "required")
		}
		return
	}
	if _, ok := absoluteHTTPURL(v); !ok {
		c.add(code, field, "must be an absolute http(s) URL")
	}
}

// absoluteHTTPURL accepts http and https URLs with a host and no whitespace
// or control characters (which browsers and Trustly treat differently).
func absoluteHTTPURL(v string) (*url.URL, bool) {
	if strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return nil, false
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, false
	}
	return u, true
}

// text holds free text to MaxTextLength bytes.
func (c *checker) text(field, v string) {
	if len(v) > MaxTextLength {
		c.add(CodeInvalidParameters, field, fmt.Sprintf("%d bytes, more than %d", len(v), MaxTextLength))
	}
}

func (c *checker) endUserID(v string) {
	if v == "" {
		c.add(CodeEndUserIDIsNull, "EndUserID", "required")
		return
	}
	if msg := idProblem(v); msg != "" {
		c.add(CodeMalformedEndUserID, "EndUserID", msg)
	}
}

func (c *checker) messageID(v string) {
	if v == "" {
		c.add(CodeMessageIDIsNull, "MessageID", "required")
		return
	}
	if msg := idProblem(v); msg != "" {
		c.add(CodeMalformedMessageID, "MessageID", msg)
	}
}

// idProblem holds ids to what survives every system they pass through:
// bounded length, no surrounding blanks, no control characters.
func idProblem(v string) string {
	switch {
	case len(v) > MaxIDLength:
		return fmt.Sprintf("longer than %d bytes", MaxIDLength)
	case strings.TrimSpace(v) != v:
		return "has leading or trailing whitespace"
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "contains control characters"
	}
	return ""
}

// orderID: Trustly's order ids are decimal digits. Requiring that catches
// the classic mix-up of passing the merchant's MessageID instead.
func (c *checker) orderID(v string) {
	if !c.required("OrderID", v) {
		return
	}
	if !allDigits(v) {
		c.add(CodeInvalidParameters, "OrderID", "must be Trustly's numeric order id")
	}
}

func (c *checker) amount(field string, minor int64) {
	switch {
	case minor <= 0:
		c.add(CodeInvalidAmount, field, fmt.Sprintf("must be greater than zero, got %s", FormatAmount(minor)))
	case minor > MaxAmount:
		c.add(CodeInvalidAmount, field, fmt.Sprintf("%s is above the maximum %s (minor units: %d > %d)", FormatAmount(minor), FormatAmount(MaxAmount), minor, MaxAmount))
	}
}

// optionalAmount checks an amount whose zero means "not given".
func (c *checker) optionalAmount(field string, minor int64) {
	if minor != 0 {
		c.amount(field, minor)
	}
}

func (c *checker) currency(field, v string) {
	if !c.required(field, v) {
		return
	}
	if msg := currencyProblem(v); msg != "" {
		c.add(CodeInvalidCurrencyCode, field, msg)
	}
}

func (c *checker) country(field, v string, isRequired bool) {
	if v == "" {
		if isRequired {
			c.add(CodeInvalidParameters, field, "required")
		}
		return
	}
	if !iso3166[v] {
		c.add(CodeInvalidCountry, field, fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code (e.g. SE; GB, not UK)", v))
	}
}

// locale accepts "ll" or "ll_CC": ISO 639-1 language in lower case and an
// ISO 3166-1 country in upper case.
func (c *checker) locale(v string, isRequired bool) {
	if v == "" {
		if isRequired {
			c.add(CodeInvalidParameters, "Locale", "required")
		}
		return
	}
	lang, cc, hasCC := strings.Cut(v, "_")
	ok := len(lang) == 2 && isLower(lang[0]) && isLower(lang[1]) && (!hasCC || iso3166[cc])
	if !ok {
		c.add(CodeInvalidLocale, "Locale", fmt.Sprintf("%q: want language or language_COUNTRY, e.g. sv_SE", v))
	}
}

func isLower(b byte) bool { return b >= 'a' && b <= 'z' }

// ip accepts exactly one IPv4 or IPv6 address. A comma-separated list (an
// X-Forwarded-For header passed through) is the classic mistake.
func (c *checker) ip(v string) {
	if v == "" {
		return
	}
	if strings.Contains(v, ",") {
		c.add(CodeInvalidIP, "IP", "only one address may be sent, not a list")
		return
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		c.add(CodeInvalidIP, "IP", fmt.Sprintf("%q is not an IP address", v))
	}
}

// email accepts a bare address (no display name) whose domain has a dot.
// A malformed address is 642; a missing one is reported with the missing
// code: 623 for Deposit, 642 for direct debit, where Trustly's 642 covers
// "missing" too.
func (c *checker) email(v string, missing Code) {
	if v == "" {
		c.add(missing, "Email", "required")
		return
	}
	if !validEmail(v) {
		c.add(CodeInvalidEmail, "Email", fmt.Sprintf("%q is not an email address", v))
	}
}

func validEmail(v string) bool {
	if len(v) > 254 {
		return false
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	domain := v[at+1:]
	return strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.HasPrefix(domain, ".")
}

// urlTarget: Trustly supports only these three frames; "_blank" is refused.
func (c *checker) urlTarget(v string) {
	switch v {
	case "", "_top", "_self", "_parent":
		return
	}
	c.add(CodeMalformedURLTarget, "URLTarget", fmt.Sprintf("%q: want _top, _self or _parent", v))
}

func (c *checker) date(field, v string) {
	if v == "" {
		return
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil || len(v) != len(time.DateOnly) {
		c.add(CodeInvalidParameters, field, fmt.Sprintf("%q: want YYYY-MM-DD", v))
	}
}

// recipient checks RecipientInformation as Trustly's Deposit reference and
// its official clients describe it: Partytype PERSON or ORGANISATION,
// Firstname and CountryCode (ISO 3166-1 alpha-2) always, Lastname for a
// person, DateOfBirth YYYY-MM-DD for a person (an organisation puts its
// organisation number there). The reference gives no error code for a
// nested attribute, so every problem is 623.
// https://eu.developers.trustly.com/doc/reference/deposit
func (c *checker) recipient(ri *RecipientInformation) {
	if ri == nil {
		return
	}
	const p = "RecipientInformation."
	switch ri.PartyType {
	case PartyPerson, PartyOrganisation:
	case "":
		c.add(CodeInvalidParameters, p+"Partytype", "required: PERSON or ORGANISATION")
	default:
		c.add(CodeInvalidParameters, p+"Partytype", fmt.Sprintf("%q: want PERSON or ORGANISATION", ri.PartyType))
	}
	c.required(p+"Firstname", ri.FirstName)
	if ri.PartyType == PartyPerson {
		c.required(p+"Lastname", ri.LastName)
		c.date(p+"DateOfBirth", ri.DateOfBirth)
	}
	if c.required(p+"CountryCode", ri.CountryCode) && !iso3166[ri.CountryCode] {
		c.add(CodeInvalidParameters, p+"CountryCode", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 country code", ri.CountryCode))
	}
	c.text(p+"Address", ri.Address)
	c.text(p+"CustomerID", ri.CustomerID)
}

func (c *checker) holdNotifications(on bool) {
	if on && !c.httpAllowed() {
		c.add(CodeInvalidParameters, "HoldNotifications", fmt.Sprintf("only available in TEST, not %s", envName(c.env)))
	}
}

func (c *checker) extra(extra map[string]string, typed []string) {
	if k, bad := extraConflict(extra, typed); bad {
		c.add(CodeInvalidParameters, "Extra["+k+"]", "names a typed field or is empty; set the field instead")
	}
}

// wellFormedUTF8: invalid UTF-8 is signed as raw bytes but re-encoded as
// U+FFFD by the JSON encoder, so Trustly would verify different bytes (636).
func (c *checker) wellFormedUTF8(r Request) {
	data, err := r.Data(Credentials{Username: "-", Password: "-"})
	if err != nil {
		return // reported by the specific checks
	}
	for _, k := range sortedKeys(data) {
		walkStrings(k, data[k], func(field, s string) {
			if !utf8.ValidString(s) {
				c.add(CodeInvalidParameters, field, "is not valid UTF-8")
			}
		})
	}
}

// walkStrings calls fn for every key and string value under v, naming each
// by its own key ("Firstname", not "Attributes.Firstname") as Error.Field does.
func walkStrings(field string, v any, fn func(field, s string)) {
	switch t := v.(type) {
	case string:
		fn(field, t)
	case map[string]any:
		for _, k := range sortedKeys(t) {
			fn(k, k)
			walkStrings(k, t[k], fn)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isStatementRune(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' ||
		r == '.' || r == '-' || r == '_' || r == ' '
}

// iso4217 lists the active ISO 4217 currency codes (SIX list, 2025),
// without precious metals, testing and "no currency" codes (XAU, XDR, XTS,
// XXX ...), which no payment can be made in. It only words the refusal of a
// code: Trustly takes the few of currency.go's table.
var iso4217 = setOf(`
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV
BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE
CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV
MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT
TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF
XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL`)

// iso3166 lists the 249 officially assigned ISO 3166-1 alpha-2 codes.
// "UK" is deliberately absent: the code is GB.
var iso3166 = setOf(`
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM
BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX
CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG
GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV
LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE
NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF
WS YE YT ZA ZM ZW`)

func setOf(list string) map[string]bool {
	m := map[string]bool{}
	for _, s := range strings.Fields(list) {
		m[s] = true
	}
	return m
}
