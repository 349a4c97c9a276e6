package trustly

import (
	"errors"
	"testing"
)

func addSeeds(f *testing.F) {
	for _, name := range []string{"trustly-test-deposit-response.json", "trustly-test-credit-notification.json"} {
		f.Add(readTestdata(f, name))
	}
	for _, e := range envelopeFixtures {
		f.Add([]byte(e.json))
	}
	for _, s := range []string{
		`{"MyKey":"MyValue","MyArray":["Element1","Element2",{"mykey2":"myvalue2"}]}`,
		`{"nullvalue":null,"array":["012"],"deep1":{"deep2":{}},"arrayofarray1":[[[9,5,1,10]],["abc"]]}`,
		`{"öäå":3,"äåö":2,"åöä":1}`, `{"a":true}`, `{"a":1e400}`, `[]`, `"\ud800"`,
	} {
		f.Add([]byte(s))
	}
}

// Serialize must not depend on how a tree was written: writing it back out
// and parsing it again gives the same signed string (or the same refusal).
func FuzzSerialize(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := ParseJSON(in)
		if err != nil {
			if !errors.Is(err, ErrMalformedJSON) {
				t.Fatalf("parse error %v does not wrap ErrMalformedJSON", err)
			}
			return
		}
		s1, err1 := Serialize(v)
		out, err := marshalTree(v)
		if err != nil {
			t.Fatalf("marshal parsed tree: %v", err)
		}
		v2, err := ParseJSON(out)
		if err != nil {
			t.Fatalf("reparse %q: %v", out, err)
		}
		s2, err2 := Serialize(v2)
		if (err1 == nil) != (err2 == nil) || s1 != s2 {
			t.Fatalf("serialize changed across a round trip:\n%q %v\n%q %v", s1, err1, s2, err2)
		}
	})
}

// Any message that parses keeps its kind, signed plaintext and signature
// when written back out: what `signature sign` writes is what Trustly reads.
// (Signing itself is left to the unit tests: RSA under the fuzzer's
// instrumentation runs a few times a second.)
func FuzzParseMessage(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ParseMessage(in)
		if err != nil {
			return
		}
		p1, err1 := m.Plaintext()
		out, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseMessage(out)
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, out)
		}
		p2, err2 := m2.Plaintext()
		if m.Kind != m2.Kind || p1 != p2 || (err1 == nil) != (err2 == nil) || m.Signature() != m2.Signature() || m.SignaturePath() != m2.SignaturePath() {
			t.Fatalf("message changed across a round trip:\n%v %q %v\n%v %q %v", m.Kind, p1, err1, m2.Kind, p2, err2)
		}
	})
}
