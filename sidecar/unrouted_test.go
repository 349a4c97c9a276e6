package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// A notification no order takes is answered, kept, and a person finds it
// through /v1 and the unrouted command, without its signature.
func TestE2EUnroutedNotificationsAreListed(t *testing.T) {
	s := startShop(t)
	p := s.order(s.call(http.MethodPost, "/v1/payments", "u-1", strings.Replace(paymentBody, "%s", "", 1)), http.StatusCreated)
	n, err := s.sim.SendCustom(t.Context(), p.TrustlyOrderID, sim.CustomNotification{Method: "credit",
		Data: map[string]any{"orderid": "4242424242", "messageid": "not-ours"}})
	if err != nil {
		t.Fatal(err)
	}
	if last := n.Attempts[len(n.Attempts)-1]; !last.OK {
		t.Fatalf("not answered: %+v", last)
	}

	a := s.call(http.MethodGet, "/v1/notifications/unrouted", "", "")
	if a.Status != http.StatusOK {
		t.Fatalf("%d %s", a.Status, a.Body)
	}
	var l shopapi.UnroutedList
	decodeJSON(t, a.Body, &l)
	if len(l.Notifications) != 1 {
		t.Fatalf("listed %+v", l)
	}
	if u := l.Notifications[0]; u.NotificationID != n.NotificationID || u.Method != "credit" || u.TrustlyOrderID != "4242424242" ||
		u.MessageID != "not-ours" || u.Answer != "OK" || u.Reason == "" || u.Data["amount"] == nil || u.ReceivedAt.IsZero() {
		t.Errorf("listed %+v", u)
	}
	if strings.Contains(a.Body, "signature") {
		t.Errorf("the listing shows the signature: %s", a.Body)
	}
	for _, q := range []string{"?limit=x", "?limit=0", "?limit=1001"} {
		if a := s.call(http.MethodGet, "/v1/notifications/unrouted"+q, "", ""); a.Status != http.StatusBadRequest || a.ErrorCode(t) != "invalid_request" {
			t.Errorf("%s: %d %s", q, a.Status, a.Body)
		}
	}
	expect{code: 0, stdout: []string{"NOTIFICATIONID", n.NotificationID, "credit", "4242424242", "not-ours", "OK"}}.check(t, clie(t, s.env, "unrouted"))
	expect{code: 1, stderr: []string{"limit must be between 1 and 1000"}}.check(t, clie(t, s.env, "unrouted", "--limit", "0"))
}

func decodeJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}
