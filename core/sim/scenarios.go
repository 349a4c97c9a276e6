package sim

import (
	"context"
	"fmt"
	"time"
)

// A scenario is the script the simulated bank follows once the shopper has
// approved an order: which notifications are sent, how long after the
// approval, and in which order. Trustly's TEST checkout offers the same
// choice under "Set order options"; its D1 is reproduced exactly, the other
// cases are defined here as the hard cases a merchant must survive (Trustly
// does not publish their contents).
//
//	name  for            notifications (time after approval)                     what it tests
//	----  ---------      ------------------------------------------------------   -----------------------------------------
//	(default) Deposit    pending 0s, credit 5s                                    the ordinary payment
//	D1    Deposit        pending 0s, credit 5s, debit 10s                         a credited payment that fails right after
//	D3    Deposit        pending 0s, credit 72h                                   pending for days: never ship on pending
//	D4    Deposit        pending 0s, cancel 1h                                    cancel after pending: release the stock
//	D5    Deposit        credit 0s, pending 10s                                   out of order: pending must not undo credit
//	G1    Deposit        account 0s, pending 5s, credit 10s, account 20s          account notifications before and after credit
//	G2    Deposit        pending 0s, credit 5s, the same credit again 60s         one notification delivered twice (same id)
//	G3    Deposit        pending 0s, credit 5s, its first 2 replies "lost"        resends of an answered notification
//	RF    Deposit        pending 0s, credit 5s; every refund of it fails          refund failure: credit on the refund order
//	PF    Deposit        pending 0s, credit 5s; every refund of it fails          refund failure: payoutfailed (errorcode, errormessage)
//	(default) SelectAccount account 0s (directdebitmandate "1" when asked for)    mandate set up
//	MD    SelectAccount  account 0s with directdebitmandate "0"                   mandate declined
//	(decline) any        cancel 0s                                                the shopper said no
//	(walk away) any      cancel when the checkout URL expires                     abandoned checkout
//
// A Deposit with RequestDirectDebitMandate "1" also gets an account
// notification (with directdebitmandate "1") first, unless the scenario
// sends its own. Charges get pending when received, then follow
// chargeScenario on their PaymentDate's bank day.
// Every delivery that gets no valid reply is retried on Config.RetrySchedule.
type Scenario struct {
	Name  string
	Title string
	// For lists the methods whose checkout offers the scenario.
	For   []string
	Steps []Step
	// Mandate is the directdebitmandate value of the account notification
	// when the order asked for a mandate ("1" unless declined).
	Mandate string
	// RefundsFail makes every refund of the order fail (scenario RF).
	RefundsFail bool
	// PayoutsFail makes every refund of the order fail announced by a
	// payoutfailed notification (scenario PF), as Trustly does where it has
	// enabled that notification (production only).
	PayoutsFail bool
}

// Step is one scripted notification.
type Step struct {
	After  time.Duration
	Method string // pending, credit, debit, cancel, account
	// Repeat, when > 0, resends the notification created by step Repeat-1,
	// identical (same notificationid and uuid), instead of making a new one.
	Repeat int
	// LoseReplies treats that many valid replies to this notification as
	// lost, so it is resent on the retry schedule although answered.
	LoseReplies int
}

// DefaultScenario is the name of the ordinary approval.
const DefaultScenario = ""

var (
	deposit       = []string{"Deposit"}
	selectAccount = []string{"SelectAccount"}

	pendingCredit = []Step{{After: 0, Method: "pending"}, {After: 5 * time.Second, Method: "credit"}}

	// The charge's pending went out when Trustly received it (see charge);
	// on its bank day it is drawn: credit.
	chargeScenario = Scenario{Name: "charge", Title: "Charge drawn: credit", Steps: []Step{{After: 0, Method: "credit"}}}
	declineScript  = Scenario{Name: "decline", Title: "Declined by the shopper", Steps: []Step{{After: 0, Method: "cancel"}}}
)

// scenarios is the table behind the checkout's order options.
var scenarios = []Scenario{
	{Name: DefaultScenario, Title: "Approve: pending, then credit", For: deposit, Steps: pendingCredit},
	{Name: "D1", Title: "D1: credit, then debit right after", For: deposit, Steps: []Step{
		{After: 0, Method: "pending"}, {After: 5 * time.Second, Method: "credit"}, {After: 10 * time.Second, Method: "debit"}}},
	{Name: "D3", Title: "D3: pending, no credit for 72 hours, then credit", For: deposit, Steps: []Step{
		{After: 0, Method: "pending"}, {After: 72 * time.Hour, Method: "credit"}}},
	{Name: "D4", Title: "D4: pending, then cancel after an hour", For: deposit, Steps: []Step{
		{After: 0, Method: "pending"}, {After: time.Hour, Method: "cancel"}}},
	{Name: "D5", Title: "D5: credit before pending (out of order)", For: deposit, Steps: []Step{
		{After: 0, Method: "credit"}, {After: 10 * time.Second, Method: "pending"}}},
	{Name: "G1", Title: "G1: account before and after credit", For: deposit, Steps: []Step{
		{After: 0, Method: "account"}, {After: 5 * time.Second, Method: "pending"},
		{After: 10 * time.Second, Method: "credit"}, {After: 20 * time.Second, Method: "account"}}},
	{Name: "G2", Title: "G2: the same credit delivered twice", For: deposit, Steps: []Step{
		{After: 0, Method: "pending"}, {After: 5 * time.Second, Method: "credit"},
		{After: time.Minute, Method: "credit", Repeat: 2}}},
	{Name: "G3", Title: "G3: credit resent until answered (first 2 replies lost)", For: deposit, Steps: []Step{
		{After: 0, Method: "pending"}, {After: 5 * time.Second, Method: "credit", LoseReplies: 2}}},
	{Name: "RF", Title: "RF: approve; every refund of this order fails", For: deposit, Steps: pendingCredit, RefundsFail: true},
	{Name: "PF", Title: "PF: approve; every refund of this order fails with payoutfailed (wrong account number)", For: deposit, Steps: pendingCredit, PayoutsFail: true},
	// SelectAccount: pending when the shopper has finished at the bank
	// (no amount), then the account notification.
	{Name: DefaultScenario, Title: "Approve: account selected", For: selectAccount, Mandate: "1",
		Steps: []Step{{After: 0, Method: "pending"}, {After: time.Second, Method: "account"}}},
	{Name: "MD", Title: "MD: mandate declined (directdebitmandate 0)", For: selectAccount, Mandate: "0",
		Steps: []Step{{After: 0, Method: "pending"}, {After: time.Second, Method: "account"}}},
}

// Scenarios lists the order options a checkout of method offers, the
// default first.
func Scenarios(method string) []Scenario {
	var out []Scenario
	for _, sc := range scenarios {
		for _, m := range sc.For {
			if m == method {
				out = append(out, sc)
			}
		}
	}
	return out
}

func findScenario(method, name string) (Scenario, error) {
	for _, sc := range Scenarios(method) {
		if sc.Name == name {
			return sc, nil
		}
	}
	return Scenario{}, fmt.Errorf("sim: no scenario %q for a %s", name, method)
}

// startScenarioLocked schedules the scenario's steps from now.
func (s *Server) startScenarioLocked(o *Order, sc Scenario) {
	steps := sc.Steps
	if o.Method == "Deposit" && o.Attributes["RequestDirectDebitMandate"] == "1" && !hasAccountStep(steps) {
		steps = append([]Step{{After: 0, Method: "account"}}, steps...)
	}
	o.Scenario = sc.Name
	o.refundsFail = sc.RefundsFail
	o.payoutsFail = sc.PayoutsFail
	o.stepNotifs = map[int]string{}
	now := s.clock.Now()
	id := o.OrderID
	for i, st := range steps {
		i, st := i, st
		s.schedule(now.Add(st.After), fmt.Sprintf("scenario %q step %d (%s) of order %s", sc.Name, i+1, st.Method, id),
			func(ctx context.Context) { s.runStep(id, i, st, sc.Mandate) })
	}
}

func hasAccountStep(steps []Step) bool {
	for _, st := range steps {
		if st.Method == "account" {
			return true
		}
	}
	return false
}

// runStep applies one step: the order's state moves as Trustly's would,
// and the notification is created and queued for delivery.
func (s *Server) runStep(orderID string, i int, st Step, mandate string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[orderID]
	if o == nil || o.State == StateCancelled && st.Method != "cancel" {
		return
	}
	if st.Repeat > 0 {
		if nid, ok := o.stepNotifs[st.Repeat-1]; ok {
			s.queueDelivery(s.notifs[nid], s.clock.Now(), "duplicate")
		}
		return
	}
	now := s.clock.Now()
	switch st.Method {
	case "pending":
		if o.State == StateApproved || o.State == StateQueued {
			s.setState(o, StatePending, "pending sent")
		}
	case "credit":
		o.Credited = o.Amount
		o.SettlesAt = now.Add(s.cfg.SettlementDelay)
		s.setState(o, StateCredited, "credit sent; settles at "+timestamp(o.SettlesAt))
		s.schedule(o.SettlesAt, "settle order "+orderID, func(context.Context) { s.settle(orderID) })
	case "debit":
		if o.Settled {
			s.balances[o.Currency] -= o.Credited
		}
		o.Credited = 0
		s.setState(o, StateDebited, "debit sent: the credited payment failed")
	case "cancel":
		s.setState(o, StateCancelled, "cancel sent")
	case "account":
		if mandate == "" {
			mandate = "1"
		}
		s.accountLocked(o, mandate)
		if o.Method == "SelectAccount" {
			s.setState(o, StateAccount, "account sent")
		}
	}
	n := s.notifyLocked(o, st.Method, nil)
	if n != nil {
		o.stepNotifs[i] = n.NotificationID
		n.loseReplies = st.LoseReplies
	}
}

// accountLocked gives the order's shopper an account (the same one on
// every order of the same EndUserID, as a returning shopper's bank account
// is) and records the mandate when the order asked for one.
func (s *Server) accountLocked(o *Order, mandate string) *account {
	a := s.accounts[o.EndUserID]
	if a == nil {
		a = &account{AccountID: s.newID(), EndUserID: o.EndUserID}
		s.accounts[o.EndUserID] = a
	}
	o.AccountID = a.AccountID
	if o.Attributes["RequestDirectDebitMandate"] == "1" {
		a.Mandate = mandate
		o.Mandate = mandate
	}
	return a
}

// settle moves a credited order's funds into the merchant balance.
func (s *Server) settle(orderID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[orderID]
	if o == nil || o.Settled || o.State == StateDebited {
		return
	}
	o.Settled = true
	s.balances[o.Currency] += o.Credited
	o.ModifiedAt = s.clock.Now()
}
