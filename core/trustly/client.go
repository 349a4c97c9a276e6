package trustly

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Client defaults.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxAttempts      = 3
	DefaultMaxResponseBytes = 1 << 20
)

// Outcome errors of Call. Each is wrapped together with the failure that
// caused it, so errors.Is finds both the outcome and the cause.
var (
	// ErrTransport wraps every failure to get a usable answer: connection
	// refused or reset, per-attempt timeout, a non-2xx status without a valid
	// signed envelope, a truncated, garbled or oversized body.
	ErrTransport = errors.New("trustly: transport failure")
	// ErrResponseTooLarge is a transport failure: the body exceeded
	// ClientConfig.MaxResponseBytes.
	ErrResponseTooLarge = fmt.Errorf("%w: response body exceeds the size limit", ErrTransport)
	// ErrResponseMismatch means a correctly signed answer does not belong to
	// this request (another uuid or method, or not a response at all).
	ErrResponseMismatch = errors.New("trustly: response does not match the request")
	// ErrUnsignedError marks an error answer that carries no valid signature
	// and no uuid/method: a JSON-level failure, where Trustly did not accept
	// the request. The *Error with the code is wrapped alongside.
	ErrUnsignedError = errors.New("trustly: unsigned error answer (JSON-level failure, request not accepted)")
	// ErrOutcomeUnknown means the call may or may not have been executed by
	// Trustly. For Refund and CancelCharge: do not call again blindly; check
	// GetWithdrawals or wait for notifications. For methods with a MessageID
	// (Deposit, SelectAccount, Charge) calling again with the same MessageID
	// is safe: Trustly answers 637 if the earlier call was accepted.
	ErrOutcomeUnknown = errors.New("trustly: outcome unknown, the call may have been executed")
	// ErrAcceptedURLLost means a retry with the same MessageID was answered
	// 637 DUPLICATE_MESSAGE_ID: an earlier attempt was accepted, but its
	// answer (orderid, url) was lost. Start a new order attempt with a new
	// MessageID, and keep the old MessageID mapped to the order: its
	// notifications may still arrive. The *Error (637) is wrapped alongside.
	ErrAcceptedURLLost = errors.New("trustly: accepted by Trustly but the answer was lost; start a new attempt with a new MessageID")
	// ErrNotSent wraps the error of a SendAfter gate: the call was signed
	// but nothing was sent, so Trustly cannot have acted on it.
	ErrNotSent = errors.New("trustly: not sent")
)

type sendAfterKey struct{}

// SendAfter returns a context under which Call builds and signs its first
// attempt, then calls ready, and sends only when ready returns nil. A
// caller that must make something durable before Trustly may see the call
// (the MessageID its notifications are routed by) overlaps that write with
// the signature, most of a call's own time, instead of waiting for it
// first. A failed ready ends Call with its error wrapped in ErrNotSent.
// ready is called at most once, on Call's goroutine, and not at all when
// Call fails before signing (an invalid request); resends after the first
// attempt do not call it again.
func SendAfter(ctx context.Context, ready func() error) context.Context {
	return context.WithValue(ctx, sendAfterKey{}, ready)
}

// retryPolicy is what the client may do after a transport failure.
type retryPolicy int

const (
	// retryNever: one attempt; a lost answer leaves the outcome unknown.
	retryNever retryPolicy = iota
	// retrySameMessageID: resend the same Data (same MessageID) under a new
	// UUID; Trustly's MessageID check makes a resend harmless.
	retrySameMessageID
	// retryReadOnly: the method changes nothing, so resending is harmless.
	retryReadOnly
)

// retryPolicies is the one place that decides which methods are resent.
// A method missing here is never resent: a call this package does not know
// could move money.
var retryPolicies = map[string]retryPolicy{
	"Deposit":        retrySameMessageID,
	"SelectAccount":  retrySameMessageID,
	"Charge":         retrySameMessageID,
	"Balance":        retryReadOnly,
	"GetWithdrawals": retryReadOnly,
	"Refund":         retryNever,
	"CancelCharge":   retryNever,
}

func policyFor(method, messageID string) retryPolicy {
	p := retryPolicies[method]
	if p == retrySameMessageID && messageID == "" {
		// Without a MessageID Trustly cannot recognise the resend.
		return retryNever
	}
	return p
}

// ClientConfig configures a Client. Zero values take the documented defaults.
type ClientConfig struct {
	// Environment is TEST, LIVE or SIM (the local simulator).
	Environment Environment
	// URL overrides the environment's endpoint; required for SIM.
	URL string
	// Credentials are the merchant's API username and password.
	Credentials Credentials
	// PrivateKey signs requests (the merchant key; required).
	PrivateKey *rsa.PrivateKey
	// TrustlyPublicKey verifies answers; defaults to Trustly's published key
	// for TEST/LIVE and is required for SIM.
	TrustlyPublicKey *rsa.PublicKey
	// HTTPClient sends the requests. The default does not follow redirects
	// (a redirected POST is not Trustly's answer) and relies on Timeout.
	HTTPClient *http.Client
	// Timeout bounds one attempt: connect, send, and read the whole answer.
	// Default DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts bounds the attempts for calls that may be resent.
	// Default DefaultMaxAttempts; 1 disables resending.
	MaxAttempts int
	// Backoff is the wait after failed attempt n (1-based) before the next.
	// Default: exponential from 500ms, capped at 5s, with jitter.
	Backoff func(attempt int) time.Duration
	// Logger receives one record per failure. Default: discard.
	Logger *slog.Logger
	// NewUUID makes each attempt's UUID. Default NewUUID.
	NewUUID func() string
	// MaxResponseBytes bounds an answer's body. Default DefaultMaxResponseBytes.
	MaxResponseBytes int64
}

// Client calls Trustly's API: it signs requests, sends them, verifies the
// answers and applies the retry policy documented on Call. It is safe for
// concurrent use.
type Client struct {
	env         Environment
	url         string
	creds       Credentials
	key         *rsa.PrivateKey
	verifier    *Verifier
	http        *http.Client
	timeout     time.Duration
	maxAttempts int
	backoff     func(int) time.Duration
	log         *slog.Logger
	newUUID     func() string
	maxBody     int64
}

// NewClient checks cfg and returns a Client. Every error names the field to fix.
func NewClient(cfg ClientConfig) (*Client, error) {
	c := &Client{
		env:         cfg.Environment,
		url:         cfg.URL,
		creds:       cfg.Credentials,
		key:         cfg.PrivateKey,
		http:        cfg.HTTPClient,
		timeout:     cfg.Timeout,
		maxAttempts: cfg.MaxAttempts,
		backoff:     cfg.Backoff,
		log:         cfg.Logger,
		newUUID:     cfg.NewUUID,
		maxBody:     cfg.MaxResponseBytes,
	}
	switch c.env {
	case Test, Live, Sim:
	default:
		return nil, fmt.Errorf("trustly: client: unknown Environment %q (want TEST, LIVE or SIM)", c.env)
	}
	if c.url == "" {
		c.url = c.env.URL()
		if c.url == "" {
			return nil, fmt.Errorf("trustly: client: URL is required for environment %s", c.env)
		}
	}
	if err := checkURL(c.env, c.url); err != nil {
		return nil, err
	}
	if c.creds.Username == "" || c.creds.Password == "" {
		return nil, errors.New("trustly: client: Credentials.Username and Credentials.Password are required")
	}
	if c.key == nil {
		return nil, errors.New("trustly: client: PrivateKey (the merchant's signing key) is required")
	}
	if n := c.key.N.BitLen(); n < MinKeyBits {
		return nil, fmt.Errorf("trustly: client: PrivateKey: %w (it has %d)", ErrKeyTooShort, n)
	}
	pub := cfg.TrustlyPublicKey
	if pub == nil {
		pub = c.env.PublicKey()
		if pub == nil {
			return nil, fmt.Errorf("trustly: client: TrustlyPublicKey is required for environment %s", c.env)
		}
	}
	if n := pub.N.BitLen(); n < MinKeyBits {
		return nil, fmt.Errorf("trustly: client: TrustlyPublicKey: %w (it has %d)", ErrKeyTooShort, n)
	}
	if pub.Equal(&c.key.PublicKey) {
		// With the merchant's own key every forged answer signed by the
		// merchant would verify, and no real Trustly answer would.
		return nil, errors.New("trustly: client: TrustlyPublicKey is the merchant's own public key; configure Trustly's key")
	}
	c.verifier = NewVerifierKey(c.env, pub)

	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	switch {
	case c.timeout == 0:
		c.timeout = DefaultTimeout
	case c.timeout < 0:
		return nil, fmt.Errorf("trustly: client: Timeout %v is negative", c.timeout)
	}
	switch {
	case c.maxAttempts == 0:
		c.maxAttempts = DefaultMaxAttempts
	case c.maxAttempts < 0:
		return nil, fmt.Errorf("trustly: client: MaxAttempts %d is negative", c.maxAttempts)
	}
	if c.backoff == nil {
		c.backoff = defaultBackoff
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.newUUID == nil {
		c.newUUID = NewUUID
	}
	switch {
	case c.maxBody == 0:
		c.maxBody = DefaultMaxResponseBytes
	case c.maxBody < 0:
		return nil, fmt.Errorf("trustly: client: MaxResponseBytes %d is negative", c.maxBody)
	}
	return c, nil
}

func checkURL(env Environment, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("trustly: client: URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("trustly: client: URL %q is not an absolute http(s) URL", raw)
	}
	if env == Live && u.Scheme != "https" {
		return fmt.Errorf("trustly: client: URL %q: LIVE requires https", raw)
	}
	if u.User != nil {
		// Error messages from net/http quote the URL, and they are logged.
		return errors.New("trustly: client: URL must not carry user:password (credentials go in Credentials)")
	}
	return nil
}

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = 10 * time.Second
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func defaultBackoff(attempt int) time.Duration {
	const base, maxWait = 500 * time.Millisecond, 5 * time.Second
	d := maxWait
	if attempt < 5 {
		d = min(base<<max(attempt-1, 0), maxWait)
	}
	// Jitter keeps many sidecars that lost Trustly together from returning
	// in lockstep.
	return d/2 + rand.N(d/2+1)
}

// Response is Trustly's verified success answer to one call.
type Response struct {
	Method string
	UUID   string
	// Data is result.data as the raw tree that was verified (see ParseJSON).
	Data any
	// Message is the whole parsed answer.
	Message *Message
}

// Call validates req, signs it, sends it and verifies the answer.
//
// Nothing is sent when req.Validate fails; its error is returned as is.
//
// Trustly's error answers come back as *Error and are never resent by Call,
// not even 620 UNKNOWN: the caller decides.
//
// After a transport failure (see ErrTransport) Call resends only where that
// cannot execute the call twice; every resend carries a new UUID, since
// Trustly refuses a reused one with 688:
//   - Deposit, SelectAccount, Charge (anything with a MessageID): resent up
//     to MaxAttempts with the same Data, so the same MessageID. If a resend
//     is answered 637 DUPLICATE_MESSAGE_ID, an earlier attempt was accepted
//     and its answer lost: the error wraps ErrAcceptedURLLost and the *Error.
//     637 on the first attempt is a plain *Error (the caller reused a
//     MessageID). When all attempts fail the error wraps ErrOutcomeUnknown.
//   - Balance, GetWithdrawals: read-only, resent up to MaxAttempts.
//   - Refund, CancelCharge and methods this package does not know: one
//     attempt only; a transport failure wraps ErrOutcomeUnknown.
//
// An unsigned JSON-level error (ErrUnsignedError) means "not accepted" for
// calls with a MessageID, which are safe to repeat anyway; for Refund and
// CancelCharge it also wraps ErrOutcomeUnknown, since it cannot be
// authenticated.
//
// An answer with a bad signature (ErrBadSignature, ErrKeyMixup) or for
// another request (ErrResponseMismatch) is never resent; for every method
// that is not read-only it also wraps ErrOutcomeUnknown. Cancelling ctx stops
// Call at once, also during backoff; after something may have been sent, the
// error wraps ErrOutcomeUnknown too for those methods.
//
// Every failure is logged once, with method, uuid, messageid, orderid, code
// and attempt; never the password, signature or keys.
func (c *Client) Call(ctx context.Context, req Request) (*Response, error) {
	method, messageID := req.Method(), req.messageID()
	if err := req.Validate(c.env); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "trustly: request refused before sending",
			slog.String("method", method), slog.String("messageid", messageID),
			slog.Int("code", int(ErrorCode(err))), slog.String("error", err.Error()))
		return nil, err
	}
	data, err := req.Data(c.creds)
	if err != nil {
		err = fmt.Errorf("trustly: %s: build data: %w", method, err)
		c.log.LogAttrs(ctx, slog.LevelWarn, "trustly: request refused before sending",
			slog.String("method", method), slog.String("messageid", messageID), slog.String("error", err.Error()))
		return nil, err
	}
	orderID, _ := data["OrderID"].(string)
	policy := policyFor(method, messageID)
	attempts := 1
	if policy != retryNever {
		attempts = max(c.maxAttempts, 1)
	}
	// outcomeAt wraps err with ErrOutcomeUnknown when a request may have
	// reached Trustly and the method is not read-only.
	outcomeAt := func(err error, sent bool) error {
		if sent && policy != retryReadOnly {
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		return err
	}

	var prevUUID string
	sent := false
	for attempt := 1; ; attempt++ {
		uuid := c.newUUID()
		logAttrs := []slog.Attr{
			slog.String("method", method), slog.String("uuid", uuid),
			slog.String("messageid", messageID), slog.String("orderid", orderID),
			slog.Int("attempt", attempt),
		}
		fail := func(err error, retry bool, extra ...slog.Attr) error {
			attrs := slices.Concat(logAttrs, extra, []slog.Attr{slog.Bool("retry", retry), slog.String("error", err.Error())})
			c.log.LogAttrs(ctx, slog.LevelWarn, "trustly: call failed", attrs...)
			return err
		}
		if uuid == "" || uuid == prevUUID {
			return nil, fail(outcomeAt(fmt.Errorf("trustly: %s: NewUUID returned %q for a new attempt; Trustly refuses a reused UUID (688)", method, uuid), sent), false)
		}
		prevUUID = uuid
		if err := ctx.Err(); err != nil {
			return nil, fail(outcomeAt(fmt.Errorf("trustly: %s: %w", method, err), sent), false)
		}
		body, err := c.envelope(method, uuid, data)
		if err != nil {
			return nil, fail(err, false)
		}
		if ready, ok := ctx.Value(sendAfterKey{}).(func() error); ok && attempt == 1 && ready != nil {
			if err := ready(); err != nil {
				// The caller chose not to send (its write failed, or it no
				// longer needs the call) and says why itself.
				c.log.LogAttrs(ctx, slog.LevelDebug, "trustly: call not sent", append(logAttrs, slog.String("error", err.Error()))...)
				return nil, fmt.Errorf("%w: %s: %w", ErrNotSent, method, err)
			}
		}

		sent = true
		resp, err := c.send(ctx, method, uuid, messageID, body)
		if err == nil {
			c.log.LogAttrs(ctx, slog.LevelDebug, "trustly: call ok", logAttrs...)
			return resp, nil
		}

		var te *Error
		switch {
		case errors.As(err, &te):
			if te.Code == CodeDuplicateMessageID && attempt > 1 {
				err = fmt.Errorf("%w: %w", ErrAcceptedURLLost, err)
			}
			if policy == retryNever && errors.Is(err, ErrUnsignedError) {
				// Nothing proves an unsigned answer came from Trustly. For a
				// Refund, believing "not accepted" and trying again could pay
				// twice, so the outcome stays unknown until checked.
				err = outcomeAt(err, sent)
			}
			return nil, fail(err, false, slog.Int("code", int(te.Code)), slog.String("name", te.Code.Name()))
		case !errors.Is(err, ErrTransport):
			// Bad signature or a mismatched answer: someone or something
			// other than Trustly may be answering; resending will not help.
			return nil, fail(outcomeAt(err, sent), false)
		case ctx.Err() != nil:
			return nil, fail(outcomeAt(fmt.Errorf("trustly: %s: %w (%v)", method, ctx.Err(), err), sent), false)
		case attempt >= attempts:
			if attempts > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, fail(outcomeAt(err, sent), false)
		}
		wait := c.backoff(attempt)
		fail(err, true, slog.Duration("backoff", wait))
		if err := sleep(ctx, wait); err != nil {
			return nil, fail(outcomeAt(fmt.Errorf("trustly: %s: %w during backoff after attempt %d", method, err, attempt), sent), false)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// envelope builds the signed request body for one attempt.
func (c *Client) envelope(method, uuid string, data map[string]any) ([]byte, error) {
	sig, err := Sign(c.key, method, uuid, data)
	if err != nil {
		return nil, fmt.Errorf("trustly: %s: sign: %w", method, err)
	}
	body, err := marshalTree(map[string]any{
		"method":  method,
		"version": "1.1",
		"params": map[string]any{
			"Signature": sig,
			"UUID":      uuid,
			"Data":      data,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("trustly: %s: %w", method, err)
	}
	return body, nil
}

// send makes one attempt, bounded by the per-attempt timeout.
func (c *Client) send(ctx context.Context, method, uuid, messageID string, body []byte) (*Response, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTransport, method, err)
	}
	hreq.Header.Set("Content-Type", "application/json; charset=utf-8")
	hreq.Header.Set("Accept", "application/json")
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTransport, method, err)
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: read answer (HTTP %d): %w", ErrTransport, method, hresp.StatusCode, err)
	}
	if int64(len(raw)) > c.maxBody {
		return nil, fmt.Errorf("%w: %s: HTTP %d, more than %d bytes", ErrResponseTooLarge, method, hresp.StatusCode, c.maxBody)
	}
	return c.interpret(hresp.StatusCode, raw, method, uuid, messageID)
}

// interpret turns one answer body into a verified Response or an error.
// Trustly answers its errors with HTTP 200 too, so the status only matters
// when the body is not a valid signed envelope: then a non-2xx status makes
// the whole answer a transport failure (a proxy's error page, an outage).
func (c *Client) interpret(status int, raw []byte, method, uuid, messageID string) (*Response, error) {
	ok := status >= 200 && status <= 299
	transport := func(what string, err error) error {
		return fmt.Errorf("%w: %s: HTTP %d, %s: %w", ErrTransport, method, status, what, err)
	}

	m, err := ParseMessage(raw)
	if err != nil {
		if ok {
			if te := unsignedErrorOuter(raw, method, uuid, messageID); te != nil {
				return nil, fmt.Errorf("%w: %w", ErrUnsignedError, te)
			}
		}
		return nil, transport("unreadable answer", err)
	}
	if m.Kind != KindResponse && m.Kind != KindError {
		if !ok {
			return nil, transport("unexpected body", fmt.Errorf("%w: a %s", ErrNotEnvelope, m.Kind))
		}
		return nil, fmt.Errorf("%w: %s: the answer is a %s, not a response", ErrResponseMismatch, method, m.Kind)
	}
	jsonLevel := m.Kind == KindError && m.UUID() == "" && m.Method() == ""
	if verr := m.Verify(c.verifier); verr != nil {
		switch {
		case !ok:
			return nil, transport("answer does not verify", verr)
		case jsonLevel:
			te := trustlyError(m, method, uuid, messageID)
			if errors.Is(verr, ErrKeyMixup) {
				// Signed by the other environment: a configuration error
				// worth seeing over the JSON-level failure itself.
				return nil, fmt.Errorf("%w: %w: %w", ErrUnsignedError, verr, te)
			}
			return nil, fmt.Errorf("%w (%v): %w", ErrUnsignedError, verr, te)
		}
		return nil, fmt.Errorf("trustly: %s: answer uuid=%s, %s: %w", method, uuid, m.SignaturePath(), verr)
	}
	if jsonLevel {
		return nil, trustlyError(m, method, uuid, messageID)
	}
	if m.UUID() != uuid || m.Method() != method {
		return nil, fmt.Errorf("%w: sent %s uuid=%s, answer is for %s uuid=%s", ErrResponseMismatch, method, uuid, m.Method(), m.UUID())
	}
	if m.Kind == KindError {
		return nil, trustlyError(m, method, uuid, messageID)
	}
	return &Response{Method: m.Method(), UUID: m.UUID(), Data: m.Data(), Message: m}, nil
}

// trustlyError reads error.error.data.{code,message} of an error answer,
// falling back to the outer error.{code,message}.
func trustlyError(m *Message, method, uuid, messageID string) *Error {
	outer, _ := m.Tree["error"].(map[string]any)
	data, _ := m.Data().(map[string]any)
	return buildError(outer, data, method, uuid, messageID)
}

// unsignedErrorOuter recognises an error answer without a usable
// error.error block, e.g. {"error":{"name":…,"code":620,"message":…}}, so
// that the code still reaches the caller. It returns nil for anything else.
func unsignedErrorOuter(raw []byte, method, uuid, messageID string) *Error {
	v, err := ParseJSON(raw)
	if err != nil {
		return nil
	}
	tree, _ := v.(map[string]any)
	outer, _ := tree["error"].(map[string]any)
	if _, ok := codeOf(outer["code"]); !ok {
		return nil
	}
	return buildError(outer, nil, method, uuid, messageID)
}

func buildError(outer, data map[string]any, method, uuid, messageID string) *Error {
	e := &Error{Method: method, UUID: uuid, MessageID: messageID}
	e.Name, _ = outer["name"].(string)
	code, ok := codeOf(data["code"])
	if !ok {
		code, _ = codeOf(outer["code"])
	}
	e.Code = code
	if e.Message, _ = data["message"].(string); e.Message == "" {
		e.Message, _ = outer["message"].(string)
	}
	return e
}

// codeOf reads a code given as a JSON number or, defensively, a string.
func codeOf(v any) (Code, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = string(t)
	case string:
		s = t
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return Code(n), true
}
