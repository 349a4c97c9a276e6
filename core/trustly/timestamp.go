package trustly

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidTimestamp is wrapped by every timestamp parsing failure.
var ErrInvalidTimestamp = errors.New("trustly: invalid timestamp")

// ParseTimestamp reads the timestamps Trustly puts in notifications, such as
// "2015-03-12 15:14:18.61671+00". That is PostgreSQL's text form, not RFC
// 3339: the fraction has from one to nine digits or is absent, and the offset
// may be hours only. Accepted:
//
//	YYYY-MM-DD HH:MM:SS[.fraction] followed by ±HH, ±HH:MM, ±HHMM or Z
//
// with 'T' allowed in place of the space, so RFC 3339 text parses too. An
// offset is required: without one the instant would be a guess. The result
// keeps the received offset as a fixed zone; compare instants with Equal.
func ParseTimestamp(s string) (time.Time, error) {
	t, why := parseTimestamp(s)
	if why != "" {
		return time.Time{}, fmt.Errorf("%w %q: %s (want e.g. \"2015-03-12 15:14:18.61671+00\")", ErrInvalidTimestamp, s, why)
	}
	return t, nil
}

// parseTimestamp returns the time, or a reason it cannot be read.
func parseTimestamp(s string) (time.Time, string) {
	p := tsScanner{s: s}
	year, ok := p.digits(4)
	if !ok || !p.skip('-') {
		return time.Time{}, "date must start YYYY-"
	}
	month, ok := p.digits(2)
	if !ok || !p.skip('-') {
		return time.Time{}, "month must be two digits"
	}
	day, ok := p.digits(2)
	if !ok {
		return time.Time{}, "day must be two digits"
	}
	if !p.skip(' ') && !p.skip('T') {
		return time.Time{}, "date and time must be separated by a space or 'T'"
	}
	hour, ok := p.digits(2)
	if !ok || !p.skip(':') {
		return time.Time{}, "time must start HH:"
	}
	minute, ok := p.digits(2)
	if !ok || !p.skip(':') {
		return time.Time{}, "minutes must be two digits"
	}
	sec, ok := p.digits(2)
	if !ok {
		return time.Time{}, "seconds must be two digits"
	}
	nsec := 0
	if p.skip('.') {
		start := p.i
		for p.i < len(p.s) && tsDigit(p.s[p.i]) {
			p.i++
		}
		n := p.i - start
		if n == 0 || n > 9 {
			return time.Time{}, "fraction of a second must have 1 to 9 digits"
		}
		for _, c := range []byte(p.s[start:p.i]) {
			nsec = nsec*10 + int(c-'0')
		}
		for ; n < 9; n++ {
			nsec *= 10
		}
	}
	offset, why := p.offset()
	if why != "" {
		return time.Time{}, why
	}
	if p.i != len(p.s) {
		return time.Time{}, fmt.Sprintf("unexpected %q after the offset", p.s[p.i:])
	}
	switch {
	case month < 1 || month > 12:
		return time.Time{}, "month out of range"
	case hour > 23 || minute > 59 || sec > 59:
		return time.Time{}, "time of day out of range"
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.FixedZone("", offset))
	// time.Date normalises 2015-02-30 into March; a day that moved did not exist.
	if day < 1 || t.Day() != day {
		return time.Time{}, "day out of range for the month"
	}
	return t, ""
}

// offset reads Z, ±HH, ±HH:MM or ±HHMM and returns seconds east of UTC.
func (p *tsScanner) offset() (int, string) {
	if p.skip('Z') {
		return 0, ""
	}
	sign := 1
	switch {
	case p.skip('+'):
	case p.skip('-'):
		sign = -1
	default:
		return 0, "missing UTC offset (+HH, +HH:MM, +HHMM or Z)"
	}
	h, ok := p.digits(2)
	if !ok {
		return 0, "offset hours must be two digits"
	}
	m := 0
	if p.skip(':') {
		if m, ok = p.digits(2); !ok {
			return 0, "offset minutes must be two digits"
		}
	} else if p.i < len(p.s) && tsDigit(p.s[p.i]) {
		if m, ok = p.digits(2); !ok {
			return 0, "offset minutes must be two digits"
		}
	}
	if h > 23 || m > 59 {
		return 0, "offset out of range"
	}
	return sign * (h*3600 + m*60), ""
}

type tsScanner struct {
	s string
	i int
}

func (p *tsScanner) skip(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// digits reads exactly n decimal digits.
func (p *tsScanner) digits(n int) (int, bool) {
	if p.i+n > len(p.s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(p.s[p.i : p.i+n]) {
		if !tsDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v, true
}

func tsDigit(c byte) bool { return c >= '0' && c <= '9' }
