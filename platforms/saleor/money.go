package saleor

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Saleor carries money as decimal numbers: PositiveDecimal in webhook
// payloads (TransactionAction.amount, TransactionProcessAction.amount) and
// in the answers it parses (saleor/webhook/response_schemas/transaction.py:
// amount is a Decimal, quantized to the currency's places). Inside, money is
// integer minor units; parseAmount and formatAmount are the only crossings,
// and neither goes through a float. Every currency Trustly takes
// (adapter.Currencies) has two decimals.

// Compiled on first use: the sidecar binary links every platform, and each of
// its processes (serve, every adapter) would compile them all at start.
var amountRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,12})?$`) })

// parseAmount turns a JSON number such as 103.5 or 103.50 into minor units.
// Digits beyond the second decimal must be zeros: 10.505 is refused, never
// rounded.
func parseAmount(n json.Number) (int64, error) {
	s := string(n)
	if !amountRE().MatchString(s) {
		return 0, fmt.Errorf("amount %q is not a decimal like 103.50", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		if strings.Trim(frac[2:], "0") != "" {
			return 0, fmt.Errorf("amount %q has more than 2 decimals", s)
		}
		frac = frac[:2]
	}
	frac += strings.Repeat("0", 2-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	return v, nil
}

// formatAmount is minor units as the JSON number Saleor reads, 10350 →
// 103.50.
func formatAmount(minor int64) json.Number {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return json.Number(fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100))
}
