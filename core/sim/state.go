package sim

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"math/big"
	"slices"
	"sort"
	"time"
)

// OrderState is where an order stands in the simulated Trustly.
type OrderState string

// Order states. Deposit, SelectAccount and Charge orders move from Created
// (or Queued, for a Charge) through the states their notifications name;
// Refund orders go Queued → Executed or Failed.
const (
	StateCreated   OrderState = "CREATED"   // checkout URL handed out, shopper not done
	StateApproved  OrderState = "APPROVED"  // shopper approved; notifications on their way
	StatePending   OrderState = "PENDING"   // pending sent
	StateCredited  OrderState = "CREDITED"  // credit sent: money confirmed
	StateDebited   OrderState = "DEBITED"   // debit sent after a credit
	StateCancelled OrderState = "CANCELLED" // declined, expired, cancelled, or a cancelled Charge
	StateExpired   OrderState = "EXPIRED"   // checkout URL expired unused (a cancel is sent)
	StateAccount   OrderState = "ACCOUNT"   // SelectAccount finished: account sent
	StateQueued    OrderState = "QUEUED"    // Charge waiting for its PaymentDate; Refund waiting for settlement
	StateExecuted  OrderState = "EXECUTED"  // Refund paid out (payoutconfirmation sent)
	StateFailed    OrderState = "FAILED"    // Refund failed: a credit on the refund order returned the money
)

// Order is one order as the simulator keeps it. Readers return copies.
type Order struct {
	OrderID         string            `json:"orderid"`
	Method          string            `json:"method"` // Deposit, SelectAccount, Charge or Refund
	State           OrderState        `json:"state"`
	MessageID       string            `json:"messageid,omitempty"`
	EndUserID       string            `json:"enduserid,omitempty"`
	NotificationURL string            `json:"notificationurl,omitempty"`
	Currency        string            `json:"currency,omitempty"`
	Amount          int64             `json:"amount"`   // minor units; for a suggested-amount Deposit, set at approval
	Credited        int64             `json:"credited"` // minor units credited (0 after a debit)
	Refunded        int64             `json:"refunded"` // minor units taken by accepted, not failed, refunds
	Settled         bool              `json:"settled"`
	SettlesAt       time.Time         `json:"settlesat,omitzero"`
	Attributes      map[string]string `json:"attributes,omitempty"` // as received
	Scenario        string            `json:"scenario,omitempty"`
	HoldNotifs      bool              `json:"holdnotifications,omitempty"`
	CheckoutURL     string            `json:"url,omitempty"`
	CreatedAt       time.Time         `json:"created"`
	ExpiresAt       time.Time         `json:"expires,omitzero"`
	AccountID       string            `json:"accountid,omitempty"`
	Mandate         string            `json:"directdebitmandate,omitempty"` // SelectAccount: "1" or "0" once known
	PaymentDate     string            `json:"paymentdate,omitempty"`        // Charge
	ExecuteAt       time.Time         `json:"executeat,omitzero"`           // Charge: when it is drawn; Refund: when it leaves
	ParentOrderID   string            `json:"parentorderid,omitempty"`      // Refund: the Deposit or Charge refunded
	Refunds         []string          `json:"refunds,omitempty"`            // Deposit/Charge: its refund orders
	ModifiedAt      time.Time         `json:"modified"`
	Note            string            `json:"note,omitempty"` // why the order is where it is, for people
	// RequestKYC: the Deposit asked for a kyc notification; KYC is the
	// merchant's answer to it (CONTINUE, FINISH, or "no valid answer").
	RequestKYC bool   `json:"requestkyc,omitempty"`
	KYC        string `json:"kyc,omitempty"`

	token       string
	stepNotifs  map[int]string // scenario step → notification id, for repeats
	refundsFail bool
	payoutsFail bool
}

func (o *Order) clone() Order {
	c := *o
	c.Attributes = maps.Clone(o.Attributes)
	c.Refunds = slices.Clone(o.Refunds)
	c.stepNotifs = nil
	return c
}

// Refundable is what may still be refunded, in minor units.
func (o *Order) Refundable() int64 { return max(o.Credited-o.Refunded, 0) }

// Notification is one notification the simulator created, with every
// delivery attempt.
type Notification struct {
	NotificationID string         `json:"notificationid"`
	UUID           string         `json:"uuid"`
	Method         string         `json:"method"`
	OrderID        string         `json:"orderid"`
	URL            string         `json:"url"`
	Data           map[string]any `json:"data"`
	// Body is the exact signed JSON posted; every resend posts it again.
	Body     []byte    `json:"-"`
	Created  time.Time `json:"created"`
	Held     bool      `json:"held"`     // HoldNotifications: waits for a replay
	Answered bool      `json:"answered"` // a valid reply was received
	// Status is the reply status of the first valid reply (OK, or FAILED
	// for a debit the merchant could not stop).
	Status   string    `json:"status,omitempty"`
	Custom   bool      `json:"custom,omitempty"` // sent with the notification tool
	Attempts []Attempt `json:"attempts"`

	retryQueued bool
	loseReplies int // scenario G3: valid replies still to be "lost"
}

func (n *Notification) clone() Notification {
	c := *n
	c.Data = cloneTree(n.Data).(map[string]any)
	c.Body = slices.Clone(n.Body)
	c.Attempts = slices.Clone(n.Attempts)
	return c
}

// Attempt is one delivery of a notification to the merchant.
type Attempt struct {
	At time.Time `json:"at"`
	// Trigger says why it was sent: "scheduled", "retry", "duplicate"
	// (scenario G2 sends it again on purpose), "replay" or "custom".
	Trigger    string `json:"trigger"`
	HTTPStatus int    `json:"httpstatus,omitempty"`
	// Status is the reply's status when the reply verified.
	Status string `json:"status,omitempty"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
}

func cloneTree(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = cloneTree(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = cloneTree(e)
		}
		return s
	}
	return v
}

// Order returns a copy of the order, or false when there is none.
func (s *Server) Order(orderID string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok {
		return Order{}, false
	}
	return o.clone(), true
}

// Orders returns copies of every order, oldest first.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.orderList))
	for _, id := range s.orderList {
		out = append(out, s.orders[id].clone())
	}
	return out
}

// Notifications returns copies of the order's notifications, oldest first.
func (s *Server) Notifications(orderID string) []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Notification
	for _, n := range s.notifs {
		if n.OrderID == orderID {
			out = append(out, n.clone())
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].NotificationID < out[j].NotificationID
	})
	return out
}

// Notification returns a copy of one notification.
func (s *Server) Notification(notificationID string) (Notification, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.notifs[notificationID]
	if !ok {
		return Notification{}, false
	}
	return n.clone(), true
}

// Balances returns the merchant balance per currency, in minor units.
func (s *Server) Balances() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.balances)
}

// newID returns a fresh numeric id of ten digits, not starting with 0,
// like Trustly's order and notification ids. Called with s.mu held.
func (s *Server) newID() string {
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(8_999_999_999))
		if err != nil {
			panic("sim: crypto/rand: " + err.Error()) // cannot fail since Go 1.24
		}
		id := n.Add(n, big.NewInt(1_000_000_000)).String()
		if !s.ids[id] {
			s.ids[id] = true
			return id
		}
	}
}

// newToken returns an unguessable checkout token.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// setState moves an order and notes when.
func (s *Server) setState(o *Order, st OrderState, note string) {
	o.State = st
	o.Note = note
	o.ModifiedAt = s.clock.Now()
}
