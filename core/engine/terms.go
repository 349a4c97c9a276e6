package engine

import (
	"errors"
	"fmt"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Terms are what an order asked Trustly for: the amount a notification must
// carry before the order may count as paid.
type Terms struct {
	Currency string
	// Amount is the exact amount in minor units; 0 when the shopper chose
	// within [MinAmount, MaxAmount] (a Deposit with suggested amounts).
	Amount    int64
	MinAmount int64
	MaxAmount int64
}

// Mismatch errors. A mismatch is recorded on the order and surfaced; the
// order is never marked paid on it.
var (
	ErrMismatch         = errors.New("engine: notification does not match the order")
	ErrCurrencyMismatch = fmt.Errorf("%w: currency", ErrMismatch)
	ErrAmountMismatch   = fmt.Errorf("%w: amount", ErrMismatch)
)

// Check compares a notification's amount and currency with the terms.
func (t Terms) Check(amount int64, currency string) error {
	if currency != t.Currency {
		return fmt.Errorf("%w: got %s, order is in %s", ErrCurrencyMismatch, currency, t.Currency)
	}
	if t.Amount > 0 {
		if amount != t.Amount {
			return fmt.Errorf("%w: got %s %s, order asked for %s", ErrAmountMismatch,
				trustly.FormatAmount(amount), currency, trustly.FormatAmount(t.Amount))
		}
		return nil
	}
	if amount <= 0 || (t.MinAmount > 0 && amount < t.MinAmount) || (t.MaxAmount > 0 && amount > t.MaxAmount) {
		return fmt.Errorf("%w: got %s %s, order allowed %s to %s", ErrAmountMismatch,
			trustly.FormatAmount(amount), currency, trustly.FormatAmount(t.MinAmount), trustly.FormatAmount(t.MaxAmount))
	}
	return nil
}
