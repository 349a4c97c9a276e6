package trustly

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// MinKeyBits is the smallest RSA key accepted. Trustly issues and expects
// 2048-bit keys; anything shorter is refused rather than silently used.
const MinKeyBits = 2048

// Key loading errors. Callers (the config validator, the signature tool) show
// these to the person who configured the key, so each names the fix.
var (
	ErrNoPEM          = errors.New("trustly: no PEM block found (expected -----BEGIN ... KEY-----)")
	ErrNotRSA         = errors.New("trustly: key is not an RSA key (Trustly uses RSA-2048)")
	ErrEncryptedKey   = errors.New("trustly: private key is encrypted with a passphrase; decrypt it first (openssl rsa -in key.pem -out plain.pem)")
	ErrKeyTooShort    = fmt.Errorf("trustly: RSA key is shorter than %d bits", MinKeyBits)
	ErrPublicNotPriv  = errors.New("trustly: this is a public key, but a private key is needed to sign (the public half is what you send to Trustly)")
	ErrPrivNotPublic  = errors.New("trustly: this is a private key, but a public key is needed to verify (never configure a private key where Trustly's public key belongs)")
	ErrUnknownPEMType = errors.New("trustly: unsupported PEM block type")
)

// ParsePrivateKey reads an RSA private key from PEM, in PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY") form.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, err := decodePEM(pemBytes)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, ErrEncryptedKey
	case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
		return nil, ErrPublicNotPriv
	case "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY":
		return nil, fmt.Errorf("%w (found %q)", ErrNotRSA, block.Type)
	default:
		return nil, fmt.Errorf("%w %q for a private key (want RSA PRIVATE KEY or PRIVATE KEY)", ErrUnknownPEMType, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("trustly: parse %s: %w", block.Type, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w (found %T)", ErrNotRSA, key)
	}
	if rk.N.BitLen() < MinKeyBits {
		return nil, fmt.Errorf("%w (it has %d)", ErrKeyTooShort, rk.N.BitLen())
	}
	return rk, nil
}

// ParsePublicKey reads an RSA public key from PEM: PKIX ("PUBLIC KEY", the
// form Trustly publishes), PKCS#1 ("RSA PUBLIC KEY") or a certificate.
func ParsePublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	block, err := decodePEM(pemBytes)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			key = cert.PublicKey
		}
	case "RSA PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY":
		return nil, ErrPrivNotPublic
	default:
		return nil, fmt.Errorf("%w %q for a public key (want PUBLIC KEY)", ErrUnknownPEMType, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("trustly: parse %s: %w", block.Type, err)
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w (found %T)", ErrNotRSA, key)
	}
	if rk.N.BitLen() < MinKeyBits {
		return nil, fmt.Errorf("%w (it has %d)", ErrKeyTooShort, rk.N.BitLen())
	}
	return rk, nil
}

// MarshalPublicKey returns the PKIX PEM of pub: the form to send to Trustly.
func MarshalPublicKey(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("trustly: marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// MarshalPrivateKey returns the PKCS#8 PEM of key.
func MarshalPrivateKey(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("trustly: marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func decodePEM(b []byte) (*pem.Block, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		if strings.TrimSpace(string(b)) == "" {
			return nil, fmt.Errorf("%w: the input is empty", ErrNoPEM)
		}
		return nil, ErrNoPEM
	}
	// Legacy OpenSSL encryption marks the block with headers, not its type.
	if block.Headers["Proc-Type"] == "4,ENCRYPTED" {
		return nil, ErrEncryptedKey
	}
	return block, nil
}
