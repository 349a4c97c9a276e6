package adapter

import (
	"fmt"
	"io"
	"net/http"
)

// Deliver sends a status write-back request and reads the answer the way
// ApplyStatus needs it. A transport failure or a deadline is ErrRetryable:
// the platform may or may not have applied the change, and ApplyStatus is
// idempotent, so resending is safe (a context error stays recognisable as
// one). Otherwise it returns the status code and up to 512 bytes of the
// body, which say why a platform refused; the rest is drained so the
// connection is reused. Which codes are retryable is the adapter's table.
func Deliver(client *http.Client, req *http.Request) (code int, snippet []byte, err error) {
	resp, err := client.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return 0, nil, fmt.Errorf("%w: %w", ErrRetryable, ctxErr)
		}
		return 0, nil, fmt.Errorf("%w: %w", ErrRetryable, err)
	}
	defer resp.Body.Close()
	snippet, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, snippet, nil
}
