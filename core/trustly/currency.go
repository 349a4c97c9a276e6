package trustly

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/currency"
)

// currencyCodes are the currencies Trustly's EU API takes: the one table to
// correct when Trustly adds or drops one. Trustly's own API reference names
// none beyond its examples; this is the union its payment partners publish
// for Trustly (2024-2025: PayPal, Mollie, PPRO, Worldpay, payabl, ecommpay),
// without HRK (replaced by EUR in 2023). A currency missing here is refused
// before anything is stored or sent; Trustly would refuse it with 622.
var currencyCodes = []string{"BGN", "CZK", "DKK", "EUR", "GBP", "HUF", "NOK", "PLN", "RON", "SEK"}

// wireDecimals is the number of decimals of every amount on Trustly's wire
// ("103.00"). Trustly fixes it for all its currencies rather than following
// ISO 4217's minor units, so FormatAmount and ParseRequestAmount always use
// two. That is right only while every currency taken has two decimals: a
// JPY 10300 (¥10300, no minor unit) would go out as "103.00", a hundredth of
// the price. So a currency is taken only when its ISO 4217 scale (from
// CLDR, golang.org/x/text/currency) is wireDecimals too; all of Trustly's
// are, and TestCurrencyTable fails if CLDR ever says otherwise.
const wireDecimals = 2

// MaxAmount bounds every amount sent to Trustly, in minor units:
// 100 000 000.00 of any currency. Trustly publishes no API-wide maximum
// (limits are per merchant contract; partners quote EUR 50 000 or HUF
// millions), so this is a sanity bound well above any real order in every
// supported currency: it catches a unit mix-up (an amount already in minor
// units multiplied by 100 again, a price in öre sent as kronor cents) and
// keeps sums of amounts far from int64 overflow.
const MaxAmount int64 = 100_000_000_00

// currencies maps each currency taken to its ISO 4217 scale (decimals).
var currencies = func() map[string]int {
	m := make(map[string]int, len(currencyCodes))
	for _, c := range currencyCodes {
		m[c] = isoScale(c)
	}
	return m
}()

// isoScale is the currency's number of decimals per CLDR, or -1 when code
// is not a currency CLDR knows.
func isoScale(code string) int {
	u, err := currency.ParseISO(code)
	if err != nil {
		return -1
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// Currencies lists the currency codes Trustly takes, sorted.
func Currencies() []string { return slices.Sorted(slices.Values(currencyCodes)) }

// SupportedCurrency reports whether code (upper case, e.g. "SEK") is a
// currency Trustly takes and amounts in it fit the wire's two decimals.
func SupportedCurrency(code string) bool {
	scale, ok := currencies[code]
	return ok && scale == wireDecimals
}

// currencyProblem says why code cannot be sent to Trustly, or "".
func currencyProblem(code string) string {
	if SupportedCurrency(code) {
		return ""
	}
	taken := strings.Join(Currencies(), " ")
	if !iso4217[code] {
		return fmt.Sprintf("%q is not an ISO 4217 currency code (three upper-case letters); Trustly takes %s", code, taken)
	}
	if s := isoScale(code); s != wireDecimals && s >= 0 {
		return fmt.Sprintf("%q is not a currency Trustly takes (it has %d decimals; Trustly's amounts have %d); Trustly takes %s", code, s, wireDecimals, taken)
	}
	return fmt.Sprintf("%q is not a currency Trustly takes; Trustly takes %s", code, taken)
}
