package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Fingerprint identifies a request's parameters for idempotency: the hex
// SHA-256 of method, path and the body in canonical JSON (keys sorted,
// insignificant whitespace dropped, numbers and strings kept as written), so
// a client that re-encodes the same request differently is not told its key
// was reused. An empty body is allowed; a body that is not JSON is an error.
func Fingerprint(method, path string, body []byte) (string, error) {
	canonical, err := canonicalJSON(body)
	if err != nil {
		return "", fmt.Errorf("store: fingerprint: %w", err)
	}
	h := sha256.New()
	// Method and path cannot hold a newline, so the parts cannot run together.
	fmt.Fprintf(h, "%s\n%s\n", method, path)
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
