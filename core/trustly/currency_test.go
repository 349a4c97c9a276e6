package trustly

import (
	"errors"
	"strings"
	"testing"
)

// Every currency of the table has the wire's two decimals per CLDR: the
// condition under which FormatAmount's fixed two decimals are right.
func TestCurrencyTable(t *testing.T) {
	for _, c := range currencyCodes {
		if !iso4217[c] {
			t.Errorf("%s is not an ISO 4217 code", c)
		}
		if s := isoScale(c); s != wireDecimals {
			t.Errorf("%s has %d decimals per CLDR, Trustly's wire has %d: FormatAmount would be wrong for it", c, s, wireDecimals)
		}
		if !SupportedCurrency(c) {
			t.Errorf("%s is in the table but not supported", c)
		}
	}
}

func TestCurrencyCheck(t *testing.T) {
	tests := []struct {
		name, code string
		want       string // a part of the refusal; "" accepted
	}{
		{name: "Swedish kronor", code: "SEK"},
		{name: "euro", code: "EUR"},
		{name: "Norwegian kroner", code: "NOK"},
		{name: "zloty", code: "PLN"},
		{name: "yen has no minor unit", code: "JPY", want: `"JPY" is not a currency Trustly takes (it has 0 decimals; Trustly's amounts have 2)`},
		{name: "Kuwaiti dinar has three decimals", code: "KWD", want: `"KWD" is not a currency Trustly takes (it has 3 decimals`},
		{name: "US dollar has two decimals but Trustly's EU API does not take it", code: "USD", want: `"USD" is not a currency Trustly takes; Trustly takes BGN CZK`},
		{name: "made-up code", code: "XYZ", want: `"XYZ" is not an ISO 4217 currency code`},
		{name: "lower case", code: "sek", want: `"sek" is not an ISO 4217 currency code`},
		{name: "kuna, withdrawn", code: "HRK", want: "not an ISO 4217 currency code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := currencyProblem(tt.code)
			if tt.want == "" {
				if got != "" || !SupportedCurrency(tt.code) {
					t.Fatalf("refused: %s", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("problem = %q, want it to hold %q", got, tt.want)
			}
			if SupportedCurrency(tt.code) {
				t.Errorf("SupportedCurrency(%q) = true", tt.code)
			}
			// The refusal reaches the caller through Validate, as 622.
			d := minimalDeposit()
			d.Currency = tt.code
			var e *Error
			if err := d.Validate(Test); !errors.As(err, &e) || e.Code != CodeInvalidCurrencyCode || e.Field != "Currency" || !strings.Contains(e.Message, tt.want) {
				t.Errorf("Validate = %v, want 622 on Currency holding %q", err, tt.want)
			}
		})
	}
}

func TestMaxAmount(t *testing.T) {
	tests := []struct {
		name  string
		req   Request
		field string // "" accepted
	}{
		{name: "deposit of exactly the maximum", req: deposit(func(d *DepositRequest) { d.Amount = MaxAmount })},
		{name: "deposit one minor unit above", req: deposit(func(d *DepositRequest) { d.Amount = MaxAmount + 1 }), field: "Amount"},
		{name: "suggested maximum above", req: deposit(func(d *DepositRequest) { d.Amount, d.SuggestedMaxAmount = 0, MaxAmount+1 }), field: "SuggestedMaxAmount"},
		{name: "refund above", req: func() Request { r := goodRefund(); r.Amount = MaxAmount + 1; return r }(), field: "Amount"},
		{name: "charge above", req: func() Request { r := goodCharge(); r.Amount = 1 << 62; return r }(), field: "Amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate(Test)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidAmount || e.Field != tt.field || !strings.Contains(e.Message, "above the maximum 100000000.00") {
				t.Errorf("Validate = %v, want 615 on %s naming the maximum", err, tt.field)
			}
		})
	}
}
