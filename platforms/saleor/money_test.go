package saleor

import (
	"encoding/json"
	"testing"
)

func TestAmounts(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"103.5", 10350, false},
		{"103.50", 10350, false},
		{"103", 10300, false},
		{"0.01", 1, false},
		{"10.500", 1050, false},
		{"10.505", 0, true},
		{"-1", 0, true},
		{"1e3", 0, true},
		{"", 0, true},
		{"1234567890123456", 0, true},
	}
	for _, tt := range tests {
		got, err := parseAmount(json.Number(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			if back, _ := parseAmount(formatAmount(got)); back != got {
				t.Errorf("formatAmount(%d) = %s does not read back", got, formatAmount(got))
			}
		}
	}
	if got := formatAmount(10350); got != "103.50" {
		t.Errorf("formatAmount(10350) = %s; want 103.50", got)
	}
}
