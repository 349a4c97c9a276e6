package trustly

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name       string
		in         string
		want       time.Time
		wantOffset int // seconds east of UTC, as received
	}{
		{"the credit vector: five fraction digits, hour-only offset", "2015-03-12 15:14:18.61671+00", utc("2015-03-12T15:14:18.61671Z"), 0},
		{"Trustly's documented example, one hour east", "2010-01-20 14:42:04.675645+01", utc("2010-01-20T13:42:04.675645Z"), 3600},
		{"offset with a colon", "2014-04-01 12:00:00+02:00", utc("2014-04-01T10:00:00Z"), 7200},
		{"one fraction digit, west offset without a colon", "2014-04-01 12:00:00.1-0530", utc("2014-04-01T17:30:00.1Z"), -(5*3600 + 30*60)},
		{"nine fraction digits", "2019-03-27 10:04:01.123456789+01", utc("2019-03-27T09:04:01.123456789Z"), 3600},
		{"no fraction", "2019-03-27 10:04:01+01", utc("2019-03-27T09:04:01Z"), 3600},
		{"RFC 3339 with T and Z", "2019-03-27T10:04:01.5Z", utc("2019-03-27T10:04:01.5Z"), 0},
		{"RFC 3339 with T and an offset", "2019-03-27T10:04:01-07:00", utc("2019-03-27T17:04:01Z"), -7 * 3600},
		{"crosses midnight into the previous day", "2020-01-01 00:30:00+01", utc("2019-12-31T23:30:00Z"), 3600},
		{"leap day", "2016-02-29 12:00:00+00", utc("2016-02-29T12:00:00Z"), 0},
		{"negative zero offset", "2016-02-29 12:00:00-00", utc("2016-02-29T12:00:00Z"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimestamp(tt.in)
			if err != nil {
				t.Fatalf("ParseTimestamp(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("ParseTimestamp(%q) = %s, want %s", tt.in, got.UTC().Format(time.RFC3339Nano), tt.want.Format(time.RFC3339Nano))
			}
			if _, off := got.Zone(); off != tt.wantOffset {
				t.Errorf("offset = %d, want %d (the received offset is kept)", off, tt.wantOffset)
			}
		})
	}
}

func TestParseTimestampRejects(t *testing.T) {
	tests := []struct {
		name, in, why string
	}{
		{"empty", "", "YYYY"},
		{"garbage", "yesterday", "YYYY"},
		{"no offset: the instant would be a guess", "2015-03-12 15:14:18.61671", "offset"},
		{"date only", "2015-03-12", "separated"},
		{"slashes", "2015/03/12 15:14:18+00", "YYYY-"},
		{"one-digit month", "2015-3-12 15:14:18+00", "month"},
		{"empty fraction", "2015-03-12 15:14:18.+00", "fraction"},
		{"ten fraction digits", "2015-03-12 15:14:18.1234567890+00", "fraction"},
		{"comma fraction", "2015-03-12 15:14:18,5+00", "offset"},
		{"month 13", "2015-13-12 15:14:18+00", "month out of range"},
		{"month 0", "2015-00-12 15:14:18+00", "month out of range"},
		{"day 0", "2015-03-00 15:14:18+00", "day out of range"},
		{"February 30th", "2015-02-30 15:14:18+00", "day out of range"},
		{"February 29th of a common year", "2015-02-29 15:14:18+00", "day out of range"},
		{"hour 24", "2015-03-12 24:00:00+00", "time of day"},
		{"minute 60", "2015-03-12 23:60:00+00", "time of day"},
		{"leap second", "2015-06-30 23:59:60+00", "time of day"},
		{"one-digit offset", "2015-03-12 15:14:18+1", "offset hours"},
		{"three-digit offset", "2015-03-12 15:14:18+010", "offset minutes"},
		{"colon without minutes", "2015-03-12 15:14:18+01:", "offset minutes"},
		{"offset hours out of range", "2015-03-12 15:14:18+24", "offset out of range"},
		{"offset minutes out of range", "2015-03-12 15:14:18+01:60", "offset out of range"},
		{"trailing text", "2015-03-12 15:14:18+01 CET", "after the offset"},
		{"trailing space", "2015-03-12 15:14:18+01 ", "after the offset"},
		{"leading space", " 2015-03-12 15:14:18+01", "YYYY"},
		{"lowercase z", "2015-03-12T15:14:18z", "offset"},
		{"two separators", "2015-03-12  15:14:18+00", "HH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimestamp(tt.in)
			if !errors.Is(err, ErrInvalidTimestamp) {
				t.Fatalf("ParseTimestamp(%q) = %v, %v; want ErrInvalidTimestamp", tt.in, got, err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("error %q does not say %q", err, tt.why)
			}
			if !got.IsZero() {
				t.Errorf("failed parse returned a non-zero time %v", got)
			}
		})
	}
}
