package trustly

import (
	"errors"
	"math"
	"testing"
)

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor int64
		want  string
	}{
		{10300, "103.00"}, {1, "0.01"}, {10, "0.10"}, {0, "0.00"}, {99, "0.99"},
		{123456789, "1234567.89"}, {-250, "-2.50"},
		{math.MaxInt64, "92233720368547758.07"}, {math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.minor); got != tt.want {
			t.Errorf("FormatAmount(%d) = %q, want %q", tt.minor, got, tt.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"103.00", 10300, false}, {"902.50", 90250, false}, {"20", 2000, false}, {"20.5", 2050, false},
		{"0.01", 1, false}, {"-2.50", -250, false}, {"00.10", 10, false},
		{"", 0, true}, {".50", 0, true}, {"1.", 0, true}, {"1.234", 0, true}, {"1,00", 0, true},
		{"+1.00", 0, true}, {"1e3", 0, true}, {" 1.00", 0, true}, {"-", 0, true}, {"１.00", 0, true},
		{"92233720368547758.07", 0, true}, {"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalidAmount) {
			t.Errorf("ParseAmount(%q) error %v does not wrap ErrInvalidAmount", tt.in, err)
		}
	}
}

func TestParseRequestAmount(t *testing.T) {
	for _, ok := range []string{"103.00", "0.01", "1000000.00"} {
		if _, err := ParseRequestAmount(ok); err != nil {
			t.Errorf("ParseRequestAmount(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"103", "103.0", "103.000", "0.00", "-1.00", "1,00", "", "abc"} {
		if _, err := ParseRequestAmount(bad); !errors.Is(err, ErrInvalidAmount) {
			t.Errorf("ParseRequestAmount(%q) err = %v, want ErrInvalidAmount", bad, err)
		}
	}
}

func TestAmountRoundTrip(t *testing.T) {
	for _, m := range []int64{0, 1, 99, 100, 10300, 123456789, -1, -99999} {
		got, err := ParseAmount(FormatAmount(m))
		if err != nil || got != m {
			t.Errorf("round trip %d → %q → %d, %v", m, FormatAmount(m), got, err)
		}
	}
}
