package sim

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// stockholm is where Trustly's direct debit cut-offs are defined, loaded
// on first use: the sidecar's binary links the simulator, and every one of
// its commands would read the zone file at start-up otherwise.
var stockholm = sync.OnceValue(func() *time.Location { return mustLocation("Europe/Stockholm") })

// CancelChargeCutoff is the time of day, in Stockholm, on the day before
// a Charge's PaymentDate after which it can no longer be cancelled.
const (
	cutoffHour   = 18
	cutoffMinute = 0
)

// Rejection reasons of Charge and CancelCharge (result "0"). Charge's is
// the one Trustly documents; CancelCharge's are the simulator's own names.
const (
	RejectMandateNotFound  = "ERROR_MANDATE_NOT_FOUND"
	RejectNoPaymentDate    = "ERROR_NO_FUTURE_PAYMENT_DATE"
	RejectPastCutoff       = "ERROR_CANCEL_CUTOFF_PASSED"
	RejectAlreadyCancelled = "ERROR_CHARGE_ALREADY_CANCELLED"
)

func (s *Server) deposit(c *call, r *raw) (any, *apiError) {
	req := &trustly.DepositRequest{
		NotificationURL:                          r.str("NotificationURL"),
		EndUserID:                                r.id("EndUserID"),
		MessageID:                                r.str("MessageID"),
		Currency:                                 r.attr("Currency"),
		Amount:                                   r.amount(r.attr("Amount")),
		SuggestedMinAmount:                       r.amount(r.attr("SuggestedMinAmount")),
		SuggestedMaxAmount:                       r.amount(r.attr("SuggestedMaxAmount")),
		Country:                                  r.attr("Country"),
		Locale:                                   r.attr("Locale"),
		Firstname:                                r.attr("Firstname"),
		Lastname:                                 r.attr("Lastname"),
		Email:                                    r.attr("Email"),
		SuccessURL:                               r.attr("SuccessURL"),
		FailURL:                                  r.attr("FailURL"),
		ShopperStatement:                         r.attr("ShopperStatement"),
		IP:                                       r.attr("IP"),
		MobilePhone:                              r.attr("MobilePhone"),
		NationalIdentificationNumber:             r.attr("NationalIdentificationNumber"),
		UnchangeableNationalIdentificationNumber: r.flag("UnchangeableNationalIdentificationNumber"),
		URLTarget:                                r.attr("URLTarget"),
		TemplateURL:                              r.attr("TemplateURL"),
		URLScheme:                                r.attr("URLScheme"),
		ExternalReference:                        r.attr("ExternalReference"),
		ShippingAddressCountry:                   r.attr("ShippingAddressCountry"),
		ShippingAddressPostalCode:                r.attr("ShippingAddressPostalCode"),
		ShippingAddressCity:                      r.attr("ShippingAddressCity"),
		ShippingAddressLine1:                     r.attr("ShippingAddressLine1"),
		ShippingAddressLine2:                     r.attr("ShippingAddressLine2"),
		ShippingAddress:                          r.attr("ShippingAddress"),
		AccountID:                                r.attr("AccountID"),
		RequestDirectDebitMandate:                r.flag("RequestDirectDebitMandate"),
		HoldNotifications:                        r.flag("HoldNotifications"),
		RequestKYC:                               r.flag("RequestKYC"),
		RecipientInformation:                     r.recipient(),
	}
	req.Extra = r.extra()
	if r.err != nil {
		return nil, r.err
	}
	return s.newCheckoutOrder(c, r, "Deposit", req.MessageID, req.EndUserID, req.NotificationURL, func(o *Order) {
		o.Currency = req.Currency
		o.Amount = req.Amount
		o.HoldNotifs = req.HoldNotifications
		o.RequestKYC = req.RequestKYC
	})
}

func (s *Server) selectAccount(c *call, r *raw) (any, *apiError) {
	req := &trustly.SelectAccountRequest{
		NotificationURL:              r.str("NotificationURL"),
		EndUserID:                    r.id("EndUserID"),
		MessageID:                    r.str("MessageID"),
		Locale:                       r.attr("Locale"),
		Country:                      r.attr("Country"),
		Firstname:                    r.attr("Firstname"),
		Lastname:                     r.attr("Lastname"),
		SuccessURL:                   r.attr("SuccessURL"),
		FailURL:                      r.attr("FailURL"),
		Email:                        r.attr("Email"),
		IP:                           r.attr("IP"),
		MobilePhone:                  r.attr("MobilePhone"),
		DateOfBirth:                  r.attr("DateOfBirth"),
		NationalIdentificationNumber: r.attr("NationalIdentificationNumber"),
		RequestDirectDebitMandate:    r.flag("RequestDirectDebitMandate"),
		URLTarget:                    r.attr("URLTarget"),
	}
	// HoldNotifications is a TEST feature of Trustly's checkout; the typed
	// SelectAccount has no field for it, so it is read here and not passed on.
	hold := r.flag("HoldNotifications")
	req.Extra = r.extra()
	if r.err != nil {
		return nil, r.err
	}
	return s.newCheckoutOrder(c, r, "SelectAccount", req.MessageID, req.EndUserID, req.NotificationURL, func(o *Order) {
		o.HoldNotifs = hold
	})
}

// newCheckoutOrder records a Deposit or SelectAccount order with its
// checkout URL and schedules the URL's expiry.
func (s *Server) newCheckoutOrder(c *call, r *raw, method, messageID, endUserID, notificationURL string, fill func(*Order)) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, dup := s.messageIDs[messageID]; dup {
		return nil, errf(trustly.CodeDuplicateMessageID, "MessageID %q was already used (order %s); use a new MessageID for a new attempt", messageID, prev)
	}
	now := s.clock.Now()
	o := &Order{
		OrderID:         s.newID(),
		Method:          method,
		State:           StateCreated,
		MessageID:       messageID,
		EndUserID:       endUserID,
		NotificationURL: notificationURL,
		Attributes:      r.attributes(),
		CreatedAt:       now,
		ModifiedAt:      now,
		ExpiresAt:       now.Add(s.cfg.CheckoutTTL),
		token:           newToken(),
	}
	fill(o)
	o.CheckoutURL = c.base + "/checkout/" + o.token
	s.addOrderLocked(o)
	id := o.OrderID
	s.schedule(o.ExpiresAt, "expire checkout of order "+id, func(ctx context.Context) { s.expire(id) })
	return map[string]any{"orderid": o.OrderID, "url": o.CheckoutURL}, nil
}

func (s *Server) addOrderLocked(o *Order) {
	s.orders[o.OrderID] = o
	s.orderList = append(s.orderList, o.OrderID)
	if o.token != "" {
		s.tokens[o.token] = o.OrderID
	}
	if o.MessageID != "" {
		s.messageIDs[o.MessageID] = o.OrderID
	}
}

// expire ends a checkout nobody finished. Trustly reports an order that was
// not completed with a cancel notification.
func (s *Server) expire(orderID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[orderID]
	if o == nil || o.State != StateCreated {
		return
	}
	s.setState(o, StateExpired, "checkout URL expired unused")
	s.notifyLocked(o, "cancel", nil)
}

func (s *Server) refund(c *call, r *raw) (any, *apiError) {
	req := &trustly.RefundRequest{
		OrderID:           r.orderID("OrderID"),
		Currency:          r.str("Currency"),
		ExternalReference: r.attr("ExternalReference"),
	}
	req.Amount = r.amount(r.str("Amount"))
	if r.err != nil {
		return nil, r.err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	parent := s.orders[req.OrderID]
	switch {
	case parent == nil:
		return nil, errf(trustly.CodeInvalidParameters, "OrderID: no order %s", req.OrderID)
	case parent.Method != "Deposit" && parent.Method != "Charge":
		return nil, errf(trustly.CodeInvalidParameters, "OrderID: order %s is a %s; only a Deposit or Charge can be refunded", req.OrderID, parent.Method)
	case req.Currency != parent.Currency:
		return nil, errf(trustly.CodeInvalidCurrencyCode, "Currency %s is not the order's currency %s", req.Currency, parent.Currency)
	case parent.Credited == 0:
		return nil, errf(trustly.CodeInvalidParameters, "OrderID: order %s is %s, not credited; only credited orders can be refunded", req.OrderID, parent.State)
	case req.Amount > parent.Refundable():
		return nil, errf(trustly.CodeInvalidAmount, "refund of %s %s exceeds the %s %s left to refund on order %s (credited %s, refunded %s)",
			trustly.FormatAmount(req.Amount), req.Currency, trustly.FormatAmount(parent.Refundable()), req.Currency, parent.OrderID,
			trustly.FormatAmount(parent.Credited), trustly.FormatAmount(parent.Refunded))
	}
	now := s.clock.Now()
	ro := &Order{
		OrderID:       s.newID(),
		Method:        "Refund",
		State:         StateQueued,
		MessageID:     parent.MessageID,
		EndUserID:     parent.EndUserID,
		Currency:      req.Currency,
		Amount:        req.Amount,
		Attributes:    r.attributes(),
		CreatedAt:     now,
		ModifiedAt:    now,
		AccountID:     parent.AccountID,
		ParentOrderID: parent.OrderID,
		// The refund order's notifications go where the paid order's went.
		NotificationURL: parent.NotificationURL,
		HoldNotifs:      parent.HoldNotifs,
		refundsFail:     parent.refundsFail,
		payoutsFail:     parent.payoutsFail,
		Note:            "queued until the paid order's funds are settled",
	}
	ro.ExecuteAt = now
	if !parent.Settled && parent.SettlesAt.After(now) {
		ro.ExecuteAt = parent.SettlesAt
	}
	parent.Refunded += req.Amount
	parent.Refunds = append(parent.Refunds, ro.OrderID)
	parent.ModifiedAt = now
	s.addOrderLocked(ro)
	id := ro.OrderID
	s.schedule(ro.ExecuteAt, "pay out refund "+id, func(ctx context.Context) { s.executeRefund(id) })
	return map[string]any{"orderid": ro.OrderID, "result": "1"}, nil
}

// executeRefund pays a queued refund out of the merchant balance. When the
// balance does not cover it, it waits for more settled funds.
func (s *Server) executeRefund(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ro := s.orders[id]
	if ro == nil || ro.State != StateQueued {
		return
	}
	parent := s.orders[ro.ParentOrderID]
	if ro.refundsFail {
		// Scenario RF: the receiving bank refuses the payout and the money
		// comes back to the merchant, announced as a credit on the refund
		// order. The balance was never touched.
		s.setState(ro, StateFailed, "payout refused by the receiving bank (scenario RF)")
		parent.Refunded -= ro.Amount
		s.notifyLocked(ro, "credit", nil)
		return
	}
	if ro.payoutsFail {
		// Scenario PF: the payout is refused, said with payoutfailed and
		// Trustly's reason (the example of its reference page).
		s.setState(ro, StateFailed, "payout failed: incorrect_account_number (scenario PF)")
		parent.Refunded -= ro.Amount
		s.notifyLocked(ro, "payoutfailed", map[string]any{
			"errorcode": "incorrect_account_number", "errormessage": "Format of the account number specified is not correct"})
		return
	}
	if s.balances[ro.Currency] < ro.Amount {
		retry := s.clock.Now().Add(max(s.cfg.SettlementDelay, time.Minute))
		ro.Note = "waiting: the merchant " + ro.Currency + " balance does not cover the refund"
		ro.ExecuteAt = retry
		s.schedule(retry, "pay out refund "+id, func(ctx context.Context) { s.executeRefund(id) })
		return
	}
	s.balances[ro.Currency] -= ro.Amount
	s.setState(ro, StateExecuted, "paid out")
	s.notifyLocked(ro, "payoutconfirmation", nil)
}

func (s *Server) charge(c *call, r *raw) (any, *apiError) {
	req := &trustly.ChargeRequest{
		AccountID:         r.str("AccountID"),
		NotificationURL:   r.str("NotificationURL"),
		EndUserID:         r.id("EndUserID"),
		MessageID:         r.str("MessageID"),
		Currency:          r.str("Currency"),
		ShopperStatement:  r.attr("ShopperStatement"),
		Email:             r.attr("Email"),
		PaymentDate:       r.attr("PaymentDate"),
		ExternalReference: r.attr("ExternalReference"),
	}
	req.Amount = r.amount(r.str("Amount"))
	req.Extra = r.extra()
	if r.err != nil {
		return nil, r.err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, dup := s.messageIDs[req.MessageID]; dup {
		return nil, errf(trustly.CodeDuplicateMessageID, "MessageID %q was already used (order %s)", req.MessageID, prev)
	}
	acct := s.accountByID(req.AccountID)
	if acct == nil || acct.EndUserID != req.EndUserID || acct.Mandate != "1" {
		return map[string]any{"result": "0", "rejected": RejectMandateNotFound}, nil
	}
	now := s.clock.Now()
	o := &Order{
		OrderID:         s.newID(),
		Method:          "Charge",
		State:           StateQueued,
		MessageID:       req.MessageID,
		EndUserID:       req.EndUserID,
		NotificationURL: req.NotificationURL,
		Currency:        req.Currency,
		Amount:          req.Amount,
		Attributes:      r.attributes(),
		CreatedAt:       now,
		ModifiedAt:      now,
		AccountID:       req.AccountID,
		PaymentDate:     req.PaymentDate,
		ExecuteAt:       chargeTime(now, req.PaymentDate),
		Note:            "waiting for its PaymentDate",
	}
	s.addOrderLocked(o)
	id := o.OrderID
	// Trustly sends pending "when a Charge request has been received"
	// (Charge, API reference): now, not on the PaymentDate. The order stays
	// queued, so CancelCharge works until the cut-off.
	s.notifyLocked(o, "pending", nil)
	s.schedule(o.ExecuteAt, "draw charge "+id, func(ctx context.Context) { s.executeCharge(id) })
	return map[string]any{"orderid": o.OrderID, "result": "1"}, nil
}

// chargeTime is when a Charge is drawn: the start of the first bank day on
// or after its PaymentDate in Stockholm (banks do not draw on Saturdays and
// Sundays), or now when it has none or the date has come.
func chargeTime(now time.Time, paymentDate string) time.Time {
	if paymentDate == "" {
		return now
	}
	d, err := time.ParseInLocation(time.DateOnly, paymentDate, stockholm())
	if err != nil {
		return now
	}
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	if !d.After(now) {
		return now
	}
	return d
}

// cancelDeadline is 18:00 Stockholm time on the day before the PaymentDate:
// "it's possible to cancel the Charge up until 18.00 on the day before the
// PaymentDate" (eu.developers.trustly.com/doc/docs/cancelcharge).
func cancelDeadline(paymentDate string) (time.Time, bool) {
	d, err := time.ParseInLocation(time.DateOnly, paymentDate, stockholm())
	if err != nil {
		return time.Time{}, false
	}
	prev := d.AddDate(0, 0, -1)
	return time.Date(prev.Year(), prev.Month(), prev.Day(), cutoffHour, cutoffMinute, 0, 0, stockholm()), true
}

// executeCharge draws a Charge on its PaymentDate.
func (s *Server) executeCharge(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	if o == nil || o.State != StateQueued {
		return
	}
	s.startScenarioLocked(o, chargeScenario)
}

func (s *Server) accountByID(accountID string) *account {
	for _, a := range s.accounts {
		if a.AccountID == accountID {
			return a
		}
	}
	return nil
}

func (s *Server) cancelCharge(_ context.Context, _ *call, r *raw) (any, *apiError) {
	req := &trustly.CancelChargeRequest{OrderID: r.orderID("OrderID")}
	if r.err != nil {
		return nil, r.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[req.OrderID]
	if o == nil || o.Method != "Charge" {
		return nil, errf(trustly.CodeInvalidParameters, "OrderID: no Charge order %s", req.OrderID)
	}
	reject := func(reason string) (any, *apiError) {
		return map[string]any{"result": "0", "rejected": reason}, nil
	}
	if o.State == StateCancelled {
		return reject(RejectAlreadyCancelled)
	}
	// "A Charge request that doesn't have any PaymentDate specified cannot
	// be canceled. It's also not possible to cancel a Charge request if the
	// PaymentDate is equal to the date when Charge request was sent."
	if o.PaymentDate == "" || o.PaymentDate == o.CreatedAt.In(stockholm()).Format(time.DateOnly) {
		return reject(RejectNoPaymentDate)
	}
	deadline, ok := cancelDeadline(o.PaymentDate)
	if !ok || o.State != StateQueued || !s.clock.Now().Before(deadline) {
		return reject(RejectPastCutoff)
	}
	s.setState(o, StateCancelled, "cancelled with CancelCharge")
	s.notifyLocked(o, "cancel", nil)
	return map[string]any{"result": "1"}, nil
}

func (s *Server) balance() (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	currencies := make([]string, 0, len(s.balances))
	for c := range s.balances {
		currencies = append(currencies, c)
	}
	slices.Sort(currencies)
	out := make([]any, 0, len(currencies))
	for _, c := range currencies {
		out = append(out, map[string]any{"currency": c, "balance": trustly.FormatAmount(s.balances[c])})
	}
	return out, nil
}

// getWithdrawals lists the payout of a Refund order, or, for a Deposit or
// Charge, the payouts of all its refunds. The second form is the
// simulator's: after a Refund whose answer was lost, the merchant knows only
// the paid order's id.
func (s *Server) getWithdrawals(r *raw) (any, *apiError) {
	req := &trustly.GetWithdrawalsRequest{OrderID: r.orderID("OrderID")}
	if r.err != nil {
		return nil, r.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[req.OrderID]
	if o == nil {
		return nil, errf(trustly.CodeInvalidParameters, "OrderID: no order %s", req.OrderID)
	}
	ids := o.Refunds
	if o.Method == "Refund" {
		ids = []string{o.OrderID}
	}
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.withdrawalLocked(s.orders[id]))
	}
	return out, nil
}

// transferStates maps a refund's state to GetWithdrawals' transferstate,
// which Trustly calls informational only.
var transferStates = map[OrderState]string{
	StateQueued:   "QUEUED",
	StateExecuted: "EXECUTED",
	StateFailed:   "FAILED",
}

func (s *Server) withdrawalLocked(o *Order) map[string]any {
	w := map[string]any{
		"orderid":          o.OrderID,
		"datestamp":        timestamp(o.CreatedAt),
		"modificationdate": timestamp(o.ModifiedAt),
		"transferstate":    transferStates[o.State],
		"amount":           trustly.FormatAmount(o.Amount),
		"currency":         o.Currency,
		"accountid":        o.AccountID,
		"eta":              "",
	}
	if ref := o.Attributes["ExternalReference"]; ref != "" {
		w["reference"] = ref
	}
	if o.State == StateQueued {
		w["eta"] = o.ExecuteAt.In(stockholm()).Format(time.DateOnly)
	}
	return w
}

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("sim: time zone " + name + ": " + err.Error())
	}
	return loc
}
