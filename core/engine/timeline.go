package engine

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The kinds of a timeline entry.
const (
	TimelineCall         = "call"         // a call to Trustly and how it ended
	TimelineNotification = "notification" // a notification from Trustly and what it did
	TimelineChange       = "change"       // a change of state from a call's answer, the reconciler or a person
	TimelinePlatform     = "platform"     // a status change delivered to the shop platform
)

// TimelineEntry is one thing that happened to an order, for the person who
// answers "where is my money".
type TimelineEntry struct {
	At   time.Time
	Kind string
	// What: the Trustly method called, the notification's method, the
	// event of a change, or the status delivered.
	What           string
	NotificationID string
	// Outcome: ok, refused or unknown for a call; applied, unchanged,
	// anomaly or duplicate for a notification or change; delivered.
	Outcome  string
	From, To State
	Note     string
}

// Timeline is everything the order's log holds, oldest first: the calls to
// Trustly (method, MessageID, result or error code), every notification
// (with what the engine did with it, repeats included), every change of
// state and every status change the platform received.
func (e *Engine) Timeline(ctx context.Context, id string) ([]TimelineEntry, error) {
	o, err := e.store.Get(ctx, id)
	if err != nil {
		return nil, storeErr(err)
	}
	kyc := decodeKYC(o.KYC)
	lines, err := e.store.Log(ctx, id)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]TimelineEntry, 0, len(lines))
	for _, line := range lines {
		l := store.ParseLogLine(line)
		t := TimelineEntry{At: l.At, What: l.Event, NotificationID: l.NotificationID, Outcome: l.Outcome,
			From: State(l.From), To: State(l.To), Note: l.Note}
		switch {
		case strings.HasPrefix(l.Event, "call:"):
			t.Kind, t.What = TimelineCall, strings.TrimPrefix(l.Event, "call:")
			t.From, t.To = "", ""
		case l.Event == TimelinePlatform:
			t.Kind, t.What, t.From = TimelinePlatform, l.From, ""
		case l.NotificationID != "":
			t.Kind = TimelineNotification
			if t.Note == "" && l.NotificationID == kyc.NotificationID && strings.HasPrefix(l.Event, "kyc_") {
				// The log line says only CONTINUE or FINISH; the order
				// keeps why.
				t.Note = kyc.Reason + ": " + kyc.Detail
			}
		default:
			t.Kind = TimelineChange
		}
		out = append(out, t)
	}
	return out, nil
}

// noteCall adds a call to Trustly to the order's timeline on its own; a
// call whose answer a transition records goes with it (callLine, step.lines).
func (e *Engine) noteCall(ctx context.Context, orderID, method, messageID string, err error) {
	e.appendLog(ctx, orderID, e.callLine(method, messageID, err))
}

// callLine is a call to Trustly as a line of the order's timeline. It is
// only for people: nothing decides on it.
func (e *Engine) callLine(method, messageID string, err error) store.LogEntry {
	l := store.LogEntry{At: e.now(), Event: "call:" + method, Outcome: "ok"}
	var notes []string
	if messageID != "" {
		notes = append(notes, "MessageID "+messageID)
	}
	switch {
	case err == nil:
	case errors.Is(err, trustly.ErrOutcomeUnknown):
		l.Outcome = "unknown"
		notes = append(notes, "answer lost")
	default:
		l.Outcome = "refused"
		notes = append(notes, reasonOf(err))
	}
	l.Note = strings.Join(notes, "; ")
	return l
}

// notePlatform adds a status change the platform received to the order's
// timeline: its kind (state, attention) and the state it told.
func (e *Engine) notePlatform(ctx context.Context, c StatusChange) {
	e.appendLog(ctx, c.OrderID, store.LogEntry{At: e.now(), Event: TimelinePlatform, Outcome: "delivered",
		From: c.Kind, To: string(c.To), Note: "change " + c.OrderID + ":" + strconv.FormatInt(c.Seq, 10)})
}

func (e *Engine) appendLog(ctx context.Context, orderID string, l store.LogEntry) {
	if err := e.store.AppendLog(context.WithoutCancel(ctx), orderID, l); err != nil {
		e.log.Warn("engine: order timeline not written", slog.String("order", orderID), slog.String("event", l.Event), slog.String("error", err.Error()))
	}
}

// refusal is a call's outcome as one error for the timeline: the call's own
// error, or a "result 0" answer (Trustly took the call and said no), with
// its reason when the answer gave one.
func refusal(err error, refused bool, why func() string) error {
	if err != nil || !refused {
		return err
	}
	msg := "result 0"
	if why != nil {
		if w := why(); w != "" {
			msg += " (" + w + ")"
		}
	}
	return errors.New(msg)
}
