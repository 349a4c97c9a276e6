package engine

import (
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// An account notification's mandate flag reaches the order of a Deposit
// (store.OrderPatch.Mandate keeps it while the mandate is active); a mandate
// order's own state does that, so it gets none.
func TestAnAccountNotificationsMandateFlagReachesADeposit(t *testing.T) {
	e := &Engine{now: time.Now}
	for _, tc := range []struct {
		flow Flow
		flag any // directdebitmandate, nil when absent
		want string
	}{
		{FlowDeposit, "1", store.MandateActive},
		{FlowDeposit, "0", store.MandateInactive},
		{FlowDeposit, nil, ""},
		{FlowMandate, "1", ""},
		{FlowMandate, "0", ""},
	} {
		attrs := map[string]any{"bank": "Bank"}
		if tc.flag != nil {
			attrs["directdebitmandate"] = tc.flag
		}
		n := &trustly.Notification{Method: string(trustly.NotifyAccount), NotificationID: "n1", OrderID: "T1", MessageID: "m1",
			Data: map[string]any{"accountid": "A1", "verified": "1"}, Attributes: attrs}
		o := store.Order{ID: "o1", Flow: string(tc.flow), State: string(StatePaid), TrustlyOrderID: "T1", MessageID: "m1", MessageIDs: []string{"m1"}}
		s, _, err := e.stepFor(n, o)
		if err != nil {
			t.Fatalf("%s, directdebitmandate %v: %v", tc.flow, tc.flag, err)
		}
		if s.set.Mandate != tc.want {
			t.Errorf("%s, directdebitmandate %v: patch mandate %q, want %q", tc.flow, tc.flag, s.set.Mandate, tc.want)
		}
	}
}
