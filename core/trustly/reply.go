package trustly

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// ReplyStatus is result.data.status in the merchant's reply to a notification.
type ReplyStatus string

// The statuses Trustly's reference documents, and for which notifications:
//
//   - OK for every notification: received and handled.
//   - FAILED only for debit: the merchant could not decrease the shopper's
//     balance (for a withdrawal: do not pay it out). Trustly documents no
//     meaning for FAILED elsewhere, so it is refused there rather than sent
//     and guessed at.
//   - CONTINUE and FINISH only for kyc, which is not answered OK: CONTINUE
//     lets the deposit go on, FINISH stops it. (Trustly also documents a
//     CONTINUE with a deposit limit; that is not built.)
//
// Unknown methods may only be answered OK: the notification is kept for a
// person, and OK stops the resends.
const (
	ReplyOK       ReplyStatus = "OK"
	ReplyFailed   ReplyStatus = "FAILED"
	ReplyContinue ReplyStatus = "CONTINUE"
	ReplyFinish   ReplyStatus = "FINISH"
)

// Reply errors. A reply that does not verify wraps ErrBadSignature instead.
var (
	// ErrInvalidReply is wrapped by every failure to read a reply's envelope.
	ErrInvalidReply = errors.New("trustly: invalid notification reply")
	// ErrReplyWrongUUID: the reply does not echo the notification's uuid.
	ErrReplyWrongUUID = fmt.Errorf("%w: uuid is not the notification's", ErrInvalidReply)
	// ErrReplyWrongMethod: the reply does not echo the notification's method.
	ErrReplyWrongMethod = fmt.Errorf("%w: method is not the notification's", ErrInvalidReply)
	// ErrUnknownReplyStatus: result.data.status is none of the documented ones.
	ErrUnknownReplyStatus = fmt.Errorf("%w: unknown status", ErrInvalidReply)
	// ErrReplyStatusNotAllowed: a documented status used for a notification
	// it does not apply to, e.g. FAILED for a credit.
	ErrReplyStatusNotAllowed = errors.New("trustly: reply status not allowed for this notification")
)

// Known reports whether s is one of the documented statuses.
func (s ReplyStatus) Known() bool {
	switch s {
	case ReplyOK, ReplyFailed, ReplyContinue, ReplyFinish:
		return true
	}
	return false
}

// AllowedFor reports whether a notification of method may be answered with s.
func (s ReplyStatus) AllowedFor(method string) bool {
	return slices.Contains(ReplyStatusesFor(method), s)
}

// ReplyStatusesFor lists the statuses a notification of method may be
// answered with; the first is the ordinary, successful answer.
func ReplyStatusesFor(method string) []ReplyStatus {
	switch NotificationMethod(method) {
	case NotifyDebit:
		return []ReplyStatus{ReplyOK, ReplyFailed}
	case NotifyKYC:
		return []ReplyStatus{ReplyContinue, ReplyFinish}
	}
	return []ReplyStatus{ReplyOK}
}

func checkReplyStatus(method string, s ReplyStatus) error {
	if !s.Known() {
		return fmt.Errorf("%w %q (want one of %q)", ErrUnknownReplyStatus, string(s), ReplyStatusesFor(method))
	}
	if !s.AllowedFor(method) {
		return fmt.Errorf("%w: %s for a %q notification (want one of %q)", ErrReplyStatusNotAllowed, s, method, ReplyStatusesFor(method))
	}
	return nil
}

// NewReply builds the signed reply to n, echoing its method and uuid.
func NewReply(key *rsa.PrivateKey, n *Notification, status ReplyStatus) ([]byte, error) {
	if n == nil {
		return nil, errors.New("trustly: reply: no notification to reply to")
	}
	return SignReply(key, n.Method, n.UUID, status)
}

// replyEnvelope fixes the field order to the one in Trustly's examples; the
// signature does not depend on it.
type replyEnvelope struct {
	Result struct {
		Signature string `json:"signature"`
		UUID      string `json:"uuid"`
		Method    string `json:"method"`
		Data      struct {
			Status string `json:"status"`
		} `json:"data"`
	} `json:"result"`
	Version string `json:"version"`
}

// SignReply builds a signed notification reply:
//
//	{"result":{"signature":"…","uuid":uuid,"method":method,"data":{"status":status}},"version":"1.1"}
//
// signed with the merchant's key over method + uuid + "status" + status.
// method and uuid must be exactly as received. A status not allowed for
// method (see ReplyStatus) is refused.
func SignReply(key *rsa.PrivateKey, method, uuid string, status ReplyStatus) ([]byte, error) {
	if key == nil {
		return nil, errors.New("trustly: reply: no private key to sign with")
	}
	if method == "" || uuid == "" {
		return nil, fmt.Errorf("trustly: reply: method %q and uuid %q must both be set", method, uuid)
	}
	// Invalid UTF-8 would be replaced with U+FFFD in the JSON, so the echoed
	// text would differ from what was signed.
	if !utf8.ValidString(method) || !utf8.ValidString(uuid) {
		return nil, errors.New("trustly: reply: method or uuid is not valid UTF-8 and cannot be echoed exactly")
	}
	if err := checkReplyStatus(method, status); err != nil {
		return nil, fmt.Errorf("trustly: reply: %w", err)
	}
	sig, err := Sign(key, method, uuid, map[string]any{"status": string(status)})
	if err != nil {
		return nil, fmt.Errorf("trustly: reply: %w", err)
	}
	var env replyEnvelope
	env.Result.Signature, env.Result.UUID, env.Result.Method = sig, uuid, method
	env.Result.Data.Status = string(status)
	env.Version = "1.1"
	return marshalTree(env)
}

// ReplyEchoes reports whether reply, a signed reply kept from an earlier
// delivery, echoes n's method and uuid, so that it may be sent again as
// the answer to n. Its signature is not checked: the caller made it.
func ReplyEchoes(reply []byte, n *Notification) bool {
	if n == nil {
		return false
	}
	m, err := ParseMessage(reply)
	if err != nil || (m.Kind != KindReply && m.Kind != KindResponse) {
		return false
	}
	return m.Method() == n.Method && m.UUID() == n.UUID
}

// ParseReply checks a merchant's reply to the notification (wantMethod,
// wantUUID) and returns its status. The signature is checked first with the
// merchant's public key; then that the method and uuid are echoed exactly;
// then the status. The errors are distinct: ErrBadSignature, ErrReplyWrongMethod,
// ErrReplyWrongUUID, ErrUnknownReplyStatus, ErrReplyStatusNotAllowed (with the
// status still returned), and ErrInvalidReply for anything malformed.
func ParseReply(body []byte, merchantKey *rsa.PublicKey, wantMethod, wantUUID string) (ReplyStatus, error) {
	if merchantKey == nil {
		return "", fmt.Errorf("trustly: reply: %w", ErrNoVerifierKey)
	}
	m, err := ParseMessage(body)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidReply, err)
	}
	// A reply echoing a wrong, capitalised method parses as a response; it
	// is still a reply, with the wrong method.
	if m.Kind != KindReply && m.Kind != KindResponse {
		return "", fmt.Errorf("%w: the body is a %s, not a result", ErrInvalidReply, m.Kind)
	}
	if v, present := m.Tree["version"]; present && v != "1.1" {
		return "", fmt.Errorf("%w: version is %v, want \"1.1\"", ErrInvalidReply, v)
	}
	data, ok := m.Data().(map[string]any)
	if !ok {
		return "", fmt.Errorf("%w: result.data is %s, not an object", ErrInvalidReply, jsonType(m.Data()))
	}
	if err := Verify(merchantKey, m.Method(), m.UUID(), data, m.Signature()); err != nil {
		return "", fmt.Errorf("trustly: reply to %q notification uuid %q: %w", wantMethod, wantUUID, err)
	}
	if m.Method() != wantMethod {
		return "", fmt.Errorf("%w: got %q, want %q", ErrReplyWrongMethod, m.Method(), wantMethod)
	}
	if m.UUID() != wantUUID {
		return "", fmt.Errorf("%w: got %q, want %q", ErrReplyWrongUUID, m.UUID(), wantUUID)
	}
	raw, ok := data["status"].(string)
	if !ok {
		return "", fmt.Errorf("%w: result.data.status is %s, not a string", ErrInvalidReply, jsonType(data["status"]))
	}
	status := ReplyStatus(raw)
	if err := checkReplyStatus(wantMethod, status); err != nil {
		if errors.Is(err, ErrReplyStatusNotAllowed) {
			return status, err
		}
		return "", err
	}
	return status, nil
}
