//go:build openssl && boringcrypto

package trustly

// The openssl and boringcrypto builds each replace the RSA underneath:
// build with one of them, not both.
var _ = theOpensslTagAndBoringcryptoExcludeEachOther
