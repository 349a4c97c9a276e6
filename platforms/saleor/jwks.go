package saleor

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Saleor signs every webhook body without a secretKey with a JWS in the
// Saleor-Signature header: RS256, the payload detached and unencoded
// (protected header {"alg":"RS256","b64":false,"crit":["b64"],"kid":…}), so
// the header reads "<protected>..<signature>" and the signed bytes are the
// raw body (saleor/webhook/transport/__init__.py signature_for_payload,
// saleor/core/jwt_manager.py jws_encode and its test; docs: developer/
// extending/webhooks/payload-signature). The key id is the RFC 7638
// thumbprint of Saleor's RSA key, published at the API host's
// /.well-known/jwks.json (saleor/urls.py, jwt_manager.get_jwks; app-sdk's
// getJwksUrlFromSaleorApiUrl takes the API URL's origin). The older HMAC
// form (a webhook with a secretKey) is deprecated; the manifest never sets
// one, so a hex HMAC in the header is refused like any forgery.

// HeaderSignature carries the JWS.
const HeaderSignature = "Saleor-Signature"

// DefaultJWKSRefetch is how soon after one fetch an unknown key id may
// fetch the key set again: rotation is picked up at once, while a stream of
// forged key ids cannot make the adapter hammer Saleor.
const DefaultJWKSRefetch = 10 * time.Second

// DefaultJWKSMaxAge is how long a fetched key set is trusted before it is
// fetched again: a key Saleor has withdrawn stops verifying by then.
const DefaultJWKSMaxAge = time.Hour

const maxJWKSBytes = 64 << 10

// errUnknownKey is a signature by a key id the key set does not have, even
// after fetching it again.
var errUnknownKey = errors.New("no key with that id in Saleor's JWKS")

// keySet fetches and caches one Saleor instance's JWKS.
type keySet struct {
	url     string
	client  *http.Client
	refetch time.Duration
	maxAge  time.Duration
	now     func() time.Time

	fetchMu sync.Mutex // one fetch at a time
	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time
}

// jwksURL is the key set's address for a Saleor API URL.
func jwksURL(apiURL string) (string, error) {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("saleor API URL %q: not an absolute URL", apiURL)
	}
	return u.Scheme + "://" + u.Host + "/.well-known/jwks.json", nil
}

// key returns the public key for kid, fetching the set when it is stale or
// lacks kid (rotation) and the last fetch is old enough.
func (k *keySet) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	pub, ok := k.keys[kid]
	fresh := k.now().Sub(k.fetched) < k.maxAge
	recent := !k.fetched.IsZero() && k.now().Sub(k.fetched) < k.refetch
	k.mu.Unlock()
	if ok && fresh {
		return pub, nil
	}
	if !ok && recent {
		return nil, errUnknownKey
	}
	if err := k.fetch(ctx); err != nil {
		if ok {
			// Saleor unreachable and the key known: a stale key set is
			// better than refusing every webhook until Saleor answers.
			return pub, nil
		}
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if pub, ok := k.keys[kid]; ok {
		return pub, nil
	}
	return nil, errUnknownKey
}

// fetch loads the key set, unless another caller just did.
func (k *keySet) fetch(ctx context.Context) error {
	before := k.fetchedAt()
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	if k.fetchedAt() != before {
		return nil // fetched while we waited
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: jwks: %w", adapter.ErrRetryable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	switch {
	case err != nil:
		return fmt.Errorf("%w: jwks: %w", adapter.ErrRetryable, err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: jwks: %s answered %d", adapter.ErrRetryable, k.url, resp.StatusCode)
	case len(body) > maxJWKSBytes:
		return fmt.Errorf("%w: jwks: more than %d bytes", adapter.ErrRetryable, maxJWKSBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return fmt.Errorf("%w: jwks: %w", adapter.ErrRetryable, err)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	for _, jwk := range set.Keys {
		pub, ok := jwk.Key.(*rsa.PublicKey)
		if !ok || jwk.KeyID == "" || (jwk.Use != "" && jwk.Use != "sig") {
			continue // Saleor publishes RSA signing keys only; skip anything else
		}
		keys[jwk.KeyID] = pub
	}
	k.mu.Lock()
	k.keys, k.fetched = keys, k.now()
	k.mu.Unlock()
	return nil
}

func (k *keySet) fetchedAt() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetched
}

// verify checks the Saleor-Signature of body. A missing, malformed or wrong
// signature, or one by a key Saleor does not publish, is
// ErrUnauthenticated; Saleor unreachable while the key is unknown is
// ErrRetryable (Saleor retries, and the shopper's request fails rather than
// being trusted unverified).
func (k *keySet) verify(ctx context.Context, header http.Header, body []byte) error {
	sig := header.Get(HeaderSignature)
	if sig == "" {
		return fmt.Errorf("%w: no %s header", adapter.ErrUnauthenticated, HeaderSignature)
	}
	jws, err := jose.ParseDetached(sig, body, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return fmt.Errorf("%w: %s is not a detached RS256 JWS: %w", adapter.ErrUnauthenticated, HeaderSignature, err)
	}
	if len(jws.Signatures) != 1 {
		return fmt.Errorf("%w: %s has %d signatures, want 1", adapter.ErrUnauthenticated, HeaderSignature, len(jws.Signatures))
	}
	kid := jws.Signatures[0].Protected.KeyID
	if kid == "" {
		return fmt.Errorf("%w: %s names no key id", adapter.ErrUnauthenticated, HeaderSignature)
	}
	pub, err := k.key(ctx, kid)
	switch {
	case errors.Is(err, errUnknownKey):
		return fmt.Errorf("%w: key id %.80q: %w", adapter.ErrUnauthenticated, kid, err)
	case err != nil:
		return err
	}
	if _, err := jws.Verify(pub); err != nil {
		return fmt.Errorf("%w: %s does not match the body: %w", adapter.ErrUnauthenticated, HeaderSignature, err)
	}
	return nil
}
