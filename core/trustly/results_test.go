package trustly

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// resultTree parses JSON the way the client does, so numbers arrive as
// json.Number and the parsers see exactly what they will see in production.
func resultTree(t *testing.T, s string) any {
	t.Helper()
	v, err := ParseJSON([]byte(s))
	if err != nil {
		t.Fatalf("ParseJSON(%s): %v", s, err)
	}
	return v
}

func TestParseDepositAndSelectAccountResult(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    *DepositResult
		wantErr string // substring; "" means success
	}{
		{name: "Trustly's documented answer",
			data: `{"orderid":"1371798227","url":"https://test.trustly.com/_/orderclient.php?SessionID=a&OrderID=1371798227&Locale=sv_SE"}`,
			want: &DepositResult{OrderID: "1371798227", URL: "https://test.trustly.com/_/orderclient.php?SessionID=a&OrderID=1371798227&Locale=sv_SE"}},
		{name: "numeric orderid keeps its digits",
			data: `{"orderid":12345678901234567890,"url":"https://x.example/u"}`,
			want: &DepositResult{OrderID: "12345678901234567890", URL: "https://x.example/u"}},
		{name: "unknown fields are ignored",
			data: `{"orderid":"1","url":"https://x.example/u","new":{"a":1}}`,
			want: &DepositResult{OrderID: "1", URL: "https://x.example/u"}},
		{name: "no url", data: `{"orderid":"1"}`, wantErr: "url is missing"},
		{name: "null orderid", data: `{"orderid":null,"url":"https://x.example/u"}`, wantErr: "orderid is missing"},
		{name: "url is an object", data: `{"orderid":"1","url":{}}`, wantErr: "url is an object"},
		{name: "data is a list", data: `[]`, wantErr: "data is an array"},
		{name: "data is null", data: `null`, wantErr: "data is null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := resultTree(t, tt.data)
			got, err := ParseDepositResult(data)
			sel, selErr := ParseSelectAccountResult(data)
			if tt.wantErr != "" {
				for _, e := range []error{err, selErr} {
					if !errors.Is(e, ErrUnexpectedResult) || !strings.Contains(e.Error(), tt.wantErr) {
						t.Errorf("error = %v, want ErrUnexpectedResult mentioning %q", e, tt.wantErr)
					}
				}
				if got != nil || sel != nil {
					t.Errorf("got results %+v %+v alongside the error", got, sel)
				}
				return
			}
			if err != nil || selErr != nil {
				t.Fatalf("errors = %v, %v", err, selErr)
			}
			if *got != *tt.want {
				t.Errorf("ParseDepositResult = %+v, want %+v", got, tt.want)
			}
			if sel.OrderID != tt.want.OrderID || sel.URL != tt.want.URL {
				t.Errorf("ParseSelectAccountResult = %+v, want %+v", sel, tt.want)
			}
		})
	}
}

func TestParseRefundResult(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    RefundResult
		wantErr string
	}{
		{name: "accepted", data: `{"orderid":"1371798227","result":"1"}`, want: RefundResult{OrderID: "1371798227", Accepted: true}},
		{name: "numeric orderid and result", data: `{"orderid":1371798227,"result":1}`, want: RefundResult{OrderID: "1371798227", Accepted: true}},
		{name: "not accepted", data: `{"orderid":"1","result":"0"}`, want: RefundResult{OrderID: "1"}},
		{name: "boolean result is not guessed", data: `{"orderid":"1","result":true}`, wantErr: "result is a boolean"},
		{name: "result spelled out", data: `{"orderid":"1","result":"true"}`, wantErr: `result is "true"`},
		{name: "no result", data: `{"orderid":"1"}`, wantErr: "result is missing"},
		{name: "no orderid", data: `{"result":"1"}`, wantErr: "orderid is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRefundResult(resultTree(t, tt.data))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUnexpectedResult) || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("ParseRefundResult = %+v, %v; want nil and ErrUnexpectedResult mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("ParseRefundResult = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseChargeResult(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    ChargeResult
		wantErr string
	}{
		{name: "accepted", data: `{"orderid":"1442606206","result":"1","rejected":null}`,
			want: ChargeResult{OrderID: "1442606206", Accepted: true}},
		{name: "rejected for a missing mandate", data: `{"orderid":null,"result":"0","rejected":"ERROR_MANDATE_NOT_FOUND"}`,
			want: ChargeResult{Rejected: "ERROR_MANDATE_NOT_FOUND"}},
		{name: "accepted without an orderid", data: `{"result":"1"}`, wantErr: "orderid is missing"},
		{name: "rejected reason is a number list", data: `{"result":"0","rejected":[1]}`, wantErr: "rejected is an array"},
		{name: "no result", data: `{"orderid":"1"}`, wantErr: "result is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChargeResult(resultTree(t, tt.data))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUnexpectedResult) || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("ParseChargeResult = %+v, %v; want nil and ErrUnexpectedResult mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("ParseChargeResult = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseCancelChargeResult(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    CancelChargeResult
		wantErr string
	}{
		{name: "cancelled", data: `{"result":"1","rejected":null}`, want: CancelChargeResult{Accepted: true}},
		{name: "too late", data: `{"result":"0","rejected":"ERROR_CHARGE_ALREADY_PROCESSING"}`,
			want: CancelChargeResult{Rejected: "ERROR_CHARGE_ALREADY_PROCESSING"}},
		{name: "result 2", data: `{"result":"2"}`, wantErr: `result is "2"`},
		{name: "data is a string", data: `"1"`, wantErr: "data is a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCancelChargeResult(resultTree(t, tt.data))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUnexpectedResult) || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("ParseCancelChargeResult = %+v, %v; want nil and ErrUnexpectedResult mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("ParseCancelChargeResult = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseBalanceResult(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    []Balance
		wantErr string
	}{
		{name: "two currencies, one overdrawn",
			data: `[{"currency":"SEK","balance":"1523.50"},{"currency":"EUR","balance":"-20.05"}]`,
			want: []Balance{{Currency: "SEK", Balance: 152350}, {Currency: "EUR", Balance: -2005}}},
		{name: "no balances yet", data: `[]`, want: []Balance{}},
		{name: "balance as a number with one decimal", data: `[{"currency":"NOK","balance":10.5}]`,
			want: []Balance{{Currency: "NOK", Balance: 1050}}},
		{name: "balance with three decimals", data: `[{"currency":"SEK","balance":"1.005"}]`, wantErr: "balance"},
		{name: "balance missing", data: `[{"currency":"SEK"}]`, wantErr: "balance is missing"},
		{name: "entry is a string", data: `["SEK"]`, wantErr: "Balance[0]: data is a string"},
		{name: "data is an object", data: `{"currency":"SEK","balance":"1.00"}`, wantErr: "want a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBalanceResult(resultTree(t, tt.data))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUnexpectedResult) || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("ParseBalanceResult = %+v, %v; want nil and ErrUnexpectedResult mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseBalanceResult = %+v, want %+v", got, tt.want)
			}
		})
	}
	// A bad amount also says why, through ParseAmount's sentinel.
	_, err := ParseBalanceResult(resultTree(t, `[{"currency":"SEK","balance":"abc"}]`))
	if !errors.Is(err, ErrInvalidAmount) || !errors.Is(err, ErrUnexpectedResult) {
		t.Errorf("bad balance error = %v, want both ErrUnexpectedResult and ErrInvalidAmount", err)
	}
}

func TestParseWithdrawalsResult(t *testing.T) {
	const entry = `{"reference":"1234567890","modificationdate":"2023-05-02 10:01:02.123+02",` +
		`"orderid":"6543219870","datestamp":"2023-05-01 09:00:00.5+02","transferstate":"EXECUTED",` +
		`"amount":"50.50","accountid":"1122334455","currency":"SEK","eta":null,"newfield":"kept"}`
	data := resultTree(t, `[`+entry+`]`)
	got, err := ParseWithdrawalsResult(data)
	if err != nil {
		t.Fatal(err)
	}
	want := Withdrawal{
		OrderID: "6543219870", Reference: "1234567890", Datestamp: "2023-05-01 09:00:00.5+02",
		ModificationDate: "2023-05-02 10:01:02.123+02", TransferState: "EXECUTED", Amount: 5050,
		Currency: "SEK", AccountID: "1122334455",
	}
	if len(got) != 1 {
		t.Fatalf("got %d withdrawals, want 1", len(got))
	}
	raw := got[0].Raw
	got[0].Raw = nil
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("ParseWithdrawalsResult = %+v\nwant %+v", got[0], want)
	}
	if raw["newfield"] != "kept" {
		t.Errorf("Raw lost an unknown field: %v", raw)
	}

	bad := []struct {
		name, data, wantErr string
	}{
		{"no amount", `[{"orderid":"1","currency":"SEK"}]`, "GetWithdrawals[0]: amount is missing"},
		{"second entry broken", `[{"orderid":"1","currency":"SEK","amount":"1.00"},{"orderid":"2","currency":7,"amount":"1.00"}]`, "GetWithdrawals[1]"},
		{"transferstate is a boolean", `[{"orderid":"1","currency":"SEK","amount":"1.00","transferstate":false}]`, "transferstate is a boolean"},
		{"data is null", `null`, "data is null"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWithdrawalsResult(resultTree(t, tt.data))
			if !errors.Is(err, ErrUnexpectedResult) || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
				t.Errorf("ParseWithdrawalsResult = %+v, %v; want nil and ErrUnexpectedResult mentioning %q", got, err, tt.wantErr)
			}
		})
	}
	empty, err := ParseWithdrawalsResult(resultTree(t, `[]`))
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("empty list = %#v, %v; want an empty, non-nil slice", empty, err)
	}
}

// The real TEST deposit response from Trustly's own client tests parses.
func TestParseDepositResultFromTrustlyVector(t *testing.T) {
	m, err := ParseMessage(readTestdata(t, "trustly-test-deposit-response.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDepositResult(m.Data())
	if err != nil {
		t.Fatal(err)
	}
	if got.OrderID == "" || !strings.HasPrefix(got.URL, "https://") {
		t.Errorf("ParseDepositResult(vector) = %+v, want an order id and an https URL", got)
	}
}
