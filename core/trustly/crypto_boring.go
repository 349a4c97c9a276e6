//go:build boringcrypto && !openssl

package trustly

import "crypto/boring"

// CryptoBackend names the implementation behind this binary's RSA and SHA-1:
// "boringcrypto" when the toolchain's GOEXPERIMENT=boringcrypto routes them
// through BoringSSL's FIPS module (`make build CRYPTO=boring`, linux/amd64
// only). A boringcrypto toolchain on a platform without the module falls back
// to Go's own code and says so, rather than claiming a backend it lacks.
func CryptoBackend() string {
	if boring.Enabled() {
		return "boringcrypto"
	}
	return "go (boringcrypto build, module not available on this platform)"
}
