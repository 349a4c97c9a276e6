package trustly

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCodeTable(t *testing.T) {
	tests := []struct {
		code      Code
		name      string
		transient bool
	}{
		{616, "ERROR_INVALID_CREDENTIALS", false},
		{620, "ERROR_UNKNOWN", true},
		{636, "ERROR_UNABLE_TO_VERIFY_RSA_SIGNATURE", false},
		{637, "ERROR_DUPLICATE_MESSAGE_ID", false},
		{734, "ERROR_NOT_SECURE_NOTIFICATIONURL", false},
		{999, "ERROR_999", false},
	}
	for _, tt := range tests {
		if got := tt.code.Name(); got != tt.name {
			t.Errorf("Code(%d).Name() = %q, want %q", tt.code, got, tt.name)
		}
		if tt.code.Transient() != tt.transient {
			t.Errorf("Code(%d).Transient() = %v", tt.code, !tt.transient)
		}
	}
	codes := Codes()
	for i, c := range codes {
		if !c.Known() || !strings.HasPrefix(c.Name(), "ERROR_") {
			t.Errorf("code %d in table but %q", c, c.Name())
		}
		if i > 0 && codes[i-1] >= c {
			t.Errorf("Codes() not sorted at %d", c)
		}
	}
}

func TestErrorCarriesContext(t *testing.T) {
	err := fmt.Errorf("deposit: %w", &Error{Code: CodeInvalidCredentials, Name: "JSONRPCError",
		Message: "ERROR_INVALID_CREDENTIALS", Method: "Deposit", UUID: "u-1", MessageID: "m-1"})
	if ErrorCode(err) != CodeInvalidCredentials {
		t.Errorf("ErrorCode = %v", ErrorCode(err))
	}
	var te *Error
	if !errors.As(err, &te) || te.MessageID != "m-1" {
		t.Fatal("errors.As lost the *Error")
	}
	for _, want := range []string{"616", "ERROR_INVALID_CREDENTIALS", "Deposit", "messageid=m-1", "uuid=u-1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err.Error(), want)
		}
	}
	local := &Error{Code: CodeInvalidAmount, Method: "Refund", Local: true, Field: "Amount"}
	if s := local.Error(); !strings.Contains(s, "not sent") || !strings.Contains(s, "ERROR_INVALID_AMOUNT") || !strings.Contains(s, "Amount") {
		t.Errorf("local error text %q", s)
	}
	if ErrorCode(errors.New("other")) != 0 {
		t.Error("ErrorCode of a plain error")
	}
}
