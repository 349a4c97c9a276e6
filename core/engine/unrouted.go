package engine

import (
	"context"
	"encoding/json"
	"time"
)

// Unrouted is a notification no order took (an unknown order or method,
// one that did not parse as its method, a kyc for no order of ours):
// answered to Trustly and kept
// for a person. Data is the notification's data as Trustly sent it; the
// signature is not shown.
type Unrouted struct {
	NotificationID, Method, OrderID, MessageID string
	// Reason says why no order took it; Answer is what Trustly was told.
	Reason, Answer string
	Data           map[string]any
	At             time.Time
}

// MaxUnroutedList bounds one listing.
const MaxUnroutedList = 1000

// Unrouted lists up to limit notifications kept for a person, oldest first.
func (e *Engine) Unrouted(ctx context.Context, limit int64) ([]Unrouted, error) {
	if limit <= 0 || limit > MaxUnroutedList {
		return nil, errf(KindInvalid, CodeInvalidRequest, nil, "limit must be between 1 and %d", MaxUnroutedList)
	}
	l, err := e.store.ListUnrouted(ctx, limit)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]Unrouted, 0, len(l))
	for _, u := range l {
		var env struct {
			Params struct {
				Data map[string]any `json:"data"`
			} `json:"params"`
		}
		// The body verified when it arrived; a body that no longer decodes
		// still lists, with no data.
		_ = json.Unmarshal(u.Body, &env)
		out = append(out, Unrouted{NotificationID: u.NotificationID, Method: u.Method, OrderID: u.OrderID, MessageID: u.MessageID,
			Reason: u.Reason, Answer: u.Answer, Data: env.Params.Data, At: u.At})
	}
	return out, nil
}
