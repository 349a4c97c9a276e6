package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Fingerprint identifies a request's parameters for idempotency: the hex
// SHA-256 of each request part followed by a newline, then the body in
// canonical JSON (keys sorted, insignificant whitespace dropped, numbers and
// strings kept as written), so a client that re-encodes the same request
// differently is not told its key was reused.
//
// The request parts name the operation and its target, as the caller sees
// them (a route and a resource id, say); the store never reads them. A part
// may not hold a newline: the parts could then run together. An empty body
// is allowed; a body that is not JSON is an error.
//
// Records written before the parts were the caller's choice hashed an HTTP
// method and path: Fingerprint(body, "POST", "/v1/payments") still gives
// their fingerprint.
func Fingerprint(body []byte, request ...string) (string, error) {
	for i, p := range request {
		if strings.Contains(p, "\n") {
			return "", fmt.Errorf("store: fingerprint: request part %d holds a newline", i)
		}
	}
	canonical, err := canonicalJSON(body)
	if err != nil {
		return "", fmt.Errorf("store: fingerprint: %w", err)
	}
	h := sha256.New()
	for _, p := range request {
		h.Write([]byte(p))
		h.Write([]byte{'\n'})
	}
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func canonicalJSON(body []byte) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // 10.00 and 10.0 are different amounts to Trustly's signature
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("body has data after its JSON value")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	// encoding/json writes map keys sorted, which is what makes it canonical.
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
