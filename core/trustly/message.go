package trustly

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
)

// Kind tells which of Trustly's five envelopes a message is. It decides where
// the signature, uuid, method and data live.
type Kind int

// The envelopes.
const (
	// KindRequest is merchant → Trustly: params.Signature, params.UUID, params.Data.
	KindRequest Kind = iota + 1
	// KindNotification is Trustly → merchant: params.signature, params.uuid, params.data.
	KindNotification
	// KindResponse is Trustly's success answer: result.{signature,uuid,method,data}.
	KindResponse
	// KindError is Trustly's error answer: error.error.{signature,uuid,method,data}.
	KindError
	// KindReply is the merchant's answer to a notification: result.{...} with a lowercase method.
	KindReply
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindNotification:
		return "notification"
	case KindResponse:
		return "response"
	case KindError:
		return "error"
	case KindReply:
		return "notification reply"
	}
	return "unknown"
}

// SignedByTrustly reports whether messages of this kind come from Trustly
// (and so verify with Trustly's key) rather than from the merchant.
func (k Kind) SignedByTrustly() bool {
	return k == KindNotification || k == KindResponse || k == KindError
}

// ErrNotEnvelope is returned when JSON parses but is not a Trustly envelope.
var ErrNotEnvelope = errors.New("trustly: not a JSON-RPC envelope")

// Message is a parsed Trustly envelope of any kind, kept as its raw tree so
// that verification covers every field exactly as received.
type Message struct {
	Kind Kind
	// Tree is the whole envelope as parsed.
	Tree map[string]any

	block  map[string]any // the object holding signature, uuid, data
	method string
	uuid   string
	sigKey string
	uuidK  string
	dataK  string
}

// ParseMessage parses any Trustly JSON-RPC envelope.
func ParseMessage(b []byte) (*Message, error) {
	v, err := ParseJSON(b)
	if err != nil {
		return nil, err
	}
	tree, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: top level is %s, not an object", ErrNotEnvelope, jsonType(v))
	}
	m := &Message{Tree: tree}
	switch {
	case tree["params"] != nil:
		params, ok := tree["params"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: params is %s, not an object", ErrNotEnvelope, jsonType(tree["params"]))
		}
		method, err := stringField(tree, "method", "method")
		if err != nil {
			return nil, err
		}
		m.block, m.method = params, method
		_, upper := params["Data"]
		_, upperUUID := params["UUID"]
		if upper || upperUUID {
			m.Kind, m.sigKey, m.uuidK, m.dataK = KindRequest, "Signature", "UUID", "Data"
		} else {
			m.Kind, m.sigKey, m.uuidK, m.dataK = KindNotification, "signature", "uuid", "data"
		}
		if m.uuid, err = stringField(params, m.uuidK, "params."+m.uuidK); err != nil {
			return nil, err
		}
	case tree["result"] != nil:
		if err := m.setResultBlock(tree["result"], "result"); err != nil {
			return nil, err
		}
		m.Kind = KindResponse
		if isNotificationMethod(m.method) {
			m.Kind = KindReply
		}
	case tree["error"] != nil:
		outer, ok := tree["error"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: error is %s, not an object", ErrNotEnvelope, jsonType(tree["error"]))
		}
		if err := m.setResultBlock(outer["error"], "error.error"); err != nil {
			return nil, err
		}
		m.Kind = KindError
	default:
		return nil, fmt.Errorf("%w: none of params, result or error is present", ErrNotEnvelope)
	}
	if _, err := stringField(m.block, m.sigKey, m.SignaturePath()); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Message) setResultBlock(v any, path string) error {
	block, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: %s is %s, not an object", ErrNotEnvelope, path, jsonType(v))
	}
	var err error
	m.block, m.sigKey, m.uuidK, m.dataK = block, "signature", "uuid", "data"
	if m.method, err = stringField(block, "method", path+".method"); err != nil {
		return err
	}
	m.uuid, err = stringField(block, "uuid", path+".uuid")
	return err
}

// Notification methods are lowercase; API methods are PascalCase.
func isNotificationMethod(method string) bool {
	for _, r := range method {
		return unicode.IsLower(r)
	}
	return false
}

// stringField reads an optional string; null and absent read as "", any
// other type is an error naming the field.
func stringField(obj map[string]any, key, path string) (string, error) {
	switch v := obj[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%w: %s is %s, not a string", ErrNotEnvelope, path, jsonType(v))
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// Method is the signed method name ("Deposit", "credit", ...).
func (m *Message) Method() string { return m.method }

// UUID is the signed uuid.
func (m *Message) UUID() string { return m.uuid }

// Data is the signed data tree, exactly as received.
func (m *Message) Data() any { return m.block[m.dataK] }

// Signature is the base64 signature the message carries, or "".
func (m *Message) Signature() string {
	s, _ := m.block[m.sigKey].(string)
	return s
}

// SignaturePath names where the signature lives, e.g. "params.Signature".
func (m *Message) SignaturePath() string {
	switch m.Kind {
	case KindRequest, KindNotification:
		return "params." + m.sigKey
	case KindError:
		return "error.error.signature"
	}
	return "result.signature"
}

// Plaintext is the exact string the signature covers.
func (m *Message) Plaintext() (string, error) {
	return Plaintext(m.method, m.uuid, m.Data())
}

// Sign computes the signature with key and stores it in the message.
func (m *Message) Sign(key *rsa.PrivateKey) error {
	p, err := m.Plaintext()
	if err != nil {
		return err
	}
	sig, err := signPlaintext(key, p)
	if err != nil {
		return err
	}
	m.block[m.sigKey] = sig
	return nil
}

// Verify checks the message's signature with v.
func (m *Message) Verify(v *Verifier) error {
	return v.Verify(m.method, m.uuid, m.Data(), m.Signature())
}

// MarshalJSON writes the envelope back. Keys come out sorted and HTML
// characters unescaped (URLs keep their '&'); the signature does not depend
// on layout, only on the tree.
func (m *Message) MarshalJSON() ([]byte, error) {
	return marshalTree(m.Tree)
}

func marshalTree(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("trustly: marshal: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
