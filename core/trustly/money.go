package trustly

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrInvalidAmount is wrapped by every amount parsing failure.
var ErrInvalidAmount = errors.New("trustly: invalid amount")

// FormatAmount renders integer minor units as Trustly's amount string with
// exactly two decimals: 10300 → "103.00". Trustly's currencies all have two
// decimals; callers reject non-positive amounts where Trustly would.
func FormatAmount(minor int64) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-(minor+1))+1 // -MinInt64 overflows int64, not uint64
	}
	frac := u % 100
	return sign + strconv.FormatUint(u/100, 10) + "." + string(rune('0'+frac/10)) + string(rune('0'+frac%10))
}

// ParseAmount reads an amount string as sent by Trustly into minor units.
// It accepts digits with an optional fraction of at most two digits
// ("20", "20.5", "20.50") and an optional leading minus (balances can be
// negative); it never goes through floating point.
func ParseAmount(s string) (int64, error) {
	in := s
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || len(frac) > 2 || !allDigits(frac))) {
		return 0, fmt.Errorf("%w %q: want digits with at most two decimals, like \"103.00\"", ErrInvalidAmount, in)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || w > (math.MaxInt64-99)/100 {
		return 0, fmt.Errorf("%w %q: too large", ErrInvalidAmount, in)
	}
	f, _ := strconv.ParseUint(frac, 10, 64)
	minor := int64(w*100 + f)
	if neg {
		minor = -minor
	}
	return minor, nil
}

// ParseRequestAmount is the strict form Trustly requires in requests:
// digits, a dot and exactly two decimals, greater than zero.
func ParseRequestAmount(s string) (int64, error) {
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 2 || whole == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("%w %q: want digits, a dot and exactly two decimals, like \"103.00\"", ErrInvalidAmount, s)
	}
	v, err := ParseAmount(s)
	if err != nil {
		return 0, err
	}
	if v <= 0 {
		return 0, fmt.Errorf("%w %q: must be greater than zero", ErrInvalidAmount, s)
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
