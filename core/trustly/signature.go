package trustly

import (
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
)

// Signature errors. ErrBadSignature is the one callers branch on; the others
// wrap it with a more specific diagnosis.
var (
	ErrBadSignature = errors.New("trustly: signature does not verify")
	// ErrKeyMixup means the signature verifies with the other environment's
	// Trustly key: a TEST sidecar got a LIVE message, or the reverse.
	ErrKeyMixup      = fmt.Errorf("%w: TEST/LIVE key mix-up", ErrBadSignature)
	ErrNoSignature   = fmt.Errorf("%w: message carries no signature", ErrBadSignature)
	ErrSignatureB64  = fmt.Errorf("%w: signature is not valid base64", ErrBadSignature)
	ErrNoVerifierKey = errors.New("trustly: no public key configured to verify with")
)

// Plaintext returns the exact string Trustly signs: method + uuid +
// Serialize(data).
func Plaintext(method, uuid string, data any) (string, error) {
	s, err := Serialize(data)
	if err != nil {
		return "", err
	}
	return method + uuid + s, nil
}

// Sign returns base64(RSA-PKCS1v15(SHA1(Plaintext(method, uuid, data)))).
// PKCS#1 v1.5 signatures are deterministic, so the same inputs always give
// the same signature, byte for byte as Trustly's clients produce it.
func Sign(key *rsa.PrivateKey, method, uuid string, data any) (string, error) {
	p, err := Plaintext(method, uuid, data)
	if err != nil {
		return "", err
	}
	return signPlaintext(key, p)
}

// signatures counts the RSA signatures this process made: signing is most
// of what a notification costs, so tests count it where a path promises to
// make none (a repeated notification).
var signatures atomic.Uint64

// Signatures returns how many signatures this process has made.
func Signatures() uint64 { return signatures.Load() }

func signPlaintext(key *rsa.PrivateKey, plaintext string) (string, error) {
	signatures.Add(1)
	h := sha1.Sum([]byte(plaintext))
	sig, err := signSHA1(key, h[:])
	if err != nil {
		return "", fmt.Errorf("trustly: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks sig over Plaintext(method, uuid, data) with pub. data must be
// the raw tree of the received message (see ParseJSON).
func Verify(pub *rsa.PublicKey, method, uuid string, data any, sig string) error {
	p, err := Plaintext(method, uuid, data)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return verifyPlaintext(pub, p, sig)
}

func verifyPlaintext(pub *rsa.PublicKey, plaintext, sig string) error {
	if pub == nil {
		return ErrNoVerifierKey
	}
	if sig == "" {
		return ErrNoSignature
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return ErrSignatureB64
	}
	h := sha1.Sum([]byte(plaintext))
	if err := verifySHA1(pub, h[:], raw); err != nil {
		return ErrBadSignature
	}
	return nil
}

// Verifier checks messages from Trustly with the configured environment's
// key, and when that fails, tells a TEST/LIVE mix-up apart from a forgery.
type Verifier struct {
	key   *rsa.PublicKey
	env   Environment
	other []envKey // Trustly's keys other than key, tried only to explain a failure
}

type envKey struct {
	env Environment
	key *rsa.PublicKey
}

// NewVerifier verifies with Trustly's built-in key for env (TEST or LIVE).
func NewVerifier(env Environment) (*Verifier, error) {
	key := env.PublicKey()
	if key == nil {
		return nil, fmt.Errorf("trustly: no built-in public key for environment %q; use NewVerifierKey", env)
	}
	return NewVerifierKey(env, key), nil
}

// NewVerifierKey verifies with key, configured for env. A failure that the
// other Trustly environment's key would accept is reported as ErrKeyMixup.
// When key is one of Trustly's published keys, the environment is the key's
// own, whatever env says: the diagnosis must name the key actually in use.
func NewVerifierKey(env Environment, key *rsa.PublicKey) *Verifier {
	v := &Verifier{key: key, env: env}
	for _, e := range []Environment{Test, Live} {
		k := e.PublicKey()
		if key != nil && k.Equal(key) {
			v.env = e
			continue
		}
		v.other = append(v.other, envKey{e, k})
	}
	return v
}

// Environment is the environment the verifier was configured for.
func (v *Verifier) Environment() Environment { return v.env }

// Verify checks sig over method + uuid + Serialize(data).
func (v *Verifier) Verify(method, uuid string, data any, sig string) error {
	p, err := Plaintext(method, uuid, data)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	err = verifyPlaintext(v.key, p, sig)
	if err != ErrBadSignature { //nolint:errorlint // only a plain cryptographic mismatch is worth a second key
		return err
	}
	for _, o := range v.other {
		if verifyPlaintext(o.key, p, sig) == nil {
			return fmt.Errorf("%w: signed with Trustly's %s key, but this side is configured for %s", ErrKeyMixup, o.env, v.env)
		}
	}
	return err
}
