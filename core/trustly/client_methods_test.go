package trustly

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// answerData answers every call with a result signed over data.
func answerData(data any) answer {
	return func(f *fakeTrustly, req seenRequest, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, signedResult(f.key, req.Method, req.UUID, data))
	}
}

func TestTypedCalls(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		method string
		data   any
		call   func(c *Client) (any, error)
		check  func(t *testing.T, got any)
	}{
		{"Deposit", "Deposit", map[string]any{"orderid": "1371798227", "url": "https://test.trustly.com/_/orderclient.php?a=1"},
			func(c *Client) (any, error) { return c.Deposit(ctx, minimalDeposit()) },
			func(t *testing.T, got any) {
				if r := got.(*DepositResult); r.OrderID != "1371798227" || r.URL != "https://test.trustly.com/_/orderclient.php?a=1" {
					t.Errorf("result = %+v", r)
				}
			}},
		{"SelectAccount", "SelectAccount", map[string]any{"orderid": "42", "url": "https://test.trustly.com/x"},
			func(c *Client) (any, error) { return c.SelectAccount(ctx, goodSelectAccount()) },
			func(t *testing.T, got any) {
				if r := got.(*SelectAccountResult); r.OrderID != "42" {
					t.Errorf("result = %+v", r)
				}
			}},
		{"Refund", "Refund", map[string]any{"orderid": "1371798227", "result": "1"},
			func(c *Client) (any, error) { return c.Refund(ctx, goodRefund()) },
			func(t *testing.T, got any) {
				if r := got.(*RefundResult); !r.Accepted {
					t.Errorf("result = %+v", r)
				}
			}},
		{"Charge rejected", "Charge", map[string]any{"orderid": "77", "result": "0", "rejected": "ERROR_DIRECT_DEBIT_NOT_ALLOWED"},
			func(c *Client) (any, error) { return c.Charge(ctx, goodCharge()) },
			func(t *testing.T, got any) {
				if r := got.(*ChargeResult); r.Accepted || r.Rejected != "ERROR_DIRECT_DEBIT_NOT_ALLOWED" {
					t.Errorf("result = %+v", r)
				}
			}},
		{"CancelCharge", "CancelCharge", map[string]any{"result": "1"},
			func(c *Client) (any, error) { return c.CancelCharge(ctx, &CancelChargeRequest{OrderID: "77"}) },
			func(t *testing.T, got any) {
				if r := got.(*CancelChargeResult); !r.Accepted {
					t.Errorf("result = %+v", r)
				}
			}},
		{"Balance", "Balance", []any{map[string]any{"currency": "SEK", "balance": "1234.50"}, map[string]any{"currency": "EUR", "balance": "-2.00"}},
			func(c *Client) (any, error) { return c.Balance(ctx) },
			func(t *testing.T, got any) {
				b := got.([]Balance)
				if len(b) != 2 || b[0] != (Balance{Currency: "SEK", Balance: 123450}) || b[1].Balance != -200 {
					t.Errorf("result = %+v", b)
				}
			}},
		{"GetWithdrawals", "GetWithdrawals", []any{map[string]any{"orderid": "9", "amount": "10.00", "currency": "SEK", "transferstate": "EXECUTED"}},
			func(c *Client) (any, error) { return c.GetWithdrawals(ctx, "9") },
			func(t *testing.T, got any) {
				w := got.([]Withdrawal)
				if len(w) != 1 || w[0].Amount != 1000 || w[0].TransferState != "EXECUTED" {
					t.Errorf("result = %+v", w)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTrustly(t, answerData(tt.data))
			c := newTestClient(t, f)
			got, err := tt.call(c)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
			seen := f.requests()
			if len(seen) != 1 || seen[0].Method != tt.method || seen[0].SigErr != nil {
				t.Fatalf("server saw %+v", seen)
			}
			if seen[0].Data["Username"] != testUsername {
				t.Errorf("Username not sent inside Data")
			}
		})
	}
}

// A signed answer whose data cannot be read leaves a Refund's outcome
// unknown (it may have been executed), but not a Balance's.
func TestTypedCallUnreadableAnswer(t *testing.T) {
	ctx := context.Background()
	f := newFakeTrustly(t, answerData(map[string]any{"orderid": "1", "result": "maybe"}))
	c := newTestClient(t, f)
	_, err := c.Refund(ctx, goodRefund())
	if !errors.Is(err, ErrUnexpectedResult) || !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("Refund: err = %v, want ErrUnexpectedResult and ErrOutcomeUnknown", err)
	}
	f = newFakeTrustly(t, answerData(map[string]any{"not": "a list"}))
	c = newTestClient(t, f)
	_, err = c.Balance(ctx)
	if !errors.Is(err, ErrUnexpectedResult) || errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("Balance: err = %v, want ErrUnexpectedResult only", err)
	}
	// Local validation still comes first: nothing is sent.
	f = newFakeTrustly(t, answerData(nil))
	c = newTestClient(t, f)
	bad := goodRefund()
	bad.Amount = 0
	if _, err := c.Refund(ctx, bad); ErrorCode(err) != CodeInvalidAmount {
		t.Errorf("Refund of 0: err = %v, want 615", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server saw %d requests for an invalid refund", n)
	}
}
