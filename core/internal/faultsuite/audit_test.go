package faultsuite

import (
	"strings"
	"testing"
)

// clean is a run where everything went right: two orders, a duplicate
// absorbed, a retry, a callback refused once and resent.
func clean() History {
	return History{
		Sent: []Sent{
			{ID: "n1", Order: "T1", Method: "pending", Deliveries: 1, Answered: 1},
			{ID: "n2", Order: "T1", Method: "credit", Deliveries: 3, Retries: 1, Answered: 2, Late: 1},
			{ID: "n3", Order: "T2", Method: "cancel", Deliveries: 1, Answered: 1},
		},
		Logged: map[string]int{"n1": 1, "n2": 1, "n3": 1},
		Callbacks: []Callback{
			{Order: "A", ChangeID: "o1:2", Status: "pending", Accepted: false},
			{Order: "A", ChangeID: "o1:2", Status: "pending", Accepted: true},
			{Order: "A", ChangeID: "o1:3", Status: "paid", Accepted: true},
			{Order: "B", ChangeID: "o2:2", Status: "cancelled", Accepted: true},
		},
		Orders: []Order{
			{Ref: "A", TrustlyID: "T1", Want: "paid", Redis: "paid", Shop: []string{"pending", "paid"}},
			{Ref: "B", TrustlyID: "T2", Want: "cancelled", Redis: "cancelled", Shop: []string{"cancelled"}},
		},
	}
}

func TestAuditCountsWhatARunLeft(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*History)
		want    Figures
		problem string // a Problems line must hold it; "" means none at all
	}{
		{
			name: "clean run",
			edit: func(*History) {},
			want: Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 3, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 3},
		},
		{
			name:    "a notification answered but never stored is lost",
			edit:    func(h *History) { delete(h.Logged, "n3") },
			want:    Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 2, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 3, Lost: 1},
			problem: "notification n3 (cancel of order T2) lost",
		},
		{
			name:    "a notification never answered is lost",
			edit:    func(h *History) { h.Sent[0].Answered = 0 },
			want:    Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 2, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 3, Lost: 1},
			problem: "notification n1 (pending of order T1) lost",
		},
		{
			name:    "a notification applied twice in Redis",
			edit:    func(h *History) { h.Logged["n2"] = 2 },
			want:    Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 2, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 3, DoubleApplied: 1},
			problem: "notification n2 (credit of order T1) applied 2 times",
		},
		{
			name: "paid applied twice at the shop under two change ids",
			edit: func(h *History) {
				h.Callbacks = append(h.Callbacks, Callback{Order: "A", ChangeID: "o1:4", Status: "paid", Accepted: true})
				h.Orders[0].Shop = []string{"pending", "paid", "paid"}
			},
			want:    Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 3, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 4, DoubleApplied: 1},
			problem: "order A: the shop applied paid 2 times",
		},
		{
			// Counted twice: by the change id's seq and by status.
			name: "pending after paid is out of order, and the shop ends at pending",
			edit: func(h *History) {
				h.Callbacks = append(h.Callbacks, Callback{Order: "A", ChangeID: "o1:2", Status: "pending", Accepted: true})
				h.Orders[0].Shop = []string{"paid", "pending"}
			},
			want:    Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 3, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 2, Delivered: 3, OutOfOrder: 2, FinalMissing: 1},
			problem: "order A: the callback got pending (seq 2) after seq 3",
		},
		{
			name: "pending applied after paid under a newer change id is out of order too",
			edit: func(h *History) {
				h.Callbacks = append(h.Callbacks, Callback{Order: "A", ChangeID: "o1:4", Status: "pending", Accepted: true},
					Callback{Order: "A", ChangeID: "o1:5", Status: "paid", Accepted: true})
				h.Orders[0].Shop = []string{"pending", "paid", "pending", "paid"}
			},
			want:    Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 3, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 5, OutOfOrder: 1, DoubleApplied: 2},
			problem: "order A: the shop applied pending after paid",
		},
		{
			name: "the final state never reached the shop",
			edit: func(h *History) {
				h.Callbacks = h.Callbacks[:2]
				h.Orders[0].Shop = []string{"pending"}
			},
			want:    Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 3, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 1, FinalMissing: 1},
			problem: `order A (T1): want paid, Redis holds "paid", the shop last applied "pending"`,
		},
		{
			name:    "a change id without a seq counts as out of order",
			edit:    func(h *History) { h.Callbacks[3].ChangeID = "o2" },
			want:    Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 3, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 3, OutOfOrder: 1},
			problem: `change id "o2" without a seq`,
		},
		{
			name: "an attention between two states is a note, not a state",
			edit: func(h *History) {
				h.Callbacks = append(h.Callbacks, Callback{Order: "A", ChangeID: "o1:4", Status: "attention", Accepted: true})
				h.Orders[0].Shop = []string{"pending", "attention", "paid", "attention"}
			},
			want: Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 3, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 4, Attention: 2},
		},
		{
			name: "dead letters are counted, not judged",
			edit: func(h *History) { h.DeadLettered = 2 },
			want: Figures{Sent: 3, Deliveries: 5, Late: 1, Applied: 3, DuplicatesAbsorbed: 1, Retries: 1, CallbackResends: 1, Delivered: 3, DeadLettered: 2},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := clean()
			c.edit(&h)
			got, problems := Audit(h)
			if got != c.want {
				t.Errorf("figures\n got %+v\nwant %+v", got, c.want)
			}
			switch {
			case c.problem == "" && len(problems) > 0:
				t.Errorf("problems in a clean history: %q", problems)
			case c.problem != "" && !strings.Contains(strings.Join(problems, "\n"), c.problem):
				t.Errorf("problems %q do not name %q", problems, c.problem)
			}
		})
	}
}

func TestTableNamesEveryFigure(t *testing.T) {
	table := Figures{Sent: 7, Lost: 0, DeadLettered: 3}.Table()
	for _, row := range []string{"notifications sent", "applied", "duplicates absorbed", "retries", "lost", "double-applied",
		"platform changes delivered", "out of order", "dead-lettered"} {
		if !strings.Contains(table, row) {
			t.Errorf("the table lacks %q:\n%s", row, table)
		}
	}
}
