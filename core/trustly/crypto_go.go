//go:build !boringcrypto && !openssl

package trustly

import "crypto/fips140"

// CryptoBackend names the implementation behind this binary's RSA and SHA-1:
// "go" (the standard library's own code, the default static build), with
// ", FIPS 140-3 mode" when GODEBUG=fips140=on turned that mode on. The
// BoringCrypto build (crypto_boring.go) says "boringcrypto". Operators read
// it in `trustly-sidecar version` and serve's start line, because the build
// decides how much CPU each notification's signature costs.
func CryptoBackend() string {
	if fips140.Enabled() {
		return "go, FIPS 140-3 mode " + fips140.Version()
	}
	return "go"
}
