package commercetools

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
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// tokenSource gets and caches an access token by the client credentials
// flow: POST {auth}/oauth/token with the API client's id and secret as HTTP
// Basic auth and grant_type=client_credentials&scope=… form-encoded
// (https://docs.commercetools.com/api/authorization, "Client credentials
// flow"). A token lives 48 hours there; it is used until a minute before it
// expires, or until the API answers 401 with it.
type tokenSource struct {
	url, id, scopes string
	secret          []byte
	http            *http.Client
	now             func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// earlyRefresh is how long before its expiry a token is replaced, so a
// request never leaves with one that dies on the way.
const earlyRefresh = time.Minute

// get returns a valid token, fetching one when there is none.
func (s *tokenSource) get(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Before(s.expires.Add(-earlyRefresh)) {
		return s.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {s.scopes}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("%w: %w", adapter.ErrPermanent, err)
	}
	req.SetBasicAuth(s.id, string(s.secret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: commercetools auth: %w", adapter.ErrRetryable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c == http.StatusOK:
	case c == http.StatusTooManyRequests || c >= 500:
		return "", fmt.Errorf("%w: commercetools auth answered %d", adapter.ErrRetryable, c)
	default:
		// invalid_client, invalid_scope: wrong settings, not a passing state.
		return "", fmt.Errorf("%w: commercetools auth refused the API client (%d): %s", adapter.ErrPermanent, c, errorCodes(body))
	}
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("%w: commercetools auth: no access_token in its answer", adapter.ErrRetryable)
	}
	s.token, s.expires = t.AccessToken, s.now().Add(time.Duration(t.ExpiresIn)*time.Second)
	return s.token, nil
}

// drop forgets token if it is still the cached one (the API refused it).
func (s *tokenSource) drop(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
}

// errConflict is commercetools' 409 ConcurrentModification: the payment
// changed since it was read; read it again and redo the actions.
var errConflict = errors.New("commercetools: concurrent modification")

// call sends one API request with a token; a 401 gets one more try with a
// fresh token (it expired or was revoked early).
func (a *Adapter) call(ctx context.Context, method, path string, body any, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return fmt.Errorf("%w: %w", adapter.ErrPermanent, err)
		}
	}
	for attempt := 0; ; attempt++ {
		token, err := a.token.get(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, a.api+path, bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%w: %w", adapter.ErrPermanent, err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := a.cfg.HTTPClient.Do(req)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return fmt.Errorf("%w: %s %s: %w", adapter.ErrRetryable, method, path, ctxErr)
			}
			return fmt.Errorf("%w: %s %s: %w", adapter.ErrRetryable, method, path, err)
		}
		data, readErr := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if readErr != nil {
			return fmt.Errorf("%w: %s %s: %w", adapter.ErrRetryable, method, path, readErr)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			a.token.drop(token)
			continue
		}
		if err := classify(resp.StatusCode, data); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%w: %s %s: the answer: %w", adapter.ErrRetryable, method, path, err)
			}
		}
		return nil
	}
}

// classify is the one table from the API's answer to what the host does
// (https://docs.commercetools.com/api/errors): a version conflict is redone
// here; 408, 429 and 5xx (including 502/503/504 of the infrastructure) are
// retried; every other 4xx is a refusal that retrying does not fix
// (InvalidOperation, ResourceNotFound, insufficient_scope, a 401 that a
// fresh token did not cure).
func classify(code int, body []byte) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusConflict && strings.Contains(errorCodes(body), "ConcurrentModification"):
		return errConflict
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return fmt.Errorf("%w: commercetools answered %d %s", adapter.ErrRetryable, code, errorCodes(body))
	}
	return fmt.Errorf("%w: commercetools answered %d %s", adapter.ErrPermanent, code, errorCodes(body))
}

// errorCodes renders an error answer's codes and messages for a log line
// (never a token: error bodies do not carry one).
func errorCodes(body []byte) string {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		if len(body) > 200 {
			body = body[:200]
		}
		return strings.ToValidUTF8(string(body), "?")
	}
	var parts []string
	for _, x := range e.Errors {
		parts = append(parts, x.Code+": "+x.Message)
	}
	if len(parts) == 0 && e.Error != "" {
		parts = append(parts, e.Error)
	}
	return strings.Join(parts, "; ")
}
