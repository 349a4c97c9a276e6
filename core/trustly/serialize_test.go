package trustly

import (
	"errors"
	"strings"
	"testing"
)

func TestSerializeKnownAnswers(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"nested array and object", `{"MyKey":"MyValue","MyArray":["Element1","Element2",{"mykey2":"myvalue2"}]}`,
			"MyArrayElement1Element2mykey2myvalue2MyKeyMyValue"},
		{"null, deep nesting, arrays of arrays", `{"nullvalue":null,"array":["012","013","011","014","abc","010","def"],"deep1":{"deep2":{"deep3":{"deep4":{"deep5":{}}}}},"arrayofarray1":[[[[[[9,5,1,10]]]]],["abc","foo","01"]]}`,
			"array012013011014abc010defarrayofarray195110abcfoo01deep1deep2deep3deep4deep5nullvalue"},
		{"UTF-8 keys in byte order", `{"öäå":3,"äåö":2,"åöä":1}`, "äåö2åöä1öäå3"},
		{"empty string value", `{"accountid":"123456789","bank":"BankA","clearinghouse":"SWEDEN","descriptor":""}`,
			"accountid123456789bankBankAclearinghouseSWEDENdescriptor"},
		{"numbers keep their text", `{"a":1.50,"b":1e3,"c":-0,"d":10.000}`, "a1.50b1e3c-0d10.000"},
		{"byte order puts upper case first", `{"b":"1","B":"2","a":"3","_":"4"}`, "B2_4a3b1"},
		{"empty object and array", `{"o":{},"a":[]}`, "ao"},
		{"top-level null", `null`, ""},
		{"top-level string", `"x"`, "x"},
		{"escapes are decoded before serializing", `{"k":"a\"b\\c\u00e5"}`, "ka\"b\\cå"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Serialize(v)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Serialize(%s)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSerializeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want error
	}{
		{"boolean true", map[string]any{"flag": true}, ErrBooleanInData},
		{"boolean in array", []any{"a", false}, ErrBooleanInData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Serialize(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Serialize(map[string]any{"f": 1.5}); err == nil {
		t.Error("float accepted; its text is not unique")
	}
}

func TestParseJSONRejects(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ``},
		{"truncated", `{"a":`},
		{"trailing data", `{"a":"b"} {"c":"d"}`},
		{"trailing garbage", `{"a":"b"}x`},
		{"deep nesting", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)},
		{"very deep nesting", strings.Repeat(`{"a":`, 100000)},
		{"bad escape", `{"a":"\x"}`},
		{"invalid UTF-8", "{\"a\":\"\xff\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseJSON([]byte(tt.in)); !errors.Is(err, ErrMalformedJSON) {
				t.Errorf("err = %v, want ErrMalformedJSON", err)
			}
		})
	}
	// Brackets inside strings do not count towards the depth.
	in := `{"a":"` + strings.Repeat("[{", 1000) + `"}`
	if _, err := ParseJSON([]byte(in)); err != nil {
		t.Errorf("brackets in a string: %v", err)
	}
}
