package sim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// TestRetriesUntilAValidReply: every way a reply can be wrong is a failed
// attempt, and the identical notification is resent on the growing
// schedule until the merchant answers correctly.
func TestRetriesUntilAValidReply(t *testing.T) {
	tests := []struct {
		name    string
		bad     func(n *trustly.Notification) (int, []byte)
		wantErr string
	}{
		{"HTTP 500", func(*trustly.Notification) (int, []byte) { return http.StatusInternalServerError, []byte("oops") }, "HTTP 500"},
		{"OK body with HTTP 503", func(n *trustly.Notification) (int, []byte) { return http.StatusServiceUnavailable, okReply(n) }, "HTTP 503"},
		{"not JSON", func(*trustly.Notification) (int, []byte) { return http.StatusOK, []byte("OK") }, "invalid notification reply"},
		{"wrong uuid", func(n *trustly.Notification) (int, []byte) {
			b, _ := trustly.SignReply(merchantKey, n.Method, trustly.NewUUID(), trustly.ReplyOK)
			return http.StatusOK, b
		}, "uuid"},
		{"wrong method", func(n *trustly.Notification) (int, []byte) {
			b, _ := trustly.SignReply(merchantKey, "pending", n.UUID, trustly.ReplyOK)
			if n.Method == "pending" {
				b, _ = trustly.SignReply(merchantKey, "credit", n.UUID, trustly.ReplyOK)
			}
			return http.StatusOK, b
		}, "method"},
		{"signed with another key", func(n *trustly.Notification) (int, []byte) {
			b, _ := trustly.NewReply(strangerKey, n, trustly.ReplyOK)
			return http.StatusOK, b
		}, "signature"},
		{"FAILED for a credit", func(n *trustly.Notification) (int, []byte) {
			b, _ := trustly.Sign(merchantKey, n.Method, n.UUID, map[string]any{"status": "FAILED"})
			body, _ := json.Marshal(map[string]any{"version": "1.1", "result": map[string]any{
				"signature": b, "uuid": n.UUID, "method": n.Method, "data": map[string]any{"status": "FAILED"}}})
			return http.StatusOK, body
		}, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			// The first three deliveries of every notification are answered
			// badly, the fourth correctly.
			h.merchant.setReply(func(n *trustly.Notification, count int) (int, []byte) {
				if count <= 3 {
					return tt.bad(n)
				}
				return http.StatusOK, okReply(n)
			})
			res := h.deposit(nil)
			h.approve(res.OrderID, "")
			h.advance(0)
			n := h.sim.Notifications(res.OrderID)[0]
			if n.Method != "pending" || n.Answered || len(n.Attempts) != 1 || !strings.Contains(n.Attempts[0].Error, tt.wantErr) {
				t.Fatalf("after the first delivery: %+v", n)
			}
			h.advance(time.Hour)
			n, _ = h.sim.Notification(n.NotificationID)
			if !n.Answered || n.Status != "OK" || len(n.Attempts) != 4 {
				t.Fatalf("after an hour: answered %v, %d attempts: %+v", n.Answered, len(n.Attempts), n.Attempts)
			}
			// Schedule: 1m, 5m, 15m between attempts.
			for i, want := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute} {
				if got := n.Attempts[i+1].At.Sub(n.Attempts[i].At); got != want {
					t.Errorf("wait before attempt %d: %v, want %v", i+2, got, want)
				}
				if n.Attempts[i+1].Trigger != "retry" {
					t.Errorf("attempt %d trigger %q", i+2, n.Attempts[i+1].Trigger)
				}
			}
			// Every resend was the same notification.
			var ids, uuids []string
			for _, got := range h.merchant.all() {
				if got.Method == "pending" {
					ids, uuids = append(ids, got.NotificationID), append(uuids, got.UUID)
				}
			}
			if len(ids) != 4 || ids[0] != ids[3] || uuids[0] != uuids[3] {
				t.Errorf("pending resends: ids %v uuids %v", ids, uuids)
			}
		})
	}
}

func TestTimeoutIsAFailedAttempt(t *testing.T) {
	h := newHarness(t, func(c *sim.Config) { c.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond} })
	release := make(chan struct{})
	h.merchant.setReply(func(n *trustly.Notification, count int) (int, []byte) {
		if count == 1 {
			<-release // never answers in time
		}
		return http.StatusOK, okReply(n)
	})
	defer close(release)
	res := h.deposit(nil)
	h.approve(res.OrderID, "")
	h.advance(0)
	n := h.sim.Notifications(res.OrderID)[0]
	if n.Answered || len(n.Attempts) != 1 || n.Attempts[0].OK {
		t.Fatalf("%+v", n.Attempts)
	}
}

func TestDebitMayBeAnsweredFailed(t *testing.T) {
	h := newHarness(t)
	h.merchant.setReply(func(n *trustly.Notification, _ int) (int, []byte) {
		if n.Method == "debit" {
			b, _ := trustly.NewReply(merchantKey, n, trustly.ReplyFailed)
			return http.StatusOK, b
		}
		return http.StatusOK, okReply(n)
	})
	res := h.deposit(nil)
	h.approve(res.OrderID, "D1")
	h.advance(24 * time.Hour)
	for _, n := range h.sim.Notifications(res.OrderID) {
		if n.Method != "debit" {
			continue
		}
		if !n.Answered || n.Status != "FAILED" || len(n.Attempts) != 1 {
			t.Fatalf("debit: %+v", n)
		}
		return
	}
	t.Fatal("no debit")
}

func TestHoldNotificationsAndReplay(t *testing.T) {
	h := newHarness(t)
	res := h.deposit(func(r *trustly.DepositRequest) { r.HoldNotifications = true })
	h.approve(res.OrderID, "")
	h.advance(time.Hour)
	if got := h.merchant.methods(); len(got) != 0 {
		t.Fatalf("held notifications were sent: %v", got)
	}
	// The tool lists them, held, with no attempts.
	list := decodeJSON[[]sim.Notification](t, h.get(h.sim.URL()+"/sim/orders/"+res.OrderID+"/notifications"))
	if len(list) != 2 || list[0].Method != "pending" || !list[0].Held || len(list[0].Attempts) != 0 || list[1].Method != "credit" {
		t.Fatalf("listed %+v", list)
	}
	// Releasing them in reverse order, by hand, as a merchant testing
	// out-of-order delivery would.
	for _, n := range []sim.Notification{list[1], list[0]} {
		att := decodeJSON[sim.Attempt](t, h.post(h.sim.URL()+"/sim/notifications/"+n.NotificationID+"/replay", nil))
		if !att.OK || att.Trigger != "replay" || att.Status != "OK" {
			t.Fatalf("replay %s: %+v", n.Method, att)
		}
	}
	if got := strings.Join(h.merchant.methods(), ","); got != "credit,pending" {
		t.Fatalf("received %s", got)
	}
	// A replay of an answered notification sends it again, identical.
	before := h.merchant.last()
	decodeJSON[sim.Attempt](t, h.post(h.sim.URL()+"/sim/notifications/"+list[0].NotificationID+"/replay", nil))
	after := h.merchant.last()
	if before.NotificationID != after.NotificationID || before.UUID != after.UUID {
		t.Errorf("replay differs")
	}
	if resp := h.post(h.sim.URL()+"/sim/notifications/1/replay", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("replay of an unknown notification: HTTP %d", resp.StatusCode)
	}
}

func TestCustomNotification(t *testing.T) {
	h := newHarness(t)
	res := h.paid("")
	tests := []struct {
		name   string
		custom sim.CustomNotification
		check  func(t *testing.T, n *trustly.Notification)
	}{
		{"a debit with the order's data", sim.CustomNotification{Method: "debit"}, func(t *testing.T, n *trustly.Notification) {
			d, err := n.Debit()
			if err != nil || d.Amount != 10300 || d.Currency != "SEK" || d.OrderID != res.OrderID {
				t.Errorf("debit %+v, %v", d, err)
			}
		}},
		{"a credit with another amount", sim.CustomNotification{Method: "credit", Data: map[string]any{"amount": "1.50"}}, func(t *testing.T, n *trustly.Notification) {
			c, err := n.Credit()
			if err != nil || c.Amount != 150 {
				t.Errorf("credit %+v, %v", c, err)
			}
		}},
		{"a field removed", sim.CustomNotification{Method: "cancel", Data: map[string]any{"enduserid": nil}}, func(t *testing.T, n *trustly.Notification) {
			if _, ok := n.Data["enduserid"]; ok || n.Method != "cancel" {
				t.Errorf("data %v", n.Data)
			}
		}},
		{"an unknown method", sim.CustomNotification{Method: "refundpending"}, func(t *testing.T, n *trustly.Notification) {
			if n.Known() {
				t.Error("known?")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(tt.custom)
			resp := h.post(h.sim.URL()+"/sim/orders/"+res.OrderID+"/notifications", body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d: %s", resp.StatusCode, readBody(resp))
			}
			n := decodeJSON[sim.Notification](t, resp)
			if !n.Custom || !n.Answered || len(n.Attempts) != 1 || n.Attempts[0].Trigger != "custom" {
				t.Errorf("%+v", n)
			}
			got := h.merchant.last()
			if got.NotificationID != n.NotificationID {
				t.Fatalf("merchant got %s, tool says %s", got.NotificationID, n.NotificationID)
			}
			tt.check(t, got)
		})
	}
	t.Run("a boolean cannot be signed", func(t *testing.T) {
		resp := h.post(h.sim.URL()+"/sim/orders/"+res.OrderID+"/notifications", []byte(`{"method":"credit","data":{"amount":true}}`))
		if body := readBody(resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "boolean") {
			t.Errorf("HTTP %d %s", resp.StatusCode, body)
		}
	})
	t.Run("held until replayed", func(t *testing.T) {
		before := len(h.merchant.all())
		resp := h.post(h.sim.URL()+"/sim/orders/"+res.OrderID+"/notifications", []byte(`{"method":"credit","hold":true}`))
		n := decodeJSON[sim.Notification](t, resp)
		h.advance(time.Hour)
		if len(h.merchant.all()) != before || !n.Held {
			t.Fatal("a held custom notification was sent")
		}
	})
	t.Run("unknown order", func(t *testing.T) {
		resp := h.post(h.sim.URL()+"/sim/orders/77/notifications", []byte(`{"method":"credit"}`))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("HTTP %d", resp.StatusCode)
		}
	})
}

func TestControlReaders(t *testing.T) {
	h := newHarness(t)
	res := h.paid("")
	orders := decodeJSON[[]sim.Order](t, h.get(h.sim.URL()+"/sim/orders"))
	if len(orders) != 1 || orders[0].OrderID != res.OrderID || orders[0].State != sim.StateCredited {
		t.Errorf("orders %+v", orders)
	}
	o := decodeJSON[sim.Order](t, h.get(h.sim.URL()+"/sim/orders/"+res.OrderID))
	if o.Credited != 10300 {
		t.Errorf("order %+v", o)
	}
	if resp := h.get(h.sim.URL() + "/sim/orders/1"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown order: HTTP %d", resp.StatusCode)
	}
	pem := readBody(h.get(h.sim.URL() + "/sim/publickey"))
	if !bytes.Equal([]byte(pem), h.sim.PublicKeyPEM()) {
		t.Error("publickey differs")
	}
	if k, err := trustly.ParsePublicKey([]byte(pem)); err != nil || !k.Equal(h.sim.PublicKey()) {
		t.Errorf("publickey: %v", err)
	}
	sched := decodeJSON[[]sim.ScheduledTask](t, h.get(h.sim.URL()+"/sim/scheduled"))
	if len(sched) != 2 || !strings.Contains(sched[1].Name, "settle order "+res.OrderID) || !sched[1].Due.Equal(start.Add(time.Hour+5*time.Second)) {
		t.Errorf("scheduled %+v", sched)
	}
	resp := h.post(h.sim.URL()+"/sim/clock/advance?d=2h", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("advance: HTTP %d", resp.StatusCode)
	}
	resp.Body.Close()
	if !h.sim.Now().Equal(start.Add(time.Minute + 2*time.Hour)) {
		t.Errorf("now %v", h.sim.Now())
	}
	bal := decodeJSON[map[string]int64](t, h.get(h.sim.URL()+"/sim/balances"))
	if bal["SEK"] != 10300 {
		t.Errorf("balances %v", bal)
	}
}
