//go:build !openssl

package trustly

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
)

// signSHA1 and verifySHA1 are RSA PKCS#1 v1.5 over a SHA-1 digest, through
// crypto/rsa: Go's own code, or BoringSSL's in the boringcrypto build.
// The openssl build has its own (rsa_openssl.go).
func signSHA1(key *rsa.PrivateKey, digest []byte) ([]byte, error) {
	return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, digest)
}

func verifySHA1(pub *rsa.PublicKey, digest, sig []byte) error {
	return rsa.VerifyPKCS1v15(pub, crypto.SHA1, digest, sig)
}
