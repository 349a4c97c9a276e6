package paylink

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// The answer to POST /v1/paylinks holds the link's URL, token inside, and
// the idempotency record keeps that answer for 24 h so that a retry gets
// the same link. The record keeps the URL sealed (AES-256-GCM) instead, so
// Redis never holds a token in clear: the link record itself has only the
// token's SHA-256. The key is derived from the merchant's private key, a
// secret the sidecar has anyway and that Redis never sees, so the key is
// never stored and a replay after a restart (or on another replica with the
// same configuration) opens the record. A new merchant key makes the
// records sealed under the old one unopenable: such a replay is refused
// (ErrUnsealable) rather than answered without the URL.

// sealedPrefix marks a sealed URL in a stored answer; v1 names the
// derivation and the cipher, so a future change can still read old records.
const sealedPrefix = "sealed:v1:"

// sealKeyInfo separates this key from any other derived from the same
// secret.
const sealKeyInfo = "trustly-sidecar pay-link answers v1"

// ErrUnsealable is wrapped when a stored answer's URL cannot be opened:
// the merchant key changed since it was sealed, or the record was altered.
var ErrUnsealable = errors.New("paylink: the stored link URL cannot be opened")

// SealKey derives the 32-byte key that seals link URLs in idempotency
// records (Links.SealKey) from the merchant's private key with HKDF-SHA256.
func SealKey(merchant *rsa.PrivateKey) ([]byte, error) {
	if merchant == nil {
		return nil, errors.New("paylink: no merchant key to derive the seal key from")
	}
	return hkdf.Key(sha256.New, x509.MarshalPKCS1PrivateKey(merchant), nil, sealKeyInfo, 32)
}

func (p *Links) aead() (cipher.AEAD, error) {
	if len(p.SealKey) != 32 {
		return nil, fmt.Errorf("paylink: the seal key has %d bytes, want 32 (see SealKey)", len(p.SealKey))
	}
	block, err := aes.NewCipher(p.SealKey)
	if err != nil {
		return nil, fmt.Errorf("paylink: seal key: %w", err)
	}
	return cipher.NewGCM(block)
}

// Seal returns the answer as the idempotency record keeps it: its URL
// encrypted, bound to the link's id (a sealed URL moved to another link's
// answer does not open).
func (p *Links) Seal(out shopapi.PayLink) (shopapi.PayLink, error) {
	g, err := p.aead()
	if err != nil {
		return shopapi.PayLink{}, err
	}
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(out.URL)+g.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return shopapi.PayLink{}, fmt.Errorf("paylink: seal: %w", err)
	}
	sealed := g.Seal(nonce, nonce, []byte(out.URL), []byte(out.ID))
	out.URL = sealedPrefix + base64.RawURLEncoding.EncodeToString(sealed)
	return out, nil
}

// Reveal undoes Seal for a replay. An answer whose URL is not sealed (kept
// by an earlier version, for at most its 24 h) is returned as it is.
func (p *Links) Reveal(stored shopapi.PayLink) (shopapi.PayLink, error) {
	enc, ok := strings.CutPrefix(stored.URL, sealedPrefix)
	if !ok {
		return stored, nil
	}
	g, err := p.aead()
	if err != nil {
		return shopapi.PayLink{}, err
	}
	sealed, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(sealed) < g.NonceSize() {
		return shopapi.PayLink{}, fmt.Errorf("%w: link %s: malformed", ErrUnsealable, stored.ID)
	}
	url, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], []byte(stored.ID))
	if err != nil {
		return shopapi.PayLink{}, fmt.Errorf("%w: link %s: %w", ErrUnsealable, stored.ID, err)
	}
	stored.URL = string(url)
	return stored, nil
}
