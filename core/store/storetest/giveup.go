package storetest

import (
	"errors"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

func runGiveUp(t *testing.T, newClient NewClient) {
	t.Run("an operator gives up on a pending outbox entry: dead-lettered, delivered, not landed", func(t *testing.T) {
		o := newOrders(t, newClient)
		const group = "platform"
		must(t, o.s.EnsureOutboxGroup(o.ctx, group))
		o.create("p1")
		o.apply(store.Transition{OrderID: "p1", Event: "accepted", Targets: accepted})
		o.apply(store.Transition{OrderID: "p1", Event: "pending", Targets: pending})
		o.apply(store.Transition{OrderID: "p1", Event: "credit", Targets: credit})
		sh := store.ShardOf("p1")
		got, err := o.s.ReadOutbox(o.ctx, sh, group, "c1", 2)
		if err != nil || len(got) != 2 {
			t.Fatalf("read = %+v, %v", got, err)
		}
		must(t, o.s.AckOutbox(o.ctx, got[0], group, ""))
		if _, err := o.s.FailOutbox(o.ctx, got[1]); err != nil {
			t.Fatal(err)
		}
		all := o.outbox("p1")
		unread := all[2]

		pend, err := o.s.ListPending(o.ctx, group, 10)
		if err != nil || len(pend) != 1 || pend[0].ID != got[1].ID || pend[0].Seq != 2 || pend[0].Failures != 1 || pend[0].Deliveries != 1 {
			t.Fatalf("pending = %+v, %v; want seq 2 with one failure", pend, err)
		}
		for _, tc := range []struct {
			name string
			id   string
			want error
		}{
			{"an unread entry", unread.ID, store.ErrNotPending},
			{"an acknowledged entry", got[0].ID, store.ErrNotPending},
			{"no such entry", "1-1", store.ErrNotFound},
		} {
			if _, err := o.s.GiveUpOutbox(o.ctx, sh, group, tc.id, "skipped by operator"); !errors.Is(err, tc.want) {
				t.Errorf("give up %s = %v, want %v", tc.name, err, tc.want)
			}
		}

		e, err := o.s.GiveUpOutbox(o.ctx, sh, group, got[1].ID, "skipped by operator")
		if err != nil || e.Seq != 2 || e.OrderID != "p1" || e.Failures != 1 {
			t.Fatalf("give up = %+v, %v", e, err)
		}
		dead, err := o.s.ListDead(o.ctx, 10)
		if err != nil || len(dead) != 1 || dead[0].DeadReason != "skipped by operator" || dead[0].DeadEntry != got[1].ID || dead[0].Seq != 2 {
			t.Fatalf("dead = %+v, %v", dead, err)
		}
		// Seq 3 no longer waits for it; the platform still has only seq 1,
		// so a replay of seq 2 would be delivered.
		if d, _ := o.s.Delivered(o.ctx, "p1"); d != 2 {
			t.Errorf("delivered = %d, want 2", d)
		}
		if l, _ := o.s.Landed(o.ctx, "p1"); l != 1 {
			t.Errorf("landed = %d, want 1", l)
		}
		if pend, err := o.s.ListPending(o.ctx, group, 10); err != nil || len(pend) != 0 {
			t.Errorf("pending after giving up = %+v, %v", pend, err)
		}
		if _, err := o.s.GiveUpOutbox(o.ctx, sh, group, got[1].ID, "skipped by operator"); !errors.Is(err, store.ErrNotPending) {
			t.Errorf("giving up twice = %v, want ErrNotPending", err)
		}
	})
}
