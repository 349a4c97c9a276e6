package store

import (
	"maps"
	"testing"
)

// The transition script writes a patch under these hash field names; they
// are the layout (LAYOUT.md) that existing orders were written in.
func TestOrderPatchFields(t *testing.T) {
	zero := int64(0)
	credited := int64(12345)
	for _, tc := range []struct {
		name  string
		patch OrderPatch
		want  map[string]string
	}{
		{"nothing", OrderPatch{}, map[string]string{}},
		{"an accepted checkout", OrderPatch{TrustlyOrderID: "T1", URL: "https://t.example/c"}, map[string]string{"tid": "T1", "url": "https://t.example/c"}},
		{"a refusal", OrderPatch{Reason: "ERROR_DUPLICATE_MESSAGE_ID"}, map[string]string{"reason": "ERROR_DUPLICATE_MESSAGE_ID"}},
		{"an account", OrderPatch{AccountID: "A1"}, map[string]string{"accountid": "A1"}},
		{"a credit", OrderPatch{Credited: &credited}, map[string]string{"credited": "12345"}},
		{"a credit of nothing is still written", OrderPatch{Credited: &zero}, map[string]string{"credited": "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.patch.fields(); !maps.Equal(got, tc.want) {
				t.Fatalf("fields = %v, want %v", got, tc.want)
			}
		})
	}
}
