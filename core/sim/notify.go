package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// maxReplyBytes bounds a merchant's reply; a valid one is a few hundred bytes.
const maxReplyBytes = 64 << 10

// timestamp writes a time the way Trustly's notifications do: PostgreSQL's
// text form in UTC, "2015-03-12 15:14:18.616710+00".
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000000") + "+00"
}

// notificationData builds params.data for a notification of method about o.
// Every value is a string, as in Trustly's notifications.
func (s *Server) notificationData(o *Order, method string) map[string]any {
	d := map[string]any{
		"orderid":   o.OrderID,
		"messageid": o.MessageID,
		"timestamp": timestamp(s.clock.Now()),
	}
	switch {
	case method == "pending" && o.Method == "SelectAccount":
		// SelectAccount moves no money: its pending has no amount.
		d["enduserid"] = o.EndUserID
	case method == "pending", method == "credit", method == "debit", method == "payoutconfirmation", method == "payoutfailed":
		d["amount"] = trustly.FormatAmount(o.Amount)
		d["currency"] = o.Currency
		d["enduserid"] = o.EndUserID
	case method == "account":
		a := s.accounts[o.EndUserID]
		if a == nil {
			a = s.accountLocked(o, "1")
		}
		last := a.AccountID[len(a.AccountID)-6:]
		attrs := map[string]any{
			"clearinghouse": clearingHouse(o.Attributes["Country"]),
			"bank":          "Simulated Bank",
			"descriptor":    "**** *" + last,
			"lastdigits":    last,
		}
		if o.Attributes["RequestDirectDebitMandate"] == "1" {
			attrs["directdebitmandate"] = a.Mandate
		}
		d["accountid"] = a.AccountID
		d["verified"] = "1"
		d["attributes"] = attrs
	default: // cancel, and methods sent by hand
		d["enduserid"] = o.EndUserID
	}
	return d
}

func clearingHouse(country string) string {
	switch country {
	case "SE", "":
		return "SWEDEN"
	case "FI":
		return "FINLAND"
	case "DK":
		return "DENMARK"
	case "NO":
		return "NORWAY"
	case "EE":
		return "ESTONIA"
	case "DE":
		return "GERMANY"
	case "PL":
		return "POLAND"
	}
	return country
}

// notifyLocked creates a signed notification about o and queues its first
// delivery, unless the order holds its notifications. overrides replace
// (or, when nil, remove) data fields. It returns nil when the data cannot
// be signed, which only hand-made overrides can cause.
func (s *Server) notifyLocked(o *Order, method string, overrides map[string]any) *Notification {
	n, err := s.newNotificationLocked(o, method, overrides, false)
	if err != nil {
		s.log.Error("sim: notification", "orderid", o.OrderID, "method", method, "error", err.Error())
		return nil
	}
	return n
}

func (s *Server) newNotificationLocked(o *Order, method string, overrides map[string]any, custom bool) (*Notification, error) {
	data := s.notificationData(o, method)
	data["notificationid"] = s.newID()
	for k, v := range overrides {
		if v == nil {
			delete(data, k)
			continue
		}
		data[k] = v
	}
	nid, _ := data["notificationid"].(string)
	if nid == "" {
		return nil, errors.New("notificationid must be a non-empty string")
	}
	if _, dup := s.notifs[nid]; dup {
		return nil, fmt.Errorf("notificationid %s is already used", nid)
	}
	uuid := trustly.NewUUID()
	sig, err := trustly.Sign(s.cfg.Key, method, uuid, data)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	body, err := marshal(map[string]any{
		"method":  method,
		"version": "1.1",
		"params":  map[string]any{"signature": sig, "uuid": uuid, "data": data},
	})
	if err != nil {
		return nil, err
	}
	n := &Notification{
		NotificationID: nid,
		UUID:           uuid,
		Method:         method,
		OrderID:        o.OrderID,
		URL:            o.NotificationURL,
		Data:           data,
		Body:           body,
		Created:        s.clock.Now(),
		Held:           o.HoldNotifs,
		Custom:         custom,
	}
	s.notifs[nid] = n
	if !n.Held && !custom {
		s.queueDelivery(n, n.Created, "scheduled")
	}
	return n, nil
}

// queueDelivery schedules one delivery of n.
func (s *Server) queueDelivery(n *Notification, at time.Time, trigger string) {
	nid := n.NotificationID
	s.schedule(at, trigger+" delivery of "+n.Method+" "+nid, func(ctx context.Context) {
		s.deliver(ctx, nid, trigger)
	})
}

// deliver posts the notification once and records the attempt. A delivery
// without a valid reply schedules the next retry, as Trustly resends until
// answered; an answered notification is resent only on purpose ("duplicate",
// "replay").
func (s *Server) deliver(ctx context.Context, nid, trigger string) Attempt {
	s.mu.Lock()
	n := s.notifs[nid]
	if n == nil {
		s.mu.Unlock()
		return Attempt{Trigger: trigger, Error: "no such notification"}
	}
	if trigger == "retry" {
		n.retryQueued = false
		if n.Answered || n.Held {
			s.mu.Unlock()
			return Attempt{}
		}
	}
	url, body, method, uuid := n.URL, n.Body, n.Method, n.UUID
	s.mu.Unlock()

	att := Attempt{At: s.clock.Now(), Trigger: trigger}
	status, err := s.post(ctx, url, body, method, uuid, &att)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		if n.loseReplies > 0 {
			n.loseReplies--
			err = errors.New("valid reply treated as lost (scenario G3): Trustly resends what it did not hear answered")
		} else {
			att.OK = true
		}
	}
	if err != nil {
		att.Error = err.Error()
	}
	n.Attempts = append(n.Attempts, att)
	log := s.log.With(slog.String("notificationid", nid), slog.String("method", method),
		slog.String("orderid", n.OrderID), slog.String("trigger", trigger), slog.Int("attempt", len(n.Attempts)))
	if att.OK {
		if !n.Answered {
			n.Answered, n.Status = true, string(status)
		}
		log.Info("sim: notification delivered", slog.String("status", string(status)))
		return att
	}
	log.Warn("sim: notification delivery failed", slog.Int("httpstatus", att.HTTPStatus), slog.String("error", att.Error))
	// A kyc is not resent: the shopper was waiting for its answer (kyc.go).
	if !n.Answered && !n.Held && !n.retryQueued && method != "kyc" {
		n.retryQueued = true
		s.queueDelivery(n, s.clock.Now().Add(s.retryDelay(n)), "retry")
	}
	return att
}

// retryDelay is the wait after n's latest failed attempt.
func (s *Server) retryDelay(n *Notification) time.Duration {
	failed := 0
	for _, a := range n.Attempts {
		if !a.OK {
			failed++
		}
	}
	i := min(max(failed-1, 0), len(s.cfg.RetrySchedule)-1)
	return s.cfg.RetrySchedule[i]
}

// post sends one notification and checks the merchant's reply: HTTP 2xx, a
// signature that verifies with the merchant's key, the same method and
// uuid, and a status allowed for the method (OK; for debit also FAILED).
func (s *Server) post(ctx context.Context, url string, body []byte, method, uuid string, att *Attempt) (trustly.ReplyStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "trustly-sidecar-sim")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	att.HTTPStatus = resp.StatusCode
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return "", fmt.Errorf("read reply: %w", err)
	}
	if len(reply) > maxReplyBytes {
		return "", fmt.Errorf("reply larger than %d bytes", maxReplyBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	status, err := trustly.ParseReply(reply, s.cfg.MerchantPublicKey, method, uuid)
	if status != "" {
		att.Status = string(status)
	}
	if err != nil {
		return status, fmt.Errorf("reply: %w", err)
	}
	return status, nil
}

// ErrNoNotification and ErrNoOrder are returned by the notification tool
// for ids the simulator does not know.
var (
	ErrNoNotification = errors.New("sim: no such notification")
	ErrNoOrder        = errors.New("sim: no such order")
)

// Replay delivers a notification again, now and synchronously, identical
// to the first time (same notificationid and uuid), like the Notification
// tool in Trustly's TEST backoffice. A held notification is released by
// this: if the replay fails, it is retried on the schedule like any other.
func (s *Server) Replay(ctx context.Context, notificationID string) (Attempt, error) {
	s.mu.Lock()
	n := s.notifs[notificationID]
	if n != nil {
		n.Held = false
	}
	s.mu.Unlock()
	if n == nil {
		return Attempt{}, fmt.Errorf("%w: %s", ErrNoNotification, notificationID)
	}
	return s.deliver(ctx, notificationID, "replay"), nil
}

// CustomNotification is a notification made by hand for an existing order.
type CustomNotification struct {
	// Method is sent as is ("credit", "debit", or one Trustly has not
	// documented, to see that the merchant survives it).
	Method string `json:"method"`
	// Data overrides the fields the simulator would send for the method; a
	// null value removes a field. Values must be strings or objects of
	// strings: booleans cannot be signed.
	Data map[string]any `json:"data,omitempty"`
	// Hold keeps it from being sent until replayed.
	Hold bool `json:"hold,omitempty"`
}

// SendCustom creates a notification for an order and delivers it now,
// synchronously, unless held; a failed delivery is retried on the schedule.
// It changes nothing about the order itself: it tests the merchant.
func (s *Server) SendCustom(ctx context.Context, orderID string, c CustomNotification) (Notification, error) {
	if c.Method == "" {
		return Notification{}, errors.New("sim: custom notification: method is required")
	}
	s.mu.Lock()
	o := s.orders[orderID]
	if o == nil {
		s.mu.Unlock()
		return Notification{}, fmt.Errorf("%w: %s", ErrNoOrder, orderID)
	}
	n, err := s.newNotificationLocked(o, c.Method, c.Data, true)
	if err != nil {
		s.mu.Unlock()
		return Notification{}, fmt.Errorf("sim: custom notification: %w", err)
	}
	n.Held = c.Hold
	nid := n.NotificationID
	s.mu.Unlock()
	if !c.Hold {
		s.deliver(ctx, nid, "custom")
	}
	got, _ := s.Notification(nid)
	return got, nil
}
