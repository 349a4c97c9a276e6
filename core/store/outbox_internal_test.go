package store

import "testing"

func TestIDAfter(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"1700000000000-0", "1700000000000-1"},
		{"1700000000000-41", "1700000000000-42"},
		{"5-18446744073709551615", "6-0"}, // the last seq of a millisecond
	} {
		if got := idAfter(tc.id); got != tc.want {
			t.Errorf("idAfter(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
