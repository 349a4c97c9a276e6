//go:build openssl && !boringcrypto

package trustly

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"sync"
	"weak"

	"github.com/golang-fips/openssl/v2"
	"github.com/golang-fips/openssl/v2/bbig"
)

// The openssl build (`make build CRYPTO=openssl`, tag openssl, cgo): RSA
// signatures and their verification go through the system's libcrypto,
// which github.com/golang-fips/openssl/v2 (the binding of Microsoft's and
// Red Hat's Go toolchains) loads with dlopen when the process starts. On
// the machines this project measured, OpenSSL 3 signs in 0.4× the CPU time
// of Go's code, and signing a notification's reply is most of what the
// sidecar spends on it. SHA-1 stays Go's (a digest of a few hundred bytes).
//
// A binary whose libcrypto cannot be loaded (none installed, or neither
// OpenSSL 3 nor 1.1) signs with Go's code and says so in CryptoBackend,
// which serve prints as it starts and `version` prints: as the
// boringcrypto build does on a platform without its module.

// libcryptoVersions are the libcrypto.so.<version> tried, newest first.
var libcryptoVersions = []string{"3", "1.1"}

var opensslErr = loadOpenSSL()

func loadOpenSSL() error {
	for _, v := range libcryptoVersions {
		lib := "libcrypto.so." + v
		if ok, _ := openssl.CheckVersion(lib); ok {
			return openssl.Init(lib)
		}
	}
	return errors.New("no libcrypto.so.3 or libcrypto.so.1.1 found")
}

// CryptoBackend names the implementation behind this binary's RSA:
// "openssl (OpenSSL 3.0.19 27 Jan 2026)", with libcrypto's own version
// text, or Go's fallback and why.
func CryptoBackend() string {
	if opensslErr != nil {
		return "go (openssl build, libcrypto not loaded: " + opensslErr.Error() + ")"
	}
	return "openssl (" + openssl.VersionText() + ")"
}

// Keys are turned into libcrypto's form once, not per signature: building
// an EVP_PKEY costs about as much as a verification. The caches hold their
// *rsa keys weakly, so a key the program drops takes its entry with it.
var (
	privateKeys keyCache[rsa.PrivateKey, openssl.PrivateKeyRSA]
	publicKeys  keyCache[rsa.PublicKey, openssl.PublicKeyRSA]
)

type keyCache[K, V any] struct{ m sync.Map } // weak.Pointer[K] → *V

func (c *keyCache[K, V]) get(k *K, build func(*K) (*V, error)) (*V, error) {
	wk := weak.Make(k)
	if v, ok := c.m.Load(wk); ok {
		return v.(*V), nil
	}
	v, err := build(k)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(wk, v); loaded {
		return prev.(*V), nil
	}
	runtime.AddCleanup(k, func(wk weak.Pointer[K]) { c.m.Delete(wk) }, wk)
	return v, nil
}

// opensslPrivate takes a key of two primes (signSHA1 leaves the others to
// Go's code).
func opensslPrivate(k *rsa.PrivateKey) (*openssl.PrivateKeyRSA, error) {
	p, q := k.Primes[0], k.Primes[1]
	// The CRT values, as crypto/rsa computes them: a key parsed by
	// ParsePrivateKey has them already, one built by hand may not, and
	// calling Precompute would write to the caller's key.
	dp, dq, qinv := k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv
	if dp == nil || dq == nil || qinv == nil {
		one := big.NewInt(1)
		dp = new(big.Int).Mod(k.D, new(big.Int).Sub(p, one))
		dq = new(big.Int).Mod(k.D, new(big.Int).Sub(q, one))
		qinv = new(big.Int).ModInverse(q, p)
		if qinv == nil {
			return nil, errors.New("a key whose primes have no inverse")
		}
	}
	return openssl.NewPrivateKeyRSA(bbig.Enc(k.N), bbig.Enc(big.NewInt(int64(k.E))), bbig.Enc(k.D),
		bbig.Enc(p), bbig.Enc(q), bbig.Enc(dp), bbig.Enc(dq), bbig.Enc(qinv))
}

func opensslPublic(k *rsa.PublicKey) (*openssl.PublicKeyRSA, error) {
	return openssl.NewPublicKeyRSA(bbig.Enc(k.N), bbig.Enc(big.NewInt(int64(k.E))))
}

func signSHA1(key *rsa.PrivateKey, digest []byte) ([]byte, error) {
	// A key of more than two primes, which crypto/rsa still takes and
	// golang-fips/openssl does not, signs as in the default build.
	if opensslErr != nil || len(key.Primes) != 2 {
		return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, digest)
	}
	k, err := privateKeys.get(key, opensslPrivate)
	if err != nil {
		return nil, fmt.Errorf("openssl: %w", err)
	}
	return openssl.SignRSAPKCS1v15(k, crypto.SHA1, digest)
}

func verifySHA1(pub *rsa.PublicKey, digest, sig []byte) error {
	if opensslErr != nil {
		return rsa.VerifyPKCS1v15(pub, crypto.SHA1, digest, sig)
	}
	k, err := publicKeys.get(pub, opensslPublic)
	if err != nil {
		return fmt.Errorf("openssl: %w", err)
	}
	return openssl.VerifyRSAPKCS1v15(k, crypto.SHA1, digest, sig)
}
