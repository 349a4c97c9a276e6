package engine

import (
	"testing"
	"time"
)

func TestCanonicalNationalID(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"SE196512171957", "651217-1957"},
		{"196512171957", "6512171957"},
		{"SE 19651217-1957", "651217 1957"},
		{"651217+1957", "6512171957"}, // over 100: a plus sign
		{"131052-308T", "131052-308t"},
	} {
		if ca, cb := canonicalNationalID(tc.a), canonicalNationalID(tc.b); ca != cb {
			t.Errorf("%q → %q and %q → %q: want the same", tc.a, ca, tc.b, cb)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"SE196512171957", "651217-1958"},
		{"131052-308T", "131052-308U"},
	} {
		if canonicalNationalID(tc.a) == canonicalNationalID(tc.b) {
			t.Errorf("%q and %q read as the same number", tc.a, tc.b)
		}
	}
}

func TestAgeOn(t *testing.T) {
	d := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	for _, tc := range []struct {
		dob, on string
		want    int
	}{
		{"2007-03-03", "2025-03-03", 18},
		{"2007-03-04", "2025-03-03", 17},
		{"2008-02-29", "2026-02-28", 17},
		{"2008-02-29", "2026-03-01", 18},
		{"1965-12-17", "2025-03-03", 59},
	} {
		if got := ageOn(d(tc.dob), d(tc.on)); got != tc.want {
			t.Errorf("born %s, on %s: %d, want %d", tc.dob, tc.on, got, tc.want)
		}
	}
}
