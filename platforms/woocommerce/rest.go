package woocommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// call sends one REST API v3 request and decodes a 2xx answer into out.
// Authentication is HTTP Basic with the consumer key and secret, the form
// the REST API docs give for HTTPS (woocommerce-rest-api-docs,
// source/includes/wp-api-v3/_introduction.md, "Authentication over HTTPS");
// QueryStringAuth switches to the query parameters the same section offers
// for servers that drop the Authorization header.
func (a *Adapter) call(ctx context.Context, method, path string, in, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%w: encode %s %s: %w", adapter.ErrPermanent, method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := a.base + path
	if a.cfg.QueryStringAuth {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + url.Values{"consumer_key": {a.cfg.ConsumerKey}, "consumer_secret": {string(a.cfg.ConsumerSecret)}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", adapter.ErrPermanent, method, path, unwrapURL(err))
	}
	if !a.cfg.QueryStringAuth {
		req.SetBasicAuth(a.cfg.ConsumerKey, string(a.cfg.ConsumerSecret))
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		// Fate unknown: every write here is idempotent (status checked
		// first, notes and refunds carry markers), so retrying is safe.
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%w: %s %s: %w", adapter.ErrRetryable, method, path, ctxErr)
		}
		return fmt.Errorf("%w: %s %s: %w", adapter.ErrRetryable, method, path, unwrapURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%w: %s %s: read answer: %w", adapter.ErrRetryable, method, path, err)
	}
	if err := classify(resp.StatusCode); err != nil {
		return fmt.Errorf("%w: %s %s: WooCommerce answered %d%s", err, method, path, resp.StatusCode, restMessage(b))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		// A 200 that is not JSON is a page from something in front of
		// WordPress (a maintenance page, a login wall): may pass.
		return fmt.Errorf("%w: %s %s: answer is not JSON: %w", adapter.ErrRetryable, method, path, err)
	}
	return nil
}

// classify is the one table from the REST API's HTTP status to what the
// host does next.
func classify(code int) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		// Wrong or revoked key, or a read-only one: a person must fix the
		// configuration; retrying changes nothing.
		return fmt.Errorf("%w: the REST API key was refused (it needs read/write permission)", adapter.ErrPermanent)
	case code == http.StatusNotFound:
		return fmt.Errorf("%w: no such order (deleted, or another shop)", adapter.ErrPermanent)
	case code == http.StatusRequestTimeout, code == http.StatusConflict, code == http.StatusTooEarly,
		code == http.StatusTooManyRequests, code >= 500:
		return adapter.ErrRetryable
	}
	return adapter.ErrPermanent
}

// restMessage is the REST API's error text ({"code":…,"message":…}), short.
func restMessage(b []byte) string {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) != nil || e.Code == "" {
		return ""
	}
	m := e.Code + ": " + e.Message
	if len(m) > 200 {
		m = m[:200]
	}
	return " (" + m + ")"
}

// unwrapURL drops the request URL from a transport error: with
// QueryStringAuth it holds the consumer secret, and errors reach logs.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
