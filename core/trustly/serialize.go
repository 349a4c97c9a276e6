package trustly

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// ErrBooleanInData is returned when data to be signed or verified holds a JSON
// boolean. Trustly's own clients disagree on how to serialize booleans
// ("1", "True", "true"), so a signature over one can never be trusted to match;
// Trustly's flags are the strings "1" and "0".
var ErrBooleanInData = errors.New("trustly: JSON boolean in signed data (Trustly flags are the strings \"1\"/\"0\")")

// Serialize returns the canonical string Trustly signs for a data tree:
// object keys in byte order, each followed by its serialized value; array
// elements in their original order; strings as they are; numbers as their
// original text; null and empty containers as nothing.
//
// v must be a tree as produced by ParseJSON (or built from the same types:
// map[string]any, []any, string, json.Number, nil). Go integers are accepted
// too, since callers building data by hand find them natural; floats are not,
// because their text is not unique.
func Serialize(v any) (string, error) {
	var b strings.Builder
	if err := serializeTo(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func serializeTo(b *strings.Builder, v any) error {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		b.WriteString(t)
	case json.Number:
		b.WriteString(string(t))
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteString(k)
			if err := serializeTo(b, t[k]); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range t {
			if err := serializeTo(b, e); err != nil {
				return err
			}
		}
	case bool:
		return ErrBooleanInData
	case int:
		fmt.Fprint(b, t)
	case int64:
		fmt.Fprint(b, t)
	default:
		return fmt.Errorf("trustly: cannot serialize %T (want a JSON tree of maps, slices, strings, json.Number and nil)", v)
	}
	return nil
}

// MaxDepth bounds the nesting of parsed messages. Trustly's messages are a
// handful of levels deep; anything near this is an attack or a bug.
const MaxDepth = 64

// ErrMalformedJSON wraps every failure to parse a message body.
var ErrMalformedJSON = errors.New("trustly: malformed JSON")

// ParseJSON parses b into a raw tree suitable for Serialize: numbers stay
// json.Number with their original text, unknown fields are kept. It rejects
// trailing data after the value and nesting deeper than MaxDepth.
func ParseJSON(b []byte) (any, error) {
	if d := depth(b); d > MaxDepth {
		return nil, fmt.Errorf("%w: nested %d levels deep (limit %d)", ErrMalformedJSON, d, MaxDepth)
	}
	// The decoder would turn invalid UTF-8 into U+FFFD, silently changing
	// what is verified; Trustly's messages are always valid UTF-8.
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrMalformedJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedJSON, err)
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return nil, fmt.Errorf("%w: trailing data after the JSON value at byte %d", ErrMalformedJSON, dec.InputOffset())
	}
	return v, nil
}

// depth returns the maximum nesting of b's brackets outside strings, so deep
// input is refused before the decoder recurses into it. It stops counting
// once past MaxDepth.
func depth(b []byte) int {
	d, maxD := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			if d > maxD {
				maxD = d
				if maxD > MaxDepth {
					return maxD
				}
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return maxD
}
