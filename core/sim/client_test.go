package sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
)

// The Go client of the notification tool over a real socket: list, replay,
// send, and the simulator's own refusals.
func TestClientOfTheNotificationTool(t *testing.T) {
	h := newHarness(t)
	paid := h.paid("")
	c, err := sim.NewClient(h.sim.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list, err := c.Notifications(ctx, paid.OrderID)
	if err != nil || len(list) < 2 || list[0].Method != "pending" {
		t.Fatalf("notifications = %+v, %v", list, err)
	}
	a, err := c.Replay(ctx, list[0].NotificationID)
	if err != nil || !a.OK || a.Trigger != "replay" {
		t.Fatalf("replay = %+v, %v", a, err)
	}
	n, err := c.Send(ctx, paid.OrderID, sim.CustomNotification{Method: "newthing", Hold: true})
	if err != nil || !n.Held || n.Method != "newthing" || len(n.Attempts) != 0 {
		t.Fatalf("send held = %+v, %v", n, err)
	}
	if _, err := c.Notifications(ctx, "no-such-order"); err == nil || !strings.Contains(err.Error(), "no-such-order") {
		t.Errorf("unknown order: %v", err)
	}
	if _, err := sim.NewClient("ftp://x"); err == nil {
		t.Error("an ftp URL was taken")
	}
}
