package engine

import (
	"errors"
	"testing"
)

func TestTermsCheck(t *testing.T) {
	exact := Terms{Currency: "SEK", Amount: 10300}
	suggested := Terms{Currency: "EUR", MinAmount: 1000, MaxAmount: 5000}
	tests := []struct {
		name     string
		terms    Terms
		amount   int64
		currency string
		want     error
	}{
		{"exact amount", exact, 10300, "SEK", nil},
		{"one öre short", exact, 10299, "SEK", ErrAmountMismatch},
		{"more than asked", exact, 10301, "SEK", ErrAmountMismatch},
		{"other currency, same number", exact, 10300, "EUR", ErrCurrencyMismatch},
		{"suggested: inside", suggested, 2500, "EUR", nil},
		{"suggested: at the bounds", suggested, 1000, "EUR", nil},
		{"suggested: at the top", suggested, 5000, "EUR", nil},
		{"suggested: below", suggested, 999, "EUR", ErrAmountMismatch},
		{"suggested: above", suggested, 5001, "EUR", ErrAmountMismatch},
		{"suggested: zero", suggested, 0, "EUR", ErrAmountMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.terms.Check(tt.amount, tt.currency)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if err != nil && !errors.Is(err, ErrMismatch) {
				t.Errorf("%v does not wrap ErrMismatch", err)
			}
		})
	}
}
