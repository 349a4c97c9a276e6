package woocommerce

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// WooCommerce's REST API carries money as decimal strings ("103.50", a
// refund's total as "-50.00"; woocommerce-rest-api-docs,
// source/includes/wp-api-v3/_orders.md and _order-refunds.md). Inside, money
// is integer minor units; these two functions are the only crossing, and
// neither goes through a float.

// exponents are the ISO 4217 minor-unit digits that are not 2.
var exponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

func exponent(currency string) int {
	if e, ok := exponents[currency]; ok {
		return e
	}
	return 2
}

// Compiled on first use: the sidecar binary links every platform, and each of
// its processes (serve, every adapter) would compile them all at start.
var (
	decimalRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,6})?$`) })
	currencyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z]{3}$`) })
)

// parseMoney turns a decimal string in currency into minor units. Digits
// beyond the currency's exponent must be zeros ("10.500" SEK is 1050, but
// "10.505" is refused rather than rounded).
func parseMoney(s, currency string) (int64, error) {
	if !currencyRE().MatchString(currency) {
		return 0, fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	if !decimalRE().MatchString(s) {
		return 0, fmt.Errorf("amount %q is not a decimal string like \"103.50\"", s)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	exp := exponent(currency)
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, fmt.Errorf("amount %q has more than %d decimals for %s", s, exp, currency)
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	if neg {
		n = -n
	}
	return n, nil
}

// formatMoney is parseMoney's inverse: 10350 SEK is "103.50".
func formatMoney(minor int64, currency string) string {
	exp := exponent(currency)
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp == 0 {
		return sign + s
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return sign + s[:len(s)-exp] + "." + s[len(s)-exp:]
}
