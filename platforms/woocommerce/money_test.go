package woocommerce

import "testing"

func TestMoneyCrossesTheEdgeWithoutFloats(t *testing.T) {
	for _, tc := range []struct {
		in, currency string
		minor        int64
		bad          bool
	}{
		{"103.50", "SEK", 10350, false},
		{"-50.00", "SEK", -5000, false},
		{"0.1", "EUR", 10, false},
		{"7", "EUR", 700, false},
		{"10.500", "SEK", 1050, false}, // trailing zeros are no precision lost
		{"1500", "JPY", 1500, false},
		{"1.234", "KWD", 1234, false},
		{"0.07", "SEK", 7, false},
		{"1234567890123456.00", "SEK", 0, true}, // more digits than the pattern allows
		{"10.505", "SEK", 0, true},              // would need rounding
		{"1.5", "JPY", 0, true},
		{"1e3", "SEK", 0, true},
		{"", "SEK", 0, true},
		{" 1.00", "SEK", 0, true},
		{"1,00", "SEK", 0, true},
		{"1.00", "sek", 0, true},
	} {
		got, err := parseMoney(tc.in, tc.currency)
		if (err != nil) != tc.bad || got != tc.minor {
			t.Errorf("parseMoney(%q, %s) = %d, %v; want %d (bad %v)", tc.in, tc.currency, got, err, tc.minor, tc.bad)
		}
		if tc.bad {
			continue
		}
		back, err := parseMoney(formatMoney(got, tc.currency), tc.currency)
		if err != nil || back != got {
			t.Errorf("round trip of %d %s via %q = %d, %v", got, tc.currency, formatMoney(got, tc.currency), back, err)
		}
	}
	for _, tc := range []struct {
		minor    int64
		currency string
		want     string
	}{{10350, "SEK", "103.50"}, {5, "SEK", "0.05"}, {0, "EUR", "0.00"}, {-5000, "SEK", "-50.00"}, {1500, "JPY", "1500"}, {1, "KWD", "0.001"}} {
		if got := formatMoney(tc.minor, tc.currency); got != tc.want {
			t.Errorf("formatMoney(%d, %s) = %q, want %q", tc.minor, tc.currency, got, tc.want)
		}
	}
}

// Whatever WooCommerce sends, an accepted amount formats back to a string
// that parses to the same minor units.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"103.50", "-50.00", "0.07", "10.500", "1e3", "99999999999999.99"} {
		f.Add(s, "SEK")
	}
	f.Add("1500", "JPY")
	f.Add("1.234", "KWD")
	f.Fuzz(func(t *testing.T, s, currency string) {
		n, err := parseMoney(s, currency)
		if err != nil {
			return
		}
		back, err := parseMoney(formatMoney(n, currency), currency)
		if err != nil || back != n {
			t.Fatalf("%q %s = %d, formatted %q = %d, %v", s, currency, n, formatMoney(n, currency), back, err)
		}
	})
}
